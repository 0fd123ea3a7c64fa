"""The method the project cites is in the repository: every "§N" it cites is a section of docs/method.md, and
nothing points at a specification outside the repository."""

import re
import subprocess
from pathlib import Path

from tests.conftest import ROOT

METHOD = ROOT / "docs" / "method.md"


def tracked_text_files():
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        path = ROOT / name
        if path.suffix != ".png" and path.is_file():
            yield name, path.read_text(encoding="utf-8")


def test_every_cited_section_is_in_the_method_document():
    sections = {int(n) for n in re.findall(r"^## §(\d+) ", METHOD.read_text(encoding="utf-8"), re.M)}
    assert sections == set(range(1, 9))
    cited = {}
    for name, text in tracked_text_files():
        for first, last in re.findall(r"§(\d+)(?:\s*[-–]\s*(\d+))?", text):
            for number in range(int(first), int(last or first) + 1):
                cited.setdefault(number, name)
    assert cited and set(cited) <= sections, {n: f for n, f in cited.items() if n not in sections}


def test_nothing_cites_the_specification_outside_the_repository():
    this = Path(__file__).relative_to(ROOT).as_posix()  # which spells out what it looks for
    for name, text in tracked_text_files():
        assert name == this or ("shared/SPEC" not in text and "SPEC §" not in text), name
