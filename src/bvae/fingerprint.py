"""Content fingerprints of package code and of user files, given to Snakemake rules as params and to checkpoints.

Snakemake notices edits to a rule's own script but not to the library it calls; a params value that hashes the
package modules a script imports, directly or through other bvae modules, makes `--rerun-triggers params` rerun
exactly the rules whose code changed. The dependency list is read from the imports, so it cannot go stale.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from pathlib import Path

from bvae.errors import ConfigError

PACKAGE = "bvae"


def module_path(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ConfigError(f"module {name!r} not found; expected an importable {PACKAGE} module")
    return Path(spec.origin)


def package_imports(source: str) -> set[str]:
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


def closure(source: str) -> list[str]:
    """Every bvae module that `source` depends on through imports, sorted."""
    seen: set[str] = set()
    todo = package_imports(source)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo |= package_imports(module_path(name).read_text())
    return sorted(seen)


def fingerprint(*modules: str) -> str:
    """A short SHA-256 over the source of the named modules (e.g. "bvae.train"), in the given order."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(name.encode() + b"\0" + module_path(name).read_bytes())
    return digest.hexdigest()[:16]


def code_fingerprint(module: str) -> str:
    """Fingerprint of a bvae module and every bvae module it imports."""
    return fingerprint(*closure(f"import {module}"))


def script_fingerprint(path: str | Path) -> str:
    """Fingerprint of the bvae modules a (workflow) script imports, directly or indirectly."""
    return fingerprint(*closure(Path(path).read_text()))


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 of a file's bytes: a user's data file is then judged by its content, not its modification time."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
