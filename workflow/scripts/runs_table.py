"""Snakemake script: all final records of one protocol in {results}/tables/{protocol}/runs.parquet."""

from bvae.io import log_to, write_parquet
from bvae.report.tables import collect_runs

with log_to(snakemake.log[0]):
    write_parquet(collect_runs(list(snakemake.input), snakemake.wildcards.protocol), snakemake.output[0])
