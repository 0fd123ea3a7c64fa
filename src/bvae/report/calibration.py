"""The calibration summary: which protocol's cells agree with the paper's, over the runs a study has so far.

The workflow's `comparison` rule needs every run of every protocol; while a study is still running, or when only a
part of it was run (config/protocols.yaml is far more than a 2-core machine trains in a session), `bvae calibration
ROOT` compares what is there, with the same functions as the comparison (`bvae.report.comparison`). Only cells whose
every seed finished are compared: a cell with fewer seeds has a narrower [min; max] range on average.

`--claims` also decides the paper's claims (`bvae.report.claims`) on the same complete cells.

It also maps the posterior collapse of the deep vanilla VAE: for each run, the epoch at which it lost its last
active latent unit on the test split (from its history), against the protocol's learning rate, beside the collapse
that the paper's own cells imply (`paper_collapse`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from bvae.data.binary import BinaryData, read_dataset
from bvae.errors import DataError
from bvae.model.bound import fit_bound
from bvae.model.likelihood import marginal_nll
from bvae.report.claims import Thresholds, epochs_to_region, evaluate
from bvae.report.comparison import (
    RUN_KEYS,
    at_epoch,
    compare,
    history_paths,
    paper_tables,
    read_histories,
    summary,
    with_draws,
)
from bvae.report.fidelity import (
    COLLAPSE_MARGIN,
    COLLAPSED_KL,
    collapse_epochs,
    collapse_pattern,
    deep_runs,
    fidelity_table,
    paper_collapse,
)
from bvae.report.tables import collect_runs

SEEDS = {100: 10, 5000: 3, 10000: 3}  # seeds of a complete cell, by N (config/protocols.yaml)
CELL = ["protocol", "arch", "dataset", "variant"]
EPOCH_WINDOW = 11  # epochs averaged around a candidate epoch count: one epoch's agreement moves by a cell or two


def _read_study_runs(root: Path) -> pd.DataFrame:
    """Every final record under root/runs/{protocol}/..., with its protocol."""
    parts = []
    for protocol_dir in sorted(p for p in (root / "runs").glob("*") if p.is_dir()):
        finals = sorted(str(p) for p in protocol_dir.rglob("final.parquet"))
        if finals:
            parts.append(collect_runs(finals, protocol_dir.name))
    if not parts:
        raise DataError(f"{root}: no finished training under {root / 'runs'}")
    return pd.concat(parts, ignore_index=True)


def _keep_protocols(runs: pd.DataFrame, protocols: Sequence[str]) -> pd.DataFrame:
    """The runs of `protocols` (all if empty); a protocol without a finished run is an error."""
    missing = sorted(set(protocols) - set(runs["protocol"]))
    if missing:
        found = ", ".join(runs["protocol"].unique())
        raise DataError(f"protocol(s) {', '.join(missing)}: no finished run; found {found}")
    return runs[runs["protocol"].isin(protocols)] if protocols else runs


def keep_complete_cells(runs: pd.DataFrame, seeds: dict[int, int]) -> pd.DataFrame:
    """The runs of cells with at least the complete number of seeds for their N (N missing from `seeds`: any)."""
    counts = runs.groupby(CELL)["seed"].transform("size")
    return runs[counts >= runs["N"].map(seeds).fillna(1)]


def decoder_family(run: pd.Series) -> str:
    """The settings of a run that are neither its learning rate nor its epochs, in words, for the collapse map."""
    scheme = run["init_output"] if isinstance(run["init_output"], str) else run["init"]
    parts = [f"decoder {scheme.replace('_', ' ')}"]
    if run["batch_size"] != 100:
        parts.append(f"batch {run['batch_size']}")
    if run.get("init_bias", "zeros") != "zeros":
        parts.append("biases drawn")
    if run.get("kl_reduction", "sum") != "sum":
        parts.append("KL averaged")
    return ", ".join(parts)


def reference_models(datasets: Iterable[BinaryData]) -> pd.DataFrame:
    """pct of the bound, per split, of the models whose latent code carries nothing or less, for every dataset:
    Bernoulli(½) everywhere (d·log 2), the training split's column means (a fully collapsed VAE with a converged
    decoder bias), and the bound at κ = 1 (the best affine model with one active unit)."""
    rows = []
    for data in datasets:
        bound, one = fit_bound(data.train, data.test, latent_dim=2), fit_bound(data.train, data.test, latent_dim=1)
        row = {"dataset": data.name, "bound_train": bound.bound_train, "bound_test": bound.bound_test}
        for split, x, b, b1 in (
            ("train", data.train, bound.bound_train, one.bound_train),
            ("test", data.test, bound.bound_test, one.bound_test),
        ):
            row[f"half_{split}"] = 100 * (data.d * math.log(2) / b - 1)
            row[f"marginal_{split}"] = 100 * (marginal_nll(data.train, x) / b - 1)
            row[f"one_unit_{split}"] = 100 * (b1 / b - 1)
        rows.append(row)
    return pd.DataFrame(rows)


def _collapse_table(runs: pd.DataFrame, epochs: pd.DataFrame, implied: pd.DataFrame) -> pd.DataFrame:
    """Per protocol and cell (first draw): seeds, collapsed seeds (no active unit at the end, on the training split),
    the median epoch at which they collapsed (`collapse_epochs`), mean pct_train and pct_test, and for the deep cells
    at N >= 5000 the collapse that the paper's range implies (`implied`: `paper_collapse`)."""
    first = with_draws(runs)
    first = first[first["replicate"] == 0].merge(epochs, on=RUN_KEYS, how="left")
    table = first.groupby([*CELL, "d", "N"]).agg(
        seeds=("seed", "size"),
        collapsed=("active_units", lambda a: int((a == 0).sum())),
        median_collapse_epoch=("collapse_epoch", "median"),
        pct_train=("pct_train", "mean"),
        pct_test=("pct_test", "mean"),
    )
    table = table.reset_index().merge(implied[["d", "N", "variant", "collapsed"]], on=["d", "N", "variant"],
                                      how="left", suffixes=("", "_published"))  # fmt: skip
    applies = table["arch"] == "deep"
    table["collapsed_published"] = table["collapsed_published"].where(applies).fillna("")
    return table.drop(columns=["d", "N"])


