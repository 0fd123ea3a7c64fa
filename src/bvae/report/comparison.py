"""Our tables against the paper's published cells (`bvae/report/paper/paper_tables.csv`, provenance in its README.md).

One row per (protocol, table, dataset, variant): the paper's figures, ours (mean, std, min, max and number of seeds
of `pct` on the dataset's first draw), their difference, whether they agree, and, where the study drew the dataset
more than once, how far a cell moves with the data draw alone.

Agreement, by the cell's kind (its `criterion`): a `[min; max]` cell (`range`) agrees when the two ranges overlap; a
`mean ± std` cell (`mean`) when our mean lies within two of the paper's standard deviations of its mean, both widened
by half the paper's last printed digit (0.005). Ranges are lenient (with our few seeds against the paper's 100 an
overlap passes a shift of two paper standard deviations almost always), means are not. Beside it, `welch_p` is a
Welch test of the two means that assumes the paper's 100 seeds (`PAPER_SEEDS`). The third criterion, the collapse
pattern of the deep networks at N ≥ 5000, is `bvae.report.fidelity`'s.

A protocol's cells can also be read at an earlier epoch E from the per-epoch histories (`at_epoch`), as protocol
`{protocol}@{E}`: the first E epochs of a longer training are exactly an E-epoch training, so one long run per seed
gives every shorter one. Those cells use the numbers Keras reports for epoch E (the epoch's mean minibatch training
loss and a one-draw pass over the test split), not the final 10-sample passes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from bvae.data.simulate import parse_name
from bvae.io import read_parquet
from bvae.model.architectures import VARIANT_NOTE
from bvae.report.document import Block, Bullets, Heading, Paragraph, Table
from bvae.report.evidence import Cell, combine, two_sided_p
from bvae.report.tables import TABLES
from bvae.study.plan import run_dir, run_key

TABLE_LABELS = {spec.name: spec.label for spec in TABLES}  # table1_deep_test_range -> 1: deep, test, [min %; max %]
PAPER_CSV = Path(__file__).with_name("paper") / "paper_tables.csv"
PAPER_COLUMNS = {"preinit": ("preinit_a", "preinit_b"), "vanilla": ("vae_a", "vae_b")}
RUN_KEYS = ["protocol", "dataset", "arch", "variant", "seed"]  # one training
ROUNDING = 0.005  # the paper prints two decimals
MEAN_SIGMAS = 2  # a mean cell agrees within this many of the paper's standard deviations
PAPER_SEEDS = 100  # seeds behind each of the paper's cells, as the paper states; the Welch test assumes them
SPREAD_SIGMAS = 2  # a difference within 2 std of the data-draw spread is explained by the data alone


def paper_tables() -> pd.DataFrame:
    return pd.read_csv(PAPER_CSV)


def with_draws(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs on simulated datasets only, with the draw (replicate) of their dataset as a column."""
    parsed = runs["dataset"].map(parse_name)
    runs = runs[parsed.notna()].copy()
    runs["replicate"] = [p[2] for p in parsed.dropna()]
    return runs


def history_paths(root: str | os.PathLike, runs: pd.DataFrame) -> list[str]:
    """The history.parquet of every run in `runs` (final records with a protocol) under the study root `root`."""
    return [f"{run_dir(root, *key)}/history.parquet" for key in runs[RUN_KEYS].itertuples(index=False)]


