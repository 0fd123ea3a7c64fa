"""Roofline benchmark of bvae training: achieved speed against the machine's own measured limits.

Usage, from the repository root (with the project's venv)::

    python -m bench.roofline                       # full run, 1 and 2 threads, writes bench/results/<date>_<host>.json
    python bench/roofline.py --quick               # fewer steps and smaller probes (a few minutes)
    python -m bench.roofline --threads 1 --stack 1 10 --out bench/results/after.json
    taskset -c 0 python -m bench.roofline --threads 1   # pinned to one core, as the kernel table was measured
    python -m bench.roofline --variant preinit     # time the preinit models instead of vanilla
    python -m bench.roofline --adam fused          # what-if: force Adam(fused=True) (default: the package's choice,
                                                   # bvae.training.train.make_optimizer)
    python -m bench.profile_step                   # where the step time goes (torch.profiler), see that module

Measure on an otherwise idle machine: before each configuration the harness waits (``--idle 0.15 60``) until other
processes use under 15 % of the CPUs, re-measures a configuration (up to 3 times) if they got in the way, records
the share of the CPUs other processes used in the JSON, and warns. Two-thread timings in particular collapse when
another process shares the cores.

What it measures, for the deep and the canonical architecture at d = 200 and d = 1000 (train size 6,700,
batch 100, hidden 1024 1024, latent 2) and each thread count:

* **the machine**: CPU model and vendor, the instruction-set flags that decide which kernel is fast (AVX2, AVX-512,
  AVX512-BF16, AMX), torch's CPU capability, MKL and oneDNN versions, numpy's BLAS, whether torch's bf16 product
  runs on bf16 instructions, the CPUs this process may use (pin it with taskset).
* **the kernel table**: GFLOP/s of every matrix-product kernel at the deep network's two big shapes,
  forward and both backward products, all kernels taking turns in one run at the same thread count
  (`bvae.training.kernels.race`): torch's default (MKL on x86), oneDNN as training calls it
  (``torch.ops.mkldnn._linear_pointwise`` on plain tensors) and as first measured (``mkldnn_linear`` on
  mkldnn tensors, forward only), numpy's BLAS (limited to the same threads with threadpoolctl), torch's bf16
  product and the bf16 emulation that ``precision: bf16`` uses on CPUs without bf16 instructions.
* **the kernel choice**: `bvae.training.kernels.choose` at each configuration's products, as a training makes it (and
  how long it took), next to the harness's own longer measurement of every fp32 kernel at every product.
* **step / epoch time**, with torch's kernel and with the chosen one (every fp32 kernel for the single-seed models
  at d = 200 and 1000), the kernels' models taking turns repeat by repeat: `bvae.training.train.run_epoch` over K·batch
  rows (K steps, best repeat), scaled to the 67 steps of an epoch, plus the per-epoch test pass
  `bvae.training.train.full_pass` over 3,300 rows timed separately; samples per second (seed-samples: S seeds × rows,
  training steps only) and achieved GFLOP/s, counting 6 FLOPs per weight multiply-add per example (forward 2, backward
4) over every weight. * **limits**: the fp32 matmul peak at the step's own products with the *best* fp32 kernel for each
product (and,
  for comparison, torch's alone: the floor before the kernel choice), and the memory bandwidth of a stream triad
  ``a = b + s*c`` (torch.add(b, c, alpha=s, out=a)) over arrays far larger than the caches (STREAM convention:
  12 bytes per element). A cache-resident triad (arrays the size of one parameter set) is reported for information.
* **roofline floor per step** = the products autograd runs (forward, grad-input and grad-weight of every layer,
  except grad-input of the first encoder layer, which autograd skips because the data need no gradient), each at
  its best kernel's measured speed, + Adam's unavoidable traffic (params read+write, grads read, m read+write,
  v read+write = 28 bytes per parameter) at the triad bandwidth. "% floor" = floor / achieved step, for the chosen
  kernel's step. Where Adam's whole state fits in the last-level cache Adam can beat the DRAM triad and a step can
  come out slightly above 100 %; with 28 concurrent jobs on a 28-core node it cannot, which is why the DRAM figure
  is the floor.
* **stacking**: canonical samples/s with S seeds per stacked model for every S in ``--stack`` (ratio to S=1), at
  d = 200 for every thread count and at every d of the study grid at 1 thread (for the projection).
* **projection** of the full study in ``config.yaml`` (else the method's defaults), with torch's kernel (as
  before the kernel choice) and with the chosen one: every (arch, d) of the grid is measured at 1 thread with the
  configured ``seeds_per_job`` (and, for canonical, every S in ``--stack``); a training's time = epochs × (step time ×
  ceil(n_train / batch) + test pass × n_test / 3300) + the final ``mc_samples``-sample passes over train and test
  + the checkpoint saves + the kernel choice; core-hours = Σ jobs × job time; 28-core wall = core-hours / 28.
  Assumptions: perfect packing of one-thread jobs, each core as fast as one core here with no memory-bandwidth
  contention between the 28 jobs (optimistic: Adam is memory-bound), and process start-up, data loading and the
  bound fit excluded (seconds per job).

Everything goes to ``bench/results/<name>.json`` with the torch/numpy/python/bvae versions, thread counts and the
machine; a readable report goes to stdout. Speed is never asserted anywhere: this only reports.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import math
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info

import bvae
from bvae.data.simulate import SimSettings, simulate
from bvae.model.bound import fit_bound
from bvae.model.settings import TrainSettings
from bvae.training.kernels import (
    BF16,
    MM,
    Product,
    available,
    blas_threads,
    choose,
    layer_products,
    native_bf16,
    operand,
    product,
    race,
    rotated,
    step_products,
)
from bvae.training.networks import build, linear_layers, use_kernel
from bvae.training.train import Checkpoint, full_pass, run_epoch, seed_generators
from bvae.training.train import make_optimizer as package_optimizer

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, N_TEST, BATCH, HIDDEN, LATENT = 6700, 3300, 100, (1024, 1024), 2
STEPS_PER_EPOCH = math.ceil(N_TRAIN / BATCH)  # 67
TABLE_D = (200, 1000)
KERNEL_TABLE_SHAPES = ((1024, 1024), (1000, 1024))  # (fan_in, fan_out) of the kernel table: hidden, first layer
ADAM_BYTES_PER_PARAM = 7 * 4
METHOD_GRID = dict(
    d=[200, 400, 1000],
    N=[100, 5000, 10000],
    seeds=100,
    architectures=["deep", "canonical"],
    variants=["vanilla", "preinit"],
    epochs=300,
    test_fraction=0.33,
    batch_size=100,
    mc_samples=10,
    checkpoint_every=10,
    seeds_per_job={"deep": 1, "canonical": 1},
)


# ----------------------------------------------------------------------------------------------------- timing


def triad_bandwidth(n: int, repeats: int) -> float:
    """Bytes per second of a = b + s*c over n float32 elements (STREAM counting: 3 arrays × 4 bytes)."""
    a, b, c = torch.empty(n), torch.rand(n), torch.rand(n)
    torch.add(b, c, alpha=3.0, out=a)  # touch every page first
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        torch.add(b, c, alpha=3.0, out=a)
        best = min(best, time.perf_counter() - t)
    del a, b, c
    return 12 * n / best


def cpu_busy(seconds: float = 0.5) -> float:
    """Fraction of all CPUs busy over `seconds` while this process sleeps: other people's load."""

    def read():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total

    try:
        idle0, total0 = read()
        time.sleep(seconds)
        idle1, total1 = read()
    except OSError:
        return 0.0
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def stat_now() -> tuple[float, float, float]:
    """(busy CPU-seconds of the whole machine, total CPU-seconds, this process's CPU-seconds)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return 0.0, 1.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    own = os.times()
    return (sum(fields) - fields[3] - fields[4]) / tick, sum(fields) / tick, own.user + own.system


def others_busy(before, after) -> float:
    """Fraction of all CPUs used by other processes between two `stat_now()` readings."""
    busy, total, own = (a - b for a, b in zip(after, before, strict=True))
    return max(0.0, (busy - own) / max(total, 1e-9))


def wait_for_idle(limit: float, max_wait: float) -> float:
    """Wait (up to `max_wait` s) until other processes use under `limit` of the CPUs; the last busy fraction seen."""
    deadline = time.monotonic() + max_wait
    busy = cpu_busy()
    while busy > limit and time.monotonic() < deadline:
        busy = cpu_busy(1.0)
    return busy


# ------------------------------------------------------------------------------------------------- the machine

FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none)."""
    try:
        block = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in block.splitlines())}


