"""Snakemake script: the paper's tables as Parquet, Markdown and HTML (method §7)."""

from bvae.io import log_to, read_parquet, write_parquet, write_text
from bvae.report.document import to_html, to_markdown
from bvae.report.tables import TABLES, deviation_table, table_document, training_text, with_exact_nll

with log_to(snakemake.log[0]):
    runs = read_parquet(snakemake.input[0])
    bounds = read_parquet(snakemake.input.bounds)
    protocol = snakemake.wildcards.protocol
    specs = [spec for spec in TABLES if spec.number in snakemake.params.tables]
    outputs = zip(specs, snakemake.output.parquet, snakemake.output.markdown, snakemake.output.html, strict=True)
    for spec, parquet, md, html in outputs:
        table = with_exact_nll(deviation_table(runs, spec.arch, spec.split), bounds, spec.split)
        write_parquet(table, parquet, {"caption": spec.caption(protocol)})
        doc = table_document(table, spec, protocol, training_text(runs, spec.arch))
        write_text(to_markdown(doc), md)
        write_text(to_html(doc, f"{spec.name} ({protocol})"), html)
