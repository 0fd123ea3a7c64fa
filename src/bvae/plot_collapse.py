"""The collapse map: when each deep run's latent code collapsed, against its learning rate, per dataset.

One panel per dataset (rows N, columns d). A point is one run: x its learning rate (runs of the same rate spread a
little apart by decoder family), y the epoch from which its test KL stays below `bvae.calibration.COLLAPSED_KL`
(log scale; see `bvae.calibration.collapse_epochs` for why the KL and not method §6's active units); runs whose code
carries information to the end sit in the band "none" above the top. Colour is the variant, marker the decoder
family (initialisation, batch size, ...). The panel title gives what the paper's training range implies.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters and CI
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bvae.calibration import COLLAPSED_KL
from bvae.plot_bound import save, save_message
from bvae.plot_training import VARIANT_COLORS

MARKERS = "o^sDvP*X"
IMPLIED = {"none": "no seed collapsed", "some": "some seeds collapsed", "all": "every seed collapsed"}


def panel_title(d: int, n: int, paper: pd.DataFrame) -> str:
    cell = paper[(paper["d"] == d) & (paper["N"] == n)]
    if cell.empty:
        return f"d = {d}, N = {n}"
    row = cell.iloc[0]
    return f"d = {d}, N = {n}\npublished: {IMPLIED[row['collapsed']]} [{row['vae_a']:.2f}; {row['vae_b']:.2f}] %"


def collapse_map(runs: pd.DataFrame, paper: pd.DataFrame, path: str | os.PathLike) -> None:
    """`runs`: one row per deep run with dataset, d, N, variant, lr, family, epochs, collapse_epoch (NaN: none);
    `paper`: `bvae.calibration.paper_collapse()`."""
    if runs.empty:
        save_message("No deep run at N >= 5000 has finished yet.", path)
        return
    sizes, dims = sorted(runs["N"].unique()), sorted(runs["d"].unique())
    families = sorted(runs["family"].unique())
    top = runs["epochs"].max()
    fig, axes = plt.subplots(len(sizes), len(dims), figsize=(4.2 * len(dims), 3.6 * len(sizes)), squeeze=False)
    for (i, n), (j, d) in ((a, b) for a in enumerate(sizes) for b in enumerate(dims)):
        ax, cell = axes[i][j], runs[(runs["N"] == n) & (runs["d"] == d)]
        for k, family in enumerate(families):
            for variant, color in VARIANT_COLORS.items():
                part = cell[(cell["family"] == family) & (cell["variant"] == variant)]
                x = part["lr"] * 1.04 ** (k - (len(families) - 1) / 2)  # side by side at one learning rate
                y = part["collapse_epoch"].fillna(1.6 * top)
                ax.scatter(x, y, marker=MARKERS[k % len(MARKERS)], color=color, alpha=0.7, s=28)
        ax.set_xscale("log")
        rates = sorted(runs["lr"].unique())
        ax.set_xticks(rates, [f"{r:.0e}".replace("e-0", "e-") for r in rates], fontsize=7)
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.axhline(1.25 * top, color="0.7", lw=0.8)
        ax.set_ylim(0.8, 2.2 * top)
        ticks = [t for t in (1, 3, 10, 30, 100, 300, 1000) if t <= top]
        ax.set_yticks([*ticks, 1.6 * top], [*map(str, ticks), "none"])
        ax.set_title(panel_title(d, n, paper), fontsize=9)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("epoch of collapse")
        if cell.empty:
            ax.text(0.5, 0.5, "not run", transform=ax.transAxes, ha="center", va="center", color="0.5")
    handles = [plt.Line2D([], [], ls="", marker=MARKERS[k % len(MARKERS)], color="0.3", label=f)
               for k, f in enumerate(families)]  # fmt: skip
    handles += [plt.Line2D([], [], ls="", marker="o", color=c, label=v) for v, c in VARIANT_COLORS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=8, frameon=False)
    fig.suptitle(f"Deep VAE: epoch from which each run's test KL stays below {COLLAPSED_KL} nats (collapse)")
    fig.tight_layout(rect=(0, 0.04 + 0.025 * np.ceil(len(handles) / 4), 1, 0.97))
    save(fig, path)
