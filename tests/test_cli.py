"""The `bvae` command on a small file: outputs agree with the library; bad input exits 2, writes nothing."""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bvae import __version__
from bvae.cli import build_parser, main
from bvae.data.binary import load_binary, read_dataset, write_dataset
from bvae.data.examples import digits
from bvae.data.simulate import SimSettings, simulate
from bvae.model.bound import fit_bound
from bvae.model.decision import decision_support
from bvae.model.likelihood import exact_nll
from bvae.training.train import TrainSettings, train

D = 12
TINY_OPTIONS = {"--hidden": ["16", "16"], "--epochs": ["3"], "--batch-size": ["50"], "--mc-samples": ["2"]}


def tiny(without: str = "") -> list[str]:
    """The tiny training options, but `without` (an option given twice is an error)."""
    return [arg for option, values in TINY_OPTIONS.items() if option != without for arg in (option, *values)]


TINY = tiny()
WALL_CLOCK = ["wall_seconds"]


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    """200 × 12 bits: the first 6 columns share a latent score (so two eigenvalues stand out), the rest are noise."""
    rng = np.random.default_rng(3)
    score = rng.normal(0, 2.5, size=(200, 2))
    logits = np.zeros((200, D))
    logits[:, :3] = score[:, [0]]
    logits[:, 3:6] = score[:, [1]]
    bits = (rng.random((200, D)) < 1 / (1 + np.exp(-logits))).astype(int)
    path = tmp_path_factory.mktemp("data") / "planted.csv"
    pd.DataFrame(bits, columns=[f"c{j}" for j in range(D)]).to_csv(path, index=False)
    return path


def test_bound_agrees_with_the_library(csv, tmp_path, capsys):
    scree, out = tmp_path / "scree.png", tmp_path / "bound.json"
    args = ["bound", str(csv), "--latent-dim", "2", "--test-fraction", "0.25", "--split-seed", "5"]
    assert main([*args, "--scree", str(scree), "--json", str(out)]) == 0
    data = load_binary(csv, test_fraction=0.25, seed=5)
    fit = fit_bound(data.train, data.test, 2)
    support = decision_support(fit.eigenvalues, data.n_train)
    report = json.loads(out.read_text())
    assert report["bound_train"] == fit.bound_train
    assert report["bound_test"] == fit.bound_test
    assert report["bound_test_strict"] == fit.bound_test_strict
    assert (report["d"], report["n_train"], report["n_test"]) == (D, 150, 50)
    assert report["n_eig_gt_4"] == support.n_eig_gt_4 and report["n_eig_gt_mp"] == support.n_eig_gt_mp
    assert report["mp_edge"] == support.mp_edge
    assert report["leading_eigenvalues"] == fit.eigenvalues[:10].tolist()
    assert report["n_eig_gt_mp"] >= 2  # the planted structure is visible
    printed = capsys.readouterr().out
    for value in (fit.bound_train, fit.bound_test, fit.bound_test_strict):
        assert f"{value:.4f}" in printed
    assert f"eigenvalues > 4          {support.n_eig_gt_4}" in printed
    assert scree.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bound_prints_the_exact_nll_of_a_simulated_dataset_only(csv, tmp_path, capsys):
    data = simulate(SimSettings(d=40, N=600, seed=2))
    write_dataset(data, tmp_path / "sim.parquet")
    assert main(["bound", str(tmp_path / "sim.parquet"), "--json", str(tmp_path / "sim.json")]) == 0
    printed, exact = capsys.readouterr().out, exact_nll(data)
    assert f"exact NLL train    {exact['nll_true_train']:.4f}" in printed
    assert f"exact NLL test     {exact['nll_true_test']:.4f}" in printed
    assert json.loads((tmp_path / "sim.json").read_text())["nll_true_test"] == exact["nll_true_test"]
    assert main(["bound", str(csv), "--json", str(tmp_path / "csv.json")]) == 0
    assert "exact NLL" not in capsys.readouterr().out
    assert json.loads((tmp_path / "csv.json").read_text())["nll_true_train"] is None


def test_bound_default_split_matches_load_binary(csv, capsys):
    assert main(["bound", str(csv)]) == 0
    data = load_binary(csv)
    assert f"n_train = {data.n_train}, n_test = {data.n_test}" in capsys.readouterr().out


