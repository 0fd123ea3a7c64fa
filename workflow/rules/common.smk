# Configuration validation, the dataset registry, protocols, seed stacks, the archive, code fingerprints and every
# output path.

import functools
import os
import sys
from pathlib import Path
from types import SimpleNamespace

from bvae.data.binary import dataset_shape
from bvae.data.simulate import SimSettings
from bvae.errors import BvaeError
from bvae.io import lock_results
from bvae.model.resources import train_mem_mb, train_runtime_minutes
from bvae.model.settings import RUN_ONLY
from bvae.numerics import VERSION as NUMERICS
from bvae.report.tables import TABLES
from bvae.study.archive import FILES as ARCHIVE_FILES
from bvae.study.archive import identity, read_index
from bvae.study.config import check_config
from bvae.study.fingerprint import script_fingerprint
from bvae.study.plan import canonical_json, data_definition, dataset_seeds, files_registry, protocol_architectures
from bvae.study.plan import protocol_settings, seed_stacks, simulated
from bvae.study.plan import run_dir as study_run_dir

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
SEEDS = dataset_seeds(config)  # dataset -> arch -> number of seeds
DATASETS = list(SEEDS)
DEFINITIONS = {dataset: canonical_json(data_definition(config, dataset)) for dataset in DATASETS}  # what makes its bits
PROTOCOLS = {  # protocol -> each architecture it trains -> its complete training settings
    name: {arch: protocol_settings(config, name, arch) for arch in protocol_architectures(config, name)}
    for name in config["protocols"]
}
try:  # a damaged or edited archive: one line naming the file, not Snakemake's frames
    ARCHIVED = read_index(config["archive"]) if config["archive"] else {}  # identity -> archive cell
except BvaeError as error:
    sys.exit(f"bvae: error: {error}")
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
    """Fingerprint of a workflow script and the package modules it imports: the rule reruns when that code changes
    (not its comments or docstrings). Training rules take the numerics version instead."""
    return script_fingerprint(Path(workflow.basedir) / "workflow" / "scripts" / script)


onstart:
    try:  # a second run writing this output root, from this checkout or another, stops before its first job
        lock_results(ROOT)
    except BvaeError as error:
        sys.exit(f"bvae: error: {error}")


def dataset_file(dataset):
    return f"{ROOT}/datasets/{dataset}.parquet"


def dataset_definition(wildcards):
    """The definition (canonical JSON) of the dataset a dataset rule's wildcards name: {name}, or d{d}_N{N} and
    perhaps _r{replicate}."""
    if "name" in wildcards.keys():
        return DEFINITIONS[wildcards.name]
    draw = {key: int(getattr(wildcards, key, 0)) for key in ("d", "N", "replicate")}
    return DEFINITIONS[SimSettings(**draw).name]


def run_dir(protocol, dataset, arch, variant, seed):
    return study_run_dir(ROOT, protocol, dataset, arch, variant, seed)


def job_settings(protocol, arch, variant):
    """The settings of one training that change its results, with its architecture, variant and threads."""
    settings = {k: v for k, v in PROTOCOLS[protocol][arch].items() if k not in RUN_ONLY}
    return {**settings, "arch": arch, "variant": variant, "threads": config["threads_per_job"]}


def train_params(arch):
    """The protocol's settings for one job of this architecture (a function of the job's wildcards) that its results
    depend on: a change reruns the job."""

    def settings(wildcards):
        return {k: v for k, v in job_settings(wildcards.protocol, arch, wildcards.variant).items() if k != "variant"}

    return settings


def run_only(arch):
    """The protocol's settings that do not change results (checkpoint_every). Snakemake's params trigger compares
    only values of builtin types, so this namespace is passed to the job but changing it reruns nothing."""

    def settings(wildcards):
        return SimpleNamespace(**{k: PROTOCOLS[wildcards.protocol][arch][k] for k in RUN_ONLY})

    return settings


def wildcard_seed(wildcards):
    """The seeds param of a training job that trains the one seed its wildcards name."""
    return [int(wildcards.seed)]


def user_file(wildcards):
    """The user's data file that import_dataset reads (config `files:`)."""
    return FILES[wildcards.name]["path"]


def training_layouts(arch):
    """(rule name, seeds in the output paths, seeds param, job label, datasets) of every training rule of arch."""
    single, stacks = seed_stacks(config, arch)
    if single:
        yield f"train_{arch}", ["{seed}"], wildcard_seed, "seed{seed}", single
    for stack, datasets in stacks.items():
        label = f"seeds{stack[0]}-{stack[-1]}"
        yield f"train_{arch}_seeds{stack[0]}_{stack[-1]}", [str(s) for s in stack], list(stack), label, datasets


def training_identity(protocol, dataset, arch, variant, seed):
    return identity(dataset, DEFINITIONS[dataset], job_settings(protocol, arch, variant), seed, NUMERICS)


