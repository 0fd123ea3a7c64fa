"""Training (method §6): Adam over minibatches reshuffled each epoch, per-epoch history, a Monte Carlo final pass.

Several seeds of one dataset/architecture/variant train together as one stacked model (`networks.StackedVAE`).
Each seed owns two generators, one for initialisation and one for shuffling and noise, and draws from them in a
fixed order whatever else is in the stack, so a seed's numbers do not depend on its stack-mates (see
`tests/test_train.py::test_seed_results_do_not_depend_on_the_stack`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bvae.data.binary import BinaryData, check_seed
from bvae.errors import ConfigError, DivergenceError, OutputError, tell
from bvae.io import (
    Claim,
    atomic_path,
    check_output_dir,
    provenance,
    read_metadata,
    read_parquet,
    refuse_link,
    remove_temporaries,
    write_parquets,
)
from bvae.model.bound import Bound, check_bound_memory, fit_bound
from bvae.model.resources import EVAL_ROWS, check_memory, train_bytes
from bvae.model.settings import RUN_ONLY, TrainSettings
from bvae.numerics import VERSION as NUMERICS
from bvae.training.kernels import Choice, available, blas_threads, choose, step_products
from bvae.training.networks import StackedVAE, build, linear_layers, use_kernel
from bvae.training.progress import EpochProgress

HISTORY = ("train_loss", "test_loss", "test_kl", "test_active_units", "seconds")  # per epoch, per seed but seconds
ACTIVE_VAR = 0.01  # a latent unit is active when its posterior mean varies more than this over the data (method §6)
# A training loss above DIVERGENCE_FACTOR · d·log 2 is a divergence. d·log 2 is the loss of the constant model
# p = 1/2, and the bound's optimum lies below it; freshly initialised networks start at 1.0–3.4 × d·log 2 (measured
# for both architectures, both variants and all three inits at d = 20, 200, 1000, hidden 8 to 1024), and training
# lowers the loss from there. 10 × leaves a margin of 3 over the worst start, while a diverging Adam overshoots by
# orders of magnitude (lr = 10, canonical preinit, d = 12: 1e8 × in epoch 2). Test losses are not checked: an
# overfitted decoder may score badly on unseen rows, and that is a result to report, not a failed training.
DIVERGENCE_FACTOR = 10
RESULT_FILES = ("history.parquet", "final.parquet")  # final last: it marks a complete pair


@dataclass
class TrainResult:
    history: pd.DataFrame  # epoch, train_loss, test_loss, seconds
    final: dict
    key: str = ""  # the training's identity (checkpoint_key), recorded with the written results


def seed_generators(seed: int) -> tuple[torch.Generator, torch.Generator]:
    """Independent streams for initialisation and for shuffling/noise, both fixed by `seed`."""
    init_state, run_state = np.random.SeedSequence(seed).generate_state(2, dtype=np.uint64)
    return torch.Generator().manual_seed(int(init_state)), torch.Generator().manual_seed(int(run_state))


def make_optimizer(params, settings: TrainSettings) -> torch.optim.Optimizer:
    """Adam. Fused: one kernel for the memory-bound update; element-wise, so seeds stay independent."""
    return torch.optim.Adam(params, lr=settings.lr, eps=settings.adam_eps, fused=True)


def run_epoch(model: StackedVAE, opt: torch.optim.Optimizer, x: torch.Tensor, gens, batch_size: int) -> torch.Tensor:
    """One pass over the shuffled training rows; the per-seed mean minibatch loss, weighted by batch size."""
    n, kappa = x.shape[0], model.mu.weight.shape[-1]
    perm = torch.stack([torch.randperm(n, generator=g) for g in gens])
    noise = torch.stack([torch.randn(n, kappa, generator=g) for g in gens])
    total = torch.zeros(len(gens))
    for start in range(0, n, batch_size):
        idx = perm[:, start : start + batch_size]
        loss = model.losses(x[idx], noise[:, start : start + batch_size])[0].mean(1)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()  # seeds share no parameters: each gets the gradient of its own loss
        opt.step()
        total += loss.detach() * idx.shape[1]
    return total / n


@torch.inference_mode()
def full_pass(model: StackedVAE, x: torch.Tensor, gens, samples: int = 1) -> dict[str, np.ndarray]:
    """Per-seed mean loss over `samples` noise draws per row, mean KL, and the variance of μ over the rows."""
    S, kappa = model.stack_size, model.mu.weight.shape[-1]
    loss, kl, mus = torch.zeros(S), torch.zeros(S), []
    for start in range(0, x.shape[0], EVAL_ROWS):
        rows = x[start : start + EVAL_ROWS].expand(S, -1, -1)
        mu, logvar = model.encode(rows)
        mus.append(mu)
        for _ in range(samples):
            noise = torch.stack([torch.randn(rows.shape[1], kappa, generator=g) for g in gens])
            per_row, kl_row = model.losses_of_encoding(rows, mu, logvar, noise)
            loss += per_row.sum(1) / samples
        kl += kl_row.sum(1)
    mu = torch.cat(mus, dim=1)
    return {
        "loss": (loss / x.shape[0]).numpy(),
        "kl": (kl / x.shape[0]).numpy(),
        "mu_var": mu.var(1, correction=0).numpy(),
    }


def _first_epoch(losses: list[float], limit: float) -> int | None:
    """The first (1-based) epoch whose loss is at or below `limit`, or None."""
    return next((i + 1 for i, value in enumerate(losses) if value <= limit), None)


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
            self.owner.check()
            refuse_link(self.path)
            payload = io.BytesIO()
            torch.save({**state, "key": self.key, "label": self.label}, payload)
            # Through a Python file: a full disk is then an OSError (ENOSPC), which atomic_path names, where torch's
            # own writer would report "[enforce fail at inline_container.cc:672] . unexpected pos".
            with atomic_path(self.path) as tmp, open(tmp, "wb") as file:
                file.write(self.MAGIC + hashlib.sha256(payload.getvalue()).hexdigest().encode() + b"\n")
                file.write(payload.getvalue())

    def save_results(self, history: dict, finals: list[dict]) -> None:
        """Replace the training state by the finished training's results (JSON keeps them exact and loadable)."""
        self.save({"history": history, "finals": [json.dumps(final) for final in finals]})


