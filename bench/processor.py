"""What pinning the processor's code paths (`bvae.processor`) costs, and whether an archived seed recomputes.

Usage, from the repository root::

    python -m bench.processor speed        # seconds per epoch of a deep training under each set of code paths
    python -m bench.processor recompute    # an archived stack trained again under each set, epoch by epoch

The libraries read their code paths once, when they load, so each measurement runs in a fresh process with its
environment (`PATHS`), the sets taking turns round after round so that a machine busy with other work slows each
alike; the ratios to `pinned` are what another machine can check, not the seconds. `recompute` trains the stack that
wrote an archived record again (same data, settings and seeds) and reports per set the first epoch whose training or
test loss differs from the record's by a single bit, the largest difference and the final pct's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Each set of code paths, as the environment a worker starts with (on top of the caller's, with every path variable
# removed first): pinned is what `import bvae` sets; native lets each library choose by the processor; compatible is
# every library's least common code (MKL's conditional-reproducibility branch for any x86-64, ATen without vectors).
PATH_VARIABLES = ("MKL_CBWR", "ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "BVAE_PROCESSOR")
PATHS = {
    "pinned": {},
    "native": {"BVAE_PROCESSOR": "native"},
    "compatible": {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default", "OPENBLAS_CORETYPE": "Nehalem"},
}
RESULTS = Path(__file__).with_name("results")


def _in_fresh_process(paths: str, task: dict) -> dict:
    """Run `task` in a new Python whose libraries load under the code paths `paths`; its JSON answer."""
    env = {k: v for k, v in os.environ.items() if k not in PATH_VARIABLES} | PATHS[paths]
    command = [sys.executable, "-m", "bench.processor", "_worker", json.dumps(task)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{paths}: the worker failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _worker(task: dict) -> dict:
    """In the fresh process (bvae loads first, so that it pins the paths before torch loads; one thread, as the
    settings say): the task's numbers, then the code paths that were in effect."""
    from bvae.processor import describe

    found = _speed(task) if task["kind"] == "speed" else _recompute(task)
    return {"paths": describe(), **found}


def _speed(task: dict) -> dict:
    from bvae.data.simulate import SimSettings, simulate
    from bvae.model.settings import TrainSettings
    from bvae.training.train import train_seeds

    data = simulate(SimSettings(d=task["d"], N=task["N"]))
    settings = TrainSettings(arch="deep", variant="vanilla", epochs=task["epochs"], kernel="torch")
    start = time.perf_counter()
    train_seeds(data, settings, [0], progress=False)
    return {"seconds_per_epoch": (time.perf_counter() - start) / task["epochs"]}


def _recompute(task: dict) -> dict:
    import pandas as pd

    from bvae.model.settings import PROPERTIES, RUN_ONLY, TrainSettings
    from bvae.study.archive import archived_datasets
    from bvae.training.train import train_seeds

    cell = Path(task["cell"])
    finals, histories = pd.read_parquet(cell / "final.parquet"), pd.read_parquet(cell / "history.parquet")
    stack = finals[finals["seed"].isin(task["seeds"])].sort_values("seed")
    record = stack.iloc[0]
    given = {k: _plain(record[k]) for k in PROPERTIES if k in record and k not in RUN_ONLY and pd.notna(record[k])}
    given = {k: tuple(json.loads(v)) if isinstance(v, str) and v.startswith("[") else v for k, v in given.items()}
    settings = TrainSettings(**given, arch=record["arch"], variant=record["variant"], threads=int(record["threads"]))
    (data,) = archived_datasets(stack.head(1))
    results = train_seeds(data, settings, [int(s) for s in stack["seed"]], progress=False)
    rows = []
    for result, (_, archived) in zip(results, stack.iterrows(), strict=True):
        old = histories[histories["seed"] == archived["seed"]].sort_values("epoch")
        rows.append(_difference(old, result.history, archived, result.final))
    return {"seeds": rows}