def _epoch_map(table: pd.DataFrame) -> pd.DataFrame:
    """[min; max] cells agreeing / compared per protocol (as trained, and read at each epoch E of `name@E`), one
    column per architecture, N and epoch: which epoch count agrees at which sample size."""
    ranges = table[table["stat"] == "range"]
    name = ranges["protocol"].str.split("@")
    epochs = name.map(lambda parts: parts[1] if len(parts) > 1 else "final")
    counts = ranges.groupby([name.str[0].rename("protocol"), "arch", "N", epochs.rename("epoch")])["agree"]
    cells = counts.agg(lambda agree: f"{int(agree.sum())}/{len(agree)}").rename("agreeing")
    wide = cells.unstack(["arch", "N", "epoch"]).fillna("")
    wide.columns = [f"{arch} N={n} {epoch}" for arch, n, epoch in wide.columns]
    return wide[sorted(wide.columns, key=_column_sort_key)].reset_index()


def _column_sort_key(column: str) -> tuple:
    """deep before canonical, N ascending, epochs ascending with the final reading last."""
    arch, size, epoch = column.split(" ")
    return arch != "deep", int(size[2:]), epoch == "final", int(epoch) if epoch.isdigit() else 0


def _best_per_architecture(table: pd.DataFrame) -> pd.DataFrame:
    """For each architecture and N, the protocols agreeing in the most [min; max] cells, with their counts."""
    ranges = table[table["stat"] == "range"]
    counts = ranges.groupby(["arch", "N", "protocol"])["agree"].agg(agreeing="sum", compared="size").reset_index()
    top = counts.groupby(["arch", "N"])["agreeing"].transform("max")
    best = counts[counts["agreeing"] == top]
    return best.groupby(["arch", "N", "agreeing", "compared"])["protocol"].agg(", ".join).reset_index()


