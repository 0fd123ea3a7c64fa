"""The readable report on stdout and the JSON record."""

from __future__ import annotations

import json

from bvae.training.kernels import available


def print_machine(m: dict) -> None:
    flags = " ".join(f"{f}{'+' if on else '-'}" for f, on in m["flags"].items())
    print(f"CPU: {m['cpu_model']} ({m['vendor']}, family {m['cpu_family']} model {m['cpu_model_number']}),")
    print(f"     {m['logical_cpus']} logical CPUs, this process may use {m['affinity']}; flags {flags}")
    print(f"torch CPU capability {m['torch_cpu_capability']}; {m['mkl']}; {m['onednn']}")
    blas = "; ".join(f"{b['internal_api']} {b['version']} ({b['architecture']})" for b in m["numpy_blas"]) or "none"
    print(f"numpy's BLAS: {blas}; torch's bf16 product on bf16 instructions: {m['native_bf16']}")
    print(f"fp32 kernels: {', '.join(m['kernels'])}")


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


def _stack_text(arch: str, size: int | dict | None) -> str:
    if size is None:
        return f"{arch} S as configured"
    if isinstance(size, int):
        return f"{arch} S={size}"
    return f"{arch} S=" + "/".join(str(v) for v in size.values()) + " (fastest per d)"


def print_projection(proj: list[dict], source: str) -> None:
    print()
    print(f"Projected full study ({source}), 1 thread per job, measured per-core speed of this machine:")
    for p in proj:
        stack = ", ".join(_stack_text(a, S) for a, S in p["stack"].items())
        kernel = "torch's kernel" if p["kernel"] == "torch" else "chosen kernel"
        print(
            f"  [{stack}; {kernel}] {p['trainings']} trainings: {p['core_hours']:.1f} core-hours,"
            f" {p['wall_hours']:.2f} h wall on {p['cores']} cores"
        )
        per_cell: dict[str, float] = {}
        for row in p["rows"]:
            key = f"{row['protocol']} {row['arch']} d={row['d']} ({row['epochs']} epochs)"
            per_cell[key] = per_cell.get(key, 0) + row["core_hours"]
        print("     " + "; ".join(f"{k}: {v:.1f} ch" for k, v in per_cell.items()))
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
