"""Datasets on disk: the method §4 Parquet layout round-trips, and every bad user file gets its one-line error."""

import re

import numpy as np
import pandas as pd
import pytest

from bvae.data.binary import load_binary, read_dataset, write_dataset
from bvae.data.simulate import SimSettings, simulate
from bvae.errors import DataError
from bvae.io import read_metadata


def test_parquet_round_trip_keeps_bits_split_and_settings(tmp_path):
    data = simulate(SimSettings(d=30, N=200, block=5, seed=4))
    path = tmp_path / "d30_N200.parquet"
    write_dataset(data, path)
    frame = pd.read_parquet(path)
    assert all(frame[c].dtype == np.uint8 for c in data.columns)
    assert set(frame["split"]) == {"train", "test"}
    assert read_metadata(path)["settings"] == {
        **SimSettings(30, 200, block=5, seed=4).__dict__,
        "score_sd": [2.5, 1.5],
    }
    back = read_dataset(path)
    assert back.name == "d30_N200"
    assert np.array_equal(back.train, data.train) and np.array_equal(back.test, data.test)


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".parquet"])
def test_random_split_is_seeded(tmp_path, suffix):
    x = (np.random.default_rng(0).random((50, 6)) < 0.3).astype(np.uint8)
    path = tmp_path / f"x{suffix}"
    {
        ".csv": lambda: pd.DataFrame(x).to_csv(path, index=False),
        ".npy": lambda: np.save(path, x),
        ".parquet": lambda: pd.DataFrame(x, columns=[f"c{i}" for i in range(6)]).to_parquet(path),
    }[suffix]()
    a = load_binary(path, test_fraction=0.2, seed=1)
    b = load_binary(path, test_fraction=0.2, seed=1)
    c = load_binary(path, test_fraction=0.2, seed=2)
    assert (a.n_train, a.n_test, a.d) == (40, 10, 6)
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)
    assert sorted(map(tuple, np.vstack([a.train, a.test]))) == sorted(map(tuple, x))