def epoch_rule(
    runs: pd.DataFrame, histories: pd.DataFrame, size: int = 100, window: int = EPOCH_WINDOW, paper=None
) -> pd.DataFrame:
    """The epoch count a rule fixed before looking at N ≥ 5000 picks for each protocol's deep networks, on its N =
    `size` cells alone: the epoch E whose `window` epochs centred on it agree in the most [min; max] and mean ± sd
    cells on average, read from the histories (the earliest of ties); beside it, the cells agreeing at E and at the
    protocol's own end (`paper`: the published cells, default the shipped ones)."""
    deep = runs[(runs["arch"] == "deep") & (runs["N"] == size)]
    rows = []
    for protocol, mine in deep.groupby("protocol"):
        last = int(mine["epochs"].max())
        agree = compare(at_epoch(mine, histories, range(1, last + 1)), paper).groupby("protocol")["agree"].sum()
        per_epoch = agree.rename(lambda name: int(name.split("@")[1])).sort_index()
        smooth = per_epoch.rolling(min(window, last), center=True).mean()  # a run shorter than the window: all of it
        chosen = int(smooth.idxmax())
        rows.append({"protocol": protocol, "epochs": last, "chosen_epoch": chosen, "window_mean": smooth[chosen],
                     "agreeing_there": int(per_epoch[chosen]), "agreeing_at_end": int(per_epoch[last]),
                     "compared": len(compare(mine, paper))})  # fmt: skip
    return pd.DataFrame(rows)


def summarise_calibration(
    root: Path, seeds: dict[int, int] | None = None, epochs: Sequence[int] = (), protocols: Sequence[str] = ()
) -> dict[str, pd.DataFrame]:
    """`summarise_runs` of a study's output root: its complete cells (`seeds` per N), of `protocols` only, if given."""
    seeds = seeds or SEEDS
    runs = keep_complete_cells(_keep_protocols(_read_study_runs(root), protocols), seeds)
    if runs.empty:
        wanted = ", ".join(f"{s} at N = {n}" for n, s in seeds.items())
        raise DataError(f"{root}: no cell has all its seeds finished ({wanted}); nothing to compare yet")
    bounds_path = root / "bounds" / "bounds.parquet"
    bounds = pd.read_parquet(bounds_path) if bounds_path.exists() else None
    datasets = (read_dataset(path) for path in sorted((root / "datasets").glob("d*_N*.parquet")))
    return summarise_runs(
        runs, read_histories(history_paths(root, runs)), bounds, reference_models(datasets), epochs, root
    )


def summarise_runs(
    runs: pd.DataFrame,
    histories: pd.DataFrame,
    bounds: pd.DataFrame | None,
    references: pd.DataFrame,
    epochs: Sequence[int] = (),
    source: str | os.PathLike = "",
) -> dict[str, pd.DataFrame]:
    """Every table of the summary, by name: the comparison (with cells read at `epochs` as protocol@E), the
    agreement counts, collapse per cell and per run, and the reference models (`source`: where the runs are from)."""
    at = [at_epoch(runs, histories, e) for e in epochs]
    table = compare(pd.concat([runs, *at], ignore_index=True), bounds=bounds)
    if table.empty:  # a study of other sizes than the paper's
        paper = paper_tables()
        sizes = f"d in {sorted(set(paper['d']))}, N in {sorted(set(paper['N']))}"
        raise DataError(f"{source}: no complete cell is a cell of the paper ({sizes}); nothing to compare")
    per_run = collapse_epochs(histories)
    deep = deep_runs(runs, histories)
    deep = deep.assign(family=[decoder_family(run) for _, run in deep.iterrows()])
    pattern = collapse_pattern(deep)
    return {
        "runs": runs,
        "histories": histories,
        "bounds": bounds,
        "comparison": table,
        "agreement": summary(table),
        "fidelity": fidelity_table(table, pattern),
        "collapse_pattern": pattern,
        "epoch_map": _epoch_map(table),
        "best": _best_per_architecture(table),
        "collapse": _collapse_table(runs, per_run, paper_collapse(deep)),
        "epoch_rule": epoch_rule(runs, histories),
        "deep_runs": deep,
        "references": references,
    }


