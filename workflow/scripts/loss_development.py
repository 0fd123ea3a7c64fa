"""Snakemake script: loss development of both variants over all seeds of one dataset and architecture."""

import pandas as pd

from bvae.io import log_to, read_parquet
from bvae.plot_training import loss_development

with log_to(snakemake.log[0]):
    finals = [read_parquet(path).iloc[0] for path in snakemake.input.final]
    history = pd.concat(
        [
            read_parquet(path).assign(variant=f["variant"], seed=f["seed"])
            for path, f in zip(snakemake.input.history, finals, strict=True)
        ],
        ignore_index=True,
    )
    title = f"{snakemake.wildcards.dataset}, {snakemake.wildcards.arch}"
    loss_development(history, finals[0]["bound_train"], finals[0]["bound_test"], title, snakemake.output[0])
