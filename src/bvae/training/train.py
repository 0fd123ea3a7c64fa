"""Training (method §6): Adam over minibatches reshuffled each epoch, per-epoch history, a Monte Carlo final pass.

Several seeds of one dataset/architecture/variant train together as one stacked model (`networks.StackedVAE`).
Each seed owns two generators, one for initialisation and one for shuffling and noise, and draws from them in a
fixed order whatever else is in the stack, so a seed's numbers do not depend on its stack-mates (see
`tests/test_train.py::test_seed_results_do_not_depend_on_the_stack`).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from bvae.data.binary import BinaryData, check_seed
from bvae.errors import ConfigError, DivergenceError, tell
from bvae.io import (
    Claim,
)
from bvae.model.bound import Bound, check_bound_memory, fit_bound
from bvae.model.resources import EVAL_ROWS, check_memory, train_bytes
from bvae.model.settings import TrainSettings
from bvae.numerics import VERSION as NUMERICS
from bvae.training.checkpoint import Checkpoint, checkpoint_key, data_digest
from bvae.training.kernels import Choice, available, blas_threads, choose, step_products
from bvae.training.networks import StackedVAE, build, linear_layers, use_kernel
from bvae.training.progress import EpochProgress

HISTORY = ("train_loss", "test_loss", "test_kl", "test_active_units", "seconds")  # per epoch, per seed but seconds
ACTIVE_VAR = 0.01  # a latent unit is active when its posterior mean varies more than this over the data (method §6)
# A training loss above DIVERGENCE_FACTOR · d·log 2 is a divergence. d·log 2 is the loss of the constant model
# p = 1/2, and the bound's optimum lies below it; freshly initialised networks start at 1.0–3.4 × d·log 2 (measured
# for both architectures, both variants and all three inits at d = 20, 200, 1000, hidden 8 to 1024), and training
# lowers the loss from there. 10 × leaves a margin of 3 over the worst start, while a diverging Adam overshoots by
# orders of magnitude (lr = 10, canonical preinit, d = 12: 1e8 × in epoch 2). Test losses are not checked: an
# overfitted decoder may score badly on unseen rows, and that is a result to report, not a failed training.
DIVERGENCE_FACTOR = 10
RESULT_FILES = ("history.parquet", "final.parquet")  # final last: it marks a complete pair


@dataclass
class TrainResult:
    history: pd.DataFrame  # epoch, train_loss, test_loss, seconds
    final: dict
    key: str = ""  # the training's identity (checkpoint_key), recorded with the written results


def seed_generators(seed: int) -> tuple[torch.Generator, torch.Generator]:
    """Independent streams for initialisation and for shuffling/noise, both fixed by `seed`."""
    init_state, run_state = np.random.SeedSequence(seed).generate_state(2, dtype=np.uint64)
    return torch.Generator().manual_seed(int(init_state)), torch.Generator().manual_seed(int(run_state))


def make_optimizer(params, settings: TrainSettings) -> torch.optim.Optimizer:
    """Adam. Fused: one kernel for the memory-bound update; element-wise, so seeds stay independent."""
    return torch.optim.Adam(params, lr=settings.lr, eps=settings.adam_eps, fused=True)


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
            per_row, kl_row = model.losses_of_encoding(rows, mu, logvar, noise)
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


def resume(state: dict | None, model, opt, run_gens) -> tuple[dict, int]:
    """Restore model, optimizer and generators from a checkpoint's `state` if there is one; history and epoch."""
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        for g, g_state in zip(run_gens, state["gens"], strict=True):
            g.set_state(g_state)
        return state["history"], state["epoch"]
    return {key: [] for key in HISTORY}, 0


def _check_seeds(seeds: list[int]) -> None:
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds = {seeds!r}; expected a non-empty list of distinct integers")
    for seed in seeds:
        check_seed(seed)


def check_training(data: BinaryData, settings: TrainSettings, seeds: list[int]) -> None:
    """Every setting and seed, and the memory it needs, before anything is trained or written."""
    settings.check(data.d)
    if settings.kernel != "auto" and settings.kernel not in available():
        raise ConfigError(f"kernel = {settings.kernel!r} is not in this torch build; expected one of {available()}")
    _check_seeds(seeds)
    need = train_bytes(
        settings.arch, data.d, data.n_train, data.n_test, settings.latent_dim, settings.hidden, len(seeds)
    )
    hidden = f", hidden = {list(settings.hidden)}" if settings.arch == "deep" else ""
    stack = f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
    check_memory(need, f"training {settings.arch} at d = {data.d}{hidden} with {stack}")
    check_bound_memory(data.d, data.n)


