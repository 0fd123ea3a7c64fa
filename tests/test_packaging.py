"""Packaging: the conda environment for cluster nodes pins what pyproject.toml pins (torch above all: a CPU build,
2.13.0); every Python that torch 2.13.0 has wheels for may install the package; the metadata is current."""

import tomllib

import yaml
from packaging.specifiers import SpecifierSet

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
TORCH_WHEELS = range(10, 15)  # CPython 3.10 to 3.14 have torch 2.13.0 wheels on PyPI (3.15 has none)


def test_conda_env_has_the_same_pins_as_pyproject():
    project = PYPROJECT["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "envs" / "bvae.yaml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    runtime = {dep for dep in project if not dep.startswith("snakemake")}  # the nodes run jobs, not Snakemake
    assert runtime == {dep for dep in pip if not dep.startswith("--")}
    assert "torch==2.13.0" in pip and any("whl/cpu" in dep for dep in pip)


def test_the_workflow_parse_and_non_training_jobs_load_no_torch():
    """Snakemake parses common.smk (resources, study, fingerprints); table, claims and plot jobs write provenance: no
    torch."""
    import subprocess
    import sys

    code = (
        "import sys; import bvae.model.resources, bvae.study.plan, bvae.study.fingerprint, bvae.data.binary; "
        "import bvae.report.tables, bvae.report.comparison, bvae.report.claims, bvae.plots.claims; "
        "from bvae.io import provenance; assert provenance()['torch_version']; assert 'torch' not in sys.modules"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_every_python_with_a_torch_wheel_from_3_11_on_may_install():
    assert "torch==2.13.0" in PYPROJECT["project"]["dependencies"]  # TORCH_WHEELS is for this pin
    allowed = SpecifierSet(PYPROJECT["project"]["requires-python"])
    minors = [minor for minor in range(8, 17) if allowed.contains(f"3.{minor}.0")]
    assert minors == [minor for minor in TORCH_WHEELS if minor >= 11]
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py311"  # lint for the oldest allowed Python


def test_license_is_an_spdx_expression_with_a_setuptools_that_reads_it():
    assert PYPROJECT["project"]["license"] == "MIT"  # the TOML-table form is deprecated by setuptools
    assert "setuptools>=77" in PYPROJECT["build-system"]["requires"]  # 77: first to accept PEP 639 strings
