"""Nothing read two ways silently, nothing a user made overwritten, and the memory a computation needs
estimated before it allocates (the `bvae` commands and the library; config errors: tests/test_config.py)."""

import dataclasses
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import bvae.io as io
import bvae.model.bound as bound_module
import bvae.model.resources as resources
import bvae.training.train as train_module
from bvae.cli import main
from bvae.data.binary import load_binary
from bvae.data.simulate import SimSettings, simulate
from bvae.errors import DataError, OutputError
from bvae.io import lock_results, read_parquet
from bvae.model.resources import bound_bytes, gib, train_bytes
from bvae.training.checkpoint import checkpoint_key
from bvae.training.train import TrainSettings, train_seeds
from tests.test_reliability import CLI_TINY, TINY, device, no_training, one_line_error

X = (np.random.default_rng(5).random((40, 5)) < 0.5).astype(int)  # 40 rows; the first one is data
TRAIN = ["--arch", "deep", "--variant", "preinit", *CLI_TINY, "--no-progress"]


@pytest.fixture(scope="module")
def data():
    return simulate(SimSettings(d=20, N=300, block=5, seed=1))


@pytest.fixture
def bits(tmp_path):
    """60 × 12 random bits as a Parquet file without a split column."""
    x = (np.random.default_rng(0).random((60, 12)) < 0.4).astype(np.uint8)
    pd.DataFrame(x, columns=[f"c{j}" for j in range(12)]).to_parquet(tmp_path / "bits.parquet")
    return tmp_path / "bits.parquet"


def rows(data) -> list:
    return sorted(map(tuple, np.vstack([data.train, data.test]).tolist()))


# Case 1: a header-less CSV lost its first row when it began with a byte-order mark or spelled bits true/false.
@pytest.mark.parametrize(
    ("encoding", "spell"),
    [("utf-8-sig", str), ("utf-8", lambda v: "true" if v else "false"), ("utf-8", lambda v: "TRUE" if v else "FALSE")],
)
def test_headerless_csv_keeps_its_first_row(tmp_path, capsys, encoding, spell):
    path = tmp_path / "raw.csv"
    path.write_text("".join(",".join(map(spell, row)) + "\n" for row in X), encoding=encoding)
    data = load_binary(path)
    assert data.n == 40 and data.columns == tuple(f"x{j}" for j in range(5)) and rows(data) == sorted(map(tuple, X))
    assert main(["bound", str(path)]) == 0
    assert "n_train = 27, n_test = 13" in capsys.readouterr().out  # round(0.33 · 40) = 13 of all 40 rows


def test_a_header_with_a_byte_order_mark_keeps_its_first_name(tmp_path):
    (tmp_path / "h.csv").write_text("a,b,c\n" + "".join(",".join(map(str, r)) + "\n" for r in X[:, :3]), "utf-8-sig")
    assert load_binary(tmp_path / "h.csv").columns == ("a", "b", "c")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "0,2,1\n1,0,1\n0,0,1\n1,1,0\n",
            r"value 2 at row 1 \(counting data rows from 1\), column 'x1'",
        ),  # not a header
        ("a,a,b\n0,1,1\n1,0,1\n0,0,1\n1,1,0\n", r"column name 'a' appears twice in the header; expected distinct"),
        # pandas' to_csv writes its row index by default, under an empty name that read_csv calls "Unnamed: 0"
        (",a,b\n0,0,1\n1,1,0\n2,0,1\n3,1,0\n", r"column 1 has no name in the header \(a row index"),
        (",0,1\n0,0,1\n1,1,0\n2,0,1\n3,1,0\n", r"column 1 has no name in the header \(a row index"),
        ("0;1;1\n1;0;1\n0;0;1\n1;1;0\n", r"its first line '0;1;1' has no comma but ';'; expected comma-separated"),
    ],
)
def test_a_first_row_is_never_dropped_nor_a_name_changed(tmp_path, content, message):
    (tmp_path / "f.csv").write_text(content)
    with pytest.raises(DataError, match=rf"^{tmp_path / 'f.csv'}: {message}"):
        load_binary(tmp_path / "f.csv")


