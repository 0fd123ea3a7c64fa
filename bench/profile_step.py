"""Where a training step's time goes: torch.profiler over `bvae.training.train.run_epoch`, ops grouped by kind.

Usage, from the repository root::

    python -m bench.profile_step                      # deep d=1000 and canonical d=200 S=1, 1 thread
    python -m bench.profile_step --arch deep --d 200 --stack 1 --steps 40 --threads 1 --table
    python -m bench.profile_step --kernel onednn      # the step on another kernel (bvae.training.kernels)

Groups: matmul (mm/bmm/baddbmm/addmm and oneDNN's linear; numpy's products are no torch op and land in
python/dispatch), adam (ops under Optimizer.step), gather (index/x[idx]), rng
(randperm/randn), elementwise (everything else in forward/backward) and python/dispatch = wall − ops' self time.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
from bench.roofline.measure import BATCH, make_model
from torch.profiler import ProfilerActivity, profile

from bvae.model.settings import TrainSettings
from bvae.training.kernels import FP32, blas_threads
from bvae.training.train import run_epoch

MATMUL = {"aten::mm", "aten::bmm", "aten::baddbmm", "aten::addmm", "aten::matmul", "mkldnn::_linear_pointwise"}
GATHER = {"aten::index", "aten::index_select", "aten::gather", "aten::take"}
RNG = {"aten::randperm", "aten::randn", "aten::normal_"}


def breakdown(arch: str, d: int, S: int, steps: int, threads: int, table: bool, fused=False, kernel="torch") -> dict:
    torch.set_num_threads(threads)
    model, opt, x, _, gens = make_model(arch, "vanilla", d, S, kernel=kernel)
    if fused:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=TrainSettings().adam_eps, fused=True)
    rows = x[: steps * BATCH]
    run_epoch(model, opt, x[: 3 * BATCH], gens, BATCH)
    t = time.perf_counter()
    run_epoch(model, opt, rows, gens, BATCH)
    plain = (time.perf_counter() - t) / steps
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t = time.perf_counter()
        run_epoch(model, opt, rows, gens, BATCH)
        wall = (time.perf_counter() - t) / steps
    events = prof.events()
    # time inside Optimizer.step (total) and the leaf ops' self time by kind outside it
    groups: dict[str, float] = defaultdict(float)
    adam_total = sum(e.cpu_time_total for e in events if e.name.startswith("Optimizer.step"))
    adam_ids = set()
    for e in events:
        if e.name.startswith("Optimizer.step"):
            stack = list(e.cpu_children)
            while stack:
                c = stack.pop()
                adam_ids.add(c.id)
                stack.extend(c.cpu_children)
    for e in events:
        if e.id in adam_ids or e.name.startswith("Optimizer") or e.name.startswith("ProfilerStep"):
            continue
        name = e.name
        if name in MATMUL:
            groups["matmul"] += e.self_cpu_time_total
        elif name in GATHER:
            groups["gather x[idx]"] += e.self_cpu_time_total
        elif name in RNG:
            groups["rng (perm, noise)"] += e.self_cpu_time_total
        elif name.startswith("autograd::engine") or name.endswith("Backward0") or name.endswith("Backward1"):
            groups["autograd nodes (self)"] += e.self_cpu_time_total
        else:
            groups["other ops (elementwise, zero_grad, sum...)"] += e.self_cpu_time_total
    groups["adam (Optimizer.step total)"] = adam_total
    per_step = {k: v / 1e3 / steps for k, v in groups.items()}  # ms per step
    accounted = sum(per_step.values())
    per_step["python/dispatch/profiler (wall - ops)"] = 1e3 * wall - accounted
    adam = " (fused Adam)" if fused else ""
    print(
        f"\n{arch} d={d} S={S} threads={threads} kernel {kernel}{adam}: {1e3 * plain:.2f} ms/step unprofiled, "
        f"{1e3 * wall:.2f} ms/step under the profiler"
    )
    for k, v in sorted(per_step.items(), key=lambda kv: -kv[1]):
        print(f"  {k:42} {v:7.2f} ms  {100 * v / (1e3 * wall):5.1f} %")
    if table:
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
    return per_step


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch")
    parser.add_argument("--d", type=int)
    parser.add_argument("--stack", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fused", action="store_true", help="Adam(fused=True) instead of the default Adam")
    parser.add_argument(
        "--kernel", default="torch", choices=list(FP32), help="matrix-product kernel (bvae.training.kernels)"
    )
    parser.add_argument("--table", action="store_true", help="also print torch.profiler's op table")
    args = parser.parse_args(argv)
    configs = [(args.arch, args.d, args.stack)] if args.arch else [("deep", 1000, 1), ("canonical", 200, 1)]
    for arch, d, S in configs:
        with blas_threads(args.threads):
            breakdown(arch, d, S, args.steps, args.threads, args.table, args.fused, args.kernel)


if __name__ == "__main__":
    main()
