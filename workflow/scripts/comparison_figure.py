"""Snakemake script: the comparison figure from the comparison table."""

import pandas as pd

from bvae.io import log_to
from bvae.plot_comparison import comparison_figure

with log_to(snakemake.log[0]):
    comparison_figure(pd.read_parquet(snakemake.input[0]), snakemake.output[0])
