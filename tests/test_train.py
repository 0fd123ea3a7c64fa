"""Networks and training (method §5–6): preinit placement, reproducibility, stack independence, resume, divergence."""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from bvae.data.simulate import SimSettings, simulate
from bvae.errors import ConfigError, DivergenceError
from bvae.model.bound import fit_bound
from bvae.training import kernels, train
from bvae.training.checkpoint import Checkpoint
from bvae.training.networks import StackedVAE, build
from bvae.training.results import write_result
from bvae.training.train import TrainSettings, full_pass, seed_generators, train_seeds

TINY = dict(hidden=(16, 16), epochs=3, batch_size=50, mc_samples=2, checkpoint_every=1)
KERNELS = kernels.available()
# Kernels add the same products in different orders: a training's losses differ by fp32 rounding, which the
# training carries along (measured on an AMD EPYC: at most 1.8e-7 relative over these 20 epochs; full-size deep
# trainings in README "Performance"). Bit-identity across kernels is not expected.
KERNEL_RTOL = 1e-5


@pytest.fixture(scope="module")
def data():
    return simulate(SimSettings(d=20, N=300, block=5, seed=1))


@pytest.mark.parametrize("arch", ["deep", "canonical"])
def test_preinit_layers_sit_where_spec_says(data, arch):
    bound = fit_bound(data.train, data.test, 2)
    gens = [seed_generators(s)[0] for s in (0, 1)]
    model = build(TrainSettings(arch=arch, variant="preinit", hidden=(32, 24)), data.d, gens, bound)
    for s in range(2):
        w_out = model.out.weight[s].detach().double().numpy()  # (fan_in, d)
        np.testing.assert_allclose(w_out[:2].T, bound.W, atol=1e-6)
        assert np.all(w_out[2:] == 0)
        np.testing.assert_allclose(model.out.bias[s, 0].detach().numpy(), bound.b, atol=1e-6)
        w_mu = model.mu.weight[s].detach().double().numpy()  # (fan_in, κ)
        used = min(w_mu.shape[0], data.d)
        np.testing.assert_allclose(w_mu[:used].T, 4 * bound.M[:, :used], atol=1e-6)
        assert np.all(w_mu[used:] == 0)
        np.testing.assert_allclose(model.mu.bias[s, 0].detach().numpy(), -bound.M @ (bound.b + 2), atol=1e-5)
    x = torch.rand(2, 7, data.d).round()
    _, logvar = model.encode(x)
    np.testing.assert_allclose(logvar.detach().numpy(), np.broadcast_to(np.log(bound.sigma_z), (2, 7, 2)), rtol=1e-6)
    assert model.logvar is None and "fixed_logvar" not in dict(model.named_parameters())


def test_preinit_fed_x_starts_below_the_bound_on_data_unlike_the_model():
    """What the README says of preinit on a user's data: its start above the bound comes from the random hidden
    layers before the μ head. With those layers the identity (ReLU passes 0/1 data unchanged), the head computes the
    optimal encoder M(x̃ − b*), and the canonical network's negative ELBO is at most the bound even on data from a
    probit model with strong factors (the Taylor inequality holds for every γ), while the random layers start above."""
    rng = np.random.default_rng(7)
    loadings = np.repeat([[0.9, 0.0], [0.0, -0.7]], [8, 8], axis=0)  # two factors on 8 dimensions each, d = 16
    theta = (rng.normal(size=(900, 2)) * [2.0, 1.2]) @ loadings.T - 0.5  # offset: fewer ones than zeros
    probit = 0.5 * (1 + np.vectorize(math.erf)(theta / math.sqrt(2)))  # a link other than the model's logistic
    x = (rng.random(theta.shape) < probit).astype(np.uint8)
    bound = fit_bound(x[:600], x[600:], 2)
    assert bound.eigenvalues[1] > 8  # strong factors: W* amplifies any error of μ
    model = build(TrainSettings(arch="canonical", variant="preinit"), 16, [seed_generators(0)[0]], bound)
    x_train = torch.as_tensor(x[:600], dtype=torch.float32)
    random_start = full_pass(model, x_train, [seed_generators(0)[1]], samples=20)["loss"][0]
    with torch.no_grad():
        for layer in model.encoder[::2]:
            layer.weight[:] = torch.eye(16)
            layer.bias.zero_()
    fed_x = full_pass(model, x_train, [seed_generators(0)[1]], samples=20)["loss"][0]
    assert fed_x < bound.bound_train < random_start


