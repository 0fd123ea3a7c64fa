# Configuration validation, the dataset registry, protocols, seed stacks, code fingerprints and every output path.

import functools
import sys
from pathlib import Path
from types import SimpleNamespace

from bvae.config import check_config
from bvae.data import dataset_shape
from bvae.errors import BvaeError
from bvae.fingerprint import file_fingerprint, script_fingerprint
from bvae.io import lock_results
from bvae.resources import train_mem_mb, train_runtime_minutes
from bvae.settings import RUN_ONLY
from bvae.study import dataset_seeds, files_registry, protocol_settings, seed_stacks, simulated
from bvae.study import run_dir as study_run_dir
from bvae.tables import TABLES


try:  # schema, keys given twice, names, paths...: one line naming the key, last, instead of a traceback
    check_config(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml", workflow.configfiles)
except BvaeError as error:
    sys.exit(f"bvae: config error: {error}")

CONDA_ENV = "../../envs/bvae.yaml"
ROOT = config["results"]  # every output of this study lives under it: a quick check never touches the full study
LOGS = f"{ROOT}/logs"
BENCHMARKS = f"{ROOT}/benchmarks"

SIMULATED = simulated(config)
FILES = files_registry(config)
SEEDS = dataset_seeds(config)  # dataset -> number of seeds
DATASETS = list(SEEDS)
PROTOCOLS = {  # protocol -> architecture -> its complete training settings
    name: {arch: protocol_settings(config, name, arch) for arch in config["architectures"]}
    for name in config["protocols"]
}
TABLE_SPECS = [spec for spec in TABLES if spec.arch in config["architectures"]]
TABLE_FORMATS = ("parquet", "md", "html")  # HTML: what the report shows


wildcard_constraints:
    dataset="|".join(DATASETS),
    protocol="|".join(PROTOCOLS),
    variant="|".join(config["variants"]),
    arch="|".join(config["architectures"]),
    seed=r"\d+",
    d=r"\d+",
    N=r"\d+",
    replicate=r"[1-9]\d*",


@functools.cache  # every generated training rule asks for the same script's fingerprint
def code(script):
    """Fingerprint of the package modules a workflow script imports: the rule reruns when that code changes."""
    return script_fingerprint(Path(workflow.basedir) / "workflow" / "scripts" / script)


onstart:
    try:  # a second run writing this output root, from this checkout or another, stops before its first job
        lock_results(ROOT)
    except BvaeError as error:
        sys.exit(f"bvae: error: {error}")


def dataset_file(dataset):
    return f"{ROOT}/datasets/{dataset}.parquet"


def run_dir(protocol, dataset, arch, variant, seed):
    return study_run_dir(ROOT, protocol, dataset, arch, variant, seed)


def train_params(arch):
    """The protocol's settings for one job of this architecture (a function of the job's wildcards) that its results
    depend on: a change reruns the job."""
    return lambda wildcards: {
        **{k: v for k, v in PROTOCOLS[wildcards.protocol][arch].items() if k not in RUN_ONLY},
        "arch": arch,
        "threads": config["threads_per_job"],
    }


def run_only(arch):
    """The protocol's settings that do not change results (checkpoint_every). Snakemake's params trigger compares
    only values of builtin types, so this namespace is passed to the job but changing it reruns nothing."""
    return lambda wildcards: SimpleNamespace(**{k: PROTOCOLS[wildcards.protocol][arch][k] for k in RUN_ONLY})


@functools.cache  # called for every training job's resources: read each dataset file once
def shape(dataset):
    """(d, n_train, n_test) for resource estimates: from the dataset file once it exists, else from config."""
    if os.path.exists(dataset_file(dataset)):
        return dataset_shape(dataset_file(dataset))
    d, n = (SIMULATED[dataset]["d"], SIMULATED[dataset]["N"]) if dataset in SIMULATED else (1000, 10000)
    n_test = round(config["simulation"]["test_fraction"] * n)  # unknown user data: the largest simulated size
    return d, n - n_test, n_test


def train_resources(arch, stack_size):
    """runtime (minutes) and mem_mb of one (stacked) training job, from d, N and the protocol's settings."""

    def runtime(wildcards, threads):
        s = PROTOCOLS[wildcards.protocol][arch]
        d, n_train, n_test = shape(wildcards.dataset)
        return train_runtime_minutes(arch, d, n_train, n_test, s["epochs"], s["latent_dim"], s["hidden"],
                                     s["batch_size"], s["mc_samples"], stack_size, threads)  # fmt: skip

    def mem_mb(wildcards):
        s = PROTOCOLS[wildcards.protocol][arch]
        d, n_train, n_test = shape(wildcards.dataset)
        return train_mem_mb(arch, d, n_train, n_test, s["latent_dim"], s["hidden"], stack_size)

    return runtime, mem_mb


def final_files(protocol, dataset=None, arch=None):
    return [
        f"{run_dir(protocol, ds, a, v, s)}/final.parquet"
        for ds in ([dataset] if dataset else DATASETS)
        for a in ([arch] if arch else config["architectures"])
        for v in config["variants"]
        for s in range(SEEDS[ds])
    ]


def history_files(wildcards):
    finals = final_files(wildcards.protocol, wildcards.dataset, wildcards.arch)
    return [p.replace("final.parquet", "history.parquet") for p in finals]


def all_histories():
    """Every training's history.parquet, of every protocol."""
    return [path.replace("final.parquet", "history.parquet") for p in PROTOCOLS for path in final_files(p)]


def compared_histories():
    """Every training's history, when the comparison also reads cells at earlier epochs (compare_epochs)."""
    return all_histories() if config.get("compare_epochs") else []


def all_outputs():
    return [
        f"{ROOT}/bounds/bounds.parquet",
        f"{ROOT}/figures/figure3.png",
        f"{ROOT}/figures/figure4.png",
        *(f"{ROOT}/figures/scree_{ds}.png" for ds in DATASETS),
        *(f"{ROOT}/tables/{p}/runs.parquet" for p in PROTOCOLS),
        *(f"{ROOT}/tables/{p}/{spec.name}.{ext}" for p in PROTOCOLS for spec in TABLE_SPECS for ext in TABLE_FORMATS),
        *(f"{ROOT}/figures/{p}/loss_{ds}_{a}.png" for p in PROTOCOLS for ds in DATASETS for a in config["architectures"]),
        *(f"{ROOT}/tables/comparison.{ext}" for ext in TABLE_FORMATS),
        f"{ROOT}/figures/comparison.png",
        *(f"{ROOT}/tables/claims.{ext}" for ext in TABLE_FORMATS),
        f"{ROOT}/figures/claims.png",
    ]
