"""Training (SPEC §6): Adam over minibatches reshuffled each epoch, per-epoch history, a Monte Carlo final pass.

Several seeds of one dataset/architecture/variant train together as one stacked model (`networks.StackedVAE`).
Each seed owns two generators, one for initialisation and one for shuffling and noise, and draws from them in a
fixed order whatever else is in the stack, so a seed's numbers do not depend on its stack-mates (see
`tests/test_train.py::test_seed_results_do_not_depend_on_the_stack`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bvae.bound import Bound, check_latent_dim, fit_bound
from bvae.data import BinaryData
from bvae.errors import ConfigError, DivergenceError
from bvae.fingerprint import fingerprint
from bvae.io import atomic_path, provenance, write_parquet
from bvae.networks import ARCHITECTURES, INITS, VARIANTS, StackedVAE, build
from bvae.progress import EpochProgress

ADAM_EPS = 1e-7  # Keras' default, which the paper's code used (PyTorch's is 1e-8)
EVAL_ROWS = 2048  # rows per chunk in full passes: bounds memory for wide stacks


@dataclass(frozen=True)
class TrainSettings:
    """Everything a training depends on besides the data and the seed; all of it lands in the final record."""

    arch: str = "deep"
    variant: str = "vanilla"
    latent_dim: int = 2
    hidden: tuple[int, ...] = (1024, 1024)
    epochs: int = 300
    lr: float = 1e-3
    batch_size: int = 100
    init: str = "he_normal"
    mc_samples: int = 10
    checkpoint_every: int = 10
    threads: int = 1

    def check(self, d: int) -> None:
        for key, allowed in (("arch", ARCHITECTURES), ("variant", VARIANTS), ("init", INITS)):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{key} = {getattr(self, key)!r}; expected one of {', '.join(allowed)}")
        for key in ("epochs", "batch_size", "mc_samples", "checkpoint_every", "threads"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key} = {value!r}; expected a positive integer")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr = {self.lr!r}; expected a positive number")
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise ConfigError(f"hidden = {list(self.hidden)!r}; expected a non-empty list of positive integers")
        check_latent_dim(self.latent_dim, d)


@dataclass
class TrainResult:
    history: pd.DataFrame  # epoch, train_loss, test_loss, seconds
    final: dict


def seed_generators(seed: int) -> tuple[torch.Generator, torch.Generator]:
    """Independent streams for initialisation and for shuffling/noise, both fixed by `seed`."""
    init_state, run_state = np.random.SeedSequence(seed).generate_state(2, dtype=np.uint64)
    return torch.Generator().manual_seed(int(init_state)), torch.Generator().manual_seed(int(run_state))


def make_optimizer(params, lr: float) -> torch.optim.Optimizer:
    """Adam with Keras' ε. Fused: one kernel for the memory-bound update; element-wise, so seeds stay independent."""
    return torch.optim.Adam(params, lr=lr, eps=ADAM_EPS, fused=True)


def run_epoch(model: StackedVAE, opt: torch.optim.Optimizer, x: torch.Tensor, gens, batch_size: int) -> torch.Tensor:
    """One pass over the shuffled training rows; the per-seed mean minibatch loss, weighted by batch size."""
    n, kappa = x.shape[0], model.mu.weight.shape[-1]
    perm = torch.stack([torch.randperm(n, generator=g) for g in gens])
    noise = torch.stack([torch.randn(n, kappa, generator=g) for g in gens])
    total = torch.zeros(len(gens))
    for start in range(0, n, batch_size):
        idx = perm[:, start : start + batch_size]
        loss = model.losses(x[idx], noise[:, start : start + batch_size])[0].mean(1)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()  # seeds share no parameters: each gets the gradient of its own loss
        opt.step()
        total += loss.detach() * idx.shape[1]
    return total / n


