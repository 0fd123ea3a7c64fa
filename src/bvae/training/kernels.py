"""Matrix-product kernels of the linear layers, and the choice among them on the running machine.

Every layer is a batched product (S, batch, fan_in) @ (S, fan_in, fan_out) (`networks.StackedLinear`), and a
training step runs three per layer: the forward one and the two of the backward pass. torch's own CPU product is
MKL on x86, which does not take its fastest code paths on every processor (AMD's in particular); the same torch
wheel ships oneDNN, and numpy brings its own BLAS. `choose` times them at a model's products, and `linear` runs a
layer, with its gradients, through the chosen one. fp32 kernels differ by rounding only; bf16 rounds the operands
and results of every product to bfloat16 (`precision: bf16`).
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

FP32 = ("torch", "onednn", "numpy")  # the `kernel` setting's choices besides auto, in order of preference on ties
BF16 = ("bf16", "bf16-emulated")
MARGIN = 1.2  # auto takes another kernel only if it beats torch's by this factor: timing noise must not flip it
MIN_FLOPS = 2e7  # below this many FLOPs of products per step, per-call overheads, not the kernel, set the speed


def _onednn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b through oneDNN's inner product on plain strided tensors (the op torch.compile fuses linears into)."""
    return torch.ops.mkldnn._linear_pointwise(a, b.T, None, "none", [], "")


def _numpy(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b through numpy's BLAS (OpenBLAS in numpy's wheels), sharing memory with the tensors."""
    return torch.from_numpy(np.matmul(a.detach().numpy(), b.detach().numpy()))


def _bf16(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """torch's product of bf16 operands (oneDNN where the CPU has bf16 instructions): fp32 accumulation, the result
    rounded to bf16 and returned as fp32."""
    return torch.mm(a, b).float()


def _bf16_emulated(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The same numbers at fp32 speed on CPUs without bf16 instructions, where torch's bf16 product is many times
    slower: the operands hold bf16 values in fp32, a product of two bf16 values is exact in fp32, so torch's fp32
    product, rounded, is a bf16 product with fp32 accumulation."""
    return torch.mm(a, b).bfloat16().float()


MM = {"torch": torch.mm, "onednn": _onednn, "numpy": _numpy, "bf16": _bf16, "bf16-emulated": _bf16_emulated}
ROUND = {"bf16": lambda t: t.bfloat16(), "bf16-emulated": lambda t: t.bfloat16().float()}


def operand(kernel: str, t: torch.Tensor) -> torch.Tensor:
    """`t` as `kernel` multiplies it: rounded to bf16 for the bf16 kernels (once per step, not once per product)."""
    return ROUND[kernel](t) if kernel in ROUND else t


def available() -> list[str]:
    """The fp32 kernels this torch build offers (oneDNN is missing from some builds, e.g. on some ARM platforms)."""
    return [k for k in FP32 if k != "onednn" or torch.backends.mkldnn.is_available()]


def native_bf16() -> bool:
    """Whether torch's bf16 product runs on bf16 instructions here (AVX512-BF16, AMX, ...), not emulated."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def product(kernel: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(S, m, k) @ (S, k, n): torch's batched product, or another kernel seed by seed."""
    if kernel == "torch":
        return torch.bmm(a, b)
    mm = MM[kernel]
    if a.shape[0] == 1:
        return mm(a[0], b[0]).unsqueeze(0)
    return torch.stack([mm(a_s, b_s) for a_s, b_s in zip(a, b, strict=True)])


class _Linear(torch.autograd.Function):
    """x W + b with the forward product and both backward ones (dY Wᵀ, Xᵀ dY) through one kernel; the bias, its
    gradient and everything around the layer stay fp32."""

    @staticmethod
    def forward(ctx, x, weight, bias, kernel):
        x, weight = operand(kernel, x), operand(kernel, weight)
        ctx.save_for_backward(x, weight)
        ctx.kernel = kernel
        return product(kernel, x, weight) + bias

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        dy = operand(ctx.kernel, grad)
        grad_x = product(ctx.kernel, dy, weight.transpose(1, 2)) if ctx.needs_input_grad[0] else None
        grad_w = product(ctx.kernel, x.transpose(1, 2), dy) if ctx.needs_input_grad[1] else None
        grad_b = grad.sum(1, keepdim=True) if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b, None


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, kernel: str = "torch") -> torch.Tensor:
    """x W + b for a (S, batch, fan_in) x, (S, fan_in, fan_out) W and (S, 1, fan_out) b through `kernel`."""
    if kernel == "torch":
        return torch.baddbmm(bias, x, weight)  # torch's own autograd: the reference path
    return _Linear.apply(x, weight, bias, kernel)


# ------------------------------------------------------------------------------------------- a step's products


