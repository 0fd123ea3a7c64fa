"""Snakemake script: Figures 3 and 4 (the softplus Taylor bound and its third derivative)."""

from bvae.io import log_to
from bvae.plots.bound import figure3, figure4

with log_to(snakemake.log[0]):
    figure3(snakemake.output.figure3)
    figure4(snakemake.output.figure4)