# Case 3: checkpoint_every, which results do not depend on, was part of the checkpoint key.
def test_checkpoint_every_neither_changes_nor_invalidates_a_training(data, tmp_path, monkeypatch, capsys):
    every1 = TrainSettings(arch="deep", variant="vanilla", **{**TINY, "epochs": 4, "checkpoint_every": 1})
    every3 = dataclasses.replace(every1, checkpoint_every=3)
    assert checkpoint_key(data, every1, [0]) == checkpoint_key(data, every3, [0])
    assert checkpoint_key(data, every1, [0]) != checkpoint_key(data, dataclasses.replace(every1, epochs=5), [0])
    fresh = train_seeds(data, every1, [0], progress=False)[0]
    real_epoch, epochs = train_module.run_epoch, []

    def counted_epoch(*args):
        epochs.append(1)
        if len(epochs) == 3:  # dies in epoch 3, after epoch 2's checkpoint
            raise KeyboardInterrupt
        return real_epoch(*args)

    monkeypatch.setattr(train_module, "run_epoch", counted_epoch)
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        train_seeds(data, every1, [0], checkpoint=ckpt, progress=False)
    epochs.clear()
    capsys.readouterr()
    resumed = train_seeds(data, every3, [0], checkpoint=ckpt, progress=False)[0]
    assert len(epochs) == 2  # epochs 3 and 4 only: resumed, not started over
    assert capsys.readouterr().err == f"bvae: note: {ckpt} holds this training after epoch 2 of 4: it resumes there\n"
    pd.testing.assert_frame_equal(resumed.history.drop(columns="seconds"), fresh.history.drop(columns="seconds"))