def decide_calibration_claims(root: Path, parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The paper's claims decided on the summary's complete cells (and on its own cells), as the rule claims does
    for a study, at the default thresholds."""
    bounds = parts["bounds"]
    if bounds is None:
        path = root / "bounds" / "bounds.parquet"
        raise DataError(f"{path}: no such file; the claims need the study's bounds (its rule bounds writes them)")
    epochs = epochs_to_region(parts["histories"], parts["runs"], bounds, Thresholds())
    return evaluate(parts["runs"], epochs, bounds, Thresholds())


def core_hours(runs: pd.DataFrame) -> pd.Series:
    """Each training's core-hours: a stack's wall time is on each of its seeds, and each of its threads is a core."""
    return runs["wall_seconds"] * runs["threads"] / runs["stack_size"] / 3600


def training_hours(runs: pd.DataFrame) -> pd.DataFrame:
    """Trainings and core-hours per protocol, architecture and N."""
    groups = runs.assign(core_hours=core_hours(runs)).groupby(["protocol", "arch", "N"])
    return groups.agg(trainings=("seed", "size"), core_hours=("core_hours", "sum")).reset_index()


def calibration_markdown(root: Path, parts: dict[str, pd.DataFrame], command: str) -> str:
    """The summary as Markdown (docs/results/calibration-results.md is this output, unedited)."""
    runs, table = parts["runs"], parts["comparison"]
    hours = (runs["wall_seconds"] / runs["stack_size"]).sum() / 3600  # a stack's wall time is on each of its seeds
    lines = [
        f"# Calibration summary of {root}",
        "",
        f"`{command}`: {len(runs)} finished trainings in complete cells of {runs['protocol'].nunique()} protocols; "
        f"torch {', '.join(sorted(runs['torch_version'].unique()))}, {hours:.1f} hours of training wall time (one "
        "thread per job). A protocol `name@E` is the protocol's runs read at epoch E from their histories (the "
        "numbers Keras reports for that epoch).",
    ]
    deep_cols = ["protocol", "dataset", "variant", "seed", "family", "lr", "pct_train", "pct_test", "active_units",
                 "final_kl", "collapse_epoch", "active_lost_epoch"]  # fmt: skip
    cells = ["protocol", "table", "dataset", "variant", "paper_a", "paper_b", "mean", "std", "min", "max", "n"]
    sections = [
        ("Agreement per protocol and criterion (complete cells only)", parts["agreement"], ".2f"),
        (
            "[min; max] cells agreeing per protocol, architecture, N and epoch (read from the histories; final: as "
            "trained)",
            parts["epoch_map"],
            ".2f",
        ),
        ("Protocols agreeing in the most [min; max] cells, per architecture and N", parts["best"], ".2f"),
        (
            f"The epoch count chosen on the deep N = 100 cells alone: the epoch whose {EPOCH_WINDOW} epochs around it "
            "agree in the most [min; max] and mean ± sd cells on average, read from the histories (earliest of ties)",
            parts["epoch_rule"],
            ".2f",
        ),
        ("Trainings and core-hours spent per protocol, architecture and N", training_hours(runs), ".1f"),
        ("Cells agreeing per protocol, criterion, architecture and N (fidelity.parquet)", parts["fidelity"], ".2f"),
        (
            "Collapse pattern: what the paper's deep training ranges at N >= 5000 imply against the collapsed level "
            f"of our seeds less {COLLAPSE_MARGIN} points, and our collapsed seeds (agree: where the range decides)",
            parts["collapse_pattern"],
            ".3f",
        ),
        ("Seeds, collapsed seeds (no active unit) and mean pct per cell", parts["collapse"], ".3f"),
        (
            "Deep, N >= 5000, run by run (collapse_epoch: from when the test KL stays below "
            f"{COLLAPSED_KL} nats; active_lost_epoch: from when no unit is active on the test split)",
            parts["deep_runs"].sort_values(deep_cols[:4])[deep_cols],
            [("g" if column == "lr" else ".3f") for column in deep_cols],  # lr as 0.0003, not 0.000
        ),
        ("Models whose latent code carries less (pct of the bound)", parts["references"], ".3f"),
        ("Every compared cell", table[[*cells, "diff", "agree", "nll_pct", "draw_std", "within_draw_spread"]], ".2f"),
    ]
    for title, frame, fmt in sections:
        lines += ["", f"## {title}", "", frame.to_markdown(index=False, floatfmt=fmt)]
    return "\n".join(lines) + "\n"
