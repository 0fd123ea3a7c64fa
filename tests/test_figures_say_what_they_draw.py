"""What the figures draw, read from the drawn figure: each architecture on its own epoch axis in the claims figure, a
loss figure that says when its nats panel cannot show the result, legends and subtitles that say what they draw."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bvae.plots.claims import CEILING, NEVER, claims_figure
from bvae.plots.collapse import IMPLIED, collapse_map
from bvae.plots.comparison import comparison_figure
from bvae.plots.training import loss_figure
from bvae.report.claims import Thresholds
from bvae.report.comparison import compare
from bvae.report.fidelity import paper_collapse
from tests.conftest import ROOT
from tests.test_figures import deep_runs, reference_runs


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


def settled(bound: float, offset: float, epochs=40) -> pd.DataFrame:
    """One seed per variant: epoch 1 at twice the bound, from then on `offset` nats (vanilla) or half that above it."""
    shifts = {"vanilla": offset, "preinit": offset / 2}
    rows = [{"variant": variant, "seed": 0, "epoch": epoch, "train_loss": bound + (bound if epoch == 1 else shift),
             "test_loss": bound + 1 + (bound if epoch == 1 else shift)}
            for variant, shift in shifts.items() for epoch in range(1, epochs + 1)]  # fmt: skip
    return pd.DataFrame(rows)


def nats_texts(fig) -> list[str]:
    return [text.get_text() for text in fig.axes[0].texts if "second half" in text.get_text()]


def test_a_nats_panel_too_coarse_for_the_result_says_so_with_its_numbers():
    """d1000_N10000: the medians settle 0.35 nats above a bound of 690, 0.05 %, on an axis over 100 nats tall."""
    fig = loss_figure(settled(690.0, 0.35), 690.0, 691.0, "d1000_N10000")
    assert nats_texts(fig) == ["second half of training: every median within 0.35 nats (0.051 %) of its bound,\n"
                               "too close to tell apart at this scale: the pct panels below show it"]  # fmt: skip
    assert not nats_texts(loss_figure(settled(20.0, 2.0), 20.0, 21.0, "d30_N100"))  # 10 %: the nats panel shows it


def test_the_collapse_map_subtitle_says_what_the_published_interval_is(drawn):
    paper = paper_collapse(deep_runs())
    collapse_map(deep_runs(), paper, "unused.png")
    row = paper[(paper["d"] == 200) & (paper["N"] == 5000) & (paper["variant"] == "vanilla")].iloc[0]
    titles = {ax.get_title().split("\n")[0]: ax.get_title().split("\n")[1:] for ax in drawn[0].axes}
    interval = f"[{row['paper_a']:.2f}; {row['paper_b']:.2f}] %"
    assert titles["d = 200, N = 5000"] == [
        f"published vanilla train pct [min; max]: {interval}",
        f"→ {IMPLIED[row['collapsed']]}",
    ]


def test_the_comparison_legend_says_which_protocol_is_deep_only(drawn):
    comparison_figure(compare(reference_runs()), "unused.png")
    labels = [t.get_text() for t in drawn[0].legends[0].get_texts()]
    assert labels[1:] == [
        "calibrated [min; max] (dot: mean)",
        "lr5e-4_keras-decoder_b256 [min; max] (dot: mean), deep only",
    ]
    deep = compare(reference_runs().query("arch == 'deep'"))
    comparison_figure(deep, "unused.png")  # a study of one architecture: no protocol is "only" anything
    assert [t.get_text() for t in drawn[1].legends[0].get_texts()][1:] == [
        "calibrated [min; max] (dot: mean)",
        "lr5e-4_keras-decoder_b256 [min; max] (dot: mean)",
    ]


MARKERS = {"o": "circle", "^": "triangle", "s": "square"}  # matplotlib's marker codes, in the captions' words


def test_the_claims_caption_names_the_mark_the_figure_draws_for_never(drawn):
    claims_figure(epochs_to_region({"deep": 300}), Thresholds(), "unused.png")
    lines = [line for ax in drawn[0].axes for line in ax.get_lines()]
    never = {line.get_marker() for line in lines if line.get_markerfacecolor() == "none"}
    caption = " ".join((ROOT / "workflow" / "report" / "claims_figure.rst").read_text().split())
    assert [f'open {MARKERS[marker]} in the grey band "never"' in caption for marker in never] == [True]
