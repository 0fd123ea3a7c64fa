"""Roofline benchmark of bvae training (issue 7): achieved speed against the machine's own measured limits.

Usage, from the repository root (with the project's venv)::

    python -m bench.roofline                       # full run, 1 and 2 threads, writes bench/results/<date>_<host>.json
    python bench/roofline.py --quick               # fewer steps and smaller probes (about a minute)
    python -m bench.roofline --threads 1 --stack 1 10 --out bench/results/after.json
    python -m bench.roofline --variant preinit     # time the preinit models instead of vanilla
    python -m bench.roofline --adam fused          # what-if: force Adam(fused=True) (default: the package's choice,
                                                   # bvae.train.make_optimizer)
    python -m bench.profile_step                   # where the step time goes (torch.profiler), see that module

Measure on an otherwise idle machine: before each configuration the harness waits (``--idle 0.15 60``) until other
processes use under 15 % of the CPUs, re-measures a configuration (up to 3 times) if they got in the way, records
the share of the CPUs other processes used in the JSON, and warns. Two-thread timings in particular collapse when
another process shares the cores.

What it measures, for the deep and the canonical architecture at d = 200 and d = 1000 (train size 6,700,
batch 100, hidden 1024 1024, latent 2) and each thread count:

* **step / epoch time**: `bvae.train.run_epoch` over K·batch rows (K steps, repeated, median), scaled to the
  67 steps of an epoch, plus the per-epoch test pass `bvae.train.full_pass` over 3,300 rows timed separately;
  samples per second (seed-samples: S seeds × rows, training steps only) and achieved GFLOP/s, counting 6 FLOPs
  per weight multiply-add per example (forward 2, backward 4) over every matmul weight (encoder, heads, decoder).
* **limits, measured with torch itself**: the fp32 matmul peak at the step's own shapes (best of torch.mm and
  torch.bmm on (batch × fan_in) @ (fan_in × fan_out) and the two backward shapes, at that thread count) and the
  memory bandwidth of a stream triad ``a = b + s*c`` (torch.add(b, c, alpha=s, out=a)) over arrays far larger
  than the caches (STREAM convention: 12 bytes per element). A cache-resident triad (arrays the size of one
  parameter set) is reported for information only.
* **roofline floor per step** = matmul time at the measured peak for the matmuls autograd actually runs
  (forward, grad-input and grad-weight of every layer, except grad-input of the first encoder layer, which
  autograd skips because the data need no gradient) + Adam's unavoidable traffic (params read+write, grads read,
  m read+write, v read+write = 28 bytes per parameter) at the triad bandwidth. "% floor" = floor / achieved.
  Where Adam's whole state fits in the last-level cache (this VM shows a 260 MB L3; deep d=1000 needs 66 MB) Adam
  can beat the DRAM triad and a step can come out slightly above 100 %; with 28 concurrent jobs on a 28-core node
  it cannot, which is why the DRAM figure is the floor.
* **stacking**: canonical samples/s with S seeds per stacked model for every S in ``--stack`` (ratio to S=1), at
  d = 200 for every thread count and at every d of the study grid at 1 thread (for the projection).
* **projection** of the full study in ``config.yaml`` (else the method's defaults): every (arch, d) of the grid is
  measured at 1 thread with the configured ``seeds_per_job`` (and, for canonical, every S in ``--stack``); a
  training's time = epochs × (step time × ceil(n_train / batch) + test pass × n_test / 3300) + the final
  ``mc_samples``-sample passes over train and test + the checkpoint saves; core-hours = Σ jobs × job time;
  28-core wall = core-hours / 28. Assumptions: perfect packing of one-thread jobs, each core as fast as one
  core here with no memory-bandwidth contention between the 28 jobs (optimistic: Adam is memory-bound), and
  process start-up, data loading and the bound fit excluded (seconds per job).

Everything goes to ``bench/results/<name>.json`` with the torch/numpy/python/bvae versions, thread counts and the
CPU model; a readable table goes to stdout. Speed is never asserted anywhere: this only reports.
"""

from __future__ import annotations

import argparse
import datetime
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

import bvae
from bvae.bound import fit_bound
from bvae.networks import StackedLinear, build
from bvae.settings import TrainSettings
from bvae.simulate import SimSettings, simulate
from bvae.train import Checkpoint, full_pass, run_epoch, seed_generators
from bvae.train import make_optimizer as package_optimizer

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, N_TEST, BATCH, HIDDEN, LATENT = 6700, 3300, 100, (1024, 1024), 2
STEPS_PER_EPOCH = math.ceil(N_TRAIN / BATCH)  # 67
TABLE_D = (200, 1000)
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


