"""Snakemake script: train one stack of seeds and write each seed's history.parquet and final.parquet."""

from pathlib import Path

from bvae.data import read_dataset
from bvae.io import log_to
from bvae.settings import TrainSettings, frozen
from bvae.train import train_seeds, write_result

with log_to(snakemake.log[0]):
    given = {key: frozen(value) for key, value in snakemake.params.settings.items()}
    settings = TrainSettings(**given, variant=snakemake.wildcards.variant)
    results = train_seeds(
        read_dataset(snakemake.input.dataset), settings, list(snakemake.params.seeds), snakemake.params.checkpoint
    )
    for result, final in zip(results, snakemake.output.final, strict=True):
        write_result(result, Path(final).parent)
