"""What README's sections state about the quick study is what its config holds: the protocol it trains is named,
and so is the study's default, which it does not train."""

import re

import yaml

from bvae.model.protocols import DEFAULT
from tests.conftest import ROOT


def section(heading: str) -> str:
    """README's text under `## heading`, up to the next heading."""
    return re.search(rf"^## {heading}\n(.*?)(?=^## )", (ROOT / "README.md").read_text(), re.S | re.M)[1]


def test_the_quick_study_section_names_the_protocol_it_trains():
    protocols = list(yaml.safe_load((ROOT / "config" / "quick.yaml").read_text())["protocols"])
    text = " ".join(section("The quick study").split())
    assert all(f"`{protocol}`" in text for protocol in protocols)
    assert DEFAULT in protocols or f"not the default `{DEFAULT}`" in text