def test_train_agrees_with_the_library(csv, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", str(csv), "--arch", "deep", "--variant", "preinit", "--latent-dim", "2", *TINY]
    assert main([*args, "--seed", "7", "--out", str(out), "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["final.parquet", "history.parquet", "loss.png"]  # no checkpoint
    settings = TrainSettings(  # the default protocol's deep learning rate
        arch="deep", variant="preinit", latent_dim=2, hidden=(16, 16), epochs=3, batch_size=50, mc_samples=2, lr=3e-4
    )
    direct = train(load_binary(csv), settings, seed=7, progress=False)
    final = pd.read_parquet(out / "final.parquet")
    expected = pd.DataFrame([direct.final]).astype(final.dtypes.to_dict())
    pd.testing.assert_frame_equal(final.drop(columns=WALL_CLOCK), expected.drop(columns=WALL_CLOCK))
    history = pd.read_parquet(out / "history.parquet")
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), direct.history.drop(columns="seconds"))
    printed = capsys.readouterr().out
    assert f"{direct.final['pct_train']:+9.3f}%" in printed and f"{direct.final['pct_test']:+9.3f}%" in printed
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_resumes_from_its_checkpoint(csv, tmp_path, monkeypatch):
    """A run that dies after its first checkpoint resumes there and ends with the numbers of an uninterrupted run."""
    import bvae.training.train as train_module

    out = tmp_path / "run"
    args = ["train", str(csv), "--variant", "vanilla", "--latent-dim", "2", *TINY, "--checkpoint-every", "1"]
    real_full_pass, calls = train_module.full_pass, {"n": 0}

    def dying_full_pass(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:  # the test pass of epoch 2, after epoch 1's checkpoint was written
            raise KeyboardInterrupt
        return real_full_pass(*a, **k)

    monkeypatch.setattr(train_module, "full_pass", dying_full_pass)
    assert main([*args, "--out", str(out), "--no-progress"]) == 130
    assert [p.name for p in out.iterdir()] == ["checkpoint.pt"]
    monkeypatch.setattr(train_module, "full_pass", real_full_pass)
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    uninterrupted = tmp_path / "again"
    assert main([*args, "--out", str(uninterrupted), "--no-progress"]) == 0
    a, b = pd.read_parquet(out / "final.parquet"), pd.read_parquet(uninterrupted / "final.parquet")
    pd.testing.assert_frame_equal(a.drop(columns=WALL_CLOCK), b.drop(columns=WALL_CLOCK))
    assert not (out / "checkpoint.pt").exists()


def test_example_digits(tmp_path, capsys):
    out = tmp_path / "digits.parquet"
    assert main(["example", "digits", str(out)]) == 0
    back, ref = read_dataset(out), digits()
    assert back.name == "digits" and (back.n, back.d) == (1797, 64) and back.n_test == 593
    assert np.array_equal(back.train, ref.train) and np.array_equal(back.test, ref.test)
    assert "1797 × 64" in capsys.readouterr().out


def test_digits_threshold_is_pixel_at_least_threshold():
    from sklearn.datasets import load_digits

    pixels = load_digits().data
    data = digits()
    assert data.n == 1797 and int(np.vstack([data.train, data.test]).sum()) == int((pixels >= 8).sum())
    assert digits(1).train.sum() > data.train.sum() > digits(16).train.sum()


def bad_files(tmp, csv):
    """One file per kind of bad input, with a fragment of the message it must produce."""
    frame = pd.read_csv(csv)
    nonbinary = frame.copy()
    nonbinary.iloc[4, 2] = 2
    nonbinary.to_csv(tmp / "nonbinary.csv", index=False)
    missing = frame.astype(float)
    missing.iloc[7, 1] = np.nan
    missing.to_csv(tmp / "missing.csv", index=False)
    (tmp / "empty.csv").write_bytes(b"")
    (tmp / "garbage.parquet").write_bytes(b"this is not a parquet file\x00\x01")
    (tmp / "garbage.npy").write_bytes(b"\x93NUMPY garbage")
    (tmp / "data.txt").write_text("0 1\n1 0\n")
    return {
        "nonbinary": (tmp / "nonbinary.csv", [], "value 2 at row 5 (counting data rows from 1), column 'c2'"),
        "missing": (tmp / "missing.csv", [], "missing value at row 8 (counting data rows from 1), column 'c1'"),
        "empty": (tmp / "empty.csv", [], "empty"),
        "garbage parquet": (tmp / "garbage.parquet", [], "cannot be read"),
        "garbage npy": (tmp / "garbage.npy", [], "cannot be read"),
        "unsupported": (tmp / "data.txt", [], "unsupported file type"),
        "nonexistent": (tmp / "nope.csv", [], "no such file"),
        "latent 0": (csv, ["--latent-dim", "0"], "latent_dim = 0"),
        "latent > d": (csv, ["--latent-dim", str(D + 1)], f"latent_dim = {D + 1}"),
        "test fraction": (csv, ["--test-fraction", "1.5"], "test_fraction = 1.5"),
    }


CASES = [
    "nonbinary",
    "missing",
    "empty",
    "garbage parquet",
    "garbage npy",
    "unsupported",
    "nonexistent",
    "latent 0",
    "latent > d",
    "test fraction",
]


def assert_one_line_error(capsys, fragment):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bvae: error: "), captured.err
    assert fragment in lines[0]
    assert "Traceback" not in captured.err


def bad_input(tmp_path, csv, case):
    """The bad file of `case` (written under tmp_path/in), its extra arguments and the expected message fragment."""
    src = tmp_path / "in"
    src.mkdir()
    return bad_files(src, csv)[case]


@pytest.mark.parametrize("case", CASES)
def test_bound_bad_input(csv, tmp_path, capsys, case):
    path, extra, fragment = bad_input(tmp_path, csv, case)
    out = tmp_path / "out"
    out.mkdir()
    argv = ["bound", str(path), *extra, "--scree", str(out / "scree.png"), "--json", str(out / "b.json")]
    assert main(argv) == 2
    assert_one_line_error(capsys, fragment)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("case", CASES)
def test_train_bad_input(csv, tmp_path, capsys, case):
    path, extra, fragment = bad_input(tmp_path, csv, case)
    out = tmp_path / "run"
    latent = [] if "--latent-dim" in extra else ["--latent-dim", "2"]
    assert main(["train", str(path), *latent, *TINY, "--out", str(out), "--no-progress", *extra]) == 2
    assert_one_line_error(capsys, fragment)
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--epochs", "0"], "epochs = 0"),
        (["--batch-size", "-1"], "batch_size = -1"),
        (["--lr", "0"], "lr = 0.0"),
        (["--hidden", "0"], "hidden = [0]"),
        (["--threads", "0"], "threads = 0"),
    ],
)
def test_train_bad_settings(csv, tmp_path, capsys, extra, fragment):
    out = tmp_path / "run"
    assert (
        main(["train", str(csv), "--latent-dim", "2", *tiny(extra[0]), *extra, "--out", str(out), "--no-progress"]) == 2
    )
    assert_one_line_error(capsys, fragment)
    assert not out.exists()


