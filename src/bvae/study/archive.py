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

from bvae.data.binary import BinaryData, read_dataset
from bvae.data.examples import EXAMPLES
from bvae.data.simulate import SimSettings, simulate
from bvae.errors import DataError, OutputError, shown
from bvae.io import (
    Claim,
    read_metadata,
    read_parquet,
    refuse_links,
    remove_temporaries,
    write_parquet,
    write_parquets,
)
from bvae.model.settings import JOB_KEYS, PROPERTIES, RUN_ONLY
from bvae.study.plan import canonical_json
from bvae.study.records import (
    HISTORY,
    RECORD,
    check_columns,
    check_data,
    check_history,
    check_record,
    plain,
    rerun_difference,
)

FILES = ("history.parquet", "final.parquet")  # a cell's pair, final last: it marks a complete write
RECORD_COLUMNS = ("training", "provenance")  # what an archived final record carries beyond a run's final.parquet
RESULT_SETTINGS = tuple(key for key in PROPERTIES if key not in RUN_ONLY)
BYTES_PER_BIT = 19  # what simulating a dataset holds at once per bit: float64 probabilities and draws, uint8 copies


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
    """The identity of a final record (a run's final.parquet row or an archived one), checked by `check_record`."""
    values = {key: plain(record[key]) for key in (*RESULT_SETTINGS, *JOB_KEYS) if key in record}
    for key, value in values.items():
        if PROPERTIES.get(key, {}).get("type") == "array" and isinstance(value, str):
            values[key] = json.loads(value)  # lists are JSON text in a final record
    return identity(record["dataset"], record["data_definition"], values, record["seed"], record["numerics"])


def _cell_dir(archive: str | os.PathLike, protocol: str, dataset: str, arch: str, variant: str) -> Path:
    return Path(archive, protocol, dataset, arch, variant)


def _cells(archive: str | os.PathLike) -> list[Path]:
    """The archive's cell folders, each holding its pair, none reached through a link."""
    cells = sorted(final.parent for final in Path(archive).glob(f"*/*/*/*/{FILES[-1]}"))
    for cell in cells:
        _refuse_links(archive, cell)
    return cells


def _refuse_links(archive: str | os.PathLike, cell: Path) -> None:
    """OutputError if a folder of `cell` below `archive`, or a file of its pair, is a symbolic link."""
    for name in FILES:
        refuse_links(archive, cell / name)


def _read_archived(path: Path) -> pd.DataFrame:
    """A file of an archive cell, verified (`read_parquet`) and written by bvae: one that another program rewrote has
    lost the checksums of its metadata and values."""
    frame = read_parquet(path)
    if not read_metadata(path):
        raise DataError(f"{path}: carries no bvae metadata (rewritten by another program?); expected the file as "
                        "bvae archive wrote it")  # fmt: skip
    return frame


def _read_finals(cell: Path) -> pd.DataFrame:
    """A cell's final records, each checked (`check_record`) and of the cell's dataset, architecture and variant; a
    cell without its history is refused too, since nothing could be restored from it."""
    path = cell / FILES[-1]
    if not (cell / FILES[0]).is_file():
        raise DataError(f"{cell / FILES[0]}: does not exist beside {path}; expected the cell's pair as bvae archive "
                        "wrote it")  # fmt: skip
    finals = _read_archived(path)
    check_columns(finals, (*RECORD, *RECORD_COLUMNS), path)
    for _, record in finals.iterrows():
        check_record(record, path)
        _check_archived(record, cell, path)
    if finals["seed"].duplicated().any():
        raise DataError(f"{path}: holds seed {finals['seed'][finals['seed'].duplicated()].iloc[0]} twice; expected one "
                        "record per seed")  # fmt: skip
    return finals


def _check_archived(record: Mapping, cell: Path, path: Path) -> None:
    """DataError unless an archived record is of its cell's dataset, architecture and variant and carries its training
    key and provenance as `bvae archive` records them."""
    if (record["dataset"], record["arch"], record["variant"]) != cell.parts[-3:]:
        raise DataError(f"{path}: seed {record['seed']}: a record of {record['dataset']} {record['arch']} "
                        f"{record['variant']}; expected one of this cell's")  # fmt: skip
    try:
        provenance = json.loads(record["provenance"])
    except (TypeError, ValueError):
        provenance = None
    if not isinstance(provenance, dict) or not isinstance(record["training"], str) or not record["training"]:
        raise DataError(f"{path}: seed {record['seed']}: its training key {shown(plain(record['training']))} or its "
                        "provenance is not as bvae archive records them (text, a JSON mapping)")  # fmt: skip


