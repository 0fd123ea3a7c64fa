"""Resource requests for a training job, so that a scheduler neither kills it nor reserves far too much, and the
memory check that refuses, in one line and before allocating, a computation that cannot fit.

runtime: the job's multiply-adds at a conservative per-core rate plus the optimizer's memory traffic, times a
safety factor; mem_mb: a fixed interpreter/torch base plus data, parameters with gradients and both Adam moments,
and the activations of the largest evaluation chunk, times the same factor.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from bvae.errors import ConfigError
from bvae.model.architectures import layers

EVAL_ROWS = 2048  # rows per chunk in training's full passes (bvae.training.train): bounds the memory of wide stacks
SAFETY = 2.0  # headroom for slower nodes and noisy neighbours
GFLOPS_PER_CORE = 80.0  # per-core rate of the network's matmuls; the bench machine sustains ~130 (bench/)
ADAM_GBPS = 10.0  # memory bandwidth of the optimizer step; the bench machine's triad gives ~15 GB/s per core
BASE_MB = 600  # Python, torch and pandas loaded


def train_runtime_minutes(
    arch, d, n_train, n_test, epochs, latent_dim, hidden, batch_size, mc_samples, seeds=1, threads=1
) -> int:
    weights = layers(arch, d, latent_dim, hidden).weight_count()
    flops = 6 * weights * n_train * epochs + 2 * weights * (n_test * epochs + (n_train + n_test) * mc_samples)
    steps = epochs * math.ceil(n_train / batch_size)
    adam_bytes = steps * 7 * 4 * weights
    seconds = seeds * (flops / (GFLOPS_PER_CORE * 1e9 * threads**0.7) + adam_bytes / (ADAM_GBPS * 1e9))
    return max(5, math.ceil(SAFETY * (seconds / 60 + 1)))


def train_bytes(arch, d, n_train, n_test, latent_dim, hidden, seeds=1) -> int:
    """Data, parameters with gradients and both Adam moments, and one evaluation chunk's activations (float32)."""
    shape = layers(arch, d, latent_dim, hidden)
    data = 4 * d * (n_train + n_test) * 2
    model = seeds * 4 * 4 * shape.weight_count()
    activations = seeds * 4 * EVAL_ROWS * (2 * sum(shape.encoder[1:]) + 2 * d)
    return data + model + activations


def train_mem_mb(arch, d, n_train, n_test, latent_dim, hidden, seeds=1) -> int:
    return math.ceil(BASE_MB + SAFETY * train_bytes(arch, d, n_train, n_test, latent_dim, hidden, seeds) / 2**20)


def bound_bytes(d: int, n: int) -> int:
    """The bound's optimum (bvae.model.bound.fit_bound): the data on the ±2 scale and its centred copy (float64), and d
    × d matrices: the covariance, its eigenvectors, LAPACK's workspace, then C = W Wᵀ + 4I, its Cholesky factor and
    C⁻¹S. Measured peaks: 7.2 to 7.4 d² doubles at d = 1500 and 3000; 8 are counted."""
    return 8 * (8 * d * d + 2 * n * d)


def available_memory() -> int | None:
    """Bytes this process can still allocate: Linux's MemAvailable, within the limit of its control group (a SLURM
    job's or a container's) if it has one; None where neither can be read, and then nothing is refused."""
    found: list[int] = []
    try:
        meminfo = re.search(r"^MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        found.append(1024 * int(meminfo[1]))  # type: ignore[index]  # no match: TypeError, caught
    except (OSError, TypeError):
        pass
    found += [limit - usage for limit, usage in _cgroup_memory()]
    return min(found) if found else None


def _cgroup_memory() -> list[tuple[int, int]]:
    """(limit, usage) in bytes of this process's memory control group, cgroup v2 or v1, if it has a limit."""
    groups = {  # "0::/path" (v2) or "4:memory:/path" (v1) in /proc/self/cgroup
        "": ("/sys/fs/cgroup", "memory.max", "memory.current"),
        "memory": ("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes"),
    }
    found: list[tuple[int, int]] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller, (root, limit, usage) in groups.items():
            if controller in controllers.split(","):
                group = Path(root) / path.lstrip("/")
                try:
                    found.append((int((group / limit).read_text()), int((group / usage).read_text())))
                except (OSError, ValueError):  # no such file, or no limit ("max")
                    pass
    return found


def gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_memory(need: int, what: str) -> None:
    """ConfigError, before allocating, if `what` (its values named) needs more memory than is available."""
    free = available_memory()
    if free is not None and need > free:
        raise ConfigError(f"{what} needs about {gib(need)} of memory (estimated) but {gib(free)} is available")
