"""The deep and canonical Bernoulli VAEs of SPEC §5, vanilla and preinit, as *stacks* of independent models.

A stack holds S models of identical shape (one per seed) in weights with a leading dimension S and runs them with
batched matmuls, so that many small trainings share one process and one optimizer step. Nothing couples the
models: each seed's loss depends only on its own slice, and its slice is initialised from its own generator.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from bvae.bound import Bound
from bvae.errors import ConfigError

ARCHITECTURES = ("deep", "canonical")
VARIANTS = ("vanilla", "preinit")
INITS = ("he_normal", "glorot_uniform", "he_uniform")


def init_weight(shape: tuple[int, int], scheme: str, generator: torch.Generator) -> torch.Tensor:
    """One (fan_in, fan_out) weight matrix drawn with the Keras-named scheme (He normal is untruncated here)."""
    fan_in, fan_out = shape
    if scheme == "he_normal":
        return torch.randn(shape, generator=generator) * math.sqrt(2 / fan_in)
    limit = math.sqrt(6 / fan_in) if scheme == "he_uniform" else math.sqrt(6 / (fan_in + fan_out))
    if scheme not in INITS:
        raise ConfigError(f"init = {scheme!r}; expected one of {', '.join(INITS)}")
    return (torch.rand(shape, generator=generator) * 2 - 1) * limit


class StackedLinear(nn.Module):
    """S independent affine maps x ↦ x W_s + b_s applied to a (S, batch, fan_in) input."""

    def __init__(self, fan_in: int, fan_out: int, generators: list[torch.Generator], scheme: str):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([init_weight((fan_in, fan_out), scheme, g) for g in generators]))
        self.bias = nn.Parameter(torch.zeros(len(generators), 1, fan_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


def mlp(widths: list[int], generators: list[torch.Generator], scheme: str) -> nn.Sequential:
    """Affine layers between consecutive widths, with ReLU after every one."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [StackedLinear(fan_in, fan_out, generators, scheme), nn.ReLU()]
    return nn.Sequential(*layers)


def hidden_widths(arch: str, d: int, hidden: tuple[int, ...]) -> list[int]:
    if arch == "deep":
        return list(hidden)
    if arch == "canonical":
        return [d, d]
    raise ConfigError(f"arch = {arch!r}; expected one of {', '.join(ARCHITECTURES)}")


class StackedVAE(nn.Module):
    """Encoder d → hidden → (μ, log σ²); decoder κ → reversed hidden → d logits (canonical: κ → d, affine)."""

    def __init__(self, arch: str, d: int, latent_dim: int, hidden: tuple[int, ...], generators, init: str):
        super().__init__()
        widths = hidden_widths(arch, d, hidden)
        self.encoder = mlp([d, *widths], generators, init)
        self.mu = StackedLinear(widths[-1], latent_dim, generators, init)
        self.logvar = StackedLinear(widths[-1], latent_dim, generators, init)
        decoder_hidden = widths[::-1] if arch == "deep" else []
        self.decoder = mlp([latent_dim, *decoder_hidden], generators, init)
        self.out = StackedLinear(([latent_dim, *decoder_hidden])[-1], d, generators, init)
        self.register_buffer("fixed_logvar", None)

    @property
    def stack_size(self) -> int:
        return self.out.weight.shape[0]

    def preinit(self, bound: Bound) -> None:
        """SPEC §5: decoder output from W*, b*; μ head from 4M and −M(b* + 2); log σ² fixed at log diag Σ_z."""
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
        """Per-example negative ELBO and KL term, shape (S, batch), for 0/1 data x and standard normal noise eps."""
        return self.losses_given(x, *self.encode(x), eps)

    def losses_given(self, x, mu, logvar, eps) -> tuple[torch.Tensor, torch.Tensor]:
        """`losses` for an already encoded x: Monte Carlo passes reuse one encoding for every noise draw."""
        logits = self.decode(mu + eps * torch.exp(0.5 * logvar))
        nll = (nn.functional.softplus(logits) - x * logits).sum(-1)  # BCE with logits, summed over dimensions
        kl = 0.5 * (torch.exp(logvar) + mu**2 - 1 - logvar).sum(-1)
        return nll + kl, kl


def build(arch, variant, d, latent_dim, hidden, generators, init, bound: Bound | None = None) -> StackedVAE:
    """A stack of one model per generator; preinit needs the training split's `bound`."""
    if variant not in VARIANTS:
        raise ConfigError(f"variant = {variant!r}; expected one of {', '.join(VARIANTS)}")
    model = StackedVAE(arch, d, latent_dim, tuple(hidden), generators, init)
    if variant == "preinit":
        model.preinit(bound)
    return model
