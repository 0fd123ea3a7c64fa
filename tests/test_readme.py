"""The README's Python example runs as printed, on a user's 0/1 CSV."""

import re

import numpy as np
import pandas as pd

from bvae.data.binary import load_binary
from bvae.model.bound import fit_bound
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


def test_the_readme_is_a_front_page_with_the_answer_first():
    """At most 200 lines of at most 120 characters; the answer, between its markers, right after the two set-up
    commands and within the first 40 lines."""
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200 and max(map(len, lines)) <= 120
    marks = ("## The answer", "<!-- answer:begin -->", "<!-- answer:end -->")
    heading, begin, end = (lines.index(mark) for mark in marks)
    assert heading < begin < end < 40 and end - begin - 1 <= 10
    setup = [i for i, line in enumerate(lines[:heading]) if line.startswith("```")]
    assert lines[setup[-2]] == "```bash" and setup[-1] - setup[-2] == 3  # the two commands, then the answer
    assert not [line for line in lines[setup[-1] + 1 : heading] if line.strip()]


def test_no_page_a_reader_sees_names_an_issue():
    """Issue numbers mean nothing outside the tracker: none in the README, the docs, configs, report captions, the
    package, the workflow, the benchmarks or the tests."""
    patterns = ["docs/*.md", "config/*", "workflow/report/*.rst", "src/bvae/**/*.py", "bench/**/*.py", "tests/*.py",
                "workflow/rules/*.smk", "workflow/scripts/*.py"]  # fmt: skip
    pages = [ROOT / "README.md", ROOT / "config.yaml", *(path for pattern in patterns for path in ROOT.glob(pattern))]
    found = [f"{p.name}: {m[0]}" for p in pages for m in re.finditer(r"\b[Ii]ssues? #?\d+", p.read_text())]
    assert not found
