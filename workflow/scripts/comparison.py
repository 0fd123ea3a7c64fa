"""Snakemake script: every protocol's cells against the paper's published ones, also as read at the epochs of
`compare_epochs` from the histories, and the agreement by the three criteria (fidelity.parquet) (Parquet, Markdown
and HTML)."""

import pandas as pd

from bvae.io import log_to, read_parquet, write_parquet, write_text
from bvae.report.comparison import at_epoch, compare, comparison_document, read_histories
from bvae.report.document import to_html, to_markdown
from bvae.report.fidelity import collapse_pattern, deep_runs, fidelity_document, fidelity_table

with log_to(snakemake.log[0]):
    runs = pd.concat([read_parquet(path) for path in snakemake.input.runs], ignore_index=True)
    histories = read_histories(snakemake.input.histories)
    at = [at_epoch(runs, histories, e) for e in snakemake.params.epochs]
    table = compare(pd.concat([runs, *at], ignore_index=True), bounds=read_parquet(snakemake.input.bounds))
    pattern = collapse_pattern(deep_runs(runs, histories))
    fidelity = fidelity_table(table, pattern)
    meta = {"protocols": snakemake.params.protocols, "epochs": snakemake.params.epochs}
    write_parquet(table, snakemake.output.parquet, meta)
    write_parquet(fidelity, snakemake.output.fidelity, meta)
    doc = [*comparison_document(table, snakemake.params.datasets), *fidelity_document(fidelity, pattern)]
    write_text(to_markdown(doc), snakemake.output.markdown)
    write_text(to_html(doc, "comparison with the paper"), snakemake.output.html)
