"""The golden training: the numbers of a small training that guard the numerics version (`bvae.numerics`).

`golden()` simulates a small dataset and trains both architectures and variants for a few epochs on torch's kernel;
`tests/golden/numerics.json` holds its numbers for the current `VERSION`
(`python -m bvae.training.golden tests/golden/numerics.json` writes it), and a test fails when the code's numbers
leave that record while `VERSION` stays, or when `VERSION` moves without a new record.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from bvae.data.simulate import SimSettings, simulate
from bvae.io import atomic_path
from bvae.model.bound import fit_bound
from bvae.model.settings import TrainSettings
from bvae.numerics import VERSION
from bvae.training.train import train_seeds

# Relative tolerance of the golden check: fp32 rounding of other CPUs and BLAS builds moves these small trainings by
# about 1e-7; any change of the method moves them by orders of magnitude more (tests/test_numerics.py shows one).
GOLDEN_RTOL = 1e-5
GOLDEN_DATA: dict[str, Any] = {"d": 24, "N": 90, "seed": 7}
GOLDEN_SETTINGS: dict[str, Any] = {"hidden": (8, 8), "epochs": 4, "batch_size": 20, "mc_samples": 2, "kernel": "torch"}


def golden(**overrides: Any) -> dict:
    """The golden training's numbers: data digest, bound and, per architecture and variant, the per-epoch training
    losses and the final losses (`overrides`: settings changed, to show that the check notices)."""
    data = simulate(SimSettings(**GOLDEN_DATA))
    bound = fit_bound(data.train, data.test, 2)
    runs = {}
    for arch in ("deep", "canonical"):
        for variant in ("vanilla", "preinit"):
            settings = TrainSettings(arch=arch, variant=variant, **{**GOLDEN_SETTINGS, **overrides})
            result = train_seeds(data, settings, [0], progress=False)[0]
            runs[f"{arch}/{variant}"] = {
                "train_loss": result.history["train_loss"].tolist(),
                "final_train_loss": result.final["final_train_loss"],
                "final_test_loss": result.final["final_test_loss"],
            }
    digest = hashlib.sha256(data.train.tobytes() + data.test.tobytes()).hexdigest()
    return {"version": VERSION, "data_sha256": digest, "bound_train": bound.bound_train, "runs": runs}


def differences(expected: dict, found: dict) -> list[str]:
    """Where `found` leaves the golden record `expected`, one line each (empty: the numerics are unchanged)."""
    if expected["version"] != found["version"]:
        return [f"the record is of numerics version {expected['version']}, the code is {found['version']}"]
    lines = [] if expected["data_sha256"] == found["data_sha256"] else ["the simulated data's bits changed"]
    if not math.isclose(expected["bound_train"], found["bound_train"], rel_tol=1e-9):
        lines.append(f"bound_train {found['bound_train']!r}, recorded {expected['bound_train']!r}")
    for run, numbers in expected["runs"].items():
        for key, value in numbers.items():
            now, then = found["runs"][run][key], value
            pairs = zip(_as_list(now), _as_list(then), strict=True)
            if not all(math.isclose(a, b, rel_tol=GOLDEN_RTOL) for a, b in pairs):
                lines.append(f"{run} {key}: {now!r}, recorded {then!r}")
    return lines


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bvae.training.golden", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="where to write the golden record (tests/golden/numerics.json)")
    args = parser.parse_args(argv)
    record = json.dumps(golden(), indent=1) + "\n"
    with atomic_path(args.out) as tmp:
        Path(tmp).write_text(record)
    print(f"wrote the golden training of numerics version {VERSION} to {args.out}")


if __name__ == "__main__":
    _main()
