"""Snakemake script: train one stack of seeds and write each seed's history.parquet and final.parquet."""

from pathlib import Path

from bvae.data.binary import read_dataset
from bvae.io import LOCK_FILE, held, log_to
from bvae.model.settings import TrainSettings, frozen
from bvae.training.results import train_and_write

with log_to(snakemake.log[0]):
    given = {key: frozen(value) for key, value in snakemake.params.settings.items()}
    settings = TrainSettings(**given, **vars(snakemake.params.run_only), variant=snakemake.wildcards.variant)
    outdirs = [Path(final).parent for final in snakemake.output.final]
    # keep_results: while the run that started this job holds its output root, it records the results; otherwise
    # (Snakemake killed meanwhile) a rerun deletes them as incomplete and writes them from the checkpoint instead of
    # training again. A forced rerun (--forcerun) thus trains again. replace: the outputs are Snakemake's, and it
    # reruns a job only when its data, settings or code changed, so another training's checkpoint is stale.
    # take_over: the root lock leaves only a training of a killed run in these directories.
    train_and_write(
        read_dataset(snakemake.input.dataset), settings, list(snakemake.params.seeds), outdirs,
        snakemake.params.checkpoint, keep_results=lambda: not held(Path(snakemake.config["results"]) / LOCK_FILE),
        replace=True, take_over=True, root=snakemake.config["results"],
    )  # fmt: skip
