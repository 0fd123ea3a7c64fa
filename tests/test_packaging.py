"""The conda environment for cluster nodes pins what pyproject.toml pins (torch above all: a CPU build, 2.13.0)."""

import tomllib

import yaml

from tests.conftest import ROOT


def test_conda_env_has_the_same_pins_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "envs" / "bvae.yaml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    runtime = {dep for dep in project if not dep.startswith("snakemake")}  # the nodes run jobs, not Snakemake
    assert runtime == {dep for dep in pip if not dep.startswith("--")}
    assert "torch==2.13.0" in pip and any("whl/cpu" in dep for dep in pip)


def test_the_workflow_parse_and_non_training_jobs_load_no_torch():
    """Snakemake parses common.smk (resources, study, fingerprints) and table/plot jobs write provenance: no torch."""
    import subprocess
    import sys

    code = (
        "import sys; import bvae.resources, bvae.study, bvae.fingerprint, bvae.data, bvae.tables, bvae.comparison; "
        "from bvae.io import provenance; assert provenance()['torch_version']; assert 'torch' not in sys.modules"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
