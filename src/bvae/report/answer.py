"""The reference run's answer, computed from its archive: README's "The answer" and docs/reference-results.md.

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

from bvae.model.architectures import ARCHITECTURES
from bvae.model.decision import bound_tables
from bvae.report.calibration import core_hours, paper_collapse, reference_models, summarise_runs
from bvae.report.claims import DATA, Thresholds, epochs_to_region, evaluate
from bvae.report.comparison import paper_tables
from bvae.study.archive import archived_datasets, read_archive

PAPER_SIZES = sorted(set(paper_tables()["N"]))  # the paper's N: 100, 5000, 10000
MARK_BEGIN, MARK_END = "<!-- answer:begin -->", "<!-- answer:end -->"
LINE = 120  # README's widest line


def answer_parts(archive: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """The calibration summary's tables (`summarise_runs`) and the claims, of every archived training."""
    runs, histories = read_archive(archive)
    datasets = archived_datasets(runs)
    with contextlib.redirect_stdout(sys.stderr):  # bound_tables reports each dataset: progress, not the answer
        bounds, _ = bound_tables(datasets, runs["latent_dim"].unique())  # each protocol's own latent size
    parts = summarise_runs(runs, histories, bounds, reference_models(datasets), source=archive)
    epochs = epochs_to_region(histories, runs, bounds, Thresholds())
    return {**parts, "claims": evaluate(runs, epochs, bounds, Thresholds())}


def _range_agreement(comparison: pd.DataFrame) -> pd.DataFrame:
    """[min; max] cells agreeing / compared per protocol, architecture and N."""
    ranges = comparison[comparison["stat"] == "range"]
    return ranges.groupby(["protocol", "arch", "N"], sort=False)["agree"].agg(agreeing="sum", compared="size")


def collapsed_seeds(deep_runs: pd.DataFrame) -> pd.DataFrame:
    """Deep vanilla cells at N >= 5000: seeds whose code collapsed (test KL below COLLAPSED_KL to the end, the collapse
    map's measure: such a run's loss sits at the column-means model's, which is what the paper's ranges above the
    bound imply) per protocol, beside what the paper's ranges imply (`paper_collapse`)."""
    vanilla = deep_runs[deep_runs["variant"] == "vanilla"]
    groups = vanilla.assign(collapsed=vanilla["collapse_epoch"].notna()).groupby(["protocol", "d", "N"], sort=False)
    cells = groups["collapsed"].agg(collapsed="sum", seeds="size").reset_index()
    paper = paper_collapse()[["d", "N", "collapsed"]].rename(columns={"collapsed": "paper"})
    return cells.merge(paper, on=["d", "N"])


def _claim_verdicts(claims: pd.DataFrame, protocol: str, arch: str) -> dict[str, list[int]]:
    """verdict -> the claims 1-6 with that verdict for one protocol and architecture (the row over all units when
    the protocol trains that architecture alone)."""
    rows = claims[(claims["protocol"] == protocol) & (claims["claim"] <= 6)]
    per_arch = rows[(rows["level"] == "arch") & (rows["arch"] == arch)]
    alone = rows[rows["level"] == "all"] if rows[rows["level"] == "arch"].empty else per_arch.iloc[:0]
    found: dict[str, list[int]] = {}
    for _, row in pd.concat([per_arch, alone]).iterrows():
        found.setdefault(row["verdict"], []).append(int(row["claim"]))
    return found


def _claim_list(claims: list[int]) -> str:
    """[1, 2, 3, 5] -> '1–3, 5'."""
    runs: list[list[int]] = []
    for claim in sorted(claims):
        if runs and claim == runs[-1][-1] + 1:
            runs[-1].append(claim)
        else:
            runs.append([claim])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def _verdict_text(verdicts: dict[str, list[int]]) -> str:
    return ", ".join(f"{verdict} {_claim_list(claims)}" for verdict, claims in sorted(verdicts.items()))


def readme_block(parts: dict[str, pd.DataFrame], archive: str | os.PathLike) -> str:
    """README's answer, at most eight lines of at most LINE characters: per protocol the [min; max] cells agreeing
    per architecture and N and the claims per architecture, then the deep vanilla seeds whose code collapsed
    beside what the paper's ranges imply."""
    runs, claims = parts["runs"], parts["claims"]
    hours = core_hours(runs).sum()
    protocols = list(runs["protocol"].unique())
    agreement = _range_agreement(parts["comparison"])
    items = [
        f"`bvae answer {archive}`: {len(runs)} trainings ({hours:.0f} core-hours, {_seed_counts(runs)} seeds a cell); "
        f"ranges agreeing at N = {', '.join(map(str, PAPER_SIZES))}:"
    ]
    for protocol in protocols:
        mine = agreement.loc[protocol]
        trained = [arch for arch in ARCHITECTURES if arch in mine.index.unique("arch")]
        counts = "; ".join(f"{arch} {per_size(mine.loc[arch])}" for arch in trained)
        verdicts = "; ".join(f"{arch} {_verdict_text(_claim_verdicts(claims, protocol, arch))}" for arch in trained)
        only = f" ({trained[0]} only)" if len(trained) == 1 else ""
        items.append(f"- `{protocol}`{only}: **{int(mine['agreeing'].sum())} of {int(mine['compared'].sum())}**: "
                     f"{counts}. Claims 1–6: {verdicts}; claim 7: {overall(claims, 7, [protocol])}.")  # fmt: skip
    items.append(f"- Claim 8 (decision support, on the data): {overall(claims, 8, [DATA])}. Collapsed deep vanilla "
                 f"seeds at N ≥ 5000 (per protocol as above; what the paper's ranges imply): "
                 f"{_collapsed_text(collapsed_seeds(parts['deep_runs']), protocols)}.")  # fmt: skip
    return "\n".join(wrap(item) for item in items)


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


def _collapsed_text(cells: pd.DataFrame, protocols: list[str]) -> str:
    """d200_N5000 1/5, 0/5 (none); ...: per dataset, each protocol's collapsed seeds (– where it has none
    archived), and what the paper's ranges imply."""
    parts = []
    for (d, n, paper), group in cells.groupby(["d", "N", "paper"], sort=False):
        found = group.set_index("protocol")
        counts = [f"{found.at[p, 'collapsed']}/{found.at[p, 'seeds']}" if p in found.index else "–" for p in protocols]
        parts.append(f"d{d}_N{n} {', '.join(counts)} ({paper})")
    return "; ".join(parts) or "no such cell archived yet"


def with_block(readme: str, block: str) -> str:
    """README's text with the answer block between its markers replaced by `block`."""
    head, rest = readme.split(MARK_BEGIN, 1)
    return f"{head}{MARK_BEGIN}\n{block}\n{MARK_END}{rest.split(MARK_END, 1)[1]}"
