"""Every figure, written as a PNG: the bound's Figures 3 and 4 and scree plots, the loss development, the comparison,
claim 1's epochs and the collapse map; `style` holds what they share.

Layer 5, the top library layer: may import any other sub-package but `bvae.training`.
"""

from bvae.plots.bound import figure3, figure4, scree
from bvae.plots.claims import claims_figure
from bvae.plots.collapse import collapse_map
from bvae.plots.comparison import comparison_figure
from bvae.plots.style import VARIANT_COLORS, save, save_message
from bvae.plots.training import labelled_history, loss_development, read_labelled_runs

__all__ = [
    "VARIANT_COLORS",
    "claims_figure",
    "collapse_map",
    "comparison_figure",
    "figure3",
    "figure4",
    "labelled_history",
    "loss_development",
    "read_labelled_runs",
    "save",
    "save_message",
    "scree",
]
