"""What a training's record must satisfy before anything uses it, and how far a rerun lies from its record.

A final record (a row of a run's or an archive cell's final.parquet) and its history (its rows of history.parquet)
are read back from files that anyone could have edited, rewritten or damaged. Before a record is restored, archived
or answered from, its numbers must agree with each other as training computed them (`check_record`,
`check_history`) and its data digest with the data it claims (`check_data`); a failure is one line naming the file,
the seed and what disagrees.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from bvae.data.binary import BinaryData, data_digest
from bvae.data.examples import EXAMPLES
from bvae.data.simulate import SimSettings
from bvae.errors import BvaeError, DataError, shown

INTEGERS = ("seed", "d", "N", "n_train", "n_test", "latent_dim", "epochs", "active_units", "numerics")
NUMBERS = ("final_train_loss", "final_test_loss", "bound_train", "bound_test", "pct_train", "pct_test")
TEXTS = ("dataset", "arch", "variant", "data_sha256", "data_definition")
FIRST_EPOCHS = {"epochs_to_bound": 1.0, "epochs_to_1pct": 1.01}  # the first epoch within this factor of the bound
RECORD = (*INTEGERS, *NUMBERS, *TEXTS, *FIRST_EPOCHS)  # the columns every record has
HISTORY = ("epoch", "train_loss")
HOW_IT_RAN = ("wall_seconds", "kernel_seconds", "slurm_job_id", "torch_version", "stack_size", "training", "provenance")
SIMULATED = {field.name for field in dataclasses.fields(SimSettings)}
SHA256 = re.compile(r"[0-9a-f]{64}")


def plain(value):
    """A Parquet cell as a JSON value: missing -> None, numpy scalars -> Python numbers."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def check_columns(frame: pd.DataFrame, needed: Iterable[str], source: str | os.PathLike) -> None:
    """DataError naming the columns of `needed` that `frame`, read from `source`, lacks."""
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: lacks the column(s) {', '.join(missing)}; expected a training's record as bvae wrote it"
        )


def _wrong(source: str | os.PathLike, record: Mapping, what: str) -> DataError:
    return DataError(
        f"{source}: seed {shown(plain(record['seed']))}: {what}; expected the record as training wrote it (damaged or "
        "edited)"
    )


def check_record(record: Mapping, source: str | os.PathLike) -> None:
    """DataError unless a final record's numbers agree with each other as training computed them (pct from the loss
    and the bound, split sizes, active units, the data's definition)."""
    values = {key: plain(record[key]) for key in RECORD}
    for key in INTEGERS:
        if not isinstance(values[key], int) or isinstance(values[key], bool) or values[key] < 0:
            raise _wrong(source, record, f"{key} = {shown(values[key])}, not a count")
    for key in (*NUMBERS, *TEXTS):
        if not isinstance(values[key], float if key in NUMBERS else str) or values[key] in (math.inf, -math.inf):
            raise _wrong(source, record, f"{key} = {shown(values[key])}")
    for split in ("train", "test"):
        loss, bound, pct = values[f"final_{split}_loss"], values[f"bound_{split}"], values[f"pct_{split}"]
        computed = 100 * (loss - bound) / bound  # as training computes it, to the last bit
        if pct != computed:
            raise _wrong(source, record, f"pct_{split} = {pct!r} disagrees with final_{split}_loss {loss!r} and "
                                         f"bound_{split} {bound!r}, which give {computed!r}")  # fmt: skip
    if values["n_train"] + values["n_test"] != values["N"]:
        raise _wrong(source, record, f"n_train {values['n_train']} + n_test {values['n_test']} != N {values['N']}")
    if values["active_units"] > values["latent_dim"]:
        raise _wrong(source, record, f"active_units {values['active_units']} > latent_dim {values['latent_dim']}")
    if not SHA256.fullmatch(values["data_sha256"]):
        raise _wrong(source, record, f"data_sha256 = {shown(values['data_sha256'])}, not a SHA-256")
    _check_definition(values, source, record)


def _check_definition(values: dict, source: str | os.PathLike, record: Mapping) -> None:
    """DataError unless the record's data definition is one that bvae writes and agrees with the record's data."""
    try:
        definition = json.loads(values["data_definition"])
    except ValueError:
        raise _wrong(source, record, f"data_definition {shown(values['data_definition'])} is not JSON") from None
    kinds = ("simulated", "file", "example")
    if not isinstance(definition, dict) or len(definition) != 1 or next(iter(definition)) not in kinds:
        raise _wrong(source, record, f"data_definition {shown(values['data_definition'])} is not one of {kinds}")
    ((kind, value),) = definition.items()
    if kind == "simulated":
        _check_simulated(value, values, source, record)
    elif kind == "example" and (value not in EXAMPLES or value != values["dataset"]):
        raise _wrong(source, record, f"its data are the example {shown(value)}; expected {values['dataset']!r}, "
                                     f"one of {', '.join(EXAMPLES)}")  # fmt: skip
    elif kind == "file" and not (isinstance(value, dict) and SHA256.fullmatch(str(value.get("sha256")))):
        raise _wrong(source, record, f"its data are the file {shown(value)}, without its SHA-256")


