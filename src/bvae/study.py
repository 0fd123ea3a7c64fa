"""What a workflow config asks for: its datasets with their seeds, and its protocols' training settings.

Torch-free and Snakemake-free, so that the workflow parses quickly and this logic is tested on its own.
"""

from __future__ import annotations

from bvae.errors import ConfigError
from bvae.settings import PROPERTIES, check_values


def grids(config: dict) -> list[dict]:
    """`datasets` is one grid {d, N, seeds?, replicates?} or a list of them."""
    datasets = config["datasets"]
    return datasets if isinstance(datasets, list) else [datasets]


def simulated(config: dict) -> dict[str, dict]:
    """Every simulated dataset's name -> {d, N, replicate, seeds, seeds_per_job}; replicate k > 0 is d{d}_N{N}_r{k}.

    A dataset in several grids takes the last grid's seeds and seeds_per_job.
    """
    found: dict[str, dict] = {}
    for grid in grids(config):
        jobs = {**config.get("seeds_per_job", {}), **grid.get("seeds_per_job", {})}
        for d in grid["d"]:
            for n in grid["N"]:
                for rep in range(grid.get("replicates", 1)):
                    name = f"d{d}_N{n}" + (f"_r{rep}" if rep else "")
                    seeds = grid.get("seeds", config["seeds"])
                    found[name] = {"d": d, "N": n, "replicate": rep, "seeds": seeds, "seeds_per_job": jobs}
    return found


def dataset_seeds(config: dict) -> dict[str, int]:
    """Every dataset of the study -> its number of seeds (0..seeds-1): simulated, user files and examples."""
    sim = {name: entry["seeds"] for name, entry in simulated(config).items()}
    named = [entry["name"] for entry in config["files"]] + list(config["examples"])
    clash = sorted({n for n in named if named.count(n) > 1 or n in sim})
    if clash:
        raise ConfigError(f"dataset name(s) {clash} used twice; give every entry of files: and examples: its own name")
    return {**sim, **dict.fromkeys(named, config["seeds"])}


def seed_stacks(config: dict, arch: str) -> tuple[list[str], dict[tuple[int, ...], list[str]]]:
    """How the training jobs of one architecture cut the seeds: the datasets trained one seed per job, and each
    stack of seeds trained as one job -> the datasets it serves (every dataset's seeds 0..seeds-1 cut into
    consecutive stacks of its seeds_per_job[arch], the last one shorter, so no job trains an unrequested seed)."""
    sizes = {name: entry["seeds_per_job"] for name, entry in simulated(config).items()}
    single, stacks = [], {}
    for name, seeds in dataset_seeds(config).items():
        size = sizes.get(name, config.get("seeds_per_job", {})).get(arch, 1)
        if size == 1:
            single.append(name)
            continue
        for first in range(0, seeds, size):
            stacks.setdefault(tuple(range(first, min(first + size, seeds))), []).append(name)
    return single, stacks


def protocol_settings(config: dict, protocol: str) -> dict:
    """One protocol's complete training settings: schema defaults < the config's top level < the protocol."""
    protocols = config["protocols"]
    if protocol not in protocols:
        raise ConfigError(f"protocol {protocol!r} is not defined; expected one of {', '.join(protocols)}")
    overrides = protocols[protocol] or {}
    check_values(overrides, where=f"protocols.{protocol}.")
    defaults = {key: prop.get("default") for key, prop in PROPERTIES.items()}
    return {**defaults, **{k: config[k] for k in PROPERTIES if k in config}, **overrides}
