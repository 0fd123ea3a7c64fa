"""The reference run's answer, computed from its archive: README's "The answer" and docs/results/reference-results.md.

`bvae answer ARCHIVE` reads the archived trainings (no training, no workflow), makes the datasets again from their
recorded definitions for the bounds and the decision support, and compares, counts and decides with the functions
the workflow's rules use (`bvae.report.comparison`, `bvae.report.calibration`, `bvae.report.claims`), so that every
number the front page gives is printed by one command and checked against it by a test.
"""

from __future__ import annotations

import contextlib
import os
import sys
import textwrap

import pandas as pd

from bvae.model.decision import bound_tables
from bvae.model.protocols import DEFAULT
from bvae.report.calibration import core_hours, reference_models, summarise_runs
from bvae.report.claims import DATA, Thresholds, epochs_to_region, evaluate
from bvae.report.comparison import paper_tables
from bvae.report.fidelity import AGREEING, CRITERIA
from bvae.study.archive import archived_datasets, read_archive

PAPER_SIZES = sorted(set(paper_tables()["N"]))  # the paper's N: 100, 5000, 10000
MARK_BEGIN, MARK_END = "<!-- answer:begin -->", "<!-- answer:end -->"
LINE = 120  # README's widest line
VERDICT_MARKS = {"holds": "✓", "fails": "✗", "undecided": "?"}
RESULTS = "docs/results"  # the pages and figures that commands write, apart from the hand-written docs
PUBLISHED = "published"  # the claims report's protocol for the paper's own tables
CLAIM_NAMES = {  # each claim in a few words (its title and statement: bvae.report.claims.criteria.CLAIMS)
    1: "preinit converges faster", 2: "vanilla gets there too", 3: "less over-fitting", 4: "preinit wins on test",
    5: "training at the bound, test above", 6: "tighter with more data", 7: "canonical favours preinit more",
    8: "eigenvalues pick κ",
}  # fmt: skip


def answer_parts(archive: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """The calibration summary's tables (`summarise_runs`) and the claims, of every archived training."""
    runs, histories = read_archive(archive)
    datasets = archived_datasets(runs)
    with contextlib.redirect_stdout(sys.stderr):  # bound_tables reports each dataset: progress, not the answer
        bounds, _ = bound_tables(datasets, runs["latent_dim"].unique())  # each protocol's own latent size
    parts = summarise_runs(runs, histories, bounds, reference_models(datasets), source=archive)
    epochs = epochs_to_region(histories, runs, bounds, Thresholds())
    return {**parts, "claims": evaluate(runs, epochs, bounds, Thresholds())}


def readme_block(parts: dict[str, pd.DataFrame], archive: str | os.PathLike) -> str:
    """README's answer, at most ten lines of at most LINE characters: what agreeing means, then per protocol the cells
    agreeing under each criterion (`fidelity.parquet`'s counts) and its claims' verdicts, then each claim named with
    the verdict of the paper's own tables (`CLAIM_NAMES`; a test holds them to `CLAIMS`' numbers)."""
    runs, claims, fidelity = parts["runs"], parts["claims"], parts["fidelity"]
    totals = fidelity.groupby(["protocol", "criterion"], sort=False)[
        ["agreeing", "compared", "explained_by_draw"]
    ].sum()
    intro = (
        f"`bvae answer {archive}`: {len(runs)} trainings ({core_hours(runs).sum():.0f} core-hours, "
        f"{_seed_counts(runs)} seeds a cell). {AGREEING} (+k): k more within 2 sd of the data draws' spread."
    )
    items = [intro, *(_protocol_line(p, totals.loc[p], runs, claims) for p in runs["protocol"].unique())]
    named = ", ".join(f"{n} {name} {_mark(claims, n, PUBLISHED)}" for n, name in CLAIM_NAMES.items())
    data = VERDICT_MARKS[overall(claims, 8, [DATA])]
    links = f"[Cells]({RESULTS}/reference-results.md), [figure]({RESULTS}/reference-comparison.png)"
    items.append(f"- Claims, on the paper's own tables: {named} (on our data {data}); ✓ holds, ✗ fails, ? undecided. "
                 f"{links}.")  # fmt: skip
    return "\n".join(wrap(item) for item in items)


def _protocol_line(protocol: str, totals: pd.DataFrame, runs: pd.DataFrame, claims: pd.DataFrame) -> str:
    """- `name` (the default): range a/b, mean a/b (+c), collapse a/b; claims 1–7 ✗✗?…"""
    archs = runs.loc[runs["protocol"] == protocol, "arch"].unique()
    default = " (the default)" if protocol == DEFAULT else f" ({archs[0]} only)" if len(archs) == 1 else ""
    counts = ", ".join(
        f"{criterion} **{int(r.agreeing)}/{int(r.compared)}**"
        + (f" (+{int(r.explained_by_draw)})" if r.explained_by_draw else "")
        for criterion, r in totals.reindex(CRITERIA).dropna().iterrows()
    )
    verdicts = "".join(_mark(claims, n, protocol) for n in CLAIM_NAMES if n != 8)
    return f"- `{protocol}`{default}: {counts}; claims 1–7 {verdicts}"


def _mark(claims: pd.DataFrame, claim: int, protocol: str) -> str:
    """The verdict over all units of one claim and protocol as ✓, ✗ or ? (– where the claims report has none)."""
    verdict = overall(claims, claim, [protocol])
    return VERDICT_MARKS.get(verdict, "–")


def wrap(item: str) -> str:
    """A paragraph or a bullet in lines of at most LINE characters, never broken inside a name."""
    indent = "  " if item.startswith("- ") else ""
    return textwrap.fill(item, LINE, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)


def per_size(counts: pd.DataFrame) -> str:
    """Agreeing/compared at N = 100, 5000 and 10000 (– where none was compared)."""
    cells = counts.reindex(PAPER_SIZES)
    return ", ".join("–" if pd.isna(r.compared) else f"{int(r.agreeing)}/{int(r.compared)}" for r in cells.itertuples())


def _seed_counts(runs: pd.DataFrame) -> str:
    counts = runs.groupby(["protocol", "arch", "dataset", "variant"])["seed"].size()
    return f"{counts.min()}–{counts.max()}" if counts.min() != counts.max() else str(counts.min())


def overall(claims: pd.DataFrame, claim: int, protocols: list[str]) -> str:
    rows = claims[(claims["claim"] == claim) & (claims["level"] == "all") & claims["protocol"].isin(protocols)]
    return ", ".join(rows["verdict"]) or "–"


def with_block(readme: str, block: str) -> str:
    """README's text with the answer block between its markers replaced by `block`."""
    head, rest = readme.split(MARK_BEGIN, 1)
    return f"{head}{MARK_BEGIN}\n{block}\n{MARK_END}{rest.split(MARK_END, 1)[1]}"
