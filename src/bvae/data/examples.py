"""A real binary dataset that ships with a dependency (no download): scikit-learn's handwritten digits."""

from __future__ import annotations

import numpy as np

from bvae.data.binary import BinaryData, random_split
from bvae.errors import ConfigError

DIGITS_THRESHOLD = 8
TEST_FRACTION = 0.33
SPLIT_SEED = 0


def digits(threshold: int = DIGITS_THRESHOLD) -> BinaryData:
    """The 1,797 8×8 handwritten digits of `sklearn.datasets.load_digits`, binarised: 1,797 × 64 bits.

    Pixel intensities are integers 0..16; a pixel becomes 1 if its value is **at least** `threshold`
    (default 8, i.e. at least half intensity) and 0 otherwise. The rows are split at random (seed 0) into
    round(0.33 · 1797) = 593 test rows and 1,204 training rows, with `bvae.data.binary.random_split`. The class labels
    are not used. Columns are named `p{row}_{col}` after the pixel position.
    """
    from sklearn.datasets import load_digits  # the data file ships inside scikit-learn

    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or not 1 <= threshold <= 16:
        raise ConfigError(f"threshold = {threshold!r}; expected an integer from 1 to 16")
    pixels = load_digits().data
    bits = (pixels >= threshold).astype(np.uint8)
    is_test = random_split(bits.shape[0], TEST_FRACTION, SPLIT_SEED)
    return BinaryData(
        name="digits",
        train=bits[~is_test],
        test=bits[is_test],
        columns=tuple(f"p{j // 8}_{j % 8}" for j in range(bits.shape[1])),
        metadata={
            "settings": {
                "source": "sklearn.datasets.load_digits",
                "rule": "pixel >= threshold",
                "threshold": int(threshold),
                "test_fraction": TEST_FRACTION,
                "split_seed": SPLIT_SEED,
            }
        },
    )


EXAMPLES = {"digits": digits}  # name -> the function that makes it
