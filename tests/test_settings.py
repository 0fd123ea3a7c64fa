"""Training settings: one schema, from which the dataclass, the checks, the CLI options and the config derive."""

import argparse
import math

import pytest
import torch
import yaml

from bvae.errors import ConfigError
from bvae.model.architectures import ARCHITECTURES, LAYER_GROUPS, VARIANTS, layers
from bvae.model.resources import train_mem_mb
from bvae.model.settings import PROPERTIES, TrainSettings, add_options, check_values, from_args
from bvae.training.networks import TRUNCATED_STD, build, init_weight
from bvae.training.train import seed_generators
from tests.conftest import ROOT


def test_every_setting_is_a_field_an_option_and_a_config_key():
    fields = set(TrainSettings.__dataclass_fields__) - {"arch", "variant", "threads"}
    assert fields == set(PROPERTIES)
    parser = argparse.ArgumentParser()
    add_options(parser)
    options = {a.dest for a in parser._actions} - {"help"}
    assert options == set(PROPERTIES)
    assert from_args(parser.parse_args([])) == TrainSettings()  # CLI defaults are the schema's defaults
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert schema["$defs"]["arch"]["enum"] == list(ARCHITECTURES)
    assert schema["$defs"]["variant"]["enum"] == list(VARIANTS)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lr": math.nan}, "lr = nan; expected a finite number > 0"),
        ({"lr": math.inf}, "lr = inf"),
        ({"adam_eps": 0}, "adam_eps = 0"),
        ({"hidden": [4, 0]}, r"hidden = \[4, 0\]; expected a non-empty list of integers >= 1"),
        ({"init_decoder": "orthogonal"}, "init_decoder = 'orthogonal'; expected one of null, he_normal"),
        ({"epochs": True}, "epochs = True"),
        ({"warmup": 3}, "warmup: unknown setting"),
    ],
)
def test_bad_values_get_one_line_errors(values, message):
    with pytest.raises(ConfigError, match=message):
        check_values(values)


def test_group_scheme_falls_back_to_init():
    settings = TrainSettings(init="glorot_uniform", init_decoder="he_normal")
    assert [settings.scheme(g) for g in LAYER_GROUPS] == ["glorot_uniform"] * 3 + ["he_normal", "glorot_uniform"]


def test_each_layer_group_gets_its_scheme():
    """He normal on a fan-in-2 layer has std 1; Glorot uniform on 2 -> 64 is bounded by sqrt(6 / 66)."""

    def model(**init):
        return build(TrainSettings(hidden=(64, 64), **init), 30, [seed_generators(s)[0] for s in range(4)])

    glorot, he = model(init_decoder="glorot_uniform"), model()
    assert glorot.decoder[0].weight.abs().max() <= math.sqrt(6 / 66)
    assert 0.8 < he.decoder[0].weight.std().item() < 1.2
    assert torch.equal(glorot.encoder[0].weight, he.encoder[0].weight)  # groups drawn before it are unchanged


def test_truncated_he_is_bounded_with_he_variance():
    w = init_weight((50, 20000), "he_truncated_normal", torch.Generator().manual_seed(0))
    std = math.sqrt(2 / 50)
    assert w.abs().max() <= 2 * std / TRUNCATED_STD
    assert w.std().item() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_layer_shapes_match_the_network(arch):
    """resources' weight count comes from the same definition as the network's parameters."""
    settings = TrainSettings(arch=arch, hidden=(16, 8), latent_dim=3)
    model = build(settings, 30, [seed_generators(0)[0]])
    weights = sum(p.numel() for name, p in model.named_parameters() if name.endswith("weight"))
    assert weights == layers(arch, 30, 3, (16, 8)).weight_count()
    assert train_mem_mb(arch, 30, 100, 50, 3, (16, 8)) > 0


def test_drawn_biases_take_keras_fan_of_a_1d_shape():
    """init_bias: scheme draws a bias of size n with fan √n (Keras' rule for a 1-D shape): He normal std √(2/√n)."""
    gens = [seed_generators(s)[0] for s in range(3)]
    zeros = build(TrainSettings(hidden=(4096, 64)), 30, gens)
    drawn = build(TrainSettings(hidden=(4096, 64), init_bias="scheme"), 30, [seed_generators(s)[0] for s in range(3)])
    assert not zeros.encoder[0].bias.any()
    assert drawn.encoder[0].bias.std().item() == pytest.approx(math.sqrt(2 / math.sqrt(4096)), rel=0.03)
    uniform = build(TrainSettings(hidden=(16, 64), init="glorot_uniform", init_bias="scheme"), 30, gens)
    assert uniform.mu.bias.abs().max() <= math.sqrt(6 / (2 * math.sqrt(2)))  # κ = 2: fan_in = fan_out = √2


def test_averaged_kl_weighs_the_kl_term_by_one_over_kappa():
    """kl_reduction: mean gives loss = nll + KL/κ with the same KL; sum gives the negative ELBO."""
    x, eps = torch.rand(1, 9, 30).round(), torch.randn(1, 9, 3)
    losses = {}
    for reduction in ("sum", "mean"):
        model = build(TrainSettings(hidden=(8,), latent_dim=3, kl_reduction=reduction), 30, [seed_generators(0)[0]])
        losses[reduction] = model.losses(x, eps)
    (loss_sum, kl_sum), (loss_mean, kl_mean) = losses["sum"], losses["mean"]
    torch.testing.assert_close(kl_sum, kl_mean)
    torch.testing.assert_close(loss_sum - loss_mean, kl_sum * (1 - 1 / 3))