def _read_cell(cell: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A cell's (finals, histories), every record and its history checked; histories may hold rows of no record
    (left by an update that was killed), which nothing reads."""
    finals, path = _read_finals(cell), cell / FILES[0]
    histories = _read_archived(path)
    check_columns(histories, (*HISTORY, "seed", "training"), path)
    for _, record in finals.iterrows():
        check_history(record, _history_of(histories, record), cell / FILES[-1], path)
    return finals, histories


def _history_of(histories: pd.DataFrame, record: Mapping) -> pd.DataFrame:
    return histories[(histories["training"] == record["training"]) & (histories["seed"] == record["seed"])]


def read_index(archive: str | os.PathLike) -> dict[str, Path]:
    """Every archived training's identity -> the cell folder that holds it (each record checked, `check_record`)."""
    return {record_identity(record): cell for cell in _cells(archive) for _, record in _read_finals(cell).iterrows()}


def restore(
    cell: str | os.PathLike,
    wanted: str,
    outdir: str | os.PathLike,
    dataset: str | os.PathLike,
    owner: Claim | None = None,
) -> None:
    """Write the archived training `wanted` (its identity) from `cell` as a run's history.parquet and final.parquet,
    as training wrote them, with the training's own provenance, once its record and history are checked and its data
    digest is that of the dataset file `dataset` it is restored beside; only while `owner` (if given) owns `outdir`."""
    finals, histories = _read_cell(Path(cell))
    matches = finals[[record_identity(record) == wanted for _, record in finals.iterrows()]]
    if len(matches) != 1:
        raise DataError(f"{cell}: holds {len(matches)} trainings of identity {wanted}; expected 1")
    check_data(matches, read_dataset(dataset), Path(cell, FILES[-1]), dataset)
    record = matches.iloc[0]
    history = _history_of(histories, record)
    final = matches.drop(columns=list(RECORD_COLUMNS)).reset_index(drop=True)
    meta = {"training": record["training"], "restored_from": str(cell)}
    write_parquets(
        [
            (history.drop(columns=["training", "seed"]).reset_index(drop=True), Path(outdir, FILES[0]), meta),
            (final, Path(outdir, FILES[-1]), {"provenance": json.loads(record["provenance"]), **meta}),
        ],
        owner,
    )


def restore_job(
    archive: str | os.PathLike,
    cells: list[Path],
    wanted: list[str],
    outdirs: list[Path],
    dataset: str | os.PathLike,
    root: str | os.PathLike,
) -> None:
    """Restore each training of `wanted` (identities) from whichever of `cells` of `archive` holds it into its output
    directory below the output root `root`, beside the dataset file `dataset`: the trainings of one workflow job (a
    seed, or a stack of seeds).

    The job takes its directories over as a training job does, so that a training of a killed run still going on
    there stops without writing over what is restored."""
    for cell in cells:
        _refuse_links(archive, cell)
    for outdir in outdirs:
        refuse_links(root, outdir)
    holder = {record_identity(record): cell for cell in cells for _, record in _read_finals(cell).iterrows()}
    missing = [identity for identity in wanted if identity not in holder]
    if missing:
        raise DataError(f"{', '.join(map(str, cells))}: no archived training of identity {missing[0]}")
    with Claim(outdirs, take_over=True) as claim:
        for outdir in outdirs:
            for name in FILES:
                remove_temporaries(Path(outdir, name))
        for identity, outdir in zip(wanted, outdirs, strict=True):
            restore(holder[identity], identity, outdir, dataset, claim)


@dataclass
class CellUpdate:
    """What `archive_root` did to one cell: trainings added, already there, and kept where a rerun differed (seed ->
    how far it lies from its record, `rerun_difference`)."""

    cell: Path
    added: list[int] = field(default_factory=list)
    present: list[int] = field(default_factory=list)
    differing: dict[int, str] = field(default_factory=dict)


def _finished_runs(root: str | os.PathLike) -> dict[tuple[str, ...], list[Path]]:
    """(protocol, dataset, arch, variant) -> the run folders under `root`/runs holding a finished training."""
    cells: dict[tuple[str, ...], list[Path]] = {}
    for final in sorted(Path(root, "runs").glob(f"*/*/*/*/seed*/{FILES[-1]}")):
        refuse_links(root, final)
        cells.setdefault(final.parts[-6:-2], []).append(final.parent)
    return cells


def _run_record(run: Path, datasets: dict[str, BinaryData | None]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A finished run's final record (one row, with its training key and provenance) and history (with seed and
    training key), checked as an archived one is, and against its dataset in the output root if that is there
    (`datasets`: name -> data, filled as they are read)."""
    final_path, history_path = run / FILES[-1], run / FILES[0]
    final, meta = read_parquet(final_path), read_metadata(final_path)
    for column, why in (("numerics", "its numerics version"), ("data_definition", "the definition of its data")):
        if column not in final or final[column].isna().any():
            raise DataError(
                f"{final_path}: does not record {why} (trained by an older bvae, or by bvae train outside the "
                "workflow); expected a training of the workflow"
            )
    check_columns(final, RECORD, final_path)
    if len(final) != 1:
        raise DataError(f"{final_path}: holds {len(final)} records; expected one, as training writes it")
    record = final.iloc[0]
    check_record(record, final_path)
    history = read_parquet(history_path)
    check_columns(history, HISTORY, history_path)
    check_history(record, history, final_path, history_path)
    dataset = run.parents[5] / "datasets" / f"{record['dataset']}.parquet"  # {root}/runs/{protocol}/.../seed{seed}
    if record["dataset"] not in datasets:
        datasets[record["dataset"]] = read_dataset(dataset) if dataset.is_file() else None
    if (data := datasets[record["dataset"]]) is not None:
        check_data(final, data, final_path, dataset)
    key = meta.get("training")
    final = final.assign(training=key, provenance=json.dumps(meta.get("provenance", {}), sort_keys=True))
    return final, history.assign(seed=record["seed"], training=key)


def _new_cell() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame(columns=["seed", "training"]), pd.DataFrame(columns=["seed", "training"])


def _update_cell(
    archive: Path, key: tuple[str, ...], runs: list[tuple[Path, pd.DataFrame, pd.DataFrame]], replace: bool
) -> tuple[CellUpdate, tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None] | None]:
    """What adding `runs` (each a run folder with its checked final record and history, `_run_record`) to the archive
    cell of `key` does: the update, and the cell's new (finals, histories, added histories) to write, or None if
    nothing changes (nothing added, and no rows left by a killed update to remove)."""
    cell = _cell_dir(archive, *key)
    _refuse_links(archive, cell)
    for name in FILES:
        remove_temporaries(cell / name)  # of a killed update: the archive's lock is ours
    finals, histories = _read_cell(cell) if (cell / FILES[-1]).exists() else _new_cell()
    known = {record_identity(record): record for _, record in finals.iterrows()}
    update, added = CellUpdate(cell), []
    for run, final, history in runs:
        record = final.iloc[0]
        found, seed = known.get(record_identity(record)), int(record["seed"])
        if found is not None:  # archived already: kept, and how far the rerun lies from it told
            how_far = rerun_difference(found, record, _history_of(histories, found), history)
            if how_far:
                update.differing[seed] = how_far
            else:
                update.present.append(seed)
            continue
        if seed in set(finals["seed"]) and not replace:
            raise OutputError(f"{cell}: holds seed {seed} trained with other data, settings or numerics than {run}; "
                              "keep the archived one, or replace it (bvae archive --replace)")  # fmt: skip
        finals = pd.concat([f for f in (finals[finals["seed"] != seed], final) if len(f)], ignore_index=True)
        added.append(history)
        update.added.append(seed)
    if added or not _among(histories, finals).all():
        return update, (finals, histories, pd.concat(added) if added else None)
    return update, None


def _among(rows: pd.DataFrame, records: pd.DataFrame) -> np.ndarray:
    """Which of `rows` belong to one of `records` (by seed and training key)."""
    keys = ["seed", "training"]
    return pd.MultiIndex.from_frame(rows[keys]).isin(pd.MultiIndex.from_frame(records[keys]))


def _write_cell(cell: Path, finals: pd.DataFrame, histories: pd.DataFrame, added: pd.DataFrame | None, owner: Claim):
    """Write a cell's records `finals` so that at every moment each record in its final.parquet has its history
    beside it: the histories of the old and the `added` records first, then the records, then the histories of the
    records alone (if an old record was replaced, or a killed update left rows). A kill between renames loses
    nothing."""
    if added is not None:
        kept = histories[~_among(histories, added)]  # rows of a killed update that added these trainings already
        histories = pd.concat([h for h in (kept, added) if len(h)], ignore_index=True)
        histories = histories.sort_values(["seed", "training", "epoch"]).reset_index(drop=True)
        write_parquet(histories, cell / FILES[0], owner=owner)
        write_parquet(finals.sort_values(["seed", "training"]).reset_index(drop=True), cell / FILES[-1], owner=owner)
    current = _among(histories, finals)
    if not current.all():
        write_parquet(histories[current].reset_index(drop=True), cell / FILES[0], owner=owner)


def archive_root(root: str | os.PathLike, archive: str | os.PathLike, replace: bool = False) -> list[CellUpdate]:
    """Add every finished training under `root`/runs to `archive`, one update per cell, all or none: every run and
    every cell is read and checked before the first cell is written, while holding the archive (a second `bvae
    archive` into it is refused); nothing archived is replaced unless `replace`."""
    root, archive = Path(root), Path(archive)
    if root.resolve().is_relative_to(archive.resolve()) or archive.resolve().is_relative_to(root.resolve()):
        raise OutputError(f"{archive}: the archive and the output root {root} lie one inside the other; expected an "
                          "archive apart from the study it archives")  # fmt: skip
    cells = _finished_runs(root)
    if not cells:
        raise DataError(f"{root}: holds no finished training (runs/*/*/*/*/seed*/{FILES[-1]}); expected a results root")
    datasets: dict[str, BinaryData | None] = {}
    runs = {key: [(run, *_run_record(run, datasets)) for run in found] for key, found in cells.items()}
    with Claim([archive], writer="bvae archive") as owner:
        updates = [_update_cell(archive, key, found, replace) for key, found in runs.items()]
        for update, new in updates:
            if new is not None:
                _write_cell(update.cell, *new, owner)
    return [update for update, _ in updates]


def read_archive(archive: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every archived training's final record (with its protocol, as a study's runs table has it) and per-epoch
    history (keyed by protocol, dataset, arch, variant and seed, as `bvae.report.comparison.read_histories` gives
    it), each record and history checked."""
    finals, histories = [], []
    for cell in _cells(archive):
        protocol = cell.parts[-4]
        records, history = _read_cell(cell)
        finals.append(records.drop(columns=list(RECORD_COLUMNS)).assign(protocol=protocol))
        keys = records[["dataset", "arch", "variant", "seed", "training"]]
        history = history.merge(keys, on=["seed", "training"])
        histories.append(history.drop(columns=["training"]).assign(protocol=protocol))
    if not finals:
        raise DataError(f"{archive}: holds no archived training (*/*/*/*/{FILES[-1]}); expected an archive")
    return pd.concat(finals, ignore_index=True), pd.concat(histories, ignore_index=True)


def archived_datasets(runs: pd.DataFrame) -> list[BinaryData]:
    """The datasets of archived trainings, made again from their recorded definitions (simulated ones and examples;
    a user's file is not in the archive), each the data its records were trained on (`check_data`)."""
    datasets = []
    for name, text in runs[["dataset", "data_definition"]].drop_duplicates().itertuples(index=False):
        definition, records = json.loads(text), runs[runs["dataset"] == name]
        if "simulated" in definition:
            settings = SimSettings(
                **{**definition["simulated"], "score_sd": tuple(definition["simulated"]["score_sd"])}
            )
            _check_memory(settings)
            data = simulate(settings)
        elif "example" in definition:
            data = EXAMPLES[definition["example"]]()
        else:
            raise DataError(f"dataset {name}: a user's file, which the archive does not hold; expected simulated data")
        check_data(records, data, f"the archived records of {name}", f"made again from {text}")
        datasets.append(data)
    return datasets


def _check_memory(settings: SimSettings) -> None:
    """DataError if simulating a recorded dataset again would not fit into this machine's memory."""
    if not hasattr(os, "sysconf"):  # Windows: the allocation itself fails
        return
    needed, memory = BYTES_PER_BIT * settings.d * settings.N, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > memory:
        raise DataError(
            f"dataset {settings.name}: making it again needs {needed / 2**30:,.0f} GiB, more than this machine's "
            f"{memory / 2**30:,.0f} GiB; expected a dataset that a training could have used"
        )
