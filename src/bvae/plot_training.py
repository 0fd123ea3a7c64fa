"""Loss-development figures (the paper's Figures 2 and 5): per-epoch train and test loss against the bound lines.

One figure per dataset and architecture: for each variant the median over seeds of the training loss (solid) and
the test loss (dashed), with a min–max band when there is more than one seed, and the training and test bounds as
horizontal lines. The y-axis is focused on the bound so that the bound lines stay visible instead of being squashed
by the large losses of the first epochs.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters and CI
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bvae.architectures import VARIANTS
from bvae.errors import DataError
from bvae.plot_bound import save

HISTORY_COLUMNS = ("variant", "seed", "epoch", "train_loss", "test_loss")
VARIANT_COLORS = {"vanilla": "C0", "preinit": "C1"}
BELOW, ABOVE = 0.03, 0.15  # default view: bound · [1 − BELOW, 1 + ABOVE], widened to show the final losses


def check_history(history: pd.DataFrame) -> None:
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
    last = summary.groupby("variant")["epoch"].transform("max")
    late = summary[summary["epoch"] >= 0.5 * last]  # the second half of training, where the curves settle
    highs = late[["train_loss_median", "test_loss_median"]].to_numpy(dtype=float)
    if np.isfinite(highs).any():
        hi = max(hi, float(np.nanmax(highs)))
    pad = 0.02 * (hi - lo)
    return lo - pad, hi + pad


def loss_development(
    history: pd.DataFrame, bound_train: float, bound_test: float, title: str, path: str | os.PathLike
) -> None:
    """Write the loss-development PNG of `history` (columns variant, seed, epoch, train_loss, test_loss)."""
    check_history(history)
    summary = epoch_bands(history)
    fig, ax = plt.subplots(figsize=(6, 4))
    order = list(VARIANT_COLORS)
    variants = sorted(summary["variant"].unique(), key=lambda v: (order.index(v) if v in order else len(order), str(v)))
    for i, variant in enumerate(variants):
        part = summary[summary["variant"] == variant]
        color = VARIANT_COLORS.get(variant, f"C{i + 2}")
        label = VARIANTS.get(variant, str(variant))
        epochs = part["epoch"].to_numpy()
        for split, style in (("train", "-"), ("test", "--")):
            ax.plot(epochs, part[f"{split}_loss_median"], style, color=color, lw=1.5, label=f"{label} {split}")
            if part["n_seeds"].max() > 1:
                ax.fill_between(
                    epochs, part[f"{split}_loss_min"], part[f"{split}_loss_max"], color=color, alpha=0.15, lw=0
                )
    ax.axhline(bound_train, color="k", ls="-", lw=1, label=f"bound train {bound_train:.2f}")
    ax.axhline(bound_test, color="k", ls=":", lw=1.2, label=f"bound test {bound_test:.2f}")
    ax.set_ylim(*y_limits(summary, [bound_train, bound_test]))
    n_seeds = int(history["seed"].nunique())
    seeds = f"{n_seeds} seeds: median, min–max band" if n_seeds > 1 else "1 seed"
    ax.set(xlabel="epoch", ylabel="negative ELBO per observation [nats]", title=f"{title} ({seeds})")
    ax.legend(fontsize="small", ncol=2)
    ax.grid(alpha=0.3)
    save(fig, path)
