"""The package's layout (docs/layout.md): every module's imports, at any depth, go to its own layer or a lower one,
never up and never across between the two sibling layers `training` and `study`; no module is too long to read."""

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "src" / "bvae"
# Lower number: lower layer. A module may import its own layer and every lower one (training and study share a
# level but may not import each other: the workflow parses study without torch, and training needs no study).
LAYERS = {
    "errors": 0, "io": 0, "numerics": 0, "processor": 0,
    "data": 1,
    "model": 2,
    "training": 3, "study": 3,
    "report": 4,
    "plots": 5,
    "cli": 6,
}  # fmt: skip
SIBLINGS = {frozenset({"training", "study"})}
LONGEST = 400  # lines; a longer module is one concern that reads as one (listed, with why, in docs/layout.md)
LONG_ONES = {"cli.py", "io.py", "data/binary.py"}


def part_of(module: str) -> str | None:
    """The top-level part of `bvae` a dotted module name belongs to (None: not bvae, or bvae itself)."""
    parts = module.split(".")
    return parts[1] if parts[0] == "bvae" and len(parts) > 1 else None


def imports(path: Path) -> list[str]:
    """Every bvae module a source file imports, at any depth (function-level imports too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            if node.module == "bvae":  # `from bvae import x`: x may be a part (`bvae.cli`) or a name (__version__)
                found += [f"bvae.{a.name}" for a in node.names if a.name in LAYERS]
    return [name for name in found if part_of(name)]


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def test_every_part_has_a_layer():
    parts = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert parts == set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer_or_its_sibling(path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    wrong = [
        name
        for name in imports(path)
        if LAYERS[part_of(name)] > LAYERS[own] or frozenset({own, part_of(name)}) in SIBLINGS
    ]
    assert not wrong, f"{own} (layer {LAYERS[own]}) imports {wrong}: see docs/layout.md"


def test_the_package_root_loads_its_api_lazily():
    """`bvae/__init__.py` names the public API but imports only the base layer, so `import bvae` loads no torch."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    eager = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("bvae.")]
    assert [n.module for n in eager] == ["bvae.errors"]


def test_no_module_is_longer_than_it_reads():
    long = {str(p.relative_to(PACKAGE)) for p in MODULES if len(p.read_text().splitlines()) > LONGEST}
    assert long <= LONG_ONES, f"over {LONGEST} lines: {sorted(long - LONG_ONES)} (split by concern, docs/layout.md)"
    layout = (ROOT / "docs" / "layout.md").read_text()
    assert all(f"`{name}`" in layout for name in LONG_ONES), "docs/layout.md says why each long module is one concern"


def test_every_sub_package_declares_its_public_names():
    for init in PACKAGE.glob("*/__init__.py"):
        tree = ast.parse(init.read_text())
        declared = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "__all__")
        names = {e.value for e in declared.value.elts}
        imported = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
        assert names == imported, f"{init}: __all__ and the re-exported names differ"
