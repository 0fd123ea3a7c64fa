"""The shapes of the two architectures of method §5 and the names of the variants, free of torch.

One definition of each architecture's layer widths serves the networks (`bvae.training.networks`) and the resource
estimates of the workflow (`bvae.model.resources`), which must not import torch while Snakemake parses the workflow.
Adding an architecture means one entry in `ARCHITECTURES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bvae.errors import ConfigError

VARIANTS = {"vanilla": "VAE", "preinit": "VAE preinit"}  # name (config, CLI, tables, figures) -> the paper's name
# Said once in every caption; tables and figures then use the names a user types.
PAPER_NAMES = " and ".join(f'"{name}"' for name in VARIANTS.values())
VARIANT_NOTE = f"{' and '.join(VARIANTS)} are the paper's {PAPER_NAMES}."
LAYER_GROUPS = ("encoder", "mu", "logvar", "decoder", "output")  # groups that each get an initialisation scheme


@dataclass(frozen=True)
class Layers:
    """Widths of an encoder d → … → h (then the μ and log σ² heads h → κ) and a decoder κ → … (then → d)."""

    encoder: tuple[int, ...]  # starts at d; every step is an affine layer followed by ReLU
    decoder: tuple[int, ...]  # starts at κ; every step is an affine layer followed by ReLU; the output layer follows

    @property
    def d(self) -> int:
        return self.encoder[0]

    @property
    def latent_dim(self) -> int:
        return self.decoder[0]

    def affine(self) -> dict[str, list[tuple[int, int]]]:
        """(fan_in, fan_out) of every affine layer, by layer group."""
        pairs = lambda widths: list(zip(widths[:-1], widths[1:], strict=True))  # noqa: E731
        head = [(self.encoder[-1], self.latent_dim)]
        return {
            "encoder": pairs(self.encoder),
            "mu": head,
            "logvar": head,
            "decoder": pairs(self.decoder),
            "output": [(self.decoder[-1], self.d)],
        }

    def weight_count(self) -> int:
        """Multiply-adds per example of one forward pass (= weights of all affine layers)."""
        return sum(a * b for group in self.affine().values() for a, b in group)


def deep(d: int, latent_dim: int, hidden: tuple[int, ...]) -> Layers:
    """Encoder d → h₁ → h₂, decoder κ → h₂ → h₁ (mirrored), output → d."""
    return Layers(encoder=(d, *hidden), decoder=(latent_dim, *reversed(hidden)))


def canonical(d: int, latent_dim: int, hidden: tuple[int, ...]) -> Layers:
    """Encoder d → d → d; the decoder is the output layer alone, κ → d: affine, exactly the model of the bound."""
    return Layers(encoder=(d, d, d), decoder=(latent_dim,))


ARCHITECTURES = {"deep": deep, "canonical": canonical}


def layers(arch: str, d: int, latent_dim: int, hidden: tuple[int, ...]) -> Layers:
    if arch not in ARCHITECTURES:
        raise ConfigError(f"arch = {arch!r}; expected one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](d, latent_dim, tuple(hidden))