def _data_digest(data: BinaryData) -> str:
    """SHA-256 of a dataset's bits (training split, then test split)."""
    return hashlib.sha256(data.train.tobytes() + data.test.tobytes()).hexdigest()


def checkpoint_key(data: BinaryData, settings: TrainSettings, seeds: list[int]) -> str:
    """Identifies a training: the data, the settings its numbers depend on (not `RUN_ONLY`), the seeds and the
    numerics version (`bvae.numerics`), not the bytes of the code: a comment or a moved module keeps checkpoints."""
    identity = {k: v for k, v in dataclasses.asdict(settings).items() if k not in RUN_ONLY}
    text = json.dumps([identity, seeds, data.d, NUMERICS])
    return hashlib.sha256(bytes.fromhex(_data_digest(data)) + text.encode()).hexdigest()


def resume(state: dict | None, model, opt, run_gens) -> tuple[dict, int]:
    """Restore model, optimizer and generators from a checkpoint's `state` if there is one; history and epoch."""
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        for g, g_state in zip(run_gens, state["gens"], strict=True):
            g.set_state(g_state)
        return state["history"], state["epoch"]
    return {key: [] for key in HISTORY}, 0


def _check_seeds(seeds: list[int]) -> None:
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds = {seeds!r}; expected a non-empty list of distinct integers")
    for seed in seeds:
        check_seed(seed)


def check_training(data: BinaryData, settings: TrainSettings, seeds: list[int]) -> None:
    """Every setting and seed, and the memory it needs, before anything is trained or written."""
    settings.check(data.d)
    if settings.kernel != "auto" and settings.kernel not in available():
        raise ConfigError(f"kernel = {settings.kernel!r} is not in this torch build; expected one of {available()}")
    _check_seeds(seeds)
    need = train_bytes(
        settings.arch, data.d, data.n_train, data.n_test, settings.latent_dim, settings.hidden, len(seeds)
    )
    hidden = f", hidden = {list(settings.hidden)}" if settings.arch == "deep" else ""
    stack = f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
    check_memory(need, f"training {settings.arch} at d = {data.d}{hidden} with {stack}")
    check_bound_memory(data.d, data.n)


def _pick_kernel(state: dict | None, model: StackedVAE, settings: TrainSettings) -> Choice:
    """A resumed training keeps the kernel it started with; a new one chooses (`bvae.training.kernels.choose`)."""
    if state:
        return Choice(state["kernel"], state["kernel_seconds"])
    weights = [(name, layer.weight) for name, layer in linear_layers(model)]
    return choose(step_products(weights, settings.batch_size), settings.precision, settings.kernel)


