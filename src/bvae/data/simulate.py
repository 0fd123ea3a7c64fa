"""The simulated datasets of method §4: a sparse two-factor logistic model, generated once from a recorded seed."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from bvae.data.binary import BinaryData, random_split
from bvae.errors import ConfigError

# Wider scores make nearly every bit follow its score's sign alone, and the grid of the exact likelihood
# (bvae.model.likelihood) grows in proportion: 0.05 s at 100, 0.5 s at 1000, minutes at 1e6.
SCORE_SD_MAX = 100


@dataclass(frozen=True)
class SimSettings:
    """Everything that determines a simulated dataset's bits."""

    d: int
    N: int
    score_sd: tuple[float, float] = (2.5, 1.5)
    block: int = 10  # loadings B[0:block, 0] = B[block:2·block, 1] = 1/√block
    test_fraction: float = 0.33
    seed: int = 2020
    replicate: int = 0  # another draw of the same model: how much a result moves with the data alone

    @property
    def name(self) -> str:
        return f"d{self.d}_N{self.N}" + (f"_r{self.replicate}" if self.replicate else "")

    def check(self) -> None:
        if self.d < 2 * self.block:
            raise ConfigError(f"d = {self.d} is too small: the two loading blocks need d >= {2 * self.block}")
        if self.N < 3:
            raise ConfigError(f"N = {self.N} is too small: expected at least 3 observations")
        if not 0 < min(self.score_sd) <= max(self.score_sd) <= SCORE_SD_MAX:
            raise ConfigError(
                f"score_sd = {list(self.score_sd)}; expected two standard deviations > 0 and <= {SCORE_SD_MAX}"
            )


def loadings(d: int, block: int) -> np.ndarray:
    """The sparse d × 2 loading matrix: each factor loads on its own block of `block` dimensions."""
    B = np.zeros((d, 2))
    B[:block, 0] = B[block : 2 * block, 1] = 1 / np.sqrt(block)
    return B


def simulate(settings: SimSettings) -> BinaryData:
    """Draw scores U, set Θ = U Bᵀ, draw X ~ Bernoulli(σ(Θ)) and split it; the same settings give the same bits.

    Each (seed, d, N, replicate) gets its own random stream, so one dataset does not change when others are added
    (replicate 0 draws from the stream of (seed, d, N), as before replicates existed).

    Arguments:
        settings: d, N, the scores' standard deviations, the loadings' block size, the test fraction, the seed and
            the replicate (method §4).

    Returns:
        A `BinaryData` named `d{d}_N{N}` (`_r{replicate}` for a further draw), its settings in the metadata.

    Raises:
        ConfigError: a setting is out of range (`SimSettings.check`).
    """
    settings.check()
    key = [settings.seed, settings.d, settings.N] + ([settings.replicate] if settings.replicate else [])
    rng = np.random.default_rng(np.random.SeedSequence(key))
    scores = rng.normal(size=(settings.N, 2)) * np.asarray(settings.score_sd)
    prob = 1 / (1 + np.exp(-scores @ loadings(settings.d, settings.block).T))
    x = (rng.random(prob.shape) < prob).astype(np.uint8)
    is_test = random_split(settings.N, settings.test_fraction, int(rng.integers(2**63)))
    return BinaryData(name=settings.name, train=x[~is_test], test=x[is_test], metadata={"settings": asdict(settings)})


NAME = re.compile(r"d(?P<d>\d+)_N(?P<N>\d+)(?:_r(?P<replicate>\d+))?")


def parse_name(name: str) -> tuple[int, int, int] | None:
    """(d, N, replicate) of a simulated dataset's name (`d200_N100`, `d200_N100_r2`), None for any other name."""
    match = NAME.fullmatch(name)
    return (int(match["d"]), int(match["N"]), int(match["replicate"] or 0)) if match else None
