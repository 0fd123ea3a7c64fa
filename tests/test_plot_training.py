"""The loss-development figure: a PNG for one or many seeds and one or two variants; one-line errors on bad input."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bvae.errors import DataError
from bvae.plots.training import LABEL_GAP, epoch_bands, loss_development, loss_figure, spread, y_limits

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")  # loss_figure hands its figure to the caller


def fake_history(variants=("vanilla", "preinit"), seeds=(0,), epochs=40, bound=100.0) -> pd.DataFrame:
    """Losses that start far above the bound and decay towards it, with seed-dependent noise."""
    rows = []
    for v, variant in enumerate(variants):
        for seed in seeds:
            rng = np.random.default_rng(seed)
            epoch = np.arange(1, epochs + 1)
            train = bound * (1 + (1.5 - v) * np.exp(-epoch / (5 + 5 * v)) + 0.002 * rng.standard_normal(epochs))
            test = train + 0.5 + 0.1 * rng.random(epochs)
            rows.append(
                pd.DataFrame({"variant": variant, "seed": seed, "epoch": epoch, "train_loss": train, "test_loss": test})
            )
    return pd.concat(rows, ignore_index=True)


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 10_000  # axes, curves, legend: far more than an empty canvas


@pytest.mark.parametrize(
    "variants, seeds", [(("preinit",), (0,)), (("vanilla", "preinit"), (0,)), (("vanilla", "preinit"), range(7))]
)
def test_writes_a_png(tmp_path, variants, seeds):
    path = tmp_path / "sub" / "loss.png"
    loss_development(fake_history(variants, tuple(seeds)), 100.0, 101.0, "d=20; N=100, deep", path)
    assert_png(path)
    assert [p.name for p in path.parent.iterdir()] == ["loss.png"]  # no temporary file left behind


def test_summary_is_median_min_max_over_seeds():
    history = fake_history(("vanilla",), (0, 1, 2), epochs=5)
    summary = epoch_bands(history)
    at3 = history[history.epoch == 3]["train_loss"]
    row = summary[summary.epoch == 3].iloc[0]
    assert row["train_loss_median"] == pytest.approx(np.median(at3))
    assert row["train_loss_min"] == at3.min() and row["train_loss_max"] == at3.max()
    assert row["n_seeds"] == 3


def test_y_limits_show_the_bound_not_epoch_one():
    history = fake_history(seeds=(0, 1, 2), bound=100.0)
    assert history["train_loss"].max() > 200  # epoch 1 is far above the bound
    lo, hi = y_limits(epoch_bands(history), [100.0, 101.0])
    assert lo < 100.0 < 101.0 < hi < 130.0


def test_y_limits_include_losses_below_the_bound():
    history = fake_history(("vanilla",), (0,), epochs=10)
    history.loc[history.epoch == 10, "train_loss"] = 80.0  # overfitting: far below the training bound
    lo, _ = y_limits(epoch_bands(history), [100.0, 101.0])
    assert lo < 80.0


@pytest.mark.parametrize("missing", ["variant", "seed", "epoch", "train_loss", "test_loss"])
def test_missing_column_is_a_one_line_error(tmp_path, missing):
    path = tmp_path / "loss.png"
    with pytest.raises(DataError, match=repr(missing)) as info:
        loss_development(fake_history().drop(columns=missing), 100.0, 101.0, "x", path)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)
    assert not path.exists()


def test_empty_history_is_an_error(tmp_path):
    with pytest.raises(DataError, match="empty"):
        loss_development(fake_history().iloc[:0], 100.0, 101.0, "x", tmp_path / "loss.png")
    assert not any(tmp_path.iterdir())


def right_labels(fig) -> dict[str, float]:
    """The reference-line labels at the right edge: text → height in axes fraction."""
    return {t.get_text(): t.get_position()[1] for t in fig.axes[0].texts}


def test_epoch_ticks_are_integers():
    fig = loss_figure(fake_history(epochs=20), 100.0, 101.0, "x")
    ticks = fig.axes[0].get_xticks()
    assert len(ticks) >= 3 and np.all(ticks == np.round(ticks))  # the default locator puts ticks at 2.5, 7.5, ...


def test_nearly_equal_bounds_get_separate_labels_with_their_values():
    fig = loss_figure(fake_history(bound=20.59), 20.59, 20.63, "x")
    labels = right_labels(fig)
    assert set(labels) == {"bound train 20.59", "bound test 20.63"}
    assert labels["bound test 20.63"] - labels["bound train 20.59"] >= LABEL_GAP - 1e-12  # test above train
    styles = {
        line.get_linestyle() for line in fig.axes[0].lines if list(line.get_ydata()) in ([20.59] * 2, [20.63] * 2)
    }
    assert styles == {"-", "--"}


def test_exact_nll_lines_when_finite():
    fig = loss_figure(fake_history(), 100.0, 101.0, "x", nll_true=(100.3, 100.4))
    assert {"exact NLL train 100.30", "exact NLL test 100.40"} <= set(right_labels(fig))
    assert len(set(right_labels(fig).values())) == 4
    without = loss_figure(fake_history(), 100.0, 101.0, "x", nll_true=(float("nan"), float("nan")))
    assert set(right_labels(without)) == {"bound train 100.00", "bound test 101.00"}


def test_y_limits_include_an_exact_nll_far_from_the_bound():
    fig = loss_figure(fake_history(), 100.0, 101.0, "x", nll_true=(90.0, 91.0))
    assert fig.axes[0].get_ylim()[0] < 90.0


def test_a_curve_above_the_range_is_marked_at_the_top_edge():
    history = fake_history(("vanilla",), (0,), epochs=30)
    fig = loss_figure(history, 100.0, 101.0, "x")
    ax = fig.axes[0]
    top = ax.get_ylim()[1]
    above = history.loc[history.train_loss > top, "epoch"].to_numpy()
    assert above.size  # epoch 1 lies far above the view
    markers = [line for line in ax.lines if line.get_marker() == "^" and len(line.get_xdata())]
    assert any(np.array_equal(line.get_xdata(), above) and np.all(line.get_ydata() == top) for line in markers)
    legend = dict(zip([t.get_text() for t in ax.get_legend().get_texts()], ax.get_legend().legend_handles, strict=True))
    (note,) = [text for text in legend if "above the range" in text]
    assert note.startswith("vanilla loss above")  # one seed: its loss, no median
    assert legend[note].get_color() == legend["vanilla train"].get_color()  # the marker's colour as drawn


def test_no_cut_off_note_when_everything_fits():
    history = fake_history(("vanilla",), (0,), epochs=30)
    history[["train_loss", "test_loss"]] = 100.5
    ax = loss_figure(history, 100.0, 101.0, "x").axes[0]
    assert not any("above the range" in t.get_text() for t in ax.get_legend().get_texts())


@pytest.mark.parametrize(
    "positions", [[0.5, 0.5, 0.5], [0.99, 0.98, 0.2], [0.0, 0.01], [0.1, 0.5, 0.9], [0.3, 0.32, 0.31, 0.33]]
)
def test_spread_keeps_order_and_gap_within_the_axes(positions):
    placed = np.array(spread(positions, 0.05))
    order = np.argsort(positions, kind="stable")
    assert np.all(np.diff(placed[order]) >= 0.05 - 1e-12)
    assert placed.max() <= 1.0 + 1e-12
    if np.all(np.diff(np.sort(positions)) >= 0.05):
        np.testing.assert_allclose(placed, positions)  # far enough apart: left where they are


def test_pct_panels_show_each_split_against_its_own_bound_over_the_second_half():
    history = fake_history(("vanilla", "preinit"), (0, 1, 2), epochs=40)
    fig = loss_figure(history, 100.0, 101.0, "x", nll_true=(99.0, 100.5))
    nats, train, test = fig.axes
    summary = epoch_bands(history)
    late = summary[(summary["variant"] == "vanilla") & (summary["epoch"] >= 20)]
    for ax, split, bound in ((train, "train", 100.0), (test, "test", 101.0)):
        curve = ax.get_lines()[0]  # vanilla's median, first in VARIANT_COLORS
        assert curve.get_xdata().tolist() == late["epoch"].tolist()
        assert np.allclose(curve.get_ydata(), 100 * (late[f"{split}_loss_median"] - bound) / bound)
        assert [line.get_ydata()[0] for line in ax.get_lines()[-2:]] == pytest.approx(
            [0, 100 * ({"train": 99.0, "test": 100.5}[split] - bound) / bound]
        )  # the bound at 0, the exact NLL in pct
    assert any(patch.get_hatch() for patch in nats.collections)  # test bands hatched, train bands plain
