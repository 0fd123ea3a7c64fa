"""Checkpoints: a training's state every few epochs, then its results, keyed on what determines its numbers.

A checkpoint is valid only for the training whose key it holds (`checkpoint_key`: the data's bits, the settings
that change results, the seeds and the numerics version), and carries a SHA-256 of its contents, so that a damaged
or edited file is set aside instead of resumed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from pathlib import Path

import torch

from bvae.data.binary import BinaryData, data_digest
from bvae.errors import tell
from bvae.io import Claim, atomic_path, refuse_link
from bvae.model.settings import RUN_ONLY, TrainSettings
from bvae.numerics import VERSION as NUMERICS


class Checkpoint:
    """Model, optimizer, generator states and history every K epochs; valid only for the same data and settings.

    Once the training is finished it holds only the results (`save_results`), a few kB, so that outputs lost after
    training (a failed write, or Snakemake deleting the outputs of a job it saw as incomplete) are written again
    without training.
    """

    MAGIC = b"bvae checkpoint sha256 "  # then the SHA-256 of the payload, a newline, and torch.save's payload

    def __init__(self, path: str | os.PathLike | None, key: str, label: str = "", owner: Claim | None = None):
        self.path, self.key, self.label = (Path(path) if path else None), key, label
        self.owner = owner or Claim()  # the training's claim on its output directories: saved only while it holds

    def load(self) -> dict | None:
        """The saved state if it belongs to this training."""
        state = self.read()
        return state if state and state.get("key") == self.key else None

    def read(self) -> dict | None:
        """The saved state of whichever training; a file that cannot be read or fails its checksum is set aside,
        once."""
        if self.path is None:
            return None
        refuse_link(self.path)
        if not self.path.is_file():  # none yet, or a device written in place (/dev/null)
            return None
        try:
            state = self.parse(self.path.read_bytes())
        except Exception as exc:  # truncated or damaged files raise many types (RuntimeError, UnpicklingError...)
            aside = self.path.with_name(self.path.name + ".unreadable")
            os.replace(self.path, aside)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            tell(f"checkpoint {self.path} cannot be read ({reason}); moved to {aside}, training starts over", "warning")
            return None
        return state

    @classmethod
    def parse(cls, blob: bytes) -> dict:
        """The state in a checkpoint file's bytes; ValueError unless they are as `save` wrote them (torch.load checks
        no checksum: a flipped byte would resume or report silently different numbers)."""
        head, _, payload = blob.partition(b"\n")
        if not head.startswith(cls.MAGIC):
            raise ValueError("not a bvae checkpoint: no checksum line")
        if head[len(cls.MAGIC) :] != hashlib.sha256(payload).hexdigest().encode():
            raise ValueError("its contents do not match their SHA-256: damaged or edited")
        state = torch.load(io.BytesIO(payload), weights_only=True)
        if not isinstance(state, dict):
            raise TypeError(f"holds a {type(state).__name__}, not a checkpoint")
        return state

    def save(self, state: dict) -> None:
        if self.path is not None:
            refuse_link(self.path)
            payload = io.BytesIO()
            torch.save({**state, "key": self.key, "label": self.label}, payload)
            # Through a Python file: a full disk is then an OSError (ENOSPC), which atomic_path names, where torch's
            # own writer would report "[enforce fail at inline_container.cc:672] . unexpected pos".
            with atomic_path(self.path, self.owner) as tmp, open(tmp, "wb") as file:
                file.write(self.MAGIC + hashlib.sha256(payload.getvalue()).hexdigest().encode() + b"\n")
                file.write(payload.getvalue())

    def save_results(self, history: dict, finals: list[dict]) -> None:
        """Replace the training state by the finished training's results (JSON keeps them exact and loadable)."""
        self.save({"history": history, "finals": [json.dumps(final) for final in finals]})


def checkpoint_key(data: BinaryData, settings: TrainSettings, seeds: list[int]) -> str:
    """Identifies a training: the data, the settings its numbers depend on (not `RUN_ONLY`), the seeds and the
    numerics version (`bvae.numerics`), not the bytes of the code: a comment or a moved module keeps checkpoints."""
    identity = {k: v for k, v in dataclasses.asdict(settings).items() if k not in RUN_ONLY}
    text = json.dumps([identity, seeds, data.d, NUMERICS])
    return hashlib.sha256(bytes.fromhex(data_digest(data)) + text.encode()).hexdigest()
