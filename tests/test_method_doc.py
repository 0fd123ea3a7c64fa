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
        data = path.read_bytes() if path.is_file() else b"\0"
        if b"\0" not in data:  # text; figures and the archive's Parquet files are binary
            yield name, data.decode("utf-8")


def test_every_cited_section_is_in_the_method_document():
    """A § outside docs/method.md names whose section it is: the nearest "method" or "paper" before it on its line
    (the paper's own sections, §4.3.2 and the like, are not the method's); a method section must exist."""
    sections = {int(n) for n in re.findall(r"^## §(\d+) ", METHOD.read_text(encoding="utf-8"), re.M)}
    assert sections == set(range(1, 9))
    cited = set()
    for name, text in tracked_text_files():
        for line in text.splitlines():
            for match in re.finditer(r"§(\d+)(?:\s*[-–]\s*(\d+))?", line):
                before = line[: match.start()]
                whose = "method" if name == "docs/method.md" else max(("method", "paper"), key=before.rfind)
                assert whose in before or name == "docs/method.md", f"{name}: {line!r} says not whose § it is"
                if whose == "method":
                    first, last = int(match[1]), int(match[2] or match[1])
                    cited |= set(range(first, last + 1))
    assert cited and cited <= sections, sorted(cited - sections)


def test_nothing_cites_the_specification_outside_the_repository():
    this = Path(__file__).relative_to(ROOT).as_posix()  # which spells out what it looks for
    for name, text in tracked_text_files():
        assert name == this or ("shared/SPEC" not in text and "SPEC §" not in text), name
