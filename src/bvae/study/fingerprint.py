"""Content fingerprints of workflow code and of user files, given to Snakemake rules as params.

Snakemake notices edits to a rule's own script but not to the library it calls. A params value that hashes the
script, the package modules it imports, directly or through other bvae modules, and the data files they name (the
paper's cells, the settings schema) makes `--rerun-triggers params` rerun exactly the rules whose code or data
changed. The code is hashed as its syntax tree without docstrings, so an edited comment, docstring or layout reruns
nothing, and each module by its content, linked to the content of what it imports, so a moved module reruns nothing
either. The dependency list is read from the imports, so it cannot go stale. Training rules are keyed on the
numerics version instead (`bvae.numerics`): hours of training are not rerun for a renamed variable.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
from pathlib import Path

from bvae.errors import ConfigError

PACKAGE = "bvae"


def _module_path(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ConfigError(f"module {name!r} not found; expected an importable {PACKAGE} module")
    return Path(spec.origin)


def _targets(node: ast.AST) -> list[str]:
    """The bvae modules one import statement loads (`import bvae.x`, `from bvae.x import y`, `from bvae import x`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE]
    if not (isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE):
        return []
    found = [node.module]
    if node.module == PACKAGE:  # `from bvae import x` may name a submodule
        found += [f"{PACKAGE}.{a.name}" for a in node.names if importlib.util.find_spec(f"{PACKAGE}.{a.name}")]
    return found


def _imports(tree: ast.AST) -> list[str]:
    """The bvae modules a syntax tree imports, in the order of its import statements."""
    return [name for node in ast.walk(tree) for name in _targets(node)]


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _normalise(source: str) -> ast.Module:
    """Python source as its syntax tree without docstrings, and with the names of the bvae modules it imports left
    out: what it does, not how it is commented or laid out, nor where its imports live (the fingerprint links each
    import to the imported module's content instead)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if node.body and _is_docstring(node.body[0]):
                node.body = node.body[1:] or [ast.Pass()]
        elif isinstance(node, ast.ImportFrom) and _targets(node):
            node.module = PACKAGE
        elif isinstance(node, ast.Import) and _targets(node):
            node.names = [ast.alias(PACKAGE if a.name.split(".")[0] == PACKAGE else a.name, a.asname)
                          for a in node.names]  # fmt: skip
    return tree


def _data_files(path: Path, tree: ast.AST) -> list[Path]:
    """The data files beside a module that it names: files in its folder (or below) whose name is a string constant
    of its code, like `Path(__file__).with_name("paper") / "paper_tables.csv"`."""
    names = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return sorted(p for p in path.parent.rglob("*") if p.name in names and p.is_file() and p.suffix != ".py")


def _closure(source: str) -> dict[str, Path]:
    """Every bvae module that `source` depends on through imports, directly or indirectly: name -> file."""
    found: dict[str, Path] = {}
    todo = _imports(ast.parse(source))
    while todo:
        name = todo.pop()
        if name not in found:
            found[name] = _module_path(name)
            todo += _imports(ast.parse(found[name].read_text()))
    return found


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def script_fingerprint(path: str | os.PathLike) -> str:
    """A short SHA-256 over a (workflow) script, the bvae modules it imports, directly or indirectly, and the data
    files they name. Each module counts by its content, linked to the content of the modules it imports, never by
    its name: a module moved (and its imports rewritten) keeps every fingerprint."""
    paths = {"": Path(path), **_closure(Path(path).read_text())}
    sources = {name: file.read_text() for name, file in paths.items()}
    trees = {name: _normalise(source) for name, source in sources.items()}
    own = {name: _sha(ast.dump(tree).encode()) for name, tree in trees.items()}
    entries = []
    for name, tree in trees.items():
        links = [own[target] for target in _imports(ast.parse(sources[name]))]
        data = [_sha(file.read_bytes()) for file in _data_files(paths[name], tree)]
        entries.append(" ".join([own[name], *links, "data", *data]))
    return _sha("\n".join(sorted(entries)).encode())[:16]


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 of a file's bytes: a user's data file is then judged by its content, not its modification time."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
