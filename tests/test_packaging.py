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
