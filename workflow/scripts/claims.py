"""Snakemake script: the paper's claims decided on every protocol and on its own cells (Parquet, Markdown, HTML,
figure)."""

import pandas as pd

from bvae.io import log_to, read_parquet, write_parquet, write_text
from bvae.plots.claims import claims_figure
from bvae.report.claims import Thresholds, claims_markdown, epochs_to_region, evaluate
from bvae.report.comparison import read_histories
from bvae.report.document import from_markdown, to_html

with log_to(snakemake.log[0]):
    thresholds = Thresholds.from_config(snakemake.params.thresholds)
    runs = pd.concat([read_parquet(path) for path in snakemake.input.runs], ignore_index=True)
    bounds = read_parquet(snakemake.input.bounds)
    epochs = epochs_to_region(read_histories(snakemake.input.histories), runs, bounds, thresholds)
    table = evaluate(runs, epochs, bounds, thresholds)
    write_parquet(table, snakemake.output.parquet, {"thresholds": vars(thresholds)})
    text = claims_markdown(table, thresholds, runs)
    write_text(text, snakemake.output.markdown)
    write_text(to_html(from_markdown(text), "the paper's claims"), snakemake.output.html)
    claims_figure(epochs, thresholds, snakemake.output.figure)
