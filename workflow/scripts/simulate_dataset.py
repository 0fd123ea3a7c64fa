"""Snakemake script: generate one simulated dataset (method §4), or another draw of it (replicate k)."""

import json

from bvae.data.binary import write_dataset
from bvae.data.simulate import SimSettings, simulate
from bvae.io import log_to

with log_to(snakemake.log[0]):
    definition = json.loads(snakemake.params.definition)
    sim = {**definition["simulated"], "score_sd": tuple(definition["simulated"]["score_sd"])}
    write_dataset(simulate(SimSettings(**sim)), snakemake.output[0], definition)
