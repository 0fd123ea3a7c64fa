"""The numerics version: which code's numbers a finished training holds.

Trainings, their datasets, checkpoints and archived records are keyed on what determines their numbers: the data's
definition, the settings that change results, the seed and `VERSION`, never on the bytes of the code. A docstring,
a comment, a rename or a moved module therefore invalidate nothing. A change that alters any number a training
writes (data generation, the bound, initialisation, the loss, the optimiser, the evaluation) must raise `VERSION`,
which reruns every training and sets every archived record aside.

The golden training (`bvae.training.golden`) guards it: `tests/golden/numerics.json` holds its numbers for the
current `VERSION` (`python -m bvae.training.golden tests/golden/numerics.json` writes it), and a test fails when the
code's numbers leave that record while `VERSION` stays, or when `VERSION` moves without a new record.
"""

VERSION = 1
