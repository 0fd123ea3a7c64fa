"""Atomic writes and provenance: no half-written results, and every result says how it was made."""

from __future__ import annotations

import contextlib
import datetime
import errno
import glob
import hashlib
import json
import os
import platform
import re
import secrets
import sys
import traceback
from collections.abc import Iterable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bvae.errors import DataError, OutputError, shown, tell
from bvae.processor import describe

try:
    import fcntl
except ImportError:  # Windows: no flock, and no locks
    fcntl = None  # type: ignore[assignment]

METADATA_KEY = b"bvae"
CONTENT_KEY = b"bvae.content.sha256"  # of the values: a file rewritten with its metadata kept cannot keep it
DIGEST_KEY = b"bvae.sha256"  # of the bvae and pandas metadata and CONTENT_KEY, which the page checksums do not cover
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


def refuse_link(path: str | os.PathLike) -> None:
    """OutputError if `path` is a symbolic link: a file bvae names itself in an output directory is never written or
    read through a link that someone else planted there."""
    if os.path.islink(path):
        raise OutputError(
            f"{path}: is a symbolic link (to {os.readlink(Path(path))!r}), which bvae did not make; expected bvae's "
            "own file or nothing there: remove the link"
        )


def refuse_links(root: str | os.PathLike, path: str | os.PathLike) -> None:
    """OutputError if `path` or a directory between `root` and it is a symbolic link: in a tree that bvae lays out (an
    output root's runs, an archive's cells) a link at any level would send reads and writes elsewhere. `root` itself
    is the user's to name, and may be a link."""
    below = Path(root)
    for part in Path(path).relative_to(root).parts:
        below = below / part
        refuse_link(below)


def _open_own(path: Path) -> int:
    """A read-write descriptor of the file `path`, created if need be, without following a link (`refuse_link`)."""
    with naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                refuse_link(path)
            raise


def remove_temporaries(target: str | os.PathLike) -> None:
    """Delete the temporaries of `target` that a killed writer left behind (call only while owning `target`)."""
    target = Path(target)
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        if re.fullmatch(rf"\.{re.escape(target.name)}\.[0-9a-f]{{12}}\.tmp", stale.name):
            stale.unlink(missing_ok=True)


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
def _atomic_paths(*paths: str | os.PathLike, owner: Claim | None = None) -> Iterator[list[Path]]:
    """Yield temporaries beside `paths`; rename them onto `paths` only if the block succeeds, and only while `owner`
    (if given) still owns its directories (`Claim.writing`).

    The last path is removed before the others are renamed and is renamed last: a reader that finds it finds the
    others complete and from the same write, so it is the completion marker of the set.
    """
    targets = [Path(p) for p in paths]
    temps: list[Path] = []
    try:
        temps.extend(_temporary(target) for target in targets)
        yield temps
        renames = [(tmp, target) for tmp, target in zip(temps, targets, strict=True) if tmp != target]
        with owner.writing() if owner else contextlib.nullcontext():
            if len(renames) > 1:
                with naming(renames[-1][1]):
                    renames[-1][1].unlink(missing_ok=True)  # the old marker goes first: no reader pairs it with new
            for tmp, target in renames:
                with naming(target):
                    os.replace(tmp, target)
    finally:
        for tmp, target in zip(temps, targets, strict=False):
            if tmp != target:
                tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, owner: Claim | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds (and `owner`, if
    given, still owns its directories)."""
    with _atomic_paths(path, owner=owner) as (tmp,), naming(path):
        yield tmp


def check_output_dir(outdir: str | os.PathLike, names: Iterable[str]) -> None:
    """Fail now, not after hours of training, if files `names` cannot be created in `outdir` (created if need be)."""
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: exists and is not a directory; expected an output directory")
    for name in names:
        refuse_link(outdir / name)
        if (tmp := _temporary(outdir / name)) != outdir / name:
            tmp.unlink()


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
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
        clash = next((f"the input file {i}" for i in inputs if _same_file(path, i)), None) or next(
            (f"the output of {other}" for other, earlier in written if _same_file(path, earlier)), None
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
    """Versions, host, processor and its code paths (`bvae.processor`) of the running process, recorded next to
    every result.

    Versions come from the installed distributions' metadata, so that writing a table does not import torch.
    """
    return {
        **describe(),
        "bvae_version": version("bvae-bound"),
        "python_version": platform.python_version(),
        **{f"{name}_version": version(name) for name in ("numpy", "torch", "pandas", "pyarrow")},
        "hostname": platform.node(),
        "platform": sys.platform,
    }


def write_parquets(
    items: list[tuple[pd.DataFrame, str | os.PathLike, dict | None]], owner: Claim | None = None
) -> None:
    """Write each (frame, path, metadata) all or nothing, the last one as the completion marker (`atomic_paths`),
    only while `owner` (if given) owns the directories.

    Pages carry CRC checksums that `read_parquet` verifies, the values a SHA-256 (`_content_digest`); metadata
    (JSON-able) joins provenance in the key-value metadata.
    """
    with _atomic_paths(*(path for _, path, _ in items), owner=owner) as temps:
        for (df, path, metadata), tmp in zip(items, temps, strict=True):
            table = pa.Table.from_pandas(df, preserve_index=False)
            meta = dict(table.schema.metadata or {})
            meta[METADATA_KEY] = json.dumps({**provenance(), **(metadata or {})}, default=str).encode()
            meta[CONTENT_KEY] = _content_digest(table)
            meta[DIGEST_KEY] = _metadata_digest(meta)
            # An open file, not a path: on failure pyarrow deletes a path it was given, even a device like /dev/full.
            with naming(path), open(tmp, "wb") as sink:
                pq.write_table(table.replace_schema_metadata(meta), sink, write_page_checksum=True)


def write_parquet(
    df: pd.DataFrame, path: str | os.PathLike, metadata: dict | None = None, owner: Claim | None = None
) -> None:
    """Write `df` atomically, with `metadata` (JSON-able) and provenance in the key-value metadata, as `owner` (if
    given) does (`write_parquets`)."""
    write_parquets([(df, path, metadata)], owner)


def _metadata_digest(meta: dict) -> bytes:
    """The SHA-256 of the pandas and bvae key-value metadata of a Parquet file that bvae writes, and of its content
    digest (files written before content digests existed have none)."""
    content = b"\0" + meta[CONTENT_KEY] if CONTENT_KEY in meta else b""
    return hashlib.sha256(meta.get(b"pandas", b"") + b"\0" + meta[METADATA_KEY] + content).hexdigest().encode()


def _content_digest(table: pa.Table) -> bytes:
    """The SHA-256 of a table's column names and values: numbers without missing values by their dtype and bytes,
    anything else as JSON, so that the same values read back give the same digest however Parquet chunked or typed
    them (a categorical's dictionary comes back as another string type)."""
    digest = hashlib.sha256()
    for name, column in zip(table.column_names, table.columns, strict=True):
        if (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)) and column.null_count == 0:
            values = column.to_numpy()
            kind, data = str(values.dtype), values.tobytes()
        else:
            kind, data = "json", json.dumps(column.to_pylist(), default=str).encode()
        digest.update(json.dumps([name, kind]).encode() + b"\0" + data)
    return digest.hexdigest().encode()


