"""The three criteria side by side: the collapse pattern read from measured levels, and the counts per criterion."""

import numpy as np
import pandas as pd
import pytest

from bvae.report.comparison import compare
from bvae.report.fidelity import COLLAPSE_MARGIN, collapse_pattern, fidelity_document, fidelity_table, paper_collapse
from tests.test_comparison import PAPER, runs

LEVEL = 0.10  # our collapsed seeds' training pct on d200_N5000
NO_DRAWS = {"drawn": 0, "explained_by_draw": 0}


def published(ranges):
    """The paper's deep training ranges at N = 5000, {d: (vanilla range, preinit range)}."""
    return pd.DataFrame(
        [("table2_deep_train_range", "deep", "train", "range", d, 5000, 138.0, *pre, *van)
         for d, (van, pre) in ranges.items()],
        columns=PAPER.columns,
    )  # fmt: skip


def deep(collapsed_per_variant, d=200, protocol="p"):
    """Deep runs at N = 5000: per variant, one flag per seed (collapsed or not); collapsed seeds sit at LEVEL (the
    lowest one), the others below the bound."""
    rows = [
        {"protocol": protocol, "dataset": f"d{d}_N5000", "d": d, "N": 5000, "arch": "deep", "variant": variant,
         "seed": seed, "collapse_epoch": 40.0 if flag else np.nan, "pct_train": LEVEL + 0.001 * seed if flag else -0.1}
        for variant, flags in collapsed_per_variant.items()
        for seed, flag in enumerate(flags)
    ]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("vanilla", "implied"),
    [
        ((-0.2, -0.05), "none"),  # below the level less the margin
        ((-0.2, LEVEL - COLLAPSE_MARGIN), "some"),  # reaches it
        ((LEVEL - COLLAPSE_MARGIN, 0.3), "all"),  # wholly at or above it
    ],
)
def test_a_published_range_is_read_against_the_collapsed_level_measured_on_our_seeds(vanilla, implied):
    paper = published({200: (vanilla, (-0.3, -0.2))})
    read = paper_collapse(deep({"vanilla": [True, False], "preinit": [False, False]}), paper).set_index("variant")
    assert read.loc["vanilla", "level"] == LEVEL and read.loc["vanilla", "collapsed"] == implied
    assert read.loc["preinit", "collapsed"] == "none"  # the level is the dataset's, whatever the variant


def test_a_dataset_without_a_collapsed_seed_has_no_level():
    paper = published({200: ((-0.2, 0.5), (-0.3, -0.2))})
    assert set(paper_collapse(deep({"vanilla": [False, False]}), paper)["collapsed"]) == {"unmeasured"}


def test_the_pattern_agrees_where_the_range_decides_and_ours_follow_it():
    paper = published({200: ((-0.2, -0.05), (LEVEL, 0.3))})  # vanilla: none; preinit: all
    runs = pd.concat([
        deep({"vanilla": [False, False, False], "preinit": [True, True, True]}, protocol="follows"),
        deep({"vanilla": [True, False, False], "preinit": [True, True, False]}, protocol="strays"),
    ])  # fmt: skip
    pattern = collapse_pattern(runs, paper).set_index(["protocol", "variant"])
    assert pattern["agree"].to_dict() == {
        ("follows", "preinit"): True, ("follows", "vanilla"): True,
        ("strays", "preinit"): False, ("strays", "vanilla"): False,
    }  # fmt: skip
    assert pattern.loc[("strays", "vanilla"), "collapsed_seeds"] == 1
    some = collapse_pattern(runs, published({200: ((-0.2, LEVEL), (LEVEL, 0.3))}))
    assert some[some["variant"] == "vanilla"]["agree"].isna().all()  # "some" decides nothing


def test_the_fidelity_table_counts_each_criterion_per_architecture_and_n():
    comparison = compare(runs([1.9, 2.5], [5.4, 5.6]), PAPER)  # range: preinit yes, vanilla yes; means: no, yes
    pattern = collapse_pattern(
        deep({"vanilla": [True, False], "preinit": [False, False]}),
        published({200: ((-0.2, -0.05), (-0.3, -0.2))}),
    )
    table = fidelity_table(comparison, pattern)
    assert table.to_dict("records") == [
        {"protocol": "p", "criterion": "range", "arch": "deep", "N": 100, "agreeing": 2, "compared": 2, **NO_DRAWS},
        {"protocol": "p", "criterion": "mean", "arch": "deep", "N": 100, "agreeing": 1, "compared": 2, **NO_DRAWS},
        {"protocol": "p", "criterion": "collapse", "arch": "deep", "N": 5000, "agreeing": 1, "compared": 2, **NO_DRAWS},
    ]


def test_the_fidelity_table_counts_the_disagreements_that_the_data_draw_explains():
    """Preinit's mean 3.0 misses 1.5 ± 0.1 but lies within 2 draw sd (1.0) of it; vanilla agrees on every draw."""
    draws = [runs([m, m], [5.5, 5.5], dataset=name) for m, name in ((3.0, "d200_N100"), (2.0, "d200_N100_r1"),
                                                                   (4.0, "d200_N100_r2"))]  # fmt: skip
    table = fidelity_table(compare(pd.concat(draws), PAPER), collapse_pattern(deep({"vanilla": [False]})))
    means = table[table["criterion"] == "mean"].iloc[0]
    assert (means["agreeing"], means["drawn"], means["explained_by_draw"]) == (1, 2, 1)


def test_a_study_of_other_datasets_than_the_papers_has_an_empty_fidelity_table():
    """The tiny and quick studies' own sizes: nothing published to compare, and no deep cell at N ≥ 5000."""
    comparison = compare(runs([1.0], [5.0], dataset="d30_N100").assign(d=30))
    table = fidelity_table(comparison, collapse_pattern(deep({"vanilla": [False]}), published({})))
    assert comparison.empty and table.empty
    assert fidelity_document(table, collapse_pattern(deep({"vanilla": [False]}), published({}))) == []
    assert list(table.columns) == ["protocol", "criterion", "arch", "N", "agreeing", "compared", "drawn",
                                   "explained_by_draw"]  # fmt: skip
