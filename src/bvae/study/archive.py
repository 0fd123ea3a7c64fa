"""The archive of a study's finished trainings: their records, kept apart from the machine that trained them.

An archive holds every final record and per-epoch history of a study's trainings, with provenance and without
checkpoints, one Parquet pair per cell: `{archive}/{protocol}/{dataset}/{arch}/{variant}/final.parquet` (a row per
training) and `history.parquet` (a row per training and epoch). `bvae archive` adds a results root's finished
trainings to it; a study whose config names it (`archive:`) restores from it every training it holds instead of
training it again, so its tables, comparison, claims and figures are rebuilt in minutes.

A training is matched by its identity (`identity`): dataset, data definition (`bvae.study.plan.data_definition`), the
settings that change results, seed and numerics version (`bvae.numerics`), never the protocol's name or the code's
bytes. A setting added after a record was archived counts at its schema default, which by the rule of
`settings.schema.yaml` keeps the old behaviour.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bvae.data.binary import BinaryData
from bvae.data.examples import EXAMPLES
from bvae.data.simulate import SimSettings, simulate
from bvae.errors import DataError, OutputError
from bvae.io import read_metadata, read_parquet, write_parquets
from bvae.model.settings import JOB_KEYS, PROPERTIES, RUN_ONLY
from bvae.study.plan import canonical_json

FILES = ("history.parquet", "final.parquet")  # a cell's pair, final last: it marks a complete write
RECORD_COLUMNS = ("training", "provenance")  # what an archived final record carries beyond a run's final.parquet
RESULT_SETTINGS = tuple(key for key in PROPERTIES if key not in RUN_ONLY)


def plain(value):
    """A Parquet cell as a JSON value: missing -> None, numpy scalars -> Python numbers."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _result_settings(values: Mapping) -> dict:
    """The settings that change a training's numbers: every setting but `RUN_ONLY` (absent ones at their schema
    default) and the job's arch, variant and threads, as JSON values."""
    found = {key: values.get(key, PROPERTIES[key].get("default")) for key in RESULT_SETTINGS}
    found.update({key: values[key] for key in JOB_KEYS})
    return {key: list(value) if isinstance(value, tuple) else value for key, value in found.items()}


def identity(dataset: str, definition: str, settings: Mapping, seed: int, numerics: int) -> str:
    """What determines a training's numbers, as one text (`definition`: the canonical JSON of the data's)."""
    return canonical_json(
        {"dataset": dataset, "data": json.loads(definition), "settings": _result_settings(settings),
         "seed": int(seed), "numerics": int(numerics)}
    )  # fmt: skip


def record_identity(record: Mapping) -> str:
    """The identity of a final record (a run's final.parquet row or an archived one)."""
    values = {key: plain(record[key]) for key in (*RESULT_SETTINGS, *JOB_KEYS) if key in record}
    for key, value in values.items():
        if PROPERTIES.get(key, {}).get("type") == "array" and isinstance(value, str):
            values[key] = json.loads(value)  # lists are JSON text in a final record
    return identity(record["dataset"], record["data_definition"], values, record["seed"], record["numerics"])


def _cell_dir(archive: str | os.PathLike, protocol: str, dataset: str, arch: str, variant: str) -> Path:
    return Path(archive, protocol, dataset, arch, variant)


def read_index(archive: str | os.PathLike) -> dict[str, Path]:
    """Every archived training's identity -> the cell folder that holds it."""
    index = {}
    for final in sorted(Path(archive).glob(f"*/*/*/*/{FILES[-1]}")):
        for _, record in read_parquet(final).iterrows():
            index[record_identity(record)] = final.parent
    return index


def restore(cell: str | os.PathLike, wanted: str, outdir: str | os.PathLike) -> None:
    """Write the archived training `wanted` (its identity) from `cell` as a run's history.parquet and final.parquet,
    as training wrote them, with the training's own provenance."""
    finals = read_parquet(Path(cell, FILES[-1]))
    matches = finals[[record_identity(record) == wanted for _, record in finals.iterrows()]]
    if len(matches) != 1:
        raise DataError(f"{cell}: holds {len(matches)} trainings of identity {wanted}; expected 1")
    record = matches.iloc[0]
    histories = read_parquet(Path(cell, FILES[0]))
    history = histories[(histories["training"] == record["training"]) & (histories["seed"] == record["seed"])]
    final = matches.drop(columns=list(RECORD_COLUMNS)).reset_index(drop=True)
    owner = {"training": record["training"], "restored_from": str(cell)}
    write_parquets(
        [
            (history.drop(columns=["training", "seed"]).reset_index(drop=True), Path(outdir, FILES[0]), owner),
            (final, Path(outdir, FILES[-1]), {"provenance": json.loads(record["provenance"]), **owner}),
        ]
    )


def restore_job(cells: list[Path], wanted: list[str], outdirs: list[Path]) -> None:
    """Restore each training of `wanted` (identities) into its output directory from whichever of `cells` holds it:
    the trainings of one workflow job (a seed, or a stack of seeds)."""
    finals = {cell: read_parquet(cell / FILES[-1]) for cell in cells}
    holder = {record_identity(record): cell for cell, records in finals.items() for _, record in records.iterrows()}
    for identity, outdir in zip(wanted, outdirs, strict=True):
        if identity not in holder:
            raise DataError(f"{', '.join(map(str, cells))}: no archived training of identity {identity}")
        restore(holder[identity], identity, outdir)


