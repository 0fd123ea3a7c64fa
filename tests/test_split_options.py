"""`bvae bound` (and `bvae train`, which reads its file the same way) says in one line when the file gives its own
split, so that --test-fraction and --split-seed, given on the command line, go unused."""

import numpy as np
import pandas as pd
import pytest

from bvae.cli import main

BITS = (np.random.default_rng(0).random((60, 5)) < 0.5).astype(int)


@pytest.fixture
def split_file(tmp_path):
    """60 rows, 15 of them marked test in the file's own `split` column."""
    path = tmp_path / "given.csv"
    frame = pd.DataFrame(BITS, columns=[f"x{j}" for j in range(5)])
    frame.assign(split=np.where(np.arange(60) < 45, "train", "test")).to_csv(path, index=False)
    return path


def run_bound(capsys, *args: str) -> tuple[str, list[str]]:
    assert main(["bound", *map(str, args)]) == 0
    out, err = capsys.readouterr()
    return out, err.splitlines()


def test_the_split_column_decides_and_the_options_given_are_named(split_file, capsys):
    out, notes = run_bound(capsys, split_file, "--test-fraction", "0.5", "--split-seed", "3")
    assert "n_train = 45, n_test = 15" in out  # the column's split, not half of the rows
    assert notes == [f"bvae: note: {split_file}: the split comes from its 'split' column; "
                     "ignored: --test-fraction 0.5, --split-seed 3"]  # fmt: skip


def test_an_npz_with_train_and_test_arrays_is_named_too(tmp_path, capsys):
    path = tmp_path / "pair.npz"
    np.savez(path, train=BITS[:40], test=BITS[40:])
    _, notes = run_bound(capsys, path, "--split-seed", "2")
    assert notes == [f"bvae: note: {path}: the split comes from its 'train' and 'test' arrays; ignored: --split-seed 2"]


def test_no_note_without_the_options_or_without_a_split_in_the_file(split_file, tmp_path, capsys):
    assert run_bound(capsys, split_file)[1] == []  # nothing given that goes unused
    plain = tmp_path / "plain.csv"
    pd.DataFrame(BITS).to_csv(plain, index=False)
    out, notes = run_bound(capsys, plain, "--test-fraction", "0.5")
    assert notes == [] and "n_train = 30, n_test = 30" in out  # a random split: the option is used
