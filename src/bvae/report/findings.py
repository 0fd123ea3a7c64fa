"""What a study found, in a few lines for the report's landing page (workflow/report/workflow.rst).

Per protocol: how many of the paper's published cells its cells agree with by each of the three criteria
(`bvae.report.fidelity`: ranges, means, the collapse pattern) and its verdicts over the paper's claims, beside the
verdicts on the paper's own cells, with the caveat of `bvae.report.claims` for settings that decide nothing about the
paper. Read from the study's finished tables; reStructuredText, whose `Claims`_ and `Comparison`_ links Snakemake's
report resolves to its categories.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bvae.io import read_parquet
from bvae.report.claims import DATA, FAILS, HOLDS, PUBLISHED, UNDECIDED, describe_caveat, describe_reduction
from bvae.report.fidelity import AGREEING, CRITERIA


def _verdict_counts(claims: pd.DataFrame, protocol: str) -> str:
    """The verdicts ("holds 2, fails 3, undecided 3") over all units of one protocol's claims."""
    rows = claims[(claims["protocol"] == protocol) & (claims["level"] == "all")]["verdict"].value_counts()
    return ", ".join(f"{v} {int(rows.get(v, 0))}" for v in (HOLDS, FAILS, UNDECIDED))


def _agreement(fidelity: pd.DataFrame, protocol: str) -> str:
    """ "ranges 58 of 72, means 53 of 72, collapse pattern 6 of 11 agree", or that nothing was compared."""
    mine = fidelity[fidelity["protocol"] == protocol].groupby("criterion")[["agreeing", "compared"]].sum()
    if mine.empty:
        return "no published cell compared"
    names = {"range": "ranges", "mean": "means", "collapse": "collapse pattern"}
    counts = mine.reindex(CRITERIA).dropna()
    return ", ".join(f"{names[c]} {int(r.agreeing)} of {int(r.compared)}" for c, r in counts.iterrows()) + " agree"


def findings(root: str | Path, protocols: list[str]) -> str:
    """The landing page's lines, or "" while a table they read is missing (the study has not finished)."""
    tables = Path(root) / "tables"
    paths = [
        tables / "fidelity.parquet",
        tables / "claims.parquet",
        *(tables / p / "runs.parquet" for p in protocols),
    ]
    if not all(path.exists() for path in paths):
        return ""
    fidelity, claims, *runs = (read_parquet(path) for path in paths)
    lines = [AGREEING, ""]
    for protocol, part in zip(protocols, runs, strict=True):
        line = f"- Protocol ``{protocol}``: {_agreement(fidelity, protocol)} (Comparison_); the claims: "
        line += f"{_verdict_counts(claims, protocol)}."
        if what := describe_reduction(part):
            line += f" **{describe_caveat(what)}**"
        lines.append(line)
    if (claims["protocol"] == PUBLISHED).any():
        lines.append(f"- The paper's own cells (``{PUBLISHED}``), the claims: {_verdict_counts(claims, PUBLISHED)}.")
    if (claims["protocol"] == DATA).any():
        lines.append(f"- The decision support on the simulated data (claim 8): {_verdict_counts(claims, DATA)}.")
    closing = "Each claim with its criterion, numbers and the reason of every undecided verdict: Claims_."
    return "\n".join(["What this study found", "---------------------", "", *lines, "", closing])
