"""One owner per output, for every writer: restore, archive, `bvae answer`, training. The same locks, atomic
replacement that never leaves a moment without the old or the new, no write onto one's own inputs, no link followed
at any level, and no process that lost ownership ever writes."""

import os
import shutil
import signal
import threading
import time

import pandas as pd
import pytest
import yaml

import bvae.io
from bvae.cli import main
from bvae.errors import ConfigError, OutputError
from bvae.io import Claim, read_metadata, read_parquet, write_parquet
from bvae.study.archive import FILES, archive_root, read_archive, read_index, record_identity, restore_job
from bvae.study.config import check_config
from tests.conftest import ROOT, copy_workflow, snakemake
from tests.test_reliability import ends_by, kill_snakemake, one_line_error, orphan_pid, running

CELL = ("spec", "d24_N100", "deep", "vanilla")
RUN = "runs/spec/d24_N100/deep/vanilla"


def study_with(tiny, root, seeds=(0, 1)):
    """An output root holding the tiny study's d24_N100 deep vanilla seeds `seeds` and the dataset."""
    for seed in seeds:
        shutil.copytree(tiny / "results/test" / RUN / f"seed{seed}", root / RUN / f"seed{seed}")
    shutil.copytree(tiny / "results/test/datasets", root / "datasets")
    return root


# The restore takes its directories over, as a training job does.


def test_an_orphaned_training_does_not_overwrite_what_a_rerun_restored(archived, tmp_path):
    """Snakemake killed during a long training, unlocked and rerun with the archive: the orphan wrote its own record
    over the restored one, and `snakemake -n` then had nothing to do."""
    workdir = copy_workflow(tmp_path)
    target = f"results/test/{RUN}/seed0/final.parquet"
    lock = (workdir / target).parent / ".bvae.lock"
    config = ["--configfile", ".test/config.yaml", "--config"]
    deadline = kill_snakemake(workdir, target, [*config, "epochs=100000"], lock)
    orphan = orphan_pid(lock)
    try:
        assert running(orphan)
        assert snakemake(workdir, "--unlock", *config, f"archive={archived}").returncode == 0
        rerun = snakemake(workdir, "--cores", "1", target, *config, f"archive={archived}")
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert "restore_deep" in rerun.stderr
        assert ends_by(orphan, deadline), "the orphaned training goes on after the restore took its directory over"
    finally:
        if running(orphan):
            os.kill(orphan, signal.SIGKILL)
    assert read_parquet(workdir / target)["epochs"].iloc[0] == 3
    assert read_metadata(workdir / target)["restored_from"] == str(archived.joinpath(*CELL))
    assert not lock.exists()


def test_a_writer_that_lost_its_directory_writes_nothing_over_a_restore(tiny, archived, tmp_path, capsys):
    out, dataset = tmp_path / "seed0", tiny / "results/test/datasets/d24_N100.parquet"
    identity = record_identity(read_parquet(tiny / "results/test" / RUN / "seed0" / "final.parquet").iloc[0])
    with Claim([out]) as orphan:
        restore_job(archived, [archived.joinpath(*CELL)], [identity], [out], dataset, tmp_path)
        assert "taken over from a training of an earlier run" in capsys.readouterr().err
        with pytest.raises(OutputError, match=f"^{out}: a later run took this training's output directory over"):
            write_parquet(pd.DataFrame({"epochs": [100000]}), out / "final.parquet", owner=orphan)
    assert read_parquet(out / "final.parquet")["epochs"].iloc[0] == 3


