"""Snakemake script: bounds.parquet (one row per dataset) and eigenvalues.parquet (long format)."""

import pandas as pd

from bvae.data import read_dataset
from bvae.decision import NLL_COLUMNS, bound_summary
from bvae.io import log_to, write_parquet

with log_to(snakemake.log[0]):
    rows, eigenvalues = [], []
    for path in snakemake.input:
        row, lam = bound_summary(read_dataset(path), snakemake.params.latent_dim)
        rows.append(row)
        eigenvalues.append(
            pd.DataFrame({"dataset": row["dataset"], "index": range(1, lam.size + 1), "eigenvalue": lam})
        )
        print(f"{row['dataset']}: bound_train {row['bound_train']:.3f}, bound_test {row['bound_test']:.3f}")
    frame = pd.DataFrame(rows).astype(dict.fromkeys(NLL_COLUMNS, float))  # None → null, also when every row has none
    write_parquet(frame, snakemake.output.bounds, {"latent_dim": snakemake.params.latent_dim})
    write_parquet(pd.concat(eigenvalues, ignore_index=True), snakemake.output.eigenvalues)
