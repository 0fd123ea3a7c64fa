"""One configuration measured: step, test-pass and final-pass time with torch's kernel and the chosen one, the
products' speeds at every kernel, the roofline floor, the checkpoint save."""

from __future__ import annotations

import functools
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch
from bench.roofline.machine import others_busy, stat_now, wait_for_idle

from bvae.data.simulate import SimSettings, simulate
from bvae.model.bound import fit_bound
from bvae.model.settings import TrainSettings
from bvae.training.checkpoint import Checkpoint
from bvae.training.kernels import Product, available, choose, product, race, rotated, step_products
from bvae.training.networks import build, linear_layers, use_kernel
from bvae.training.train import full_pass, run_epoch, seed_generators
from bvae.training.train import make_optimizer as package_optimizer

N_TRAIN, N_TEST, BATCH, HIDDEN, LATENT = 6700, 3300, 100, (1024, 1024), 2


STEPS_PER_EPOCH = math.ceil(N_TRAIN / BATCH)  # 67


TABLE_D = (200, 1000)


ADAM_BYTES_PER_PARAM = 7 * 4


_DATA: dict[int, object] = {}


def dataset(d: int):
    if d not in _DATA:
        _DATA[d] = simulate(SimSettings(d=d, N=N_TRAIN + N_TEST))
    data = _DATA[d]
    assert data.n_train == N_TRAIN and data.n_test == N_TEST, (data.n_train, data.n_test)
    return data


def make_optimizer(model, adam: str) -> torch.optim.Optimizer:
    """`package`: bvae.training.train.make_optimizer with the default settings; else torch's Adam in the named
    flavour."""
    if adam == "package":
        return package_optimizer(model.parameters(), TrainSettings())
    kwargs = {"default": {}, "fused": {"fused": True}, "foreach": {"foreach": True}}[adam]
    return torch.optim.Adam(model.parameters(), lr=1e-3, eps=TrainSettings().adam_eps, **kwargs)


def make_model(arch: str, variant: str, d: int, S: int, adam: str = "package", kernel: str = "torch"):
    data = dataset(d)
    bound = fit_bound(data.train, data.test, LATENT) if variant == "preinit" else None
    init_gens, run_gens = zip(*(seed_generators(s) for s in range(S)), strict=True)
    model = build(TrainSettings(arch=arch, variant=variant, latent_dim=LATENT, hidden=HIDDEN), d, init_gens, bound)
    use_kernel(model, kernel)
    opt = make_optimizer(model, adam)
    x_train = torch.as_tensor(data.train, dtype=torch.float32)
    x_test = torch.as_tensor(data.test, dtype=torch.float32)
    return model, opt, x_train, x_test, list(run_gens)


def products_of(model) -> list[Product]:
    return step_products([(name, layer.weight) for name, layer in linear_layers(model)], BATCH)


_MM_CACHE: dict[tuple, dict[str, float]] = {}


def clear_product_cache() -> None:
    """Forget the products' measured speeds (a configuration that others disturbed is measured again)."""
    _MM_CACHE.clear()


def probe_products(products: list[Product], threads: int, rounds: int, target: float) -> list[dict]:
    """Per product, seconds per call with every fp32 kernel (`bvae.training.kernels.race`), cached across
    configurations."""
    rows = []
    for p in products:
        key = (p.S, p.batch, p.fan_in, p.fan_out, p.role, threads)
        if key not in _MM_CACHE:
            a, b = p.operands()
            calls = {k: functools.partial(product, k, a, b) for k in available()}
            _MM_CACHE[key] = {k: min(v) for k, v in race(calls, rounds, target).items()}
        seconds = _MM_CACHE[key]
        m, k, n = p.mkn
        rows.append(dict(layer=p.layer, role=p.role, S=p.S, m=m, k=k, n=n, flops=p.flops,
                         best=min(seconds, key=seconds.get), seconds=seconds))  # fmt: skip
    return rows