def _pick_kernel(state: dict | None, model: StackedVAE, settings: TrainSettings) -> Choice:
    """A resumed training keeps the kernel it started with; a new one chooses (`bvae.training.kernels.choose`)."""
    if state:
        return Choice(state["kernel"], state["kernel_seconds"])
    weights = [(name, layer.weight) for name, layer in linear_layers(model)]
    return choose(step_products(weights, settings.batch_size), settings.precision, settings.kernel)


def train_seeds(
    data: BinaryData,
    settings: TrainSettings,
    seeds: list[int],
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    owner: Claim | None = None,
) -> list[TrainResult]:
    """Train one model per seed as one stack (the seeds' networks batched into one model).

    Arguments:
        data: the dataset; preinit fits the bound on its training split.
        settings: every setting the training depends on (`TrainSettings.check` runs first).
        seeds: the seeds, each its own initialisation and minibatch order; one result per seed.
        checkpoint: a file to resume from if it holds this training (unfinished: it resumes at its last epoch;
            finished: its results are returned without training), else to replace (`train_and_write` refuses to,
            unless asked); it then holds the results. None: no checkpoint.
        progress: show the epochs as they pass.
        owner: the caller's claim on its output directories; the training stops as soon as it loses it (a later
            run took them over).

    Returns:
        One `TrainResult` per seed: its per-epoch history, its final record and the training's key.

    Raises:
        ConfigError: a setting or seed is invalid, or the training cannot fit in memory.
        DivergenceError: a loss became NaN or infinite.
        OutputError: the claim on the output directories was lost.
    """
    check_training(data, settings, seeds)
    key = checkpoint_key(data, settings, list(seeds))
    label = f"{data.name} {settings.arch} {settings.variant} seeds {seeds[0]}..{seeds[-1]}"
    ckpt = Checkpoint(checkpoint, key, f"{label}, {settings.epochs} epochs", owner)
    state = ckpt.load()
    if state and "finals" in state:
        tell(f"{ckpt.path} holds this finished training: its results are taken from there, without training")
        finals = [json.loads(final) for final in state["finals"]]
        return [TrainResult(_seed_history(state["history"], i), final, key) for i, final in enumerate(finals)]
    torch.set_num_threads(settings.threads)  # never more threads than the job was given
    # Adam's moments of dead units decay into denormal floats after a few dozen epochs, which makes every
    # element-wise op several times slower (0.66 -> 1.49 s per epoch by epoch 45 at d = 200); flush them to zero.
    torch.set_flush_denormal(True)
    bound = fit_bound(data.train, data.test, settings.latent_dim)  # preinit uses the training split only
    init_gens, run_gens = zip(*(seed_generators(s) for s in seeds), strict=True)
    model = build(settings, data.d, init_gens, bound)
    opt = make_optimizer(model.parameters(), settings)
    x_train = torch.as_tensor(data.train, dtype=torch.float32)
    x_test = torch.as_tensor(data.test, dtype=torch.float32)
    started = time.perf_counter()
    history, start_epoch = resume(state, model, opt, run_gens)
    label = f"{data.name} {settings.arch} {settings.variant} {seed_label(seeds)}"
    if start_epoch:
        tell(f"{ckpt.path} holds this training after epoch {start_epoch} of {settings.epochs}: it resumes there")
    bar = EpochProgress(label, start_epoch, settings.epochs, enabled=progress)
    with blas_threads(settings.threads):  # numpy's BLAS, a kernel, gets the job's threads like torch
        kernel = _pick_kernel(state, model, settings)
        use_kernel(model, kernel.kernel)
        for epoch in bar:
            ckpt.owner.check()
            tick = time.perf_counter()
            train_loss = run_epoch(model, opt, x_train, run_gens, settings.batch_size).numpy()
            test = full_pass(model, x_test, run_gens)
            check_losses(train_loss, test["loss"], data, settings, seeds, epoch + 1)
            history["train_loss"].append(train_loss.tolist())
            history["test_loss"].append(test["loss"].tolist())
            history["test_kl"].append(test["kl"].tolist())  # collapse shows as KL -> 0 and no active unit
            history["test_active_units"].append(active_units(test["mu_var"]).tolist())
            history["seconds"].append(time.perf_counter() - tick)
            bar.set_postfix(loss=f"{train_loss.mean():.2f}", bound=f"{bound.bound_train:.2f}")
            if (epoch + 1) % settings.checkpoint_every == 0 and epoch + 1 < settings.epochs:
                ckpt.save(
                    {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch + 1,
                     "gens": [g.get_state() for g in run_gens], "history": history,
                     "kernel": kernel.kernel, "kernel_seconds": kernel.seconds}
                )  # fmt: skip
        final_train = full_pass(model, x_train, run_gens, settings.mc_samples)
        final_test = full_pass(model, x_test, run_gens, settings.mc_samples)
    check_losses(final_train["loss"], final_test["loss"], data, settings, seeds, settings.epochs)
    wall = time.perf_counter() - started
    results = []
    for i, seed in enumerate(seeds):
        hist = _seed_history(history, i)
        final = _final_record(data, settings, bound, seed, hist, final_train, final_test, i, wall, len(seeds), kernel)
        results.append(TrainResult(history=hist, final=final, key=key))
    ckpt.save_results(history, [result.final for result in results])
    return results


