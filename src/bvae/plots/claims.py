"""The claims figure: epochs to the bound region per dataset and variant (claim 1 of `bvae.report.claims`).

Panels by protocol and architecture (rows) and split (columns). In a panel, each dataset has a slot per variant: one
dot per seed at the first epoch in the bound region and a bar at the median, on a log scale, so that epoch 1 and
epoch 300 both stay readable. Each row has its own epoch axis, up to its architecture's last epoch (deep 300,
canonical 50 under `calibrated`): a seed that never reaches the region sits in the band "never" above that row's last
epoch, apart from the seeds that reach it in the last epoch.
"""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from bvae.plots.style import VARIANT_COLORS, save, save_message
from bvae.report.claims import SPLITS, Thresholds, restrict_epochs

OFFSETS = {"preinit": -0.2, "vanilla": 0.2}  # the paper's column order: preinit left of vanilla
JITTER = 0.08  # half-width over which a slot's seeds are spread
NEVER, CEILING = 1.8, 1.35  # never-reaching seeds at NEVER × the last epoch; the band "never" starts at CEILING × it


def placed(seeds: pd.DataFrame, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Each seed's height (its first epoch in the region, or the band "never" above the panel's `last` epoch) and
    whether it reached."""
    reached = seeds["first"].notna().to_numpy()
    return np.where(reached, seeds["first"], NEVER * last).astype(float), reached


def _draw_panel(ax: plt.Axes, epochs: pd.DataFrame, datasets: list[str], last: int) -> None:
    for x, dataset in enumerate(datasets):
        for variant, offset in OFFSETS.items():
            seeds = epochs[(epochs["dataset"] == dataset) & (epochs["variant"] == variant)]
            if seeds.empty:
                continue
            values, reached = placed(seeds, last)
            xs = x + offset + np.linspace(-JITTER, JITTER, len(values)) if len(values) > 1 else np.full(1, x + offset)
            color = VARIANT_COLORS[variant]
            ax.plot(xs[reached], values[reached], "o", color=color, ms=4.5, alpha=0.8, mec="white", mew=0.4)
            ax.plot(xs[~reached], values[~reached], "o", mfc="none", color=color, ms=4.5)
            median = np.median(restrict_epochs(seeds))  # a median past the last epoch: in the band "never"
            y = median if median <= last else NEVER * last
            ax.hlines(y, x + offset - 1.6 * JITTER, x + offset + 1.6 * JITTER, color="k", lw=1.5)
    ax.axhline(last, color="grey", ls=":", lw=1)
    ax.axhspan(CEILING * last, 2.5 * last, color="0.93", lw=0)
    for x in range(1, len(datasets)):
        ax.axvline(x - 0.5, color="0.85", lw=0.8)
    ax.set_xticks(range(len(datasets)), [d.replace("_", "\n") for d in datasets], fontsize=9)
    ax.set_xlim(-0.5, len(datasets) - 0.5)
    ax.set_yscale("log")
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500) if t < CEILING * last / 1.3]
    ax.set_yticks([*ticks, last, NEVER * last], [*map(str, ticks), f"{last} (last)", "never"], fontsize=9)
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(0.8, 2.5 * last)
    ax.grid(alpha=0.3, axis="y")


def _last_epoch(epochs: pd.DataFrame, protocol: str, arch: str) -> int:
    """The last epoch of a row's panels: its own architecture's, not the protocol's longest (deep 300, canonical 50)."""
    return int(epochs.loc[(epochs["protocol"] == protocol) & (epochs["arch"] == arch), "epochs"].max())


def claims_figure(epochs: pd.DataFrame, thresholds: Thresholds, path: str | os.PathLike) -> None:
    """Write the figure of `epochs` (from `bvae.report.claims.epochs_to_region`) to `path`."""
    if epochs.empty:
        save_message("No training histories.", path)
        return
    rows = epochs[["protocol", "arch"]].drop_duplicates().itertuples(index=False)
    rows = list(rows)
    datasets = list(epochs["dataset"].unique())
    size = (2 * max(4.0, 0.85 * len(datasets) + 1.2), 3.2 * len(rows) + 0.9)
    fig, axes = plt.subplots(len(rows), len(SPLITS), squeeze=False, figsize=size)
    for (row, (protocol, arch)), (col, split) in ((r, c) for r in enumerate(rows) for c in enumerate(SPLITS)):
        part = epochs[(epochs["protocol"] == protocol) & (epochs["arch"] == arch) & (epochs["split"] == split)]
        ax = axes[row][col]
        _draw_panel(ax, part, datasets, _last_epoch(epochs, protocol, arch))
        ax.set_title(f"{protocol}, {arch}, {split} (region: bound + {thresholds.region(split):g} %)", fontsize=10)
        if col == 0:
            ax.set_ylabel("epochs to the bound region", fontsize=9)
    handles = [plt.Line2D([], [], color=VARIANT_COLORS[v], marker="o", ls="", label=f"{v}, a seed") for v in OFFSETS]
    handles += [plt.Line2D([], [], color="0.4", marker="o", mfc="none", ls="", label="a seed that never reaches"),
                plt.Line2D([], [], color="k", lw=1.5, label="median (never: epochs + 1)"),
                plt.Line2D([], [], color="grey", ls=":", lw=1, label="last epoch")]  # fmt: skip
    fig.suptitle("Claim 1: first epoch whose loss is at or below bound · (1 + region / 100), per seed", fontsize=12)
    fig.tight_layout(rect=(0, 0.7 / size[1], 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
    save(fig, path)