def read_histories(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """The per-epoch histories in `paths` (each in its training's directory, `bvae.study.plan.run_dir`), keyed by
    the run that directory names: one row per run and epoch.

    Raises:
        ValueError: a path is not in a training's directory.
    """
    parts = [read_parquet(path).assign(**dict(zip(RUN_KEYS, run_key(path), strict=True))) for path in paths]
    return pd.concat(parts, ignore_index=True)


def at_epoch(runs: pd.DataFrame, histories: pd.DataFrame, epoch: int | Iterable[int]) -> pd.DataFrame:
    """The runs as if they had stopped after `epoch` epochs (each of several, if given), as protocol
    `{protocol}@{epoch}`: losses, pct and active units (on the test split) of that epoch's history row; runs shorter
    than `epoch` are left out."""
    epochs = [epoch] if isinstance(epoch, int) else list(epoch)
    columns = [*RUN_KEYS, "epoch", "train_loss", "test_loss", "test_active_units"]
    cut = histories.loc[histories["epoch"].isin(epochs), columns]
    runs = runs.drop(columns=["final_train_loss", "final_test_loss", "active_units"]).merge(cut, on=RUN_KEYS)
    runs = runs.rename(columns={"train_loss": "final_train_loss", "test_loss": "final_test_loss"})
    for split in ("train", "test"):
        bound = runs[f"bound_{split}"]
        runs[f"pct_{split}"] = 100 * (runs[f"final_{split}_loss"] - bound) / bound
    protocol = runs["protocol"] + "@" + runs.pop("epoch").astype(str)
    return runs.assign(active_units=runs.pop("test_active_units"), protocol=protocol)


def ours(runs: pd.DataFrame, split: str) -> pd.DataFrame:
    """Per (protocol, arch, d, N, variant): pct stats on the first draw and the spread of the mean over draws."""
    keys = ["protocol", "arch", "d", "N", "variant"]
    pct = f"pct_{split}"
    first = runs[runs["replicate"] == 0].groupby(keys)[pct].agg(["mean", "std", "min", "max", "count"])
    first = first.rename(columns={"count": "n"})
    per_draw = runs.groupby([*keys, "replicate"])[pct].mean().groupby(keys)
    first["draws"] = per_draw.size()
    first["draw_std"] = per_draw.std()  # NaN with one draw
    first["bound"] = runs[runs["replicate"] == 0].groupby(keys)[f"bound_{split}"].first()
    first["kl_reduction"] = runs.groupby(keys)["kl_reduction"].first()
    return first.reset_index()


def compare(runs: pd.DataFrame, paper: pd.DataFrame | None = None, bounds: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every paper cell that our runs cover, side by side with ours.

    Arguments:
        runs: final records with a `protocol` column (the runs tables of one or more protocols).
        paper: the paper's cells (default: the shipped ones, `paper_tables()`).
        bounds: the study's bounds.parquet; with it, `nll_pct` gives the exact NLL of the generating model in the
            units of `pct` (100 (NLL − bound) / bound): a final test loss below it is luck of the draw, a training
            loss below it is over-fitting.

    Returns:
        The comparison table (comparison.parquet): per protocol, table, dataset and variant the paper's cell and
        ours, their difference and whether they agree (docs/outputs.md lists the columns); empty when no run is on
        a dataset of the paper.
    """
    paper = paper_tables() if paper is None else paper
    runs = with_draws(runs)
    # kl_reduction mean trains and reports nll + KL/κ, not the negative ELBO: the table says which loss a cell is
    runs["kl_reduction"] = runs.get("kl_reduction", pd.Series("sum", runs.index)).fillna("sum")
    rows = []
    for split in ("train", "test"):
        stats = ours(runs, split)
        cells = paper[paper["split"] == split]
        for variant, (a, b) in PAPER_COLUMNS.items():
            part = cells[["table", "arch", "stat", "d", "N", "bound", a, b]].rename(
                columns={"bound": "paper_bound", a: "paper_a", b: "paper_b"}
            )
            rows.append(part.assign(split=split, variant=variant).merge(stats, on=["arch", "d", "N", "variant"]))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if table.empty:
        return table
    table = table.assign(dataset="d" + table["d"].astype(str) + "_N" + table["N"].astype(str))
    is_range = table["stat"] == "range"
    paper_center = np.where(is_range, (table["paper_a"] + table["paper_b"]) / 2, table["paper_a"])
    our_center = np.where(is_range, (table["min"] + table["max"]) / 2, table["mean"])
    table["diff"] = our_center - paper_center
    overlap = (table["max"] >= table["paper_a"]) & (table["min"] <= table["paper_b"])
    table["agree"] = np.where(is_range, overlap, table["diff"].abs() <= mean_tolerance(table["paper_b"]))
    table["criterion"] = np.where(is_range, "range", "mean")
    table["welch_p"] = [np.nan if r else welch_p(row) for r, (_, row) in zip(is_range, table.iterrows(), strict=True)]
    explained = table["diff"].abs() <= SPREAD_SIGMAS * table["draw_std"]
    table["within_draw_spread"] = pd.array(np.where(table["draw_std"].notna(), explained, pd.NA), dtype="boolean")
    order = ["protocol", "table", "arch", "split", "stat", "criterion", "dataset", "d", "N", "variant"]
    rest = ["paper_bound", "bound", "paper_a", "paper_b", "mean", "std", "min", "max", "n", "diff", "agree", "welch_p"]
    table["nll_pct"] = np.nan if bounds is None else nll_pct(table, bounds)
    table = table[[*order, *rest, "nll_pct", "draws", "draw_std", "within_draw_spread", "kl_reduction"]]
    return table.sort_values(["protocol", "table", "d", "N", "variant"]).reset_index(drop=True)


def mean_tolerance(paper_std: pd.Series) -> pd.Series:
    """How far our mean may lie from the paper's printed mean: MEAN_SIGMAS of its printed standard deviation taken at
    the top of its rounding interval, plus the rounding of the printed mean."""
    return MEAN_SIGMAS * (paper_std + ROUNDING) + ROUNDING


def welch_p(row: pd.Series) -> float:
    """Two-sided p of Welch's test of our mean against the paper's (PAPER_SEEDS seeds, its printed numbers taken as
    exact); NaN with a single seed of ours."""
    if not row["n"] > 1:
        return np.nan
    ours = Cell(row["mean"], row["std"], int(row["n"]))
    return two_sided_p(combine((1.0, ours), (-1.0, Cell(row["paper_a"], row["paper_b"], PAPER_SEEDS))))


def nll_pct(table: pd.DataFrame, bounds: pd.DataFrame) -> np.ndarray:
    """The exact NLL of each row's dataset and split, as a deviation from our bound of that split, in percent."""
    indexed = bounds.drop_duplicates("dataset").set_index("dataset")  # a row per latent size, the same NLL
    nll = [
        indexed.loc[ds, f"nll_true_{sp}"] if ds in indexed.index else np.nan
        for ds, sp in zip(table["dataset"], table["split"], strict=True)
    ]
    return 100 * (np.asarray(nll, dtype=float) - table["bound"].to_numpy()) / table["bound"].to_numpy()


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per protocol and criterion (range, mean): cells agreeing, cells compared."""
    counts = table.groupby(["protocol", "criterion"], sort=False)["agree"].agg(agreeing="sum", compared="size")
    return counts.reset_index().sort_values(["protocol", "criterion"], ascending=[True, False], ignore_index=True)


def _paper_cell(row: pd.Series) -> str:
    if row["stat"] == "range":
        return f"[{row['paper_a']:.2f}; {row['paper_b']:.2f}]"
    return f"{row['paper_a']:.2f} ± {row['paper_b']:.2f}"


def _our_cell(row: pd.Series) -> str:
    if row["stat"] == "range":
        return f"[{row['min']:.2f}; {row['max']:.2f}]"
    return f"{row['mean']:.2f} ± {row['std']:.2f}" if pd.notna(row["std"]) else f"{row['mean']:.2f}"


def comparison_document(table: pd.DataFrame, datasets: list[str]) -> list[Block]:
    """Summary lines per protocol, then one table per protocol; datasets the paper lacks are named."""
    blocks: list[Block] = [
        Heading("Our tables against the paper's published cells"),
        Paragraph(
            "All numbers are pct = 100 (loss − bound) / bound. *published*: the paper's cell (100 seeds); the column"
            " named after a protocol: ours under that protocol, over n seeds; *diff*: ours minus published (centres"
            " of the ranges, or means); *exact NLL*: the generating model's average negative log-likelihood in the"
            " same units (no model beats it on test data in expectation; a training loss below it is overfitting)."
            f" {VARIANT_NOTE}"
        ),
    ]
    missing = [name for name in datasets if not _is_paper_dataset(name)]
    if missing:
        blocks.append(Paragraph(f"Not in the paper, so not compared: {', '.join(missing)}."))
    if table.empty:
        return [*blocks, Paragraph("No dataset of this study is in the paper's tables.")]
    averaged = set(table.loc[table["kl_reduction"] == "mean", "protocol"])
    note = " (its losses weigh the KL term by 1/κ: not the negative ELBO)"
    counts = [
        f"protocol `{protocol}`: "
        + ", ".join(f"{r.criterion}s {r.agreeing} of {r.compared}" for r in part.itertuples())
        + f" agree{note if protocol in averaged else ''}"
        for protocol, part in summary(table).groupby("protocol", sort=False)
    ]
    blocks.append(Bullets(tuple(counts)))
    right = (False, False, False, True, True, True, True, True, False)
    for protocol, part in table.groupby("protocol"):
        header = ("table", "dataset", "variant", "published", f"`{protocol}`", "n", "diff", "exact NLL", "agree")
        rows = tuple(
            (TABLE_LABELS[row["table"]], row["dataset"], row["variant"], _paper_cell(row), _our_cell(row),
             str(row["n"]), f"{row['diff']:+.2f}", signed(row["nll_pct"]), agreement(row))
            for _, row in part.iterrows()
        )  # fmt: skip
        blocks += [Heading(f"Protocol `{protocol}`", 2), Table(header, rows, right)]
    return blocks


def signed(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:+.2f}"


def agreement(row: pd.Series) -> str:
    """yes, no, or "within data draws" for a difference that the data-draw spread explains; marked to be scanned."""
    explained = pd.notna(row["within_draw_spread"]) and bool(row["within_draw_spread"])
    return "✓ yes" if row["agree"] else ("≈ within data draws" if explained else "✗ no")


def _is_paper_dataset(name: str) -> bool:
    parsed = parse_name(name)
    paper = paper_tables()
    return parsed is not None and bool(((paper["d"] == parsed[0]) & (paper["N"] == parsed[1])).any())
