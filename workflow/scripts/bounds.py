"""Snakemake script: bounds.parquet (a row per dataset and latent size a protocol trains) and eigenvalues.parquet
(long format)."""

from bvae.data.binary import read_dataset
from bvae.io import log_to, write_parquet
from bvae.model.decision import bound_tables

with log_to(snakemake.log[0]):
    latent_dims = snakemake.params.latent_dims
    bounds, eigenvalues = bound_tables((read_dataset(path) for path in snakemake.input), latent_dims)
    write_parquet(bounds, snakemake.output.bounds, {"latent_dims": latent_dims})
    write_parquet(eigenvalues, snakemake.output.eigenvalues)
