"""No silent data loss, no training lost to a late failure, divergence caught, every rerun recovers."""

import errno
import json
import os
import signal
import stat
import subprocess
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

import bvae.training.train as train_module
from bvae.cli import main
from bvae.data.binary import load_binary, write_dataset
from bvae.data.simulate import SimSettings, simulate
from bvae.errors import ConfigError, DataError, DivergenceError, OutputError
from bvae.io import (
    Claim,
    atomic_path,
    lock_results,
    read_metadata,
    read_parquet,
    write_parquet,
    write_parquets,
    write_text,
)
from bvae.study.plan import dataset_seeds, files_registry, reject_non_finite
from bvae.training.results import train_and_write, write_result
from bvae.training.train import TrainSettings, check_losses, train_seeds
from tests.conftest import SNAKEMAKE, copy_workflow, snakemake

TINY = dict(hidden=(16, 16), epochs=3, batch_size=50, mc_samples=2, checkpoint_every=1)
CLI_TINY = ["--latent-dim", "2", "--hidden", "8", "--epochs", "2", "--batch-size", "50", "--mc-samples", "2"]


@pytest.fixture(scope="module")
def data():
    return simulate(SimSettings(d=20, N=300, block=5, seed=1))


@pytest.fixture(scope="module")
def bits(tmp_path_factory):
    """60 × 12 random bits as a Parquet file without a split column."""
    path = tmp_path_factory.mktemp("bits") / "bits.parquet"
    x = (np.random.default_rng(0).random((60, 12)) < 0.4).astype(np.uint8)
    pd.DataFrame(x, columns=[f"c{j}" for j in range(12)]).to_parquet(path)
    return path


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("bvae: error: ") and "Traceback" not in err, err
    return err


def no_training(*args, **kwargs):
    raise AssertionError("trained although the results were at hand")


# 1. The dataset registry.

SIM = {"d": [24], "N": [100]}


def test_a_file_name_used_twice_names_both_paths():
    config = {
        "datasets": SIM,
        "files": [{"name": "x", "path": "a.csv"}, {"name": "x", "path": "b.csv"}],
        "examples": [],
    }
    with pytest.raises(ConfigError, match=r"files: name 'x' is given twice \(paths 'a.csv' and 'b.csv'\)"):
        files_registry(config)


@pytest.mark.parametrize(
    ("files", "examples", "message"),
    [
        ([], ["digits", "digits"], r"examples: 'digits' is listed 2 times; list it once"),
        ([{"name": "digits", "path": "a.csv"}], ["digits"], r"files: name 'digits' is also listed under examples:"),
        ([{"name": "d24_N50", "path": "a.csv"}], [], r"files: name 'd24_N50' has the form d\{d\}_N\{N\}"),
        ([{"name": "d24_N50_r2", "path": "a.csv"}], [], r"files: name 'd24_N50_r2' has the form d\{d\}_N\{N\}"),
    ],
)
def test_clashing_dataset_names(files, examples, message):
    with pytest.raises(ConfigError, match=message):
        files_registry({"datasets": SIM, "files": files, "examples": examples})


def test_registry_keeps_every_dataset_in_order():
    files = [{"name": "mine", "path": "a.csv"}, {"name": "yours", "path": "b.csv"}]
    config = {"datasets": SIM, "files": files, "examples": ["digits"], "seeds": 2, "architectures": ["deep"]}
    assert dataset_seeds(config) == {
        "d24_N100": {"deep": 2},
        "mine": {"deep": 2},
        "yours": {"deep": 2},
        "digits": {"deep": 2},
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"lr": float("nan")}, "lr = nan"),
        ({"simulation": {"score_sd": [2.5, float("inf")]}}, r"simulation.score_sd\[1\] = inf"),
        ({"files": [{"test_fraction": float("nan")}]}, r"files\[0\].test_fraction = nan"),
    ],
)
def test_non_finite_numbers_are_rejected(config, message):
    with pytest.raises(ConfigError, match=message + "; expected a finite number"):
        reject_non_finite(config)
    reject_non_finite({"lr": 0.001, "datasets": {"d": [20]}, "files": [{"name": "x"}]})


