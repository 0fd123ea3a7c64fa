"""Figures that need no training: the softplus Taylor bound (Figure 3), its third derivative (Figure 4), scree plots."""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from bvae.model.decision import DecisionSupport
from bvae.plots.style import save


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
        title="Figure 4: third derivative of h, point-symmetric:\n"
        r"negative for $\gamma < 0$, positive for $\gamma > 0$",
    )
    # what the sign pattern is for: h''' has the sign of γ, so the Lagrange remainder is never negative; lower
    # right, where the curve is positive, the note stays clear of it
    ax.text(
        0.97,
        0.04,
        "$h'''$ has the sign of $\\gamma$,\nso the Taylor remainder\n"
        r"$h'''(\xi)\,\gamma^3/6 \geq 0$ on both sides",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize="small",
    )
    ax.grid(alpha=0.3)
    save(fig, path)


def _plain_log_ticks(ax: plt.Axes) -> None:
    """Label a log y-axis with plain numbers (4, 5, 6 or 2, 5, 10, 20) instead of 4×10⁰, unlabelled minor ticks."""
    lo, hi = ax.get_ylim()
    subs = (1.0, 2.0, 5.0) if hi / lo > 10 else tuple(float(k) for k in range(1, 10))  # within a decade: every digit
    ax.yaxis.set_major_locator(LogLocator(subs=subs))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def scree(support: DecisionSupport, title: str, path: str | os.PathLike, show: int = 30) -> None:
    """The leading `show` eigenvalues of S with the threshold 4 and the Marchenko–Pastur edge."""
    lam = support.eigenvalues[: min(show, support.eigenvalues.size)]
    total = support.eigenvalues.size
    which = f"all {total}" if lam.size == total else f"leading {lam.size} of {total}"
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(np.arange(1, lam.size + 1), lam, "o-", ms=4)
    ax.axhline(support.threshold, color="C1", ls="--", label=f"4 (bound): {support.n_eig_gt_4} above")
    ax.axhline(
        support.mp_edge,
        color="C2",
        ls=":",
        label=f"MP edge {support.mp_edge:.2f}: {support.n_eig_gt_mp} above",
    )
    ax.set(xlabel=f"index i ({which} eigenvalues)", ylabel=r"eigenvalue $\lambda_i$ of S", title=f"Scree plot: {title}")
    ax.set_yscale("log")
    _plain_log_ticks(ax)
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, path)
