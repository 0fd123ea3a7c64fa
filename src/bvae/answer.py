"""The reference run's answer, computed from its archive: README's "The answer" and docs/reference-results.md.

`bvae answer ARCHIVE` reads the archived trainings (no training, no workflow), makes the datasets again from their
recorded definitions for the bounds and the decision support, and compares, counts and decides with the functions
the workflow's rules use (`bvae.comparison`, `bvae.calibration`, `bvae.claims`), so that every number the front page
gives is printed by one command and checked against it by a test.
"""

from __future__ import annotations

import contextlib
import os
import sys

import pandas as pd

from bvae.architectures import ARCHITECTURES
from bvae.archive import archived_datasets, read_archive
from bvae.calibration import paper_collapse, reference_models, summarise_runs
from bvae.claims import DATA, Thresholds, epochs_to_region, evaluate
from bvae.comparison import paper_tables
from bvae.decision import bound_tables

PAPER_SIZES = sorted(set(paper_tables()["N"]))  # the paper's N: 100, 5000, 10000
MARK_BEGIN, MARK_END = "<!-- answer:begin -->", "<!-- answer:end -->"


def answer_parts(archive: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """The calibration summary's tables (`summarise_runs`) and the claims, of every archived training."""
    runs, histories = read_archive(archive)
    datasets = archived_datasets(runs)
    with contextlib.redirect_stdout(sys.stderr):  # bound_tables reports each dataset: progress, not the answer
        bounds, _ = bound_tables(datasets, int(runs["latent_dim"].iloc[0]))
    parts = summarise_runs(runs, histories, bounds, reference_models(datasets), source=archive)
    epochs = epochs_to_region(histories, bounds, Thresholds())
    return {**parts, "claims": evaluate(runs, epochs, bounds, Thresholds())}


def range_agreement(comparison: pd.DataFrame) -> pd.DataFrame:
    """[min; max] cells agreeing / compared per protocol, architecture and N."""
    ranges = comparison[comparison["stat"] == "range"]
    return ranges.groupby(["protocol", "arch", "N"], sort=False)["agree"].agg(agreeing="sum", compared="size")


def lost_units(runs: pd.DataFrame) -> pd.DataFrame:
    """Deep vanilla cells at N >= 5000: seeds that lost a latent unit (fewer active units than κ at the end) per
    protocol, beside what the paper's ranges imply (`paper_collapse`)."""
    deep = runs[(runs["arch"] == "deep") & (runs["variant"] == "vanilla") & (runs["N"] >= 5000)]
    lost = deep.assign(lost=deep["active_units"] < deep["latent_dim"]).groupby(["protocol", "d", "N"], sort=False)
    cells = lost["lost"].agg(lost="sum", seeds="size").reset_index()
    return cells.merge(paper_collapse()[["d", "N", "collapsed"]], on=["d", "N"]).rename(columns={"collapsed": "paper"})


def claim_verdicts(claims: pd.DataFrame, protocol: str, arch: str) -> dict[str, list[int]]:
    """verdict -> the claims 1-6 with that verdict for one protocol and architecture (the row over all units when
    the protocol trains that architecture alone)."""
    rows = claims[(claims["protocol"] == protocol) & (claims["claim"] <= 6)]
    per_arch = rows[(rows["level"] == "arch") & (rows["arch"] == arch)]
    alone = rows[rows["level"] == "all"] if rows[rows["level"] == "arch"].empty else per_arch.iloc[:0]
    found: dict[str, list[int]] = {}
    for _, row in pd.concat([per_arch, alone]).iterrows():
        found.setdefault(row["verdict"], []).append(int(row["claim"]))
    return found


def verdict_text(verdicts: dict[str, list[int]]) -> str:
    return "; ".join(f"{verdict} {', '.join(map(str, claims))}" for verdict, claims in sorted(verdicts.items()))


def readme_block(parts: dict[str, pd.DataFrame], archive: str | os.PathLike) -> str:
    """At most eight lines for README: ranges agreeing per architecture and N, claims per architecture, lost latent
    units against the paper's ranges."""
    runs, claims = parts["runs"], parts["claims"]
    hours = (runs["wall_seconds"] / runs["stack_size"]).sum() / 3600
    protocols = list(runs["protocol"].unique())
    agreement = range_agreement(parts["comparison"])
    lines = [f"From `bvae answer {archive}`: {len(runs)} trainings of {', '.join(f'`{p}`' for p in protocols)}, "
             f"{hours:.1f} core-hours, seeds per cell {seed_counts(runs)}.",
             "", "| protocol | [min; max] cells agreeing with the paper's (N = 100, 5000, 10000) | "
             "claims 1–6, deep | claims 1–6, canonical |", "|---|---|---|---|"]  # fmt: skip
    for protocol in protocols:
        mine = agreement.loc[protocol]
        total = f"**{int(mine['agreeing'].sum())} of {int(mine['compared'].sum())}**"
        trained = mine.index.unique("arch")
        counts = "; ".join(f"{arch} {per_size(mine.loc[arch])}" for arch in ARCHITECTURES if arch in trained)
        verdicts = [verdict_text(claim_verdicts(claims, protocol, arch)) if arch in trained else "not trained"
                    for arch in ARCHITECTURES]  # fmt: skip
        lines.append(f"| `{protocol}` | {total}: {counts} | {' | '.join(verdicts)} |")
    lines += ["", f"Claim 7 (canonical favours preinit more): {overall(claims, 7, protocols)}; claim 8 (decision "
              f"support): {overall(claims, 8, [DATA])}. Deep vanilla seeds that lost a latent unit, N ≥ 5000: "
              f"{lost_text(lost_units(runs))}."]  # fmt: skip
    return "\n".join(lines)


def per_size(counts: pd.DataFrame) -> str:
    """Agreeing/compared at N = 100, 5000 and 10000 (– where none was compared)."""
    cells = counts.reindex(PAPER_SIZES)
    return ", ".join("–" if pd.isna(r.compared) else f"{int(r.agreeing)}/{int(r.compared)}" for r in cells.itertuples())


def seed_counts(runs: pd.DataFrame) -> str:
    counts = runs.groupby(["protocol", "arch", "dataset", "variant"])["seed"].size()
    return f"{counts.min()}–{counts.max()}" if counts.min() != counts.max() else str(counts.min())


def overall(claims: pd.DataFrame, claim: int, protocols: list[str]) -> str:
    rows = claims[(claims["claim"] == claim) & (claims["level"] == "all") & claims["protocol"].isin(protocols)]
    return ", ".join(f"{row.verdict} (`{row.protocol}`)" for row in rows.itertuples()) or "–"


def lost_text(cells: pd.DataFrame) -> str:
    """d200_N5000 1/5 `calibrated`, 0/5 `glorot` (paper: none); ..."""
    parts = []
    for (d, n, paper), group in cells.groupby(["d", "N", "paper"], sort=False):
        counts = ", ".join(f"{int(r.lost)}/{int(r.seeds)} `{r.protocol}`" for r in group.itertuples())
        parts.append(f"d{d}_N{n} {counts} (paper: {paper})")
    return "; ".join(parts)


def with_block(readme: str, block: str) -> str:
    """README's text with the answer block between its markers replaced by `block`."""
    head, rest = readme.split(MARK_BEGIN, 1)
    return f"{head}{MARK_BEGIN}\n{block}\n{MARK_END}{rest.split(MARK_END, 1)[1]}"
