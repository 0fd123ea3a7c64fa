"""Snakemake script: loss development of both variants over all seeds of one dataset and architecture."""

from bvae.io import log_to, read_parquet
from bvae.model.decision import NLL_COLUMNS
from bvae.plots.training import loss_development, read_labelled_runs

with log_to(snakemake.log[0]):
    history, finals = read_labelled_runs(snakemake.input.history, snakemake.input.final)
    title = f"{snakemake.wildcards.dataset}, {snakemake.wildcards.arch}, protocol {snakemake.wildcards.protocol}"
    bounds = read_parquet(snakemake.input.bounds)  # a row per latent size, the same exact NLL
    row = bounds[bounds["dataset"] == snakemake.wildcards.dataset].iloc[0]
    nll_true = tuple(row[list(NLL_COLUMNS)])  # NaN for data without a generating model: no line
    loss_development(history, finals[0]["bound_train"], finals[0]["bound_test"], title, snakemake.output[0], nll_true)
