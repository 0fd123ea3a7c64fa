"""Loss-development figures (the paper's Figures 2 and 5): per-epoch train and test loss against the bound lines.

One figure per dataset and architecture: for each variant the median over seeds of the training loss (solid) and
the test loss (dashed), with a min–max band when there is more than one seed, and the training and test bounds as
horizontal lines, and for simulated data the exact NLL of the generating model per split. The y-axis is focused on
the bound so that the bound lines stay visible instead of being squashed by the large losses of the first epochs;
triangles on the top edge mark where a median lies above that range.

Below it, one panel per split in pct of that split's bound, 100 (loss − bound) / bound, the unit of the paper's
tables: at large N the variants and the bound lie within a fraction of a percent of each other, which an axis in
nats cannot show, and train and test bands that overlap in nats get a panel each. Where the nats panel cannot tell
the medians from their bounds (d1000_N10000: a third of a nat on an axis 125 nats tall), a note in it says so, with
the numbers.
"""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from bvae.errors import DataError
from bvae.io import read_parquet
from bvae.plots.style import VARIANT_COLORS, save

HISTORY_COLUMNS = ("variant", "seed", "epoch", "train_loss", "test_loss")
BELOW, ABOVE = 0.03, 0.15  # default view: bound · [1 − BELOW, 1 + ABOVE], widened to show the final losses
SPLIT_STYLES = {"train": "-", "test": "--"}  # every test line dashed: curves, bound and exact NLL alike
EXACT_COLOR = "crimson"
LABEL_GAP = 0.055  # axes fraction between reference-line labels: one line of small text on a 4-inch panel
BAND_ALPHA = 0.18
TEST_HATCH = "////"  # test bands hatched in the nats panel, so that overlapping train and test bands stay apart
FLAT = 0.03  # axes fraction: medians closer than this to their bound (about 12 px) cannot be told apart from it


def labelled_history(history: pd.DataFrame, final) -> pd.DataFrame:
    """One seed's history.parquet with the variant and seed of its final record, as `loss_development` takes it."""
    return history.assign(variant=final["variant"], seed=final["seed"])


def read_labelled_runs(history_paths, final_paths) -> tuple[pd.DataFrame, list[pd.Series]]:
    """The labelled histories of several runs in one frame, and their final records."""
    finals = [read_parquet(path).iloc[0] for path in final_paths]
    labelled = [labelled_history(read_parquet(p), f) for p, f in zip(history_paths, finals, strict=True)]
    return pd.concat(labelled, ignore_index=True), finals


def _check_history(history: pd.DataFrame) -> None:
    """A one-line DataError naming the first missing column, or an empty history."""
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise DataError(
            f"history lacks column(s) {', '.join(map(repr, missing))}; expected columns {', '.join(HISTORY_COLUMNS)}"
        )
    if history.empty:
        raise DataError("history is empty; expected at least one epoch record")


def epoch_bands(history: pd.DataFrame) -> pd.DataFrame:
    """Per variant and epoch: median, min and max over seeds of train_loss and test_loss, and the seed count."""
    grouped = history.groupby(["variant", "epoch"], sort=True)[["train_loss", "test_loss"]]
    stats = grouped.agg(["median", "min", "max"])
    stats.columns = [f"{col}_{stat}" for col, stat in stats.columns]
    stats["n_seeds"] = history.groupby(["variant", "epoch"], sort=True)["seed"].nunique()
    return stats.reset_index()


def y_limits(summary: pd.DataFrame, bounds: list[float]) -> tuple[float, float]:
    """A view around the bounds, widened to include the lowest loss and the medians over the last epochs."""
    lo_bound, hi_bound = min(bounds), max(bounds)
    lo = lo_bound - BELOW * abs(lo_bound)
    hi = hi_bound + ABOVE * abs(hi_bound)
    lows = summary[["train_loss_min", "test_loss_min"]].to_numpy(dtype=float)
    if np.isfinite(lows).any():
        lo = min(lo, float(np.nanmin(lows)))
    late = _second_half(summary)
    highs = late[["train_loss_median", "test_loss_median"]].to_numpy(dtype=float)
    if np.isfinite(highs).any():
        hi = max(hi, float(np.nanmax(highs)))
    pad = 0.02 * (hi - lo)
    return lo - pad, hi + pad


def _second_half(summary: pd.DataFrame) -> pd.DataFrame:
    """Each variant's second half of training, where the curves settle."""
    last = summary.groupby("variant")["epoch"].transform("max")
    return summary[summary["epoch"] >= 0.5 * last]


