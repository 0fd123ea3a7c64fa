"""Every link between README.md and the pages in docs/ reaches its page and its heading, and a page that cites
another in words, "(README, Performance)", cites a heading that page has."""

import re

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\((?P<path>[^)\s#]*)(?:#(?P<anchor>[^)\s]+))?\)")
CITATION = re.compile(r"\(README, (?P<heading>[^)]+)\)")


def prose(page) -> str:
    """The page without its code blocks, where brackets are code."""
    return re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)


def anchors(page) -> set[str]:
    """The heading anchors a Markdown renderer (GitHub's) gives the page: lower case, spaces as hyphens, no marks."""
    headings = re.findall(r"^#+ (.*)$", prose(page), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_link_reaches_its_page_and_heading(page):
    broken = []
    for link in LINK.finditer(prose(page)):
        if re.match(r"[a-z]+:", link["path"]):  # https:, mailto:
            continue
        target = (page.parent / link["path"]).resolve() if link["path"] else page
        if not target.exists() or (link["anchor"] and target.suffix == ".md" and link["anchor"] not in anchors(target)):
            broken.append(link[0])
    assert not broken, f"{page.name}: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_citation_of_the_readme_names_one_of_its_headings(page):
    headings = set(re.findall(r"^#+ (.*)$", prose(ROOT / "README.md"), re.M))
    assert not [m[0] for m in CITATION.finditer(prose(page)) if m["heading"] not in headings]


def test_the_anchors_are_the_renderers():
    assert "matrix-product-kernels-kernel" in anchors(ROOT / "docs" / "performance.md")
