"""The paper's tables: statistics per dataset and variant, the Markdown layout, and bad input."""

import numpy as np
import pandas as pd
import pytest

from bvae.errors import DataError
from bvae.tables import TABLES, deviation_table, markdown, with_exact_nll


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
    assert lines[2] == "| | bound | VAE preinit | VAE |"
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
    assert lines[2] == "| | bound | exact NLL | VAE preinit | VAE |"
    assert lines[3] == "|---|---:|---:|---:|---:|"
    assert lines[4].startswith("| d=200; N=100 | 140.00 | 141.40 (+1.00%) | [")
    assert lines[5].startswith("| d=200; N=5000 | 140.00 | – | [")
    no_model = with_exact_nll(deviation_table(runs, "deep", "test"), bounds.assign(nll_true_test=np.nan), "test")
    assert markdown(no_model, TABLES[0]) == markdown(deviation_table(runs, "deep", "test"), TABLES[0])


def test_all_eight_tables_are_distinct():
    assert sorted(t.number for t in TABLES) == list(range(1, 9))
    assert len({(t.arch, t.split, t.stat) for t in TABLES}) == 8


def test_bad_runs_table(runs):
    with pytest.raises(DataError, match=r"lacks column\(s\) \['pct_test'\]"):
        deviation_table(runs.drop(columns="pct_test"), "deep", "test")
    with pytest.raises(DataError, match="no runs of arch 'canonical'"):
        deviation_table(runs[runs.arch == "deep"], "canonical", "test")
