"""The tiny config through the SLURM profile on a real (local) SLURM; skipped where no controller answers.

`.ci/slurm.sh up` installs Debian's slurm-wlm and starts a single-node controller for this test.
"""

import shutil
import subprocess

import pandas as pd
import pytest

from bvae.tables import TABLES
from tests.conftest import copy_workflow, snakemake


def slurm_available() -> bool:
    if shutil.which("sbatch") is None or shutil.which("scontrol") is None:
        return False
    return subprocess.run(["scontrol", "ping"], capture_output=True, text=True).stdout.count("UP") > 0


pytestmark = pytest.mark.skipif(not slurm_available(), reason="no SLURM controller answers `scontrol ping`")


def test_tiny_study_on_slurm_matches_local(tmp_path, tiny):
    workdir = copy_workflow(tmp_path)
    run = snakemake(
        workdir,
        "--profile",
        "profiles/slurm",
        "--configfile",
        ".test/config.yaml",
        "--slurm-no-account",
        "--group-components",
        "train=2",
        "--jobs",
        "2",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--latency-wait",
        "5",
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    tables = "results/test/tables/paper"
    runs = pd.read_parquet(workdir / tables / "runs.parquet")
    assert runs["slurm_job_id"].notna().all() and (runs["slurm_job_id"].str.len() > 0).all()
    for spec in TABLES:
        on_slurm = pd.read_parquet(workdir / tables / f"{spec.name}.parquet")
        local = pd.read_parquet(tiny / tables / f"{spec.name}.parquet")
        pd.testing.assert_frame_equal(on_slurm, local, check_exact=True)
