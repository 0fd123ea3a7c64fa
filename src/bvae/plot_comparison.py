"""The comparison figure: for every paper cell that the study covers, ours against the paper's, at a glance.

Panels by N (rows) and architecture × split (columns); inside a panel, one slot per d and variant. The paper's
`[min; max]` over its 100 seeds is a grey bar with its mean as a black tick; each protocol's `[min; max]` over our
seeds is a coloured bar with its mean as a dot, beside the paper's.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters and CI
import matplotlib.pyplot as plt
import pandas as pd

from bvae.plot_bound import save, save_message

PANELS = [("deep", "train"), ("deep", "test"), ("canonical", "train"), ("canonical", "test")]


def cells(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (protocol, arch, split, d, N, variant): paper range and mean, our range and mean."""
    keys = ["protocol", "arch", "split", "d", "N", "variant"]
    ranges = table[table["stat"] == "range"].set_index(keys)
    means = table[table["stat"] == "meanstd"].set_index(keys)["paper_a"].rename("paper_mean")
    return ranges.join(means).reset_index()


def comparison_figure(table: pd.DataFrame, path: str | os.PathLike) -> None:
    if table.empty:
        save_message("No dataset of this study is in the paper's tables.", path)
        return
    data = cells(table)
    sizes, protocols = sorted(data["N"].unique()), sorted(data["protocol"].unique())
    fig, axes = plt.subplots(len(sizes), len(PANELS), figsize=(4 * len(PANELS), 2.8 * len(sizes)), squeeze=False)
    width = 0.8 / (len(protocols) + 1)
    for row, n in enumerate(sizes):
        for col, (arch, split) in enumerate(PANELS):
            panel(axes[row][col], data[(data["N"] == n) & (data["arch"] == arch) & (data["split"] == split)],
                  protocols, width)  # fmt: skip
            axes[row][col].set_title(f"{arch}, {split}, N = {n}", fontsize=9)
    labelled = {
        label: handle for ax in axes.flat for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)
    }
    fig.suptitle("pct = 100 (loss − bound) / bound: published (grey, tick = mean), protocols (colour, dot = mean)")
    fig.tight_layout()
    fig.legend(labelled.values(), labelled.keys(), loc="lower center", ncol=len(labelled), fontsize=8,
               bbox_to_anchor=(0.5, -0.02))  # fmt: skip
    save(fig, path)


def panel(ax, data: pd.DataFrame, protocols: list[str], width: float) -> None:
    slots = sorted({(d, v) for d, v in zip(data["d"], data["variant"], strict=True)})
    for x, (d, variant) in enumerate(slots):
        cell = data[(data["d"] == d) & (data["variant"] == variant)]
        paper = cell.iloc[0]
        ax.vlines(x, paper["paper_a"], paper["paper_b"], color="0.6", lw=6, label="published" if x == 0 else None)
        if pd.notna(paper["paper_mean"]):
            ax.plot(x, paper["paper_mean"], "_", color="k", ms=10)
        for i, protocol in enumerate(protocols):
            ours = cell[cell["protocol"] == protocol]
            if ours.empty:
                continue
            o, pos, color = ours.iloc[0], x + (i + 1) * width, f"C{i}"
            ax.vlines(pos, o["min"], o["max"], color=color, lw=3, label=protocol if x == 0 else None)
            ax.plot(pos, o["mean"], "o", color=color, ms=4)
    ax.set_xticks(range(len(slots)), [f"d={d}\n{v}" for d, v in slots], fontsize=7)
    ax.axhline(0, color="k", lw=0.5)
    ax.tick_params(axis="y", labelsize=7)
