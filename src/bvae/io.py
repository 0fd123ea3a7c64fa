"""Atomic writes and provenance: no half-written results, and every result says how it was made."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

METADATA_KEY = b"bvae"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def provenance() -> dict[str, str]:
    """Versions and host of the running process, recorded next to every result."""
    import numpy
    import torch

    from bvae import __version__

    return {
        "bvae_version": __version__,
        "python_version": platform.python_version(),
        "numpy_version": numpy.__version__,
        "torch_version": torch.__version__,
        "pandas_version": pd.__version__,
        "hostname": platform.node(),
        "platform": sys.platform,
    }


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write `df` atomically, with `metadata` (JSON-able) and provenance in the key-value metadata."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps({**provenance(), **(metadata or {})}, default=str).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata dictionary that `write_parquet` stored in `path` (empty if none)."""
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
