"""bvae: the ELBO lower bound of the Bernoulli VAE, its optimum, and the networks it initialises.

The public API, by what a user does (each name is importable from here and from its sub-package):

- load data: `load_binary`, `read_dataset`, `simulate`, `SimSettings`, `BinaryData`;
- fit the bound and decide the latent size: `fit_bound`, `bound_value`, `bound_summary`, `decision_support`,
  `exact_nll`;
- train: `TrainSettings`, `train_seeds`, `train_and_write`;
- check a study's config: `check_config`;
- compare with the paper and decide its claims: `compare`, `paper_tables`, `evaluate`, `Thresholds`;
- errors: `BvaeError` and its kinds `ConfigError`, `DataError`, `OutputError`, `DivergenceError`.

Names load on first use, so that `import bvae` (and the workflow's parse) stays free of torch and matplotlib. The
sub-packages and what may import what: docs/layout.md.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from bvae import processor
from bvae.errors import BvaeError, ConfigError, DataError, DivergenceError, OutputError

processor.pin()  # before numpy and torch load: they read their code paths from the environment once

try:
    __version__ = version("bvae-bound")  # pyproject.toml's version, the one place it is written
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"

_LAZY = {
    "BinaryData": "bvae.data.binary",
    "load_binary": "bvae.data.binary",
    "read_dataset": "bvae.data.binary",
    "SimSettings": "bvae.data.simulate",
    "simulate": "bvae.data.simulate",
    "bound_value": "bvae.model.bound",
    "fit_bound": "bvae.model.bound",
    "bound_summary": "bvae.model.decision",
    "decision_support": "bvae.model.decision",
    "exact_nll": "bvae.model.likelihood",
    "TrainSettings": "bvae.model.settings",
    "train_and_write": "bvae.training.results",
    "train_seeds": "bvae.training.train",
    "check_config": "bvae.study.config",
    "compare": "bvae.report.comparison",
    "paper_tables": "bvae.report.comparison",
    "Thresholds": "bvae.report.claims",
    "evaluate": "bvae.report.claims",
}

__all__ = [
    "BinaryData",
    "BvaeError",
    "ConfigError",
    "DataError",
    "DivergenceError",
    "OutputError",
    "SimSettings",
    "Thresholds",
    "TrainSettings",
    "__version__",
    "bound_summary",
    "bound_value",
    "check_config",
    "compare",
    "decision_support",
    "evaluate",
    "exact_nll",
    "fit_bound",
    "load_binary",
    "paper_tables",
    "read_dataset",
    "simulate",
    "train_and_write",
    "train_seeds",
]

if TYPE_CHECKING:
    from bvae.data.binary import BinaryData, load_binary, read_dataset
    from bvae.data.simulate import SimSettings, simulate
    from bvae.model.bound import bound_value, fit_bound
    from bvae.model.decision import bound_summary, decision_support
    from bvae.model.likelihood import exact_nll
    from bvae.model.settings import TrainSettings
    from bvae.report.claims import Thresholds, evaluate
    from bvae.report.comparison import compare, paper_tables
    from bvae.study.config import check_config
    from bvae.training.results import train_and_write
    from bvae.training.train import train_seeds


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bvae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
