"""Snakemake script: one training's history.parquet and final.parquet, restored from the study's archive."""

from pathlib import Path

from bvae.archive import restore
from bvae.io import log_to

with log_to(snakemake.log[0]):
    restore(Path(snakemake.input[0]).parent, snakemake.params.identity, Path(snakemake.output.final).parent)
