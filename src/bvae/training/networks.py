"""The deep and canonical Bernoulli VAEs of method §5, vanilla and preinit, as *stacks* of independent models.

A stack holds S models of identical shape (one per seed) in weights with a leading dimension S and runs them with
batched matmuls, so that many small trainings share one process and one optimizer step. Nothing couples the
models: each seed's loss depends only on its own slice, and its slice is initialised from its own generator.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from bvae.model.architectures import LAYER_GROUPS, Layers
from bvae.model.bound import Bound
from bvae.training.kernels import linear

TRUNCATED_STD = 0.87962566103423978  # std of a standard normal truncated to [-2, 2]: Keras rescales by it


def draw(shape: tuple[int, ...], fans: tuple[float, float], scheme: str, generator: torch.Generator) -> torch.Tensor:
    """A tensor drawn with a Keras-named scheme (settings.schema.yaml lists them) for the given (fan_in, fan_out)."""
    fan_in, fan_out = fans
    if scheme == "he_normal":
        return torch.randn(shape, generator=generator) * math.sqrt(2 / fan_in)
    if scheme == "he_truncated_normal":
        std = math.sqrt(2 / fan_in) / TRUNCATED_STD
        return nn.init.trunc_normal_(torch.empty(shape), std=std, a=-2 * std, b=2 * std, generator=generator)
    limit = math.sqrt(6 / fan_in) if scheme == "he_uniform" else math.sqrt(6 / (fan_in + fan_out))
    return (torch.rand(shape, generator=generator) * 2 - 1) * limit


def init_weight(shape: tuple[int, int], scheme: str, generator: torch.Generator) -> torch.Tensor:
    """One (fan_in, fan_out) weight matrix."""
    return draw(shape, shape, scheme, generator)


def _draw_bias(size: int, scheme: str, generator: torch.Generator) -> torch.Tensor:
    """A (1, size) bias drawn as Keras draws a 1-D shape: fan_in = fan_out = √size (`init_bias: scheme`)."""
    fan = math.sqrt(size)
    return draw((1, size), (fan, fan), scheme, generator)


class StackedLinear(nn.Module):
    """S independent affine maps x ↦ x W_s + b_s applied to a (S, batch, fan_in) input, through a matrix-product
    kernel of `bvae.training.kernels` (`use_kernel`)."""

    kernel = "torch"

    def __init__(self, fan_in: int, fan_out: int, generators: list[torch.Generator], scheme: str, bias: str):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([init_weight((fan_in, fan_out), scheme, g) for g in generators]))
        if bias == "zeros":
            self.bias = nn.Parameter(torch.zeros(len(generators), 1, fan_out))
        else:
            self.bias = nn.Parameter(torch.stack([_draw_bias(fan_out, scheme, g) for g in generators]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias, self.kernel)


def _mlp(widths: tuple[int, ...], generators: list[torch.Generator], scheme: str, bias: str) -> nn.Sequential:
    """Affine layers between consecutive widths, with ReLU after every one."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [StackedLinear(fan_in, fan_out, generators, scheme, bias), nn.ReLU()]
    return nn.Sequential(*layers)


class StackedVAE(nn.Module):
    """Encoder d → hidden → (μ, log σ²); decoder κ → hidden → d logits, shapes from `bvae.model.architectures`.

    Layers are drawn in the order encoder, μ, log σ², decoder, output, each group with its own scheme; biases are
    zeros or drawn after their layer's weights (`bias`). The loss weighs the KL term by `kl_weight` (1 or 1/κ).
    """

    def __init__(self, layers: Layers, generators, schemes: dict[str, str], bias: str = "zeros", kl_weight=1.0):
        super().__init__()
        head = (layers.encoder[-1], layers.latent_dim)
        self.encoder = _mlp(layers.encoder, generators, schemes["encoder"], bias)
        self.mu = StackedLinear(*head, generators, schemes["mu"], bias)
        self.logvar: StackedLinear | None = StackedLinear(*head, generators, schemes["logvar"], bias)
        self.decoder = _mlp(layers.decoder, generators, schemes["decoder"], bias)
        self.out = StackedLinear(layers.decoder[-1], layers.d, generators, schemes["output"], bias)
        self.kl_weight = kl_weight
        self.register_buffer("fixed_logvar", None)

    @property
    def stack_size(self) -> int:
        return self.out.weight.shape[0]

    def preinit(self, bound: Bound) -> None:
        """method §5: decoder output from W*, b*; μ head from 4M and −M(b* + 2); log σ² fixed at log diag Σ_z."""
        kappa, d = bound.latent_dim, bound.d
        as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        with torch.no_grad():
            self.out.weight.zero_()
            self.out.weight[:, :kappa, :] = as_tensor(bound.W.T)
            self.out.bias[:] = as_tensor(bound.b)
            fan_in = self.mu.weight.shape[1]
            used = min(fan_in, d)
            self.mu.weight.zero_()
            self.mu.weight[:, :used, :] = as_tensor(4 * bound.M.T[:used])
            self.mu.bias[:] = as_tensor(-bound.M @ (bound.b + 2))
        self.logvar = None  # the head is replaced by a constant and no longer trained
        self.fixed_logvar = as_tensor(bound.log_sigma_z).expand(self.stack_size, 1, kappa).clone()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        logvar = self.fixed_logvar.expand(-1, x.shape[1], -1) if self.logvar is None else self.logvar(h)
        return self.mu(h), logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.decoder(z))

    def losses(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example loss (the negative ELBO, its KL term weighted by `kl_weight`) and KL term, shape (S, batch),
        for 0/1 data x and standard normal noise eps."""
        return self.losses_of_encoding(x, *self.encode(x), eps)

    def losses_of_encoding(self, x, mu, logvar, eps) -> tuple[torch.Tensor, torch.Tensor]:
        """`losses` for an already encoded x: Monte Carlo passes reuse one encoding for every noise draw."""
        logits = self.decode(mu + eps * torch.exp(0.5 * logvar))
        nll = (nn.functional.softplus(logits) - x * logits).sum(-1)  # BCE with logits, summed over dimensions
        kl = 0.5 * (torch.exp(logvar) + mu**2 - 1 - logvar).sum(-1)
        return nll + self.kl_weight * kl, kl


def linear_layers(model: nn.Module) -> list[tuple[str, StackedLinear]]:
    """The model's affine layers in forward order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, StackedLinear)]


def use_kernel(model: nn.Module, kernel: str) -> None:
    """Run every affine layer of `model` through `kernel` (see `bvae.training.kernels`)."""
    for _, layer in linear_layers(model):
        layer.kernel = kernel


def build(settings, d: int, generators, bound: Bound | None = None) -> StackedVAE:
    """A stack of one model per generator from `TrainSettings`; preinit needs the training split's `bound`."""
    schemes = {group: settings.scheme(group) for group in LAYER_GROUPS}
    kl_weight = 1.0 if settings.kl_reduction == "sum" else 1 / settings.latent_dim
    model = StackedVAE(settings.layers(d), generators, schemes, settings.init_bias, kl_weight)
    if settings.variant == "preinit":
        if bound is None:
            raise ValueError("preinit needs the training split's bound (fit_bound)")
        model.preinit(bound)
    return model
