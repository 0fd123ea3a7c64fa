"""The numerics version: which code's numbers a finished training holds.

Trainings, their datasets, checkpoints and archived records are keyed on what determines their numbers: the data's
definition, the settings that change results, the seed and `VERSION`, never on the bytes of the code. A docstring,
a comment, a rename or a moved module therefore invalidate nothing. A change that alters any number a dataset or a
training writes (data generation and splits, the bound, initialisation, the loss, the optimiser, the kernels, the
evaluation, the recorded metrics) must raise `VERSION`, which reruns every training and sets every archived record
aside.

The golden record (`bvae.training.golden`) guards it: `tests/golden/numerics.json` holds the numbers of every code
path a setting or a protocol can take, for the current `VERSION` (`python -m bvae.training.golden
tests/golden/numerics.json` writes it), and tests/test_numerics.py fails when the code's numbers leave that record
while `VERSION` stays, or when `VERSION` moves without a new record. tests/test_mutations.py shows, edit by edit,
that the record sees every change of a number.
"""

VERSION = 1
