"""Resource requests for a training job, so that a scheduler neither kills it nor reserves far too much.

runtime: the job's multiply-adds at a conservative per-core rate plus the optimizer's memory traffic, times a
safety factor; mem_mb: a fixed interpreter/torch base plus data, parameters with gradients and both Adam moments,
and the activations of the largest evaluation chunk, times the same factor.
"""

from __future__ import annotations

import math

from bvae.architectures import layers

EVAL_ROWS = 2048  # rows per chunk in training's full passes (bvae.train): bounds the memory of wide stacks
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


def train_mem_mb(arch, d, n_train, n_test, latent_dim, hidden, seeds=1) -> int:
    shape = layers(arch, d, latent_dim, hidden)
    data = 4 * d * (n_train + n_test) * 2
    model = seeds * 4 * 4 * shape.weight_count()
    activations = seeds * 4 * EVAL_ROWS * (2 * sum(shape.encoder[1:]) + 2 * d)
    return math.ceil(BASE_MB + SAFETY * (data + model + activations) / 2**20)
