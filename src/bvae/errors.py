"""The package's own exceptions, each with a one-line message naming the bad value and what was expected."""

import sys


class BvaeError(Exception):
    """Base class of every error the package raises on purpose."""


class DataError(BvaeError, ValueError):
    """A data file or matrix is not a valid binary dataset (non-0/1 value, missing value, wrong shape...)."""


class ConfigError(BvaeError, ValueError):
    """A setting is out of range or inconsistent with the data (for example a latent size larger than d)."""


class DivergenceError(BvaeError, RuntimeError):
    """A training produced a NaN or infinite loss, or a loss that exploded far above any sensible value."""


class OutputError(BvaeError):
    """A result cannot be written where it should go (a directory in the way, a full disk...); names that path."""


def tell(message: str, level: str = "note") -> None:
    """One line on stderr (the job's log in the workflow) for something the user should know that is no error."""
    print(f"bvae: {level}: {message}", file=sys.stderr)