def cpu_model() -> str:
    return cpuinfo().get("model name") or platform.processor() or "unknown"


def machine() -> dict:
    """What decides which kernel is fast here, for the JSON and the report."""
    info = cpuinfo()
    flags = set(info.get("flags", "").split())
    config = torch.__config__.show()
    line = lambda key: next((ln.strip(" -") for ln in config.splitlines() if key in ln), "unknown")  # noqa: E731
    blas = [
        {k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for lib in threadpool_info()
        if lib.get("user_api") == "blas"
    ]
    return dict(
        cpu_model=cpu_model(),
        vendor=info.get("vendor_id", platform.machine()),
        cpu_family=info.get("cpu family"),
        cpu_model_number=info.get("model"),
        flags={f: f in flags for f in FLAGS},
        logical_cpus=os.cpu_count(),
        affinity=sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        torch_cpu_capability=torch.backends.cpu.get_cpu_capability(),
        mkl=line("Math Kernel Library"),
        onednn=line("MKL-DNN") if torch.backends.mkldnn.is_available() else None,
        numpy_blas=blas,
        native_bf16=native_bf16(),
        kernels=available(),
    )


def print_machine(m: dict) -> None:
    flags = " ".join(f"{f}{'+' if on else '-'}" for f, on in m["flags"].items())
    print(f"CPU: {m['cpu_model']} ({m['vendor']}, family {m['cpu_family']} model {m['cpu_model_number']}),")
    print(f"     {m['logical_cpus']} logical CPUs, this process may use {m['affinity']}; flags {flags}")
    print(f"torch CPU capability {m['torch_cpu_capability']}; {m['mkl']}; {m['onednn']}")
    blas = "; ".join(f"{b['internal_api']} {b['version']} ({b['architecture']})" for b in m["numpy_blas"]) or "none"
    print(f"numpy's BLAS: {blas}; torch's bf16 product on bf16 instructions: {m['native_bf16']}")
    print(f"fp32 kernels: {', '.join(m['kernels'])}")


# ------------------------------------------------------------------------------------------- the kernel table


def table_calls(p: Product) -> dict:
    """Every kernel the kernel table compares, as calls on one product's operands."""
    a, b = (t[0] for t in p.operands())
    calls = {k: functools.partial(MM[k], a, b) for k in available()}
    if p.role == "forward" and torch.backends.mkldnn.is_available():  # the first oneDNN figure: mkldnn tensors
        x, w = a.to_mkldnn(), b.T.contiguous().to_mkldnn()
        calls["onednn (mkldnn tensors)"] = functools.partial(torch._C._nn.mkldnn_linear, x, w)
    for k in BF16:  # on operands already rounded, as a training step multiplies them
        calls[k] = functools.partial(MM[k], operand(k, a), operand(k, b))
    return calls


def kernel_table(threads: int, rounds: int, target: float) -> list[dict]:
    """GFLOP/s of every kernel at the deep step's two big shapes, forward and both backward products."""
    torch.set_num_threads(threads)
    rows = []
    with blas_threads(threads):
        for fan_in, fan_out in KERNEL_TABLE_SHAPES:
            for p in layer_products("table", 1, fan_in, fan_out, BATCH):
                seconds = {k: min(v) for k, v in race(table_calls(p), rounds, target).items()}
                m, k, n = p.mkn
                rows.append(
                    dict(threads=threads, role=p.role, m=m, k=k, n=n, seconds=seconds,
                         gflops={name: p.flops / s / 1e9 for name, s in seconds.items()})
                )  # fmt: skip
    return rows


def print_kernel_table(rows: list[dict]) -> None:
    names = list(dict.fromkeys(k for r in rows for k in r["gflops"]))
    print()
    print("Kernel table (GFLOP/s; all kernels taking turns in this run, best of the rounds):")
    print("| threads | product | " + " | ".join(names) + " | best fp32 / torch |")
    print("|---:|---|" + "---:|" * len(names) + "---:|")
    for r in rows:
        g = r["gflops"]
        fp32 = max(g[k] for k in available())
        role = {"forward": "X W", "grad_input": "dY Wᵀ", "grad_weight": "Xᵀ dY"}[r["role"]]
        cells = " | ".join(f"{g[k]:.0f}" if k in g else "-" for k in names)
        shape = f"`[{r['m']}x{r['k']}] @ [{r['k']}x{r['n']}]` ({role})"
        print(f"| {r['threads']} | {shape} | {cells} | {fp32 / g['torch']:.2f} |")


# ------------------------------------------------------------------------------------------------- one config

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
        final_pass = None
        if extras:  # full_pass's cost is linear in the samples: extrapolate from 1 and 2 to mc_samples
            test_pass2 = min(time_pass(k, 2) for _ in range(max(1, n_pass - 1)))
            final_pass = test_pass + (mc_samples - 1) * max(test_pass2 - test_pass, 0.0)
        step = min(times[k])  # the least disturbed repeat; all repeats are kept in step_s_all
        out[k] = dict(
            step_s=step,
            step_s_median=statistics.median(times[k]),
            step_s_all=times[k],
            test_pass_s=test_pass,
            final_pass_s=final_pass,
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
        gflops_achieved=6 * weights * BATCH / chosen["step_s"] / 1e9,  # the convention
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


# ------------------------------------------------------------------------------------------------- projection


def study_grid() -> tuple[dict, str]:
    path = ROOT / "config.yaml"
    grid = {**METHOD_GRID, "seeds_per_job": dict(METHOD_GRID["seeds_per_job"])}
    if not path.exists():
        return grid, "the defaults of docs/method.md (no config.yaml)"
    import yaml

    cfg = yaml.safe_load(path.read_text()) or {}
    ds = cfg.get("datasets") or {}
    grid["d"] = list(ds.get("d", grid["d"]))
    grid["N"] = list(ds.get("N", grid["N"]))
    tf = cfg.get("test_fraction", (cfg.get("simulation") or {}).get("test_fraction"))
    grid["test_fraction"] = tf if tf is not None else grid["test_fraction"]
    for key in ("seeds", "architectures", "variants", "epochs", "batch_size", "mc_samples", "checkpoint_every"):
        if cfg.get(key) is not None:
            grid[key] = cfg[key]
    spj = cfg.get("seeds_per_job")
    if isinstance(spj, int):
        grid["seeds_per_job"] = {a: spj for a in grid["architectures"]}
    elif isinstance(spj, dict):
        grid["seeds_per_job"].update({k: v for k, v in spj.items() if v})
    return grid, str(path.relative_to(ROOT))


def project(grid: dict, results: list[dict], stack_choice: dict, kernel: str, cores: int = 28) -> dict:
    """Core-hours of the whole grid from the 1-thread measurements with `stack_choice[arch]` seeds per job
    (an int, or a dict d -> S), on torch's kernel (`kernel` torch) or the chosen one (chosen, whose trainings also
    spend the time of the choice)."""
    by_key = {(r["arch"], r["d"], r["S"]): r for r in results if r["threads"] == 1}
    rows, total, adam_bytes = [], 0.0, 0.0
    for arch in grid["architectures"]:
        for d in grid["d"]:
            S = stack_choice[arch] if isinstance(stack_choice[arch], int) else stack_choice[arch][d]
            r = by_key[(arch, d, S)]
            name = r["kernel"] if kernel == "chosen" else "torch"
            t = r["by_kernel"][name]
            for N in grid["N"]:
                n_test = int(round(grid["test_fraction"] * N))
                n_train = N - n_test
                steps = math.ceil(n_train / grid["batch_size"])
                epoch = t["step_s"] * steps + t["test_pass_s"] * n_test / N_TEST
                final = t["final_pass_s"] * (n_train + n_test) / N_TEST  # mc_samples passes, train and test
                saves = (grid["epochs"] - 1) // grid["checkpoint_every"] * (r["checkpoint_save_s"] or 0.0)
                job = grid["epochs"] * epoch + final + saves + (r["choose_s"] if kernel == "chosen" else 0.0)
                jobs = len(grid["variants"]) * math.ceil(grid["seeds"] / S)
                total += jobs * job
                adam_bytes += jobs * grid["epochs"] * steps * r["adam_bytes"]
                rows.append(
                    dict(arch=arch, d=d, N=N, n_train=n_train, n_test=n_test, S=S, kernel=name, steps_per_epoch=steps,
                         epoch_s=epoch, job_s=job, jobs=jobs, core_hours=jobs * job / 3600)
                )  # fmt: skip
    trainings = len(grid["architectures"]) * len(grid["d"]) * len(grid["N"]) * len(grid["variants"]) * grid["seeds"]
    return dict(
        stack=stack_choice,
        kernel=kernel,
        trainings=trainings,
        core_hours=total / 3600,
        cores=cores,
        wall_hours=total / 3600 / cores,
        adam_GBps_per_job=adam_bytes / total / 1e9,
        adam_GBps_all_cores=cores * adam_bytes / total / 1e9,
        rows=rows,
    )


# ------------------------------------------------------------------------------------------------- reporting


def label(r: dict) -> str:
    return f"{r['arch']} d={r['d']} S={r['S']} thr={r['threads']}"


def print_table(results: list[dict], limits: dict) -> None:
    print()
    print("Limits (measured):")
    for t, lim in limits.items():
        print(
            f"  {t} thread(s): triad {lim['triad_GBps']:.1f} GB/s over 3x{lim['triad_MB']:.0f} MB"
            f"  (cache-resident triad {lim['triad_cache_GBps']:.1f} GB/s over 3x{lim['triad_cache_MB']:.0f} MB)"
        )
    head = (
        f"{'arch':9} {'d':>5} {'S':>3} {'thr':>3} {'kernel':>7} {'torch ms':>8} {'step ms':>8} {'x':>5}"
        f" {'epoch s':>8} {'GFLOP/s':>8} {'mm torch':>8} {'mm best':>8} {'floor ms':>8} {'% floor':>7} {'choice s':>8}"
    )
    print()
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['arch']:9} {r['d']:5d} {r['S']:3d} {r['threads']:3d} {r['kernel']:>7}"
            f" {1e3 * r['by_kernel']['torch']['step_s']:8.2f} {1e3 * r['step_s']:8.2f} {r['speedup']:5.2f}"
            f" {r['epoch_s']:8.3f} {r['gflops_achieved']:8.1f} {r['matmul_gflops']['torch']:8.1f}"
            f" {r['matmul_peak_gflops']:8.1f} {1e3 * r['floor_s']:8.2f} {r['floor_pct']:6.1f}% {r['choose_s']:8.2f}"
        )
    print("  kernel = bvae.training.kernels.choose's pick at this configuration (what a training runs on);")
    print("  torch ms / step ms =")
    print("  a step on torch's kernel / on the chosen one, x = their ratio; epoch s = 67 steps + test pass over 3,300")
    print("  rows; GFLOP/s at 6 FLOP per weight MAC per example; mm torch / mm best = GFLOP/s of the step's products")
    print("  with torch's kernel / with the best kernel for each product; floor = products at the best kernel + 28 B")
    print("  per parameter of Adam traffic at the triad bandwidth; % floor = floor / step; choice s = its cost.")
    print()
    print("Step ms by kernel (models taking turns) and each kernel's GFLOP/s over the step's products:")
    for r in results:
        steps = ", ".join(f"{k} {1e3 * v['step_s']:.2f}" for k, v in r["by_kernel"].items())
        mm = ", ".join(f"{k} {v:.0f}" for k, v in r["matmul_gflops"].items())
        measured = ", ".join(f"{k} {1e3 * v:.2f}" for k, v in r["choice_seconds"].items()) or "not measured"
        print(f"  {label(r):28} step: {steps};  products: {mm};  the choice's ms: {measured}")


