"""The exact likelihood of the generating model of the simulated data (method §4), as a reference for the bound.

p(x) = ∫ Π_j Bern(x_j | σ(θ_j(u))) N(u; 0, diag(score_sd²)) du with θ = B u. The average negative log-likelihood
−(1/n) Σ_i log p(x_i) of a split is what no model can beat on fresh data in expectation (cross-entropy ≥ entropy),
so it shows how tight the bound is and how much of a loss below the bound is overfitting. Numpy only.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from bvae.data.simulate import SimSettings, loadings
from bvae.errors import ConfigError, DataError
from bvae.io import read_metadata

SPAN = 12.0  # the grid covers ±SPAN score sds: the prior mass outside is below e^(−SPAN²/2) ≈ 5e-32
FIRST_STEPS = 1  # grid points per length scale of the first try; doubled until the per-row values agree to TOL
MAX_STEPS = 64
TOL = 1e-10  # nats, per row


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    """log Σ exp(a) along `axis` without overflow or underflow."""
    top = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(a - top), axis=axis))


def _grid_rule(sd: float, loading: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Points u_q and log weights with ∫ f(u) N(u; 0, sd²) du ≈ Σ_q w_q f(u_q): the trapezoidal rule on ℝ.

    For integrands analytic in a strip around the real line the equispaced rule converges geometrically in
    1/step (Trefethen & Weideman 2014), unlike Gauss–Hermite, whose nodes follow the prior's width only and need
    hundreds of nodes once the prior is much wider than the logistic factor's scale 1/|b| (score_sd = 30: the
    mean still 0.005 nats off at 150 nodes, single rows 0.4 off at 200; numpy's rule fails beyond about 300
    nodes). Here the step resolves both scales: the error of the Gaussian is about exp(−2π²(sd/h)²), that of the
    logistic factor, with poles at Im u = ±π/|b|, exp(−2π²/(|b| h)).
    """
    h = min(sd, 1.0 / np.max(np.abs(loading))) / steps
    half = int(np.ceil(SPAN * sd / h))
    u = h * np.arange(-half, half + 1)
    return u, np.log(h / (sd * np.sqrt(2 * np.pi))) - 0.5 * (u / sd) ** 2


def _factor_log_integral(stat: np.ndarray, loading: np.ndarray, sd: float, steps: int) -> np.ndarray:
    """log ∫ exp(s·u − Σ_j softplus(b_j u)) N(u; 0, sd²) du for each s in `stat`.

    Σ_j [x_j b_j u − softplus(b_j u)] = log Π_j Bern(x_j | σ(b_j u)): the rows enter only through s = x·b, so the
    integral is computed once per distinct s (at most block + 1 values for equal loadings).
    """
    values, inverse = np.unique(stat, return_inverse=True)
    u, log_w = _grid_rule(sd, loading, steps)
    log_f = np.outer(values, u) - np.logaddexp(0.0, np.outer(u, loading)).sum(axis=1)
    return _logsumexp(log_w + log_f, axis=1)[inverse.ravel()]