@torch.inference_mode()
def full_pass(model: StackedVAE, x: torch.Tensor, gens, samples: int = 1) -> dict[str, np.ndarray]:
    """Per-seed mean loss over `samples` noise draws per row, mean KL, and the variance of μ over the rows."""
    S, kappa = model.stack_size, model.mu.weight.shape[-1]
    loss, kl, mus = torch.zeros(S), torch.zeros(S), []
    for start in range(0, x.shape[0], EVAL_ROWS):
        rows = x[start : start + EVAL_ROWS].expand(S, -1, -1)
        mu, logvar = model.encode(rows)
        mus.append(mu)
        for _ in range(samples):
            noise = torch.stack([torch.randn(rows.shape[1], kappa, generator=g) for g in gens])
            per_row, kl_row = model.losses_given(rows, mu, logvar, noise)
            loss += per_row.sum(1) / samples
        kl += kl_row.sum(1)
    mu = torch.cat(mus, dim=1)
    return {
        "loss": (loss / x.shape[0]).numpy(),
        "kl": (kl / x.shape[0]).numpy(),
        "mu_var": mu.var(1, correction=0).numpy(),
    }


def first_epoch(losses: list[float], limit: float) -> int | None:
    """The first (1-based) epoch whose loss is at or below `limit`, or None."""
    return next((i + 1 for i, value in enumerate(losses) if value <= limit), None)


class Checkpoint:
    """Model, optimizer, generator states and history every K epochs; valid only for the same data and settings."""

    def __init__(self, path: str | os.PathLike | None, key: str):
        self.path, self.key = (Path(path) if path else None), key

    def load(self) -> dict | None:
        if self.path is None or not self.path.exists():
            return None
        state = torch.load(self.path, weights_only=True)
        return state if state.get("key") == self.key else None

    def save(self, state: dict) -> None:
        if self.path is not None:
            with atomic_path(self.path) as tmp:
                torch.save({**state, "key": self.key}, tmp)

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def checkpoint_key(data: BinaryData, settings: TrainSettings, seeds: list[int]) -> str:
    """Identifies a training: the data, the settings, the seeds and the training code (no resuming across edits)."""
    digest = hashlib.sha256(data.train.tobytes() + data.test.tobytes())
    code = fingerprint("bvae.train", "bvae.networks")
    digest.update(json.dumps([dataclasses.asdict(settings), seeds, data.d, code]).encode())
    return digest.hexdigest()


def resume(ckpt: Checkpoint, model, opt, run_gens) -> tuple[dict, int]:
    """Restore model, optimizer and generators from the checkpoint if it holds this training; history and epoch."""
    if state := ckpt.load():
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        for g, g_state in zip(run_gens, state["gens"], strict=True):
            g.set_state(g_state)
        return state["history"], state["epoch"]
    return {"train_loss": [], "test_loss": [], "seconds": []}, 0


def train_seeds(
    data: BinaryData,
    settings: TrainSettings,
    seeds: list[int],
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
) -> list[TrainResult]:
    """Train one model per seed as one stack; resume from `checkpoint` if it holds an unfinished run of the same."""
    settings.check(data.d)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds = {seeds!r}; expected a non-empty list of distinct integers")
    torch.set_num_threads(settings.threads)  # never more threads than the job was given
    # Adam's moments of dead units decay into denormal floats after a few dozen epochs, which makes every
    # element-wise op several times slower (0.66 -> 1.49 s per epoch by epoch 45 at d = 200); flush them to zero.
    torch.set_flush_denormal(True)
    bound = fit_bound(data.train, data.test, settings.latent_dim)  # preinit uses the training split only
    init_gens, run_gens = zip(*(seed_generators(s) for s in seeds), strict=True)
    model = build(
        settings.arch, settings.variant, data.d, settings.latent_dim, settings.hidden, init_gens, settings.init, bound
    )
    opt = make_optimizer(model.parameters(), settings.lr)
    x_train = torch.as_tensor(data.train, dtype=torch.float32)
    x_test = torch.as_tensor(data.test, dtype=torch.float32)
    ckpt = Checkpoint(checkpoint, checkpoint_key(data, settings, list(seeds)))
    started = time.perf_counter()
    history, start_epoch = resume(ckpt, model, opt, run_gens)
    label = f"{data.name} {settings.arch} {settings.variant} seeds {seeds[0]}..{seeds[-1]}"
    bar = EpochProgress(label, start_epoch, settings.epochs, enabled=progress)
    for epoch in bar:
        tick = time.perf_counter()
        train_loss = run_epoch(model, opt, x_train, run_gens, settings.batch_size).numpy()
        test_loss = full_pass(model, x_test, run_gens)["loss"]
        check_finite(train_loss, test_loss, data.name, settings, seeds, epoch + 1)
        history["train_loss"].append(train_loss.tolist())
        history["test_loss"].append(test_loss.tolist())
        history["seconds"].append(time.perf_counter() - tick)
        bar.set_postfix(loss=f"{train_loss.mean():.2f}", bound=f"{bound.bound_train:.2f}")
        if (epoch + 1) % settings.checkpoint_every == 0 and epoch + 1 < settings.epochs:
            ckpt.save(
                {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch + 1,
                 "gens": [g.get_state() for g in run_gens], "history": history}
            )  # fmt: skip
    final_train = full_pass(model, x_train, run_gens, settings.mc_samples)
    final_test = full_pass(model, x_test, run_gens, settings.mc_samples)
    check_finite(final_train["loss"], final_test["loss"], data.name, settings, seeds, settings.epochs)
    wall = time.perf_counter() - started
    results = []
    for i, seed in enumerate(seeds):
        hist = seed_history(history, i)
        final = final_record(data, settings, bound, seed, hist, final_train, final_test, i, wall, len(seeds))
        results.append(TrainResult(history=hist, final=final))
    ckpt.remove()
    return results