def test_logvar_constant_survives_training(data):
    results = train_seeds(data, TrainSettings(arch="canonical", variant="preinit", **TINY), [0], progress=False)
    assert len(results[0].history) == 3
    bound = fit_bound(data.train, data.test, 2)
    gens = [seed_generators(0)[0]]
    model = build(TrainSettings(arch="canonical", variant="preinit"), data.d, gens, bound)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    before = model.fixed_logvar.clone()
    for _ in range(3):
        loss = model.losses(torch.rand(1, 10, data.d).round(), torch.randn(1, 10, 2))[0].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.equal(model.fixed_logvar, before)


def test_same_seed_same_history_different_seed_different_init(data):
    settings = TrainSettings(arch="deep", variant="vanilla", **TINY)
    a, b = (train_seeds(data, settings, [3], progress=False)[0] for _ in range(2))
    pd.testing.assert_frame_equal(a.history.drop(columns="seconds"), b.history.drop(columns="seconds"))
    assert a.final["final_train_loss"] == b.final["final_train_loss"]
    bound = fit_bound(data.train, data.test, 2)
    models = {
        v: build(TrainSettings(variant=v, hidden=(16, 16)), data.d, [seed_generators(s)[0] for s in (0, 1)], bound)
        for v in ("vanilla", "preinit")
    }
    enc = models["vanilla"].encoder[0].weight
    assert not torch.equal(enc[0], enc[1])
    assert torch.equal(models["preinit"].out.weight[0], models["preinit"].out.weight[1])
    assert torch.equal(models["preinit"].mu.bias[0], models["preinit"].mu.bias[1])
    assert torch.equal(models["vanilla"].encoder[0].weight, models["preinit"].encoder[0].weight)


@pytest.mark.parametrize(("variant", "kernel"), [("vanilla", k) for k in KERNELS] + [("preinit", "torch")])
def test_seed_results_do_not_depend_on_the_stack(data, variant, kernel):
    """The guarantee: a seed's history and final record are bit-identical alone and in any stack, on one kernel."""
    settings = TrainSettings(arch="canonical", variant=variant, kernel=kernel, **TINY)
    alone = train_seeds(data, settings, [5], progress=False)[0]
    stacked = train_seeds(data, settings, [2, 5, 9], progress=False)[1]
    cols = ["epoch", "train_loss", "test_loss"]
    pd.testing.assert_frame_equal(alone.history[cols], stacked.history[cols], check_exact=True)
    for key in ("final_train_loss", "final_test_loss", "final_kl", "active_units"):
        assert alone.final[key] == stacked.final[key], key


def killed_in_epoch_4(data, settings, seeds, ckpt, monkeypatch) -> None:
    """A training with 5 steps per epoch and checkpoints every 2 epochs, killed inside the 4th epoch."""
    real, calls = StackedVAE.losses, {"n": 0}

    def dies_in_epoch_4(self, x, eps):
        calls["n"] += 1
        if calls["n"] > 3 * 5 + 4:
            raise KeyboardInterrupt
        return real(self, x, eps)

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(StackedVAE, "losses", dies_in_epoch_4)
        train_seeds(data, settings, seeds, checkpoint=ckpt, progress=False)