def test_workflow_stops_on_a_duplicate_name_and_on_nan(tmp_path):
    workdir = copy_workflow(tmp_path)
    for name in ("a", "b"):
        (workdir / f"{name}.csv").write_text("c0,c1,c2\n0,1,1\n1,0,1\n0,0,1\n1,1,0\n")
    (workdir / "dup.yaml").write_text("files: [{name: x, path: a.csv}, {name: x, path: b.csv}]\n")
    run = snakemake(workdir, "-n", "--configfile", ".test/config.yaml", "dup.yaml")
    message = "files: name 'x' is given twice (paths 'a.csv' and 'b.csv')"
    assert run.returncode != 0 and message in run.stdout + run.stderr
    run = snakemake(workdir, "-n", "--configfile", ".test/config.yaml", "--config", "lr=nan")
    assert run.returncode != 0 and "lr = nan; expected a finite number" in run.stdout + run.stderr
    assert not (workdir / "results").exists()


# 2. CSV files with and without a header.


def test_csv_without_header_keeps_its_first_row(tmp_path, capsys):
    x = (np.random.default_rng(0).random((60, 12)) < 0.4).astype(int)
    x[0] = 1  # a first row of ones: data, not a header
    np.savetxt(tmp_path / "raw.csv", x, fmt="%d", delimiter=",")
    data = load_binary(tmp_path / "raw.csv")
    assert data.n == 60 and data.columns == tuple(f"x{j}" for j in range(12))
    assert sorted(map(tuple, np.vstack([data.train, data.test]))) == sorted(map(tuple, x))
    assert main(["bound", str(tmp_path / "raw.csv")]) == 0
    assert "n_train = 40, n_test = 20" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "n", "columns"),
    [
        ("a,b,c\n0,1,1\n1,0,1\n0,0,1\n1,1,0\n", 4, ("a", "b", "c")),  # header
        ("0,1,2\n0,1,1\n1,0,1\n0,0,1\n1,1,0\n", 4, ("0", "1", "2")),  # pandas' default names from 3 columns on
        ("0.0,1.0,1\n0,1,1\n1,0,1\n0,0,1\n", 4, ("x0", "x1", "x2")),  # no header, numbers written as floats
    ],
)
def test_header_is_told_from_data(tmp_path, content, n, columns):
    (tmp_path / "f.csv").write_text(content)
    data = load_binary(tmp_path / "f.csv", test_fraction=0.5)
    assert data.n == n and data.columns == columns


def test_headerless_csv_with_a_gap_in_the_first_row_reports_it(tmp_path):
    (tmp_path / "gap.csv").write_text("0,,1\n0,1,1\n1,0,1\n0,0,1\n")
    with pytest.raises(DataError, match=r"missing value at row 1 \(counting data rows from 1\), column 'x1'"):
        load_binary(tmp_path / "gap.csv")


# 3. Divergence with finite losses.


