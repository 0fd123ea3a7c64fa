#!/usr/bin/env bash
# Run by Snakemake inside the new conda environment: install bvae from this checkout, editable, so that code edits
# reach cluster jobs without rebuilding the environment (the rules' code fingerprints then trigger the reruns).
set -euo pipefail
pip install --no-deps --quiet -e "$(dirname "$0")/.."