def test_a_write_checked_before_a_take_over_ends_before_the_new_owners_write(tmp_path, monkeypatch):
    """Check and rename are one step under the directory's lock: the old owner's rename, begun before the take-over,
    cannot land after the new owner's write."""
    out, checked, taken = tmp_path / "run", threading.Event(), threading.Event()
    with Claim([out]) as orphan:
        real_replace = os.replace

        def slow_replace(source, target):  # the orphan, checked, is descheduled just before its rename
            if threading.current_thread().name == "orphan":
                checked.set()
                taken.wait(5)
                time.sleep(0.3)
            real_replace(source, target)

        monkeypatch.setattr(bvae.io.os, "replace", slow_replace)
        writer = threading.Thread(
            name="orphan", target=write_parquet, args=(pd.DataFrame({"who": ["orphan"]}), out / "final.parquet"),
            kwargs={"owner": orphan},
        )  # fmt: skip
        writer.start()
        assert checked.wait(5)
        with Claim([out], take_over=True) as owner:
            taken.set()
            write_parquet(pd.DataFrame({"who": ["owner"]}), out / "final.parquet", owner=owner)
        writer.join()
    assert read_parquet(out / "final.parquet")["who"].tolist() == ["owner"]


# The archive: one writer at a time, and no moment without the old records or the new ones.


def test_a_second_archive_writer_is_refused(tiny, tmp_path, capsys):
    root, archive = study_with(tiny, tmp_path / "results"), tmp_path / "archive"
    with Claim([archive], writer="bvae archive"):
        assert main(["archive", str(root), str(archive)]) == 2
        assert f"{archive}: another bvae archive is writing here (pid {os.getpid()} on " in one_line_error(capsys)
    assert sorted(p.name for p in archive.iterdir()) == []  # its lock went with it; nothing written


@pytest.mark.parametrize("killed_at", [2, 3])  # the rename of final.parquet, the history's second rename
def test_a_kill_between_the_renames_of_an_archive_update_loses_no_record(tiny, tmp_path, monkeypatch, killed_at):
    """final.parquet was unlinked before the new pair was renamed in: a kill there lost the cell's records."""
    root, archive = study_with(tiny, tmp_path / "results"), tmp_path / "archive"
    shutil.move(root / RUN / "seed1", tmp_path / "seed1")  # seed 1 comes later
    archive_root(root, archive)
    shutil.move(tmp_path / "seed1", root / RUN / "seed1")
    seed0 = root / RUN / "seed0" / "final.parquet"  # retrained with another lr (another key): replaced
    write_parquet(read_parquet(seed0).assign(lr=0.5), seed0, {**read_metadata(seed0), "training": "retrained"})
    renames, real_replace = [], os.replace

    def killed(source, target):
        renames.append(target)
        if len(renames) == killed_at:
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(bvae.io.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        archive_root(root, archive, replace=True)
    monkeypatch.setattr(bvae.io.os, "replace", real_replace)
    finals, histories = read_archive(archive)  # every record with its whole history, the old or the new
    assert len(histories) == 3 * len(finals)
    archive_root(root, archive, replace=True)
    finals, histories = read_archive(archive)
    assert finals.set_index("seed")["lr"].to_dict() == {0: 0.5, 1: 0.001}
    assert len(read_parquet(archive.joinpath(*CELL) / FILES[0])) == 2 * 3  # no row left of the replaced record


def test_a_killed_archive_writers_temporaries_are_removed(tiny, tmp_path):
    root, archive = study_with(tiny, tmp_path / "results"), tmp_path / "archive"
    archive_root(root, archive)
    cell = archive.joinpath(*CELL)
    stale = [cell / ".history.parquet.0123456789ab.tmp", cell / ".final.parquet.ba9876543210.tmp"]
    for path in stale:
        path.write_bytes(b"half")
    archive_root(root, archive)
    assert not any(path.exists() for path in stale)


# No write onto one's own inputs.


@pytest.mark.parametrize("option", ["--out", "--claims"])
def test_the_answer_never_writes_over_its_readme(tmp_path, capsys, option):
    """`bvae answer --readme X.md --out X.md` replaced the README with the summary, exit 0."""
    readme = tmp_path / "X.md"
    shutil.copy(ROOT / "README.md", readme)
    before = readme.read_text()
    assert main(["answer", str(ROOT / "reference"), "--readme", str(readme), option, str(readme)]) == 2
    assert f"{readme}: {option} would write over the input file {readme}" in one_line_error(capsys)
    assert readme.read_text() == before


def test_a_readme_without_the_answer_block_is_one_line_before_any_work(tmp_path, capsys):
    """A ValueError traceback, after the whole answer was computed, before."""
    readme = tmp_path / "plain.md"
    readme.write_text("# a README without the markers\n")
    started = time.monotonic()
    assert main(["answer", str(ROOT / "reference"), "--readme", str(readme)]) == 2
    assert f"{readme}: holds no answer block (<!-- answer:begin --> then" in one_line_error(capsys)
    assert time.monotonic() - started < 5 and readme.read_text() == "# a README without the markers\n"


@pytest.mark.parametrize("results", ["{archive}", "{archive}/study", "{archive}/.."])
def test_a_study_writing_into_its_own_archive_is_refused(archived, results):
    config = {**yaml.safe_load((ROOT / ".test/config.yaml").read_text()), "archive": str(archived)}
    config["results"] = results.format(archive=archived)
    with pytest.raises(ConfigError, match=r"lie one inside the other; expected an archive apart from the output root"):
        check_config(config, ROOT / "workflow/schemas/config.schema.yaml")


def test_an_archive_inside_the_study_it_archives_is_refused(tiny, tmp_path, capsys):
    root = study_with(tiny, tmp_path / "results")
    assert main(["archive", str(root), str(root / "runs")]) == 2
    assert "lie one inside the other; expected an archive apart from the study it archives" in one_line_error(capsys)


# No link followed at any level of a path: directory links in archive cells and run directories.


@pytest.fixture
def victim(tmp_path):
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "precious.txt").write_text("precious\n")
    return folder


