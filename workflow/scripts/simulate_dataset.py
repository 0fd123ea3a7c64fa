"""Snakemake script: generate one simulated dataset (SPEC §4)."""

from bvae.data import write_dataset
from bvae.io import log_to
from bvae.simulate import SimSettings, simulate

with log_to(snakemake.log[0]):
    sim = {**snakemake.params.simulation, "score_sd": tuple(snakemake.params.simulation["score_sd"])}
    settings = SimSettings(d=int(snakemake.wildcards.d), N=int(snakemake.wildcards.N), **sim)
    write_dataset(simulate(settings), snakemake.output[0])