def log_likelihood(x: np.ndarray, B: np.ndarray, score_sd, steps: int) -> np.ndarray:
    """log p(x_i) of every row of the 0/1 matrix `x` under loadings `B` (d × K) and independent N(0, sd_k²) scores.

    Exact factorisation, not an approximation: the scores are independent and, when every dimension loads on at
    most one score, the integrand is a product of one factor per score, so the K-dimensional (tensor) integral is
    the product of K one-dimensional integrals, each by the rule of `grid_rule` with `steps` points per length
    scale. A dimension without loadings is Bernoulli(½) whatever u is and contributes exactly −log 2.
    """
    x = np.asarray(x, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if B.ndim != 2 or B.shape[0] != x.shape[1] or B.shape[1] != len(score_sd):
        raise DataError(f"loadings of shape {B.shape} do not fit {x.shape[1]} dimensions and {len(score_sd)} scores")
    if np.any(np.count_nonzero(B, axis=1) > 1):
        raise ConfigError("a dimension loads on more than one score; the exact likelihood needs disjoint blocks")
    loaded = np.any(B != 0, axis=1)
    total = np.full(x.shape[0], -np.log(2.0) * np.count_nonzero(~loaded))
    for k, sd in enumerate(score_sd):
        block = B[:, k] != 0
        if block.any():
            total += _factor_log_integral(x[:, block] @ B[block, k], B[block, k], float(sd), steps)
    return total


def converged_log_likelihood(x: np.ndarray, B: np.ndarray, score_sd) -> tuple[np.ndarray, int]:
    """`log_likelihood` with the grid refined twofold until no row changes by more than TOL; values and steps."""
    steps, previous = FIRST_STEPS, log_likelihood(x, B, score_sd, FIRST_STEPS)
    while steps < MAX_STEPS:
        steps *= 2
        current = log_likelihood(x, B, score_sd, steps)
        if np.max(np.abs(current - previous), initial=0.0) <= TOL:
            return current, steps
        previous = current
    raise ConfigError(f"score_sd = {list(score_sd)}: the quadrature did not converge with {MAX_STEPS} steps")


RECORDED = {"score_sd": "a list of two numbers", "test_fraction": "a number"}  # the other settings: integers


def _recorded_fits(name: str, value) -> bool:
    """Whether a recorded generating setting has the type SimSettings needs (JSON holds anything)."""
    if name == "score_sd":
        pair = isinstance(value, list | tuple) and len(value) == 2
        return pair and all(_recorded_fits("test_fraction", v) for v in value)
    kinds = int | float if name == "test_fraction" else int
    return isinstance(value, kinds) and not isinstance(value, bool)


def _generating_settings(data) -> SimSettings | None:
    """The SimSettings recorded in a simulated dataset's metadata; None for user data and for examples, whose
    recorded settings describe how they were made, not a generating model."""
    recorded = data.metadata.get("settings")
    if not isinstance(recorded, dict) or set(recorded) != {f.name for f in dataclasses.fields(SimSettings)}:
        return None
    for name, value in recorded.items():
        if not _recorded_fits(name, value):
            raise DataError(
                f"dataset {data.name}: its recorded generating settings give {name} = {value!r}; expected "
                f"{RECORDED.get(name, 'an integer')}"
            )
    settings = SimSettings(**{**recorded, "score_sd": tuple(recorded["score_sd"])})
    try:
        settings.check()
    except ConfigError as exc:
        raise DataError(f"dataset {data.name}: its recorded generating settings give {exc}") from None
    if settings.d != data.d:
        raise DataError(f"dataset {data.name}: settings give d = {settings.d}, but the data have {data.d} columns")
    return settings


def with_recorded_settings(data, path: str | os.PathLike):
    """`data` with the generating settings that the Parquet file `path` records (a simulated dataset of the
    project), for loaders that do not keep the metadata; `data` unchanged for any other file."""
    recorded = read_metadata(path).get("settings") if Path(path).suffix.lower() == ".parquet" else None
    return data if recorded is None else dataclasses.replace(data, metadata={**data.metadata, "settings": recorded})


def exact_nll(data) -> dict | None:
    """{"nll_true_train", "nll_true_test"}: −(1/n) Σ log p(x_i) per split under the generating model, in nats.

    None when the data carry no generating settings (user and example data).
    """
    settings = _generating_settings(data)
    if settings is None:
        return None
    B = loadings(settings.d, settings.block)
    return {
        f"nll_true_{split}": float(-converged_log_likelihood(x, B, settings.score_sd)[0].mean())
        for split, x in (("train", data.train), ("test", data.test))
    }


def marginal_nll(train: np.ndarray, x: np.ndarray) -> float:
    """−(1/n) Σ_i log p(x_i) under independent Bernoulli columns with the training split's column means, in nats.

    The reference for a VAE whose latent code carries nothing (collapsed, decoder bias fitted): on the training
    split it is, up to the smoothing, the best such a model can do. Add-one smoothing keeps a column that is
    constant in training finite on the test split.
    """
    p = (train.sum(axis=0) + 1.0) / (len(train) + 2.0)
    return float(-(x @ np.log(p) + (1.0 - x) @ np.log1p(-p)).mean())