def _flat_note(summary: pd.DataFrame, bounds: dict[str, float], ylim: tuple[float, float]) -> str:
    """What the nats panel cannot show: when every median over the second half of training lies within FLAT of the
    axis height of its split's bound, the largest distance in nats and pct of the bound; otherwise ''."""
    late = _second_half(summary)
    distance = max(float((late[f"{s}_loss_median"] - bound).abs().max()) for s, bound in bounds.items())
    if distance >= FLAT * (ylim[1] - ylim[0]):
        return ""
    pct = 100 * distance / min(abs(b) for b in bounds.values())
    return (
        f"second half of training: every median within {distance:.2g} nats ({pct:.2g} %) of its bound,\n"
        "too close to tell apart at this scale: the pct panels below show it"
    )


def spread(positions: list[float], gap: float) -> list[float]:
    """The positions (axes fractions) moved apart to at least `gap`, order kept, as little as needed, within [0, 1]."""
    order = np.argsort(positions, kind="stable")
    placed = np.asarray(positions, dtype=float)[order]
    for i in range(1, placed.size):  # push up what sits too close to the one below ...
        placed[i] = max(placed[i], placed[i - 1] + gap)
    placed -= max(placed[-1] - 1.0, 0.0) if placed.size else 0.0  # ... then shift back down from the top edge
    for i in range(placed.size - 2, -1, -1):
        placed[i] = min(placed[i], placed[i + 1] - gap)
    result = np.empty_like(placed)
    result[order] = placed
    return result.tolist()


def _reference_lines(ax: plt.Axes, lines: list[tuple[float, str, str, str]]) -> None:
    """Horizontal lines (value, label, colour, style) labelled with their values at the right edge.

    Labels of lines closer than a text line are pushed apart, each tied to its line's height by a short leader,
    so that nearly equal values (train 20.59, test 20.63) stay readable and tell which is which.
    """
    lo, hi = ax.get_ylim()
    for value, _, color, style in lines:
        ax.axhline(value, color=color, ls=style, lw=1.1)
    at = [(value - lo) / (hi - lo) for value, *_ in lines]
    for (value, label, color, _), y, height in zip(lines, at, spread(at, LABEL_GAP), strict=True):
        ax.plot([1.0, 1.03], [y, height], color=color, lw=0.6, transform=ax.transAxes, clip_on=False)
        ax.text(
            1.035, height, f"{label} {value:.2f}", transform=ax.transAxes, va="center", fontsize="small", color=color
        )


def _mark_cut_off(ax: plt.Axes, epochs: np.ndarray, values: np.ndarray, color: str) -> bool:
    """Triangles on the top edge at the epochs where a curve lies above the plotted range; True if there are any."""
    top = ax.get_ylim()[1]
    above = np.asarray(values, dtype=float) > top
    ax.plot(epochs[above], np.full(above.sum(), top), "^", color=color, ms=5, clip_on=False)
    return bool(above.any())


def _ordered_variants(summary: pd.DataFrame) -> dict[str, str]:
    """The variants in the order of VARIANT_COLORS (others after), each with its colour."""
    order = list(VARIANT_COLORS)
    variants = sorted(summary["variant"].unique(), key=lambda v: (order.index(v) if v in order else len(order), str(v)))
    return {v: VARIANT_COLORS.get(v, f"C{i + 2}") for i, v in enumerate(variants)}


def band(ax: plt.Axes, epochs, low, high, color: str, split: str, hatched: bool) -> None:
    hatch = {"hatch": TEST_HATCH, "facecolor": "none", "edgecolor": color} if hatched and split == "test" else {}
    ax.fill_between(epochs, low, high, color=color, alpha=BAND_ALPHA, lw=0, **hatch)


