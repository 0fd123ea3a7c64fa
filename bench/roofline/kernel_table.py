"""The kernel table: GFLOP/s of every matrix-product kernel at the deep network's two big shapes."""

from __future__ import annotations

import functools

import torch
from bench.roofline.measure import BATCH

from bvae.training.kernels import BF16, MM, Product, available, blas_threads, layer_products, operand, race

KERNEL_TABLE_SHAPES = ((1024, 1024), (1000, 1024))  # (fan_in, fan_out) of the kernel table: hidden, first layer


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