def train_seeds(
    data: BinaryData,
    settings: TrainSettings,
    seeds: list[int],
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    owner: Claim | None = None,
) -> list[TrainResult]:
    """Train one model per seed as one stack (the seeds' networks batched into one model).

    Arguments:
        data: the dataset; preinit fits the bound on its training split.
        settings: every setting the training depends on (`TrainSettings.check` runs first).
        seeds: the seeds, each its own initialisation and minibatch order; one result per seed.
        checkpoint: a file to resume from if it holds this training (unfinished: it resumes at its last epoch;
            finished: its results are returned without training), else to replace (`train_and_write` refuses to,
            unless asked); it then holds the results. None: no checkpoint.
        progress: show the epochs as they pass.
        owner: the caller's claim on its output directories; the training stops as soon as it loses it (a later
            run took them over).

    Returns:
        One `TrainResult` per seed: its per-epoch history, its final record and the training's key.

    Raises:
        ConfigError: a setting or seed is invalid, or the training cannot fit in memory.
        DivergenceError: a loss became NaN or infinite.
        OutputError: the claim on the output directories was lost.
    """
    check_training(data, settings, seeds)
    key = checkpoint_key(data, settings, list(seeds))
    label = f"{data.name} {settings.arch} {settings.variant} seeds {seeds[0]}..{seeds[-1]}"
    ckpt = Checkpoint(checkpoint, key, f"{label}, {settings.epochs} epochs", owner)
    state = ckpt.load()
    if state and "finals" in state:
        tell(f"{ckpt.path} holds this finished training: its results are taken from there, without training")
        finals = [json.loads(final) for final in state["finals"]]
        return [TrainResult(_seed_history(state["history"], i), final, key) for i, final in enumerate(finals)]
    torch.set_num_threads(settings.threads)  # never more threads than the job was given
    # Adam's moments of dead units decay into denormal floats after a few dozen epochs, which makes every
    # element-wise op several times slower (0.66 -> 1.49 s per epoch by epoch 45 at d = 200); flush them to zero.
    torch.set_flush_denormal(True)
    bound = fit_bound(data.train, data.test, settings.latent_dim)  # preinit uses the training split only
    init_gens, run_gens = zip(*(seed_generators(s) for s in seeds), strict=True)
    model = build(settings, data.d, init_gens, bound)
    opt = make_optimizer(model.parameters(), settings)
    x_train = torch.as_tensor(data.train, dtype=torch.float32)
    x_test = torch.as_tensor(data.test, dtype=torch.float32)
    started = time.perf_counter()
    history, start_epoch = resume(state, model, opt, run_gens)
    label = f"{data.name} {settings.arch} {settings.variant} {seed_label(seeds)}"
    if start_epoch:
        tell(f"{ckpt.path} holds this training after epoch {start_epoch} of {settings.epochs}: it resumes there")
    bar = EpochProgress(label, start_epoch, settings.epochs, enabled=progress)
    with blas_threads(settings.threads):  # numpy's BLAS, a kernel, gets the job's threads like torch
        kernel = _pick_kernel(state, model, settings)
        use_kernel(model, kernel.kernel)
        for epoch in bar:
            ckpt.owner.check()
            tick = time.perf_counter()
            train_loss = run_epoch(model, opt, x_train, run_gens, settings.batch_size).numpy()
            test = full_pass(model, x_test, run_gens)
            check_losses(train_loss, test["loss"], data, settings, seeds, epoch + 1)
            history["train_loss"].append(train_loss.tolist())
            history["test_loss"].append(test["loss"].tolist())
            history["test_kl"].append(test["kl"].tolist())  # collapse shows as KL -> 0 and no active unit
            history["test_active_units"].append(active_units(test["mu_var"]).tolist())
            history["seconds"].append(time.perf_counter() - tick)
            bar.set_postfix(loss=f"{train_loss.mean():.2f}", bound=f"{bound.bound_train:.2f}")
            if (epoch + 1) % settings.checkpoint_every == 0 and epoch + 1 < settings.epochs:
                ckpt.save(
                    {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch + 1,
                     "gens": [g.get_state() for g in run_gens], "history": history,
                     "kernel": kernel.kernel, "kernel_seconds": kernel.seconds}
                )  # fmt: skip
        final_train = full_pass(model, x_train, run_gens, settings.mc_samples)
        final_test = full_pass(model, x_test, run_gens, settings.mc_samples)
    check_losses(final_train["loss"], final_test["loss"], data, settings, seeds, settings.epochs)
    wall = time.perf_counter() - started
    results = []
    for i, seed in enumerate(seeds):
        hist = _seed_history(history, i)
        final = _final_record(data, settings, bound, seed, hist, final_train, final_test, i, wall, len(seeds), kernel)
        results.append(TrainResult(history=hist, final=final, key=key))
    ckpt.save_results(history, [result.final for result in results])
    return results