@dataclass
class CellUpdate:
    """What `archive_root` did to one cell: trainings added, already there, and kept where a run differed."""

    cell: Path
    added: list[int] = field(default_factory=list)
    present: list[int] = field(default_factory=list)
    differing: list[int] = field(default_factory=list)


def _finished_runs(root: str | os.PathLike) -> dict[tuple[str, ...], list[Path]]:
    """(protocol, dataset, arch, variant) -> the run folders under `root`/runs holding a finished training."""
    cells: dict[tuple[str, ...], list[Path]] = {}
    for final in sorted(Path(root, "runs").glob(f"*/*/*/*/seed*/{FILES[-1]}")):
        cells.setdefault(final.parts[-6:-2], []).append(final.parent)
    return cells


def _run_record(run: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A finished run's final record (one row, with its training key and provenance) and history (with seed and
    training key), refused with one line if it lacks what an archived record needs."""
    final_path = run / FILES[-1]
    final, meta = read_parquet(final_path), read_metadata(final_path)
    for column, why in (("numerics", "its numerics version"), ("data_definition", "the definition of its data")):
        if column not in final or final[column].isna().any():
            raise DataError(
                f"{final_path}: does not record {why} (trained by an older bvae, or by bvae train outside the "
                "workflow); expected a training of the workflow"
            )
    key = meta.get("training")
    final = final.assign(training=key, provenance=json.dumps(meta.get("provenance", {}), sort_keys=True))
    history = read_parquet(run / FILES[0]).assign(seed=final["seed"].iloc[0], training=key)
    return final, history


def _read_cell(cell: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An archive cell's (finals, histories); empty frames for a cell not yet written."""
    if not (cell / FILES[-1]).exists():
        return pd.DataFrame(columns=["seed"]), pd.DataFrame(columns=["seed"])
    return read_parquet(cell / FILES[-1]), read_parquet(cell / FILES[0])


def _update_cell(cell: Path, runs: list[Path], replace: bool) -> CellUpdate:
    """Add the finished `runs` to the archive cell `cell`, writing it only if something was added."""
    update = CellUpdate(cell)
    finals, histories = _read_cell(cell)
    known = {record_identity(record): record for _, record in finals.iterrows()}
    new_finals, new_histories = [], []
    for run in runs:
        final, history = _run_record(run)
        record = final.iloc[0]
        seed, found = int(record["seed"]), known.get(record_identity(record))
        if found is not None:
            same = found["final_train_loss"] == record["final_train_loss"]
            (update.present if same else update.differing).append(seed)
            continue
        if seed in set(finals["seed"]):
            if not replace:
                raise OutputError(
                    f"{cell}: holds seed {seed} trained with other data, settings or numerics than {run}; keep "
                    "the archived one, or replace it (bvae archive --replace)"
                )
            finals, histories = finals[finals["seed"] != seed], histories[histories["seed"] != seed]
        new_finals.append(final)
        new_histories.append(history)
        update.added.append(seed)
    if update.added:
        histories = pd.concat([h for h in (histories, *new_histories) if len(h)], ignore_index=True)
        finals = pd.concat([f for f in (finals, *new_finals) if len(f)], ignore_index=True)
        write_parquets(
            [
                (histories.sort_values(["seed", "training", "epoch"]).reset_index(drop=True), cell / FILES[0], None),
                (finals.sort_values(["seed", "training"]).reset_index(drop=True), cell / FILES[-1], None),
            ]
        )
    return update


def archive_root(root: str | os.PathLike, archive: str | os.PathLike, replace: bool = False) -> list[CellUpdate]:
    """Add every finished training under `root`/runs to `archive`, one update per cell; nothing archived is
    replaced unless `replace`."""
    cells = _finished_runs(root)
    if not cells:
        raise DataError(f"{root}: holds no finished training (runs/*/*/*/*/seed*/{FILES[-1]}); expected a results root")
    return [_update_cell(_cell_dir(archive, *key), runs, replace) for key, runs in cells.items()]


def read_archive(archive: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every archived training's final record (with its protocol, as a study's runs table has it) and per-epoch
    history (keyed by protocol, dataset, arch, variant and seed, as `bvae.report.comparison.read_histories` gives
    it)."""
    finals, histories = [], []
    for final in sorted(Path(archive).glob(f"*/*/*/*/{FILES[-1]}")):
        protocol = final.parts[-5]
        records = read_parquet(final).assign(protocol=protocol)
        finals.append(records.drop(columns=list(RECORD_COLUMNS)))
        keys = records[["dataset", "arch", "variant", "seed", "training"]]
        history = read_parquet(final.parent / FILES[0]).merge(keys, on=["seed", "training"])
        histories.append(history.drop(columns=["training"]).assign(protocol=protocol))
    if not finals:
        raise DataError(f"{archive}: holds no archived training (*/*/*/*/{FILES[-1]}); expected an archive")
    return pd.concat(finals, ignore_index=True), pd.concat(histories, ignore_index=True)


def archived_datasets(runs: pd.DataFrame) -> list[BinaryData]:
    """The datasets of archived trainings, made again from their recorded definitions (simulated ones and examples;
    a user's file is not in the archive)."""
    datasets = []
    for name, text in runs[["dataset", "data_definition"]].drop_duplicates().itertuples(index=False):
        definition = json.loads(text)
        if "simulated" in definition:
            settings = {**definition["simulated"], "score_sd": tuple(definition["simulated"]["score_sd"])}
            datasets.append(simulate(SimSettings(**settings)))
        elif "example" in definition:
            datasets.append(EXAMPLES[definition["example"]]())
        else:
            raise DataError(f"dataset {name}: a user's file, which the archive does not hold; expected simulated data")
    return datasets
