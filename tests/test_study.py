"""What a config asks for: datasets and their seeds from one or several grids, replicates, protocols."""

import pytest

from bvae.errors import ConfigError
from bvae.study import dataset_seeds, protocol_settings, seed_stacks, simulated

BASE = {"seeds": 4, "files": [], "examples": [], "protocols": {"spec": {}}, "lr": 0.001, "epochs": 300}


def test_a_list_of_grids_with_own_seeds_and_replicates():
    config = {
        **BASE,
        "datasets": [{"d": [200, 400], "N": [100], "seeds": 10, "replicates": 2}, {"d": [200], "N": [5000]}],
        "examples": ["digits"],
    }
    assert dataset_seeds(config) == {
        "d200_N100": 10, "d200_N100_r1": 10, "d400_N100": 10, "d400_N100_r1": 10, "d200_N5000": 4, "digits": 4,
    }  # fmt: skip
    assert simulated(config)["d400_N100_r1"] == {"d": 400, "N": 100, "replicate": 1, "seeds": 10, "seeds_per_job": {}}


def test_seed_stacks_follow_each_grid_and_never_train_an_unrequested_seed():
    config = {
        **BASE,
        "seeds_per_job": {"deep": 1},
        "datasets": [{"d": [200], "N": [100], "seeds": 10, "seeds_per_job": {"deep": 4}}, {"d": [200], "N": [5000]}],
    }
    assert seed_stacks(config, "deep") == (
        ["d200_N5000"],
        {(0, 1, 2, 3): ["d200_N100"], (4, 5, 6, 7): ["d200_N100"], (8, 9): ["d200_N100"]},
    )
    assert seed_stacks(config, "canonical") == (["d200_N100", "d200_N5000"], {})


def test_one_grid_is_the_paper_layout():
    config = {**BASE, "datasets": {"d": [200, 400, 1000], "N": [100, 5000, 10000]}}
    assert len(dataset_seeds(config)) == 9 and set(dataset_seeds(config).values()) == {4}


def test_a_name_used_twice_is_an_error():
    config = {**BASE, "datasets": {"d": [24], "N": [50]}, "files": [{"name": "d24_N50", "path": "x.csv"}]}
    with pytest.raises(ConfigError, match=r"files: name 'd24_N50' has the form d\{d\}_N\{N\}"):
        dataset_seeds(config)


def test_protocols_override_the_top_level_and_fill_defaults():
    config = {**BASE, "protocols": {"spec": {}, "slow": {"lr": 0.0003, "init_decoder": "glorot_uniform"}}}
    spec, slow = protocol_settings(config, "spec", "deep"), protocol_settings(config, "slow", "deep")
    assert spec["lr"] == 0.001 and spec["epochs"] == 300 and spec["adam_eps"] == 1e-7
    assert slow["lr"] == 0.0003 and slow["init_decoder"] == "glorot_uniform" and slow["init"] == "he_normal"
    with pytest.raises(ConfigError, match="protocols.bad.lr = -1; expected a finite number > 0"):
        protocol_settings({**config, "protocols": {"bad": {"lr": -1}}}, "bad", "deep")
    with pytest.raises(ConfigError, match="protocol 'other' is not defined"):
        protocol_settings(config, "other", "deep")


def test_a_protocol_may_override_per_architecture():
    """Settings of the protocol apply to both architectures, a sub-mapping named after one to that one only."""
    mixed = {"lr": 0.0003, "canonical": {"init": "glorot_uniform", "epochs": 50}, "deep": None}
    config = {**BASE, "protocols": {"mixed": mixed}}
    deep, canonical = (protocol_settings(config, "mixed", arch) for arch in ("deep", "canonical"))
    assert (deep["lr"], deep["init"], deep["epochs"]) == (0.0003, "he_normal", 300)
    assert (canonical["lr"], canonical["init"], canonical["epochs"]) == (0.0003, "glorot_uniform", 50)
    assert "canonical" not in deep and "deep" not in canonical
    assert config["protocols"]["mixed"] == mixed  # the config itself is left as it was
    bad = {**BASE, "protocols": {"bad": {"canonical": {"epochs": 0}}}}
    with pytest.raises(ConfigError, match="protocols.bad.canonical.epochs = 0; expected an integer >= 1"):
        protocol_settings(bad, "bad", "deep")
