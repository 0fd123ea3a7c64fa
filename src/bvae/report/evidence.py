"""When is a difference between seed means decided? The noise rule of the claims report (`bvae.report.claims`).

Every comparison there is a linear combination of cell means (a mean over seeds: one variant's `pct` on one dataset,
or a per-seed derived quantity such as the over-fitting gap). Its standard error is SE = sqrt(Σ cᵢ² sᵢ² / nᵢ) over
the cells, and its sign is *decided* when the combination exceeds `k` standard errors, `k = claims.noise_se`:

- Small samples: the `k` is a large-sample (normal) threshold; with few seeds the standard errors are themselves
  uncertain, so the combination must exceed the Student-t quantile of the same one-sided level, Φ(−k) (2.3 % for
  k = 2), at the Welch–Satterthwaite degrees of freedom. With 3 seeds per variant that is 2.9 to 4.5 SE instead
  of 2; with the paper's 100 seeds it is 2.01. The fixed 2 SE rule would decide a pure-noise difference of two
  3-seed means 2.5 to 4 times as often as it claims.
- Printed numbers (the paper's cells, two decimals): a printed mean is off by up to half its last digit, so the
  combination first loses the worst-case printing error of its terms, and a printed standard deviation counts at the
  top of its rounding interval (`Cell.std` is that upper edge). A printed 0.00 is then never "no noise".
- Spreads (is one cell's seed-to-seed standard deviation smaller than another's?) use the F-test of their variance
  ratio at the same level Φ(−k), on the worst-case edges of printed standard deviations.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Cell:
    """A mean over `n` seeds with the seeds' standard deviation; `rounding`: the worst printing error of `mean`."""

    mean: float
    std: float
    n: int
    rounding: float = 0.0


@dataclass(frozen=True)
class Estimate:
    """A linear combination of cell means with its standard error, degrees of freedom and printing error."""

    value: float
    se: float
    df: float
    rounding: float

    def minus(self, constant: float) -> Estimate:
        """The estimate shifted by a known constant (a threshold): same noise."""
        return dataclasses.replace(self, value=self.value - constant)

    def text(self, k: float) -> str:
        return f"{self.value:+.3g} (SE {self.se:.2g}, decided beyond {margin(self, k):.2g})"


def combine(*terms: tuple[float, Cell]) -> Estimate:
    """Σ cᵢ meanᵢ over (cᵢ, cellᵢ), with SE = sqrt(Σ cᵢ² sᵢ²/nᵢ) and Welch–Satterthwaite degrees of freedom."""
    parts = [(c * c * cell.std**2 / cell.n, cell.n) for c, cell in terms]
    variance = sum(v for v, _ in parts)
    spread = sum(v * v / (n - 1) for v, n in parts if n > 1)
    df = variance**2 / spread if spread > 0 else math.inf  # no spread anywhere: a t quantile is not needed
    return Estimate(
        value=sum(c * cell.mean for c, cell in terms),
        se=math.sqrt(variance),
        df=df,
        rounding=sum(abs(c) * cell.rounding for c, cell in terms),
    )


def level(k: float) -> float:
    """The one-sided error level of a k-standard-error rule for large samples: Φ(−k)."""
    return float(stats.norm.sf(k))


def critical(df: float, k: float) -> float:
    """How many standard errors a difference must exceed at `df` degrees of freedom: the t quantile of Φ(k)."""
    return k if math.isinf(df) else float(stats.t.isf(level(k), df))


def margin(estimate: Estimate, k: float) -> float:
    """The distance from 0 beyond which the estimate's sign is decided: its printing error plus the noise."""
    return estimate.rounding + critical(estimate.df, k) * estimate.se


def sign(estimate: Estimate, k: float) -> int:
    """+1 or -1 when the estimate is beyond its margin on that side of 0, else 0 (inside noise or rounding)."""
    if abs(estimate.value) <= margin(estimate, k):
        return 0
    return 1 if estimate.value > 0 else -1


def within(estimate: Estimate, band: float, k: float) -> int:
    """+1 when |value| ≤ band beyond noise (the whole margin fits inside ±band), -1 when |value| > band beyond noise
    (the margin fits outside), 0 otherwise: an equivalence test (two one-sided tests) at the same level."""
    if abs(estimate.value) + margin(estimate, k) <= band:
        return 1
    if abs(estimate.value) - margin(estimate, k) > band:
        return -1
    return 0


def two_sided_p(estimate: Estimate) -> float:
    """The two-sided p-value of the estimate against 0 at its degrees of freedom (1.0 without noise at 0, 0.0
    without noise elsewhere)."""
    if estimate.se == 0:
        return 1.0 if estimate.value == 0 else 0.0
    return float(2 * stats.t.sf(abs(estimate.value) / estimate.se, estimate.df))


def narrower(wide: tuple[float, int], narrow: tuple[float, int], k: float) -> bool:
    """Is the standard deviation `wide[0]` (over `wide[1]` seeds) larger than `narrow[0]` beyond noise?

    One-sided F-test of the variance ratio at level Φ(−k); each std is the worst-case edge the caller chose
    (the lower edge of the wide one, the upper edge of the narrow one). A zero std against a positive one decides.
    """
    (s_wide, n_wide), (s_narrow, n_narrow) = wide, narrow
    if s_wide <= 0:
        return False
    if s_narrow <= 0:
        return True
    return float(stats.f.sf((s_wide / s_narrow) ** 2, n_wide - 1, n_narrow - 1)) <= level(k)
