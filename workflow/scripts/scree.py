"""Snakemake script: the scree plot of one dataset with the threshold 4 and the Marchenko–Pastur edge."""

from bvae.io import log_to, read_parquet
from bvae.model.decision import support_of
from bvae.plots.bound import scree

with log_to(snakemake.log[0]):
    name = snakemake.wildcards.dataset
    bounds, eigenvalues = (read_parquet(path) for path in (snakemake.input.bounds, snakemake.input.eigenvalues))
    scree(support_of(bounds, eigenvalues, name), name, snakemake.output[0])
