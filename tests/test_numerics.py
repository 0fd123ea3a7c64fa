"""The numerics version guards finished trainings: the golden record's numbers move only with it.

How strong the guard is, edit by edit, is tests/test_mutations.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bvae.data.simulate import simulate
from bvae.model.architectures import LAYER_GROUPS
from bvae.model.settings import PROPERTIES, TrainSettings, resolve
from bvae.numerics import VERSION
from bvae.processor import OPT_OUT, PINNED
from bvae.training import golden
from bvae.training.golden import BASE, DATA, RUNS, check, differences

GOLDEN = Path(__file__).with_name("golden") / "numerics.json"
BUMP = "training numbers changed: raise bvae.numerics.VERSION, then python -m bvae.training.golden " + str(
    GOLDEN.relative_to(Path(__file__).parents[1])
)


def test_the_golden_record_holds():
    recorded = json.loads(GOLDEN.read_text())
    assert recorded["version"] == VERSION, f"{GOLDEN} is of version {recorded['version']}; rewrite it ({BUMP})"
    assert check(recorded) == [], BUMP


def test_the_tolerance_holds_on_the_processors_own_code_paths(tmp_path):
    """The libraries' own choice of code paths (not the ones `import bvae` pins) and ATen's plainest kernels move
    the numbers, within the golden's tolerances."""
    env = {key: value for key, value in os.environ.items() if key not in PINNED}
    env |= {OPT_OUT: "native", "ATEN_CPU_CAPABILITY": "default"}
    out = tmp_path / "native.json"
    done = subprocess.run([sys.executable, "-m", "bvae.training.golden", out], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    recorded, native = json.loads(GOLDEN.read_text()), json.loads(out.read_text())
    assert native != recorded and differences(recorded, native) == []


def test_each_kind_of_number_has_its_tolerance():
    recorded = {"n": 3, "loss": 20.0, "bound_train": 16.0, "pct_train": 0.001, "digest": "ab", "epochs": None}
    close = {"n": 3, "loss": 20.0001, "bound_train": 16.0 + 1e-10, "pct_train": 0.0015, "digest": "ab", "epochs": None}
    assert differences(recorded, close) == []  # a pct counts as its loss: 5e-6 relatively
    far = {"n": 3.0, "loss": 20.001, "bound_train": 16.0 + 1e-7, "pct_train": 0.01, "digest": "ac", "epochs": 4}
    assert [line.split(":")[0] for line in differences(recorded, far)] == [f"/{key}" for key in sorted(recorded)]
    assert differences({"runs": {"a": [1, 2]}}, {"runs": {"a": [1]}}) == ["/runs/a: [1], recorded [1, 2]"]
    assert differences({"runs": {"a": 1}}, {"runs": {}}) == ["/runs/a: no longer computed"]


def test_a_record_of_another_version_is_not_compared():
    found = check({"version": VERSION + 1})
    assert found == [f"the record is of numerics version {VERSION + 1}, the code is {VERSION}"]


def test_writing_refuses_changed_numbers_at_the_same_version(tmp_path, monkeypatch):
    """Rewriting the record without raising VERSION may add parts, never change a number."""
    record = json.loads(GOLDEN.read_text())
    record["bound"]["latent_dim=2"]["bound_train"] += 1e-6
    (tmp_path / "numerics.json").write_text(json.dumps(record))
    monkeypatch.setattr(golden, "golden", lambda: json.loads(GOLDEN.read_text()))  # the numbers as computed
    with pytest.raises(SystemExit, match="raise bvae.numerics.VERSION first"):
        golden._main([str(tmp_path / "numerics.json")])


def test_the_golden_runs_every_setting_value_and_shape_a_study_can():
    """Every value the settings schema allows for a choice (init schemes per layer group, biases, KL reductions,
    precisions, kernels), both architectures and variants, a partial last batch, Monte Carlo passes and a stack."""
    runs = [{**BASE, **settings} for settings, _ in RUNS.values()]
    schemes = {TrainSettings(**run).scheme(group) for run in runs for group in LAYER_GROUPS}
    for name, prop in PROPERTIES.items():
        allowed = set(resolve(prop).get("enum", [])) - {None}
        used = (
            schemes
            if name.startswith("init") and name != "init_bias"
            else {run.get(name, prop["default"]) for run in runs}
        )
        assert allowed <= used, f"{name}: {allowed - used} not in the golden runs"
    pairs = {(run.get("arch"), run.get("variant", "vanilla")) for run in runs}
    assert pairs == {(arch, variant) for arch in ("deep", "canonical") for variant in ("vanilla", "preinit")}
    assert any(simulate(DATA).n_train % run["batch_size"] for run in runs)  # a partial last batch
    assert all(run["mc_samples"] > 1 for run in runs) and any(len(seeds) > 1 for _, seeds in RUNS.values())
    assert {run.get("latent_dim", 2) for run in runs} == {1, 2}
