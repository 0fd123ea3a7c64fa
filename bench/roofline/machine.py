"""The machine and its load: CPU model and instruction-set flags, torch's and numpy's kernels, the memory
bandwidth of a stream triad and the share of the CPUs other processes use."""

from __future__ import annotations

import math
import os
import platform
import time
from pathlib import Path

import torch
from threadpoolctl import threadpool_info

from bvae.training.kernels import available, native_bf16


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
