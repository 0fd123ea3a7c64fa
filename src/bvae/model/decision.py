"""Decision support for the latent size (method §3): which eigenvalues of S can carry a column of W*."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bvae.model.bound import NOISE_VAR, fit_bound
from bvae.model.likelihood import exact_nll


def mp_edge(d: int, n: int) -> float:
    """The Marchenko–Pastur edge 4 (1 + √(d/n))² for n degrees of freedom: where pure-noise sample eigenvalues on the
    ±2 scale end."""
    return NOISE_VAR * (1 + np.sqrt(d / n)) ** 2


@dataclass(frozen=True)
class DecisionSupport:
    eigenvalues: np.ndarray  # descending
    threshold: float  # 4: only eigenvalues above it give W* a non-zero column
    mp_edge: float
    n_eig_gt_4: int
    n_eig_gt_mp: int


def decision_support(eigenvalues: np.ndarray, n_train: int) -> DecisionSupport:
    """Counts of the training eigenvalues above 4 (the paper) and above the Marchenko–Pastur edge (noise-aware), of a
    covariance about the training mean: n_train − 1 degrees of freedom (with n_train, pure noise of d = 200 and
    n_train = 10 rose above the edge in 40 % of draws)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    edge = mp_edge(lam.size, n_train - 1)
    return DecisionSupport(
        eigenvalues=lam,
        threshold=NOISE_VAR,
        mp_edge=edge,
        n_eig_gt_4=int(np.sum(lam > NOISE_VAR)),
        n_eig_gt_mp=int(np.sum(lam > edge)),
    )


NLL_COLUMNS = ("nll_true_train", "nll_true_test")  # None for data without a generating model


def bound_summary(data, latent_dim: int) -> tuple[dict, np.ndarray]:
    """The bounds.parquet row of a dataset (method §2–3) and its descending training eigenvalues.

    Arguments:
        data: a `BinaryData` (from `load_binary`, `read_dataset` or `simulate`).
        latent_dim: κ, from 1 to d.

    Returns:
        (row, eigenvalues): the row holds the dataset's name and sizes, the bound on each split, the eigenvalue
        counts of the decision support (above 4 and above the Marchenko–Pastur edge) and, for a simulated dataset,
        the exact NLL of its generating model per split (None otherwise); the eigenvalues descend.

    Raises:
        ConfigError: `latent_dim` is out of range, or the bound cannot fit in memory.
    """
    fit = fit_bound(data.train, data.test, latent_dim)
    support = decision_support(fit.eigenvalues, data.n_train)
    row = {
        "dataset": data.name,
        "d": data.d,
        "N": data.n,
        "n_train": data.n_train,
        "n_test": data.n_test,
        "latent_dim": latent_dim,
        "bound_train": fit.bound_train,
        "bound_test": fit.bound_test,
        "bound_test_strict": fit.bound_test_strict,
        "n_eig_gt_4": support.n_eig_gt_4,
        "n_eig_gt_mp": support.n_eig_gt_mp,
        "mp_edge": support.mp_edge,
        **(exact_nll(data) or dict.fromkeys(NLL_COLUMNS)),
    }
    return row, fit.eigenvalues


def bound_tables(datasets, latent_dims: Iterable[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """bounds.parquet (a `bound_summary` row per dataset and latent size: each protocol reads the bound at its own)
    and eigenvalues.parquet (dataset, index, eigenvalue)."""
    rows, eigenvalues = [], []
    for data in datasets:
        for kappa in sorted(set(latent_dims)):
            row, lam = bound_summary(data, int(kappa))
            rows.append(row)
            print(f"{data.name}, κ = {kappa}: bound_train {row['bound_train']:.3f}, bound_test {row['bound_test']:.3f}")
        eigenvalues.append(pd.DataFrame({"dataset": data.name, "index": range(1, lam.size + 1), "eigenvalue": lam}))
    bounds = pd.DataFrame(rows).astype(dict.fromkeys(NLL_COLUMNS, float))  # None -> null, even in every row
    return bounds, pd.concat(eigenvalues, ignore_index=True)


def support_of(bounds: pd.DataFrame, eigenvalues: pd.DataFrame, name: str) -> DecisionSupport:
    """One dataset's decision support from the two tables of `bound_tables`."""
    n_train = int(bounds.loc[bounds["dataset"] == name, "n_train"].iloc[0])  # a row per latent size, the same n
    return decision_support(eigenvalues.loc[eigenvalues["dataset"] == name, "eigenvalue"].to_numpy(), n_train)
