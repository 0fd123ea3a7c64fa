"""A training's results written to its output directories, so that no late failure loses the training and no
other training's results are overwritten (`train_and_write`, what `bvae train` and the workflow run)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bvae.data.binary import BinaryData
from bvae.errors import ConfigError, OutputError
from bvae.io import (
    Claim,
    check_output_dir,
    provenance,
    read_metadata,
    read_parquet,
    refuse_link,
    refuse_links,
    remove_temporaries,
    write_parquets,
)
from bvae.model.settings import TrainSettings
from bvae.training.checkpoint import Checkpoint, checkpoint_key
from bvae.training.train import RESULT_FILES, TrainResult, check_training, train_seeds


def write_result(result: TrainResult, outdir: str | os.PathLike, owner: Claim | None = None) -> None:
    """history.parquet and final.parquet in `outdir`, written as a pair (final last), provenance in the metadata, only
    while `owner` (if given) owns `outdir`."""
    outdir = Path(outdir)
    text = {key: "string" for key, value in result.final.items() if value is None or isinstance(value, str)}
    final = pd.DataFrame([result.final]).astype({**text, "epochs_to_1pct": "Int64", "epochs_to_bound": "Int64"})
    history_path, final_path = (outdir / name for name in RESULT_FILES)
    for path in (history_path, final_path):
        refuse_link(path)
    training = {"training": result.key}  # whose results these are: `check_owner` compares it
    write_parquets(
        [
            (result.history, history_path, {"final": result.final, **training}),
            (final, final_path, {"provenance": provenance(), **training}),
        ],
        owner,
    )


def _check_owner(outdirs: list, checkpoint, key: str, outputs: tuple[str, ...] = ()) -> None:
    """OutputError unless the output directories and the checkpoint hold nothing but this training's files: the
    results of another training (or of this one under another numerics version) or another training's checkpoint,
    finished or not, are never overwritten unless asked for. A directory whose final.parquet is gone (deleted, or a
    kill between the two renames) is known by its history.parquet."""
    for outdir in map(Path, outdirs):
        present = [name for name in (*RESULT_FILES, *outputs) if (outdir / name).exists()]
        marker = next((outdir / name for name in reversed(RESULT_FILES) if (outdir / name).exists()), None)
        meta = read_metadata(marker) if marker else {}
        if not present or meta.get("training") == key:
            continue
        if "training" in meta and marker:
            raise OutputError(f"{outdir}: holds the results of another training ({_results_label(marker)}){ANOTHER}")
        raise OutputError(
            f"{outdir}: holds {', '.join(present)}, not of this training; choose another output directory, or "
            "replace them (bvae train --force)"
        )
    state = Checkpoint(checkpoint, key).read()
    if state is not None and state.get("key") != key:
        label = state.get("label", "unlabelled: an older bvae")
        what = "finished" if "finals" in state else f"unfinished: epoch {state.get('epoch')}"
        raise OutputError(f"{checkpoint}: holds the checkpoint of another training ({label}, {what}){ANOTHER}")


ANOTHER = (
    "; other data, settings, seeds or numerics version: choose another output directory, or replace it "
    "(bvae train --force)"
)


def _results_label(path: Path) -> str:
    """Which training a result file of `write_result` holds: the record is in final.parquet's row and in
    history.parquet's metadata."""
    record = read_metadata(path).get("final") or read_parquet(path).iloc[0]
    return f"{record['dataset']} {record['arch']} {record['variant']} seed {record['seed']}, {record['epochs']} epochs"


def train_and_write(
    data: BinaryData,
    settings: TrainSettings,
    seeds: list[int],
    outdirs: list[str | os.PathLike],
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    keep_results: bool | Callable[[], bool] = False,
    replace: bool = False,
    outputs: tuple[str, ...] = (),
    take_over: bool = False,
    owner: Claim | None = None,
    root: str | os.PathLike | None = None,
) -> list[TrainResult]:
    """`train_seeds`, then each seed's results into its directory, so that no late failure loses the training.

    Arguments:
        data, settings, seeds, checkpoint, progress: as `train_seeds`.
        outdirs: one directory per seed, for its history.parquet and final.parquet. They are checked before
            training: writable, and holding no results or checkpoint of another training.
        keep_results: keep the checkpoint (by then holding the finished training's results) after the results are
            written; a callable is asked at that moment. A rerun whose outputs were deleted in between (Snakemake
            deletes the outputs of a job it found incomplete) then writes them again without training. False: the
            checkpoint is removed once every result file is written.
        replace: skip the check that the directories and the checkpoint hold no other training's results (the
            caller, such as the workflow, knows they are stale).
        outputs: the caller's own files in the directories (such as loss.png), which that check also counts.
        take_over: take the directories over from a training of a killed run that still holds them.
        owner: the caller's claim on the directories (default: one of this training's own).
        root: the output root that the directories and the checkpoint lie in (the workflow's): no directory below it
            on their paths may be a symbolic link.

    Returns:
        The `TrainResult` of every seed, as written.

    Raises:
        ConfigError: as `train_seeds`, or not one output directory per seed.
        OutputError: a directory is not writable, holds another training's results (without `replace`), is held
            by a running training (without `take_over`), or was taken over during the training (nothing written).
        DivergenceError: as `train_seeds`.
    """
    check_training(data, settings, seeds)
    if len(outdirs) != len(seeds):
        raise ConfigError(f"{len(outdirs)} output directories for {len(seeds)} seeds; expected one per seed")
    if root is not None:  # before anything below it is made
        for path in (*outdirs, checkpoint):
            if path:
                refuse_links(root, path)
    for outdir in outdirs:
        check_output_dir(outdir, RESULT_FILES)
    with contextlib.nullcontext(owner) if owner else Claim(outdirs, take_over) as claim:
        if not replace:
            _check_owner(outdirs, checkpoint, checkpoint_key(data, settings, list(seeds)), outputs)
        for target in [*(Path(outdir) / name for outdir in outdirs for name in RESULT_FILES), checkpoint]:
            if target:  # a killed writer's temporaries: ours now
                remove_temporaries(target)
        results = train_seeds(data, settings, seeds, checkpoint, progress, claim)
        claim.check()
        for result, outdir in zip(results, outdirs, strict=True):
            write_result(result, outdir, claim)
        if checkpoint and not (keep_results() if callable(keep_results) else keep_results):
            Path(checkpoint).unlink(missing_ok=True)
    return results
