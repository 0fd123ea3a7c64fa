"""Content fingerprints of package modules, given to Snakemake rules as params.

Snakemake notices edits to a rule's own script but not to the library it calls; a params value that hashes the
modules a rule depends on makes `--rerun-triggers params` rerun exactly the rules whose code changed.
"""

from __future__ import annotations

import hashlib
import importlib.util

from bvae.errors import ConfigError


def fingerprint(*modules: str) -> str:
    """A short SHA-256 over the source of the named modules (e.g. "bvae.train"), in the given order."""
    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ConfigError(f"module {name!r} not found; expected an importable bvae module")
        with open(spec.origin, "rb") as source:
            digest.update(name.encode() + b"\0" + source.read())
    return digest.hexdigest()[:16]