# Case 4: `bvae train --out DIR` overwrote another training's results and deleted its unfinished checkpoint.
def test_train_never_overwrites_another_trainings_results(bits, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(bits), *TRAIN, "--seed", "0", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["train", str(bits), *TRAIN, "--seed", "1", "--out", str(out)]) == 2
    assert one_line_error(capsys) == (
        f"bvae: error: {out}: holds the results of another training (bits deep preinit seed 0, 2 epochs); other data, "
        "settings, seeds or numerics version: choose another output directory, or replace it (bvae train --force)"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main(["train", str(bits), *TRAIN, "--seed", "0", "--out", str(out)]) == 0  # the same training: fine
    assert main(["train", str(bits), *TRAIN, "--seed", "1", "--out", str(out), "--force"]) == 0
    assert read_parquet(out / "final.parquet")["seed"].tolist() == [1]


def test_a_user_file_where_train_writes_is_kept(bits, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "loss.png").write_bytes(b"my own figure")
    assert main(["train", str(bits), *TRAIN, "--out", str(out)]) == 2
    assert f"{out}: holds loss.png, not of this training; choose another" in one_line_error(capsys)
    assert (out / "loss.png").read_bytes() == b"my own figure"


def test_train_never_replaces_an_unfinished_checkpoint_of_another_training(bits, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    args = ["train", str(bits), "--latent-dim", "2", "--hidden", "8", "--checkpoint-every", "1", "--out", str(out)]
    args += ["--no-progress", "--epochs", "3"]
    real_epoch, calls = train_module.run_epoch, []

    def dying_epoch(*a):
        calls.append(1)
        if len(calls) == 2:  # after epoch 1's checkpoint
            raise KeyboardInterrupt
        return real_epoch(*a)

    monkeypatch.setattr(train_module, "run_epoch", dying_epoch)
    assert main(args) == 130
    capsys.readouterr()
    saved = (out / "checkpoint.pt").read_bytes()
    monkeypatch.setattr(train_module, "run_epoch", no_training)
    assert main([*args, "--lr", "0.01"]) == 2
    assert one_line_error(capsys) == (
        f"bvae: error: {out / 'checkpoint.pt'}: holds the checkpoint of another training (bits deep preinit seeds "
        "0..0, 3 epochs, unfinished: epoch 1); other data, settings, seeds or numerics version: choose another output "
        "directory, or replace it (bvae train --force)"
    )
    assert (out / "checkpoint.pt").read_bytes() == saved
    calls.clear()
    monkeypatch.setattr(train_module, "run_epoch", lambda *a: calls.append(1) or real_epoch(*a))
    assert main(args) == 0 and len(calls) == 2  # the same training resumes after epoch 1


# Case 5: a split column that is not there gave a random split without a word.
def test_a_split_column_that_is_not_there_is_an_error(bits, tmp_path, capsys):
    assert main(["bound", str(bits), "--split-column", "fold"]) == 2
    assert one_line_error(capsys) == (
        f"bvae: error: {bits}: has no split column 'fold' (it has columns c0, c1, c2, c3, c4, c5, c6, c7, …); "
        "expected a train/test column"
    )
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(DataError, match=r"has no split column 'fold' \(it has arrays, no columns\)"):
        load_binary(tmp_path / "x.npy", split_column="fold")
    assert load_binary(bits).n_test == 20  # the default column `split` may be absent: a random split


# Case 6: a 6 × 100,000 CSV or --hidden 100000 100000 died in the allocator, or took the machine's memory.
def test_memory_is_estimated_before_allocating(bits, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 2**31)

    def no_allocation(*args):
        raise AssertionError("allocated although it cannot fit")

    monkeypatch.setattr(bound_module, "rescale", no_allocation)
    monkeypatch.setattr(train_module, "build", no_allocation)
    wide = tmp_path / "wide.csv"
    np.savetxt(wide, np.eye(6, 100_000, dtype=np.uint8), fmt="%d", delimiter=",")
    assert main(["bound", str(wide)]) == 2
    assert one_line_error(capsys) == (
        f"bvae: error: the bound of d = 100000 columns (d × d matrices) needs about {gib(bound_bytes(100_000, 6))} "
        "of memory (estimated) but 2 GiB is available"
    )
    assert main(["train", str(bits), "--hidden", "100000", "100000", "--out", str(tmp_path / "run")]) == 2
    need = gib(train_bytes("deep", 12, 40, 20, 2, (100_000, 100_000)))
    assert one_line_error(capsys) == (
        f"bvae: error: training deep at d = 12, hidden = [100000, 100000] with 1 seed needs about {need} of memory "
        "(estimated) but 2 GiB is available"
    )
    assert not (tmp_path / "run").exists()


def test_available_memory_is_read_from_the_system():
    free = resources.available_memory()
    assert free is None or 0 < free < os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


# Case 12: messages that named the wrong problem or none.
def test_what_is_not_a_regular_file_is_named(tmp_path):
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "zero.csv").symlink_to(device(tmp_path / "zero", 5))  # like /dev/zero, which never ends
    (tmp_path / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    for name, message in [
        ("fifo.csv", "is a named pipe (FIFO); expected a regular data file"),
        ("zero.csv", f"is a character device (through the symbolic link to '{tmp_path / 'zero'}'); expected a regular"),
        ("gone.csv", f"no such file (a symbolic link to '{tmp_path / 'nowhere.csv'}', which does not exist)"),
    ]:
        with pytest.raises(DataError, match="^" + re.escape(f"{tmp_path / name}: {message}")):
            load_binary(tmp_path / name)


def test_a_missing_or_textual_value_names_its_row_and_column(tmp_path):
    frame = pd.DataFrame({"a": pd.array([1, 0, None, 1], dtype="Int64"), "b": [0, 1, 1, 0]})
    frame.to_parquet(tmp_path / "na.parquet")
    with pytest.raises(DataError, match=r"missing value at row 3 \(counting data rows from 1\), column 'a'; expected"):
        load_binary(tmp_path / "na.parquet")
    frame.assign(a=["1", "0", "1", "0"]).to_parquet(tmp_path / "text.parquet")
    with pytest.raises(
        DataError, match=r"value '1' at row 1 \(counting data rows from 1\), column 'a' is not a number"
    ):
        load_binary(tmp_path / "text.parquet")
    np.save(tmp_path / "text.npy", X.astype(str))
    with pytest.raises(DataError, match=r"holds values of type <U21; expected the numbers 0 and 1"):
        load_binary(tmp_path / "text.npy")
    frame.assign(a=pd.array([1, 0, 0, 1], dtype="Int64"), b=[True, False, True, False]).to_parquet(
        tmp_path / "ok.parquet"
    )
    assert load_binary(tmp_path / "ok.parquet", test_fraction=0.5).n == 4  # nullable integers and booleans are bits


# Case 13: outputs that overwrote inputs.
def test_no_command_writes_over_its_input(bits, tmp_path, capsys):
    mine = tmp_path / "x.csv"
    mine.write_text("my data\n")
    assert main(["example", "digits", str(mine)]) == 2
    assert one_line_error(capsys) == f"bvae: error: {mine}: expected a path ending in .parquet (the file is Parquet)"
    assert main(["example", "digits", str(bits)]) == 2
    assert one_line_error(capsys) == (
        f"bvae: error: {bits}: exists and is not the digits example; remove it or choose another path"
    )
    assert mine.read_text() == "my data\n" and len(read_parquet(bits)) == 60
    for option in ("--json", "--scree"):
        assert main(["bound", str(bits), option, str(bits)]) == 2
        assert one_line_error(capsys) == (
            f"bvae: error: {bits}: {option} would write over the input file {bits}; expected a path of its own"
        )
    both = tmp_path / "b.png"
    assert main(["bound", str(bits), "--scree", str(both), "--json", str(both)]) == 2
    assert "--json would write over the output of --scree" in one_line_error(capsys)
    assert main(["bound", str(bits), "--scree", str(tmp_path / "scree.pdf")]) == 2  # it would be a PNG
    assert one_line_error(capsys).endswith("scree.pdf: expected a path ending in .png (the file is a PNG image)")
    out = tmp_path / "o"
    out.mkdir()
    (out / "final.parquet").write_bytes(bits.read_bytes())
    assert main(["train", str(out / "final.parquet"), *TRAIN, "--out", str(out)]) == 2
    assert "--out would write over the input file" in one_line_error(capsys)
    assert len(read_parquet(out / "final.parquet")) == 60


def test_calibration_outputs_are_named_for_what_they_hold(tmp_path, capsys):
    """`bvae calibration` reads every final.parquet under its root: no output of it can take such a name."""
    final = tmp_path / "runs" / "p" / "final.parquet"
    final.parent.mkdir(parents=True)
    final.write_bytes(b"a run's results")
    for option, suffix, kind in (("--out", ".md", "Markdown"), ("--claims", ".md", "Markdown"),
                                 ("--comparison", ".png", "a PNG image")):  # fmt: skip
        assert main(["calibration", str(tmp_path), option, str(final)]) == 2
        assert one_line_error(capsys).endswith(f"{final}: expected a path ending in {suffix} (the file is {kind})")
    summary = str(tmp_path / "s.md")
    assert main(["calibration", str(tmp_path), "--out", summary, "--claims", summary]) == 2
    assert "--claims would write over the output of --out" in one_line_error(capsys)
    assert final.read_bytes() == b"a run's results"


def test_an_example_is_rewritten_over_itself_only(tmp_path, capsys):
    path = tmp_path / "digits.parquet"
    assert main(["example", "digits", str(path)]) == 0
    assert main(["example", "digits", str(path)]) == 0  # the same example again


def test_an_empty_path_is_not_the_current_directory(bits, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["train", str(bits), *TRAIN, "--out", ""])
    assert exit.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "bvae train: error: argument --out: an empty path; expected a file or directory name"
    )


# Case 14: an option given twice, or with its hidden alias, took the last value silently.
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bound", "{bits}", "--split-seed", "2", "--seed", "1"], "argument --seed: conflicts with --split-seed"),
        (["bound", "{bits}", "--latent-dim", "2", "--latent-dim", "3"], "argument --latent-dim: given twice"),
        (["train", "{bits}", "--out", "o", "--lr", "0.1", "--lr", "0.2"], "argument --lr: given twice"),
    ],
)
def test_an_option_given_twice_is_refused(bits, capsys, args, message):
    with pytest.raises(SystemExit) as exit:
        main([arg.format(bits=bits) for arg in args])
    assert exit.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: {message}; give it once")


# Case 8 (the workflow test is in tests/test_workflow.py): the output root's lock.
def test_the_results_lock_is_held_by_one_process_and_ends_with_it(tmp_path, monkeypatch):
    code = "import sys, time; from bvae.io import lock_results; lock_results(sys.argv[1]); print('locked', flush=True)"
    holder = subprocess.Popen([sys.executable, "-c", code + "; time.sleep(600)", str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        message = rf"^{tmp_path}: another run is writing this output root \(pid {holder.pid} on .+ in {os.getcwd()}\)"
        with pytest.raises(OutputError, match=message):
            lock_results(tmp_path)
    finally:
        holder.kill()  # SIGKILL: nothing of its own runs to release the lock
        holder.wait()
    monkeypatch.setattr(io, "_held_locks", [])
    lock_results(tmp_path)  # the lock ended with its process
    assert f"pid {os.getpid()} on " in (tmp_path / ".bvae.lock").read_text()
    io._held_locks[0].close()
