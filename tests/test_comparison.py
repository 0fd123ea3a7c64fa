"""The comparison with the paper's cells: agreement rules, draw spread, skipping datasets the paper lacks."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from bvae.plots.comparison import comparison_figure
from bvae.report.comparison import PAPER_CSV, at_epoch, compare, comparison_document, paper_tables, summary
from bvae.report.document import to_html, to_markdown
from tests.conftest import ROOT, markdown_tables
from tests.test_document import html_rows


def markdown(table, datasets):
    return to_markdown(comparison_document(table, datasets))


PAPER = pd.DataFrame(
    [
        # table, arch, split, stat, d, N, bound, preinit_a, preinit_b, vae_a, vae_b
        ("table1_deep_test_range", "deep", "test", "range", 200, 100, 139.0, 1.0, 2.0, 5.0, 6.0),
        ("table7_deep_test_meanstd", "deep", "test", "meanstd", 200, 100, 139.0, 1.5, 0.1, 5.5, 0.3),
    ],
    columns=["table", "arch", "split", "stat", "d", "N", "bound", "preinit_a", "preinit_b", "vae_a", "vae_b"],
)


def runs(pct_preinit, pct_vanilla, dataset="d200_N100", protocol="p"):
    rows = [
        {
            "protocol": protocol,
            "dataset": dataset,
            "d": 200,
            "N": 100,
            "arch": "deep",
            "variant": v,
            "seed": s,
            "pct_test": pct,
            "pct_train": 0.0,
            "bound_test": 139.5,
            "bound_train": 135.0,
        }  # fmt: skip
        for v, values in (("preinit", pct_preinit), ("vanilla", pct_vanilla))
        for s, pct in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_ranges_overlap_and_means_lie_within_two_published_sd():
    table = compare(runs([1.9, 2.5], [6.5, 7.0]), PAPER).set_index(["table", "variant"])
    assert table.loc[("table1_deep_test_range", "preinit"), "agree"]  # [1.9, 2.5] overlaps [1, 2]
    assert not table.loc[("table1_deep_test_range", "vanilla"), "agree"]  # [6.5, 7] misses [5, 6]
    # preinit mean 2.2 vs 1.5 ± 0.1: |0.7| > 2 (0.1 + 0.005) + 0.005; vanilla 6.75 vs 5.5 ± 0.3: 1.25 > 0.615
    assert not table.loc[("table7_deep_test_meanstd", "preinit"), "agree"]
    assert not table.loc[("table7_deep_test_meanstd", "vanilla"), "agree"]
    assert table.loc[("table7_deep_test_meanstd", "preinit"), "diff"] == pytest.approx(0.7)
    assert table.loc[("table1_deep_test_range", "vanilla"), "diff"] == pytest.approx((6.5 + 7.0) / 2 - 5.5)
    assert list(table["criterion"]) == ["range", "range", "mean", "mean"]
    wide = compare(runs([0.0, 3.0], [5.4, 5.6]), PAPER).set_index(["table", "variant"])
    assert wide.loc[("table7_deep_test_meanstd", "preinit"), "agree"]  # |1.5 - 1.5| = 0
    assert wide.loc[("table7_deep_test_meanstd", "vanilla"), "agree"]  # |5.5 - 5.5| = 0
    assert summary(wide).to_dict("records") == [
        {"protocol": "p", "criterion": "range", "agreeing": 2, "compared": 2},
        {"protocol": "p", "criterion": "mean", "agreeing": 2, "compared": 2},
    ]
    assert (wide["n"] == 2).all() and (wide["bound"] == 139.5).all() and (wide["paper_bound"] == 139.0).all()


@pytest.mark.parametrize(("shift", "agrees"), [(0.2149, True), (0.2151, False), (-0.2149, True), (-0.2151, False)])
def test_a_mean_agrees_up_to_two_published_sd_widened_by_the_printed_rounding(shift, agrees):
    """1.5 ± 0.1 printed: its sd may be up to 0.105 and its mean 0.005 off, so 2 × 0.105 + 0.005 = 0.215."""
    table = compare(runs([1.5 + shift - 0.01, 1.5 + shift + 0.01], [5.5, 5.5]), PAPER).set_index(["table", "variant"])
    assert table.loc[("table7_deep_test_meanstd", "preinit"), "agree"] == agrees


def test_the_welch_test_assumes_the_papers_hundred_seeds():
    stats = pytest.importorskip("scipy.stats")
    table = compare(runs([1.6, 1.9, 1.7], [5.5, 5.6, 5.2]), PAPER).set_index(["table", "variant"])
    for variant, (mean, std) in {"preinit": (1.5, 0.1), "vanilla": (5.5, 0.3)}.items():
        ours = table.loc[("table7_deep_test_meanstd", variant)]
        expected = stats.ttest_ind_from_stats(ours["mean"], ours["std"], 3, mean, std, 100, equal_var=False).pvalue
        assert ours["welch_p"] == pytest.approx(expected, rel=1e-9)
    assert np.isnan(table.loc[("table1_deep_test_range", "preinit"), "welch_p"])  # a range has no mean


def test_the_data_draw_spread_explains_a_difference():
    first = runs([3.0, 3.0], [5.5, 5.5])
    second = runs([2.0, 2.0], [5.5, 5.5], dataset="d200_N100_r1")
    third = runs([4.0, 4.0], [5.5, 5.5], dataset="d200_N100_r2")
    table = compare(pd.concat([first, second, third]), PAPER).set_index(["table", "variant"])
    cell = table.loc[("table7_deep_test_meanstd", "preinit")]
    assert not cell["agree"] and cell["draws"] == 3 and cell["draw_std"] == pytest.approx(1.0)
    assert cell["within_draw_spread"]  # 3.0 - 1.5 = 1.5 <= 2 x 1.0
    assert cell["mean"] == 3.0  # ours are the first draw's seeds only
    assert "within data draws" in markdown(table.reset_index(), ["d200_N100"])


def test_datasets_the_paper_lacks_are_skipped_and_named():
    mine = runs([1.0], [5.0], dataset="mine").assign(d=24, N=60)
    quick = runs([1.0], [5.0], dataset="d30_N100").assign(d=30)
    table = compare(pd.concat([mine, quick]), PAPER)
    assert table.empty
    text = markdown(table, ["mine", "d30_N100"])
    assert "Not in the paper, so not compared: mine, d30_N100." in text
    assert "No dataset of this study is in the paper's tables." in text


def test_two_protocols_are_compared_apart(tmp_path):
    both = pd.concat([runs([1.5, 1.6], [5.4, 5.6], protocol="a"), runs([9.0, 9.5], [9.0, 9.5], protocol="b")])
    table = compare(both, PAPER)
    assert summary(table).groupby("protocol")["agreeing"].sum().to_dict() == {"a": 4, "b": 0}
    comparison_figure(table, tmp_path / "c.png")
    comparison_figure(table.iloc[:0], tmp_path / "empty.png")
    assert (tmp_path / "c.png").stat().st_size > 10_000 and (tmp_path / "empty.png").exists()


def test_shipped_paper_tables_are_the_shared_copy_unchanged():
    paper = paper_tables()
    assert len(paper) == 72 and set(paper["stat"]) == {"range", "meanstd"}
    assert np.all(paper.loc[paper["stat"] == "range", "vae_a"] <= paper.loc[paper["stat"] == "range", "vae_b"])
    shared = ROOT.parent / "shared" / "paper" / "paper_tables.csv"
    if shared.exists():  # CI lays ../shared beside the clone
        assert hashlib.sha256(shared.read_bytes()).digest() == hashlib.sha256(PAPER_CSV.read_bytes()).digest()


def test_the_comparison_has_a_cell_per_column_in_markdown_and_html():
    """Two protocols, three draws, exact NLL: every column of the rows has its header (the exact NLL once had none)."""
    draws = [runs([3.0, 3.1], [5.5, 7.0], dataset=name) for name in ("d200_N100", "d200_N100_r1", "d200_N100_r2")]
    both = pd.concat([*draws, runs([1.5, 1.6], [9.0, 9.5], protocol="spec")])
    bounds = pd.DataFrame({"dataset": ["d200_N100"], "nll_true_train": [136.0], "nll_true_test": [139.0]})
    table = compare(both, PAPER, bounds)
    doc = comparison_document(table, ["d200_N100", "mine"])
    tables = markdown_tables(to_markdown(doc))
    assert [header[4] for header, _ in tables] == ["`p`", "`spec`"]  # ours: named after the protocol
    for header, rows in tables:
        assert header[3] == "published" and len(rows) == 4
        cells = pd.DataFrame(rows, columns=header)
        assert set(cells["agree"]) <= {"✓ yes", "✗ no", "≈ within data draws"}
        exact = cells["exact NLL"].str.replace("−", "-").astype(float).to_numpy()  # written with the minus sign
        assert exact == pytest.approx(100 * (139.0 - 139.5) / 139.5, abs=0.005)
    page_rows = html_rows(to_html(doc, "comparison"))
    assert page_rows == [[cell.replace("`", "") for cell in row] for header, rows in tables for row in [header, *rows]]


def test_exact_nll_is_given_in_pct_of_our_bound():
    bounds = pd.DataFrame({"dataset": ["d200_N100"], "nll_true_train": [136.0], "nll_true_test": [139.0]})
    table = compare(runs([1.5], [5.5]), PAPER, bounds)
    assert table["nll_pct"].to_numpy() == pytest.approx(100 * (139.0 - 139.5) / 139.5)
    assert compare(runs([1.5], [5.5]), PAPER)["nll_pct"].isna().all()


def test_cells_read_at_an_earlier_epoch_use_that_epochs_history_row():
    """at_epoch: pct from the history's losses at E against the run's bounds; shorter runs are left out."""
    finals = runs([1.0, 1.0], [5.0, 5.0]).assign(final_train_loss=0.0, final_test_loss=0.0, active_units=2)
    rows = []
    for _, run in finals.iterrows():
        epochs = 3 if run["seed"] == 0 else 1  # seed 1 trained a single epoch
        for e in range(1, epochs + 1):
            loss = 10.0 * e + run["seed"]
            rows.append({**run[["protocol", "dataset", "arch", "variant", "seed"]].to_dict(), "epoch": e,
                         "train_loss": loss, "test_loss": loss + 1, "test_active_units": e % 2})  # fmt: skip
    cut = at_epoch(finals, pd.DataFrame(rows), 2).set_index("variant")
    assert list(cut["protocol"]) == ["p@2", "p@2"] and list(cut["seed"]) == [0, 0]
    assert cut.loc["preinit", "pct_train"] == pytest.approx(100 * (20.0 - 135.0) / 135.0)
    assert cut.loc["vanilla", "pct_test"] == pytest.approx(100 * (21.0 - 139.5) / 139.5)
    assert (cut["active_units"] == 0).all() and (cut["final_train_loss"] == 20.0).all()
    assert len(at_epoch(finals, pd.DataFrame(rows), 1)) == 4


def test_a_protocol_with_the_kl_averaged_says_its_losses_are_not_the_elbo():
    both = pd.concat([runs([1.9], [6.5]), runs([1.9], [6.5], protocol="q").assign(kl_reduction="mean")])
    table = compare(both, PAPER)
    assert set(table.groupby("protocol")["kl_reduction"].first().items()) == {("p", "sum"), ("q", "mean")}
    text = markdown(table, ["d200_N100"])
    # [1.9] overlaps [1; 2]; 1.9 lies 0.4 from 1.5 ± 0.1
    assert "`q`: ranges 1 of 2, means 0 of 2 agree (its losses weigh the KL term by 1/κ" in text
    assert "`p`: ranges 1 of 2, means 0 of 2 agree\n" in text