def seed_label(seeds: list[int]) -> str:
    """How progress lines name a training's seeds: seed 3, seeds 0-9 (a run of seeds), seeds 2, 5, 9."""
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    consecutive = list(seeds) == list(range(seeds[0], seeds[0] + len(seeds)))
    return f"seeds {seeds[0]}-{seeds[-1]}" if consecutive else f"seeds {', '.join(map(str, seeds))}"


def check_losses(train_loss, test_loss, data: BinaryData, settings: TrainSettings, seeds, epoch: int) -> None:
    """DivergenceError for a non-finite loss, or a training loss above DIVERGENCE_FACTOR · d·log 2."""
    limit = DIVERGENCE_FACTOR * data.d * math.log(2)
    for bad, why in (
        (~(np.isfinite(train_loss) & np.isfinite(test_loss)), "non-finite loss"),
        (train_loss > limit, f"training loss {{loss:.4g}} > {DIVERGENCE_FACTOR} × d·log 2 = {limit:.4g}"),
    ):
        if bad.any():
            i = int(np.argmax(bad))
            raise DivergenceError(
                f"training diverged ({why.format(loss=train_loss[i])}) on dataset {data.name}, arch {settings.arch}, "
                f"variant {settings.variant}, seed {seeds[i]}, epoch {epoch}"
            )


def active_units(mu_var: np.ndarray) -> np.ndarray:
    """Per seed, the latent units whose posterior mean varies over the data: (S, κ) variances -> (S,) counts."""
    return np.sum(mu_var > ACTIVE_VAR, axis=-1)


def _seed_history(history: dict, i: int) -> pd.DataFrame:
    per_seed = {key: [row[i] for row in history[key]] for key in HISTORY if key != "seconds"}
    return pd.DataFrame({"epoch": np.arange(1, len(history["seconds"]) + 1), **per_seed, "seconds": history["seconds"]})


def _final_record(data, settings, bound: Bound, seed, hist, final_train, final_test, i, wall, stack_size, kernel):
    """The one-row summary of a training that every table is computed from (`kernel`: the `Choice` it ran on)."""
    train_loss, test_loss = float(final_train["loss"][i]), float(final_test["loss"][i])
    return {
        "dataset": data.name,
        "d": data.d,
        "N": data.n,
        "n_train": data.n_train,
        "n_test": data.n_test,
        "arch": settings.arch,
        "variant": settings.variant,
        "seed": seed,
        **{key: json.dumps(value) if isinstance(value, list) else value for key, value in settings.values().items()},
        "final_train_loss": train_loss,
        "final_test_loss": test_loss,
        "bound_train": bound.bound_train,
        "bound_test": bound.bound_test,
        "bound_test_strict": bound.bound_test_strict,
        "pct_train": 100 * (train_loss - bound.bound_train) / bound.bound_train,
        "pct_test": 100 * (test_loss - bound.bound_test) / bound.bound_test,
        "final_kl": float(final_train["kl"][i]),
        "active_units": int(active_units(final_train["mu_var"][i])),
        "epochs_to_1pct": _first_epoch(hist["train_loss"].tolist(), 1.01 * bound.bound_train),
        "epochs_to_bound": _first_epoch(hist["train_loss"].tolist(), bound.bound_train),
        "wall_seconds": wall,
        "stack_size": stack_size,
        "threads": settings.threads,
        "kernel_used": kernel.kernel,
        "kernel_seconds": json.dumps(kernel.seconds) if kernel.seconds else None,
        "numerics": NUMERICS,
        "data_sha256": _data_digest(data),
        "data_definition": json.dumps(data.metadata["definition"]) if "definition" in data.metadata else None,
        "torch_version": torch.__version__,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }


def train(data: BinaryData, settings: TrainSettings, seed: int = 0, **kwargs) -> TrainResult:
    """Train a single seed."""
    return train_seeds(data, settings, [seed], **kwargs)[0]


def write_result(result: TrainResult, outdir: str | os.PathLike) -> None:
    """history.parquet and final.parquet in `outdir`, written as a pair (final last), provenance in the metadata."""
    outdir = Path(outdir)
    text = {key: "string" for key, value in result.final.items() if value is None or isinstance(value, str)}
    final = pd.DataFrame([result.final]).astype({**text, "epochs_to_1pct": "Int64", "epochs_to_bound": "Int64"})
    history_path, final_path = (outdir / name for name in RESULT_FILES)
    for path in (history_path, final_path):
        refuse_link(path)
    training = {"training": result.key}  # whose results these are: `check_owner` compares it
    write_parquets(
        [
            (result.history, history_path, {"final": result.final, **training}),
            (final, final_path, {"provenance": provenance(), **training}),
        ]
    )


