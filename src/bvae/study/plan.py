"""What a workflow config asks for: its datasets with their seeds, and its protocols' training settings.

Torch-free and Snakemake-free, so that the workflow parses quickly and this logic is tested on its own.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict
from pathlib import Path

from bvae.data.simulate import SimSettings, parse_name
from bvae.errors import ConfigError
from bvae.model.architectures import ARCHITECTURES
from bvae.model.settings import PROPERTIES, check_values
from bvae.study.fingerprint import file_fingerprint


def run_dir(root: str | os.PathLike, protocol: str, dataset: str, arch: str, variant: str, seed) -> str:
    """Where one training's history.parquet and final.parquet live: the one definition of the runs layout."""
    return f"{root}/runs/{protocol}/{dataset}/{arch}/{variant}/seed{seed}"


def run_key(path: str | os.PathLike) -> tuple[str, str, str, str, int]:
    """(protocol, dataset, arch, variant, seed) of a file in a training's directory (`run_dir`'s layout, read back).

    Raises:
        ValueError: the path is not inside a `runs/{protocol}/{dataset}/{arch}/{variant}/seed{seed}` directory.
    """
    *_, runs, protocol, dataset, arch, variant, seed = Path(path).parent.parts
    if runs != "runs" or not re.fullmatch(r"seed\d+", seed):
        raise ValueError(f"{path}: not in a training's directory (runs/PROTOCOL/DATASET/ARCH/VARIANT/seedN)")
    return protocol, dataset, arch, variant, int(seed.removeprefix("seed"))


def reject_non_finite(config, key: str = "") -> None:
    """ConfigError for a NaN or infinite number anywhere in `config`: `.nan` passes every bound of a JSON Schema."""
    if isinstance(config, dict):
        for name, value in config.items():
            reject_non_finite(value, f"{key}.{name}" if key else name)
    elif isinstance(config, list):
        for i, value in enumerate(config):
            reject_non_finite(value, f"{key}[{i}]")
    elif isinstance(config, float) and not math.isfinite(config):
        raise ConfigError(f"{key} = {config}; expected a finite number")


def grids(config: dict) -> list[dict]:
    """`datasets` is one grid {d, N, seeds?, replicates?} or a list of them."""
    datasets = config["datasets"]
    return datasets if isinstance(datasets, list) else [datasets]


def simulated(config: dict) -> dict[str, dict]:
    """Every simulated dataset's name -> {d, N, replicate, seeds, seeds_per_job}; replicate k > 0 is d{d}_N{N}_r{k}.

    A dataset in several grids would take the last grid's seeds and seeds_per_job: bvae.study.config refuses it.
    """
    found: dict[str, dict] = {}
    for grid in grids(config):
        jobs = {**config.get("seeds_per_job", {}), **grid.get("seeds_per_job", {})}
        for d in grid["d"]:
            for n in grid["N"]:
                for rep in draws(grid):
                    name = SimSettings(d=d, N=n, replicate=rep).name
                    seeds = _arch_seeds(config, grid.get("seeds", config["seeds"]))
                    found[name] = {"d": d, "N": n, "replicate": rep, "seeds": seeds, "seeds_per_job": jobs}
    return found


def draws(grid: dict) -> list[int]:
    """A grid's draws of each dataset: `replicates` is a count (draws 0 … k−1) or a list of draw numbers, so that
    further draws can be trained with other seeds than the first (another grid lists them)."""
    replicates = grid.get("replicates", 1)
    return list(range(replicates)) if isinstance(replicates, int) else list(replicates)


def files_registry(config: dict) -> dict[str, dict]:
    """The user's files {name: entry}. Every dataset name must be unique, and a second entry with the same name
    would silently replace the first; no file may look like a simulated dataset, which the simulation rules make."""
    files: dict[str, dict] = {}
    for entry in config["files"]:
        name = entry["name"]
        if name in files:
            raise ConfigError(
                f"files: name {name!r} is given twice (paths {files[name]['path']!r} and {entry['path']!r}); "
                "expected one name per file"
            )
        if parse_name(name):
            raise ConfigError(f"files: name {name!r} has the form d{{d}}_N{{N}} of simulated datasets; rename it")
        if name in config["examples"]:
            raise ConfigError(f"files: name {name!r} is also listed under examples:; rename the file's entry")
        files[name] = entry
    examples = list(config["examples"])
    for example in examples:
        if examples.count(example) > 1:
            raise ConfigError(f"examples: {example!r} is listed {examples.count(example)} times; list it once")
    return files


