"""Atomic writes and provenance: no half-written results, and every result says how it was made."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import secrets
import sys
import traceback
from collections.abc import Iterable, Iterator
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bvae.errors import DataError, OutputError, tell

METADATA_KEY = b"bvae"
LOCK_FILE = ".bvae.lock"
_held_locks: list = []  # open lock files: a lock lasts as long as the process that holds it


@contextlib.contextmanager
def naming(path: str | os.PathLike) -> Iterator[None]:
    """Turn an OSError raised while writing `path` into one line that names `path` (not a temporary beside it)."""
    try:
        yield
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc).splitlines()[0]
        raise OutputError(f"{path}: cannot be written ({reason})") from exc


def _temporary(target: Path) -> Path:
    """A new empty file beside `target`, created as open() creates files, so that the umask sets its mode
    (mkstemp's 0600 would make every result unreadable to collaborators); `target` itself if it is a device."""
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; expected the path of a file to write")
    if target.exists() and not target.is_file():
        return target  # a device or pipe (/dev/null, /dev/stdout): written in place, never replaced
    with naming(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Yield temporaries beside `paths`; rename them onto `paths` only if the block succeeds.

    The last path is removed before the others are renamed and is renamed last: a reader that finds it finds the
    others complete and from the same write, so it is the completion marker of the set.
    """
    targets = [Path(p) for p in paths]
    temps: list[Path] = []
    try:
        temps.extend(_temporary(target) for target in targets)
        yield temps
        renames = [(tmp, target) for tmp, target in zip(temps, targets, strict=True) if tmp != target]
        if len(renames) > 1:
            with naming(renames[-1][1]):
                renames[-1][1].unlink(missing_ok=True)  # the old marker goes first: no reader pairs it with new files
        for tmp, target in renames:
            with naming(target):
                os.replace(tmp, target)
    finally:
        for tmp, target in zip(temps, targets, strict=False):
            if tmp != target:
                tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    with atomic_paths(path) as (tmp,), naming(path):
        yield tmp


def check_output_dir(outdir: str | os.PathLike, names: Iterable[str]) -> None:
    """Fail now, not after hours of training, if files `names` cannot be created in `outdir` (created if need be)."""
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: exists and is not a directory; expected an output directory")
    for name in names:
        if (tmp := _temporary(outdir / name)) != outdir / name:
            tmp.unlink()


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (through links too); a path that does not exist yet by its resolved name."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return Path(a).resolve() == Path(b).resolve()


def check_outputs(inputs: Iterable[str | os.PathLike], outputs: Iterable[tuple[str, str | os.PathLike | None]]) -> None:
    """OutputError if an output (option, path) would write over an input file or over another output."""
    written: list[tuple[str, str | os.PathLike]] = []
    for option, path in outputs:
        if path is None:
            continue
        clash = next((f"the input file {i}" for i in inputs if same_file(path, i)), None) or next(
            (f"the output of {other}" for other, earlier in written if same_file(path, earlier)), None
        )
        if clash:
            raise OutputError(f"{path}: {option} would write over {clash}; expected a path of its own")
        written.append((option, path))


def check_suffix(path: str | os.PathLike | None, suffix: str, what: str) -> None:
    """OutputError unless a file that will hold `what` is named so (a device or pipe, e.g. /dev/stdout, is fine)."""
    if path is None:
        return
    path = Path(path)
    if path.suffix.lower() != suffix and not (path.exists() and not path.is_file()):
        raise OutputError(f"{path}: expected a path ending in {suffix} (the file is {what})")


def provenance() -> dict[str, str]:
    """Versions and host of the running process, recorded next to every result.

    Versions come from the installed distributions' metadata, so that writing a table does not import torch.
    """
    return {
        "bvae_version": version("bvae-bound"),
        "python_version": platform.python_version(),
        **{f"{name}_version": version(name) for name in ("numpy", "torch", "pandas", "pyarrow")},
        "hostname": platform.node(),
        "platform": sys.platform,
    }


def write_parquets(items: list[tuple[pd.DataFrame, str | os.PathLike, dict | None]]) -> None:
    """Write each (frame, path, metadata) all or nothing, the last one as the completion marker (`atomic_paths`).

    Pages carry CRC checksums that `read_parquet` verifies; metadata (JSON-able) joins provenance in the key-value
    metadata.
    """
    with atomic_paths(*(path for _, path, _ in items)) as temps:
        for (df, path, metadata), tmp in zip(items, temps, strict=True):
            table = pa.Table.from_pandas(df, preserve_index=False)
            meta = dict(table.schema.metadata or {})
            meta[METADATA_KEY] = json.dumps({**provenance(), **(metadata or {})}, default=str).encode()
            # An open file, not a path: on failure pyarrow deletes a path it was given, even a device like /dev/full.
            with naming(path), open(tmp, "wb") as sink:
                pq.write_table(table.replace_schema_metadata(meta), sink, write_page_checksum=True)


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write `df` atomically, with `metadata` (JSON-able) and provenance in the key-value metadata."""
    write_parquets([(df, path, metadata)])


@contextlib.contextmanager
def reading(path: str | os.PathLike) -> Iterator[None]:
    """Turn a failure to read Parquet file `path` (damaged, truncated, not Parquet) into a one-line DataError."""
    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: cannot be read ({first})") from None


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file, verifying its page checksums: a damaged file is a one-line DataError naming it."""
    with reading(path):
        return pq.read_table(path, columns=columns, page_checksum_verification=True).to_pandas()


def read_columns(path: str | os.PathLike) -> list[str]:
    """The column names of a Parquet file, from its footer alone."""
    with reading(path):
        return pq.read_schema(path).names


def read_num_rows(path: str | os.PathLike) -> int:
    """The number of rows of a Parquet file, from its footer alone."""
    with reading(path):
        return pq.ParquetFile(path).metadata.num_rows


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata dictionary that `write_parquet` stored in `path` (empty if none)."""
    with reading(path):
        meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else {}


def write_text(text: str, path: str | os.PathLike) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


@contextlib.contextmanager
def log_to(path: str | os.PathLike) -> Iterator[None]:
    """Send a workflow script's stdout, stderr and any traceback to its Snakemake log file."""
    with open(path, "w") as log, contextlib.redirect_stderr(log), contextlib.redirect_stdout(log):
        try:
            yield
        except BaseException:
            traceback.print_exc()
            raise


def lock_results(root: str | os.PathLike) -> None:
    """Hold an exclusive lock on the output root `root` for the rest of this process, or fail with one line naming
    the run that holds it (its pid, host, start and directory, which it writes into `root`/.bvae.lock).

    An advisory lock (flock) of the operating system: it is released when its process ends, however it ends, so a
    killed run never leaves it behind. A file system without locks gets a warning, and the run goes on.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock
        return
    path = Path(root) / LOCK_FILE
    with naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        file = open(path, "a+")  # held open for the life of the process; "a+" keeps the holder's details
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read().strip() or "its details unknown"
        file.close()
        raise OutputError(
            f"{root}: another run is writing this output root ({holder}); wait until it ends, or give this study "
            "its own output root (results: in its config)"
        ) from None
    except OSError as exc:
        file.close()
        tell(f"{root}: cannot be locked ({os.strerror(exc.errno)}); make sure no other run writes there", "warning")
        return
    started = datetime.datetime.now().isoformat(sep=" ", timespec="seconds")
    file.seek(0)
    file.truncate()
    file.write(f"pid {os.getpid()} on {platform.node()}, started {started} in {os.getcwd()}\n")
    file.flush()
    _held_locks.append(file)
