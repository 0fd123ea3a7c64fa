"""What a study found, in a few lines for the report's landing page (workflow/report/workflow.rst).

Per protocol: how many of the paper's published cells its cells agree with (the comparison) and its verdicts over
the paper's claims, beside the verdicts on the paper's own cells, with the caveat of `bvae.report.claims` for settings
that decide nothing about the paper. Read from the study's finished tables; reStructuredText, whose `Claims`_ and
`Comparison`_ links Snakemake's report resolves to its categories.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bvae.io import read_parquet
from bvae.report.claims import DATA, FAILS, HOLDS, PUBLISHED, UNDECIDED, describe_caveat, describe_reduction
from bvae.report.comparison import summary


def _verdict_counts(claims: pd.DataFrame, protocol: str) -> str:
    """The verdicts ("holds 2, fails 3, undecided 3") over all units of one protocol's claims."""
    rows = claims[(claims["protocol"] == protocol) & (claims["level"] == "all")]["verdict"].value_counts()
    return ", ".join(f"{v} {int(rows.get(v, 0))}" for v in (HOLDS, FAILS, UNDECIDED))


def findings(root: str | Path, protocols: list[str]) -> str:
    """The landing page's lines, or "" while a table they read is missing (the study has not finished)."""
    tables = Path(root) / "tables"
    paths = [
        tables / "comparison.parquet",
        tables / "claims.parquet",
        *(tables / p / "runs.parquet" for p in protocols),
    ]
    if not all(path.exists() for path in paths):
        return ""
    comparison, claims, *runs = (read_parquet(path) for path in paths)
    agree = summary(comparison).set_index("protocol") if len(comparison) else pd.DataFrame()
    lines = []
    for protocol, part in zip(protocols, runs, strict=True):
        cells = (f"{agree.loc[protocol, 'agreeing']} of {agree.loc[protocol, 'compared']} published cells agree"
                 if protocol in agree.index else "no published cell compared")  # fmt: skip
        line = f"- Protocol ``{protocol}``: {cells} (Comparison_); the claims: {_verdict_counts(claims, protocol)}."
        if what := describe_reduction(part):
            line += f" **{describe_caveat(what)}**"
        lines.append(line)
    if (claims["protocol"] == PUBLISHED).any():
        lines.append(f"- The paper's own cells (``{PUBLISHED}``), the claims: {_verdict_counts(claims, PUBLISHED)}.")
    if (claims["protocol"] == DATA).any():
        lines.append(f"- The decision support on the simulated data (claim 8): {_verdict_counts(claims, DATA)}.")
    closing = "Each claim with its criterion, numbers and the reason of every undecided verdict: Claims_."
    return "\n".join(["What this study found", "---------------------", "", *lines, "", closing])