def test_subprocess_exit_code_and_no_traceback(csv, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n0,1\n1,7\n")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "bvae.cli", "train", str(bad), "--latent-dim", "1", "--epochs", "1", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"bvae: error: {bad}: value 7 at row 2 (counting data rows from 1), column 'b'; expected only 0 and 1"
    )
    assert "Traceback" not in proc.stderr and not out.exists()
    usage = subprocess.run([sys.executable, "-m", "bvae.cli", "train", str(csv)], capture_output=True, text=True)
    assert usage.returncode == 2 and "required" in usage.stderr and "Traceback" not in usage.stderr


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"bvae {__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "Workflow" in capsys.readouterr().out


def test_every_option_has_help():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in sub.choices.items():
        for action in command._actions:
            assert action.help, f"bvae {name} {action.option_strings or action.dest} has no help text"
            assert "null" not in action.help, f"bvae {name} {action.option_strings}: config wording in --help"


def test_train_on_a_simulated_dataset_draws_its_exact_nll(tmp_path, monkeypatch):
    from bvae.data.binary import write_dataset
    from bvae.data.simulate import SimSettings, simulate

    path = tmp_path / "sim.parquet"
    write_dataset(simulate(SimSettings(d=20, N=120, block=5)), path)
    drawn = {}
    monkeypatch.setattr(
        "bvae.plots.training.save", lambda fig, out: drawn.update(texts=[t.get_text() for t in fig.axes[0].texts])
    )
    assert main(["train", str(path), *TINY, "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert any(text.startswith("exact NLL train") for text in drawn["texts"])


def test_output_into_a_reader_that_stopped_ends_quietly(tmp_path):
    """As `bvae bound FILE | head -0`: no "Broken pipe" error, no traceback."""
    path = tmp_path / "bits.csv"
    path.write_text("a,b,c\n0,1,1\n1,0,1\n0,0,1\n1,1,0\n")
    read, write = os.pipe()
    os.close(read)
    run = subprocess.run([sys.executable, "-m", "bvae.cli", "bound", str(path), "--test-fraction", "0.5"], stdout=write,
                         stderr=subprocess.PIPE, text=True)  # fmt: skip
    os.close(write)
    assert (run.returncode, run.stderr) == (141, "")
