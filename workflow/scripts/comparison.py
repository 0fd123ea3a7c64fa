"""Snakemake script: every protocol's cells against the paper's published ones (Parquet, Markdown and HTML), also as
read at the epochs of `compare_epochs` from the histories."""

import pandas as pd

from bvae.io import log_to, read_parquet, write_parquet, write_text
from bvae.report.comparison import at_epoch, compare, comparison_document, read_histories
from bvae.report.document import to_html, to_markdown

with log_to(snakemake.log[0]):
    runs = pd.concat([read_parquet(path) for path in snakemake.input.runs], ignore_index=True)
    if snakemake.params.epochs:
        histories = read_histories(snakemake.input.histories)
        runs = pd.concat([runs, *(at_epoch(runs, histories, e) for e in snakemake.params.epochs)], ignore_index=True)
    table = compare(runs, bounds=read_parquet(snakemake.input.bounds))
    meta = {"protocols": snakemake.params.protocols, "epochs": snakemake.params.epochs}
    write_parquet(table, snakemake.output.parquet, meta)
    doc = comparison_document(table, snakemake.params.datasets)
    write_text(to_markdown(doc), snakemake.output.markdown)
    write_text(to_html(doc, "comparison with the paper"), snakemake.output.html)
