# Configuration validation, the dataset registry, seed stacks, fingerprints and every output path.

import functools

import pyarrow.parquet as pq
from snakemake.utils import validate

from bvae.fingerprint import fingerprint
from bvae.resources import train_mem_mb, train_runtime_minutes
from bvae.tables import TABLES


validate(config, "../schemas/config.schema.yaml")

CONDA_ENV = "../../envs/bvae.yaml"

from bvae.registry import dataset_registry, reject_non_finite

reject_non_finite(config)  # the schema lets .nan and .inf through every numeric bound
SIMULATED, FILES, DATASETS = dataset_registry(config)  # stops on a name used twice
SEEDS = list(range(config["seeds"]))
TABLE_SPECS = [spec for spec in TABLES if spec.arch in config["architectures"]]

# Module fingerprints: a rule reruns when the package code it calls changes (`--list-changes params`).
CODE = {
    "datasets": fingerprint("bvae.simulate", "bvae.data", "bvae.examples", "bvae.io"),
    "bounds": fingerprint("bvae.bound", "bvae.decision", "bvae.data", "bvae.io"),
    "train": fingerprint("bvae.train", "bvae.networks", "bvae.bound", "bvae.data", "bvae.io"),
    "tables": fingerprint("bvae.tables", "bvae.io"),
    "plots": fingerprint("bvae.plot_training", "bvae.plot_bound", "bvae.decision"),
}

TRAIN_SETTINGS = {
    key: config[key]
    for key in ("latent_dim", "epochs", "lr", "batch_size", "init", "mc_samples", "checkpoint_every")
}


wildcard_constraints:
    dataset="|".join(DATASETS),
    variant="|".join(config["variants"]),
    arch="|".join(config["architectures"]),
    seed=r"\d+",


def seed_stacks(arch):
    """Seeds 0..seeds-1 in consecutive stacks of seeds_per_job[arch]: one training job each."""
    size = config["seeds_per_job"][arch]
    return [SEEDS[i : i + size] for i in range(0, len(SEEDS), size)]


def run_dir(dataset, arch, variant, seed):
    return f"results/runs/{dataset}/{arch}/{variant}/seed{seed}"


@functools.cache  # called for every training job's resources: read each dataset file once
def dataset_shape(dataset):
    """(d, n_train, n_test) for resource estimates: from the dataset file once it exists, else from config."""
    path = f"results/datasets/{dataset}.parquet"
    if os.path.exists(path):
        meta = pq.read_metadata(path)
        n_test = sum(pq.read_table(path, columns=["split"]).column("split").to_numpy() == "test")
        return meta.num_columns - 1, meta.num_rows - n_test, n_test
    d, n = SIMULATED.get(dataset, (1000, 10000))  # unknown user data: assume the largest simulated size
    n_test = round(config["simulation"]["test_fraction"] * n)
    return d, n - n_test, n_test


def train_resources(arch, stack):
    """runtime (minutes) and mem_mb of one stacked training job, from d, N, epochs and the architecture."""

    def runtime(wildcards, threads):
        d, n_train, n_test = dataset_shape(wildcards.dataset)
        return train_runtime_minutes(arch, d, n_train, n_test, config["epochs"], config["latent_dim"],
                                     config["hidden"], config["batch_size"], config["mc_samples"], len(stack), threads)

    def mem_mb(wildcards):
        d, n_train, n_test = dataset_shape(wildcards.dataset)
        return train_mem_mb(arch, d, n_train, n_test, config["latent_dim"], config["hidden"], len(stack))

    return runtime, mem_mb


def final_files(dataset=None, arch=None):
    return [
        f"{run_dir(ds, a, v, s)}/final.parquet"
        for ds in ([dataset] if dataset else DATASETS)
        for a in ([arch] if arch else config["architectures"])
        for v in config["variants"]
        for s in SEEDS
    ]


def history_files(wildcards):
    return [p.replace("final.parquet", "history.parquet") for p in final_files(wildcards.dataset, wildcards.arch)]


def all_outputs():
    return [
        "results/bounds/bounds.parquet",
        "results/tables/runs.parquet",
        *(f"results/tables/{spec.name}.{ext}" for spec in TABLE_SPECS for ext in ("parquet", "md")),
        "results/figures/figure3.png",
        "results/figures/figure4.png",
        *(f"results/figures/scree_{ds}.png" for ds in DATASETS),
        *(f"results/figures/loss_{ds}_{a}.png" for ds in DATASETS for a in config["architectures"]),
    ]
