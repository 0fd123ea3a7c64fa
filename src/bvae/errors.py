"""The package's own exceptions, each with a one-line message naming the bad value and what was expected."""


class BvaeError(Exception):
    """Base class of every error the package raises on purpose."""


class DataError(BvaeError, ValueError):
    """A data file or matrix is not a valid binary dataset (non-0/1 value, missing value, wrong shape...)."""


class ConfigError(BvaeError, ValueError):
    """A setting is out of range or inconsistent with the data (for example a latent size larger than d)."""


class DivergenceError(BvaeError, RuntimeError):
    """A training produced a NaN or infinite loss."""
