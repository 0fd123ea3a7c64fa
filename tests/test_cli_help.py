"""What `bvae --help` and `bvae train` tell a user: the study's default protocol, one width, one placeholder."""

import pytest
import yaml

from bvae.cli import WIDTH, build_parser, main, train_settings
from bvae.model.protocols import DEFAULT, PROTOCOLS
from bvae.model.settings import TrainSettings
from bvae.study.plan import protocol_settings
from tests.conftest import ROOT


def parse(arch: str, *extra: str) -> TrainSettings:
    return train_settings(build_parser().parse_args(["train", "x.csv", "--arch", arch, "--out", "o", *extra]))


def frozen(settings: dict) -> dict:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in settings.items()}


@pytest.mark.parametrize("arch", ["deep", "canonical"])
def test_train_takes_the_studys_default_protocol_unless_asked(arch):
    """`bvae train` on a user's data trains as the study does (protocol calibrated, per architecture); --protocol spec
    gives the method's settings, and an option given overrides either."""
    default = parse(arch)
    expected = protocol_settings({"protocols": PROTOCOLS}, DEFAULT, arch)
    assert default == TrainSettings(arch=arch, variant="preinit", **frozen(expected))
    calibrated = {"deep": (3e-4, 300, "he_normal"), "canonical": (1e-3, 50, "glorot_uniform")}
    assert (default.lr, default.epochs, default.init) == calibrated[arch]
    assert parse(arch, "--protocol", "spec") == TrainSettings(arch=arch, variant="preinit")
    assert parse(arch, "--lr", "0.01").lr == 0.01
    assert parse(arch, "--protocol", "spec", "--epochs", "7").epochs == 7


def test_the_workflow_and_bvae_train_share_one_default_protocol():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert schema["properties"]["protocols"]["default"] == {DEFAULT: PROTOCOLS[DEFAULT]}


def help_text(capsys, monkeypatch, *argv: str) -> str:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: help still wraps at WIDTH
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", [[], ["bound"], ["train"], ["calibration"]])
def test_help_wraps_at_one_width(capsys, monkeypatch, command):
    lines = help_text(capsys, monkeypatch, *command).splitlines()
    assert max(map(len, lines)) <= WIDTH
    assert max(map(len, lines)) > 100  # the command list and the text alike use the width, not 80 columns


def test_help_names_protocol_values_placeholders_and_defaults_plainly(capsys, monkeypatch):
    train = help_text(capsys, monkeypatch, "train")
    assert f"(default: {DEFAULT}" in train and "0.0003 deep" in train and "50 canonical" in train
    assert "--init-bias" in train
    assert "--latent-dim LATENT_DIM" in help_text(capsys, monkeypatch, "bound")
    calibration = help_text(capsys, monkeypatch, "calibration")
    assert "100=10 5000=3" in calibration and "['" not in calibration
