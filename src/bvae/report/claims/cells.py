"""The claims' numbers: the cells (seed mean and std of pct_train, pct_test and the gap per protocol, architecture,
dataset and variant; ours and the paper's printed ones), the thresholds and the epochs each seed takes to the bound
region. What the claims count and how is method §8 and docs/claims.md."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bvae.data.simulate import parse_name
from bvae.errors import ConfigError, DataError
from bvae.report.comparison import PAPER_COLUMNS, RUN_KEYS
from bvae.report.evidence import Cell
from bvae.report.tables import PAPER_SEEDS

PUBLISHED, DATA = "published", "data"  # protocols of the paper's own cells and of the datasets' claims


PRINTED = 0.005  # half the last printed digit of the paper's two-decimal cells


SPLITS = ("train", "test")


QUANTITIES = (*SPLITS, "gap")  # pct_train, pct_test and the over-fitting gap pct_test - pct_train


CELL_COLUMNS = ["protocol", "arch", "dataset", "d", "N", "variant", "bound_train", "bound_test", "n",
                *(f"{stat}_{q}" for q in QUANTITIES for stat in ("mean", "std", "mround", "sround"))]  # fmt: skip


@dataclass(frozen=True)
class Thresholds:
    """The claims report's thresholds: config key `claims:` (workflow/schemas/config.schema.yaml, docs/claims.md)."""

    noise_se: float = 2.0  # a difference is decided beyond this many standard errors (t-corrected, see evidence)
    min_seeds: int = 3  # fewer seeds per cell leave a claim undecided
    region_pct_train: float = 0.0  # the training bound region: loss <= bound_train (1 + this / 100)
    region_pct_test: float = 0.1  # the test bound region: loss <= bound_test (1 + this / 100)
    comparable_pct: float = 0.5  # claim 2: final training pct of the variants differ by at most this (points)
    bound_robust_pct: float = 1.0  # claim 6: the bound changes by at most this (percent) across N

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"claims.{field.name} = {value!r}; expected a finite number")
        if not isinstance(self.min_seeds, int) or self.min_seeds < 2:
            raise ConfigError(f"claims.min_seeds = {self.min_seeds!r}; expected an integer of at least 2")
        for name in ("noise_se", "comparable_pct", "bound_robust_pct"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"claims.{name} = {getattr(self, name)!r}; expected a positive number")

    @classmethod
    def from_config(cls, mapping: dict | None) -> Thresholds:
        """The thresholds of a config's `claims:` mapping; a key that is not a threshold is an error."""
        mapping = mapping or {}
        names = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(mapping) - set(names))
        if unknown:
            raise ConfigError(f"claims: unknown key(s) {unknown}; expected some of {names}")
        return cls(**mapping)

    def region(self, split: str) -> float:
        return self.region_pct_train if split == "train" else self.region_pct_test


