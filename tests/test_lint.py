"""The linters CI runs, each clean: the README's test command (`ruff check . && pytest`) stays what .ci/run runs, and
these run inside pytest. `ruff check` itself runs before pytest."""

import subprocess
import sys

from tests.conftest import ROOT, copy_workflow, snakemake


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_python_is_formatted():
    done = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_snakemake_rules_are_formatted():
    done = run(sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow/rules")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_package_type_checks():
    done = run(sys.executable, "-m", "mypy")  # files and settings: pyproject.toml's [tool.mypy]
    assert done.returncode == 0, done.stdout + done.stderr


def test_snakemake_lint_finds_nothing_on_the_test_config(tmp_path):
    """Snakemake's linter: every script reads only what its rule declares, no lambdas in rules, logs everywhere."""
    done = snakemake(copy_workflow(tmp_path), "--lint", "--configfile", ".test/config.yaml")
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Lints for" not in output, output[-4000:]
