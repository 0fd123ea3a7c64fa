"""Dependencies that read other people's files: no allowed version with a known code-execution flaw."""

import yaml
from packaging.requirements import Requirement

from tests.test_packaging import PYPROJECT, ROOT


def test_no_pyarrow_that_runs_code_from_a_parquet_file_is_allowed():
    """pyarrow 14.0.0 and older deserialise arbitrary Python objects from a Parquet file's extension types
    (CVE-2023-47248): bvae reads Parquet that others wrote (archives, datasets), so neither install may take one."""
    env = yaml.safe_load((ROOT / "envs" / "bvae.yaml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    for where, pins in (("pyproject.toml", PYPROJECT["project"]["dependencies"]), ("envs/bvae.yaml", pip)):
        [pyarrow] = [Requirement(pin) for pin in pins if pin.startswith("pyarrow")]
        assert not pyarrow.specifier.contains("14.0.0") and pyarrow.specifier.contains("14.0.1"), where
