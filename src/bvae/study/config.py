"""Checking a workflow config before the first job: every error is one line that names the key.

`check_config` runs first in the workflow (workflow/rules/common.smk) and is Snakemake-free, so it is tested on its
own. In order: keys given twice in a config file (YAML keeps the last one silently); the config schema
(workflow/schemas/config.schema.yaml) with integers that must be written as integers (JSON Schema counts 2.0 as
one, and a training job then dies on it); numbers that are not finite, which pass every bound of a schema; and what
a schema cannot say: each protocol's settings, dataset and protocol names that would clash as files, simulated
datasets too small for their blocks or splits or for a protocol's latent size, and paths that cannot be used.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import jsonschema
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from bvae.data.binary import array_width, check_split_column, check_split_sizes, columns_of, rows_of
from bvae.data.simulate import SimSettings
from bvae.errors import ConfigError, DataError, closest, shown, unknown
from bvae.model.settings import STRICT_VALIDATOR, check_combination
from bvae.study.plan import files_registry, protocol_architectures, protocol_settings, reject_non_finite, simulated

TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "text",
    "array": "a list",
    "object": "a mapping",
    "boolean": "true or false",
    "null": "nothing (null)",
}
BOUNDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}


def _duplicate_key(node, path: tuple = ()) -> str | None:
    """The first key given twice in a mapping of a composed YAML node, named with its path (`protocols.fast`) and
    both lines: YAML itself keeps the last one without a word."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                return (
                    f"{_key_name([*path, key])}: given twice in {node.start_mark.name} (lines {seen[key] + 1} and "
                    f"{key_node.start_mark.line + 1}); expected each key once"
                )
            seen[key] = key_node.start_mark.line
            if found := _duplicate_key(value_node, (*path, key)):
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            if found := _duplicate_key(item, (*path, i)):
                return found
    return None


MAX_VALUES = 100_000  # a config expanding to more, through YAML aliases, is an alias bomb: the checks would walk it


def _expanded_size(node, sizes: dict[int, int]) -> int:
    """How many values a composed YAML node stands for, its aliases expanded (counted once per node: `sizes`)."""
    if id(node) not in sizes:
        children = node.value if isinstance(node, yaml.SequenceNode) else []
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        sizes[id(node)] = 1 + sum(_expanded_size(child, sizes) for child in children)
    return sizes[id(node)]


def _check_unique_keys(paths: Iterable[str | os.PathLike]) -> None:
    """ConfigError naming the first key given twice in a mapping of any of the YAML (or JSON) config files, or a file
    whose aliases expand it beyond MAX_VALUES values."""
    for path in paths:
        with open(path, encoding="utf-8") as file:
            try:
                node = yaml.compose(file, Loader=yaml.SafeLoader)
            except yaml.YAMLError:
                continue  # Snakemake read the file; what it takes for YAML or JSON is its own business
        if node is not None and (size := _expanded_size(node, {})) > MAX_VALUES:
            raise ConfigError(
                f"{path}: its YAML aliases (*name) expand it to {size:,} values; expected at most {MAX_VALUES:,}"
            )
        if found := _duplicate_key(node):
            raise ConfigError(found)


def _schema_resource(uri: str):
    """A schema file as a draft 2020-12 resource without its `$schema`, which would make jsonschema validate it with
    the standard validator, integers and all, instead of the strict one it is reached from."""
    schema = yaml.safe_load(Path(url2pathname(urlparse(uri).path)).read_text())
    schema.pop("$schema", None)
    return DRAFT202012.create_resource(schema)


def _config_validator(schema_path: str | os.PathLike):
    """A strict-integer validator of the config schema and a resolver of its `$ref`s (files beside it)."""
    uri = Path(schema_path).resolve().as_uri()
    registry = Registry(retrieve=_schema_resource).with_resource(uri, _schema_resource(uri))  # type: ignore[call-arg]
    schema = {**registry[uri].contents, "$id": uri}
    return STRICT_VALIDATOR(schema, registry=registry), registry.resolver(base_uri=uri)


def resolved(resolver, schema: dict):
    """`schema` with its `$ref` filled in, and the resolver of the `$ref`s inside it."""
    if "$ref" not in schema:
        return schema, resolver
    target = resolver.lookup(schema["$ref"])
    return {**target.contents, **{k: v for k, v in schema.items() if k != "$ref"}}, target.resolver


