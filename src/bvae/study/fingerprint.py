"""Content fingerprints of workflow code and of user files, given to Snakemake rules as params.

Snakemake notices edits to a rule's own script but not to the library it calls. A params value that hashes the
script and the package modules it imports, directly or through other bvae modules, makes `--rerun-triggers params`
rerun exactly the rules whose code changed. The code is hashed as its syntax tree without docstrings, so an edited
comment, docstring or layout reruns nothing. The dependency list is read from the imports, so it cannot go stale.
Training rules are keyed on the numerics version instead (`bvae.numerics`): hours of training are not rerun for a
renamed variable.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from pathlib import Path

from bvae.errors import ConfigError

PACKAGE = "bvae"


def _module_path(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ConfigError(f"module {name!r} not found; expected an importable {PACKAGE} module")
    return Path(spec.origin)


def _package_imports(source: str) -> set[str]:
    """The bvae modules that Python source imports (`import bvae.x`, `from bvae.x import y`, `from bvae import x`)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            found.add(node.module)
            if node.module == PACKAGE:  # `from bvae import x` may name a submodule
                found |= {f"{PACKAGE}.{a.name}" for a in node.names if importlib.util.find_spec(f"{PACKAGE}.{a.name}")}
    return found


def _collect_imports(source: str) -> list[str]:
    """Every bvae module that `source` depends on through imports, sorted."""
    seen: set[str] = set()
    todo = _package_imports(source)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo |= _package_imports(_module_path(name).read_text())
    return sorted(seen)


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _normalise(source: str) -> str:
    """Python source as its syntax tree without docstrings: what it does, not how it is commented or laid out."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree)


def script_fingerprint(path: str | Path) -> str:
    """A short SHA-256 over a (workflow) script and the bvae modules it imports, directly or indirectly."""
    source = Path(path).read_text()
    digest = hashlib.sha256(_normalise(source).encode())
    for name in _collect_imports(source):
        digest.update(b"\0" + _normalise(_module_path(name).read_text()).encode())
    return digest.hexdigest()[:16]


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 of a file's bytes: a user's data file is then judged by its content, not its modification time."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
