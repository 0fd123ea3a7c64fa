"""The named training protocols that the project ships: the study's default, `calibrated`, and the method's `spec`.

A protocol overrides some of the method's settings (settings.schema.yaml's defaults), for both architectures or, in
a sub-mapping named after one, for that architecture only. `calibrated` is what the calibration chose
(docs/calibration.md): the deep networks as the method states but at lr 3e-4, the canonical ones with the Keras
example's defaults. `bvae train` trains under DEFAULT unless asked for another, so that a user's data gets the
settings the study itself uses; the workflow's config schema names the same default (a test holds them equal).
"""

from __future__ import annotations

PROTOCOLS: dict[str, dict] = {
    "calibrated": {"deep": {"lr": 0.0003}, "canonical": {"epochs": 50, "init": "glorot_uniform"}},
    "spec": {},
}
DEFAULT = "calibrated"
