"""Summarise a (possibly unfinished) calibration study: the comparison with the paper over the runs that exist.

The workflow's `comparison` rule needs every run of every protocol; while a study is still running, or when only a
part of config/protocols.yaml was run, this script compares what is there, with the same package functions:

    python -m bench.calibration_summary results/calibration > docs/calibration-results.md

It prints, per protocol, the cells agreeing / compared (only cells whose runs are complete, i.e. every seed of the
config), the share of collapsed seeds per cell (no active latent unit), the deep N = 5000 runs seed by seed, and
the pct of the two models whose latent code carries nothing (p = ½ everywhere; the training column means).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bvae.bound import fit_bound
from bvae.comparison import compare, summary, with_draws
from bvae.data import read_dataset
from bvae.likelihood import marginal_nll
from bvae.tables import collect_runs


def runs_of(root: Path) -> pd.DataFrame:
    """Every final record under root/runs/{protocol}/..., with its protocol."""
    parts = []
    for protocol_dir in sorted(p for p in (root / "runs").iterdir() if p.is_dir()):
        finals = sorted(str(p) for p in protocol_dir.rglob("final.parquet"))
        if finals:
            parts.append(collect_runs(finals, protocol_dir.name))
    return pd.concat(parts, ignore_index=True)


def collapse_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per protocol and cell (first draw): seeds, collapsed seeds (0 active units), mean pct_train and pct_test."""
    draws = with_draws(runs)
    first = draws[draws["replicate"] == 0]
    keys = ["protocol", "arch", "dataset", "variant"]
    return (
        first.groupby(keys)
        .agg(
            seeds=("seed", "size"),
            collapsed=("active_units", lambda a: int((a == 0).sum())),
            pct_train=("pct_train", "mean"),
            pct_test=("pct_test", "mean"),
        )
        .reset_index()
    )


def kl_over_epochs(root: Path, epochs=(1, 2, 5, 10, 50, 100, 300)) -> pd.DataFrame:
    """Deep vanilla at N = 5000, run by run: the test KL at some epochs and the last epoch with an active unit on
    the test split (the final record counts them on the training split), to see when a collapse happens."""
    rows = []
    for path in sorted((root / "runs").glob("*/d*_N5000/deep/vanilla/seed*/history.parquet")):
        history = pd.read_parquet(path).set_index("epoch")
        protocol, dataset, seed = path.parts[-6], path.parts[-5], path.parts[-2]
        active = history.index[history["test_active_units"] > 0]
        row = {"protocol": protocol, "dataset": dataset, "seed": seed, "last_epoch_active_on_test": active.max()}
        row |= {f"kl_e{e}": history["test_kl"].get(e, np.nan) for e in epochs}
        rows.append(row)
    return pd.DataFrame(rows)


def reference_models(root: Path) -> pd.DataFrame:
    """pct of the bound, per split, of the two models whose latent code carries nothing, for every dataset:
    Bernoulli(½) everywhere (d·log 2, the decoder bias at zero) and the training split's column means."""
    rows = []
    for path in sorted((root / "datasets").glob("d*_N*.parquet")):
        data = read_dataset(path)
        bound = fit_bound(data.train, data.test, latent_dim=2)
        row = {"dataset": path.stem, "bound_train": bound.bound_train, "bound_test": bound.bound_test}
        for split, x, b in (("train", data.train, bound.bound_train), ("test", data.test, bound.bound_test)):
            row[f"half_{split}"] = 100 * (data.d * np.log(2) / b - 1)
            row[f"marginal_{split}"] = 100 * (marginal_nll(data.train, x) / b - 1)
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the study's output root, e.g. results/calibration")
    parser.add_argument("--seeds", type=int, nargs=2, default=[10, 3], metavar=("N100", "N5000"),
                        help="seeds a complete cell has at N = 100 and at N = 5000 (default: 10 3)")  # fmt: skip
    args = parser.parse_args(argv)
    runs = runs_of(args.root)
    bounds = pd.read_parquet(args.root / "bounds" / "bounds.parquet") if (args.root / "bounds").exists() else None
    wanted = runs["N"].map({100: args.seeds[0], 5000: args.seeds[1]})
    counts = runs.groupby(["protocol", "dataset", "arch", "variant"])["seed"].transform("size")
    complete = runs[counts >= wanted]
    table = compare(complete, bounds=bounds)
    out = sys.stdout
    out.write(f"# Calibration summary of {args.root}\n\n`python -m bench.calibration_summary {args.root}`: ")
    out.write(f"{len(runs)} finished trainings ({len(complete)} in complete cells) of ")
    out.write(f"{runs['protocol'].nunique()} protocols; torch {', '.join(sorted(runs['torch_version'].unique()))}, ")
    hours = (runs["wall_seconds"] / runs["stack_size"]).sum() / 3600  # a stack's wall time is on each of its seeds
    out.write(f"{hours:.1f} hours of training wall time (one thread per job).\n\n")
    out.write("## Agreement per protocol (complete cells only)\n\n")
    out.write(summary(table).to_markdown(index=False) + "\n\n")
    by_cell = table.groupby(["protocol", "N", "arch", "stat"])["agree"].agg(agreeing="sum", compared="size")
    out.write("## Agreement per protocol, N, architecture and kind of cell ([min; max] or mean ± std)\n\n")
    out.write(by_cell.reset_index().to_markdown(index=False) + "\n\n")
    out.write("## Seeds, collapsed seeds (no active unit) and mean pct per cell\n\n")
    out.write(collapse_table(complete).to_markdown(index=False, floatfmt=".3f") + "\n\n")
    deep = complete[(complete["arch"] == "deep") & (complete["N"] == 5000)]
    cols = ["protocol", "dataset", "variant", "seed", "pct_train", "pct_test", "active_units", "final_kl"]
    out.write("## Deep, N = 5000, seed by seed\n\n")
    out.write(deep[cols].sort_values(cols[:4]).to_markdown(index=False, floatfmt=".3f") + "\n\n")
    out.write("## Deep vanilla, N = 5000: test KL over epochs and the last epoch with an active unit\n\n")
    out.write(kl_over_epochs(args.root).to_markdown(index=False, floatfmt=".3f") + "\n\n")
    out.write("## Models whose latent code carries nothing (pct of the bound)\n\n")
    out.write(reference_models(args.root).to_markdown(index=False, floatfmt=".3f") + "\n\n")
    cells = ["protocol", "table", "dataset", "variant", "paper_a", "paper_b", "mean", "std", "min", "max", "n"]
    out.write("## Every compared cell\n\n")
    out.write(table[[*cells, "diff", "agree", "nll_pct", "draw_std", "within_draw_spread"]].to_markdown(
        index=False, floatfmt=".2f") + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
