"""Training with torch: the matrix-product kernels, the stacked networks, the training loop with its checkpoints
and written results, progress display and the golden training that guards the numerics version.

Layer 3: imports `bvae.model`, `bvae.data` and the base modules; the only sub-package that imports torch. (`train`,
the single-seed function, is `bvae.training.train.train`; the name `bvae.training.train` is its module.)
"""

from bvae.training.checkpoint import Checkpoint, checkpoint_key
from bvae.training.kernels import BF16, FP32, MM, Choice, Product, available, blas_threads, choose, step_products
from bvae.training.networks import StackedVAE, build, linear_layers, use_kernel
from bvae.training.progress import EpochProgress
from bvae.training.results import train_and_write, write_result
from bvae.training.train import TrainResult, check_training, train_seeds

__all__ = [
    "BF16",
    "Checkpoint",
    "Choice",
    "EpochProgress",
    "FP32",
    "MM",
    "Product",
    "StackedVAE",
    "TrainResult",
    "available",
    "blas_threads",
    "build",
    "check_training",
    "checkpoint_key",
    "choose",
    "linear_layers",
    "step_products",
    "train_and_write",
    "train_seeds",
    "use_kernel",
    "write_result",
]