def print_stack(stack: list[dict]) -> None:
    if not stack:
        return
    print()
    print("Canonical stacking (samples/s = seed-samples per second, chosen kernel):")
    for s in stack:
        print(
            f"  d={s['d']:4d} thr={s['threads']}: S=1 {s['samples_per_s_S1']:9.0f}/s, "
            + ", ".join(f"S={S} {v:9.0f}/s ({v / s['samples_per_s_S1']:.2f}x)" for S, v in s["by_S"].items())
        )


def print_projection(proj: list[dict], source: str) -> None:
    print()
    print(f"Projected full study ({source}), 1 thread per job, measured per-core speed of this machine:")
    for p in proj:
        stack = ", ".join(
            f"{a} S={S}"
            if isinstance(S, int)
            else f"{a} S=" + "/".join(str(v) for v in S.values()) + " (fastest per d)"
            for a, S in p["stack"].items()
        )
        kernel = "torch's kernel" if p["kernel"] == "torch" else "chosen kernel"
        print(
            f"  [{stack}; {kernel}] {p['trainings']} trainings: {p['core_hours']:.1f} core-hours,"
            f" {p['wall_hours']:.2f} h wall on {p['cores']} cores"
        )
        per_arch: dict[str, float] = {}
        for row in p["rows"]:
            per_arch[f"{row['arch']} d={row['d']}"] = per_arch.get(f"{row['arch']} d={row['d']}", 0) + row["core_hours"]
        print("     " + "; ".join(f"{k}: {v:.1f} ch" for k, v in per_arch.items()))
        print(
            f"     Adam traffic alone: {p['adam_GBps_per_job']:.1f} GB/s per job on average,"
            f" {p['adam_GBps_all_cores']:.0f} GB/s for {p['cores']} concurrent jobs"
        )
    print("  Assumes perfect packing and no memory-bandwidth contention between the concurrent jobs (the last figure")
    print("  must fit the target machine's DRAM bandwidth, else the wall time grows); start-up, data loading and the")
    print("  bound fit (seconds per job) excluded; final pass = mc_samples passes over train+test, extrapolated.")


