"""What the figures draw, read from the drawn figure: each architecture on its own epoch axis in the claims figure, a
loss figure that says when its nats panel cannot show the result, legends and subtitles that say what they draw."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bvae.plots.claims import CEILING, NEVER, claims_figure
from bvae.report.claims import Thresholds


@pytest.fixture
def drawn(monkeypatch):
    """The figure a plotting function hands to `save`, instead of a file."""
    figures = []
    for module in ("claims", "comparison", "collapse"):
        monkeypatch.setattr(f"bvae.plots.{module}.save", lambda fig, path: figures.append(fig))
    yield figures
    plt.close("all")


def epochs_to_region(last: dict[str, int]) -> pd.DataFrame:
    """`calibrated`'s epochs to the region per architecture: seed 0 reaches at epoch 3, seed 1 never."""
    rows = [{"protocol": "calibrated", "dataset": "d200_N100", "arch": arch, "variant": variant, "seed": seed,
             "split": split, "epochs": epochs, "first": 3 if seed == 0 else None}
            for arch, epochs in last.items() for variant in ("vanilla", "preinit") for seed in (0, 1)
            for split in ("train", "test")]  # fmt: skip
    return pd.DataFrame(rows).astype({"first": "Int64"})


def test_the_claims_figure_draws_each_architecture_on_its_own_epoch_axis(drawn):
    """Canonical (50 epochs) beside deep (300): a canonical seed that never reaches sits in canonical's band "never",
    not at 90 on deep's axis, where it would read as converged."""
    last = {"deep": 300, "canonical": 50}
    claims_figure(epochs_to_region(last), Thresholds(), "unused.png")
    (fig,) = drawn
    for ax in fig.axes:
        arch = ax.get_title().split(", ")[1]
        assert ax.get_ylim()[1] == pytest.approx(2.5 * last[arch])
        ticks = dict(zip((t.get_text() for t in ax.get_yticklabels()), ax.get_yticks(), strict=True))
        assert ticks[f"{last[arch]} (last)"] == last[arch] and ticks["never"] == NEVER * last[arch]
        never = [line for line in ax.get_lines() if line.get_marker() == "o" and line.get_markerfacecolor() == "none"]
        heights = np.concatenate([line.get_ydata() for line in never])
        assert len(heights) == 2 and (heights > CEILING * last[arch]).all()  # in the band, one seed per variant
