"""Binary datasets: the in-memory form, the Parquet layout of method §4, and loading a user's own 0/1 matrix.

Every validation failure is a one-line `DataError` that names the file and the offending value.
"""

from __future__ import annotations

import csv
import hashlib
import numbers
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bvae.errors import ConfigError, DataError, shown, tell
from bvae.io import read_columns, read_metadata, read_num_rows, read_parquet, write_parquet

SPLIT = "split"
SEED_MAX = 2**63 - 1  # seeds are stored in int64 Parquet columns; SeedSequence itself takes any integer >= 0
FLOAT_LIMIT = 2**1024  # an integer this large has no float64: converting it raises OverflowError


@dataclass(frozen=True)
class BinaryData:
    """A named 0/1 matrix split into training and test rows (uint8, rows are observations)."""

    name: str
    train: np.ndarray
    test: np.ndarray
    columns: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.columns:
            object.__setattr__(self, "columns", tuple(f"x{j}" for j in range(self.d)))

    @property
    def d(self) -> int:
        return self.train.shape[1]

    @property
    def n_train(self) -> int:
        return self.train.shape[0]

    @property
    def n_test(self) -> int:
        return self.test.shape[0]

    @property
    def n(self) -> int:
        return self.n_train + self.n_test


def data_digest(data: BinaryData) -> str:
    """SHA-256 of a dataset's bits (training split, then test split): what every training records as data_sha256."""
    return hashlib.sha256(data.train.tobytes() + data.test.tobytes()).hexdigest()


def write_dataset(data: BinaryData, path: str | os.PathLike, definition: dict | None = None) -> None:
    """One uint8 column per dimension plus `split` (train/test); settings and the workflow's `definition` of the
    data (`bvae.study.plan.data_definition`, recorded with every training on it) in the key-value metadata."""
    frame = pd.DataFrame(np.vstack([data.train, data.test]).astype(np.uint8), columns=list(data.columns))
    frame[SPLIT] = ["train"] * data.n_train + ["test"] * data.n_test
    defined = {"definition": definition} if definition is not None else {}
    write_parquet(frame, path, {"name": data.name, **data.metadata, **defined})


def read_dataset(path: str | os.PathLike) -> BinaryData:
    """Read a dataset written by `write_dataset` (or any Parquet file with a `split` column).

    Returns:
        The `BinaryData`, with the name, settings and definition recorded in the file's metadata.

    Raises:
        DataError: as `load_binary`.
    """
    meta = read_metadata(path) if str(path).endswith(".parquet") else {}
    name = meta.get("name", Path(path).stem)
    return load_binary(path, name=name, metadata={k: meta[k] for k in ("settings", "definition") if k in meta})


def check_seed(seed, name: str = "seed") -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed <= SEED_MAX:
        raise ConfigError(f"{name} = {seed!r}; expected an integer from 0 to 2**63 - 1")


BOOLEANS = {"True", "TRUE", "true", "False", "FALSE", "false"}  # what pandas reads as booleans, i.e. 1 and 0


def _is_value(field: str) -> bool:
    """A CSV field that reads as a value, not a name: empty (missing), a number, or a boolean."""
    if not field or field in BOOLEANS:
        return True
    try:
        float(field)
    except ValueError:
        return False
    return True


def _first_csv_rows(path: Path, count: int = 1) -> list[list[str]]:
    """The first `count` non-blank rows of a CSV, their fields stripped."""
    with open(path, newline="", encoding="utf-8-sig") as file:  # -sig: a byte-order mark is not part of a name
        rows = (row for row in csv.reader(file) if any(field.strip() for field in row))
        return [[field.strip() for field in row] for _, row in zip(range(count), rows, strict=False)]


def _first_csv_row(path: Path) -> list[str]:
    return (_first_csv_rows(path) or [[]])[0]


