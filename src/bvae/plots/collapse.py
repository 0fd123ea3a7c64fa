"""The collapse map: when each deep run's latent code collapsed, per dataset, protocol and variant.

One panel per dataset (rows N, columns d), only for the datasets that were run. In a panel each protocol has a slot
(ordered by learning rate, then name) and in it each variant a column of points, one per seed (preinit left, the
paper's column order): y is the epoch from which the run's test KL stays below `bvae.report.fidelity.COLLAPSED_KL`
(log scale; see `bvae.report.fidelity.collapse_epochs` for why the KL and not method §6's active units); runs whose
code carries information to the end sit in the band "none" above the top. The tick under a slot counts its collapsed
seeds; the panel title gives the paper's deep vanilla training range (its Table 2: pct [min; max] over 100 seeds)
and what that range implies.
"""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bvae.plots.style import VARIANT_COLORS, save, save_message
from bvae.report.fidelity import COLLAPSED_KL
from bvae.report.tables import COLUMN_ORDER

IMPLIED = {"none": "no seed collapsed", "some": "some seeds may have collapsed", "all": "every seed collapsed",
           "unmeasured": "no collapsed seed of ours to measure the level"}  # fmt: skip
SPREAD = 0.12  # half-width over which a variant's seeds spread in its column
COLUMNS = {v: (i - (len(COLUMN_ORDER) - 1) / 2) * 0.36 for i, v in enumerate(COLUMN_ORDER)}  # variant -> x offset


def _panel_title(d: int, n: int, paper: pd.DataFrame) -> str:
    cell = paper[(paper["d"] == d) & (paper["N"] == n) & (paper["variant"] == "vanilla")]
    if cell.empty:
        return f"d = {d}, N = {n}"
    row = cell.iloc[0]
    published = f"[{row['paper_a']:.2f}; {row['paper_b']:.2f}] %"
    return f"d = {d}, N = {n}\npublished vanilla train pct [min; max]: {published}\n→ {IMPLIED[row['collapsed']]}"


def _slot_label(protocol: str, cell: pd.DataFrame) -> str:
    """The protocol's name, broken at its parts, over its collapsed seeds per variant drawn."""
    counts = [f"{int(part['collapse_epoch'].notna().sum())}/{len(part)} {v}"
              for v in COLUMN_ORDER if len(part := cell[cell["variant"] == v])]  # fmt: skip
    return protocol.replace("_", "_\n") + "\ncollapsed:\n" + "\n".join(counts)


def collapse_map(runs: pd.DataFrame, paper: pd.DataFrame, path: str | os.PathLike) -> None:
    """`runs`: one row per deep run with protocol, dataset, d, N, variant, lr, epochs, collapse_epoch (NaN: none);
    `paper`: `bvae.report.fidelity.paper_collapse(runs)`."""
    if runs.empty:
        save_message("No deep run at N >= 5000 has finished yet.", path)
        return
    sizes, dims = sorted(runs["N"].unique()), sorted(runs["d"].unique())
    protocols = runs.groupby("protocol")["lr"].min().reset_index().sort_values(["lr", "protocol"])["protocol"].tolist()
    top = runs["epochs"].max()
    width = max(4.2, 1.3 * len(protocols) + 1.2)
    fig, axes = plt.subplots(len(sizes), len(dims), figsize=(width * len(dims), 4.2 * len(sizes)), squeeze=False)
    for (i, n), (j, d) in ((a, b) for a in enumerate(sizes) for b in enumerate(dims)):
        ax, cell = axes[i][j], runs[(runs["N"] == n) & (runs["d"] == d)]
        if cell.empty:  # a dataset the study did not run: no empty axes, a word instead
            ax.axis("off")
            ax.text(0.5, 0.5, f"d = {d}, N = {n}: not run", ha="center", va="center", color="0.4")
            continue
        here = [p for p in protocols if p in set(cell["protocol"])]
        for x, protocol in enumerate(here):
            for variant, offset in COLUMNS.items():
                part = cell[(cell["protocol"] == protocol) & (cell["variant"] == variant)]
                xs = x + offset + np.linspace(-SPREAD, SPREAD, len(part)) if len(part) > 1 else [x + offset] * len(part)
                y = part["collapse_epoch"].fillna(1.6 * top)
                ax.scatter(xs, y, color=VARIANT_COLORS[variant], alpha=0.75, s=30, edgecolors="white", linewidths=0.5)
        ax.set_xticks(range(len(here)), [_slot_label(p, cell[cell["protocol"] == p]) for p in here], fontsize=8)
        ax.set_xlim(-0.6, len(here) - 0.4)
        for x in range(1, len(here)):
            ax.axvline(x - 0.5, color="0.85", lw=0.8)
        ax.set_yscale("log")
        ax.axhline(1.25 * top, color="0.6", lw=0.8)
        ax.set_ylim(0.8, 2.2 * top)
        ticks = [t for t in (1, 3, 10, 30, 100, 300, 1000) if t <= top]
        ax.set_yticks([*ticks, 1.6 * top], [*map(str, ticks), "none"], fontsize=9)
        ax.minorticks_off()
        ax.set_title(_panel_title(d, n, paper), fontsize=10)
        ax.set_ylabel("epoch of collapse", fontsize=9)
    drawn = [v for v in COLUMN_ORDER if v in set(runs["variant"])]
    handles = [plt.Line2D([], [], ls="", marker="o", color=VARIANT_COLORS[v], label=f"{v}, one point per seed")
               for v in drawn]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
    fig.suptitle(f"Deep VAE: epoch from which each run's test KL stays below {COLLAPSED_KL} nats (collapse); "
                 "none: it never does", fontsize=12)  # fmt: skip
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    save(fig, path)