def test_npz_with_given_split(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, train=np.eye(4, dtype=np.uint8), test=np.ones((2, 4), dtype=np.uint8))
    data = load_binary(path)
    assert data.n_train == 4 and data.n_test == 2 and data.test.sum() == 8


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "nonbinary.csv",
            "a,b\n0,1\n1,0.5\n",
            r"value 0.5 at row 2 \(counting data rows from 1\), column 'b'; expected only 0 and 1",
        ),
        (
            "two.csv",
            "a,b\n0,1\n1,2\n",
            r"value 2 at row 2 \(counting data rows from 1\), column 'b'; expected only 0 and 1",
        ),
        (
            "missing.csv",
            "a,b\n0,1\n1,\n",
            r"missing value at row 2 \(counting data rows from 1\), column 'b'; expected 0 or 1",
        ),
        (
            "text.csv",
            "a,b\n0,1\nx,0\n",
            r"value 'x' at row 2 \(counting data rows from 1\), column 'a' is not a number",
        ),
        ("empty.csv", "", r"the file is empty"),
        ("header.csv", "a,b\n", r"is empty \(shape \(0, 2\)\)"),
        ("ragged.csv", "a,b\n0,1\n1,0,1\n", r"cannot be read"),
        (
            "badsplit.csv",
            "a,split\n0,train\n1,valid\n",
            r"split value 'valid' at row 2 \(counting data rows from 1\); expected 'train' or 'test'",
        ),
        ("onetrain.csv", "a,split\n0,train\n1,test\n", r"1 training row\(s\); expected at least 2"),
        ("garbage.parquet", "not parquet", r"cannot be read"),
        ("matrix.txt", "0 1", r"unsupported file type '.txt'"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError, match=message) as err:
        load_binary(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_missing_file_and_bad_arrays(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_binary(tmp_path / "absent.parquet")
    np.save(tmp_path / "v.npy", np.zeros(5))
    with pytest.raises(DataError, match="has 1 dimension"):
        load_binary(tmp_path / "v.npy")
    np.savez(tmp_path / "w.npz", train=np.zeros((3, 4)), test=np.zeros((2, 5)))
    with pytest.raises(DataError, match=r"train \(3, 4\) and test \(2, 5\) must be 2-D of the same width"):
        load_binary(tmp_path / "w.npz")
    np.save(tmp_path / "nan.npy", np.array([[0, 1], [np.nan, 1]]))
    with pytest.raises(DataError, match=r"missing value at row 2 \(counting data rows from 1\), column 'x0'"):
        load_binary(tmp_path / "nan.npy")


def test_replicate_draws_are_new_data_and_draw_zero_is_unchanged():
    from bvae.data.binary import random_split
    from bvae.data.simulate import SimSettings, loadings, parse_name, simulate

    base = simulate(SimSettings(d=20, N=50, block=5))
    other = simulate(SimSettings(d=20, N=50, block=5, replicate=1))
    rng = np.random.default_rng(np.random.SeedSequence([2020, 20, 50]))  # draw 0's stream, as before replicates
    prob = 1 / (1 + np.exp(-(rng.normal(size=(50, 2)) * np.array([2.5, 1.5])) @ loadings(20, 5).T))
    x = (rng.random(prob.shape) < prob).astype(np.uint8)
    is_test = random_split(50, 0.33, int(rng.integers(2**63)))
    assert np.array_equal(base.train, x[~is_test]) and np.array_equal(base.test, x[is_test])
    assert not np.array_equal(base.train, other.train)
    assert (base.name, other.name) == ("d20_N50", "d20_N50_r1")
    assert parse_name("d20_N50_r1") == (20, 50, 1) and parse_name("d20_N50") == (20, 50, 0)
    assert parse_name("digits") is None and parse_name("d20_N50_x") is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("b,c,d\n0,1,1,0\n1,0,1,1\n0,0,1,1\n1,1,0,1\n", "its header has 3 names but data row 1 has 4 values; expected"),
        ("c,d\n0,1,1,0\n1,0,1,1\n0,0,1,1\n1,1,0,1\n", "its header has 2 names but data row 1 has 4 values; expected"),
        (
            "a,b,c\n0,1,1,\n1,0,1,\n0,0,1,\n1,1,0,\n",
            "its header has 3 names but data row 1 has 4 values (it ends in a comma: a trailing comma on every row?)",
        ),
    ],
)
def test_a_header_shorter_than_its_rows_is_refused(tmp_path, content, message):
    """pandas would make the first columns the row index: d = 3 or 2 where the rows have 4 values."""
    path = tmp_path / "short.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=f"^{re.escape(f'{path}: {message}')}"):
        load_binary(path)


def test_true_false_mixed_with_0_1_in_a_column_are_values(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("a,b\nTrue,0\n1,False\nfalse,1\n0,TRUE\n")
    data = load_binary(path, test_fraction=0.5, seed=1)
    assert sorted(np.vstack([data.train, data.test]).tolist()) == [[0, 1], [0, 1], [1, 0], [1, 0]]


def test_a_column_of_lists_is_not_a_number(tmp_path):
    path = tmp_path / "lists.parquet"
    pd.DataFrame({"a": [[0, 1], [1, 0], [0, 0], [1, 1]], "b": [0, 1, 0, 1]}).to_parquet(path)
    with pytest.raises(DataError, match=r"value array\(\[0, 1\]\) at row 1 \(counting data rows from 1\), column 'a' "):
        load_binary(path)


def test_a_value_near_1_is_shown_in_full(tmp_path):
    path = tmp_path / "near.parquet"
    pd.DataFrame({"a": [0.999999999999, 1, 0, 1], "b": [0, 1, 0, 1]}).to_parquet(path)
    with pytest.raises(DataError, match="value 0.999999999999 at row 1"):
        load_binary(path)


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_text_saved_under_an_array_suffix_is_named_so(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    path.write_text("a,b\n0,1\n1,0\n")
    with pytest.raises(DataError, match=rf"^{path}: is not a \{suffix} file \(it starts with b'a,b\\n0,1\\n1,0\\n'\)"):
        load_binary(path)
