"""Every configuration the project ships is valid: the schema, and every protocol's settings per architecture."""

import pytest
import yaml
from snakemake.utils import validate

from bvae.study.plan import dataset_seeds, protocol_settings
from tests.conftest import ROOT

CONFIGS = [ROOT / "config.yaml", *sorted((ROOT / "config").glob("*.yaml")), ROOT / ".test" / "config.yaml"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_config_is_valid(path):
    config = {**yaml.safe_load((ROOT / "config.yaml").read_text()), **yaml.safe_load(path.read_text())}
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    assert dataset_seeds(config)
    for protocol in config["protocols"]:
        for arch in config["architectures"]:
            assert protocol_settings(config, protocol, arch)["epochs"] >= 1


def test_the_full_study_trains_calibrated_and_other_studies_only_their_own_protocols():
    """config.yaml names no protocols: Snakemake merges a --configfile's mappings into it key by key, so a protocol
    named there would be trained by every study. The schema's default gives the full study `calibrated`."""
    full = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert "protocols" not in full
    validate(full, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    assert list(full["protocols"]) == ["calibrated"]
    assert protocol_settings(full, "calibrated", "deep")["lr"] == 0.0003
    assert protocol_settings(full, "calibrated", "canonical")["init"] == "glorot_uniform"