def archived(arch, seeds):
    """Input function of a restore job, which mirrors a training job (`seeds`, the training's seeds param, is a list
    or a function of the wildcards). It returns the archive cells holding every seed of the job or, if one is
    missing, a path that nothing makes, so that the training job runs instead (it would write over restored seeds)."""

    def cells(wildcards):
        w = wildcards
        stack = seeds(w) if callable(seeds) else seeds
        found = [ARCHIVED.get(training_identity(w.protocol, w.dataset, arch, w.variant, s)) for s in stack]
        if all(found):
            return {"cells": sorted({str(cell / name) for cell in found for name in ARCHIVE_FILES})}
        return {"cells": f"{config['archive']}/not-archived"}

    return cells


def archived_identities(arch, seeds):
    """The identities of a restore job's trainings, seed by seed."""

    def identities(w):
        stack = seeds(w) if callable(seeds) else seeds
        return [training_identity(w.protocol, w.dataset, arch, w.variant, s) for s in stack]

    return identities


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


def stack_of(dataset, arch, seed):
    """The seeds of the job that trains (or restores) `seed`: a restore writes a whole stack or nothing."""
    single, stacks = SEED_STACKS[arch]
    if dataset in single:
        return [seed]
    return next(list(stack) for stack, datasets in stacks.items() if dataset in datasets and seed in stack)


def restorable(protocol, dataset, arch, variant, seed):
    """The archive holds every training of the job that would write this one."""
    stack = stack_of(dataset, arch, seed)
    return all(training_identity(protocol, dataset, arch, variant, s) in ARCHIVED for s in stack)


def final_files(protocol, dataset=None, arch=None):
    return [
        f"{run_dir(protocol, ds, a, v, s)}/final.parquet"
        for ds in ([dataset] if dataset else DATASETS)
        for a in ([arch] if arch else PROTOCOLS[protocol])
        for v in config["variants"]
        for s in range(SEEDS[ds][a])
        if KEPT is None or (protocol, ds, a, v, s) in KEPT
    ]


def protocol_finals(wildcards):
    """Every final record of the protocol a runs_table job's wildcards name."""
    return final_files(wildcards.protocol)


def cell_finals(wildcards):
    """The final records of one protocol, dataset and architecture (a loss_development job's wildcards)."""
    return final_files(wildcards.protocol, wildcards.dataset, wildcards.arch)


def history_files(wildcards):
    """The histories beside `cell_finals`."""
    return [p.replace("final.parquet", "history.parquet") for p in cell_finals(wildcards)]


def all_histories():
    """Every training's history.parquet, of every protocol."""
    return [path.replace("final.parquet", "history.parquet") for p in PROTOCOLS for path in final_files(p)]


def table_specs(protocol, arch=None):
    """The paper's tables of the architectures a protocol trains (of `arch` only, if given)."""
    return [spec for spec in TABLES if spec.arch in PROTOCOLS[protocol] and spec.arch == (arch or spec.arch)]


def all_outputs():
    return [
        f"{ROOT}/bounds/bounds.parquet",
        f"{ROOT}/figures/figure3.png",
        f"{ROOT}/figures/figure4.png",
        *(f"{ROOT}/figures/scree_{ds}.png" for ds in DATASETS),
        *(f"{ROOT}/tables/{p}/runs.parquet" for p in PROTOCOLS),
        *(
            f"{ROOT}/tables/{p}/{spec.name}.{ext}"
            for p in PROTOCOLS
            for spec in table_specs(p)
            for ext in TABLE_FORMATS
        ),
        *(
            f"{ROOT}/figures/{p}/loss_{ds}_{a}.png"
            for p in PROTOCOLS
            for ds in DATASETS
            for a in PROTOCOLS[p]
            if final_files(p, ds, a)
        ),
        *(f"{ROOT}/tables/comparison.{ext}" for ext in TABLE_FORMATS),
        f"{ROOT}/tables/fidelity.parquet",
        f"{ROOT}/figures/comparison.png",
        *(f"{ROOT}/tables/claims.{ext}" for ext in TABLE_FORMATS),
        f"{ROOT}/figures/claims.png",
    ]


# Last, since it calls the functions above.
SEED_STACKS = {arch: seed_stacks(config, arch) for arch in config["architectures"]}
KEPT = None  # every training the config asks for
if config["archived_only"]:  # a rebuild from the archive: the trainings it holds whole, and no training at all
    KEPT = {
        (p, ds, a, v, s)
        for p, archs in PROTOCOLS.items()
        for a in archs
        for ds in DATASETS
        for v in config["variants"]
        for s in range(SEEDS[ds][a])
        if restorable(p, ds, a, v, s)
    }
    PROTOCOLS = {p: {a: s for a, s in archs.items() if final_files(p, arch=a)} for p, archs in PROTOCOLS.items()}
    PROTOCOLS = {p: archs for p, archs in PROTOCOLS.items() if archs}  # only what the archive holds is studied