def best_time(fn, target: float, repeats: int = 3) -> float:
    """Seconds per call of `fn`: calibrated to run about `target` seconds per repeat; the best repeat."""
    fn()
    t = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t, 1e-7)
    n = max(1, int(target / once))
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


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


# ------------------------------------------------------------------------------------------ model accounting


def linear_layers(model) -> list[tuple[str, StackedLinear]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, StackedLinear)]


def matmul_shapes(model, batch: int) -> list[dict]:
    """Every matmul one training step runs: (S, m, k) @ (S, k, n) with its role; 2·S·m·k·n FLOPs each."""
    shapes = []
    first = linear_layers(model)[0][0]
    for name, layer in linear_layers(model):
        S, fan_in, fan_out = layer.weight.shape
        shapes.append(dict(layer=name, role="forward", S=S, m=batch, k=fan_in, n=fan_out))
        if name != first:  # the data need no gradient: autograd skips grad-input of the first layer
            shapes.append(dict(layer=name, role="grad_input", S=S, m=batch, k=fan_out, n=fan_in))
        shapes.append(dict(layer=name, role="grad_weight", S=S, m=fan_in, k=batch, n=fan_out))
    return shapes


def time_matmul(S: int, m: int, k: int, n: int, role: str, target: float) -> tuple[float, str]:
    """Best seconds for one (S, m, k) @ (S, k, n) product over torch.bmm and a loop of torch.mm.

    Operands are laid out as autograd has them: grad_input multiplies by Wᵀ (a transposed view), grad_weight by
    xᵀ (a transposed view)."""
    if role == "forward":
        A, B = torch.rand(S, m, k), torch.rand(S, k, n)
    elif role == "grad_input":  # g (S, batch, fan_out) @ W(S, fan_in, fan_out)ᵀ
        A, B = torch.rand(S, m, k), torch.rand(S, n, k).transpose(1, 2)
    else:  # xᵀ: x (S, batch, fan_in) transposed, @ g (S, batch, fan_out)
        A, B = torch.rand(S, k, m).transpose(1, 2), torch.rand(S, k, n)
    out = torch.empty(S, m, n)
    t_bmm = best_time(lambda: torch.bmm(A, B, out=out), target, repeats=5)
    t_mm = best_time(lambda: [torch.mm(A[s], B[s], out=out[s]) for s in range(S)], target, repeats=5)
    return (t_bmm, "bmm") if t_bmm <= t_mm else (t_mm, "mm")


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


# ------------------------------------------------------------------------------------------------- one config

_DATA: dict[int, object] = {}


def dataset(d: int):
    if d not in _DATA:
        _DATA[d] = simulate(SimSettings(d=d, N=N_TRAIN + N_TEST))
    data = _DATA[d]
    assert data.n_train == N_TRAIN and data.n_test == N_TEST, (data.n_train, data.n_test)
    return data


def make_optimizer(model, adam: str) -> torch.optim.Optimizer:
    """`package`: bvae.train.make_optimizer with the default settings; else torch's Adam in the named flavour."""
    if adam == "package":
        return package_optimizer(model.parameters(), TrainSettings())
    kwargs = {"default": {}, "fused": {"fused": True}, "foreach": {"foreach": True}}[adam]
    return torch.optim.Adam(model.parameters(), lr=1e-3, eps=TrainSettings().adam_eps, **kwargs)


def make_model(arch: str, variant: str, d: int, S: int, adam: str = "package"):
    data = dataset(d)
    bound = fit_bound(data.train, data.test, LATENT) if variant == "preinit" else None
    init_gens, run_gens = zip(*(seed_generators(s) for s in range(S)), strict=True)
    model = build(TrainSettings(arch=arch, variant=variant, latent_dim=LATENT, hidden=HIDDEN), d, init_gens, bound)
    opt = make_optimizer(model, adam)
    x_train = torch.as_tensor(data.train, dtype=torch.float32)
    x_test = torch.as_tensor(data.test, dtype=torch.float32)
    return model, opt, x_train, x_test, list(run_gens)


_MM_CACHE: dict[tuple, tuple[float, str]] = {}


