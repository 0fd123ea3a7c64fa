"""The workflow's dataset registry and the config checks JSON Schema cannot express, without Snakemake.

`workflow/rules/common.smk` calls these right after validating the config against its schema, so a bad registry
stops the run before any job with a message that names the entries at fault.
"""

from __future__ import annotations

import math
import re

from bvae.errors import ConfigError

# The simulate_dataset rule produces every results/datasets/d{d}_N{N}.parquet, so no other dataset may look like that.
SIMULATED_NAME = re.compile(r"d\d+_N\d+")


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


def dataset_registry(config: dict) -> tuple[dict[str, tuple[int, int]], dict[str, dict], list[str]]:
    """The simulated datasets {name: (d, N)}, the user's files {name: entry} and every dataset name, in order.

    Names must be unique across the three kinds: a second entry with the same name would silently replace the first.
    """
    simulated = {f"d{d}_N{N}": (d, N) for d in config["datasets"]["d"] for N in config["datasets"]["N"]}
    files: dict[str, dict] = {}
    for entry in config["files"]:
        name = entry["name"]
        if name in files:
            raise ConfigError(
                f"files: name {name!r} is given twice (paths {files[name]['path']!r} and {entry['path']!r}); "
                "expected one name per file"
            )
        if SIMULATED_NAME.fullmatch(name):
            raise ConfigError(f"files: name {name!r} has the form d{{d}}_N{{N}} of simulated datasets; rename it")
        if name in config["examples"]:
            raise ConfigError(f"files: name {name!r} is also listed under examples:; rename the file's entry")
        files[name] = entry
    examples = list(config["examples"])
    for example in examples:
        if examples.count(example) > 1:
            raise ConfigError(f"examples: {example!r} is listed {examples.count(example)} times; list it once")
    return simulated, files, [*simulated, *files, *examples]
