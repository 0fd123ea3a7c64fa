"""Snakemake script: the comparison figure from the comparison table."""

from bvae.io import log_to, read_parquet
from bvae.plots.comparison import comparison_figure

with log_to(snakemake.log[0]):
    comparison_figure(read_parquet(snakemake.input[0]), snakemake.output[0])