def test_a_directory_link_in_an_archive_cell_is_refused(tiny, tmp_path, victim, capsys):
    root, archive = study_with(tiny, tmp_path / "results"), tmp_path / "archive"
    archive.joinpath(*CELL[:-1]).mkdir(parents=True)
    archive.joinpath(*CELL).symlink_to(victim)
    assert main(["archive", str(root), str(archive)]) == 2
    assert f"{archive.joinpath(*CELL)}: is a symbolic link (to '{victim}')" in one_line_error(capsys)
    assert [p.name for p in victim.iterdir()] == ["precious.txt"]


def test_a_directory_link_above_an_archive_cell_is_refused_when_reading(archived, tmp_path, victim):
    archive = tmp_path / "archive"
    shutil.copytree(archived, archive)
    shutil.move(archive / "spec", victim / "spec")
    (archive / "spec").symlink_to(victim / "spec")
    with pytest.raises(OutputError, match=f"^{archive / 'spec'}: is a symbolic link"):
        read_index(archive)


@pytest.mark.parametrize("with_archive", [False, True])
def test_a_directory_link_in_a_run_directory_is_refused(archived, tmp_path, victim, with_archive):
    """A planted `runs/.../vanilla` link: training and restore wrote into its target before."""
    workdir = tmp_path / "workflow"
    workdir.mkdir()
    copy_workflow(workdir)
    target = f"results/test/{RUN}/seed0/final.parquet"
    (workdir / "results/test" / RUN).parent.mkdir(parents=True)
    (workdir / "results/test" / RUN).symlink_to(victim)
    archive = [f"archive={archived}"] if with_archive else []
    run = snakemake(workdir, "--cores", "1", target, "--configfile", ".test/config.yaml", "--config", *archive)
    assert run.returncode != 0
    job = "restore" if with_archive else "train"
    log = (workdir / f"results/test/logs/{job}/spec/d24_N100/deep/vanilla/seed0.log").read_text()
    assert f"results/test/{RUN}: is a symbolic link (to '{victim}'), which bvae did not make" in log
    written = [str(p.relative_to(victim)) for p in victim.rglob("*") if not p.is_dir()]
    assert written == ["precious.txt"]  # (Snakemake itself makes the output's folder seed0 there)