def seed_label(seeds: list[int]) -> str:
    """How progress lines name a training's seeds: seed 3, seeds 0-9 (a run of seeds), seeds 2, 5, 9."""
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    consecutive = list(seeds) == list(range(seeds[0], seeds[0] + len(seeds)))
    return f"seeds {seeds[0]}-{seeds[-1]}" if consecutive else f"seeds {', '.join(map(str, seeds))}"


def check_losses(train_loss, test_loss, data: BinaryData, settings: TrainSettings, seeds, epoch: int) -> None:
    """DivergenceError for a non-finite loss, or a training loss above DIVERGENCE_FACTOR · d·log 2."""
    limit = DIVERGENCE_FACTOR * data.d * math.log(2)
    for bad, why in (
        (~(np.isfinite(train_loss) & np.isfinite(test_loss)), "non-finite loss"),
        (train_loss > limit, f"training loss {{loss:.4g}} > {DIVERGENCE_FACTOR} × d·log 2 = {limit:.4g}"),
    ):
        if bad.any():
            i = int(np.argmax(bad))
            raise DivergenceError(
                f"training diverged ({why.format(loss=train_loss[i])}) on dataset {data.name}, arch {settings.arch}, "
                f"variant {settings.variant}, seed {seeds[i]}, epoch {epoch}"
            )


def active_units(mu_var: np.ndarray) -> np.ndarray:
    """Per seed, the latent units whose posterior mean varies over the data: (S, κ) variances -> (S,) counts."""
    return np.sum(mu_var > ACTIVE_VAR, axis=-1)


def _seed_history(history: dict, i: int) -> pd.DataFrame:
    per_seed = {key: [row[i] for row in history[key]] for key in HISTORY if key != "seconds"}
    return pd.DataFrame({"epoch": np.arange(1, len(history["seconds"]) + 1), **per_seed, "seconds": history["seconds"]})


def _final_record(data, settings, bound: Bound, seed, hist, final_train, final_test, i, wall, stack_size, kernel):
    """The one-row summary of a training that every table is computed from (`kernel`: the `Choice` it ran on)."""
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
        **{key: json.dumps(value) if isinstance(value, list) else value for key, value in settings.values().items()},
        "final_train_loss": train_loss,
        "final_test_loss": test_loss,
        "bound_train": bound.bound_train,
        "bound_test": bound.bound_test,
        "bound_test_strict": bound.bound_test_strict,
        "pct_train": 100 * (train_loss - bound.bound_train) / bound.bound_train,
        "pct_test": 100 * (test_loss - bound.bound_test) / bound.bound_test,
        "final_kl": float(final_train["kl"][i]),
        "active_units": int(active_units(final_train["mu_var"][i])),
        "epochs_to_1pct": first_epoch(hist["train_loss"].tolist(), 1.01 * bound.bound_train),
        "epochs_to_bound": first_epoch(hist["train_loss"].tolist(), bound.bound_train),
        "wall_seconds": wall,
        "stack_size": stack_size,
        "threads": settings.threads,
        "kernel_used": kernel.kernel,
        "kernel_seconds": json.dumps(kernel.seconds) if kernel.seconds else None,
        "numerics": NUMERICS,
        "data_sha256": data_digest(data),
        "data_definition": json.dumps(data.metadata["definition"]) if "definition" in data.metadata else None,
        "torch_version": torch.__version__,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }


def train(data: BinaryData, settings: TrainSettings, seed: int = 0, **kwargs) -> TrainResult:
    """Train a single seed."""
    return train_seeds(data, settings, [seed], **kwargs)[0]
