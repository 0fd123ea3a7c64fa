"""What a config asks for: datasets and their seeds from one or several grids, replicates, protocols."""

import pytest

from bvae.errors import ConfigError
from bvae.study.plan import (
    canonical_json,
    data_definition,
    dataset_seeds,
    protocol_architectures,
    protocol_settings,
    seed_stacks,
    simulated,
)

BASE = {
    "seeds": 4, "files": [], "examples": [], "protocols": {"spec": {}}, "lr": 0.001, "epochs": 300,
    "architectures": ["deep", "canonical"], "simulation": {"score_sd": [2.5, 1.5], "block": 10, "test_fraction": 0.33,
    "seed": 2020},
}  # fmt: skip
BOTH = {"deep": 10, "canonical": 10}


def test_a_list_of_grids_with_own_seeds_and_replicates():
    config = {
        **BASE,
        "datasets": [{"d": [200, 400], "N": [100], "seeds": 10, "replicates": 2}, {"d": [200], "N": [5000]}],
        "examples": ["digits"],
    }
    four = {"deep": 4, "canonical": 4}
    assert dataset_seeds(config) == {
        "d200_N100": BOTH, "d200_N100_r1": BOTH, "d400_N100": BOTH, "d400_N100_r1": BOTH, "d200_N5000": four,
        "digits": four,
    }  # fmt: skip
    assert simulated(config)["d400_N100_r1"] == {"d": 400, "N": 100, "replicate": 1, "seeds": BOTH, "seeds_per_job": {}}


def test_further_draws_listed_by_number_take_their_own_grids_seeds():
    """The first draw with 10 seeds, draws 1 and 3 with 2: `replicates` as a list names the draws of its grid."""
    config = {**BASE, "datasets": [{"d": [200], "N": [100], "seeds": 10}, {"d": [200], "N": [100], "seeds": 2,
                                                                           "replicates": [1, 3]}]}  # fmt: skip
    two = {"deep": 2, "canonical": 2}
    assert dataset_seeds(config) == {"d200_N100": BOTH, "d200_N100_r1": two, "d200_N100_r3": two}


def test_seeds_may_differ_per_architecture():
    """A grid's seeds per architecture: the cheap canonical cells take more seeds than the deep ones."""
    config = {**BASE, "datasets": [{"d": [200], "N": [5000], "seeds": {"deep": 3, "canonical": 10}}]}
    assert dataset_seeds(config) == {"d200_N5000": {"deep": 3, "canonical": 10}}
    assert seed_stacks({**config, "seeds_per_job": {"canonical": 4}}, "canonical")[1] == {
        (0, 1, 2, 3): ["d200_N5000"], (4, 5, 6, 7): ["d200_N5000"], (8, 9): ["d200_N5000"]}  # fmt: skip
    with pytest.raises(ConfigError, match=r"seeds = \{'deep': 3\}: no count for canonical; expected one per"):
        dataset_seeds({**config, "datasets": {"d": [200], "N": [100], "seeds": {"deep": 3}}})


def test_a_protocol_may_train_some_architectures_only():
    config = {**BASE, "protocols": {"spec": {}, "glorot": {"architectures": ["deep"], "init": "glorot_uniform"}}}
    assert protocol_architectures(config, "spec") == ["deep", "canonical"]
    assert protocol_architectures(config, "glorot") == ["deep"]
    assert protocol_settings(config, "glorot", "deep")["init"] == "glorot_uniform"  # not a setting: left out
    with pytest.raises(ConfigError, match="protocols.glorot.architectures names canonical, which the study does not"):
        protocol_architectures({**config, "architectures": ["deep"], "protocols": {"glorot": {
            "architectures": ["canonical"]}}}, "glorot")  # fmt: skip


def test_a_data_definition_is_what_makes_the_bits_whatever_the_key_order(tmp_path):
    """The simulation settings in any order give one definition; a user file is defined by its content."""
    config = {**BASE, "datasets": {"d": [200], "N": [100]}}
    shuffled = {**config, "simulation": dict(reversed(list(config["simulation"].items())))}
    assert canonical_json(data_definition(config, "d200_N100")) == canonical_json(
        data_definition(shuffled, "d200_N100")
    )
    assert data_definition(config, "d200_N100")["simulated"]["score_sd"] == (2.5, 1.5)
    path = tmp_path / "mine.csv"
    path.write_text("a,b\n0,1\n")
    entry = {"name": "mine", "path": str(path), "split_column": "split", "test_fraction": 0.33, "seed": 0}
    defined = data_definition({**config, "files": [entry]}, "mine")
    path.write_text("a,b\n1,1\n")
    assert defined != data_definition({**config, "files": [entry]}, "mine")


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
    assert len(dataset_seeds(config)) == 9
    assert all(seeds == {"deep": 4, "canonical": 4} for seeds in dataset_seeds(config).values())


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