def time_kernels(runs: dict, budget: float, repeats: int, extras: bool, mc_samples: int) -> tuple[dict, int]:
    """Step, test-pass and final-pass seconds of each kernel's model; the models take turns repeat by repeat."""
    steps = None
    for model, opt, x_train, _, gens in runs.values():
        model.train()
        t = time.perf_counter()
        run_epoch(model, opt, x_train[: 3 * BATCH], gens, BATCH)  # warm-up: allocator, Adam state, thread pool
        steps = steps or max(5, min(40, round(budget / ((time.perf_counter() - t) / 3))))  # about `budget` s
    times = {k: [] for k in runs}
    for r in range(repeats):
        for k in rotated(list(runs), r):
            model, opt, x_train, _, gens = runs[k]
            t = time.perf_counter()
            run_epoch(model, opt, x_train[: steps * BATCH], gens, BATCH)
            times[k].append((time.perf_counter() - t) / steps)

    def time_pass(k: str, samples: int) -> float:
        model, _, _, x_test, gens = runs[k]
        t = time.perf_counter()
        full_pass(model, x_test, gens, samples)
        return time.perf_counter() - t

    passes = {k: [time_pass(k, 1)] for k in runs}  # warm-up, kept only if it is the sole one
    n_pass = 2 if max(p[0] for p in passes.values()) > 1 else max(2, min(repeats, 3))
    for r in range(n_pass):
        for k in rotated(list(runs), r):
            passes[k].append(time_pass(k, 1))
    out = {}
    for k in runs:
        test_pass = min(passes[k][1:])
        final_pass = extra_sample = None
        if extras:  # full_pass's cost is linear in the samples: extrapolate from 1 and 2 to mc_samples
            test_pass2 = min(time_pass(k, 2) for _ in range(max(1, n_pass - 1)))
            extra_sample = max(test_pass2 - test_pass, 0.0)
            final_pass = test_pass + (mc_samples - 1) * extra_sample
        step = min(times[k])  # the least disturbed repeat; all repeats are kept in step_s_all
        out[k] = dict(
            step_s=step,
            step_s_median=statistics.median(times[k]),
            step_s_all=times[k],
            test_pass_s=test_pass,
            final_pass_s=final_pass,
            pass_extra_sample_s=extra_sample,
            epoch_s=step * STEPS_PER_EPOCH + test_pass,
            samples_per_s=runs[k][0].stack_size * BATCH / step,
        )
    return out, steps


def checkpoint_seconds(model, opt, gens) -> float:
    """One checkpoint save of this model's training state."""
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Checkpoint(Path(tmp) / "ckpt.pt", "bench")
        state = {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 1,
                 "gens": [g.get_state() for g in gens], "history": {}}  # fmt: skip
        t = time.perf_counter()
        ckpt.save(state)
        return time.perf_counter() - t


def measure(
    arch: str,
    variant: str,
    d: int,
    S: int,
    threads: int,
    every_kernel: bool,
    timing: dict,
    bandwidth: float,
    extras: bool,
    idle: tuple[float, float],
    adam: str,
    mc_samples: int,
) -> dict:
    """Time one configuration with torch's kernel and the chosen one (`every_kernel`: every fp32 kernel);
    `extras` (1-thread projection runs) adds the final-pass and checkpoint timings."""
    torch.set_num_threads(threads)
    busy_before = wait_for_idle(*idle)
    stat0 = stat_now()
    runs = {"torch": make_model(arch, variant, d, S, adam)}
    products = products_of(runs["torch"][0])
    t = time.perf_counter()
    choice = choose(products, "fp32", "auto")  # what a training at this configuration runs on
    choose_s = time.perf_counter() - t
    for k in available() if every_kernel else [choice.kernel]:
        if k not in runs:
            runs[k] = make_model(arch, variant, d, S, adam, kernel=k)
    by_kernel, steps = time_kernels(runs, timing["budget"], timing["repeats"], extras, mc_samples)
    mm = probe_products(products, threads, timing["rounds"], timing["mm_target"])
    busy_during = others_busy(stat0, stat_now())  # over the steps, the passes and the product probes
    model, opt, _, _, gens = runs["torch"]
    weights = sum(layer.weight.numel() for _, layer in linear_layers(model))
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    flops = sum(p.flops for p in products)
    mm_seconds = {k: sum(row["seconds"][k] for row in mm) for k in available()}
    mm_floor = sum(min(row["seconds"].values()) for row in mm)  # each product at its best kernel
    adam_bytes = ADAM_BYTES_PER_PARAM * params
    adam_floor = adam_bytes / bandwidth
    floor = mm_floor + adam_floor
    chosen, before = by_kernel[choice.kernel], by_kernel["torch"]
    return dict(
        arch=arch,
        variant=variant,
        d=d,
        S=S,
        threads=threads,
        adam=adam,
        steps_timed=steps,
        repeats=timing["repeats"],
        weights=weights,
        params=params,
        other_cpu_busy_before=busy_before,
        other_cpu_busy_during=busy_during,
        kernel=choice.kernel,
        choice_seconds=choice.seconds,
        choose_s=choose_s,
        by_kernel=by_kernel,
        **chosen,
        speedup=before["step_s"] / chosen["step_s"],
        gflops_achieved=6 * weights * BATCH / chosen["step_s"] / 1e9,  # 6 FLOPs per weight MAC per example
        step_flops_executed=flops,
        matmul_gflops={k: flops / s / 1e9 for k, s in mm_seconds.items()},
        matmul_best_kernel=min(mm_seconds, key=mm_seconds.get),
        matmul_peak_gflops=flops / mm_floor / 1e9,
        matmul_floor_s=mm_floor,
        matmul_floor_torch_s=mm_seconds["torch"],
        adam_bytes=adam_bytes,
        adam_floor_s=adam_floor,
        floor_s=floor,
        floor_pct=100 * floor / chosen["step_s"],
        floor_pct_torch_step=100 * floor / before["step_s"],
        floor_torch_pct_torch_step=100 * (mm_seconds["torch"] + adam_floor) / before["step_s"],
        adam_GBps_demand=adam_bytes / chosen["step_s"] / 1e9,
        checkpoint_save_s=checkpoint_seconds(model, opt, gens) if extras else None,
        matmuls=mm,
    )