def _plain(value):
    """A Parquet cell as the Python value a setting takes (numpy integers are not integers to the settings' checks)."""
    return value.item() if hasattr(value, "item") else value


def _difference(old, new, archived, final) -> dict:
    """Where a recomputed seed leaves its archived record: first epoch with any bit of a loss changed, the largest
    relative difference of a loss over the epochs, and the final pct's."""
    columns = ["train_loss", "test_loss"]
    a, b = old[columns].to_numpy(), new[columns].to_numpy()
    changed = (a != b).any(axis=1).nonzero()[0]
    relative = abs(a - b) / abs(a)
    return {
        "seed": int(archived["seed"]),
        "first_differing_epoch": int(changed[0]) + 1 if len(changed) else None,
        "largest_relative_difference": float(relative.max()),
        "pct_train_difference": float(final["pct_train"] - archived["pct_train"]),
        "pct_test_difference": float(final["pct_test"] - archived["pct_test"]),
    }


def cmd_speed(args: argparse.Namespace) -> dict:
    task = {"kind": "speed", "d": args.d, "N": args.N, "epochs": args.epochs}
    seconds: dict[str, list[float]] = {name: [] for name in args.paths}
    found = {}
    for round_ in range(args.rounds):
        for name in args.paths:
            found[name] = _in_fresh_process(name, task)
            seconds[name].append(found[name]["seconds_per_epoch"])
            print(f"round {round_ + 1}: {name}: {seconds[name][-1]:.3f} s/epoch", file=sys.stderr)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    base = medians.get("pinned", next(iter(medians.values())))
    for name in args.paths:
        print(f"{name:>10}: {medians[name]:.3f} s/epoch (median of {args.rounds}), {medians[name] / base:.3f} × "
              f"pinned; paths {found[name]['paths']}")  # fmt: skip
    return {
        "task": task,
        "seconds_per_epoch": seconds,
        "median": medians,
        "paths": {n: found[n]["paths"] for n in found},
    }


def cmd_recompute(args: argparse.Namespace) -> dict:
    task = {"kind": "recompute", "cell": str(args.cell), "seeds": args.seeds}
    found = {name: _in_fresh_process(name, task) for name in args.paths}
    for name, result in found.items():
        print(f"{name}: {result['paths']}")
        for seed in result["seeds"]:
            first = seed["first_differing_epoch"] or "none (bit for bit)"
            print(f"  seed {seed['seed']}: first differing epoch {first}, largest relative difference "
                  f"{seed['largest_relative_difference']:.2e}, final pct train {seed['pct_train_difference']:+.4f}, "
                  f"test {seed['pct_test_difference']:+.4f}")  # fmt: skip
    return {"task": task, "results": found}


def main(argv: list[str] | None = None) -> None:
    if argv is None and sys.argv[1:2] == ["_worker"]:
        print(json.dumps(_worker(json.loads(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.processor", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    speed = sub.add_parser("speed", help="seconds per epoch under each set of code paths")
    speed.add_argument("--d", type=int, default=200)
    speed.add_argument("--N", type=int, default=5000)
    speed.add_argument("--epochs", type=int, default=3)
    speed.add_argument("--rounds", type=int, default=3)
    again = sub.add_parser("recompute", help="train an archived stack again under each set of code paths")
    again.add_argument("--cell", type=Path, default=Path("reference/calibrated/d200_N100/deep/preinit"))
    again.add_argument("--seeds", type=int, nargs="+", default=list(range(10)), help="the stack's seeds, all of them")
    for command in (speed, again):
        command.add_argument("--paths", nargs="+", choices=list(PATHS), default=list(PATHS))
        command.add_argument("--out", type=Path, help="also write the numbers here (.json)")
    args = parser.parse_args(argv)
    found = {"speed": cmd_speed, "recompute": cmd_recompute}[args.command](args)
    if args.out:
        args.out.write_text(json.dumps(found, indent=1) + "\n")


if __name__ == "__main__":
    main()
