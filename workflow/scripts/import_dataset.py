"""Snakemake script: validate a user's 0/1 file and store it in the method §4 layout."""

import json

from bvae.data.binary import load_binary, write_dataset
from bvae.io import log_to

with log_to(snakemake.log[0]):
    definition = json.loads(snakemake.params.definition)
    split = {key: value for key, value in definition["file"].items() if key != "sha256"}
    data = load_binary(snakemake.input[0], name=snakemake.wildcards.name, **split)
    write_dataset(data, snakemake.output[0], definition)
