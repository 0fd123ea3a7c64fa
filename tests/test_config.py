"""Every config error stops the run before the first job with one line naming the key (bvae.study.config,
without Snakemake; tests/test_workflow.py checks that the workflow prints that line last)."""

import copy
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bvae.errors import ConfigError
from bvae.study.config import check_config
from tests.conftest import ROOT

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
TINY = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())


def checked(tmp_path, monkeypatch, **changes) -> dict:
    """The tiny config with `changes`, checked from `tmp_path` as the working directory; the config as filled in."""
    monkeypatch.chdir(tmp_path)
    config = copy.deepcopy({**TINY, **changes})
    check_config(config, SCHEMA)
    return config


def refused(tmp_path, monkeypatch, **changes) -> str:
    with pytest.raises(ConfigError) as error:
        checked(tmp_path, monkeypatch, **changes)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_rebuild_from_the_archive_needs_an_archive(tmp_path, monkeypatch):
    message = refused(tmp_path, monkeypatch, archived_only=True)
    assert message == ("archived_only = true but archive is not set; expected the folder of archived trainings that "
                       "the study is rebuilt from")  # fmt: skip


def test_a_boolean_written_in_lower_case_on_the_command_line_is_explained(tmp_path, monkeypatch):
    message = refused(tmp_path, monkeypatch, archived_only="false")  # what snakemake --config archived_only=false gives
    assert message == ("archived_only = 'false'; expected true or false (snakemake --config reads only True and False "
                       "as such: write False)")  # fmt: skip


def test_draws_listed_by_number_in_a_second_grid_are_not_the_first_grids(tmp_path, monkeypatch):
    grids = [{"d": [24], "N": [100], "seeds": 3}, {"d": [24], "N": [100], "seeds": 2, "replicates": [1, 2]}]
    assert checked(tmp_path, monkeypatch, datasets=grids)["datasets"][1]["replicates"] == [1, 2]
    message = refused(tmp_path, monkeypatch, datasets=[grids[0], {**grids[1], "replicates": [0, 1]}])
    assert message.startswith("datasets[1]: d24_N100 is also in datasets[0]")


def test_the_shipped_configs_pass_and_get_their_defaults(tmp_path, monkeypatch):
    for name in ("config.yaml", "config/quick.yaml", "config/protocols.yaml", ".test/config.yaml"):
        config = yaml.safe_load((ROOT / name).read_text())
        monkeypatch.chdir(ROOT)
        check_config(config, SCHEMA, [ROOT / name])
        assert config["adam_eps"] == 1e-7 and config["threads_per_job"] == 1  # schema defaults filled in
    config = checked(tmp_path, monkeypatch, files=[{"name": "mine", "path": str(write_bits(tmp_path))}])
    assert config["files"][0] == {"name": "mine", "path": str(tmp_path / "bits.csv"), "split_column": "split",
                                  "test_fraction": 0.33, "seed": 0}  # fmt: skip


def write_bits(directory: Path) -> Path:
    (directory / "bits.csv").write_text("a,b,c\n" + "0,1,1\n1,0,1\n0,0,1\n1,1,0\n" * 2)  # 8 rows: 3 test, 5 training
    return directory / "bits.csv"


# Case 2: whole-number floats passed the schema (JSON Schema counts 2.0 as an integer), then every training died.
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": 2.0}, "epochs = 2.0; expected an integer (write 2, not 2.0)"),
        ({"batch_size": 50.0}, "batch_size = 50.0; expected an integer (write 50, not 50.0)"),
        ({"hidden": [8.0, 8]}, "hidden[0] = 8.0; expected an integer (write 8, not 8.0)"),
        ({"seeds": 2.0}, "seeds = 2.0; expected an integer or a mapping (write 2, not 2.0)"),
        ({"seeds": {"deep": 2.0}}, "seeds.deep = 2.0; expected an integer (write 2, not 2.0)"),
        ({"seeds": {"deep": 0}}, "seeds.deep = 0; expected an integer >= 1"),
        ({"seeds": 0}, "seeds = 0; expected an integer >= 1"),
        ({"datasets": {"d": [20.0], "N": [100]}}, "datasets.d[0] = 20.0; expected an integer (write 20, not 20.0)"),
        ({"protocols": {"x": {"epochs": 2.0}}}, "protocols.x.epochs = 2.0; expected an integer >= 1"),
        ({"seeds_per_job": {"deep": 2.0}}, "seeds_per_job.deep = 2.0; expected an integer (write 2, not 2.0)"),
        ({"lr": "1e-3"}, "lr = '1e-3'; expected a number (YAML reads 1e-3 as text; write 1.0e-3)"),
        ({"seeds": True}, "seeds = True; expected an integer or a mapping"),
    ],
)
def test_numbers_of_the_wrong_kind_are_refused(tmp_path, monkeypatch, changes, message):
    assert refused(tmp_path, monkeypatch, **changes) == message