def measure(
    arch: str,
    variant: str,
    d: int,
    S: int,
    threads: int,
    budget: float,
    repeats: int,
    mm_target: float,
    bandwidth: float,
    extras: bool,
    idle: tuple[float, float],
    adam: str,
    mc_samples: int,
) -> dict:
    """Time one configuration; `extras` (1-thread projection runs) adds the final-pass and checkpoint timings."""
    torch.set_num_threads(threads)
    busy_before = wait_for_idle(*idle)
    stat0 = stat_now()
    model, opt, x_train, x_test, gens = make_model(arch, variant, d, S, adam)
    model.train()
    t = time.perf_counter()
    run_epoch(model, opt, x_train[: 3 * BATCH], gens, BATCH)  # warm-up: allocator, Adam state, thread pool
    warm = (time.perf_counter() - t) / 3
    steps = max(5, min(40, round(budget / warm)))  # K steps per repeat: about `budget` seconds
    rows = x_train[: steps * BATCH]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run_epoch(model, opt, rows, gens, BATCH)
        times.append((time.perf_counter() - t) / steps)
    step = min(times)  # the least disturbed repeat; all repeats are kept in step_s_all

    def time_pass(samples: int, n: int) -> float:
        best = math.inf
        for _ in range(n):
            t = time.perf_counter()
            full_pass(model, x_test, gens, samples)
            best = min(best, time.perf_counter() - t)
        return best

    t = time.perf_counter()
    full_pass(model, x_test, gens, 1)  # warm-up
    n_pass = 2 if time.perf_counter() - t > 1 else max(2, min(repeats, 3))
    test_pass = time_pass(1, n_pass)
    final_pass = None
    if extras:  # full_pass's cost is linear in the samples: extrapolate from 1 and 2 to mc_samples
        test_pass2 = time_pass(2, max(1, n_pass - 1))
        final_pass = test_pass + (mc_samples - 1) * max(test_pass2 - test_pass, 0.0)
    weights = sum(layer.weight.numel() for _, layer in linear_layers(model))
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    flops_nominal = 6 * weights * BATCH  # the convention
    shapes = matmul_shapes(model, BATCH)
    mm_time = mm_flops = 0.0
    for sh in shapes:
        key = (sh["S"], sh["m"], sh["k"], sh["n"], sh["role"], threads)
        if key not in _MM_CACHE:
            _MM_CACHE[key] = time_matmul(sh["S"], sh["m"], sh["k"], sh["n"], sh["role"], mm_target)
        sh["seconds"], sh["op"] = _MM_CACHE[key]
        sh["flops"] = 2 * sh["S"] * sh["m"] * sh["k"] * sh["n"]
        sh["gflops"] = sh["flops"] / sh["seconds"] / 1e9
        mm_time += sh["seconds"]
        mm_flops += sh["flops"]
    busy_during = others_busy(stat0, stat_now())  # over the steps, the passes and the matmul probes
    adam_bytes = ADAM_BYTES_PER_PARAM * params
    adam_floor = adam_bytes / bandwidth
    floor = mm_time + adam_floor
    epoch_train = step * STEPS_PER_EPOCH
    save_seconds = None
    if extras:
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Checkpoint(Path(tmp) / "ckpt.pt", "bench")
            state = {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "epoch": 1,
                "gens": [g.get_state() for g in gens],
                "history": {},
            }
            t = time.perf_counter()
            ckpt.save(state)
            save_seconds = time.perf_counter() - t
    return dict(
        arch=arch,
        variant=variant,
        d=d,
        S=S,
        threads=threads,
        adam=adam,
        steps_timed=steps,
        repeats=repeats,
        weights=weights,
        params=params,
        other_cpu_busy_before=busy_before,
        other_cpu_busy_during=busy_during,
        step_s=step,
        step_s_median=statistics.median(times),
        step_s_all=times,
        epoch_train_s=epoch_train,
        test_pass_s=test_pass,
        epoch_s=epoch_train + test_pass,
        final_pass_s=final_pass,
        final_pass_samples=mc_samples if extras else None,
        samples_per_s=S * BATCH / step,
        step_flops_nominal=flops_nominal,
        step_flops_executed=mm_flops,
        gflops_achieved=flops_nominal / step / 1e9,
        matmul_peak_gflops=mm_flops / mm_time / 1e9,
        matmul_floor_s=mm_time,
        adam_bytes=adam_bytes,
        adam_floor_s=adam_floor,
        floor_s=floor,
        floor_pct=100 * floor / step,
        adam_GBps_demand=adam_bytes / step / 1e9,
        checkpoint_save_s=save_seconds,
        matmuls=shapes,
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


def project(grid: dict, results: list[dict], stack_choice: dict, cores: int = 28) -> dict:
    """Core-hours of the whole grid from the 1-thread measurements with `stack_choice[arch]` seeds per job
    (an int, or a dict d -> S)."""
    by_key = {(r["arch"], r["d"], r["S"]): r for r in results if r["threads"] == 1}
    rows, total, adam_bytes = [], 0.0, 0.0
    for arch in grid["architectures"]:
        for d in grid["d"]:
            S = stack_choice[arch] if isinstance(stack_choice[arch], int) else stack_choice[arch][d]
            r = by_key[(arch, d, S)]
            for N in grid["N"]:
                n_test = int(round(grid["test_fraction"] * N))
                n_train = N - n_test
                steps = math.ceil(n_train / grid["batch_size"])
                epoch = r["step_s"] * steps + r["test_pass_s"] * n_test / N_TEST
                final = r["final_pass_s"] * (n_train + n_test) / N_TEST  # mc_samples passes, train and test
                saves = (grid["epochs"] - 1) // grid["checkpoint_every"] * (r["checkpoint_save_s"] or 0.0)
                job = grid["epochs"] * epoch + final + saves
                jobs = len(grid["variants"]) * math.ceil(grid["seeds"] / S)
                total += jobs * job
                adam_bytes += jobs * grid["epochs"] * steps * r["adam_bytes"]
                rows.append(
                    dict(
                        arch=arch,
                        d=d,
                        N=N,
                        n_train=n_train,
                        n_test=n_test,
                        S=S,
                        steps_per_epoch=steps,
                        epoch_s=epoch,
                        job_s=job,
                        jobs=jobs,
                        core_hours=jobs * job / 3600,
                    )
                )
    trainings = len(grid["architectures"]) * len(grid["d"]) * len(grid["N"]) * len(grid["variants"]) * grid["seeds"]
    return dict(
        stack=stack_choice,
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


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_table(results: list[dict], limits: dict) -> None:
    print()
    print("Limits (measured with torch):")
    for t, lim in limits.items():
        print(
            f"  {t} thread(s): triad {lim['triad_GBps']:.1f} GB/s over 3x{lim['triad_MB']:.0f} MB"
            f"  (cache-resident triad {lim['triad_cache_GBps']:.1f} GB/s over 3x{lim['triad_cache_MB']:.0f} MB)"
        )
    head = (
        f"{'arch':9} {'d':>5} {'S':>3} {'thr':>3} {'step ms':>8} {'epoch s':>8} {'test s':>7} {'samples/s':>10}"
        f" {'GFLOP/s':>8} {'mm peak':>8} {'mm ms':>7} {'adam ms':>7} {'floor ms':>8} {'% floor':>7}"
    )
    print()
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['arch']:9} {r['d']:5d} {r['S']:3d} {r['threads']:3d} {1e3 * r['step_s']:8.2f} {r['epoch_s']:8.3f}"
            f" {r['test_pass_s']:7.3f} {r['samples_per_s']:10.0f} {r['gflops_achieved']:8.1f}"
            f" {r['matmul_peak_gflops']:8.1f} {1e3 * r['matmul_floor_s']:7.2f} {1e3 * r['adam_floor_s']:7.2f}"
            f" {1e3 * r['floor_s']:8.2f} {r['floor_pct']:6.1f}%"
        )
    print("  epoch s = 67 steps + test pass over 3,300 rows; samples/s = S·rows per second of training steps;")
    print("  GFLOP/s at 6 FLOP per weight MAC per example; mm peak = best torch mm/bmm GFLOP/s at the step's shapes;")
    print("  floor = matmuls at that peak + 28 B/parameter of Adam traffic at the triad bandwidth.")