def _key_name(path: Iterable) -> str:
    """`datasets.replicates`, `hidden[0]`, `files[1].name`: a config key as the README writes it."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name


def _known_keys(resolver, schema: dict) -> list[str]:
    """The keys a mapping schema (with its `allOf` parts) defines."""
    schema, resolver = resolved(resolver, schema)
    return [
        *schema.get("properties", {}),
        *(k for part in schema.get("allOf", []) for k in _known_keys(resolver, part)),
    ]


def _unknown_keys(resolver, error) -> list:
    """The keys of a mapping that its schema does not define (none: the keys failed a part they are defined in)."""
    if error.validator not in ("additionalProperties", "unevaluatedProperties"):
        return []
    known = _known_keys(resolver, error.schema)
    return [key for key in error.instance if key not in known]


def _unknown_key(resolver, error) -> str:
    known = _known_keys(resolver, error.schema)
    key = next(key for key in error.instance if key not in known)
    return f"{_key_name([*error.absolute_path, key])}: unknown key; {unknown(key, known)}"


def _expected(error) -> str:
    """What the failing schema keyword asks for, in words."""
    kind, limit, schema = error.validator, error.validator_value, error.schema
    types = [schema["type"]] if isinstance(schema.get("type"), str) else schema.get("type", [])
    numeric = [t for t in types if t in ("integer", "number")]  # what a bound such as minimum applies to
    noun = TYPE_WORDS[types[0]] if len(types) == 1 else TYPE_WORDS[numeric[0]] if numeric else "a value"
    if kind == "type":
        words = " or ".join(TYPE_WORDS[t] for t in ([limit] if isinstance(limit, str) else limit))
        if isinstance(error.instance, float) and error.instance.is_integer() and "integer" in words:
            return f"{words} (write {int(error.instance)}, not {error.instance})"
        if isinstance(error.instance, str) and "number" in words and re.fullmatch(r"[-+]?\d+e[-+]?\d+", error.instance):
            return f"{words} (YAML reads {error.instance} as text; write {error.instance.replace('e', '.0e', 1)})"
        if isinstance(error.instance, str) and limit == "boolean" and error.instance.lower() in ("true", "false"):
            return f"{words} (snakemake --config reads only True and False as such: write {error.instance.title()})"
        return words
    if kind in BOUNDS:
        return f"{noun} {BOUNDS[kind]} {limit}"
    if kind == "enum":
        close = closest(error.instance, limit)
        return f"one of {', '.join(map(str, limit))}" + (f" (did you mean {close!r}?)" if close else "")
    if kind in ("minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength"):
        unit = ("character", "characters") if kind.endswith("Length") else ("entry", "entries")
        return f"{'at least' if kind.startswith('min') else 'at most'} {limit} {unit[limit != 1]}"
    if kind == "uniqueItems":
        return "no entry given twice"
    if kind == "pattern":
        return schema.get("description", f"text matching {limit}")
    return error.message


def describe(resolver, error) -> str:
    """One line for a schema error: the key, its value and what was expected."""
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        return _unknown_key(resolver, error)
    key = _key_name(error.absolute_path)
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        return f"{key or 'the config'}: {missing} is missing; expected keys {', '.join(error.validator_value)}"
    if "propertyNames" in error.absolute_schema_path:
        return f"{key}: name {shown(error.instance)} is not allowed; expected {_expected(error)}"
    if error.validator in ("oneOf", "anyOf"):  # of no branch's type: say which types they are
        kinds = [resolved(resolver, branch)[0].get("type") for branch in error.validator_value]
        expected = " or ".join(TYPE_WORDS[kind] for kind in kinds if isinstance(kind, str)) or error.message
        return f"{key or 'the config'} = {shown(error.instance)}; expected {expected}"
    return f"{key or 'the config'} = {shown(error.instance)}; expected {_expected(error)}"


def _check_schema(config: dict, schema_path: str | os.PathLike) -> None:
    """ConfigError for the most relevant way in which `config` breaks the schema; then fill in its defaults."""
    validator, resolver = _config_validator(schema_path)
    errors = validator.iter_errors(config)
    # A top-level setting of the wrong type fails the settings part, and unevaluatedProperties then counts every
    # setting as unexpected: only a key that no part defines is an unknown key.
    error = jsonschema.exceptions.best_match(
        e for e in errors if e.validator != "unevaluatedProperties" or _unknown_keys(resolver, e)
    )
    if error is not None:
        raise ConfigError(describe(resolver, error))
    _fill_defaults(resolver, validator.schema, config)


def _fill_defaults(resolver, schema: dict, instance) -> None:
    """Set the schema's defaults of absent keys, in every mapping it describes (a copy: never the schema's own)."""
    schema, resolver = resolved(resolver, schema)
    for part in schema.get("allOf", []):
        _fill_defaults(resolver, part, instance)
    if isinstance(instance, dict):
        for key, prop in schema.get("properties", {}).items():
            if key not in instance and "default" in prop:
                instance[key] = copy.deepcopy(prop["default"])
            if key in instance:
                _fill_defaults(resolver, prop, instance[key])
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:
            _fill_defaults(resolver, schema["items"], item)


def _check_names(config: dict, datasets: Iterable[str]) -> None:
    """Dataset and protocol names that differ only in case are one file on macOS and Windows."""
    for what, names in (("dataset", list(datasets)), ("protocol", list(config["protocols"]))):
        folded: dict[str, str] = {}
        for name in names:
            if name.casefold() in folded:
                raise ConfigError(
                    f"{what} names {folded[name.casefold()]!r} and {name!r} differ only in case, so their files "
                    "would be one on a case-insensitive file system; rename one"
                )
            folded[name.casefold()] = name


def _check_grids(config: dict) -> None:
    """Each simulated dataset in one grid: in two, the last grid's seeds, replicates and seeds_per_job would win."""
    if not isinstance(config["datasets"], list):
        return
    first: dict[str, int] = {}
    for i, grid in enumerate(config["datasets"]):
        for name in simulated({**config, "datasets": grid}):
            if first.setdefault(name, i) != i:
                raise ConfigError(
                    f"datasets[{i}]: {name} is also in datasets[{first[name]}]; expected each dataset in one grid "
                    "(its seeds, replicates and seeds_per_job would be the last grid's)"
                )