def _check_owner(outdirs: list, checkpoint, key: str, outputs: tuple[str, ...] = ()) -> None:
    """OutputError unless the output directories and the checkpoint hold nothing but this training's files: the
    results of another training (or of this one under another numerics version) or another training's checkpoint,
    finished or not, are never overwritten unless asked for. A directory whose final.parquet is gone (deleted, or a
    kill between the two renames) is known by its history.parquet."""
    for outdir in map(Path, outdirs):
        present = [name for name in (*RESULT_FILES, *outputs) if (outdir / name).exists()]
        marker = next((outdir / name for name in reversed(RESULT_FILES) if (outdir / name).exists()), None)
        meta = read_metadata(marker) if marker else {}
        if not present or meta.get("training") == key:
            continue
        if "training" in meta and marker:
            raise OutputError(f"{outdir}: holds the results of another training ({_results_label(marker)}){ANOTHER}")
        raise OutputError(
            f"{outdir}: holds {', '.join(present)}, not of this training; choose another output directory, or "
            "replace them (bvae train --force)"
        )
    state = Checkpoint(checkpoint, key).read()
    if state is not None and state.get("key") != key:
        label = state.get("label", "unlabelled: an older bvae")
        what = "finished" if "finals" in state else f"unfinished: epoch {state.get('epoch')}"
        raise OutputError(f"{checkpoint}: holds the checkpoint of another training ({label}, {what}){ANOTHER}")


ANOTHER = (
    "; other data, settings, seeds or numerics version: choose another output directory, or replace it "
    "(bvae train --force)"
)


def _results_label(path: Path) -> str:
    """Which training a result file of `write_result` holds: the record is in final.parquet's row and in
    history.parquet's metadata."""
    record = read_metadata(path).get("final") or read_parquet(path).iloc[0]
    return f"{record['dataset']} {record['arch']} {record['variant']} seed {record['seed']}, {record['epochs']} epochs"


def train_and_write(
    data: BinaryData,
    settings: TrainSettings,
    seeds: list[int],
    outdirs: list[str | os.PathLike],
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    keep_results: bool | Callable[[], bool] = False,
    replace: bool = False,
    outputs: tuple[str, ...] = (),
    take_over: bool = False,
    owner: Claim | None = None,
) -> list[TrainResult]:
    """`train_seeds`, then each seed's results into its directory, so that no late failure loses the training.

    Arguments:
        data, settings, seeds, checkpoint, progress: as `train_seeds`.
        outdirs: one directory per seed, for its history.parquet and final.parquet. They are checked before
            training: writable, and holding no results or checkpoint of another training.
        keep_results: keep the checkpoint (by then holding the finished training's results) after the results are
            written; a callable is asked at that moment. A rerun whose outputs were deleted in between (Snakemake
            deletes the outputs of a job it found incomplete) then writes them again without training. False: the
            checkpoint is removed once every result file is written.
        replace: skip the check that the directories and the checkpoint hold no other training's results (the
            caller, such as the workflow, knows they are stale).
        outputs: the caller's own files in the directories (such as loss.png), which that check also counts.
        take_over: take the directories over from a training of a killed run that still holds them.
        owner: the caller's claim on the directories (default: one of this training's own).

    Returns:
        The `TrainResult` of every seed, as written.

    Raises:
        ConfigError: as `train_seeds`, or not one output directory per seed.
        OutputError: a directory is not writable, holds another training's results (without `replace`), is held
            by a running training (without `take_over`), or was taken over during the training (nothing written).
        DivergenceError: as `train_seeds`.
    """
    check_training(data, settings, seeds)
    if len(outdirs) != len(seeds):
        raise ConfigError(f"{len(outdirs)} output directories for {len(seeds)} seeds; expected one per seed")
    for outdir in outdirs:
        check_output_dir(outdir, RESULT_FILES)
    with contextlib.nullcontext(owner) if owner else Claim(outdirs, take_over) as claim:
        if not replace:
            _check_owner(outdirs, checkpoint, checkpoint_key(data, settings, list(seeds)), outputs)
        for target in [*(Path(outdir) / name for outdir in outdirs for name in RESULT_FILES), checkpoint]:
            if target:  # a killed writer's temporaries: ours now
                remove_temporaries(target)
        results = train_seeds(data, settings, seeds, checkpoint, progress, claim)
        claim.check()
        for result, outdir in zip(results, outdirs, strict=True):
            write_result(result, outdir)
        if checkpoint and not (keep_results() if callable(keep_results) else keep_results):
            Path(checkpoint).unlink(missing_ok=True)
    return results