def print_stack(stack: list[dict]) -> None:
    if not stack:
        return
    print()
    print("Canonical stacking (samples/s = seed-samples per second):")
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
        print(
            f"  [{stack}] {p['trainings']} trainings: {p['core_hours']:.1f} core-hours,"
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
    for r in record["results"]:
        cols = ["layer", "role", "S", "m", "k", "n", "op", "seconds", "gflops"]
        rows = []
        for m in [cols] + [[m[c] for c in cols] for m in r["matmuls"]]:
            key = f"@inline{len(inline)}@"
            inline[key] = json.dumps(m)
            rows.append(key)
        r["matmuls"] = {"columns": rows[0], "rows": rows[1:]}
    text = json.dumps(record, indent=1)
    for key, value in inline.items():
        text = text.replace(f'"{key}"', value, 1)
    return text


# ------------------------------------------------------------------------------------------------- main


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
        help="optimizer: bvae.train.make_optimizer (package, the"
        " default); or force torch.optim.Adam's default, fused=True or foreach=True implementation",
    )
    parser.add_argument("--no-projection", action="store_true", help="skip the extra 1-thread grid measurements")
    args = parser.parse_args(argv)

    budget, repeats, mm_target = (0.3, 3, 0.03) if args.quick else (1.0, 5, 0.15)
    triad_n = (64 if args.quick else 128) * 2**20  # floats per array: 3 × 256/512 MB, far beyond any L3
    grid, grid_source = study_grid()
    stacks = sorted(set(args.stack) | {1})

    # which configurations to run: the table's, plus at 1 thread every (arch, d) of the study grid
    plan: list[tuple[str, int, int, int]] = []
    for threads in args.threads:
        for arch in ("deep", "canonical"):
            ds = set(TABLE_D)
            if threads == 1 and not args.no_projection and arch in grid["architectures"]:
                ds |= set(grid["d"])
            for d in sorted(ds):
                Ss = [1]
                if arch == "canonical":
                    Ss = stacks if (d == 200 or threads == 1) else [1]
                if threads == 1 and not args.no_projection and arch in grid["architectures"]:
                    Ss = sorted(set(Ss) | {grid["seeds_per_job"].get(arch, 1)})
                    if arch == "canonical":
                        Ss = sorted(set(Ss) | set(stacks))
                for S in Ss:
                    plan.append((arch, d, S, threads))

    print(
        f"bvae {bvae.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"python {platform.python_version()}"
    )
    print(
        f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; {len(plan)} configurations, "
        f"{repeats} repeats of about {budget} s of steps each"
    )
    limits = {}
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

    results = []
    started = time.perf_counter()
    for arch, d, S, threads in plan:
        best_r: dict | None = None
        for attempt in range(3):  # re-measure (probes included) when other processes got in the way
            r = measure(
                arch,
                args.variant,
                d,
                S,
                threads,
                budget,
                repeats,
                mm_target,
                limits[threads]["triad_GBps"] * 1e9,
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
            for sh in r["matmuls"]:
                _MM_CACHE.pop((sh["S"], sh["m"], sh["k"], sh["n"], sh["role"], threads), None)
            print(f"  (others used {100 * r['other_cpu_busy_during']:.0f} % of the CPUs: measuring {label(r)} again)")
        r = best_r
        results.append(r)
        print(
            f"  {arch:9} d={d:4d} S={S:2d} threads={threads}: step {1e3 * r['step_s']:7.2f} ms, "
            f"floor {1e3 * r['floor_s']:7.2f} ms ({r['floor_pct']:.0f}%); others used"
            f" {100 * r['other_cpu_busy_during']:.0f} % of the CPUs",
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

    table = [r for r in results if r["d"] in TABLE_D]
    table.sort(key=lambda r: (r["threads"], r["arch"] != "deep", r["d"], r["S"]))
    print_table(table, limits)

    stack = []
    for threads in args.threads:
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
    print_stack(stack)

    projections = []
    if 1 in args.threads and not args.no_projection:
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
        projections = [project(grid, results, {a: c.get(a, 1) for a in grid["architectures"]}) for c in choices]
        print_projection(projections, grid_source)

    name = f"{datetime.date.today().isoformat()}_{socket.gethostname()}"
    out = args.out or ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = dict(
        name=out.stem,
        created=datetime.datetime.now().isoformat(timespec="seconds"),
        host=socket.gethostname(),
        cpu_model=cpu_model(),
        logical_cpus=os.cpu_count(),
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
            seconds_per_repeat=budget,
            repeats=repeats,
            triad_floats=triad_n,
            adam=args.adam,
            adam_bytes_per_param=ADAM_BYTES_PER_PARAM,
            flops_per_weight_mac=6,
        ),
        limits={str(k): v for k, v in limits.items()},
        results=results,
        stacking=stack,
        grid=dict(grid, source=grid_source),
        projections=projections,
        bench_seconds=elapsed,
        load_average=os.getloadavg(),
        max_other_cpu_busy=max(max(r["other_cpu_busy_before"], r["other_cpu_busy_during"]) for r in results),
    )
    out.write_text(to_json(record) + "\n")
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({elapsed:.0f} s of measurement)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