def _layer_operands(S: int, batch: int, fan_in: int, fan_out: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Random operands of one layer's three products, shared and strided as autograd has them: X W, dY Wᵀ (a
    transposed view of W), Xᵀ dY (a transposed view of X)."""
    x, w, g = torch.rand(S, batch, fan_in), torch.rand(S, fan_in, fan_out), torch.rand(S, batch, fan_out)
    return {"forward": (x, w), "grad_input": (g, w.transpose(1, 2)), "grad_weight": (x.transpose(1, 2), g)}


@dataclass(frozen=True)
class Product:
    """One (S, m, k) @ (S, k, n) product of a training step: a layer's forward one, or one of its backward ones."""

    layer: str
    role: str  # forward (X W), grad_input (dY Wᵀ) or grad_weight (Xᵀ dY)
    S: int
    batch: int
    fan_in: int
    fan_out: int

    @property
    def mkn(self) -> tuple[int, int, int]:
        b, i, o = self.batch, self.fan_in, self.fan_out
        return {"forward": (b, i, o), "grad_input": (b, o, i), "grad_weight": (i, b, o)}[self.role]

    @property
    def flops(self) -> int:
        return 2 * self.S * self.batch * self.fan_in * self.fan_out

    def operands(self) -> tuple[torch.Tensor, torch.Tensor]:
        return _layer_operands(self.S, self.batch, self.fan_in, self.fan_out)[self.role]


def layer_products(layer: str, S: int, fan_in: int, fan_out: int, batch: int, first: bool = False) -> list[Product]:
    """The products of one layer in a training step; autograd skips grad_input of the `first` layer, whose input
    (the data) needs no gradient."""
    roles = ("forward", "grad_weight") if first else ("forward", "grad_input", "grad_weight")
    return [Product(layer, role, S, batch, fan_in, fan_out) for role in roles]


def step_products(layers: list[tuple[str, torch.Tensor]], batch: int) -> list[Product]:
    """Every product one training step runs, for (name, weight (S, fan_in, fan_out)) layers in forward order."""
    products = []
    for i, (name, w) in enumerate(layers):
        S, fan_in, fan_out = w.shape
        products += layer_products(name, S, fan_in, fan_out, batch, first=i == 0)
    return products


def _step_operands(products: list[Product]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Operands of every product, one set per layer as in training (separate ones would take many times the
    memory of a wide stack)."""
    layers = {p.layer: _layer_operands(p.S, p.batch, p.fan_in, p.fan_out) for p in products}
    return [layers[p.layer][p.role] for p in products]


def rotated(items: list, r: int) -> list:
    """`items` starting at position r (mod len): who goes first changes from round to round."""
    return items[r % len(items) :] + items[: r % len(items)]


def race(calls: dict[str, Callable[[], object]], rounds: int, target: float = 0.0) -> dict[str, list[float]]:
    """Seconds per call of each of `calls` in each round, at the current thread counts: after two warm-up calls
    each (primitive creation, allocator, thread pool), they take turns, in an order that rotates, for `rounds`
    rounds of about `target` seconds each (at least one call), so that another process's burst cannot favour one."""
    names, once = list(calls), math.inf
    for name in names:
        calls[name]()
        t = time.perf_counter()
        calls[name]()
        once = min(once, time.perf_counter() - t)
    repeat = max(1, round(target / max(once, 1e-7)))
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in rotated(names, r):
            call = calls[name]
            t = time.perf_counter()
            for _ in range(repeat):
                call()
            seconds[name].append((time.perf_counter() - t) / repeat)
    return seconds


# ------------------------------------------------------------------------------------------------- the choice


@dataclass(frozen=True)
class Choice:
    kernel: str
    seconds: dict[str, float]  # per fp32 kernel: all products of one step, best round; empty when not measured


def _run_products(kernel: str, operands: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    for a, b in operands:
        product(kernel, a, b)


def choose(products: list[Product], precision: str, kernel: str, rounds: int = 3) -> Choice:
    """The kernel a training uses: the bf16 one for `precision: bf16`; a `kernel` the user named; for auto the
    fastest fp32 kernel at one step's products that beats torch's by `MARGIN` in every round (paired rounds, so
    that only a consistent lead counts, not a burst of another process), else torch's, also for products too
    small (`MIN_FLOPS`) for the kernel to matter."""
    if precision == "bf16":
        return Choice("bf16" if native_bf16() else "bf16-emulated", {})
    if kernel != "auto":
        return Choice(kernel, {})
    if sum(p.flops for p in products) < MIN_FLOPS:
        return Choice("torch", {})
    operands = _step_operands(products)
    rounds_s = race({k: functools.partial(_run_products, k, operands) for k in available()}, rounds)
    seconds = {k: min(v) for k, v in rounds_s.items()}
    torch_s = rounds_s.pop("torch")
    leads = [k for k, v in rounds_s.items() if all(t >= MARGIN * s for t, s in zip(torch_s, v, strict=True))]
    return Choice(min(leads, key=lambda kernel: seconds[kernel]) if leads else "torch", seconds)


@contextlib.contextmanager
def blas_threads(threads: int):
    """numpy's BLAS limited to `threads` (it would use every core): a job gets no more threads than it was given."""
    with threadpool_limits(limits=threads, user_api="blas"):
        yield