def _is_header(fields: list[str]) -> bool:
    """Whether a CSV's first row is a header rather than data.

    It is a header if one of its fields is a name (neither empty, nor a number, nor true/false), or if it is 0, 1,
    2, ... (pandas' default names, from 3 columns on, after an empty field where pandas wrote its row index too);
    otherwise it is data, and any value in it that is not 0 or 1 is then reported as such instead of the row
    silently becoming column names.
    """
    names = fields[1:] if fields[:1] == [""] else fields
    if len(fields) >= 3 and names == [str(j) for j in range(len(names))]:
        return True
    return not all(_is_value(field) for field in fields)


def _csv_header(path: Path) -> list[str] | None:
    """A CSV's column names if its first row is a header (`_is_header`), else None; a DataError for a header that
    pandas would read otherwise than it is written (a name given twice or none) or a file not separated by commas."""
    header = _first_csv_row(path)
    if not _is_header(header):
        return None
    if len(header) == 1 and (sep := next((c for c in ";\t|" if c in header[0]), None)):
        raise DataError(
            f"{path}: its first line {shown(header[0])} has no comma but {sep!r}; expected comma-separated values"
        )
    row = (_first_csv_rows(path, 2)[1:] or [header])[0]
    if len(row) > len(header):  # pandas would make the first columns the row index, or shift every name
        trailing = " (it ends in a comma: a trailing comma on every row?)" if row[-1] == "" else ""
        raise DataError(
            f"{path}: its header has {len(header)} names but data row 1 has {len(row)} values{trailing}; expected "
            "one name per column"
        )
    twice = next((name for j, name in enumerate(header) if name in header[:j]), None)
    if twice is not None:  # pandas would rename the second one silently ("a.1")
        raise DataError(f"{path}: column name {twice!r} appears twice in the header; expected distinct names")
    if "" in header:  # pandas would name it "Unnamed: j"
        raise DataError(
            f"{path}: column {header.index('') + 1} has no name in the header (a row index, as pandas' to_csv writes "
            "by default? write the file with index=False); expected a name for every column"
        )
    return header


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV with or without a header row; without one, the columns are named x0, x1, ... like .npy columns."""
    if _csv_header(path) is not None:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    else:
        frame = pd.read_csv(path, header=None, encoding="utf-8-sig")
        frame = frame.set_axis([f"x{j}" for j in range(frame.shape[1])], axis=1)
    return frame.apply(_csv_values)


def _csv_values(cells: pd.Series) -> pd.Series:
    """A CSV column whose every field is a value (`_is_value`) as numbers: pandas keeps a column mixing true/false
    with numbers as text, though each field on its own is a value it reads."""
    if pd.api.types.is_numeric_dtype(cells) or pd.api.types.is_bool_dtype(cells):
        return cells
    if not cells.map(lambda cell: pd.isna(cell) or (isinstance(cell, str) and _is_value(cell.strip()))).all():
        return cells  # text: `numbers_of` names it
    return cells.map(lambda cell: np.nan if pd.isna(cell) else _csv_number(cell.strip())).astype(np.float64)


def _csv_number(field: str) -> float:
    return float(field.lower() == "true") if field in BOOLEANS else float(field)


def columns_of(path: str | os.PathLike) -> list[str] | None:
    """The column names of a Parquet or CSV file (x0, x1, ... for a CSV without a header), read from its first bytes
    only; None for .npy and .npz, whose arrays have no names. A one-line DataError if the file cannot be read."""
    path = Path(path)
    _check_input_file(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return read_columns(path)
    if suffix == ".csv":
        try:
            header = _csv_header(path)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataError(f"{path}: cannot be read ({exc})") from None
        return header or [f"x{j}" for j in range(len(_first_csv_row(path)))]
    if suffix in (".npy", ".npz"):
        return None
    raise DataError(f"{path}: unsupported file type {suffix!r}; expected .parquet, .csv, .npy or .npz")


def rows_of(path: str | os.PathLike) -> int | None:
    """The number of data rows of a Parquet, CSV or .npy file, without reading its values (a CSV's lines are
    counted); None for .npz, whose arrays are compressed. Call after `columns_of`, which checks the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return read_num_rows(path)
    if suffix == ".csv":
        with open(path, "rb") as file:
            lines = sum(1 for line in file if line.strip())  # pandas skips blank lines
        return lines - (_csv_header(path) is not None)
    if suffix == ".npy":
        shape = _array_shapes(path)["X"]
        return shape[0] if shape else None
    return None


