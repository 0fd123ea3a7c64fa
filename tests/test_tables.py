"""The paper's tables: statistics per dataset and variant, the Markdown layout, and bad input."""

import numpy as np
import pandas as pd
import pytest

from bvae.errors import DataError
from bvae.report.document import to_html, to_markdown
from bvae.report.tables import TABLES, deviation_table, table_document, training_text, with_exact_nll
from tests.conftest import markdown_tables
from tests.test_document import html_rows


def markdown(table, spec, protocol=None):
    return to_markdown(table_document(table, spec, protocol))


@pytest.fixture
def runs():
    rng = np.random.default_rng(0)
    rows = []
    for d, N in [(400, 100), (200, 5000), (200, 100)]:
        for arch in ("deep", "canonical"):
            for variant in ("vanilla", "preinit"):
                for seed in range(4):
                    rows.append(
                        {
                            "dataset": f"d{d}_N{N}",
                            "d": d,
                            "N": N,
                            "arch": arch,
                            "variant": variant,
                            "seed": seed,
                            "pct_train": rng.normal(),
                            "pct_test": rng.normal(),
                            "bound_train": d * 0.69,
                            "bound_test": d * 0.7,
                        }
                    )
    return pd.DataFrame(rows)


def test_summary_matches_direct_statistics(runs):
    table = deviation_table(runs, "deep", "test")
    assert list(table["dataset"]) == ["d200_N100", "d200_N5000", "d400_N100"]
    sel = runs[(runs.arch == "deep") & (runs.variant == "preinit") & (runs.dataset == "d400_N100")]["pct_test"]
    row = table.set_index("dataset").loc["d400_N100"]
    assert row["preinit_mean"] == pytest.approx(sel.mean())
    assert row["preinit_std"] == pytest.approx(np.std(sel.to_numpy(), ddof=1))
    assert (row["preinit_min"], row["preinit_max"], row["preinit_n"]) == (sel.min(), sel.max(), 4)
    assert row["bound"] == pytest.approx(400 * 0.7)


def test_markdown_layout(runs):
    spec = TABLES[0]
    assert (spec.number, spec.arch, spec.split, spec.stat, spec.name) == (
        1,
        "deep",
        "test",
        "range",
        "table1_deep_test_range",
    )
    text = markdown(deviation_table(runs, "deep", "test"), spec)
    lines = text.splitlines()
    assert lines[2] == "| | bound | preinit | vanilla |"
    assert lines[4].startswith("| d=200; N=100 | 140.00 | [")
    mean_std = markdown(deviation_table(runs, "canonical", "train"), TABLES[5])
    assert "% ± " in mean_std and "table" not in mean_std.splitlines()[4]


def test_exact_nll_column_where_a_generating_model_exists(runs):
    bounds = pd.DataFrame(
        {"dataset": ["d200_N100", "d200_N5000", "d400_N100"], "nll_true_test": [141.4, np.nan, 277.2]}
    )
    table = with_exact_nll(deviation_table(runs, "deep", "test"), bounds, "test")
    assert list(table.columns[:-1]) == list(deviation_table(runs, "deep", "test").columns)  # Parquet columns kept
    lines = markdown(table, TABLES[0]).splitlines()
    assert "Exact NLL" in lines[0]
    assert lines[2] == "| | bound | exact NLL | preinit | vanilla |"
    assert lines[3] == "|---|---:|---:|---:|---:|"
    assert lines[4].startswith("| d=200; N=100 | 140.00 | 141.40 (+1.00%) | [")
    assert lines[5].startswith("| d=200; N=5000 | 140.00 | – | [")
    no_model = with_exact_nll(deviation_table(runs, "deep", "test"), bounds.assign(nll_true_test=np.nan), "test")
    assert markdown(no_model, TABLES[0]) == markdown(deviation_table(runs, "deep", "test"), TABLES[0])


def test_every_table_has_a_cell_per_column_in_markdown_and_html(runs):
    """Each of the eight tables, with and without the exact-NLL column, with a dataset of the user's among them."""
    runs = pd.concat([runs, runs[runs["dataset"] == "d200_N100"].assign(dataset="mine", d=24)], ignore_index=True)
    bounds = pd.DataFrame({"dataset": ["d200_N100", "d200_N5000", "d400_N100", "mine"]})
    for spec in TABLES:
        plain = deviation_table(runs, spec.arch, spec.split)
        exact = with_exact_nll(plain, bounds.assign(**{f"nll_true_{spec.split}": [141.4, 140.0, 277.2, np.nan]}),
                               spec.split)  # fmt: skip
        for table, columns in ((plain, 4), (exact, 5)):
            doc = table_document(table, spec, "spec")
            ((header, rows),) = markdown_tables(to_markdown(doc))
            assert len(header) == columns and len(rows) == 4 and rows[0][0] == "mine (d=24; N=100)"  # sorted by d
            assert html_rows(to_html(doc, spec.name)) == [header, *rows]  # the report's page holds the same cells
            assert f"Table {spec.number} (protocol `spec`)" in doc[0].caption and '"VAE preinit"' in doc[0].caption


def test_all_eight_tables_are_distinct():
    assert sorted(t.number for t in TABLES) == list(range(1, 9))
    assert len({(t.arch, t.split, t.stat) for t in TABLES}) == 8


def test_bad_runs_table(runs):
    with pytest.raises(DataError, match=r"lacks column\(s\) \['pct_test'\]"):
        deviation_table(runs.drop(columns="pct_test"), "deep", "test")
    with pytest.raises(DataError, match="no runs of arch 'canonical'"):
        deviation_table(runs[runs.arch == "deep"], "canonical", "test")


def test_the_caption_says_what_the_cells_rest_on(runs):
    """Seeds per cell against the paper's 100, epochs and the deep widths, the columns in their order, and the exact
    NLL's meaning for this table's split only."""
    runs = runs.assign(epochs=20, hidden="[64, 64]")
    spec = TABLES[1]  # deep, train
    table = with_exact_nll(deviation_table(runs, spec.arch, spec.split), bounds_with_nll(runs), spec.split)
    caption = table_document(table, spec, "spec", training_text(runs, spec.arch))[0].caption
    assert "Over 4 seeds per cell (the paper: 100), 20 epochs, hidden widths 64 64." in caption
    assert 'preinit and vanilla are the paper\'s "VAE preinit" and "VAE"' in caption
    assert "overfitting" in caption and "test data" not in caption
    assert "hidden" not in table_document(table, TABLES[3], "spec", training_text(runs, "canonical"))[0].caption


def bounds_with_nll(runs):
    names = runs["dataset"].unique()
    return pd.DataFrame({"dataset": names, "nll_true_train": 1.0, "nll_true_test": 1.0})
