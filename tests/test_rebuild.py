"""The documented rebuild of the reference run (docs/reference.md) trains nothing, on a fresh clone and after an edit
of the training code that changes no number: `archived_only` restores what the archive holds and leaves the rest out."""

import shutil

import pytest

from tests.conftest import ROOT, copy_workflow, job_counts, snakemake

REBUILD = ("--configfile", "config/reference.yaml")  # as docs/reference.md gives it
RESTORED = "results/reference/runs/calibrated/d200_N100/deep/vanilla/seed0/final.parquet"


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """The workflow and the committed archive, as a fresh clone has them."""
    workdir = copy_workflow(tmp_path_factory.mktemp("clone"))
    shutil.copytree(ROOT / "reference", workdir / "reference")
    return workdir


def planned(workdir, *targets):
    run = snakemake(workdir, "-n", "--quiet", "rules", *REBUILD, *(("--", *targets) if targets else ()))
    assert run.returncode == 0, run.stderr[-3000:]
    return job_counts(run.stdout)


def test_the_documented_rebuild_trains_nothing_even_after_an_edit_that_changes_no_number(clone):
    """One stack restored for real, then a docstring of the training code edited: the restored stack is up to date
    and the whole rebuild restores the rest and trains nothing (a dry run from what a fresh clone has)."""
    run = snakemake(clone, "--cores", "1", *REBUILD, "--", RESTORED)
    assert run.returncode == 0, run.stderr[-3000:]
    train = clone / "src" / "bvae" / "training" / "train.py"
    train.write_text(train.read_text().replace('"""', '"""Edited: ', 1))
    assert planned(clone, RESTORED) == {}  # nothing to do: restored, not rerun
    jobs = planned(clone)
    assert not [rule for rule in jobs if rule.startswith("train_")]
    assert sum(n for rule, n in jobs.items() if rule.startswith("restore_")) > 100
