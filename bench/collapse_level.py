"""How far the collapsed level moves with the data draw: the margin of the collapse pattern (`bvae.report.fidelity`).

A collapsed deep VAE sits at the column-means model's loss. Its pct of the bound, and the one-unit bound's (κ = 1),
depend on the data draw; the paper's tables come from another draw than ours. Usage, from the repository root::

    python -m bench.collapse_level               # the paper's N >= 5000 datasets, 8 draws each (minutes)
    python -m bench.collapse_level --draws 20 --out bench/results/collapse-level-draws.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from bvae.data.simulate import SimSettings, simulate
from bvae.model.bound import fit_bound
from bvae.model.likelihood import marginal_nll

DATASETS = [(200, 5000), (200, 10000), (400, 5000), (400, 10000), (1000, 5000), (1000, 10000)]


def levels(d: int, n: int, draws: int) -> dict:
    """pct_train of the column-means model and of the κ = 1 bound on `draws` draws of d{d}_N{n}."""
    collapsed, one_unit = [], []
    for replicate in range(draws):
        data = simulate(SimSettings(d=d, N=n, replicate=replicate))
        bound = fit_bound(data.train, data.test, 2).bound_train
        collapsed.append(100 * (marginal_nll(data.train, data.train) / bound - 1))
        one_unit.append(100 * (fit_bound(data.train, data.test, 1).bound_train / bound - 1))
    return {"dataset": f"d{d}_N{n}", "collapsed": collapsed, "one_unit": one_unit}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.collapse_level", description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=8)
    parser.add_argument("--out", type=Path, help="also write the levels here (.json)")
    args = parser.parse_args(argv)
    found = [levels(d, n, args.draws) for d, n in DATASETS]
    for row in found:
        c, o = row["collapsed"], row["one_unit"]
        print(
            f"{row['dataset']}: collapsed level {statistics.mean(c):+.4f} (sd {statistics.stdev(c):.4f}, "
            f"{min(c):+.4f} to {max(c):+.4f}); one-unit bound {statistics.mean(o):+.4f} (sd {statistics.stdev(o):.4f})"
        )
    if args.out:
        args.out.write_text(json.dumps({"draws": args.draws, "levels": found}, indent=1) + "\n")


if __name__ == "__main__":
    main()
