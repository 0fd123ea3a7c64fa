"""The summary figures drawn for a whole study: the paper's 72 cells under two protocols, one of them deep only (as
the reference run has them). No empty panel, every protocol's marks inside their own slot, legends that list only
what is drawn."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bvae.plots.collapse import collapse_map
from bvae.plots.comparison import SLOT, comparison_figure
from bvae.report.comparison import compare, paper_tables
from bvae.report.fidelity import paper_collapse

PROTOCOLS = {"calibrated": ("deep", "canonical"), "lr5e-4_keras-decoder_b256": ("deep",)}


def reference_runs(seeds=3) -> pd.DataFrame:
    """Runs on every cell of the paper: `calibrated` on both architectures, the Glorot-decoder protocol deep only."""
    rng = np.random.default_rng(0)
    cells = paper_tables()[["arch", "d", "N"]].drop_duplicates()
    rows = [
        {"protocol": protocol, "dataset": f"d{d}_N{n}", "d": d, "N": n, "arch": arch, "variant": variant,
         "seed": seed, "pct_train": rng.normal(-1, 1), "pct_test": rng.normal(1, 1), "bound_train": 0.69 * d,
         "bound_test": 0.7 * d}
        for protocol, archs in PROTOCOLS.items() for arch, d, n in cells.itertuples(index=False) if arch in archs
        for variant in ("vanilla", "preinit") for seed in range(seeds)
    ]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def drawn(monkeypatch):
    """The figure a plotting function hands to `save`, instead of a file."""
    figures = []
    for module in ("plots.comparison", "plots.collapse"):
        monkeypatch.setattr(f"bvae.{module}.save", lambda fig, path: figures.append(fig))
    yield figures
    plt.close("all")


def test_the_comparison_figure_of_the_paper_grid_under_two_protocols(drawn):
    table = compare(reference_runs())
    cells = table.groupby("protocol")[["table", "dataset"]].value_counts().groupby("protocol").size()
    assert cells.to_dict() == {"calibrated": 72, "lr5e-4_keras-decoder_b256": 36}  # the paper's 72, deep's half
    comparison_figure(table, "unused.png")
    (fig,) = drawn
    axes = [ax for ax in fig.axes if ax.axison]
    assert len(axes) == len(fig.axes) == 3 * 2 * 2  # N = 100, 5000, 10000 × deep/canonical × train/test: none empty
    for ax in axes:
        deep = ax.get_title().startswith("deep")
        bars = [c for c in ax.collections if len(c.get_segments())]
        assert len(bars) == 6 * (3 if deep else 2)  # per d and variant: published, calibrated (and the deep-only one)
        xs = sorted(float(c.get_segments()[0][0, 0]) for c in bars)
        slots = np.round(xs).astype(int)
        assert (np.abs(np.array(xs) - slots) < SLOT / 2).all()  # every mark nearest its own slot's tick
        assert len(set(np.round(xs, 6))) == len(xs)  # one position per mark: none on top of another
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [label.split(" ")[0] for label in labels] == ["published", *PROTOCOLS]
    assert all(ax.get_ylabel().startswith("pct") for ax in axes[::2])


def deep_runs(variants=("vanilla", "preinit")) -> pd.DataFrame:
    """The collapse map's runs: deep, N >= 5000, each protocol at its learning rate, some seeds collapsing."""
    runs = reference_runs()
    runs = runs[(runs["arch"] == "deep") & (runs["N"] >= 5000) & runs["variant"].isin(variants)]
    lr = runs["protocol"].map({"calibrated": 3e-4, "lr5e-4_keras-decoder_b256": 5e-4})
    collapsed = np.where(runs["seed"] == 0, 12.0, np.nan)  # seed 0 of every cell collapses at epoch 12
    return runs.assign(lr=lr, epochs=300, collapse_epoch=collapsed)


def test_the_collapse_map_sets_both_protocols_side_by_side_in_every_deep_cell(drawn):
    collapse_map(deep_runs(), paper_collapse(deep_runs()), "unused.png")
    (fig,) = drawn
    assert len(fig.axes) == 2 * 3 and all(ax.axison for ax in fig.axes)  # N = 5000, 10000 × d = 200, 400, 1000
    for ax in fig.axes:
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert [label.split("\n")[0] for label in labels] == ["calibrated", "lr5e-4_"]  # by learning rate
        assert all("1/3 preinit\n1/3 vanilla" in label for label in labels)  # collapsed seeds counted per variant
        xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
        assert len(xs) == 2 * 2 * 3 and (np.abs(xs - np.round(xs)) < 0.5).all()  # every seed inside its slot
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [label.split(",")[0] for label in labels] == ["preinit", "vanilla"]


def test_the_collapse_map_legend_lists_only_what_is_drawn(drawn):
    runs = deep_runs(variants=("vanilla",))
    collapse_map(runs, paper_collapse(runs), "unused.png")
    assert [t.get_text().split(",")[0] for t in drawn[0].legends[0].get_texts()] == ["vanilla"]
