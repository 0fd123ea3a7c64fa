"""Snakemake script: generate one simulated dataset (method §4), or another draw of it (replicate k)."""

from bvae.data import write_dataset
from bvae.io import log_to
from bvae.simulate import SimSettings, simulate

with log_to(snakemake.log[0]):
    sim = {**snakemake.params.simulation, "score_sd": tuple(snakemake.params.simulation["score_sd"])}
    draw = {key: int(value) for key, value in snakemake.wildcards.items()}  # d, N and, for replicates, replicate
    write_dataset(simulate(SimSettings(**draw, **sim)), snakemake.output[0])