@pytest.mark.parametrize("kernel", KERNELS)
def test_kill_and_resume_is_exact(data, tmp_path, monkeypatch, kernel):
    settings = TrainSettings(kernel=kernel, **{**TINY, "epochs": 4, "checkpoint_every": 2})
    reference = train_seeds(data, settings, [0, 1], progress=False)
    ckpt = tmp_path / "ckpt.pt"
    killed_in_epoch_4(data, settings, [0, 1], ckpt, monkeypatch)
    assert ckpt.exists() and Checkpoint.parse(ckpt.read_bytes())["epoch"] == 2
    resumed = train_seeds(data, settings, [0, 1], checkpoint=ckpt, progress=False)
    assert "model" not in Checkpoint.parse(ckpt.read_bytes())  # the checkpoint now holds only the results
    for ref, res in zip(reference, resumed, strict=True):
        pd.testing.assert_frame_equal(ref.history.drop(columns="seconds"), res.history.drop(columns="seconds"))
        assert ref.final["final_train_loss"] == res.final["final_train_loss"]
        assert ref.final["final_test_loss"] == res.final["final_test_loss"]


def test_resume_keeps_the_kernel_it_started_with(data, tmp_path, monkeypatch):
    """auto chooses once per training: a resumed one goes on with the kernel its checkpoint names, whatever a new
    choice would say, and ends with the numbers of an uninterrupted run on that kernel."""
    settings = TrainSettings(arch="deep", **{**TINY, "epochs": 4, "checkpoint_every": 2})
    reference = train_seeds(data, dataclasses.replace(settings, kernel="numpy"), [0], progress=False)[0]
    measured = kernels.Choice("numpy", {"torch": 2.0, "onednn": 1.5, "numpy": 1.0})
    monkeypatch.setattr(train, "choose", lambda *args: measured)
    killed_in_epoch_4(data, settings, [0], tmp_path / "c.pt", monkeypatch)
    monkeypatch.setattr(train, "choose", lambda *args: kernels.Choice("onednn", {}))  # a new choice would differ
    resumed = train_seeds(data, settings, [0], checkpoint=tmp_path / "c.pt", progress=False)[0]
    assert resumed.final["kernel_used"] == "numpy" and json.loads(resumed.final["kernel_seconds"]) == measured.seconds
    pd.testing.assert_frame_equal(reference.history.drop(columns="seconds"), resumed.history.drop(columns="seconds"))
    assert resumed.final["final_train_loss"] == reference.final["final_train_loss"]


def test_a_kernel_missing_from_the_torch_build_is_refused(data, monkeypatch):
    monkeypatch.setattr(train, "available", lambda: ["torch", "numpy"])
    with pytest.raises(ConfigError, match="kernel = 'onednn' is not in this torch build"):
        train_seeds(data, TrainSettings(kernel="onednn", **TINY), [0], progress=False)


@pytest.mark.parametrize("arch", ["deep", "canonical"])
def test_kernels_agree_to_fp32_rounding(data, arch):
    """A 20-epoch training on each fp32 kernel ends within KERNEL_RTOL of torch's, seed by seed and epoch by epoch."""
    long = {**TINY, "epochs": 20, "checkpoint_every": 20}
    runs = {k: train_seeds(data, TrainSettings(arch=arch, kernel=k, **long), [0, 1], progress=False) for k in KERNELS}
    for kernel, results in runs.items():
        for ref, res in zip(runs["torch"], results, strict=True):
            assert res.final["kernel_used"] == kernel
            np.testing.assert_allclose(res.history["train_loss"], ref.history["train_loss"], rtol=KERNEL_RTOL)
            for key in ("final_train_loss", "final_test_loss", "bound_train"):
                assert res.final[key] == pytest.approx(ref.final[key], rel=KERNEL_RTOL), (kernel, key)


