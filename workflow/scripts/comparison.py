"""Snakemake script: every protocol's cells against the paper's published ones (Parquet and Markdown), also as read
at the epochs of `compare_epochs` from the histories."""

import pandas as pd

from bvae.comparison import at_epoch, compare, markdown, read_histories
from bvae.io import log_to, read_parquet, write_parquet, write_text

with log_to(snakemake.log[0]):
    runs = pd.concat([read_parquet(path) for path in snakemake.input.runs], ignore_index=True)
    if snakemake.params.epochs:
        histories = read_histories(snakemake.params.root, runs)
        runs = pd.concat([runs, *(at_epoch(runs, histories, e) for e in snakemake.params.epochs)], ignore_index=True)
    table = compare(runs, bounds=read_parquet(snakemake.input.bounds))
    meta = {"protocols": snakemake.params.protocols, "epochs": snakemake.params.epochs}
    write_parquet(table, snakemake.output.parquet, meta)
    write_text(markdown(table, snakemake.params.datasets), snakemake.output.markdown)
