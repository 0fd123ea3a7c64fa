"""The eight tables of method §7: deviation of the final loss from the bound, per dataset, for both variants."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from bvae.errors import DataError
from bvae.io import read_parquet
from bvae.model.architectures import VARIANTS
from bvae.report.document import Table

COLUMN_ORDER = ("preinit", "vanilla")  # the paper's column order: VAE preinit, then VAE
STATS = ("mean", "std", "min", "max", "n")
COLUMN_NOTE = f"{' and '.join(COLUMN_ORDER)} are the paper's " + " and ".join(f'"{VARIANTS[v]}"' for v in COLUMN_ORDER)
EXACT_NOTE = {  # what the exact NLL says of the split's losses
    "train": "a training loss below it is overfitting",
    "test": "no model beats it on test data in expectation",
}
PAPER_SEEDS = 100  # every cell of the paper summarises 100 seeds (bvae/report/paper/README.md)


@dataclass(frozen=True)
class TableSpec:
    number: int
    arch: str
    split: str  # train or test
    stat: str  # range: [min%; max%], meanstd: mean% ± std%

    @property
    def name(self) -> str:
        return f"table{self.number}_{self.arch}_{self.split}_{self.stat}"

    @property
    def statistic(self) -> str:
        return "[min %; max %]" if self.stat == "range" else "mean % ± std %"

    @property
    def label(self) -> str:
        return f"{self.number}: {self.arch}, {self.split}, {self.statistic}"

    def caption(self, protocol: str | None = None) -> str:
        ours = f" (protocol `{protocol}`)" if protocol else ""
        return (
            f"Table {self.number}{ours}: {self.arch} network, {self.split} split: deviation of the final loss from "
            f"the {self.split} bound over seeds, {self.statistic}; negative means the network beats the bound."
        )


TABLES = (
    TableSpec(1, "deep", "test", "range"),
    TableSpec(2, "deep", "train", "range"),
    TableSpec(3, "canonical", "test", "range"),
    TableSpec(4, "canonical", "train", "range"),
    TableSpec(5, "canonical", "test", "meanstd"),
    TableSpec(6, "canonical", "train", "meanstd"),
    TableSpec(7, "deep", "test", "meanstd"),
    TableSpec(8, "deep", "train", "meanstd"),
)


def deviation_table(runs: pd.DataFrame, arch: str, split: str) -> pd.DataFrame:
    """One row per dataset: its d, N, the split's bound, and mean/std/min/max/count of pct_{split} per variant."""
    pct, bound = f"pct_{split}", f"bound_{split}"
    missing = {"dataset", "d", "N", "arch", "variant", pct, bound} - set(runs.columns)
    if missing:
        raise DataError(f"runs table lacks column(s) {sorted(missing)}")
    runs = runs[runs["arch"] == arch]
    if runs.empty:
        raise DataError(f"runs table has no runs of arch {arch!r}")
    keys = ["dataset", "d", "N"]
    stats = runs.groupby([*keys, "variant"])[pct].agg(["mean", "std", "min", "max", "count"])
    stats = stats.rename(columns={"count": "n"}).unstack("variant")
    stats.columns = [f"{variant}_{stat}" for stat, variant in stats.columns]
    bounds = runs.groupby(keys)[bound].first().rename("bound")
    table = pd.concat([bounds, stats], axis=1).reset_index().sort_values(["d", "N", "dataset"])
    ordered = [f"{v}_{s}" for v in COLUMN_ORDER for s in STATS if f"{v}_{s}" in table.columns]
    return table[[*keys, "bound", *ordered]].reset_index(drop=True)


def with_exact_nll(table: pd.DataFrame, bounds: pd.DataFrame, split: str) -> pd.DataFrame:
    """`table` plus a last column nll_true: the split's exact NLL of the generating model (NaN for user data)."""
    exact = bounds.drop_duplicates("dataset").set_index("dataset")[f"nll_true_{split}"].rename("nll_true")  # any κ
    return table.join(exact, on="dataset")


