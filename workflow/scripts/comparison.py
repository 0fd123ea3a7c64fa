"""Snakemake script: every protocol's cells against the paper's published ones (Parquet and Markdown)."""

import pandas as pd

from bvae.comparison import compare, markdown
from bvae.io import log_to, read_parquet, write_parquet, write_text

with log_to(snakemake.log[0]):
    runs = pd.concat([read_parquet(path) for path in snakemake.input.runs], ignore_index=True)
    table = compare(runs, bounds=read_parquet(snakemake.input.bounds))
    write_parquet(table, snakemake.output.parquet, {"protocols": snakemake.params.protocols})
    write_text(markdown(table, snakemake.params.datasets), snakemake.output.markdown)
