"""README's answer is what `bvae answer reference` prints from the committed archive."""

import pytest

from bvae.report.answer import MARK_BEGIN, MARK_END, answer_parts, readme_block, with_block
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def parts():
    return answer_parts(ROOT / "reference")


def test_the_readme_gives_the_answer_that_the_archive_gives(parts):
    readme = (ROOT / "README.md").read_text()
    shown = readme.split(MARK_BEGIN, 1)[1].split(MARK_END, 1)[0].strip()
    stale = "README's answer is stale: run bvae answer reference --readme README.md"
    assert shown == readme_block(parts, "reference"), stale
    assert len(shown.splitlines()) <= 8 and max(map(len, shown.splitlines())) <= 120


def test_the_answer_counts_every_archived_cell_the_paper_publishes(parts):
    """Each protocol's [min; max] cells: one per range table (1-4) of its architectures, dataset and variant."""
    ranges = parts["comparison"][parts["comparison"]["stat"] == "range"]
    runs = parts["runs"]
    for protocol, cells in ranges.groupby("protocol"):
        trained = runs[runs["protocol"] == protocol][["arch", "dataset", "variant"]].drop_duplicates()
        assert len(cells) == 2 * len(trained)  # a training split's table and a test split's table per cell


def test_the_block_replaces_only_what_lies_between_its_markers():
    text = f"head\n{MARK_BEGIN}\nold\nlines\n{MARK_END}\ntail\n"
    assert with_block(text, "new") == f"head\n{MARK_BEGIN}\nnew\n{MARK_END}\ntail\n"
