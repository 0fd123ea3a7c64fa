"""The archive: a study's finished trainings kept apart, and restored by the workflow instead of trained again."""

import shutil

import pandas as pd
import pytest

from bvae.cli import main
from bvae.errors import DataError, OutputError
from bvae.io import read_metadata, read_parquet, write_parquet
from bvae.study.archive import archive_root, read_index, record_identity, restore
from tests.conftest import copy_workflow, job_counts, snakemake

RUN = "runs/spec/d24_N100/deep/vanilla/seed1"


def test_every_training_is_archived_once_and_again_adds_nothing(tiny, archived, capsys):
    index = read_index(archived)
    assert len(index) == 2 * 2 * 2 * 2 * 2  # protocols x datasets x archs x variants x seeds
    assert main(["archive", str(tiny / "results" / "test"), str(archived)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == f"{archived}: 0 trainings added, 32 already archived, in 16 cells"
    finals = pd.read_parquet(archived / "spec" / "d24_N100" / "deep" / "vanilla" / "final.parquet")
    assert finals["seed"].tolist() == [0, 1] and (finals["numerics"] == 1).all()
    assert {"training", "provenance", "data_definition", "data_sha256"} <= set(finals.columns)


def test_a_restored_training_equals_the_trained_one(tiny, archived, tmp_path):
    run = tiny / "results" / "test" / RUN
    final = pd.read_parquet(run / "final.parquet")
    dataset = tiny / "results" / "test" / "datasets" / "d24_N100.parquet"
    restore(archived / "spec" / "d24_N100" / "deep" / "vanilla", record_identity(final.iloc[0]), tmp_path, dataset)
    for name in ("final.parquet", "history.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / name), pd.read_parquet(run / name))
    meta, trained = read_metadata(tmp_path / "final.parquet"), read_metadata(run / "final.parquet")
    assert meta["training"] == trained["training"] and meta["provenance"] == trained["provenance"]


def test_a_seed_archived_with_other_settings_is_kept_unless_asked(tiny, archived, tmp_path):
    root = tmp_path / "results"
    shutil.copytree(tiny / "results" / "test" / RUN, root / RUN)
    final = pd.read_parquet(root / RUN / "final.parquet").assign(lr=0.5)  # as if trained with another lr
    write_parquet(final, root / RUN / "final.parquet", read_metadata(tiny / "results" / "test" / RUN / "final.parquet"))
    archive = tmp_path / "archive"
    shutil.copytree(archived, archive)
    with pytest.raises(OutputError, match="holds seed 1 trained with other data, settings or numerics than"):
        archive_root(root, archive)
    [update] = archive_root(root, archive, replace=True)
    assert update.added == [1]
    assert pd.read_parquet(update.cell / "final.parquet").set_index("seed")["lr"].to_dict() == {0: 0.001, 1: 0.5}


def test_a_training_without_numerics_version_is_refused(tiny, tmp_path):
    root = tmp_path / "results"
    shutil.copytree(tiny / "results" / "test" / RUN, root / RUN)
    final = pd.read_parquet(root / RUN / "final.parquet").drop(columns=["numerics"])
    write_parquet(final, root / RUN / "final.parquet")
    with pytest.raises(DataError, match="does not record its numerics version"):
        archive_root(root, tmp_path / "archive")
    assert not (tmp_path / "archive").exists()


def test_a_study_restores_what_the_archive_holds_and_trains_the_rest(tiny, archived, tmp_path):
    """With archive: the tiny study schedules no training, and its runs table equals the trained study's; a third
    seed, which the archive lacks, is trained."""
    workdir = copy_workflow(tmp_path)
    config = ["--configfile", ".test/config.yaml", "--config", f"archive={archived}"]
    counts = job_counts(snakemake(workdir, "-n", *config).stdout)
    assert counts["restore_deep"] == 16 and counts["restore_canonical_seeds0_1"] == 8  # a job per seed, per stack
    assert not [rule for rule in counts if rule.startswith("train_")]
    run = snakemake(workdir, "--cores", "2", "results/test/tables/spec/runs.parquet", *config)
    assert run.returncode == 0, run.stderr[-2000:]
    table = ("results", "test", "tables", "spec", "runs.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(workdir.joinpath(*table)), pd.read_parquet(tiny.joinpath(*table)))
    counts = job_counts(snakemake(workdir, "-n", *config, "seeds=3").stdout)
    trained = {rule: n for rule, n in counts.items() if rule.startswith("train_")}
    # deep: seed 2 of 2 datasets x 2 variants x 2 protocols; canonical: the stack {2} (stacks of 2 seeds) likewise
    assert trained == {"train_deep": 8, "train_canonical_seeds2_2": 8}


def test_a_rerun_that_differs_is_reported_with_how_far_it_lies(tiny, archived, tmp_path, capsys):
    """A rerun whose test loss and pct_test are off and whose history differs was "already archived", no difference
    reported (final_train_loss alone was compared)."""
    root, archive, cell = tmp_path / "results", tmp_path / "archive", "spec/d24_N100/deep/vanilla"
    shutil.copytree(archived, archive)
    shutil.copytree(tiny / "results" / "test" / RUN, root / RUN)
    final_path, history_path = root / RUN / "final.parquet", root / RUN / "history.parquet"
    final = read_parquet(final_path)
    loss, bound = final["final_test_loss"] + 0.8, final["bound_test"]  # a consistent record, off by 0.8 nats
    write_parquet(final.assign(final_test_loss=loss, pct_test=100 * (loss - bound) / bound), final_path,
                  read_metadata(final_path))  # fmt: skip
    history = read_parquet(history_path)
    history.loc[1, "test_loss"] += 0.5
    write_parquet(history, history_path, read_metadata(history_path))
    before = (archive / cell / "final.parquet").read_bytes()
    assert main(["archive", str(root), str(archive)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"{archive}: 0 trainings added, 0 already archived, 1 kept whose rerun differs, in 1 cells"
    [seed] = [line for line in out if line.startswith("  seed 1: the rerun differs from its record: final ")]
    assert "final_test_loss " in seed and " (+0.8, rel " in seed and "pct_test " in seed
    assert "final_train_loss" not in seed  # only what differs
    assert "; history first differs at epoch 2 of 3 (test_loss +0.5, rel " in seed
    assert (archive / cell / "final.parquet").read_bytes() == before  # the record is kept