def verified(path: str | os.PathLike, meta: dict | None) -> dict:
    """The key-value metadata `meta` of Parquet file `path`, a DataError if bvae wrote it and it has changed since."""
    meta = meta or {}
    if DIGEST_KEY in meta and (METADATA_KEY not in meta or meta[DIGEST_KEY] != _metadata_digest(meta)):
        raise DataError(
            f"{path}: its metadata does not match the checksum bvae stored with it (damaged or edited); expected the "
            "file as bvae wrote it: write it again"
        )
    return meta


def _check_content(path: str | os.PathLike, table: pa.Table, meta: dict) -> None:
    """DataError if the values of a whole table that bvae wrote are not those it wrote (a rewrite keeping the
    metadata, by pyarrow or pandas, recomputes the page checksums but not this digest)."""
    if CONTENT_KEY in meta and _content_digest(table) != meta[CONTENT_KEY]:
        raise DataError(
            f"{path}: its values do not match the checksum bvae stored with them (edited or damaged); expected the "
            "file as bvae wrote it: write it again"
        )


@contextlib.contextmanager
def reading(path: str | os.PathLike) -> Iterator[None]:
    """Turn a failure to read Parquet file `path` (damaged, truncated, not Parquet) into a one-line DataError."""
    try:
        yield
    except FileNotFoundError:
        raise DataError(f"{path}: does not exist; expected a Parquet file there") from None
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: cannot be read ({first})") from None


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file, verifying its page checksums and bvae's metadata checksum: a damaged file is a one-line
    DataError naming it."""
    with reading(path):
        table = pq.read_table(path, columns=columns, page_checksum_verification=True)
    meta = verified(path, table.schema.metadata)
    if columns is None:  # the digest covers every column
        _check_content(path, table, meta)
    try:
        return table.to_pandas()
    except Exception as exc:  # pandas' metadata (index, dtypes) as JSON in the footer: damage raises many types
        raise DataError(f"{path}: its pandas metadata is damaged ({type(exc).__name__}: {exc}); expected a file as "
                        "pandas writes it") from None  # fmt: skip


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
        meta = verified(path, pq.read_schema(path).metadata)
    if METADATA_KEY not in meta:
        return {}
    try:
        found = json.loads(meta[METADATA_KEY])
    except ValueError as exc:  # not JSON, not UTF-8
        raise DataError(f"{path}: its bvae metadata is not JSON ({exc}); expected the file as bvae wrote it") from None
    if not isinstance(found, dict):
        raise DataError(f"{path}: its bvae metadata is {shown(found)}; expected a mapping, as bvae writes it")
    return found


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


def _holder() -> str:
    """Who holds a lock, as its lock file tells the next run that finds it held."""
    started = datetime.datetime.now().isoformat(sep=" ", timespec="seconds")
    return f"pid {os.getpid()} on {platform.node()}, started {started} in {os.getcwd()}\n"


def _lock(path: Path, file=None):
    """Lock the file `path` (or its open `file`) for this process: (the open file, None); (None, the holder's details)
    if another process holds it; (None, None) on a file system without locks, with a warning.

    An advisory lock (flock) of the operating system: it is released when its process ends, however it ends, so a
    killed run never leaves it behind.
    """
    if fcntl is None:  # Windows: no flock
        return None, None
    file = file or os.fdopen(_open_own(path), "r+")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = file.read().strip() or "its details unknown"
        file.close()
        return None, holder
    except OSError as exc:
        file.close()
        reason = os.strerror(exc.errno) if exc.errno is not None else str(exc)
        tell(f"{path.parent}: cannot be locked ({reason}); make sure no other run writes there", "warning")
        return None, None
    if not _same(file, path):  # its holder removed it on release meanwhile: lock the file now in its place
        file.close()
        return _lock(path)
    file.truncate(0)
    file.write(_holder())
    file.flush()
    return file, None


def _same(file, path: Path) -> bool:
    """Whether the open `file` is the file at `path` (not one removed or replaced since it was opened)."""
    mine = os.fstat(file.fileno())
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def lock_results(root: str | os.PathLike) -> None:
    """Hold an exclusive lock on the output root `root` for the rest of this process, or fail with one line naming
    the run that holds it (its pid, host, start and directory, which it writes into `root`/.bvae.lock)."""
    file, holder = _lock(Path(root) / LOCK_FILE)
    if holder:
        raise OutputError(
            f"{root}: another run is writing this output root ({holder}); wait until it ends, or give this study "
            "its own output root (results: in its config)"
        )
    if file:
        _held_locks.append(file)


def held(path: str | os.PathLike) -> bool | None:
    """Whether a process holds the lock on the lock file `path` (`_lock`); None where that cannot be told."""
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # releases the lock too
    return False


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock on a directory itself, held for the block (a few renames). Where directories cannot be
    locked (a file system without flock), writes are checked but not serialised."""
    if fcntl is None:
        yield
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with contextlib.suppress(OSError):  # ENOLCK, EBADF (NFS's emulation needs a file open for writing)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class Claim:
    """The ownership of output directories by the process that writes them: a lock on each one's .bvae.lock.

    A result is written only by the writer (a training, a restore, `bvae archive`) that owns its directory. A second
    writer into a directory is refused, unless it may `take_over` (a workflow job: the workflow's own lock on its
    output root leaves only a training of a killed run to hold it): it then puts a new lock file in place, and the old
    writer, finding its lock file gone (`check`, before each epoch, and `writing`, around each write), stops without
    writing. `writer` names the kind of process that a refused one is told holds the directory.
    """

    def __init__(self, dirs: Iterable[str | os.PathLike] = (), take_over: bool = False, writer: str = "training"):
        self.held: list[tuple[Path, IO[str] | None]] = []  # (lock file path, its open file, None without locks)
        try:
            for outdir in dirs:
                self.held.append(self._claim(Path(outdir) / LOCK_FILE, take_over, writer))
        except BaseException:
            self.release()
            raise

    @staticmethod
    def _claim(path: Path, take_over: bool, writer: str) -> tuple[Path, IO[str] | None]:
        file, holder = _lock(path)
        if holder and not take_over:
            raise OutputError(
                f"{path.parent}: another {writer} is writing here ({holder}); wait until it ends, or choose another "
                "output directory"
            )
        if holder:
            tmp = _temporary(path)
            file, _ = _lock(tmp, open(tmp, "r+"))
            os.replace(tmp, path)
            tell(f"{path.parent}: taken over from a training of an earlier run that still goes on ({holder}); it stops "
                 "without writing", "warning")  # fmt: skip
        return path, file

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Check that this claim still owns its directories and keep it so while the block renames files into them:
        each directory is locked meanwhile, so that a write that checked before a take-over ends before the new
        owner's first write (which waits for that lock), and one that checks after it is refused."""
        with contextlib.ExitStack() as locks:
            for path, _ in self.held:
                locks.enter_context(_directory_lock(path.parent))
            self.check()
            yield

    def check(self) -> None:
        """OutputError if a later run took over one of the directories."""
        for path, file in self.held:
            if file is not None and not _same(file, path):
                holder = path.read_text().strip() if path.is_file() and not path.is_symlink() else "unknown"
                raise OutputError(
                    f"{path.parent}: a later run took this training's output directory over ({holder}); this "
                    "training stops without writing"
                )

    def release(self) -> None:
        """Remove the lock files still ours (a claimant that opened one meanwhile sees it gone: `_lock`); unlock."""
        for path, file in self.held:
            if file is not None:
                if _same(file, path):
                    path.unlink()
                file.close()
        self.held = []

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