def to_json(record: dict) -> str:
    """Indented JSON with floats at 6 significant digits and each matmul probe on one line (keeps files small)."""

    def tidy(v):
        if isinstance(v, float):
            return float(f"{v:.6g}")
        if isinstance(v, dict):
            return {str(k): tidy(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [tidy(x) for x in v]
        return v

    record = tidy(record)
    inline: dict[str, str] = {}  # placeholder -> one-line JSON

    def one_line(value) -> str:
        key = f"@inline{len(inline)}@"
        inline[key] = json.dumps(value)
        return key

    for r in record["results"]:
        r["matmuls"] = [one_line(m) for m in r["matmuls"]]
    record["kernel_table"] = [one_line(row) for row in record["kernel_table"]]
    text = json.dumps(record, indent=1)
    for key, value in inline.items():
        text = text.replace(f'"{key}"', value, 1)
    return text


# ------------------------------------------------------------------------------------------------- main


def plan_configs(threads_list: list[int], grid: dict, stacks: list[int], projection: bool) -> list[tuple]:
    """(arch, d, S, threads): the table's configurations, plus at 1 thread every (arch, d) of the study grid."""
    plan = []
    for threads in threads_list:
        for arch in ("deep", "canonical"):
            in_grid = threads == 1 and projection and arch in grid["architectures"]
            ds = set(TABLE_D) | (set(grid["d"]) if in_grid else set())
            for d in sorted(ds):
                Ss = [1]
                if arch == "canonical":
                    Ss = stacks if (d == 200 or threads == 1) else [1]
                if in_grid:
                    Ss = sorted(set(Ss) | {grid["seeds_per_job"].get(arch, 1)})
                    if arch == "canonical":
                        Ss = sorted(set(Ss) | set(stacks))
                plan += [(arch, d, S, threads) for S in Ss]
    return plan


def stacking(results: list[dict], threads_list: list[int]) -> list[dict]:
    stack = []
    for threads in threads_list:
        for d in TABLE_D:
            rs = {
                r["S"]: r["samples_per_s"]
                for r in results
                if r["arch"] == "canonical" and r["d"] == d and r["threads"] == threads
            }
            if 1 in rs and len(rs) > 1:
                stack.append(
                    dict(
                        d=d,
                        threads=threads,
                        samples_per_s_S1=rs[1],
                        by_S={S: v for S, v in sorted(rs.items()) if S != 1},
                        ratio={S: v / rs[1] for S, v in sorted(rs.items()) if S != 1},
                    )
                )
    return stack


def projections(grid: dict, results: list[dict], stacks: list[int]) -> list[dict]:
    """The configured stacking, every stack size for canonical and the fastest per d, on torch's kernel (the
    configured stacking only) and on the chosen one."""
    choices = [dict(grid["seeds_per_job"])]
    for S in stacks:
        choice = {**grid["seeds_per_job"], "canonical": S}
        if choice not in choices:
            choices.append(choice)
    best = {}  # the fastest measured stack size per (arch, d), in seed-samples per second
    for arch in grid["architectures"]:
        best[arch] = {}
        for d in grid["d"]:
            cands = [r for r in results if r["threads"] == 1 and r["arch"] == arch and r["d"] == d]
            best[arch][d] = max(cands, key=lambda r: r["samples_per_s"])["S"]
    choices.append(best)
    as_given = lambda c: {a: c.get(a, 1) for a in grid["architectures"]}  # noqa: E731
    return [project(grid, results, as_given(choices[0]), "torch")] + [
        project(grid, results, as_given(c), "chosen") for c in choices
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, shorter probes")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--stack", type=int, nargs="+", default=[1, 10], help="seeds per stacked canonical model")
    parser.add_argument("--variant", default="vanilla", choices=["vanilla", "preinit"])
    parser.add_argument("--out", type=Path, help="JSON path (default bench/results/<date>_<host>.json)")
    parser.add_argument(
        "--idle",
        type=float,
        nargs=2,
        default=[0.15, 60],
        metavar=("FRACTION", "SECONDS"),
        help="before each configuration wait up to SECONDS until other processes use under FRACTION"
        " of the CPUs (default 0.15 60)",
    )
    parser.add_argument(
        "--adam",
        default="package",
        choices=["package", "default", "fused", "foreach"],
        help="optimizer: bvae.training.train.make_optimizer (package, the"
        " default); or force torch.optim.Adam's default, fused=True or foreach=True implementation",
    )
    parser.add_argument("--no-projection", action="store_true", help="skip the extra 1-thread grid measurements")
    parser.add_argument("--attempts", type=int, default=3, help="measurements of a configuration that others disturb")
    args = parser.parse_args(argv)

    timing = dict(budget=0.3, repeats=3, rounds=3, mm_target=0.02)
    if not args.quick:
        timing = dict(budget=1.0, repeats=5, rounds=5, mm_target=0.05)
    triad_n = (64 if args.quick else 128) * 2**20  # floats per array: 3 × 256/512 MB, far beyond any L3
    grid, grid_source = study_grid()
    stacks = sorted(set(args.stack) | {1})
    plan = plan_configs(args.threads, grid, stacks, not args.no_projection)

    print(
        f"bvae {bvae.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"python {platform.python_version()}"
    )
    host = machine()
    print_machine(host)
    print(f"{len(plan)} configurations, {timing['repeats']} repeats of about {timing['budget']} s of steps each")
    limits, table = {}, []
    for threads in args.threads:
        torch.set_num_threads(threads)
        wait_for_idle(*args.idle)
        cache_n = 4 * 2**20  # 16 MB per array: about one deep d=1000 parameter set, L2/L3-resident
        limits[threads] = dict(
            triad_GBps=triad_bandwidth(triad_n, 5) / 1e9,
            triad_MB=triad_n * 4 / 2**20,
            triad_cache_GBps=triad_bandwidth(cache_n, 20) / 1e9,
            triad_cache_MB=cache_n * 4 / 2**20,
        )
        print(f"  triad at {threads} thread(s): {limits[threads]['triad_GBps']:.1f} GB/s", flush=True)
        table += kernel_table(threads, timing["rounds"], timing["mm_target"])
    print_kernel_table(table)

    results = []
    started = time.perf_counter()
    for arch, d, S, threads in plan:
        best_r: dict | None = None
        tick = time.perf_counter()
        for attempt in range(args.attempts):  # re-measure (probes included) when other processes got in the way
            with blas_threads(threads):
                r = measure(
                    arch,
                    args.variant,
                    d,
                    S,
                    threads,
                    every_kernel=d in TABLE_D and S == 1,
                    timing=timing,
                    bandwidth=limits[threads]["triad_GBps"] * 1e9,
                    extras=(threads == 1 and not args.no_projection),
                    idle=tuple(args.idle),
                    adam=args.adam,
                    mc_samples=grid["mc_samples"],
                )
            r["attempt"] = attempt + 1
            if best_r is None or r["other_cpu_busy_during"] < best_r["other_cpu_busy_during"]:
                best_r = r
            if r["other_cpu_busy_during"] <= args.idle[0]:
                break
            _MM_CACHE.clear()
            if attempt + 1 < args.attempts:
                busy = 100 * r["other_cpu_busy_during"]
                print(f"  (others used {busy:.0f} % of the CPUs: measuring {label(r)} again)")
        r = best_r
        results.append(r)
        print(
            f"  {arch:9} d={d:4d} S={S:2d} threads={threads}: {r['kernel']} step {1e3 * r['step_s']:7.2f} ms"
            f" ({r['speedup']:.2f}x torch's), floor {1e3 * r['floor_s']:7.2f} ms ({r['floor_pct']:.0f}%); others used"
            f" {100 * r['other_cpu_busy_during']:.0f} % of the CPUs; {time.perf_counter() - tick:.0f} s",
            flush=True,
        )
    elapsed = time.perf_counter() - started
    noisy = [r for r in results if max(r["other_cpu_busy_before"], r["other_cpu_busy_during"]) > args.idle[0]]
    if noisy:
        worst = max(max(r["other_cpu_busy_before"], r["other_cpu_busy_during"]) for r in noisy)
        print(
            f"WARNING: other processes used up to {100 * worst:.0f} % of the CPUs during {len(noisy)} "
            f"configuration(s) ({'; '.join(label(r) for r in noisy)});"
            " their times are pessimistic."
        )

    shown = sorted(
        (r for r in results if r["d"] in TABLE_D), key=lambda r: (r["threads"], r["arch"] != "deep", r["d"], r["S"])
    )
    print_table(shown, limits)
    stack = stacking(results, args.threads)
    print_stack(stack)
    projected = []
    if 1 in args.threads and not args.no_projection:
        projected = projections(grid, results, stacks)
        print_projection(projected, grid_source)

    name = f"{datetime.date.today().isoformat()}_{socket.gethostname()}"
    out = args.out or ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = dict(
        name=out.stem,
        created=datetime.datetime.now().isoformat(timespec="seconds"),
        host=socket.gethostname(),
        cpu_model=host["cpu_model"],
        logical_cpus=os.cpu_count(),
        machine=host,
        versions=dict(
            torch=torch.__version__, numpy=np.__version__, python=platform.python_version(), bvae=bvae.__version__
        ),
        threads=args.threads,
        quick=args.quick,
        variant=args.variant,
        stacks=stacks,
        settings=dict(
            n_train=N_TRAIN,
            n_test=N_TEST,
            batch=BATCH,
            hidden=list(HIDDEN),
            latent=LATENT,
            seconds_per_repeat=timing["budget"],
            repeats=timing["repeats"],
            kernel_rounds=timing["rounds"],
            seconds_per_kernel_round=timing["mm_target"],
            triad_floats=triad_n,
            adam=args.adam,
            adam_bytes_per_param=ADAM_BYTES_PER_PARAM,
            flops_per_weight_mac=6,
        ),
        limits={str(k): v for k, v in limits.items()},
        kernel_table=table,
        results=results,
        stacking=stack,
        grid=dict(grid, source=grid_source),
        projections=projected,
        bench_seconds=elapsed,
        load_average=os.getloadavg(),
        max_other_cpu_busy=max(max(r["other_cpu_busy_before"], r["other_cpu_busy_during"]) for r in results),
    )
    out.write_text(to_json(record) + "\n")
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({elapsed:.0f} s of measurement)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