def _arch_seeds(config: dict, seeds: int | dict) -> dict[str, int]:
    """A `seeds` value (one count, or a count per architecture) -> {arch: count} for the study's architectures."""
    if isinstance(seeds, int):
        return dict.fromkeys(config["architectures"], seeds)
    missing = [arch for arch in config["architectures"] if arch not in seeds]
    if missing:
        raise ConfigError(f"seeds = {seeds}: no count for {', '.join(missing)}; expected one per architecture trained")
    return {arch: seeds[arch] for arch in config["architectures"]}


def dataset_seeds(config: dict) -> dict[str, dict[str, int]]:
    """Every dataset of the study -> {arch: number of seeds (0..seeds-1)}: simulated, user files, examples, in order."""
    sim = {name: entry["seeds"] for name, entry in simulated(config).items()}
    others = [*files_registry(config), *config["examples"]]
    return {**sim, **{name: _arch_seeds(config, config["seeds"]) for name in others}}


def seed_stacks(config: dict, arch: str) -> tuple[list[str], dict[tuple[int, ...], list[str]]]:
    """How the training jobs of one architecture cut the seeds: the datasets trained one seed per job, and each
    stack of seeds trained as one job -> the datasets it serves (every dataset's seeds 0..seeds-1 cut into
    consecutive stacks of its seeds_per_job[arch], the last one shorter, so no job trains an unrequested seed)."""
    sizes = {name: entry["seeds_per_job"] for name, entry in simulated(config).items()}
    single: list[str] = []
    stacks: dict[tuple[int, ...], list[str]] = {}
    for name, per_arch in dataset_seeds(config).items():
        seeds = per_arch[arch]
        size = sizes.get(name, config.get("seeds_per_job", {})).get(arch, 1)
        if size == 1:
            single.append(name)
            continue
        for first in range(0, seeds, size):
            stacks.setdefault(tuple(range(first, min(first + size, seeds))), []).append(name)
    return single, stacks


def protocol_architectures(config: dict, protocol: str) -> list[str]:
    """The architectures a protocol trains: its `architectures` if it names them, else the study's."""
    named = (config["protocols"][protocol] or {}).get("architectures", config["architectures"])
    outside = [arch for arch in named if arch not in config["architectures"]]
    if outside:
        raise ConfigError(
            f"protocols.{protocol}.architectures names {', '.join(outside)}, which the study does not train; "
            f"expected some of {', '.join(config['architectures'])}"
        )
    return [arch for arch in config["architectures"] if arch in named]


def protocol_settings(config: dict, protocol: str, arch: str) -> dict:
    """One protocol's complete training settings for one architecture: schema defaults < the config's top level <
    the protocol's overrides < the protocol's overrides for this architecture (a sub-mapping named after it)."""
    protocols = config["protocols"]
    if protocol not in protocols:
        raise ConfigError(f"protocol {protocol!r} is not defined; expected one of {', '.join(protocols)}")
    overrides = {k: v for k, v in (protocols[protocol] or {}).items() if k != "architectures"}
    per_arch = {name: overrides.pop(name) or {} for name in ARCHITECTURES if name in overrides}
    check_values(overrides, where=f"protocols.{protocol}.")
    for name, values in per_arch.items():
        check_values(values, where=f"protocols.{protocol}.{name}.")
    defaults = {key: prop.get("default") for key, prop in PROPERTIES.items()}
    top = {k: config[k] for k in PROPERTIES if k in config}
    return {**defaults, **top, **overrides, **per_arch.get(arch, {})}


def data_definition(config: dict, dataset: str) -> dict:
    """What determines a dataset's bits, from the config alone (before the dataset exists): the simulation settings,
    a user file's content digest and split, or an example's name. Written into the dataset's metadata and recorded
    with every training, it is how an archived training is matched to a study (`bvae.study.archive`)."""
    sim = simulated(config)
    if dataset in sim:
        draw = {key: sim[dataset][key] for key in ("d", "N", "replicate")}
        settings = {**config["simulation"], **draw, "score_sd": tuple(config["simulation"]["score_sd"])}
        return {"simulated": asdict(SimSettings(**settings))}
    files = files_registry(config)
    if dataset in files:
        entry = files[dataset]
        split = {key: entry[key] for key in ("split_column", "test_fraction", "seed")}  # the schema's defaults filled
        return {"file": {"sha256": file_fingerprint(entry["path"]), **split}}
    return {"example": dataset}


def canonical_json(value) -> str:
    """One JSON text per value, whatever the key order of its mappings: a rerun trigger and a match key."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
