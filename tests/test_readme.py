"""The README's Python example runs as printed, on a user's 0/1 CSV."""

import re

import numpy as np
import pandas as pd

from bvae.bound import fit_bound
from bvae.data import load_binary
from tests.conftest import ROOT


def test_readme_python_example(tmp_path, monkeypatch, capsys):
    example = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[1]
    assert len([line for line in example.splitlines() if line.strip()]) == 5  # five lines of code
    rng = np.random.default_rng(0)
    pd.DataFrame((rng.random((300, 12)) < 0.4).astype(int)).to_csv(tmp_path / "my_bits.csv", index=False)
    monkeypatch.chdir(tmp_path)
    exec(example, {})
    data = load_binary(tmp_path / "my_bits.csv", test_fraction=0.33, seed=0)
    assert f"{fit_bound(data.train, data.test, 2).bound_train!r}" in capsys.readouterr().out
