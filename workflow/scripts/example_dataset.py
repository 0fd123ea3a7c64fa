"""Snakemake script: store a shipped example dataset (e.g. the binarised digits) in the method §4 layout."""

import json

from bvae.data.binary import write_dataset
from bvae.data.examples import EXAMPLES
from bvae.io import log_to

with log_to(snakemake.log[0]):
    definition = json.loads(snakemake.params.definition)
    write_dataset(EXAMPLES[snakemake.wildcards.name](), snakemake.output[0], definition)
