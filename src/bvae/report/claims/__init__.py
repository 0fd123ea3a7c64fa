"""Does the paper hold? Its eight claims (the paper's §3-5) as checks, decided on our runs and on its cells.

How each claim is decided, the noise rule and why each threshold: method §8 and docs/claims.md. The modules, in
the order the data flows: `cells` (the numbers: cells, thresholds, epochs to the bound region), `criteria` (each
claim's criterion, a row per unit), `verdicts` (every claim over its units: `evaluate`) and `rendering` (the
Markdown report: `claims_markdown`).
"""

from bvae.report.claims.cells import DATA, PUBLISHED, SPLITS, Thresholds, epochs_to_region, restrict_epochs
from bvae.report.claims.criteria import (
    CLAIMS,
    FAILS,
    HOLDS,
    NOT_PUBLISHED,
    NOT_REACHED,
    ONE_ARCH,
    ONE_N,
    TOO_FEW,
    UNDECIDED,
)
from bvae.report.claims.rendering import claims_markdown, describe_caveat, describe_reduction
from bvae.report.claims.verdicts import evaluate

__all__ = [
    "CLAIMS",
    "DATA",
    "FAILS",
    "HOLDS",
    "NOT_PUBLISHED",
    "NOT_REACHED",
    "ONE_ARCH",
    "ONE_N",
    "PUBLISHED",
    "SPLITS",
    "TOO_FEW",
    "UNDECIDED",
    "Thresholds",
    "claims_markdown",
    "describe_caveat",
    "describe_reduction",
    "epochs_to_region",
    "evaluate",
    "restrict_epochs",
]
