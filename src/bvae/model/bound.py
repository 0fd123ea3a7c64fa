"""The lower bound of the Bernoulli VAE's ELBO (method §2): its generic form B(W, b) and its closed-form optimum.

Everything lives on the rescaled data x̃ = 4x − 2, where the softplus Taylor bound turns the negative ELBO of an
affine decoder into a probabilistic-PCA objective with noise variance 4 (Tipping & Bishop 1999).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bvae.errors import ConfigError, DataError
from bvae.model.resources import bound_bytes, check_memory

NOISE_VAR = 4.0  # the variance of the PPCA objective that the Taylor bound produces


def rescale(x01: np.ndarray) -> np.ndarray:
    """x̃ = 4x − 2 in float64: binary data on the bound's scale (entries ±2)."""
    return 4.0 * np.asarray(x01, dtype=np.float64) - 2.0


def _scatter_about(xt: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Σ (x̃_i − c)(x̃_i − c)ᵀ / (n − 1): the ddof = 1 covariance of `xt` about an arbitrary centre."""
    if xt.shape[0] < 2:
        raise DataError(f"need at least 2 rows to form a covariance, got {xt.shape[0]}")
    centred = xt - centre
    return centred.T @ centred / (xt.shape[0] - 1)


def _bound_from_cov(W: np.ndarray, S: np.ndarray) -> float:
    """B = −d/2 + ½ [log det C + tr(C⁻¹ S)] with C = W Wᵀ + 4 I."""
    d = S.shape[0]
    C = W @ W.T + NOISE_VAR * np.eye(d)
    chol = np.linalg.cholesky(C)
    logdet = 2.0 * np.log(np.diag(chol)).sum()
    trace = np.trace(np.linalg.solve(C, S))
    return float(-d / 2 + 0.5 * (logdet + trace))


def bound_value(W: np.ndarray, b: np.ndarray, x01: np.ndarray) -> float:
    """The generic bound B(W, b) of an affine decoder γ = W z + b on 0/1 data `x01` (rows are observations).

    The data are centred at `b` rather than at their mean; at b = mean(x̃) this is the paper's B(W, b).
    """
    W = np.asarray(W, dtype=np.float64)
    xt = rescale(x01)
    if W.ndim != 2 or W.shape[0] != xt.shape[1]:
        raise DataError(f"W has shape {W.shape}, expected (d, latent_dim) with d = {xt.shape[1]}")
    return _bound_from_cov(W, _scatter_about(xt, np.asarray(b, dtype=np.float64)))


def closed_form_bound(eigenvalues: np.ndarray, latent_dim: int) -> float:
    """B* = −d/2 + ½ [Σ_{i≤κ, λ_i>4} (log λ_i + 1) + Σ_{other i} (log 4 + λ_i/4)] for descending eigenvalues."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    kept = np.zeros(lam.shape, dtype=bool)
    kept[:latent_dim] = lam[:latent_dim] > NOISE_VAR
    total = np.sum(np.log(lam[kept]) + 1.0) + np.sum(np.log(NOISE_VAR) + lam[~kept] / NOISE_VAR)
    return float(-lam.size / 2 + 0.5 * total)


def _sorted_eigh(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, tiny negatives from rounding clipped to 0) and matching eigenvectors of S."""
    lam, U = np.linalg.eigh(S)
    return np.clip(lam[::-1], 0.0, None), U[:, ::-1]


@dataclass(frozen=True)
class Bound:
    """The optimum of the bound on a training split, and its values on the training and test splits."""

    latent_dim: int
    d: int
    n_train: int
    n_test: int
    b: np.ndarray  # b* = mean(x̃) on the training split, shape (d,)
    W: np.ndarray  # W* = U_κ (Λ_κ − 4I)₊^½, shape (d, κ)
    M: np.ndarray  # encoder mean map (W*ᵀW* + 4I)⁻¹ W*ᵀ, shape (κ, d)
    sigma_z: np.ndarray  # diag Σ_z = 4 (W*ᵀW* + 4I)⁻¹, shape (κ,)
    eigenvalues: np.ndarray  # of the training S, descending, shape (d,)
    bound_train: float
    bound_test: float  # the paper's convention: test data centred at their own mean
    bound_test_strict: float  # test data centred at the training b*: a true bound on unseen data

    @property
    def log_sigma_z(self) -> np.ndarray:
        return np.log(self.sigma_z)


def check_latent_dim(latent_dim: int, d: int) -> None:
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int | np.integer) or not 1 <= latent_dim <= d:
        raise ConfigError(f"latent_dim = {latent_dim!r} is invalid: expected an integer from 1 to d = {d}")


def check_bound_memory(d: int, n: int) -> None:
    """ConfigError, before allocating, if the d × d matrices of the bound's optimum cannot fit in memory."""
    check_memory(bound_bytes(d, n), f"the bound of d = {d} columns (d × d matrices)")


def _optimal_decoder(lam: np.ndarray, U: np.ndarray, latent_dim: int) -> np.ndarray:
    """W* with R = I; columns whose eigenvalue is at most 4 are zero."""
    return U[:, :latent_dim] * np.sqrt(np.clip(lam[:latent_dim] - NOISE_VAR, 0.0, None))


def fit_bound(train: np.ndarray, test: np.ndarray, latent_dim: int) -> Bound:
    """The bound's optimum on the training rows and the bound's values on both splits (method §2).

    Arguments:
        train: the training split, an (n_train, d) array of 0/1 values (rows are observations).
        test: the test split, (n_test, d) with the same d.
        latent_dim: κ, the latent size, from 1 to d.

    Returns:
        A `Bound`: the optimum `W*`, `b*`, the encoder's mean map `M` and `Σ_z`, the training eigenvalues, and the
        bound on the training split (`bound_train`) and on the test split (`bound_test`, the test data centred at
        their own mean as in the paper; `bound_test_strict` at the training `b*`), in nats per row.

    Raises:
        DataError: the splits are not 2-D with the same width.
        ConfigError: `latent_dim` is not an integer from 1 to d, or the d × d matrices cannot fit in memory.

    Example:
        >>> from bvae import SimSettings, fit_bound, simulate
        >>> data = simulate(SimSettings(d=30, N=300))
        >>> bound = fit_bound(data.train, data.test, latent_dim=2)
        >>> bound.W.shape, bound.M.shape
        ((30, 2), (2, 30))
        >>> round(bound.bound_train, 2), round(bound.bound_test, 2)
        (20.43, 20.75)
    """
    check_bound_memory(np.shape(train)[-1], len(train) + len(test))
    xt_train, xt_test = rescale(train), rescale(test)
    if xt_train.ndim != 2 or xt_test.ndim != 2 or xt_train.shape[1] != xt_test.shape[1]:
        raise DataError(f"train {xt_train.shape} and test {xt_test.shape} must be 2-D with the same width")
    d = xt_train.shape[1]
    check_latent_dim(latent_dim, d)
    b = xt_train.mean(axis=0)
    lam, U = _sorted_eigh(_scatter_about(xt_train, b))
    W = _optimal_decoder(lam, U, latent_dim)
    precision = np.linalg.inv(W.T @ W + NOISE_VAR * np.eye(latent_dim))  # diagonal: W*'s columns are orthogonal
    return Bound(
        latent_dim=latent_dim,
        d=d,
        n_train=xt_train.shape[0],
        n_test=xt_test.shape[0],
        b=b,
        W=W,
        M=precision @ W.T,
        sigma_z=NOISE_VAR * np.diag(precision),
        eigenvalues=lam,
        bound_train=closed_form_bound(lam, latent_dim),
        bound_test=_bound_from_cov(W, _scatter_about(xt_test, xt_test.mean(axis=0))),
        bound_test_strict=_bound_from_cov(W, _scatter_about(xt_test, b)),
    )