def test_bf16_changes_the_numbers_by_bf16_rounding_only(data):
    """precision bf16 trains (emulated where the CPU lacks bf16 instructions) and lands near fp32, not on it."""
    fp32, bf16 = (
        train_seeds(data, TrainSettings(arch="deep", precision=p, **TINY), [0], progress=False)[0].final
        for p in ("fp32", "bf16")
    )
    assert bf16["kernel_used"] in kernels.BF16 and bf16["precision"] == "bf16" and fp32["precision"] == "fp32"
    assert bf16["final_train_loss"] != fp32["final_train_loss"]
    assert bf16["final_train_loss"] == pytest.approx(fp32["final_train_loss"], rel=1e-2)


def test_nan_loss_raises_and_writes_nothing(data, tmp_path, monkeypatch):
    real = StackedVAE.losses
    monkeypatch.setattr(StackedVAE, "losses", lambda self, x, eps: tuple(v * np.nan for v in real(self, x, eps)))
    settings = TrainSettings(arch="canonical", variant="vanilla", **TINY)
    with pytest.raises(DivergenceError, match=r"dataset d20_N300, arch canonical, variant vanilla, seed 4, epoch 1"):
        for result in train_seeds(data, settings, [4], checkpoint=tmp_path / "c.pt", progress=False):
            write_result(result, tmp_path / "out")
    assert not any(tmp_path.rglob("*.parquet"))


def test_written_result_has_the_interface_columns(data, tmp_path):
    result = train_seeds(data, TrainSettings(arch="canonical", variant="preinit", **TINY), [0], progress=False)[0]
    write_result(result, tmp_path)
    final = pd.read_parquet(tmp_path / "final.parquet")
    required = (
        "dataset d N arch variant seed epochs final_train_loss final_test_loss bound_train bound_test pct_train "
        "pct_test final_kl active_units lr batch_size init epochs_to_1pct epochs_to_bound wall_seconds threads "
        "precision kernel kernel_used kernel_seconds torch_version"
    ).split()
    assert set(required) <= set(final.columns) and len(final) == 1
    row = final.iloc[0]
    assert row.pct_train == pytest.approx(100 * (row.final_train_loss - row.bound_train) / row.bound_train)
    history = pd.read_parquet(tmp_path / "history.parquet")
    assert list(history.columns) == ["epoch", "train_loss", "test_loss", "test_kl", "test_active_units", "seconds"]
    assert history["test_active_units"].between(0, 2).all() and (history["test_kl"] >= 0).all()
    for key, value in TrainSettings(arch="canonical", variant="preinit", **TINY).values().items():
        recorded = json.loads(row[key]) if key == "hidden" else row[key]
        assert pd.isna(recorded) if value is None else recorded == value, key
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arch": "wide"}, "arch = 'wide'"),
        ({"epochs": 0}, "epochs = 0"),
        ({"lr": -1.0}, "lr = -1.0"),
        ({"latent_dim": 21}, "latent_dim = 21"),
        ({"init": "orthogonal"}, "init = 'orthogonal'"),
        ({"hidden": ()}, "hidden = \\[\\]"),
        ({"precision": "fp16"}, "precision = 'fp16'"),
        ({"kernel": "mkl"}, "kernel = 'mkl'"),
        ({"precision": "bf16", "kernel": "numpy"}, "kernel = 'numpy' with precision = 'bf16'"),
    ],
)
def test_bad_settings(data, change, message):
    with pytest.raises(ConfigError, match=message):
        train_seeds(data, TrainSettings(**{**TINY, **change}), [0], progress=False)


def test_both_variants_reach_the_bound_and_preinit_is_faster():
    """method §8 claims 1–2 in miniature: d = 20, N = 3000, 40 epochs, 1 thread."""
    data = simulate(SimSettings(d=20, N=3000, block=5))
    final = {
        v: train_seeds(data, TrainSettings(arch="deep", variant=v, hidden=(64, 64), epochs=40), [0], progress=False)[
            0
        ].final
        for v in ("vanilla", "preinit")
    }
    for record in final.values():
        assert abs(record["pct_train"]) < 2
    assert final["preinit"]["epochs_to_1pct"] < final["vanilla"]["epochs_to_1pct"]