def _exact_cell(row: pd.Series) -> str:
    """The exact NLL and, like the variants' cells, its deviation from the bound; – for data without one."""
    if pd.isna(row["nll_true"]):
        return "–"
    return f"{row['nll_true']:.2f} ({100 * (row['nll_true'] - row['bound']) / row['bound']:+.2f}%)"


def cell(row: pd.Series, variant: str, stat: str) -> str:
    if f"{variant}_mean" not in row or pd.isna(row[f"{variant}_mean"]):
        return "–"
    if stat == "range":
        return f"[{row[f'{variant}_min']:.2f}%; {row[f'{variant}_max']:.2f}%]"
    std = row[f"{variant}_std"]
    return f"{row[f'{variant}_mean']:.2f}% ± {'–' if pd.isna(std) else f'{std:.2f}%'}"


def _row_label(row: pd.Series) -> str:
    simulated = row["dataset"] == f"d{row['d']}_N{row['N']}"
    return f"d={row['d']}; N={row['N']}" if simulated else f"{row['dataset']} (d={row['d']}; N={row['N']})"


def seeds_text(n) -> str:
    """Seeds per cell, from the cells' seed counts: "3 seeds per cell", "3–10 seeds per cell"."""
    n = [int(x) for x in n]
    if not n:
        return ""
    return f"{n[0]} seeds per cell" if min(n) == max(n) else f"{min(n)}–{max(n)} seeds per cell"


def training_text(runs: pd.DataFrame, arch: str) -> str:
    """The epochs and, for the deep network, the hidden widths that an architecture's runs trained with."""
    mine = runs[runs["arch"] == arch]
    epochs = " / ".join(str(e) for e in sorted(mine["epochs"].unique()))
    widths = " / ".join(" ".join(map(str, json.loads(h))) for h in mine["hidden"].unique())
    return f"{epochs} epochs" + (f", hidden widths {widths}" if arch == "deep" else "")


def table_document(
    table: pd.DataFrame, spec: TableSpec, protocol: str | None = None, training: str = ""
) -> list[Table]:
    """The paper's layout: rows per dataset, columns bound, preinit, vanilla; with an exact-NLL column after the
    bound when `table` has one (`with_exact_nll`) and at least one dataset has a generating model."""
    exact = "nll_true" in table.columns and table["nll_true"].notna().any()
    exact_note = (f" Exact NLL: the average negative log-likelihood of the model that generated the simulated data,"
                  f" with its deviation from the bound; {EXACT_NOTE[spec.split]}.")  # fmt: skip
    seeds = seeds_text(table[[f"{v}_n" for v in COLUMN_ORDER if f"{v}_n" in table]].stack().dropna())
    trained = f" Over {seeds} (the paper: {PAPER_SEEDS}){f', {training}' if training else ''}."
    caption = f"{spec.caption(protocol)}{trained} Columns: {COLUMN_NOTE}.{exact_note if exact else ''}"
    header = ("", "bound", *(["exact NLL"] if exact else []), *COLUMN_ORDER)
    rows = []
    for _, row in table.iterrows():
        cells = [f"{row['bound']:.2f}", *([_exact_cell(row)] if exact else [])]
        rows.append((_row_label(row), *cells, *(cell(row, v, spec.stat) for v in COLUMN_ORDER)))
    return [Table(header, tuple(rows), (False,) + (True,) * (len(header) - 1), caption)]


def collect_runs(final_paths: list[str], protocol: str) -> pd.DataFrame:
    """All final records of one protocol in one table, sorted by dataset, arch, variant and seed."""
    runs = pd.concat([read_parquet(p) for p in final_paths], ignore_index=True).assign(protocol=protocol)
    return runs.sort_values(["d", "N", "dataset", "arch", "variant", "seed"]).reset_index(drop=True)
