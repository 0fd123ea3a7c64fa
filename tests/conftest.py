"""Shared fixtures: a copy of the workflow with its own package source, run once on the tiny config."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bvae.report.document import Table, from_markdown
from bvae.study.archive import archive_root

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(workdir / "src")}  # the copy's package, so edits there count
    return subprocess.run([*SNAKEMAKE, *args], cwd=workdir, env=env, capture_output=True, text=True)


def job_counts(output: str) -> dict[str, int]:
    """{rule: jobs} from the 'Job stats' table of a (dry) run."""
    block = output.split("Job stats:")[-1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", block, re.M) if m[1] != "total"}


def copy_workflow(dest: Path) -> Path:
    for name in ("Snakefile", "config.yaml", "workflow", "envs", "src", ".test", "config", "profiles"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, dest / name)
    return dest


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The tiny config run to completion once in a copy of the workflow."""
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    run = snakemake(workdir, "--cores", "2", "--configfile", ".test/config.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


@pytest.fixture(scope="session")
def archived(tiny, tmp_path_factory):
    """The tiny study's trainings archived once (copy it before changing it)."""
    archive = tmp_path_factory.mktemp("archive") / "reference"
    archive_root(tiny / "results" / "test", archive)
    return archive


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table of a Markdown text as (header, rows); reading it fails if the delimiter line or a row has
    another number of cells than the header (a renderer would shift the values of such a row)."""
    return [(list(b.header), [list(row) for row in b.rows]) for b in from_markdown(text) if isinstance(b, Table)]