def test_exploding_loss_is_a_divergence_and_writes_nothing(bits, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", str(bits), "--arch", "canonical", "--variant", "preinit", "--latent-dim", "2", "--epochs", "5"]
    assert main([*args, "--lr", "10", "--out", str(out), "--no-progress"]) == 2
    err = one_line_error(capsys)
    assert "training diverged (training loss" in err and "> 10 × d·log 2 = 83.18) on dataset bits" in err
    assert not list(out.rglob("*.parquet"))


def test_divergence_limit_is_ten_times_the_constant_model(data):
    limit = 10 * data.d * np.log(2)
    settings = TrainSettings(arch="deep", variant="vanilla")
    low, high = np.array([1.0, limit * 0.999]), np.array([1.0, limit * 1.001])
    check_losses(
        low, np.array([1.0, 1e9]), data, settings, [3, 4], 7
    )  # a huge test loss is overfitting, not divergence
    with pytest.raises(DivergenceError, match=r"\) on dataset d20_N300, arch deep, variant vanilla, seed 4, epoch 7"):
        check_losses(high, low, data, settings, [3, 4], 7)


# 4. A failure after training loses nothing.


def test_output_location_is_checked_before_training(bits, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    (out / "final.parquet").mkdir(parents=True)
    monkeypatch.setattr(train_module, "run_epoch", no_training)
    assert main(["train", str(bits), *CLI_TINY, "--out", str(out), "--no-progress"]) == 2
    assert f"{out / 'final.parquet'}: is a directory" in one_line_error(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["final.parquet"]


def failing_write_table(failing_name):
    real = pq.write_table

    def write_table(table, sink, **kwargs):
        if os.path.basename(sink.name).startswith(f".{failing_name}."):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, sink, **kwargs)

    return write_table


def test_full_disk_while_writing_results_keeps_the_training(bits, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    args = ["train", str(bits), *CLI_TINY, "--out", str(out), "--no-progress"]
    monkeypatch.setattr(pq, "write_table", failing_write_table("final.parquet"))
    assert main(args) == 2
    assert (
        one_line_error(capsys) == f"bvae: error: {out / 'final.parquet'}: cannot be written (No space left on device)"
    )
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt"]  # no history.parquet without its final.parquet
    monkeypatch.undo()
    monkeypatch.setattr(train_module, "run_epoch", no_training)
    assert main(args) == 0  # the disk has room again: the results are written without training
    assert sorted(p.name for p in out.iterdir()) == ["final.parquet", "history.parquet", "loss.png"]
    assert len(read_parquet(out / "history.parquet")) == 2


def test_result_pair_is_all_or_nothing_with_final_as_marker(tmp_path, monkeypatch):
    old, new = pd.DataFrame({"v": [1]}), pd.DataFrame({"v": [2]})
    pair = [(old, tmp_path / "history.parquet", None), (old, tmp_path / "final.parquet", None)]
    write_parquets(pair)
    monkeypatch.setattr(pq, "write_table", failing_write_table("final.parquet"))
    with pytest.raises(OutputError, match="final.parquet: cannot be written"):
        write_parquets([(new, path, None) for _, path, _ in pair])
    assert all(read_parquet(path)["v"].tolist() == [1] for _, path, _ in pair)  # the old pair, untouched
    monkeypatch.undo()
    replaced, real_replace = [], os.replace

    def watching_replace(src, dst):
        replaced.append((os.path.basename(dst), (tmp_path / "final.parquet").exists()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", watching_replace)
    write_parquets([(new, path, None) for _, path, _ in pair])
    assert replaced == [("history.parquet", False), ("final.parquet", False)]  # old marker gone before new history
    assert not list(tmp_path.glob(".*tmp"))


# 5. A checkpoint that cannot be read.


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_unreadable_checkpoint_is_set_aside_once(data, tmp_path, capsys, damage):
    settings = TrainSettings(arch="deep", variant="vanilla", **{**TINY, "epochs": 4, "checkpoint_every": 2})
    ckpt = tmp_path / "ckpt.pt"
    fresh = train_seeds(data, settings, [0], progress=False)[0]
    torch.save({"epoch": 2, "model": torch.zeros(1000)}, ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:300] if damage == "truncate" else b"\x00garbage")
    capsys.readouterr()
    result = train_seeds(data, settings, [0], checkpoint=ckpt, progress=False)[0]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"bvae: warning: checkpoint {ckpt} cannot be read" in err
    assert f"moved to {ckpt}.unreadable, training starts over" in err
    assert (tmp_path / "ckpt.pt.unreadable").exists()
    pd.testing.assert_frame_equal(result.history.drop(columns="seconds"), fresh.history.drop(columns="seconds"))
    train_seeds(data, settings, [0], checkpoint=ckpt, progress=False)
    assert "warning" not in capsys.readouterr().err


# 6. A finished training is never trained again.


def test_finished_training_is_rewritten_from_its_checkpoint(data, tmp_path, monkeypatch, capsys):
    settings = TrainSettings(arch="canonical", variant="preinit", **TINY)
    ckpt, outdirs = tmp_path / "ckpt.pt", [tmp_path / "s0", tmp_path / "s1"]
    first = train_and_write(data, settings, [0, 1], outdirs, ckpt, progress=False, keep_results=True)
    assert ckpt.stat().st_size < 20_000  # the model and optimizer state are gone, the results stay
    written = [read_parquet(d / "final.parquet") for d in outdirs]
    for d in outdirs:  # what Snakemake does to the outputs of a job it found incomplete
        for name in ("final.parquet", "history.parquet"):
            (d / name).unlink()
    monkeypatch.setattr(train_module, "run_epoch", no_training)
    again = train_and_write(data, settings, [0, 1], outdirs, ckpt, progress=False, keep_results=True)
    assert "holds this finished training" in capsys.readouterr().err
    for a, b, d, w in zip(first, again, outdirs, written, strict=True):
        assert a.final == b.final
        pd.testing.assert_frame_equal(a.history, b.history)
        pd.testing.assert_frame_equal(read_parquet(d / "final.parquet"), w)
    other = TrainSettings(**{**settings.__dict__, "lr": 0.002})
    with pytest.raises(OutputError, match="holds the results of another training"):  # not overwritten unasked
        train_and_write(data, other, [0, 1], outdirs, ckpt)
    with pytest.raises(AssertionError, match="trained although"):  # replaced on purpose: the record does not apply
        train_and_write(data, other, [0, 1], outdirs, ckpt, replace=True)


def kill_snakemake(workdir, target, config, started) -> float:
    """Start snakemake for `target` and SIGKILL it once the file `started` exists; the deadline for what follows."""
    env = {**os.environ, "PYTHONPATH": str(workdir / "src")}
    cmd = [*SNAKEMAKE, "--cores", "1", target, *config]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return deadline


def kill_during_training(workdir, target, config, log):
    """Kill snakemake once the training job has started (its log exists); return the job's final file."""
    deadline = kill_snakemake(workdir, target, config, log)
    final = workdir / target
    while not final.exists() and time.monotonic() < deadline:  # the orphaned job trains on and writes
        time.sleep(0.2)
    return final


def test_killing_snakemake_then_rerunning_does_not_train_again(tmp_path):
    workdir = copy_workflow(tmp_path)
    config = ["--configfile", ".test/config.yaml", "--config", "epochs=30"]  # training outlasts the kill
    target = "results/test/runs/spec/d24_N100/deep/vanilla/seed0/final.parquet"
    log = workdir / "results/test/logs/train/spec/d24_N100/deep/vanilla/seed0.log"
    final = kill_during_training(workdir, target, config, log)
    assert final.exists(), "the orphaned training job did not finish"
    trained = read_parquet(final)
    time.sleep(1)  # let the orphan exit
    assert snakemake(workdir, "--unlock", *config).returncode == 0
    rerun = snakemake(workdir, "--cores", "1", target, *config)  # profiles/default: --rerun-incomplete
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "holds this finished training" in log.read_text()
    pd.testing.assert_frame_equal(read_parquet(final), trained)  # same wall_seconds: no second training


# 7. Seeds.


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999999", str(2**63)])
def test_out_of_range_seed_is_rejected_up_front(bits, tmp_path, capsys, seed):
    out = tmp_path / "run"
    assert main(["train", str(bits), *CLI_TINY, "--seed", seed, "--out", str(out), "--no-progress"]) == 2
    assert f"seed = {seed}; expected an integer from 0 to 2**63 - 1" in one_line_error(capsys)
    assert not out.exists()
    assert main(["bound", str(bits), "--seed", seed]) == 2
    assert f"split seed = {seed}; expected" in one_line_error(capsys)


def test_largest_seed_is_accepted(data):
    result = train_seeds(data, TrainSettings(arch="canonical", variant="vanilla", **TINY), [2**63 - 1], progress=False)
    assert result[0].final["seed"] == 2**63 - 1


# 8. Too few rows in a split.


@pytest.mark.parametrize(
    ("splits", "message"),
    [
        (["train"] * 10, "0 test row"),
        (["train"] * 9 + ["test"], "1 test row"),
        (["test"] * 9 + ["train"], "1 training row"),
    ],
)
def test_a_split_with_fewer_than_two_rows_is_rejected(tmp_path, splits, message):
    frame = pd.DataFrame({"a": [0, 1] * 5, "b": [1, 1, 0, 0, 1] * 2, "split": splits})
    frame.to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(DataError, match=rf"{tmp_path / 'f.csv'}: {message}\(s\); expected at least 2"):
        load_binary(tmp_path / "f.csv")


def test_test_fraction_zero_is_rejected_at_import(bits, capsys):
    assert main(["bound", str(bits), "--test-fraction", "0"]) == 2
    assert f"{bits}: 0 test row(s); expected at least 2" in one_line_error(capsys)


# 9. Page checksums.


def test_flipped_bit_in_a_result_is_an_error_naming_the_file(data, tmp_path):
    result = train_seeds(data, TrainSettings(arch="canonical", variant="preinit", **TINY), [0], progress=False)[0]
    write_result(result, tmp_path)
    path = tmp_path / "final.parquet"
    meta = pq.ParquetFile(path).metadata
    column = [meta.schema.column(i).name for i in range(meta.num_columns)].index("final_train_loss")
    chunk = meta.row_group(0).column(column)
    assert chunk.has_dictionary_page  # the one value sits, uncompressed, at the end of the dictionary page
    raw = bytearray(path.read_bytes())
    raw[chunk.data_page_offset - 1] ^= 0x04  # one bit of the value's exponent
    path.write_bytes(raw)
    unverified = pd.read_parquet(path)["final_train_loss"].iloc[0]
    assert unverified != result.final["final_train_loss"]  # without verification the damage flows on unnoticed
    with pytest.raises(DataError, match=rf"^{path}: cannot be read \(could not verify page integrity"):
        read_parquet(path)


# 10. Smaller.


def test_full_disk_during_checkpoint_save_is_one_line(bits, tmp_path, capsys):
    """A full disk while saving a checkpoint once said only "[enforce fail at inline_container.cc:672]"."""
    out = tmp_path / "run"
    out.mkdir()
    full = device(out / "checkpoint.pt", 7)  # like /dev/full: every write fails with ENOSPC
    assert main(["train", str(bits), *CLI_TINY, "--checkpoint-every", "1", "--out", str(out), "--no-progress"]) == 2
    assert one_line_error(capsys) == f"bvae: error: {full}: cannot be written (No space left on device)"
    assert [p.name for p in out.iterdir()] == ["checkpoint.pt"]  # the device, nothing else


def test_write_errors_name_the_users_path(tmp_path, monkeypatch):
    monkeypatch.setattr(pq, "write_table", failing_write_table("x.parquet"))
    with pytest.raises(OutputError) as err:
        write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "x.parquet")
    assert str(err.value) == f"{tmp_path / 'x.parquet'}: cannot be written (No space left on device)"
    with pytest.raises(OutputError, match=rf"^{tmp_path}: is a directory"):
        write_text("x", tmp_path)
    assert not list(tmp_path.iterdir())


def device(path, minor: int):
    """A character device of Linux's memory devices (3 like /dev/null, 7 like /dev/full) at `path` (needs root), so
    that no test touches the real ones."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return path


@pytest.fixture
def null_device(tmp_path):
    return device(tmp_path / "null", 3)


def test_a_device_is_written_in_place_not_replaced(bits, null_device, capsys):
    assert main(["bound", str(bits), "--json", str(null_device)]) == 0
    assert stat.S_ISCHR(null_device.stat().st_mode) and not list(null_device.parent.glob(".*tmp"))


def test_directory_as_input_is_named_a_directory(tmp_path, capsys):
    assert main(["bound", str(tmp_path)]) == 2
    assert f"{tmp_path}: is a directory; expected a data file" in one_line_error(capsys)


def test_npz_with_only_train_says_it_is_split_again(tmp_path, capsys):
    np.savez(tmp_path / "t.npz", train=np.eye(6, dtype=np.uint8))
    data = load_binary(tmp_path / "t.npz", test_fraction=0.5)
    assert (data.n_train, data.n_test) == (3, 3)
    note = f"bvae: note: {tmp_path / 't.npz'}: holds only a 'train' array, so its rows are split at random"
    assert capsys.readouterr().err == note + " like a single matrix\n"


# Results get the mode the umask gives, like any other file (not the temporary file's 0600).


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_results_get_the_mode_of_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "x.parquet")
        write_text("x", tmp_path / "x.md")
        with atomic_path(tmp_path / "x.png") as tmp:
            tmp.write_bytes(b"png")
    finally:
        os.umask(old)
    for name in ("x.parquet", "x.md", "x.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


# 11. A result is written only by the run that owns it.


def test_a_second_training_into_one_directory_is_refused(bits, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    monkeypatch.setattr(train_module, "run_epoch", no_training)
    with Claim([out]):  # a training running into out
        assert main(["train", str(bits), *CLI_TINY, "--out", str(out), "--no-progress"]) == 2
        err = one_line_error(capsys)
    assert f"{out}: another training is writing here (pid {os.getpid()} on " in err
    assert not out.exists() or not list(out.iterdir())  # its lock file goes with it


def test_a_training_taken_over_stops_without_writing(data, tmp_path, capsys):
    outdirs, ckpt = [tmp_path / "s0"], tmp_path / "ckpt.pt"
    settings = TrainSettings(arch="deep", variant="vanilla", **TINY)
    with Claim(outdirs) as orphan, Claim(outdirs, take_over=True):
        assert "taken over from a training of an earlier run that still goes on (pid" in capsys.readouterr().err
        with pytest.raises(OutputError, match=rf"^{outdirs[0]}: a later run took this training's output directory"):
            train_and_write(data, settings, [0], outdirs, ckpt, progress=False, owner=orphan)
    assert not ckpt.exists() and not list(outdirs[0].iterdir())


def orphan_pid(lock) -> int:
    return int(lock.read_text().split()[1])


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def ends_by(pid: int, deadline: float) -> bool:
    """Wait until the process `pid` has ended or the deadline passed; whether it ended."""
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not running(pid)


def test_an_orphaned_training_does_not_overwrite_a_rerun(tmp_path):
    """Snakemake killed, unlocked and rerun with other settings while its training goes on: the rerun's result
    stands, and the orphan stops without writing."""
    workdir = copy_workflow(tmp_path)
    target = "results/test/runs/spec/d24_N100/deep/vanilla/seed0/final.parquet"
    lock = (workdir / target).parent / ".bvae.lock"
    config = ["--configfile", ".test/config.yaml", "--config"]
    deadline = kill_snakemake(workdir, target, [*config, "epochs=100000"], lock)  # once the training owns its directory
    orphan = orphan_pid(lock)
    try:
        assert running(orphan)
        assert snakemake(workdir, "--unlock", *config, "epochs=3").returncode == 0
        rerun = snakemake(workdir, "--cores", "1", target, *config, "epochs=3")
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert ends_by(orphan, deadline), "the orphaned training goes on after the rerun took its directory over"
    finally:
        if running(orphan):
            os.kill(orphan, signal.SIGKILL)
    assert read_parquet(workdir / target)["epochs"].iloc[0] == 3
    assert not lock.exists()


def test_a_killed_writers_temporaries_are_removed_by_the_next_owner(data, tmp_path):
    outdir, ckpt = tmp_path / "s0", tmp_path / "ckpt.pt"
    outdir.mkdir()
    stale = [outdir / ".final.parquet.0123456789ab.tmp", outdir / ".history.parquet.ba9876543210.tmp",
             tmp_path / ".ckpt.pt.00112233aabb.tmp"]  # fmt: skip
    other = outdir / ".final.parquet.mine.tmp"  # not a name bvae gives its temporaries
    for path in [*stale, other]:
        path.write_bytes(b"half")
    train_and_write(data, TrainSettings(arch="deep", variant="vanilla", **TINY), [0], [outdir], ckpt, progress=False)
    assert not any(path.exists() for path in stale) and other.exists()


def test_a_forced_rerun_trains_again(tmp_path):
    """The checkpoint of a training whose run recorded its results does not answer --forcerun."""
    workdir = copy_workflow(tmp_path)
    config = ["--configfile", ".test/config.yaml"]
    target = "results/test/runs/spec/d24_N100/deep/vanilla/seed0/final.parquet"
    log = workdir / "results/test/logs/train/spec/d24_N100/deep/vanilla/seed0.log"
    assert snakemake(workdir, "--cores", "1", target, *config).returncode == 0
    first = read_parquet(workdir / target)
    forced = snakemake(workdir, "--cores", "1", target, *config, "--forcerun", "train_deep")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert "holds this finished training" not in log.read_text()
    assert read_parquet(workdir / target)["wall_seconds"].iloc[0] != first["wall_seconds"].iloc[0]


# 12. Nothing bvae writes follows a link it did not make.


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


def test_a_link_planted_as_the_output_roots_lock_is_refused(tmp_path, victim):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / ".bvae.lock").symlink_to(victim)
    with pytest.raises(OutputError, match=rf"^{tmp_path / 'root' / '.bvae.lock'}: is a symbolic link \(to "):
        lock_results(tmp_path / "root")
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("name", ["final.parquet", "history.parquet", "checkpoint.pt", "loss.png", ".bvae.lock"])
def test_a_link_planted_in_the_output_directory_is_refused(bits, tmp_path, victim, capsys, name):
    out = tmp_path / "run"
    out.mkdir()
    (out / name).symlink_to(victim)
    assert main(["train", str(bits), *CLI_TINY, "--out", str(out), "--no-progress", "--force"]) == 2
    assert f"{out / name}: is a symbolic link (to '{victim}'), which bvae did not make" in one_line_error(capsys)
    assert victim.read_text() == "precious\n" and [p.name for p in out.iterdir()] == [name]


def test_a_link_planted_as_the_checkpoint_during_training_is_refused(data, tmp_path, victim):
    settings = TrainSettings(arch="deep", variant="vanilla", **TINY)
    (tmp_path / "ckpt.pt").symlink_to(victim)
    with pytest.raises(OutputError, match="is a symbolic link"):
        train_seeds(data, settings, [0], checkpoint=tmp_path / "ckpt.pt", progress=False)
    assert victim.read_text() == "precious\n"


# 13. What bvae reads back is verified.


def test_a_finished_checkpoint_edited_is_not_trusted(data, tmp_path, capsys):
    settings = TrainSettings(arch="deep", variant="vanilla", **TINY)
    ckpt, outdirs = tmp_path / "ckpt.pt", [tmp_path / "s0"]
    (first,) = train_and_write(data, settings, [0], outdirs, ckpt, progress=False, keep_results=True)
    loss = f"{first.final['final_train_loss']!r}".encode()
    blob = ckpt.read_bytes()
    assert blob.count(loss) == 1
    ckpt.write_bytes(blob.replace(loss, loss[:2] + bytes([loss[2] ^ 1]) + loss[3:]))  # one digit changed
    (outdirs[0] / "final.parquet").unlink()
    capsys.readouterr()
    (again,) = train_and_write(data, settings, [0], outdirs, ckpt, progress=False, keep_results=True)
    assert "do not match their SHA-256: damaged or edited); moved to" in capsys.readouterr().err
    assert again.final["final_train_loss"] == first.final["final_train_loss"]  # trained again, not read


def test_an_unfinished_checkpoint_with_a_flipped_byte_starts_over(data, tmp_path, capsys, monkeypatch):
    settings = TrainSettings(arch="deep", variant="vanilla", **{**TINY, "epochs": 4, "checkpoint_every": 2})
    ckpt = tmp_path / "ckpt.pt"
    fresh = train_seeds(data, settings, [0], progress=False)[0]
    monkeypatch.setattr(train_module, "full_pass", stop_after_checkpoint(ckpt))
    with pytest.raises(KeyboardInterrupt):
        train_seeds(data, settings, [0], checkpoint=ckpt, progress=False)
    monkeypatch.undo()
    blob = bytearray(ckpt.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    ckpt.write_bytes(bytes(blob))
    resumed = train_seeds(data, settings, [0], checkpoint=ckpt, progress=False)[0]
    assert "training starts over" in capsys.readouterr().err
    pd.testing.assert_frame_equal(resumed.history.drop(columns="seconds"), fresh.history.drop(columns="seconds"))


def stop_after_checkpoint(ckpt):
    real = train_module.full_pass

    def full_pass(*args, **kwargs):
        if ckpt.exists():
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    return full_pass


def test_edited_metadata_of_a_result_is_an_error_naming_the_file(data, tmp_path):
    result = train_seeds(data, TrainSettings(arch="canonical", variant="preinit", **TINY), [0], progress=False)[0]
    write_result(result, tmp_path)
    path = tmp_path / "history.parquet"
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    meta[b"bvae"] = meta[b"bvae"].replace(b'"seed": 0', b'"seed": 1')
    pq.write_table(table.replace_schema_metadata(meta), path)
    message = rf"^{path}: its metadata does not match the checksum bvae stored with it \(damaged or edited\)"
    for read in (read_metadata, read_parquet):
        with pytest.raises(DataError, match=message):
            read(path)


# 14. Results a training cannot tell as its own.


def test_a_training_whose_final_file_is_gone_is_still_its_own(bits, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", str(bits), *CLI_TINY, "--out", str(out), "--no-progress"]
    assert main(args) == 0
    (out / "final.parquet").unlink()  # deleted, or a kill between the two renames
    assert main(args) == 0, capsys.readouterr().err
    assert (out / "final.parquet").exists()


@pytest.mark.parametrize("rows", [1, 0])
def test_an_unrelated_parquet_in_the_output_directory_is_named(bits, tmp_path, capsys, rows):
    out = tmp_path / "run"
    out.mkdir()
    pd.DataFrame({"x": range(rows)}).to_parquet(out / "final.parquet")
    assert main(["train", str(bits), *CLI_TINY, "--out", str(out), "--no-progress"]) == 2
    assert f"{out}: holds final.parquet, not of this training" in one_line_error(capsys)


def with_metadata(path, changes: dict):
    """Rewrite the Parquet file `path` with its key-value metadata changed as by hand (no bvae checksum)."""
    table = pq.read_table(path)
    meta = {k: v for k, v in table.schema.metadata.items() if k != b"bvae.sha256"}
    pq.write_table(table.replace_schema_metadata({**meta, **changes}), path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"d": "20"}, "its recorded generating settings give d = '20'; expected an integer"),
        ({"block": None}, "its recorded generating settings give block = None; expected an integer"),
        ({"score_sd": [1e6, 1e6]}, "its recorded generating settings give score_sd = [1000000.0, 1000000.0]; expected"),
    ],
)
def test_recorded_settings_of_the_wrong_kind_are_one_line(data, tmp_path, capsys, change, message):
    path = tmp_path / "sim.parquet"
    write_dataset(data, path)
    meta = read_metadata(path)
    with_metadata(path, {b"bvae": json.dumps({**meta, "settings": {**meta["settings"], **change}}).encode()})
    assert main(["bound", str(path)]) == 2
    assert f"bvae: error: dataset sim: {message}" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({b"bvae": b"{not json"}, "its bvae metadata is not JSON (Expecting property name"),
        ({b"bvae": b"\xff\xfe"}, "its bvae metadata is not JSON ("),
        ({b"bvae": b"[1, 2]"}, "its bvae metadata is [1, 2]; expected a mapping"),
        ({b"pandas": b"{not json"}, "its pandas metadata is damaged (JSONDecodeError: "),
        ({b"pandas": b'{"columns": null}'}, "its pandas metadata is damaged (KeyError: 'index_columns')"),
    ],
)
def test_damaged_metadata_is_one_line_naming_the_file(data, tmp_path, capsys, change, message):
    path = tmp_path / "sim.parquet"
    write_dataset(data, path)
    with_metadata(path, change)
    assert main(["bound", str(path)]) == 2
    assert f"bvae: error: {path}: {message}" in one_line_error(capsys)
