"""The loss-development figure: a PNG for one or many seeds and one or two variants; one-line errors on bad input."""

import numpy as np
import pandas as pd
import pytest

from bvae.errors import DataError
from bvae.plot_training import epoch_bands, loss_development, y_limits

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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
