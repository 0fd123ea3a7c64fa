"""Shared fixtures: a copy of the workflow with its own package source, run once on the tiny config."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def split_row(line: str) -> list[str]:
    """The cells of a Markdown table line (outer pipes dropped, escaped pipes kept in their cell)."""
    return [cell.strip().replace(r"\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table of a Markdown text as (header, rows), asserting that the delimiter line and every row have as
    many cells as the header: a renderer shifts the values of a row with one cell too many or too few."""
    lines, tables, i = text.splitlines(), [], 0
    while i < len(lines) - 1:
        if lines[i].startswith("|") and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip()):
            header, rows, i = split_row(lines[i]), [], i + 2
            assert len(split_row(lines[i - 1])) == len(header), f"delimiter of {header} has another cell count"
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(split_row(lines[i]))
                assert len(rows[-1]) == len(header), f"row {lines[i]!r} has {len(rows[-1])} cells, header {header}"
                i += 1
            tables.append((header, rows))
        else:
            i += 1
    return tables