# Case 12 (last example): "is not valid under any of the given schemas", without a key.
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"datasets": {"d": [24], "N": [100], "replicates": 0}}, "datasets.replicates = 0; expected an integer >= 1"),
        (
            {"datasets": [{"d": [24], "N": [100]}, {"d": [24], "N": [9]}]},
            "datasets[1].N[0] = 9; expected an integer >= 10",
        ),
        ({"datasets": {"d": [24]}}, "datasets: N is missing; expected keys d, N"),
        (
            {"architectures": ["dep"]},
            "architectures[0] = 'dep'; expected one of deep, canonical (did you mean 'deep'?)",
        ),
        ({"protocols": {}}, "protocols = {}; expected at least 1 entry"),
        ({"files": None}, "files = None; expected a list"),
    ],
)
def test_schema_errors_name_the_key(tmp_path, monkeypatch, changes, message):
    assert refused(tmp_path, monkeypatch, **changes) == message


# A typo in a key once printed 198 lines of schema; one line names the key and the key that was meant.
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epoch": 5}, "epoch: unknown key; did you mean 'epochs'?"),
        (
            {"protocols": {"x": {"lattent_dim": 3}}},
            "protocols.x.lattent_dim: unknown setting; did you mean 'latent_dim'?",
        ),
        ({"files": [{"name": "x", "path": "x.csv", "seeed": 1}]}, "files[0].seeed: unknown key; did you mean 'seed'?"),
        ({"simulation": {"blocks": 10}}, "simulation.blocks: unknown key; did you mean 'block'?"),
    ],
)
def test_a_typo_in_a_key_names_the_key_meant(tmp_path, monkeypatch, changes, message):
    assert refused(tmp_path, monkeypatch, **changes) == message


def test_an_unknown_key_without_a_close_one_lists_the_keys(tmp_path, monkeypatch):
    message = refused(tmp_path, monkeypatch, xyzzy=1)
    assert (
        message.startswith("xyzzy: unknown key; expected one of results, datasets, ") and "checkpoint_every" in message
    )


def test_a_setting_of_the_wrong_type_is_not_called_unknown(tmp_path, monkeypatch):
    """unevaluatedProperties counts every setting as unexpected once one of them fails its type."""
    expected = "init = 'he'; expected one of he_normal, he_truncated_normal, he_uniform, glorot_uniform"
    assert refused(tmp_path, monkeypatch, init="he") == expected


# Case 10: duplicate keys in a config file; YAML keeps the last one silently.
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epochs: 3\nlr: 0.01\nepochs: 5\n", "epochs: given twice in {path} (lines 1 and 3); expected each key once"),
        ("protocols:\n  fast: {lr: 0.01}\n  fast: {}\n", "protocols.fast: given twice in {path} (lines 2 and 3)"),
        ("files:\n  - name: a\n    path: a.csv\n    name: b\n", "files[0].name: given twice in {path} (lines 2 and 4)"),
    ],
)
def test_a_key_given_twice_in_a_file_is_refused(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="^" + re.escape(message.format(path=path))):
        check_config(yaml.safe_load(text), SCHEMA, [path])


