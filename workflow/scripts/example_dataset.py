"""Snakemake script: store a shipped example dataset (e.g. the binarised digits) in the method §4 layout."""

import json

from bvae.examples import EXAMPLES
from bvae.io import log_to

with log_to(snakemake.log[0]):
    EXAMPLES[snakemake.wildcards.name](snakemake.output[0], json.loads(snakemake.params.definition))