def _nats_panel(ax: plt.Axes, summary: pd.DataFrame, refs: list, bounds: dict, colors: dict, curve: str) -> None:
    """The losses in nats with the bound and exact-NLL lines, focused on the bound, and a note if that is too far out
    to tell the settled medians from their bounds."""
    ax.set_ylim(*y_limits(summary, [ref[0] for ref in refs]))
    highest: dict[str, float] = {}  # variant -> the highest median of its curves that leave the view at the top
    for variant, color in colors.items():
        part = summary[summary["variant"] == variant]
        epochs = part["epoch"].to_numpy()
        for split, style in SPLIT_STYLES.items():
            median = part[f"{split}_loss_median"].to_numpy()
            ax.plot(epochs, median, style, color=color, lw=1.5, label=f"{variant} {split}")
            if _mark_cut_off(ax, epochs, median, color):
                highest[variant] = max(highest.get(variant, -np.inf), float(np.nanmax(median)))
            if part["n_seeds"].max() > 1:
                band(ax, epochs, part[f"{split}_loss_min"], part[f"{split}_loss_max"], color, split, hatched=True)
    for variant, top in highest.items():  # legend markers in their curve's colour, as drawn
        ax.plot([], [], "^", color=colors[variant], ms=5, label=f"{variant} {curve} above the range (up to {top:.4g})")
    _reference_lines(ax, refs)
    ax.set(xlabel="epoch", ylabel="negative ELBO per observation [nats]")
    if note := _flat_note(summary, bounds, ax.get_ylim()):  # top right: where the settled curves leave room
        ax.text(0.98, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize="small",
                bbox={"facecolor": "white", "edgecolor": "0.6", "alpha": 0.9})  # fmt: skip


def _pct_panel(ax: plt.Axes, summary: pd.DataFrame, split: str, bound: float, exact: float, colors: dict) -> None:
    """One split in pct of its bound over the second half of training, where the variants settle: 0 is the bound."""
    late = _second_half(summary)
    pct = lambda column: 100 * (late[column] - bound) / bound  # noqa: E731
    for variant, color in colors.items():
        mine = late["variant"] == variant
        epochs = late.loc[mine, "epoch"].to_numpy()
        ax.plot(epochs, pct(f"{split}_loss_median")[mine], SPLIT_STYLES[split], color=color, lw=1.5)
        if late.loc[mine, "n_seeds"].max() > 1:
            band(ax, epochs, pct(f"{split}_loss_min")[mine], pct(f"{split}_loss_max")[mine], color, split, False)
    ax.axhline(0, color="k", ls=SPLIT_STYLES[split], lw=1.1)
    if np.isfinite(exact):
        ax.axhline(100 * (exact - bound) / bound, color=EXACT_COLOR, ls=SPLIT_STYLES[split], lw=1.1)
    ax.set(xlabel="epoch", ylabel="100 (loss − bound) / bound [%]")
    ax.set_title(f"{split}, second half of training", fontsize=10)  # two panels side by side: a short title
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def loss_figure(
    history: pd.DataFrame,
    bound_train: float,
    bound_test: float,
    title: str,
    nll_true: tuple[float, float] | None = None,
) -> plt.Figure:
    """The loss-development figure of `history` (columns variant, seed, epoch, train_loss, test_loss): the losses in
    nats (the figure's first axes), then one pct panel per split.

    `nll_true` (train, test): the exact NLL of the generating model, drawn as reference lines when finite.
    """
    _check_history(history)
    summary = epoch_bands(history)
    exact = dict(zip(SPLIT_STYLES, nll_true if nll_true is not None else (np.nan, np.nan), strict=True))
    bounds = {"train": bound_train, "test": bound_test}
    refs = [(bounds[s], f"bound {s}", "k", style) for s, style in SPLIT_STYLES.items()]
    refs += [(exact[s], f"exact NLL {s}", EXACT_COLOR, style) for s, style in SPLIT_STYLES.items()]
    refs = [ref for ref in refs if np.isfinite(ref[0])]  # NaN: data without a generating model
    n_seeds = int(history["seed"].nunique())
    colors = _ordered_variants(summary)
    fig = plt.figure(figsize=(8, 7.5))
    grid = fig.add_gridspec(2, 2, height_ratios=(3, 2), hspace=0.55, wspace=0.3)
    top = fig.add_subplot(grid[0, :])
    _nats_panel(top, summary, refs, bounds, colors, "median" if n_seeds > 1 else "loss")
    for column, split in enumerate(SPLIT_STYLES):
        _pct_panel(fig.add_subplot(grid[1, column]), summary, split, bounds[split], exact[split], colors)
    top.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers: no 2.5, 7.5
    seeds = f"{n_seeds} seeds: median, min–max band" if n_seeds > 1 else "1 seed"
    top.set_title(f"{title} ({seeds})")
    # beside the axes: inside, "best" may cover the bound lines, which sit low in the view
    top.legend(fontsize="small", ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    top.grid(alpha=0.3)
    return fig


def loss_development(
    history: pd.DataFrame,
    bound_train: float,
    bound_test: float,
    title: str,
    path: str | os.PathLike,
    nll_true: tuple[float, float] | None = None,
) -> None:
    """Write the loss-development PNG of `loss_figure` to `path`."""
    save(loss_figure(history, bound_train, bound_test, title, nll_true), path)
