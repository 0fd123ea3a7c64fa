"""The package's own exceptions, each with a one-line message naming the bad value and what was expected."""

import difflib
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


def closest(word, choices) -> str | None:
    """The choice that `word` was most likely meant to be, if one is close (a typo): for "did you mean ...?"."""
    match = difflib.get_close_matches(str(word), [str(choice) for choice in choices], n=1)
    return match[0] if match else None


def unknown(word, choices) -> str:
    """The end of a message about an unknown name: the name meant, if one is close, else every choice."""
    close = closest(word, choices)
    return f"did you mean {close!r}?" if close else f"expected one of {', '.join(map(str, choices))}"


def shown(value) -> str:
    """A value for a message: its repr, shortened in the middle if long (a 300-character name)."""
    text = repr(value)
    length = len(value) if isinstance(value, str | bytes) else len(text)  # a number's or a list's: its digits
    return text if len(text) <= 60 else f"{text[:40]}…{text[-10:]} ({length} characters)"
