"""Snakemake script: validate a user's 0/1 file and store it in the method §4 layout."""

from bvae.data import load_binary, write_dataset
from bvae.io import log_to

with log_to(snakemake.log[0]):
    entry = snakemake.params.entry
    data = load_binary(
        snakemake.input[0],
        name=entry["name"],
        split_column=entry.get("split_column", "split"),
        test_fraction=entry.get("test_fraction", 0.33),
        seed=entry.get("seed", 0),
    )
    write_dataset(data, snakemake.output[0])
