"""The comparison figure: for every paper cell that the study covers, ours against the paper's, at a glance.

Panels by N and architecture (rows) and split (columns, train beside test), only those that hold a compared cell, so
that the paper's whole grid stays two panels wide and legible; inside a panel, one slot per d and variant. In a slot
the paper's `[min; max]` over its 100 seeds is a grey bar with its mean as a black tick, and each protocol that
trained the cell has a coloured bar (its `[min; max]` over our seeds) with its mean as a dot, side by side and centred
on the slot, so that every mark stays inside its own slot. A protocol keeps its colour in every panel; one that did
not train an architecture (a deep-only protocol) is simply absent from its panels.
"""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import pandas as pd

from bvae.plots.style import save, save_message
from bvae.report.tables import COLUMN_ORDER

ARCHS, SPLITS = ("deep", "canonical"), ("train", "test")
SLOT = 0.8  # of the unit between slots, the width that a slot's bars share
PAPER_COLOR = "0.6"
YLABEL = "pct = 100 (loss − bound) / bound [%]"


def _paired_cells(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (protocol, arch, split, d, N, variant): paper range and mean, our range and mean."""
    keys = ["protocol", "arch", "split", "d", "N", "variant"]
    ranges = table[table["stat"] == "range"].set_index(keys)
    means = table[table["stat"] == "meanstd"].set_index(keys)["paper_a"].rename("paper_mean")
    return ranges.join(means).reset_index()


def _offsets(count: int) -> list[float]:
    """Positions of `count` bars centred on a slot, SLOT wide in all."""
    step = SLOT / count
    return [(k - (count - 1) / 2) * step for k in range(count)]


def comparison_figure(table: pd.DataFrame, path: str | os.PathLike) -> None:
    if table.empty:
        save_message("No dataset of this study is in the paper's tables.", path)
        return
    data = _paired_cells(table)
    rows = [(n, arch) for n in sorted(data["N"].unique()) for arch in ARCHS if (data["arch"] == arch).any()]
    splits = [s for s in SPLITS if (data["split"] == s).any()]
    colors = {protocol: f"C{i}" for i, protocol in enumerate(sorted(data["protocol"].unique()))}
    slots = len(data[["d", "variant"]].drop_duplicates())
    size = (max(4.0, 0.8 * slots + 1.4) * len(splits), 3.0 * len(rows) + 0.9)
    fig, axes = plt.subplots(len(rows), len(splits), figsize=size, squeeze=False)
    for (row, (n, arch)), (col, split) in ((r, c) for r in enumerate(rows) for c in enumerate(splits)):
        ax = axes[row][col]
        part = data[(data["N"] == n) & (data["arch"] == arch) & (data["split"] == split)]
        if part.empty:  # a cell the study did not compare: say so rather than draw empty axes
            ax.axis("off")
            ax.text(0.5, 0.5, f"{arch}, {split}, N = {n}:\nno compared cell", ha="center", va="center", color="0.4")
            continue
        _draw_panel(ax, part, colors)
        ax.set_title(f"{arch}, {split}, N = {n}", fontsize=10)
        if col == 0:
            ax.set_ylabel(YLABEL, fontsize=9)
    handles = [plt.Line2D([], [], color=PAPER_COLOR, lw=7, label="published [min; max] (tick: mean, 100 seeds)")]
    handles += [plt.Line2D([], [], color=c, lw=3, marker="o", ms=5, label=f"{p} [min; max] (dot: mean){_only(data, p)}")
                for p, c in colors.items()]  # fmt: skip
    fig.suptitle("Our cells against the paper's published ones", fontsize=12)
    fig.tight_layout(rect=(0, 0.8 / size[1], 1, 1 - 0.45 / size[1]))  # room for the legend and the title
    fig.legend(handles=handles, loc="lower center", ncol=1, fontsize=9, frameon=False)
    save(fig, path)


def _only(data: pd.DataFrame, protocol: str) -> str:
    """The legend's ', deep only' for a protocol that trained some of the figure's architectures: its bars' absence
    from the other panels is by design."""
    mine = [arch for arch in ARCHS if ((data["protocol"] == protocol) & (data["arch"] == arch)).any()]
    return f", {' and '.join(mine)} only" if len(mine) < data["arch"].nunique() else ""


def _draw_panel(ax: plt.Axes, data: pd.DataFrame, colors: dict[str, str]) -> None:
    """One architecture, split and N: a slot per d and variant (the paper's column order), the paper's bar first."""
    order = {v: i for i, v in enumerate(COLUMN_ORDER)}
    slots = sorted({(d, v) for d, v in zip(data["d"], data["variant"], strict=True)}, key=lambda s: (s[0], order[s[1]]))
    protocols = [p for p in colors if p in set(data["protocol"])]  # those that trained this panel's cells
    place = dict(zip(["published", *protocols], _offsets(len(protocols) + 1), strict=True))
    bar = min(7.0, 40 / (len(protocols) + 1))  # points: bars of neighbouring marks never touch
    for x, (d, variant) in enumerate(slots):
        cell = data[(data["d"] == d) & (data["variant"] == variant)]
        paper = cell.iloc[0]
        ax.vlines(x + place["published"], paper["paper_a"], paper["paper_b"], color=PAPER_COLOR, lw=bar)
        if pd.notna(paper["paper_mean"]):
            ax.plot(x + place["published"], paper["paper_mean"], "_", color="k", ms=bar + 4, mew=1.5)
        for protocol in protocols:
            ours = cell[cell["protocol"] == protocol]
            if ours.empty:
                continue
            o = ours.iloc[0]
            ax.vlines(x + place[protocol], o["min"], o["max"], color=colors[protocol], lw=0.6 * bar)
            ax.plot(x + place[protocol], o["mean"], "o", color=colors[protocol], ms=4, mec="white", mew=0.5)
    for x in range(1, len(slots)):
        ax.axvline(x - 0.5, color="0.85", lw=0.8)  # slot boundaries: which marks belong together
    ax.set_xticks(range(len(slots)), [f"d = {d}\n{v}" for d, v in slots], fontsize=8)
    ax.set_xlim(-0.5, len(slots) - 0.5)
    ax.axhline(0, color="k", lw=0.5)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(alpha=0.3, axis="y")