def select_counted(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of datasets the claims count: first draws of simulated datasets, every other dataset."""
    first = [(p := parse_name(name)) is None or p[2] == 0 for name in frame["dataset"]]
    return frame[np.array(first, dtype=bool)]


def is_simulated(dataset: str) -> bool:
    return parse_name(dataset) is not None


def run_cells(runs: pd.DataFrame) -> pd.DataFrame:
    """Our cells from the runs tables (column `protocol`): seeds' mean and std of each quantity, no printing error."""
    runs = select_counted(runs).assign(pct_gap=lambda r: r["pct_test"] - r["pct_train"])
    keys = ["protocol", "arch", "dataset", "d", "N", "variant"]
    grouped = runs.groupby(keys, sort=False)
    cells = grouped[[f"bound_{s}" for s in SPLITS]].first().assign(n=grouped.size())
    for q in QUANTITIES:
        cells[f"mean_{q}"] = grouped[f"pct_{q}"].mean()
        cells[f"std_{q}"] = grouped[f"pct_{q}"].std()
        cells[f"mround_{q}"] = cells[f"sround_{q}"] = 0.0
    return cells.reset_index()[CELL_COLUMNS]


def paper_cells(paper: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The paper's mean ± std cells of the (arch, d, N) that our runs cover, in the layout of `run_cells`."""
    ours = select_counted(runs)
    covered = {(a, d, n) for a, ds, d, n in zip(ours["arch"], ours["dataset"], ours["d"], ours["N"], strict=True)
               if ds == f"d{d}_N{n}"}  # fmt: skip
    wanted = np.array([k in covered for k in zip(paper["arch"], paper["d"], paper["N"], strict=True)], dtype=bool)
    table = paper[(paper["stat"] == "meanstd").to_numpy() & wanted]
    if table.empty:
        return pd.DataFrame(columns=CELL_COLUMNS)
    keys = ["arch", "d", "N"]
    parts = []
    for variant, (mean, std) in PAPER_COLUMNS.items():
        wide = table.pivot_table(index=keys, columns="split", values=[mean, std, "bound"], aggfunc="first")
        part = pd.DataFrame(index=wide.index).assign(variant=variant)
        for s in SPLITS:
            part[f"bound_{s}"] = wide[("bound", s)]
            part[f"mean_{s}"], part[f"std_{s}"] = wide[(mean, s)], wide[(std, s)]
            part[f"mround_{s}"] = part[f"sround_{s}"] = PRINTED
        part["mean_gap"] = part["mean_test"] - part["mean_train"]
        part["std_gap"] = part["std_test"] + part["std_train"]  # worst case: train and test perfectly anti-correlated
        part["mround_gap"] = part["sround_gap"] = 2 * PRINTED
        parts.append(part.reset_index())
    cells = pd.concat(parts, ignore_index=True)
    cells = cells.assign(protocol=PUBLISHED, dataset="d" + cells["d"].astype(str) + "_N" + cells["N"].astype(str))
    return cells.assign(n=PAPER_SEEDS)[CELL_COLUMNS]


def to_cell(row: pd.Series, q: str) -> Cell:
    """The quantity `q` of one cell row for the noise rule: std at the top of its rounding interval."""
    return Cell(row[f"mean_{q}"], row[f"std_{q}"] + row[f"sround_{q}"], int(row["n"]), row[f"mround_{q}"])


def epochs_to_region(
    histories: pd.DataFrame, runs: pd.DataFrame, bounds: pd.DataFrame, thresholds: Thresholds
) -> pd.DataFrame:
    """Per (protocol, dataset, arch, variant, seed, split): `epochs` trained and `first`, the first epoch whose
    history loss is at or below bound · (1 + region/100) (NA: never), the bound of the training's dataset at the
    training's own latent size (from its record in `runs`; bounds.parquet holds a row per dataset and latent size).

    Raises:
        DataError: `bounds` has no row for a training's dataset and latent size.
    """
    keys = list(RUN_KEYS)
    sizes = runs[[*keys, "latent_dim"]].drop_duplicates(keys)
    at = ["dataset", "latent_dim"]
    missing = sizes[at].drop_duplicates().merge(bounds[at], how="left", indicator=True).query("_merge == 'left_only'")
    if not missing.empty:
        pairs = ", ".join(f"{d} at latent_dim {k}" for d, k in missing[at].itertuples(index=False))
        raise DataError(f"bounds: no bound of {pairs}; expected a row per dataset and latent size the runs trained")
    histories = select_counted(histories).merge(sizes, on=keys)
    histories = histories.merge(bounds[[*at, *(f"bound_{s}" for s in SPLITS)]], on=at)
    parts = []
    for split in SPLITS:
        limit = histories[f"bound_{split}"] * (1 + thresholds.region(split) / 100)
        grouped = histories.groupby(keys, sort=False)["epoch"]
        first = histories[histories[f"{split}_loss"] <= limit].groupby(keys)["epoch"].min()
        part = grouped.max().rename("epochs").to_frame().join(first.rename("first")).reset_index()
        parts.append(part.assign(split=split))
    columns = [*keys, "split", "epochs", "first"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return table[columns].astype({"first": "Int64"})


def restrict_epochs(epochs: pd.DataFrame) -> pd.Series:
    """Epochs to the region with a seed that never reaches counted as epochs + 1."""
    return epochs["first"].astype("Float64").fillna(epochs["epochs"] + 1).astype(float)