# Case 11: names that later fail as files (a protocol's folder named like a file beside it; names too long).
def test_names_that_would_clash_as_files_are_refused(tmp_path, monkeypatch):
    message = refused(tmp_path, monkeypatch, protocols={"spec": {}, "comparison.md": {}})
    assert message.startswith("protocols: name 'comparison.md' is not allowed; expected a letter or digit, then")
    long = "a" * 300
    assert refused(tmp_path, monkeypatch, files=[{"name": long, "path": "x.csv"}]) == (
        f"files[0].name = '{long[:39]}…{long[-9:]}' (300 characters); expected at most 100 characters"
    )
    assert "(120 characters) is not allowed; expected at most 100 characters" in refused(
        tmp_path, monkeypatch, protocols={"p" * 120: {}}
    )
    assert refused(tmp_path, monkeypatch, protocols={"Fast": {}, "fast": {}}) == (
        "protocol names 'Fast' and 'fast' differ only in case, so their files would be one on a case-insensitive "
        "file system; rename one"
    )


# Case 7: the output root.
def test_results_root_is_expanded_or_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert checked(tmp_path, monkeypatch, results="~/bvae_res")["results"] == str(tmp_path / "home" / "bvae_res")
    (tmp_path / "a_file").write_text("x")
    assert refused(tmp_path, monkeypatch, results="a_file/sub") == (
        "results = 'a_file/sub': a_file is not a directory; expected a directory"
    )
    assert refused(tmp_path, monkeypatch, results="$HOME/res") == (
        "results = '$HOME/res': environment variables are not expanded; write the path out"
    )
    assert not (tmp_path / "~").exists()


def test_results_root_that_cannot_be_written_passes_the_check(tmp_path, monkeypatch):
    """A dry run, --summary, --report or --list-changes only read the root; a run finds out when it locks it."""
    (tmp_path / "ro").mkdir(mode=0o500)
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path).name != "ro")
    assert checked(tmp_path, monkeypatch, results="ro/res")["results"] == "ro/res"


def test_a_results_root_with_braces_is_refused(tmp_path, monkeypatch):
    assert refused(tmp_path, monkeypatch, results="out/res_{x}") == (
        "results = 'out/res_{x}': Snakemake reads {...} in a path as a wildcard; expected no braces"
    )


def test_user_files_must_exist_outside_the_output_root(tmp_path, monkeypatch):
    assert (
        refused(tmp_path, monkeypatch, files=[{"name": "x", "path": "nope.csv"}])
        == "files[0].path: nope.csv: no such file"
    )
    write_bits(tmp_path)
    assert refused(tmp_path, monkeypatch, files=[{"name": "x", "path": "bits.csv", "split_column": "fold"}]) == (
        "files[0].split_column: bits.csv: has no split column 'fold' (it has columns a, b, c); expected a train/test "
        "column"
    )  # the same for a user file's entry under files:
    (tmp_path / "index.csv").write_text(",a,b\n0,0,1\n1,1,0\n")
    assert refused(tmp_path, monkeypatch, files=[{"name": "x", "path": "index.csv"}]).startswith(
        "files[0].path: index.csv: column 1 has no name in the header"
    )  # before the first job, not when the import job reads it
    bits = pd.read_csv(tmp_path / "bits.csv")
    bits.to_parquet(tmp_path / "bits.parquet")
    np.save(tmp_path / "bits.npy", bits.to_numpy())
    for name in ("bits.csv", "bits.parquet", "bits.npy"):  # 8 rows: 0.9 leaves 1 training row
        assert refused(tmp_path, monkeypatch, files=[{"name": "x", "path": name, "test_fraction": 0.9}]) == (
            "files[0].test_fraction = 0.9 gives 7 test and 1 training rows of 8; expected at least 2 of each"
        )
    assert refused(tmp_path, monkeypatch, files=[{"name": "x", "path": "bits.csv"}], latent_dim=4) == (
        "latent_dim = 4 (protocol spec, deep) exceeds d = 3 of dataset x; expected at most the smallest d"
    )
    (tmp_path / "results" / "test").mkdir(parents=True)
    write_bits(tmp_path / "results" / "test")
    assert refused(tmp_path, monkeypatch, files=[{"name": "x", "path": "results/test/bits.csv"}]) == (
        "files[0].path = 'results/test/bits.csv' lies inside the output root results = 'results/test', where the "
        "workflow writes; keep your data outside it"
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    assert checked(tmp_path, monkeypatch, files=[{"name": "x", "path": "~/bits.csv"}])["files"][0]["path"] == str(
        tmp_path / "bits.csv"
    )


def test_a_dataset_in_two_grids_is_refused(tmp_path, monkeypatch):
    grids = [{"d": [24], "N": [100, 400], "seeds": 3}, {"d": [24, 48], "N": [100]}]
    assert refused(tmp_path, monkeypatch, datasets=grids) == (
        "datasets[1]: d24_N100 is also in datasets[0]; expected each dataset in one grid (its seeds, replicates and "
        "seeds_per_job would be the last grid's)"
    )


# Settings that are valid alone but fail against a dataset: before the first job, not in it.
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"latent_dim": 30},
            "latent_dim = 30 (protocol spec, deep) exceeds d = 24 of dataset d24_N100; expected at most",
        ),
        ({"simulation": {"block": 20}}, "datasets: d24_N100: d = 24 is too small: the two loading blocks need d >= 40"),
        (
            {"simulation": {"test_fraction": 0.01}},
            "datasets: d24_N100: simulation.test_fraction = 0.01 gives 1 test and 99 training rows of 100; expected",
        ),
    ],
)
def test_settings_that_do_not_fit_a_dataset_are_refused(tmp_path, monkeypatch, changes, message):
    assert refused(tmp_path, monkeypatch, **changes).startswith(message)


