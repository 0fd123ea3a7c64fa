"""Snakemake script: the scree plot of one dataset with the threshold 4 and the Marchenko–Pastur edge."""

from bvae.decision import decision_support
from bvae.io import log_to, read_parquet
from bvae.plot_bound import scree

with log_to(snakemake.log[0]):
    name = snakemake.wildcards.dataset
    row = read_parquet(snakemake.input.bounds).set_index("dataset").loc[name]
    eig = read_parquet(snakemake.input.eigenvalues)
    support = decision_support(eig.loc[eig["dataset"] == name, "eigenvalue"].to_numpy(), int(row["n_train"]))
    scree(support, name, snakemake.output[0])