def _check_simulated(config: dict) -> dict[str, int]:
    """Each simulated dataset can be generated and split into >= 2 rows a side; its name -> d."""
    sim: dict[str, Any] = {key: tuple(v) if isinstance(v, list) else v for key, v in config["simulation"].items()}
    widths = {}
    for name, entry in simulated(config).items():
        settings = SimSettings(d=entry["d"], N=entry["N"], **sim)
        try:
            settings.check()
        except ConfigError as exc:
            raise ConfigError(f"datasets: {name}: {exc}") from None
        check_split_sizes(settings.N, settings.test_fraction, f"datasets: {name}: simulation.test_fraction")
        widths[name] = settings.d
    return widths


def _check_latent_dims(widths: dict[str, int], protocols: dict[str, dict]) -> None:
    """Each protocol's latent size is at most the d of every dataset whose d is known before it is read."""
    for protocol, settings in protocols.items():
        for name, d in widths.items():
            if settings["latent_dim"] > d:
                raise ConfigError(
                    f"latent_dim = {settings['latent_dim']} (protocol {protocol}) exceeds d = {d} of dataset {name}; "
                    "expected at most the smallest d"
                )


def _check_compare_epochs(epochs: list[int], protocols: dict[str, dict]) -> None:
    """Each epoch of compare_epochs is reached by some protocol: one beyond all of them would compare nothing."""
    longest = max(settings["epochs"] for settings in protocols.values())
    for i, epoch in enumerate(epochs):
        if epoch > longest:
            raise ConfigError(
                f"compare_epochs[{i}] = {epoch} exceeds the epochs of every protocol (at most {longest}); expected an "
                "epoch that a protocol trains to"
            )


def _expand_path(value: str, key: str) -> Path:
    """`~` is the home directory; a `$VARIABLE` is refused, since it would become a folder of that literal name."""
    if re.search(r"\$\{?[A-Za-z_]", value):
        raise ConfigError(f"{key} = {value!r}: environment variables are not expanded; write the path out")
    if re.search(r"[{}]", value):
        raise ConfigError(f"{key} = {value!r}: Snakemake reads {{...}} in a path as a wildcard; expected no braces")
    return Path(os.path.expanduser(value))


