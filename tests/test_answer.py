"""README's answer is what `bvae answer reference` prints from the committed archive."""

import pytest

from bvae.report.answer import CLAIM_NAMES, MARK_BEGIN, MARK_END, answer_parts, readme_block, with_block
from bvae.report.claims.criteria import CLAIMS
from bvae.report.fidelity import AGREEING, COLLAPSED_KL
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def parts():
    return answer_parts(ROOT / "reference")


def test_the_readme_gives_the_answer_that_the_archive_gives(parts):
    readme = (ROOT / "README.md").read_text()
    shown = readme.split(MARK_BEGIN, 1)[1].split(MARK_END, 1)[0].strip()
    stale = "README's answer is stale: run bvae answer reference --readme README.md"
    assert shown == readme_block(parts, "reference"), stale
    assert len(shown.splitlines()) <= 10 and max(map(len, shown.splitlines())) <= 120


def test_the_answer_names_every_claim_and_defines_agreeing(parts):
    block = readme_block(parts, "reference")
    assert list(CLAIM_NAMES) == list(CLAIMS)
    assert all(f"{n} {name} " in " ".join(block.split()) for n, name in CLAIM_NAMES.items())
    assert AGREEING in " ".join(block.split())  # the definition the landing page and the comparison give


def test_the_answer_counts_every_archived_cell_the_paper_publishes(parts):
    """Each protocol's [min; max] cells: one per range table (1-4) of its architectures, dataset and variant."""
    ranges = parts["comparison"][parts["comparison"]["stat"] == "range"]
    runs = parts["runs"]
    for protocol, cells in ranges.groupby("protocol"):
        mine = runs[(runs["protocol"] == protocol) & ~runs["dataset"].str.contains("_r")]  # the first draws
        trained = mine[["arch", "dataset", "variant"]].drop_duplicates()
        assert len(cells) == 2 * len(trained)  # a training split's table and a test split's table per cell


def test_the_block_replaces_only_what_lies_between_its_markers():
    text = f"head\n{MARK_BEGIN}\nold\nlines\n{MARK_END}\ntail\n"
    assert with_block(text, "new") == f"head\n{MARK_BEGIN}\nnew\n{MARK_END}\ntail\n"


def test_the_collapsed_seeds_are_the_runs_whose_last_test_kl_is_below_the_threshold(parts):
    """Counted again from the histories alone: a deep run at N >= 5000 on a first draw collapsed when its last
    epoch's test KL is below COLLAPSED_KL (below it from some epoch to the end, as the collapse map draws it)."""
    histories = parts["histories"]
    last = histories.sort_values("epoch").groupby(["protocol", "dataset", "arch", "variant", "seed"]).last()
    last = last.reset_index().merge(parts["runs"][["protocol", "dataset", "d", "N"]].drop_duplicates())
    deep = last[(last["arch"] == "deep") & (last["N"] >= 5000) & ~last["dataset"].str.contains("_r")]
    keys = [deep[k] for k in ("protocol", "d", "N", "variant")]
    expected = (deep["test_kl"] < COLLAPSED_KL).groupby(keys).agg(["sum", "size"]).sort_index()
    cells = parts["collapse_pattern"].set_index(["protocol", "d", "N", "variant"]).sort_index()
    assert cells["collapsed_seeds"].tolist() == expected["sum"].tolist()
    assert cells["seeds"].tolist() == expected["size"].tolist()
