"""The claims' verdicts: every claim on every protocol, on the paper's cells and on the datasets, and per claim and
protocol the verdict over its units (per architecture and over both; method §8)."""

from __future__ import annotations

import pandas as pd

from bvae.report.claims.cells import DATA, PUBLISHED, Thresholds, paper_cells, run_cells
from bvae.report.claims.criteria import (
    CLAIMS,
    COLUMNS,
    FAILS,
    HOLDS,
    OUT_OF_SCOPE,
    UNDECIDED,
    decide_bound_position,
    decide_canonical_more,
    decide_convergence,
    decide_decision_support,
    decide_more_data,
    decide_vanilla_reaches,
    decide_variant_contrast,
    mark_not_published,
)
from bvae.report.comparison import paper_tables
from bvae.report.tables import PAPER_SEEDS, seeds_text

LEVELS = ("all", "arch", "dataset")  # rows over both architectures, per architecture, per unit


EXCEPTIONS = 1  # claim 4's "all but one"


def _aggregate_units(units: pd.DataFrame, level: str, arch: str) -> dict:
    """One row over the units of a claim and protocol (all of them, or one architecture's)."""
    claim, protocol = int(units["claim"].iloc[0]), units["protocol"].iloc[0]
    scope = units[~units["reason"].isin(OUT_OF_SCOPE)]
    count = scope["verdict"].value_counts()
    holds, fails, open_ = (int(count.get(v, 0)) for v in (HOLDS, FAILS, UNDECIDED))
    if claim == 4:
        verdict = FAILS if fails > EXCEPTIONS else HOLDS if fails + open_ <= EXCEPTIONS and holds else UNDECIDED
        rule = f"at most {EXCEPTIONS} setup lost, counting undecided setups as possible losses"
    else:
        verdict = FAILS if fails else HOLDS if holds and holds == len(scope) else UNDECIDED
        rule = "every unit in scope holds; fails when one fails"
    names = lambda rows: ", ".join(" ".join(filter(None, (r.arch, r.dataset, r.split)))  # noqa: E731
                                   for r in rows.itertuples())  # fmt: skip
    numbers = f"holds {holds}, fails {fails}, undecided {open_} of {len(scope)}"
    numbers += "".join(f"; {v}: {names(scope[scope['verdict'] == v])}" for v in (FAILS, UNDECIDED) if count.get(v))
    outside = units[units["reason"].isin(OUT_OF_SCOPE)]
    for why, part in outside.groupby("reason", sort=False):
        numbers += f"; outside the claim's scope ({why}): {names(part)}"
    reasons = scope.loc[scope["verdict"] == UNDECIDED, "reason"].value_counts()
    reason = "" if verdict != UNDECIDED else ", ".join(f"{r} ({c})" for r, c in reasons.items())
    if scope.empty:
        reason = "outside the claim's scope on every unit: " + ", ".join(outside["reason"].unique())
    n = [x for ns in units["_n"] for x in ns]
    return {
        **{k: "" for k in COLUMNS},
        "claim": claim,
        "title": CLAIMS[claim][0],
        "protocol": protocol,
        "level": level,
        "arch": arch,
        "criterion": rule,
        "numbers": numbers,
        "seeds": f"{PAPER_SEEDS} seeds per cell (the paper)" if protocol == PUBLISHED else seeds_text(n),
        "verdict": verdict,
        "reason": reason,
    }


def _summarise_units(units: pd.DataFrame) -> list[dict]:
    """Per (claim, protocol): a row per architecture (when there are several) and one over all units."""
    rows = []
    for _, part in units.groupby(["claim", "protocol"], sort=False):
        archs = [a for a in part["arch"].unique() if a]
        if len(archs) > 1:
            rows += [_aggregate_units(part[part["arch"] == a], "arch", a) for a in archs]
        rows.append(_aggregate_units(part, "all", ""))
    return rows


def evaluate(
    runs: pd.DataFrame,
    epochs: pd.DataFrame,
    bounds: pd.DataFrame,
    thresholds: Thresholds | None = None,
    paper: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Decide every claim on every protocol of `runs`, on the paper's cells and on the datasets (method §8).

    Arguments:
        runs: the final records of a study's runs tables, with a `protocol` column.
        epochs: `epochs_to_region` of the same runs' histories at the same thresholds.
        bounds: the study's bounds.parquet.
        thresholds: the claims' thresholds (default: `Thresholds()`, config key `claims:`).
        paper: the paper's cells (default: the shipped ones, `paper_tables()`).

    Returns:
        The claims table (claims.parquet): per claim and protocol a row over all units, a row per architecture where
        there are several, and a row per unit, each with its criterion, numbers, seeds, verdict (`holds`, `fails`,
        `undecided`) and reason.
    """
    t = thresholds or Thresholds()
    paper = paper_tables() if paper is None else paper
    units: list[dict] = []
    ours = run_cells(runs)
    sources = [(PUBLISHED, paper_cells(paper, runs), None)]
    sources += [(p, ours[ours["protocol"] == p], epochs[epochs["protocol"] == p]) for p in runs["protocol"].unique()]
    special = []
    for protocol, cells, seeds in sources:
        if cells.empty:
            continue
        if protocol == PUBLISHED:
            special += [mark_not_published(1, t), mark_not_published(8, t)]
        else:
            units += decide_convergence(seeds, protocol, t)
        units += decide_vanilla_reaches(cells, seeds, protocol, t)
        units += decide_variant_contrast(3, "gap", cells, protocol, t)
        units += decide_variant_contrast(4, "test", cells, protocol, t)
        units += decide_bound_position(cells, protocol, t)
        units += decide_more_data(cells, protocol, t)
        units += decide_canonical_more(cells, protocol, t)
    units += decide_decision_support(bounds, t)
    frame = pd.DataFrame(units, columns=[*COLUMNS, "_n"])
    rows = [*_summarise_units(frame), *special, *frame.to_dict("records")] if units else special
    table = pd.DataFrame(rows, columns=[*COLUMNS, "_n"])[COLUMNS]
    order = {p: i for i, p in enumerate([PUBLISHED, *runs["protocol"].unique(), DATA])}
    table = table.assign(_p=table["protocol"].map(order), _l=table["level"].map(LEVELS.index))
    table = table.sort_values(["claim", "_p", "_l"], kind="stable").drop(columns=["_p", "_l"])
    return table.reset_index(drop=True)
