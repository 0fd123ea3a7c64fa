"""Snakemake script: bounds.parquet (one row per dataset) and eigenvalues.parquet (long format)."""

from bvae.data.binary import read_dataset
from bvae.io import log_to, write_parquet
from bvae.model.decision import bound_tables

with log_to(snakemake.log[0]):
    latent_dim = snakemake.params.latent_dim
    bounds, eigenvalues = bound_tables((read_dataset(path) for path in snakemake.input), latent_dim)
    write_parquet(bounds, snakemake.output.bounds, {"latent_dim": latent_dim})
    write_parquet(eigenvalues, snakemake.output.eigenvalues)