def check_finite(train_loss, test_loss, name: str, settings: TrainSettings, seeds, epoch: int) -> None:
    bad = ~(np.isfinite(train_loss) & np.isfinite(test_loss))
    if bad.any():
        seed = seeds[int(np.argmax(bad))]
        raise DivergenceError(
            f"training diverged (non-finite loss) on dataset {name}, arch {settings.arch}, "
            f"variant {settings.variant}, seed {seed}, epoch {epoch}"
        )


def seed_history(history: dict, i: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "epoch": np.arange(1, len(history["seconds"]) + 1),
            "train_loss": [row[i] for row in history["train_loss"]],
            "test_loss": [row[i] for row in history["test_loss"]],
            "seconds": history["seconds"],
        }
    )


def final_record(data, settings, bound: Bound, seed, hist, final_train, final_test, i, wall, stack_size) -> dict:
    """The one-row summary of a training that every table is computed from."""
    train_loss, test_loss = float(final_train["loss"][i]), float(final_test["loss"][i])
    return {
        "dataset": data.name,
        "d": data.d,
        "N": data.n,
        "n_train": data.n_train,
        "n_test": data.n_test,
        "arch": settings.arch,
        "variant": settings.variant,
        "seed": seed,
        "epochs": settings.epochs,
        "latent_dim": settings.latent_dim,
        "hidden": json.dumps(list(settings.hidden)),
        "final_train_loss": train_loss,
        "final_test_loss": test_loss,
        "bound_train": bound.bound_train,
        "bound_test": bound.bound_test,
        "bound_test_strict": bound.bound_test_strict,
        "pct_train": 100 * (train_loss - bound.bound_train) / bound.bound_train,
        "pct_test": 100 * (test_loss - bound.bound_test) / bound.bound_test,
        "final_kl": float(final_train["kl"][i]),
        "active_units": int(np.sum(final_train["mu_var"][i] > 0.01)),
        "lr": settings.lr,
        "batch_size": settings.batch_size,
        "init": settings.init,
        "mc_samples": settings.mc_samples,
        "epochs_to_1pct": first_epoch(hist["train_loss"].tolist(), 1.01 * bound.bound_train),
        "epochs_to_bound": first_epoch(hist["train_loss"].tolist(), bound.bound_train),
        "wall_seconds": wall,
        "stack_size": stack_size,
        "threads": settings.threads,
        "torch_version": torch.__version__,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }


def train(data: BinaryData, settings: TrainSettings, seed: int = 0, **kwargs) -> TrainResult:
    """Train a single seed."""
    return train_seeds(data, settings, [seed], **kwargs)[0]


def write_result(result: TrainResult, outdir: str | os.PathLike) -> None:
    """history.parquet and final.parquet in `outdir`, each written atomically, provenance in the metadata."""
    outdir = Path(outdir)
    write_parquet(result.history, outdir / "history.parquet", {"final": result.final})
    final = pd.DataFrame([result.final]).astype(
        {"epochs_to_1pct": "Int64", "epochs_to_bound": "Int64", "slurm_job_id": "string"}
    )
    write_parquet(final, outdir / "final.parquet", {"provenance": provenance()})
