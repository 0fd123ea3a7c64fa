"""The claims figure: epochs to the bound region per dataset and variant (claim 1 of `bvae.claims`).

Panels by protocol (rows) and architecture × split (columns). In a panel, each dataset has a slot per variant: one
dot per seed at the first epoch in the bound region, an open triangle at epochs + 1 for a seed that never reaches it,
and a bar at the median; log scale, so that epoch 1 and epoch 300 both stay readable.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters and CI
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.legend_handler import HandlerTuple
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from bvae.claims import SPLITS, Thresholds, restricted
from bvae.plot_bound import save, save_message
from bvae.plot_training import VARIANT_COLORS

OFFSETS = {"preinit": -0.18, "vanilla": 0.18}  # the paper's column order: preinit left of vanilla
JITTER = 0.07  # half-width over which a slot's seeds are spread


def panel(ax: plt.Axes, epochs: pd.DataFrame, datasets: list[str]) -> None:
    for x, dataset in enumerate(datasets):
        for variant, offset in OFFSETS.items():
            seeds = epochs[(epochs["dataset"] == dataset) & (epochs["variant"] == variant)]
            if seeds.empty:
                continue
            values, reached = restricted(seeds).to_numpy(), seeds["first"].notna().to_numpy()
            xs = x + offset + np.linspace(-JITTER, JITTER, len(values)) if len(values) > 1 else np.full(1, x + offset)
            color = VARIANT_COLORS[variant]
            ax.plot(xs[reached], values[reached], "o", color=color, ms=3.5, alpha=0.8)
            ax.plot(xs[~reached], values[~reached], "^", mfc="none", color=color, ms=5)
            ax.hlines(np.median(values), x + offset - 1.6 * JITTER, x + offset + 1.6 * JITTER, color="k", lw=1.5)
    if not epochs.empty:
        ax.axhline(epochs["epochs"].max(), color="grey", ls=":", lw=1)
    ax.set_xticks(range(len(datasets)), datasets, rotation=30, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # epochs 1, 2, 5, 10, 20, ... written as such
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(alpha=0.3, axis="y")


def claims_figure(epochs: pd.DataFrame, thresholds: Thresholds, path: str | os.PathLike) -> None:
    """Write the figure of `epochs` (from `bvae.claims.epochs_to_region`) to `path`."""
    if epochs.empty:
        save_message("No training histories.", path)
        return
    protocols = list(epochs["protocol"].unique())
    columns = [(a, s) for a in epochs["arch"].unique() for s in SPLITS]
    datasets = list(epochs["dataset"].unique())
    top = 1.5 * (epochs["epochs"].max() + 1)
    size = (max(3.2, 0.55 * len(datasets) + 1) * len(columns), 2.8 * len(protocols))
    fig, axes = plt.subplots(len(protocols), len(columns), squeeze=False, sharey=True, figsize=size)
    for row, protocol in enumerate(protocols):
        for col, (arch, split) in enumerate(columns):
            part = epochs[(epochs["protocol"] == protocol) & (epochs["arch"] == arch) & (epochs["split"] == split)]
            ax = axes[row][col]
            panel(ax, part, datasets)
            ax.set_ylim(0.8, top)
            ax.set_title(f"{protocol}: {arch}, {split} (region {thresholds.region(split):g} %)", fontsize=8)
            if col == 0:
                ax.set_ylabel("epochs to the bound region", fontsize=8)
    handles = [plt.Line2D([], [], color=VARIANT_COLORS[v], marker="o", ls="", label=v) for v in OFFSETS]
    never = tuple(plt.Line2D([], [], color=VARIANT_COLORS[v], marker="^", mfc="none", ls="") for v in OFFSETS)
    handles += [never, plt.Line2D([], [], color="k", lw=1.5), plt.Line2D([], [], color="grey", ls=":", lw=1)]
    labels = [*OFFSETS, "never (plotted at epochs + 1)", "median", "last epoch"]
    fig.suptitle("Claim 1: first epoch whose loss is at or below bound · (1 + region / 100), per seed")
    fig.tight_layout()
    fig.legend(handles, labels, handler_map={tuple: HandlerTuple(ndivide=None)}, loc="lower center",
               ncol=len(handles), fontsize=8, bbox_to_anchor=(0.5, -0.03))  # fmt: skip
    save(fig, path)