ARRAY_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK"}  # how numpy.save and numpy.savez files start


def _check_array_file(path: Path) -> None:
    """A one-line DataError unless an .npy or .npz file starts as numpy writes one (numpy itself would say that any
    other file, CSV text say, holds pickled data)."""
    magic = ARRAY_MAGIC[path.suffix.lower()]
    with open(path, "rb") as file:
        start = file.read(len(magic) + 10)
    if not start.startswith(magic):
        writer = {".npy": "numpy.save", ".npz": "numpy.savez"}[path.suffix.lower()]
        raise DataError(
            f"{path}: is not a {path.suffix} file (it starts with {shown(start)}); expected one {writer} writes"
        )


def _array_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The shape of each array of an .npy ("X") or .npz file, from the array headers alone."""
    _check_array_file(path)
    try:
        if path.suffix.lower() == ".npy":
            with open(path, "rb") as file:
                return {"X": _header_shape(file)}
        with zipfile.ZipFile(path) as archive:
            return {
                name.removesuffix(".npy"): _header_shape(archive.open(name))
                for name in archive.namelist()
                if name.endswith(".npy")
            }
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None


def _header_shape(file) -> tuple[int, ...]:
    version = np.lib.format.read_magic(file)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read(file)[0]


def array_width(path: str | os.PathLike) -> int | None:
    """The number of columns of the matrix in an .npy or .npz file (of its 'train' array), from its headers; None
    if it holds no single 2-D matrix (loading it then says why)."""
    shapes = _array_shapes(Path(path))
    shape = shapes["train"] if "train" in shapes else next(iter(shapes.values())) if len(shapes) == 1 else ()
    return shape[1] if len(shape) == 2 else None


def check_split_sizes(n: int, test_fraction: float, key: str) -> None:
    """ConfigError unless a random split of n rows by `test_fraction` leaves at least 2 rows on each side (the bound
    needs each split's covariance)."""
    n_test = round(test_fraction * n)
    if min(n_test, n - n_test) < 2:
        raise ConfigError(
            f"{key} = {test_fraction} gives {n_test} test and {n - n_test} training rows of {n}; expected at least 2 "
            "of each"
        )


def check_split_column(columns: list[str] | None, split_column: str | None, source: str) -> None:
    """The default split column may be absent; a column named otherwise was asked for, so its absence is an error."""
    if split_column and split_column != SPLIT and (columns is None or split_column not in columns):
        names = list(map(str, columns or []))
        found = f"columns {', '.join(names[:8])}{', …' if len(names) > 8 else ''}" if names else "arrays, no columns"
        raise DataError(
            f"{source}: has no split column {split_column!r} (it has {found}); expected a train/test column"
        )


FILE_KINDS = {
    stat.S_ISFIFO: "a named pipe (FIFO)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def _check_input_file(path: Path) -> None:
    """A one-line DataError unless `path` is a regular file (or a link to one), saying what it is instead."""
    if path.is_file():
        return
    if path.is_dir():
        raise DataError(f"{path}: is a directory; expected a data file (.parquet, .csv, .npy or .npz)")
    if not path.exists():
        link = f" (a symbolic link to {os.readlink(path)!r}, which does not exist)" if path.is_symlink() else ""
        raise DataError(f"{path}: no such file{link}")
    mode = path.stat().st_mode
    kind = next((name for test, name in FILE_KINDS.items() if test(mode)), "not a regular file")
    via = f" (through the symbolic link to {os.readlink(path)!r})" if path.is_symlink() else ""
    raise DataError(f"{path}: is {kind}{via}; expected a regular data file")


def _read_table(path: Path) -> pd.DataFrame | dict[str, np.ndarray]:
    """The raw contents of a Parquet, CSV, .npy or .npz file, or a one-line error if it cannot be read."""
    suffix = path.suffix.lower()
    _check_input_file(path)
    if suffix == ".parquet":
        return read_parquet(path)
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix in ARRAY_MAGIC:
            _check_array_file(path)
        if suffix == ".npy":
            return {"X": np.load(path, allow_pickle=False)}
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; expected a 0/1 matrix") from None
    except DataError:
        raise
    except Exception as exc:  # any reader failure becomes one line naming the file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: cannot be read ({first})") from None
    raise DataError(f"{path}: unsupported file type {suffix!r}; expected .parquet, .csv, .npy or .npz")


def _data_row(index: int) -> str:
    """A row index for messages, counted from 1 as people and spreadsheets count (a CSV's header is not a row)."""
    return f"row {index + 1} (counting data rows from 1)"


def _is_missing(cell) -> bool:
    """Whether a cell is a missing value (a list or array in a cell is a value, though not a number)."""
    return pd.api.types.is_scalar(cell) and pd.isna(cell)


def _numbers_of(frame: pd.DataFrame, source: str) -> np.ndarray:
    """A frame's values as float64, missing values as NaN. Only numbers and booleans are values: text is a DataError
    naming its row and column, the first that reads as no number at all, else the first number stored as text."""
    for column in frame.columns:
        cells = frame[column]
        if pd.api.types.is_numeric_dtype(cells) or pd.api.types.is_bool_dtype(cells):
            continue
        text = cells.map(lambda cell: not (_is_missing(cell) or isinstance(cell, numbers.Number | np.bool_)))
        wrong = text & ~cells.map(lambda cell: isinstance(cell, str) and _is_value(cell.strip()))
        huge = cells.map(lambda cell: isinstance(cell, int) and abs(cell) >= FLOAT_LIMIT)  # a CSV's 400 digits
        for bad in (wrong, text, huge):
            if bad.any():
                row = int(np.argmax(bad.to_numpy()))
                what = "is not 0 or 1" if bad is huge else "is not a number"
                raise DataError(
                    f"{source}: value {shown(cells.iloc[row])} at {_data_row(row)}, column {str(column)!r} {what}; "
                    "expected only 0 and 1"
                )
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def _check_binary(values: np.ndarray, columns: list[str], source: str) -> np.ndarray:
    """`values` as uint8 if it is a 2-D matrix of 0/1 without missing entries, else a one-line DataError."""
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":  # text, dates, objects: never read as numbers behind the user's back
        raise DataError(f"{source}: holds values of type {values.dtype}; expected the numbers 0 and 1")
    values = values.astype(np.float64)
    if values.ndim != 2:
        raise DataError(f"{source}: has {values.ndim} dimension(s); expected a 2-D matrix (rows × columns)")
    if values.size == 0:
        raise DataError(f"{source}: is empty (shape {values.shape}); expected a non-empty 0/1 matrix")
    missing = np.argwhere(np.isnan(values))
    if missing.size:
        row, col = missing[0]
        raise DataError(f"{source}: missing value at {_data_row(row)}, column {columns[col]!r}; expected 0 or 1")
    bad = np.argwhere((values != 0) & (values != 1))
    if bad.size:
        row, col = bad[0]
        raise DataError(
            f"{source}: value {exact(values[row, col])} at {_data_row(row)}, column {columns[col]!r}; expected only 0 "
            "and 1"
        )
    return values.astype(np.uint8)


def exact(value: float) -> str:
    """A number for a message, short if that is exact (5, 0.5), else in full (0.999999999999, not 1)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def random_split(n: int, test_fraction: float, seed: int) -> np.ndarray:
    """A boolean test mask with round(test_fraction · n) test rows, from a seeded random permutation."""
    check_seed(seed, "split seed")
    if not 0 <= test_fraction < 1:
        raise DataError(f"test_fraction = {test_fraction!r}; expected a number in [0, 1)")
    n_test = int(round(test_fraction * n))
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    return mask


def _split_mask(labels: pd.Series, source: str) -> np.ndarray:
    bad = ~labels.isin(["train", "test"])
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise DataError(f"{source}: split value {labels.iloc[row]!r} at {_data_row(row)}; expected 'train' or 'test'")
    return (labels == "test").to_numpy()


def _matrix_and_split(raw, source: str, split_column: str | None) -> tuple[np.ndarray, list[str], object]:
    """The 0/1 matrix, its column names and the given split (a test mask, a (train, test) pair, or None)."""
    check_split_column(list(raw.columns) if isinstance(raw, pd.DataFrame) else None, split_column, source)
    if isinstance(raw, pd.DataFrame):
        given = None
        if split_column and split_column in raw.columns:
            given = _split_mask(raw[split_column], source)
            raw = raw.drop(columns=split_column)
        columns = [str(c) for c in raw.columns]
        return _check_binary(_numbers_of(raw, source), columns, source), columns, given
    if {"train", "test"} < set(raw):
        raise DataError(f"{source}: holds arrays {sorted(raw)}; expected one matrix, or 'train' and 'test' alone (an "
                        "array besides them would be left out)")  # fmt: skip
    if set(raw) == {"train", "test"}:
        train, test = raw["train"], raw["test"]
        if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
            raise DataError(f"{source}: train {train.shape} and test {test.shape} must be 2-D of the same width")
        columns = [f"x{j}" for j in range(train.shape[1])]
        return _check_binary(np.vstack([train, test]), columns, source), columns, (len(train), len(test))
    if len(raw) != 1:
        raise DataError(f"{source}: holds arrays {sorted(raw)}; expected one matrix, or 'train' and 'test'")
    ((key, values),) = raw.items()
    if key in ("train", "test"):
        tell(f"{source}: holds only a {key!r} array, so its rows are split at random like a single matrix")
    width = values.shape[1] if values.ndim == 2 else 0
    columns = [f"x{j}" for j in range(width)]
    return _check_binary(values, columns, source), columns, None


def load_binary(
    path: str | os.PathLike,
    *,
    name: str | None = None,
    split_column: str | None = SPLIT,
    test_fraction: float = 0.33,
    seed: int = 0,
    metadata: dict | None = None,
) -> BinaryData:
    """Load a 0/1 matrix from Parquet, CSV, .npy or .npz and split it into training and test rows.

    Arguments:
        path: the file; its suffix says how it is read (docs/your-data.md).
        name: the dataset's name (default: the file's stem).
        split_column: a Parquet/CSV column of `train`/`test` values that gives the split. The default `split` may
            be absent (then the split is random); a column named otherwise was asked for, and must be there.
        test_fraction: without a split column (or an .npz's `train` and `test` arrays), a seeded random
            permutation puts round(test_fraction · n) rows in the test split.
        seed: the permutation's seed.
        metadata: kept with the data (written into its dataset file).

    Returns:
        A `BinaryData` with `train` and `test` as uint8 arrays, the columns' names and the metadata.

    Raises:
        DataError: the file cannot be read, holds other values than 0/1 (or missing ones), or leaves a split with
            fewer than 2 rows; each message names the file, and the row and column where it can.
    """
    path = Path(path)
    values, columns, given = _matrix_and_split(_read_table(path), str(path), split_column)
    if isinstance(given, tuple):
        is_test = np.arange(values.shape[0]) >= given[0]
    else:
        is_test = given if given is not None else random_split(values.shape[0], test_fraction, seed)
    train, test = values[~is_test], values[is_test]
    for split, rows in (("training", train), ("test", test)):
        if rows.shape[0] < 2:  # the bound needs the covariance of each split
            raise DataError(f"{path}: {rows.shape[0]} {split} row(s); expected at least 2")
    return BinaryData(
        name=name or path.stem, train=train, test=test, columns=tuple(columns), metadata=dict(metadata or {})
    )


def dataset_shape(path: str | os.PathLike) -> tuple[int, int, int]:
    """(d, n_train, n_test) of a file in the `write_dataset` layout, reading only its metadata and split column."""
    split = read_parquet(path, columns=[SPLIT])[SPLIT]
    n_test = int((split == "test").sum())
    return len(read_columns(path)) - 1, len(split) - n_test, n_test
