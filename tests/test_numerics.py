"""The numerics version guards finished trainings: the golden training's numbers move only with it."""

import json
from pathlib import Path

from bvae.numerics import VERSION
from bvae.training.golden import differences, golden

GOLDEN = Path(__file__).with_name("golden") / "numerics.json"
BUMP = (
    "training numbers changed: raise bvae.numerics.VERSION, "
    "then python -m bvae.training.golden tests/golden/numerics.json"
)


def test_the_golden_training_gives_the_recorded_numbers():
    recorded = json.loads(GOLDEN.read_text())
    assert recorded["version"] == VERSION, f"{GOLDEN} is of version {recorded['version']}; rewrite it ({BUMP})"
    assert differences(recorded, golden()) == [], BUMP


def test_a_change_of_the_method_leaves_the_recorded_numbers():
    """A learning rate 0.3 % off moves every run's numbers beyond the golden tolerance: the check is tight enough to
    see a change of the method, while fp32 rounding of other machines stays within it."""
    recorded = json.loads(GOLDEN.read_text())
    found = differences(recorded, golden(lr=0.001 * 1.003))
    assert {line.split()[0] for line in found} == set(recorded["runs"])
