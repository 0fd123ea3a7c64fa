"""The labels of the Snakemake report's results, in the order of their numbers.

The report lists results sorted by their labels' text (JavaScript's `localeCompare`), so d200_N10000 came before
d200_N5000 and d200 before d30. Each number is padded on the left with figure spaces to the widest number among the
names: a figure space is as wide as a digit, so the numbers line up, and the collation sorts white space before every
digit, so the text order is the numbers' order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

FIGURE_SPACE = "\u2007"
NUMBER = re.compile(r"\d+")


def by_number(names: Iterable[str]) -> dict[str, str]:
    """Each name's label: its numbers padded with figure spaces to the widest number among `names`."""
    names = list(names)
    width = max((len(run) for name in names for run in NUMBER.findall(name)), default=0)
    return {name: NUMBER.sub(lambda number: number[0].rjust(width, FIGURE_SPACE), name) for name in names}


def dataset_labels(names: Iterable[str], **labels: str) -> Callable[[dict], dict[str, str]]:
    """A rule's report labels as Snakemake takes them, a function of the job's wildcards: `dataset` numbered by
    `by_number` among `names`, then `labels` (Snakemake fills in their wildcards)."""
    padded = by_number(names)

    def of_job(wildcards) -> dict[str, str]:
        return {"dataset": padded[wildcards.dataset], **labels}

    return of_job