def _check_results_root(config: dict) -> Path:
    """The output root, `~` expanded in the config: an existing directory or one that can be made. Whether it can be
    written is for a run to find out (its lock on the root, before the first job): a dry run, --summary or --report
    only read it."""
    root = _expand_path(config["results"], "results")
    existing = next(p for p in [root, *root.parents] if p.exists())  # ends at / or the working directory
    if not existing.is_dir():
        raise ConfigError(f"results = {config['results']!r}: {existing} is not a directory; expected a directory")
    config["results"] = str(root)
    return root


def _check_archive(config: dict) -> None:
    """The archive, `~` expanded in the config, is an existing folder (a study restores from it, never writes it);
    archived_only needs one."""
    if config["archive"] is None:
        if config["archived_only"]:
            raise ConfigError("archived_only = true but archive is not set; expected the folder of archived trainings "
                              "that the study is rebuilt from")  # fmt: skip
        return
    path = _expand_path(config["archive"], "archive")
    if not path.is_dir():
        raise ConfigError(f"archive = {config['archive']!r}: no such folder; expected a folder written by bvae archive")
    root = Path(config["results"]).resolve()
    if root.is_relative_to(path.resolve()) or path.resolve().is_relative_to(root):  # a study writing into its archive
        raise ConfigError(f"archive = {config['archive']!r} and results = {config['results']!r} lie one inside the "
                          "other; expected an archive apart from the output root, which the study writes")  # fmt: skip
    config["archive"] = str(path)


def _check_files(config: dict, root: Path) -> dict[str, int]:
    """Each user file exists (`~` expanded in the config), is a regular file outside the output root and has the
    split column asked for; name -> d of each file, from its first bytes or array headers (values are not read)."""
    widths = {}
    for i, entry in enumerate(config["files"]):
        key = f"files[{i}].path"
        path = _expand_path(entry["path"], key)
        if path.exists() and path.resolve().is_relative_to(root.resolve()):
            raise ConfigError(
                f"{key} = {entry['path']!r} lies inside the output root results = {config['results']!r}, where the "
                "workflow writes; keep your data outside it"
            )
        try:
            columns = columns_of(path)
        except DataError as exc:
            raise ConfigError(f"{key}: {exc}") from None
        try:
            check_split_column(columns, entry["split_column"], str(path))
        except DataError as exc:
            raise ConfigError(f"files[{i}].split_column: {exc}") from None
        entry["path"] = str(path)
        if columns is None or entry["split_column"] not in columns:  # split at random: the sizes follow from N
            n = rows_of(path)
            if n is not None:
                check_split_sizes(n, entry["test_fraction"], f"files[{i}].test_fraction")
        width = array_width(path) if columns is None else len(columns) - (entry["split_column"] in columns)
        if width is not None:
            widths[entry["name"]] = width
    return widths


def check_config(config: dict, schema_path: str | os.PathLike, config_files: Iterable = ()) -> None:
    """Every check of a workflow config, before any job runs; fills in the schema's defaults and expands `~` in
    `results` and in the files' paths (both in place).

    Arguments:
        config: the config as Snakemake (or `yaml.safe_load`) read it.
        schema_path: workflow/schemas/config.schema.yaml.
        config_files: the files it was read from, checked for keys given twice (YAML keeps the last silently).

    Raises:
        ConfigError: the first failed check, in one line naming the key (and the closest known key for a typo).
    """
    _check_unique_keys(config_files)
    _check_schema(config, schema_path)
    reject_non_finite(config)
    protocols = {  # "protocol, arch" -> the settings of its trainings
        f"{name}, {arch}": protocol_settings(config, name, arch)
        for name in config["protocols"]
        for arch in protocol_architectures(config, name)
    }
    for key, settings in protocols.items():
        check_combination(settings, f"protocol {key}: ")
    names = [*simulated(config), *files_registry(config), *config["examples"]]
    _check_names(config, names)
    _check_grids(config)
    widths = {**_check_simulated(config), **_check_files(config, _check_results_root(config))}
    _check_archive(config)
    _check_latent_dims(widths, protocols)
    _check_compare_epochs(config["compare_epochs"], protocols)
