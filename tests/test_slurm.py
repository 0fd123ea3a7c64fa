"""The tiny config through the SLURM profile on a real (local) SLURM; skipped where no controller answers.

`.ci/slurm.sh up` installs Debian's slurm-wlm and starts a single-node cluster of its own for this test, which the
clients reach through `SLURM_CONF` (.ci/run exports it); `.ci/slurm.sh down` stops only what `up` started.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bvae.report.tables import TABLES
from tests.conftest import ROOT, copy_workflow, snakemake


def slurm_available() -> bool:
    if shutil.which("sbatch") is None or shutil.which("scontrol") is None:
        return False
    return subprocess.run(["scontrol", "ping"], capture_output=True, text=True).stdout.count("UP") > 0


def keep_slurm_conf_in_jobs(bindir: Path, monkeypatch) -> None:
    """Put a SLURM_CONF given to Snakemake back into the `srun` its jobs start.

    The jobstep plugin (snakemake-executor-plugin-slurm-jobstep 0.6) drops every SLURM_* variable but the job's
    identity from the environment of the srun it runs inside each job, SLURM_CONF too, so on a cluster found
    through SLURM_CONF that srun would read /etc/slurm/slurm.conf. A wrapper first on PATH (which jobs inherit)
    restores it; where no SLURM_CONF is set, the default configuration serves both sides and nothing changes.
    """
    if conf := os.environ.get("SLURM_CONF"):
        bindir.mkdir()
        wrapper = bindir / "srun"
        wrapper.write_text(f"#!/bin/sh\nSLURM_CONF='{conf}' exec '{shutil.which('srun')}' \"$@\"\n")
        wrapper.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def named_slurmd(tmp_path: Path, env: dict) -> subprocess.Popen:
    """A stand-in process whose name is `slurmd`."""
    exe = tmp_path / "slurmd"
    if not exe.exists():
        shutil.copy(shutil.which("sleep"), exe)
    return subprocess.Popen([exe, "120"], env=env)


def test_slurm_sh_down_stops_only_the_daemons_it_started(tmp_path):
    """No killing by name: a slurmd that `up` did not start survives, even if a stale pid file names it."""
    own = tmp_path / "cluster"
    own.mkdir()
    env = {**os.environ, "BVAE_SLURM_DIR": str(own)}
    stranger = named_slurmd(tmp_path, {**os.environ, "SLURM_CONF": "/etc/slurm/slurm.conf"})
    started = named_slurmd(tmp_path, {**os.environ, "SLURM_CONF": str(own / "slurm.conf")})  # as `up` starts it
    try:
        for pid, stopped in ((stranger.pid, False), (started.pid, True)):
            (own / "slurmd.pid").write_text(f"{pid}\n")
            down = subprocess.run(["bash", ROOT / ".ci" / "slurm.sh", "down"], env=env, capture_output=True, timeout=60)
            assert down.returncode == 0
            assert (started.poll() is not None) == stopped and stranger.poll() is None
    finally:
        for process in (stranger, started):
            process.kill()
            process.wait()


@pytest.mark.skipif(not slurm_available(), reason="no SLURM controller answers `scontrol ping`")
def test_tiny_study_on_slurm_matches_local(tmp_path, tiny, monkeypatch):
    keep_slurm_conf_in_jobs(tmp_path / "bin", monkeypatch)
    (workdir := tmp_path / "workflow").mkdir()
    copy_workflow(workdir)
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
    tables = "results/test/tables/spec"
    runs = pd.read_parquet(workdir / tables / "runs.parquet")
    assert runs["slurm_job_id"].notna().all() and (runs["slurm_job_id"].str.len() > 0).all()
    for spec in TABLES:
        on_slurm = pd.read_parquet(workdir / tables / f"{spec.name}.parquet")
        local = pd.read_parquet(tiny / tables / f"{spec.name}.parquet")
        pd.testing.assert_frame_equal(on_slurm, local, check_exact=True)
