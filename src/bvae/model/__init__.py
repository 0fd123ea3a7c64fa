"""The model without training: the bound and its optimum, the decision support, exact likelihoods, the two
architectures, the training settings (schema, checks), the shipped protocols and resource estimates.

Layer 2: imports `bvae.data` and the base modules; no torch.
"""

from bvae.model.architectures import ARCHITECTURES, LAYER_GROUPS, VARIANT_NOTE, VARIANTS, Layers, layers
from bvae.model.bound import Bound, bound_value, check_bound_memory, check_latent_dim, closed_form_bound, fit_bound
from bvae.model.decision import (
    NLL_COLUMNS,
    DecisionSupport,
    bound_summary,
    bound_tables,
    decision_support,
    mp_edge,
    support_of,
)
from bvae.model.likelihood import exact_nll, marginal_nll, with_recorded_settings
from bvae.model.protocols import DEFAULT, PROTOCOLS
from bvae.model.resources import EVAL_ROWS, check_memory, train_bytes, train_mem_mb, train_runtime_minutes
from bvae.model.settings import (
    JOB_KEYS,
    PROPERTIES,
    RUN_ONLY,
    STRICT_VALIDATOR,
    TrainSettings,
    add_options,
    check_combination,
    check_values,
    from_args,
    frozen,
)

__all__ = [
    "ARCHITECTURES",
    "Bound",
    "DEFAULT",
    "DecisionSupport",
    "EVAL_ROWS",
    "JOB_KEYS",
    "LAYER_GROUPS",
    "Layers",
    "NLL_COLUMNS",
    "PROPERTIES",
    "PROTOCOLS",
    "RUN_ONLY",
    "STRICT_VALIDATOR",
    "TrainSettings",
    "VARIANTS",
    "VARIANT_NOTE",
    "add_options",
    "bound_summary",
    "bound_tables",
    "bound_value",
    "check_bound_memory",
    "check_combination",
    "check_latent_dim",
    "check_memory",
    "check_values",
    "closed_form_bound",
    "decision_support",
    "exact_nll",
    "fit_bound",
    "from_args",
    "frozen",
    "layers",
    "marginal_nll",
    "mp_edge",
    "support_of",
    "train_bytes",
    "train_mem_mb",
    "train_runtime_minutes",
    "with_recorded_settings",
]
