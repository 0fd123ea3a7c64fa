"""Snakemake script: the paper's tables as Parquet and Markdown (SPEC §7)."""

from bvae.io import log_to, read_parquet, write_parquet, write_text
from bvae.tables import TABLES, deviation_table, markdown, with_exact_nll

with log_to(snakemake.log[0]):
    runs = read_parquet(snakemake.input[0])
    bounds = read_parquet(snakemake.input.bounds)
    specs = [spec for spec in TABLES if spec.number in snakemake.params.tables]
    for spec, parquet, md in zip(specs, snakemake.output.parquet, snakemake.output.markdown, strict=True):
        table = with_exact_nll(deviation_table(runs, spec.arch, spec.split), bounds, spec.split)
        write_parquet(table, parquet, {"caption": spec.caption})
        write_text(markdown(table, spec), md)
