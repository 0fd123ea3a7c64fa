"""Snakemake script: the history.parquet and final.parquet of one job's trainings, restored from the archive."""

from pathlib import Path

from bvae.io import log_to
from bvae.study.archive import restore_job

with log_to(snakemake.log[0]):
    cells = sorted({Path(path).parent for path in snakemake.input.cells})
    outdirs = [Path(final).parent for final in snakemake.output.final]
    restore_job(
        snakemake.config["archive"], cells, snakemake.params.identities, outdirs, snakemake.input.dataset,
        snakemake.config["results"],
    )  # fmt: skip