def test_compare_epochs_beyond_every_protocol_is_refused(tmp_path, monkeypatch):
    """An epoch no protocol trains to compared nothing, without a word (the tiny protocols train 3 epochs)."""
    assert checked(tmp_path, monkeypatch, compare_epochs=[3])["compare_epochs"] == [3]
    assert refused(tmp_path, monkeypatch, compare_epochs=[2, 4]) == (
        "compare_epochs[1] = 4 exceeds the epochs of every protocol (at most 3); expected an epoch that a protocol "
        "trains to"
    )
    assert checked(tmp_path, monkeypatch, compare_epochs=[4], protocols={"spec": {}, "long": {"epochs": 4}})


@pytest.mark.parametrize("value", [5, None])
def test_datasets_of_neither_form_say_which_forms_there_are(tmp_path, monkeypatch, value):
    assert refused(tmp_path, monkeypatch, datasets=value) == f"datasets = {value!r}; expected a mapping or a list"


def test_settings_valid_alone_but_not_together_are_refused(tmp_path, monkeypatch):
    assert refused(tmp_path, monkeypatch, precision="bf16", kernel="torch") == (
        "protocol spec, deep: kernel = 'torch' with precision = 'bf16'; expected auto (the kernels are fp32)"
    )


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_an_array_file_narrower_than_the_latent_size_is_refused(tmp_path, monkeypatch, suffix):
    column = np.zeros((10, 1), dtype=np.uint8)
    if suffix == ".npy":
        np.save(tmp_path / "one.npy", column)
    else:
        np.savez(tmp_path / "one.npz", train=column, test=column)
    assert refused(tmp_path, monkeypatch, files=[{"name": "one", "path": f"one{suffix}"}]) == (
        "latent_dim = 2 (protocol spec, deep) exceeds d = 1 of dataset one; expected at most the smallest d"
    )


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    path = tmp_path / "bomb.yaml"
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path.write_text("\n".join(levels) + "\n")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=rf"^{path}: its YAML aliases \(\*name\) expand it to 490,329,064 values"):
        check_config({}, SCHEMA, [path])
    assert time.perf_counter() - started < 1


def test_scores_too_wide_for_the_exact_likelihood_are_refused(tmp_path, monkeypatch):
    """score_sd = 1e6 made the exact likelihood's grid run for minutes."""
    assert refused(tmp_path, monkeypatch, simulation={"score_sd": [2.5, 1e6]}) == (
        "simulation.score_sd[1] = 1000000.0; expected a number <= 100"
    )