def _check_simulated(settings, values: dict, source: str | os.PathLike, record: Mapping) -> None:
    if not isinstance(settings, dict):
        raise _wrong(source, record, f"its simulated data have the settings {shown(settings)}, not a mapping")
    unknown, missing = sorted(set(settings) - SIMULATED), sorted(SIMULATED - set(settings))
    if unknown or missing:
        raise _wrong(source, record, f"its simulated data have the unknown settings {unknown} and lack {missing}")
    try:
        sim = SimSettings(**{**settings, "score_sd": tuple(settings["score_sd"])})
        sim.check()
    except (BvaeError, TypeError, ValueError) as exc:
        raise _wrong(source, record, f"its simulated data's settings are invalid ({exc})") from None
    if (sim.name, sim.d, sim.N) != (values["dataset"], values["d"], values["N"]):
        raise _wrong(source, record, f"its simulated data are {sim.name} (d = {sim.d}, N = {sim.N}); expected "
                                     f"{values['dataset']} (d = {values['d']}, N = {values['N']})")  # fmt: skip


def check_history(record: Mapping, history: pd.DataFrame, final: str | os.PathLike, source: str | os.PathLike) -> None:
    """DataError unless a record (read from `final`) has a history (its rows of `source`, in file order) with every
    epoch once, in order, that gives the record's first epochs at the bound and within 1 % of it."""
    epochs = history["epoch"].tolist()
    if epochs != list(range(1, int(record["epochs"]) + 1)):
        found = f"epochs {epochs[0]} to {epochs[-1]} in {len(epochs)} rows" if epochs else "no rows"
        raise _wrong(source, record, f"its history has {found}; expected epochs 1 to {record['epochs']}, once each, "
                                     "in order")  # fmt: skip
    losses = history["train_loss"].tolist()
    for column, factor in FIRST_EPOCHS.items():
        limit = factor * record["bound_train"]
        first = next((i + 1 for i, value in enumerate(losses) if value <= limit), None)  # as training finds it
        if plain(record[column]) != first:
            raise _wrong(final, record, f"{column} = {plain(record[column])} disagrees with its history in {source}, "
                                        f"which gives {first}")  # fmt: skip


def check_data(records: pd.DataFrame, data: BinaryData, source: str | os.PathLike, where: str | os.PathLike) -> None:
    """DataError unless every record of `records` (read from `source`) was trained on `data` (read from `where`)."""
    digest = data_digest(data)
    for _, record in records.iterrows():
        if record["data_sha256"] != digest:
            raise DataError(
                f"{source}: seed {record['seed']}: data_sha256 {record['data_sha256'][:12]}… is not the digest of "
                f"the data {where} ({digest[:12]}…); expected a record of these data (were the data made by other "
                "code under the same numerics version?)"
            )


def rerun_difference(
    archived: Mapping, rerun: Mapping, archived_history: pd.DataFrame, rerun_history: pd.DataFrame
) -> str:
    """How far a rerun lies from its archived record, "" if nowhere: each number of the final record that differs
    (by how much, absolute and relative), and the first epoch whose history differs, by how much there and at most."""
    columns = [c for c in dict.fromkeys([*archived.keys(), *rerun.keys()]) if c not in HOW_IT_RAN]
    changes = [_change(c, plain(archived.get(c)), plain(rerun.get(c))) for c in columns]
    parts = [f"final {', '.join(change for change in changes if change)}"] if any(changes) else []
    history = _history_difference(archived_history, rerun_history)
    return "; ".join(parts + ([history] if history else []))


def _change(column: str, old, new) -> str:
    """A column's change: by how much for numbers (column old -> new (+abs, rel r)), else old -> new; "" if none."""
    if old == new:
        return ""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (old, new))
    if not numbers:
        return f"{column} {shown(old)} -> {shown(new)}"
    return f"{column} {old:.6g} -> {new:.6g} ({_by(old, new)})"


def _by(old: float, new: float) -> str:
    relative = f", rel {abs(new - old) / abs(old):.2g}" if old else ""
    return f"{new - old:+.3g}{relative}"


def _history_difference(archived: pd.DataFrame, rerun: pd.DataFrame) -> str:
    """The first epoch at which two histories of one training differ (times aside), each column's difference there,
    and each column's largest difference; "" if they agree."""
    columns = [c for c in archived.columns if c not in ("epoch", "seconds", "seed", "training") and c in rerun]
    pair = archived.merge(rerun, on="epoch", how="outer", suffixes=("", "_rerun"), indicator=True)
    if (pair["_merge"] != "both").any():
        return f"history epochs {len(archived)} -> {len(rerun)}"
    old, new = pair[columns].to_numpy(np.float64), pair[[f"{c}_rerun" for c in columns]].to_numpy(np.float64)
    differs = ~((old == new) | (np.isnan(old) & np.isnan(new)))
    if not differs.any():
        return ""
    row = int(np.argmax(differs.any(axis=1)))
    there = [f"{c} {_by(old[row, j], new[row, j])}" for j, c in enumerate(columns) if differs[row, j]]
    gaps = np.where(differs, np.abs(new - old), 0)
    most = [f"{c} {gaps[:, j].max():.3g}" for j, c in enumerate(columns) if differs[:, j].any()]
    return (f"history first differs at epoch {int(pair['epoch'].iloc[row])} of {len(pair)} ({', '.join(there)}), "
            f"at most by {', '.join(most)}")  # fmt: skip
