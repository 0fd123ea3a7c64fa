"""Figures that need no training: the softplus Taylor bound (Figure 3), its third derivative (Figure 4), scree plots."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters and CI
import matplotlib.pyplot as plt
import numpy as np

from bvae.decision import DecisionSupport
from bvae.io import atomic_path


def neg_softplus(gamma: np.ndarray) -> np.ndarray:
    """h(γ) = −log(1 + e^γ), computed without overflow."""
    return -np.logaddexp(0.0, gamma)


def taylor2(gamma: np.ndarray) -> np.ndarray:
    """The degree-2 Taylor polynomial of h at 0: −log 2 − γ/2 − γ²/8."""
    return -np.log(2.0) - gamma / 2 - gamma**2 / 8


def third_derivative(gamma: np.ndarray) -> np.ndarray:
    """h'''(γ) = −σ(γ)(1 − σ(γ))(1 − 2σ(γ))."""
    s = 1 / (1 + np.exp(-gamma))
    return -s * (1 - s) * (1 - 2 * s)


def save(fig: plt.Figure, path: str | os.PathLike) -> None:
    """Save a PNG atomically and release the figure."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)


def figure3(path: str | os.PathLike) -> None:
    gamma = np.linspace(-8, 8, 801)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(gamma, neg_softplus(gamma), label=r"$h(\gamma) = -\log(1+e^\gamma)$", lw=2)
    ax.plot(gamma, taylor2(gamma), "--", label=r"$-\log 2 - \gamma/2 - \gamma^2/8$", lw=2)
    ax.set(xlabel=r"$\gamma$", ylabel="value", title="Figure 3: h and its Taylor polynomial below it")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, path)


def figure4(path: str | os.PathLike) -> None:
    gamma = np.linspace(-8, 8, 801)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(gamma, third_derivative(gamma), lw=2)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(
        xlabel=r"$\gamma$",
        ylabel=r"$h'''(\gamma)$",
        title="Figure 4: third derivative of h (odd, one-signed)",
    )
    ax.grid(alpha=0.3)
    save(fig, path)


def scree(support: DecisionSupport, title: str, path: str | os.PathLike, show: int = 30) -> None:
    """The leading eigenvalues of S with the threshold 4 and the Marchenko–Pastur edge."""
    lam = support.eigenvalues[: min(show, support.eigenvalues.size)]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(np.arange(1, lam.size + 1), lam, "o-", ms=4)
    ax.axhline(support.threshold, color="C1", ls="--", label=f"4 (bound): {support.n_eig_gt_4} above")
    ax.axhline(
        support.mp_edge,
        color="C2",
        ls=":",
        label=f"MP edge {support.mp_edge:.2f}: {support.n_eig_gt_mp} above",
    )
    ax.set(xlabel="index i", ylabel=r"eigenvalue $\lambda_i$ of S", title=f"Scree plot: {title}")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, path)
