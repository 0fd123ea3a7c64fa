"""Input that would be used wrongly, or not at all, without a word is refused in one line naming it: a third array
in an .npz, a CSV field too large for a number, calibration epochs and seed counts that select nothing."""

import numpy as np
import pytest

from bvae.cli import main
from bvae.data.binary import load_binary
from bvae.errors import DataError
from tests.test_calibration import study  # noqa: F401 (a fixture: a paper cell trained 4 epochs, 3 seeds)
from tests.test_reliability import one_line_error


def test_an_npz_with_a_third_array_is_refused(tmp_path, capsys):
    """train + test + valid loaded as train + test, the third dropped without a word, from the CLI and files:."""
    path, bits = tmp_path / "three.npz", np.random.default_rng(0).random((3, 10, 6)) < 0.5
    np.savez(path, train=bits[0], test=bits[1], valid=bits[2])
    with pytest.raises(DataError, match=r"holds arrays \['test', 'train', 'valid'\]; expected one matrix, or 'train'"):
        load_binary(path)
    assert main(["bound", str(path)]) == 2
    assert one_line_error(capsys).startswith(f"bvae: error: {path}: holds arrays ['test', 'train', 'valid']")


def test_a_csv_field_of_400_digits_is_one_line(tmp_path, capsys):
    """An OverflowError traceback before: pandas reads the field as a Python int that no float holds."""
    path = tmp_path / "big.csv"
    path.write_text("a,b\n0,1\n1,0\n" + "1" * 400 + ",1\n0,0\n1,1\n")
    assert main(["bound", str(path)]) == 2
    assert one_line_error(capsys) == (
        f"bvae: error: {path}: value 1111111111111111111111111111111111111111…1111111111 (400 characters) at row 3 "
        "(counting data rows from 1), column 'a' is not 0 or 1; expected only 0 and 1"
    )


@pytest.mark.parametrize("epoch", ["0", "-3"])
def test_a_calibration_epoch_below_one_is_refused(study, epoch, capsys):  # noqa: F811
    with pytest.raises(SystemExit) as stop:
        main(["calibration", str(study), "--seeds", "100=3", "--epoch", epoch])
    assert stop.value.code == 2
    assert f"argument --epoch: {epoch}; expected a whole number from 1" in capsys.readouterr().err


def test_a_calibration_epoch_that_no_run_reaches_is_refused(study, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "summary.md"
    assert main(["calibration", str(study), "--seeds", "100=3", "--epoch", "2", "100000", "--out", str(out)]) == 2
    assert one_line_error(capsys) == (
        "bvae: error: --epoch 100000: no compared run trains that long (the longest, 4 epochs); expected an epoch "
        "that a run reaches"
    )
    assert not out.exists()


@pytest.mark.parametrize("pairs", [["100=-3"], ["0=3"], ["100=0"], ["100=3", "100=5"], ["100"], ["100=3=4"]])
def test_calibration_seed_counts_that_select_nothing_are_refused(study, pairs, capsys):  # noqa: F811
    assert main(["calibration", str(study), "--seeds", *pairs]) == 2
    assert "expected pairs N=S of whole numbers from 1, each N once" in one_line_error(capsys)
