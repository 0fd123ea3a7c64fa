"""The golden record: the numbers that guard the numerics version (`bvae.numerics`).

Datasets and trainings are keyed on the numerics version, not on the code, so every code path that a setting
allowed by `settings.schema.yaml` or a protocol can take must show in a number recorded here, or an edit to it
would pass unseen. `golden()` computes, in parts:

- `data`: the bits and split of a simulated dataset (its split rounding half to even), another draw of it
  (`replicate`), the digits example, and a user's CSV, .npz and the dataset file read back;
- `bound`: the bound's values, eigenvalues and Σ_z at two latent sizes (what preinit and every record use);
- `probes`: the metric functions at their edges (a loss equal to its limit, a variance equal to the active-unit
  threshold, a split of n·fraction = k + ½ rows) and a full evaluation pass over more rows than one chunk;
- `runs`: small trainings of both architectures and variants with every init scheme, per-group schemes and drawn
  biases, both KL reductions, bf16, every fp32 kernel, a stack of two seeds, a partial last batch and Monte Carlo
  final passes: their per-epoch histories and every number of their final records.

`tests/golden/numerics.json` holds them for the current `VERSION`; `python -m bvae.training.golden --check
tests/golden/numerics.json` compares (tests/test_numerics.py), `python -m bvae.training.golden FILE` writes.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from bvae.data.binary import BinaryData, data_digest, load_binary, random_split, read_dataset, write_dataset
from bvae.data.examples import digits
from bvae.data.simulate import SimSettings, simulate
from bvae.io import atomic_path
from bvae.model.bound import fit_bound
from bvae.model.resources import EVAL_ROWS
from bvae.model.settings import TrainSettings
from bvae.numerics import VERSION
from bvae.training.networks import build
from bvae.training.train import active_units, first_epoch, full_pass, seed_generators, train_seeds

# Tolerances. Integers, digests and texts are exact. The processor's own code paths (BVAE_PROCESSOR=native,
# ATEN_CPU_CAPABILITY=default, OpenBLAS' older kernels, MKL's compatible branch) moved the fp32 numbers of this
# record by at most 7e-7 relatively, numpy's float64 bound by 2e-14: FP32_RTOL and FLOAT64_RTOL leave a margin of 10x
# and 10^5, and every edit of the method in tests/test_mutations.py moves a number beyond them. A pct compares as the
# loss it stands for (1 + pct/100): near 0 its own relative rounding is large.
FP32_RTOL = 1e-5
FP32_ATOL = 1e-6  # nats, for KL terms and variances near 0
FLOAT64_RTOL = 1e-9
FLOAT64_ATOL = 1e-12
FLOAT64 = {"bound_train", "bound_test", "bound_test_strict", "eigenvalues", "sigma_z"}  # numpy's float64 numbers
ACTIVE_PROBES = (0.005, 0.009, 0.0099, 0.00999, 0.01, 0.01001, 0.0101, 0.011, 0.02)  # about ACTIVE_VAR, literally
UNRECORDED = {"wall_seconds", "kernel_seconds", "kernel_used", "threads", "torch_version", "slurm_job_id"}

DATA = SimSettings(d=24, N=50, seed=7)  # 0.33 · 50 = 16.5 test rows: round half to even gives 16
CHUNKED = SimSettings(d=20, N=3100, seed=7)  # 2077 training rows: a full pass in two chunks of EVAL_ROWS
BASE: dict[str, Any] = {"hidden": (8, 6), "epochs": 4, "batch_size": 25, "mc_samples": 2, "kernel": "torch"}
GROUPS = {  # each scheme on some group, biases drawn with it
    "init": "he_truncated_normal", "init_encoder": "he_uniform", "init_mu": "glorot_uniform",
    "init_logvar": "he_normal", "init_decoder": "glorot_uniform", "init_bias": "scheme",
}  # fmt: skip
RUNS: dict[str, tuple[dict[str, Any], list[int]]] = {  # name -> settings beside BASE, seeds
    "deep/vanilla": ({"arch": "deep", "variant": "vanilla"}, [0]),
    "deep/preinit": ({"arch": "deep", "variant": "preinit"}, [0]),
    "canonical/vanilla": ({"arch": "canonical", "variant": "vanilla"}, [0]),
    "canonical/preinit": ({"arch": "canonical", "variant": "preinit"}, [0]),
    "deep/vanilla/schemes": ({"arch": "deep", **GROUPS}, [0]),
    "canonical/preinit/schemes": ({"arch": "canonical", "variant": "preinit", **GROUPS}, [0]),
    "canonical/vanilla/glorot": ({"arch": "canonical", "init": "glorot_uniform"}, [0]),  # calibrated's canonical
    "deep/vanilla/kl-mean": ({"arch": "deep", "kl_reduction": "mean"}, [0]),
    "deep/preinit/bf16": ({"arch": "deep", "variant": "preinit", "precision": "bf16", "kernel": "auto"}, [0]),
    "deep/vanilla/numpy-stack": ({"arch": "deep", "kernel": "numpy"}, [0, 1]),
    "deep/preinit/onednn": ({"arch": "deep", "variant": "preinit", "kernel": "onednn"}, [0]),
    "canonical/preinit/latent1": ({"arch": "canonical", "variant": "preinit", "latent_dim": 1}, [0]),
    # within 1 % of the bound first in epoch 12 (1.0185 × in epoch 8), below it first in epoch 14 (1.0034 × in 16)
    "canonical/preinit/reaches": ({"arch": "canonical", "variant": "preinit", "lr": 3e-3, "epochs": 16}, [0]),
}


def _digest(data: BinaryData) -> dict:
    return {"sha256": data_digest(data), "n_train": data.n_train, "n_test": data.n_test}


def _data(data: BinaryData) -> dict:
    """What each way into a dataset gives: which rows train and which test, bit for bit."""
    replicate = simulate(dataclasses.replace(DATA, replicate=1))
    found = {"simulated": _digest(data), "replicate": _digest(replicate), "digits": _digest(digits())}
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(data, Path(tmp, "data.parquet"))
        pd.DataFrame(np.vstack([data.train, data.test])).to_csv(Path(tmp, "data.csv"), index=False)
        np.savez(Path(tmp, "data.npz"), train=replicate.train, test=replicate.test)
        found["dataset_file"] = _digest(read_dataset(Path(tmp, "data.parquet")))
        found["csv"] = _digest(load_binary(Path(tmp, "data.csv"), test_fraction=0.33, seed=5))
        found["npz"] = _digest(load_binary(Path(tmp, "data.npz")))
    return found


def _bound(data: BinaryData) -> dict:
    """The bound at two latent sizes: what every record holds and preinit starts from (sign-free numbers only: an
    eigenvector's sign is LAPACK's choice)."""
    found = {}
    for kappa in (1, 2):
        fit = fit_bound(data.train, data.test, kappa)
        found[f"latent_dim={kappa}"] = {
            **{key: getattr(fit, key) for key in ("bound_train", "bound_test", "bound_test_strict")},
            "eigenvalues": fit.eigenvalues.tolist(),
            "sigma_z": fit.sigma_z.tolist(),
        }
    return found


def _probes() -> dict:
    """The metric functions at their edges, and a full pass over more rows than one evaluation chunk."""
    chunked = simulate(CHUNKED)
    if chunked.n_train <= EVAL_ROWS:
        raise RuntimeError(f"the golden's full pass needs more than EVAL_ROWS = {EVAL_ROWS} rows to cover chunks")
    settings = TrainSettings(**BASE)
    init, run = seed_generators(0)
    model = build(settings, chunked.d, [init], fit_bound(chunked.train, chunked.test, settings.latent_dim))
    passed = full_pass(model, torch.as_tensor(chunked.train, dtype=torch.float32), [run], samples=2)
    return {
        "first_epoch": [first_epoch([3.0, 2.0, 2.0, 1.0], 2.0), first_epoch([3.0, 2.5], 2.0)],
        "active_units": [active_units(np.array([[value]])).item() for value in ACTIVE_PROBES],
        "random_split": ["".join(map(str, random_split(n, f, 3).astype(int))) for n, f in ((5, 0.5), (50, 0.33))],
        "full_pass": {key: value.tolist() for key, value in passed.items()},
    }


def _run(data: BinaryData, settings: dict, seeds: list[int]) -> dict:
    results = train_seeds(data, TrainSettings(**{**BASE, **settings}), seeds, progress=False)
    history = ("train_loss", "test_loss", "test_kl", "test_active_units")
    return {
        f"seed{seed}": {
            "history": {key: result.history[key].tolist() for key in history},
            "final": {key: value for key, value in result.final.items() if key not in UNRECORDED},
        }
        for seed, result in zip(seeds, results, strict=True)
    }


def sections() -> list[tuple[tuple[str, ...], Callable[[], Any]]]:
    """The golden record's parts, each (where in the record, how to compute it), cheap ones first: `check` can stop at
    the first that differs."""
    data = simulate(DATA)
    parts: list[tuple[tuple[str, ...], Callable[[], Any]]] = [
        (("data",), lambda: _data(data)),
        (("bound",), lambda: _bound(data)),
        (("probes",), _probes),
    ]
    for name, (settings, seeds) in RUNS.items():
        parts.append((("runs", name), functools.partial(_run, data, settings, seeds)))
    return parts


def golden() -> dict:
    """The golden record of this code: the numerics version and the numbers of every part."""
    record: dict[str, Any] = {"version": VERSION, "runs": {}}
    for where, compute in sections():
        _at(record, where[:-1])[where[-1]] = compute()
    return record


def check(expected: dict, first: bool = False) -> list[str]:
    """Where this code's numbers leave the golden record `expected`, one line each (empty: unchanged); `first`: stop
    after the first part that differs."""
    if expected["version"] != VERSION:
        return [f"the record is of numerics version {expected['version']}, the code is {VERSION}"]
    lines: list[str] = []
    for where, compute in sections():
        recorded = _at(expected, where)
        if recorded is None:
            lines.append(f"{'/'.join(where)}: not in the record; write it (python -m bvae.training.golden FILE)")
        else:
            lines += differences(recorded, compute(), "/".join(where))
        if lines and first:
            break
    return lines


def _at(record: Any, where: tuple[str, ...]) -> Any:
    """The part of `record` at `where`, None if it has none."""
    for key in where:
        record = record.get(key) if isinstance(record, dict) else None
    return record


def differences(expected, found, where: str = "") -> list[str]:
    """Where `found` leaves `expected`, one line per number (or key) that differs."""
    if isinstance(expected, dict):
        if not isinstance(found, dict):
            return [f"{where}: {_shown(found)}, recorded a mapping"]
        lines = [f"{where}/{key}: no longer computed" for key in expected if key not in found]
        for key in expected.keys() & found.keys():
            lines += differences(expected[key], found[key], f"{where}/{key}")
        return sorted(lines)
    if isinstance(expected, list):
        if not isinstance(found, list) or len(found) != len(expected):
            return [f"{where}: {_shown(found)}, recorded {_shown(expected)}"]
        if all(not differences(e, f, where) for e, f in zip(expected, found, strict=True)):
            return []
        return [f"{where}: {_shown(found)}, recorded {_shown(expected)}"]
    return [] if _same(expected, found, where) else [f"{where}: {found!r}, recorded {expected!r}"]


def _same(expected, found, where: str) -> bool:
    """Numbers within their tolerance, everything else equal (an int is exact, so is a type)."""
    if isinstance(expected, float) and isinstance(found, float):
        key = where.rsplit("/", 1)[-1]
        if key in FLOAT64:
            return math.isclose(expected, found, rel_tol=FLOAT64_RTOL, abs_tol=FLOAT64_ATOL)
        if key.startswith("pct_"):
            expected, found = 1 + expected / 100, 1 + found / 100
        return math.isclose(expected, found, rel_tol=FP32_RTOL, abs_tol=FP32_ATOL)
    return type(expected) is type(found) and expected == found


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bvae.training.golden", description=__doc__.split("\n\n")[0])
    parser.add_argument("record", type=Path, help="the golden record (tests/golden/numerics.json)")
    parser.add_argument("--check", action="store_true", help="compare with the record instead of writing it")
    parser.add_argument("--first", action="store_true", help="with --check: stop at the first part that differs")
    args = parser.parse_args(argv)
    if args.check:
        lines = check(json.loads(args.record.read_text()), args.first)
        print("\n".join(lines) or "the numbers are the golden record's")
        sys.exit(1 if lines else 0)
    record = golden()
    old = json.loads(args.record.read_text()) if args.record.exists() else {}
    changed = [line for line in differences(old, record) if "no longer computed" not in line] if old else []
    if old.get("version") == VERSION and changed:
        sys.exit(f"the numbers changed at numerics version {VERSION} ({changed[0]}): raise bvae.numerics.VERSION first")
    text = json.dumps(record, indent=1) + "\n"
    with atomic_path(args.record) as tmp:
        Path(tmp).write_text(text)
    print(f"wrote the golden record of numerics version {VERSION} to {args.record}")


if __name__ == "__main__":
    _main()
