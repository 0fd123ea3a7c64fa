"""Matrix-product kernels (bvae.training.kernels): each computes the layer and its gradients, the step's products are
the ones training runs, and the choice follows its rule."""

import math

import pytest
import torch

from bvae.model.settings import TrainSettings
from bvae.training import kernels
from bvae.training.kernels import BF16, Choice, available, choose, linear, step_products
from bvae.training.networks import build, linear_layers, use_kernel
from bvae.training.train import seed_generators

FP32_EPS = 2.0**-24


def layer(S=3, batch=7, fan_in=40, fan_out=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(S, batch, fan_in, generator=g, dtype=torch.float64)
    w = torch.randn(S, fan_in, fan_out, generator=g, dtype=torch.float64)
    b = torch.randn(S, 1, fan_out, generator=g, dtype=torch.float64)
    dy = torch.randn(S, batch, fan_out, generator=g, dtype=torch.float64)
    return x, w, b, dy


def value_and_grads(kernel, x, w, b, dy):
    x, w, b = (t.float().requires_grad_() for t in (x, w, b))
    y = linear(x, w, b, kernel)
    y.backward(dy.float())
    return [t.double() for t in (y.detach(), x.grad, w.grad, b.grad)]


@pytest.mark.parametrize("kernel", [*available(), *BF16])
def test_each_kernel_computes_the_layer_and_its_gradients(kernel):
    """Against float64: fp32 kernels to fp32 rounding (|error| <= k·ε·Σ|terms|), bf16 ones to bf16 rounding."""
    if kernel == "bf16" and not kernels.native_bf16():
        pytest.skip("torch's bf16 product is emulated and very slow on this CPU")
    x, w, b, dy = layer()
    exact = [x @ w + b, dy @ w.transpose(1, 2), x.transpose(1, 2) @ dy, dy.sum(1, keepdim=True)]
    scale = [x.abs() @ w.abs() + b.abs(), dy.abs() @ w.abs().transpose(1, 2), x.abs().transpose(1, 2) @ dy.abs()]
    scale.append(dy.abs().sum(1, keepdim=True))
    eps = FP32_EPS if kernel in available() else 2.0**-8  # bf16: 8 significant bits; operands and result rounded
    for got, want, size, k in zip(value_and_grads(kernel, x, w, b, dy), exact, scale, (40, 24, 7, 7), strict=True):
        assert ((got - want).abs() <= 3 * k * eps * size).all()
    if kernel in BF16:  # rounding really happens: far from fp32 accuracy
        assert (value_and_grads(kernel, x, w, b, dy)[0] - exact[0]).abs().max() > 1e3 * FP32_EPS * scale[0].max()


def test_bf16_emulation_gives_torchs_bf16_numbers():
    """Exact bf16 x bf16 products in fp32, rounded: within one bf16 rounding of torch's own bf16 product."""
    x, w, b, dy = (t.float() for t in layer(S=1, batch=5, fan_in=30, fan_out=20))
    emulated, native = (linear(x, w, b, k) for k in BF16)
    assert emulated.dtype == native.dtype == torch.float32
    assert ((emulated - native).abs() <= 2.0**-8 * (native - b).abs() + 1e-30).all()


def model(S=2, hidden=(16, 8)):
    return build(TrainSettings(arch="deep", hidden=hidden), 12, [seed_generators(s)[0] for s in range(S)])


def test_step_products_are_the_products_training_runs(monkeypatch):
    """The floor's accounting: the (S, m, k, n) of every product one step runs, counted through a kernel."""
    net, seen = model(), []
    real = kernels.MM["numpy"]

    def counting(a, b):
        seen.append((a.shape[0], a.shape[1], b.shape[1]))
        return real(a, b)

    monkeypatch.setitem(kernels.MM, "numpy", counting)
    use_kernel(net, "numpy")
    net.losses(torch.rand(2, 5, 12).round(), torch.randn(2, 5, 2))[0].sum().backward()
    products = step_products([(n, m.weight) for n, m in linear_layers(net)], batch=5)
    listed = [p.mkn for p in products for _ in range(p.S)]  # the numpy kernel runs seed by seed
    assert sorted(seen) == sorted(listed)
    assert all(p.flops == 2 * p.S * p.mkn[0] * p.mkn[1] * p.mkn[2] for p in products)


def test_choice_rule(monkeypatch):
    """bf16 and a named kernel need no measurement; small steps keep torch's; auto takes a kernel only if it leads
    by MARGIN in every round, the fastest such."""
    big = step_products([("a", torch.empty(1, 1000, 1000))], 100)
    assert choose(big, "bf16", "auto").kernel in kernels.BF16
    assert choose(big, "fp32", "numpy") == Choice("numpy", {})
    assert choose(step_products([("a", torch.empty(1, 10, 10))], 100), "fp32", "auto") == Choice("torch", {})

    def rigged(rounds):
        monkeypatch.setattr(kernels, "available", lambda: list(rounds))
        monkeypatch.setattr(kernels, "race", lambda calls, n: {k: list(v) for k, v in rounds.items()})
        return choose(big, "fp32", "auto")

    lead = kernels.MARGIN * 1.01
    assert rigged({"torch": [2.0] * 3, "onednn": [2 / lead] * 3, "numpy": [1.0] * 3}) == Choice(
        "numpy", {"torch": 2.0, "onednn": 2 / lead, "numpy": 1.0}
    )
    assert rigged({"torch": [2.0, 2.0, 2.0], "numpy": [1.0, 1.0, 2.0]}).kernel == "torch"  # a lead in 2 of 3 rounds
    assert rigged({"torch": [1.1] * 3, "numpy": [1.0] * 3}).kernel == "torch"  # within the margin
    assert rigged({"torch": [2.0] * 3, "onednn": [2 / lead] * 3}).kernel == "onednn"


def test_choice_measures_every_kernel_at_the_products():
    products = step_products([("a", torch.empty(1, 300, 350))], 100)
    assert sum(p.flops for p in products) > kernels.MIN_FLOPS
    choice = choose(products, "fp32", "auto")
    assert choice.kernel in available() and set(choice.seconds) == set(available())
    assert all(0 < s < math.inf for s in choice.seconds.values())
