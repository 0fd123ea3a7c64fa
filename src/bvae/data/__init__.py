"""Binary data: reading and checking the user's files, the paper's simulated datasets and the shipped examples.

Layer 1: imports only `bvae.errors` and `bvae.io`. (`simulate`, the function, is `bvae.data.simulate.simulate`; the
name `bvae.data.simulate` is its module.)
"""

from bvae.data.binary import (
    BinaryData,
    array_width,
    check_seed,
    check_split_column,
    check_split_sizes,
    columns_of,
    dataset_shape,
    load_binary,
    random_split,
    read_dataset,
    rows_of,
    write_dataset,
)
from bvae.data.examples import EXAMPLES, digits
from bvae.data.simulate import SimSettings, loadings, parse_name

__all__ = [
    "BinaryData",
    "EXAMPLES",
    "SimSettings",
    "array_width",
    "check_seed",
    "check_split_column",
    "check_split_sizes",
    "columns_of",
    "dataset_shape",
    "digits",
    "load_binary",
    "loadings",
    "parse_name",
    "random_split",
    "read_dataset",
    "rows_of",
    "write_dataset",
]
