"""What every figure shares: the file backend, the variants' colours, atomic PNG writing and the figure that says
why there is nothing to draw."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters and CI
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

from bvae.io import atomic_path  # noqa: E402

VARIANT_COLORS = {"vanilla": "C0", "preinit": "C1"}


def save(fig: plt.Figure, path: str | os.PathLike) -> None:
    """Save a PNG atomically and release the figure."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)


def save_message(text: str, path: str | os.PathLike) -> None:
    """A figure that only says why there is nothing to draw, so that a rule's output always exists."""
    fig, ax = plt.subplots(figsize=(6, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    save(fig, path)
