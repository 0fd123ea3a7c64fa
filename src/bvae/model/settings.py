"""Training settings: `settings.schema.yaml` beside this file is their one definition.

`TrainSettings` (a frozen dataclass whose typed fields must match the schema's names, order and defaults: checked
when this module loads), its checks, the options of `bvae train` (`add_options`) and the training keys of the
workflow's config (top level and every protocol) derive from that schema, so a new setting is one entry there, one
field of `TrainSettings`, plus the code that uses it. Every setting lands in each training's final record.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bvae.errors import ConfigError, unknown
from bvae.model.architectures import ARCHITECTURES, LAYER_GROUPS, VARIANTS, Layers, layers
from bvae.model.bound import check_latent_dim

SCHEMA_PATH = Path(__file__).with_name("settings.schema.yaml")
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
PROPERTIES: dict[str, dict] = SCHEMA["properties"]
JOB_KEYS = ("arch", "variant", "threads")  # set per training job by the workflow, not by a protocol
# How a training runs, not what it computes: left out of its checkpoint key and of the workflow's rerun trigger.
RUN_ONLY = tuple(name for name, prop in PROPERTIES.items() if prop.get("changes_results") is False)


def frozen(value):
    return tuple(value) if isinstance(value, list) else value  # hashable: the dataclass is frozen


def resolve(prop: dict) -> dict:
    """A property with its `$ref` to `$defs` filled in."""
    return {**SCHEMA["$defs"][prop["$ref"].rsplit("/", 1)[-1]], **prop} if "$ref" in prop else prop


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """Everything a training depends on besides the data and the seed.

    Each field but `arch`, `variant` and `threads` is a setting of `settings.schema.yaml`, which defines its meaning,
    its allowed values and its default (checked against these fields when this module loads). Lists are tuples here
    (the dataclass is frozen and hashable). The field order is part of a training's checkpoint key: keep it.
    """

    arch: str = "deep"
    variant: str = "vanilla"
    latent_dim: int = 2
    hidden: tuple[int, ...] = (1024, 1024)
    epochs: int = 300
    lr: float = 0.001
    batch_size: int = 100
    adam_eps: float = 1e-07
    init: str = "he_normal"
    init_encoder: str | None = None
    init_mu: str | None = None
    init_logvar: str | None = None
    init_decoder: str | None = None
    init_output: str | None = None
    init_bias: str = "zeros"
    kl_reduction: str = "sum"
    precision: str = "fp32"
    kernel: str = "auto"
    mc_samples: int = 10
    checkpoint_every: int = 10
    threads: int = 1

    def check(self, d: int) -> None:
        """Check every setting, and the latent size against the data's width.

        Arguments:
            d: the number of columns of the data the settings will train on.

        Raises:
            ConfigError: naming the first bad setting, including a latent size outside 1..d.
        """
        for key, allowed in (("arch", ARCHITECTURES), ("variant", VARIANTS)):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{key} = {getattr(self, key)!r}; expected one of {', '.join(allowed)}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ConfigError(f"threads = {self.threads!r}; expected a positive integer")
        check_values(self.values())
        check_combination(self.values())
        check_latent_dim(self.latent_dim, d)

    def values(self) -> dict:
        """The schema's settings as plain JSON values (lists, not tuples)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items() if k in PROPERTIES
        }

    def scheme(self, group: str) -> str:
        """The initialisation scheme of one layer group: its own setting, else `init`."""
        return getattr(self, f"init_{group}") or self.init

    def layers(self, d: int) -> Layers:
        return layers(self.arch, d, self.latent_dim, self.hidden)


def _check_fields_follow_the_schema() -> None:
    """The dataclass's fields are the schema's settings, in its order and with its defaults, between the job's keys."""
    fields = dataclasses.fields(TrainSettings)
    names = [f.name for f in fields]
    if names != ["arch", "variant", *PROPERTIES, "threads"]:
        raise TypeError(f"TrainSettings' fields {names} are not the schema's settings in its order")
    for f in fields:
        default = frozen(PROPERTIES[f.name].get("default")) if f.name in PROPERTIES else f.default
        if f.default != default:
            raise TypeError(f"TrainSettings.{f.name} defaults to {f.default!r}, the schema to {default!r}")
    if not {f"init_{g}" for g in LAYER_GROUPS} <= set(PROPERTIES):
        raise TypeError("every layer group needs an init_ setting in the schema")


_check_fields_follow_the_schema()


def expected(prop: dict) -> str:
    """What a schema property accepts, in words, for one-line error messages."""
    prop = resolve(prop)
    if "enum" in prop:
        return "one of " + ", ".join("null" if v is None else str(v) for v in prop["enum"])
    item = prop.get("items", prop)
    noun = "integer" if item["type"] == "integer" else "finite number"
    limit = f">= {item['minimum']}" if "minimum" in item else f"> {item['exclusiveMinimum']}"
    if prop["type"] == "array":
        return f"a non-empty list of {noun}s {limit}"
    return f"{'an' if noun == 'integer' else 'a'} {noun} {limit}"


def check_values(values: dict, where: str = "") -> None:
    """Validate setting values against the schema (NaN and infinities too, which JSON schema lets through)."""
    for key, value in values.items():
        if key not in PROPERTIES:
            raise ConfigError(f"{where}{key}: unknown setting; {unknown(key, PROPERTIES)}")
        error = jsonschema.exceptions.best_match(VALIDATOR.iter_errors({key: value}))
        finite = not isinstance(value, float) or math.isfinite(value)
        if error is not None or not finite:
            raise ConfigError(f"{where}{key} = {value!r}; expected {expected(PROPERTIES[key])}")


def check_combination(values: dict, where: str = "") -> None:
    """Settings valid one by one but not together."""
    if values["precision"] == "bf16" and values["kernel"] != "auto":
        raise ConfigError(
            f"{where}kernel = {values['kernel']!r} with precision = 'bf16'; expected auto (the kernels are fp32)"
        )


def _is_integer(checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# JSON Schema counts 2.0 as an integer; a setting written so would reach range() and torch as a float and fail there.
STRICT_VALIDATOR = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)
VALIDATOR = STRICT_VALIDATOR(SCHEMA)


def add_options(parser: argparse.ArgumentParser) -> None:
    """One `--option` per setting, with the schema's type, choices, default and description."""
    for name, prop in PROPERTIES.items():
        resolved = resolve(prop)
        kind = resolved.get("items", resolved).get("type")
        options: dict[str, Any] = {"type": int if kind == "integer" else float if kind == "number" else str}
        if "enum" in resolved:
            options["choices"] = [v for v in resolved["enum"] if v is not None]
        if resolved.get("type") == "array":
            options["nargs"] = "+"
        default = frozen(prop.get("default"))
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            default=default,
            metavar=name.upper() if "choices" not in options else None,
            help=f"{prop['description']} (default: {'as --init' if default is None else shown})",
            **options,
        )


def from_args(args: argparse.Namespace, **job) -> TrainSettings:
    """Settings from parsed `add_options` options plus the job's arch, variant and threads."""
    return TrainSettings(**job, **{k: frozen(v) for k, v in vars(args).items() if k in PROPERTIES})
