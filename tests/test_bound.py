"""The bound of method §2: the softplus inequality, closed form against generic form, optimality, Proposition 1."""

import numpy as np
import pytest

import bvae.plots.bound
from bvae.data.binary import BinaryData
from bvae.data.simulate import SimSettings, simulate
from bvae.errors import ConfigError, DataError
from bvae.model.bound import bound_value, closed_form_bound, fit_bound, rescale
from bvae.model.decision import bound_summary, decision_support, mp_edge
from bvae.model.likelihood import exact_nll
from bvae.plots.bound import figure4, neg_softplus, scree, taylor2, third_derivative


@pytest.fixture(scope="module")
def small():
    return simulate(SimSettings(d=8, N=3000, block=3, score_sd=(3.0, 2.0), seed=7))


@pytest.fixture(scope="module")
def d200():
    return simulate(SimSettings(d=200, N=1500, seed=3))


def test_softplus_inequality_on_dense_grid():
    gamma = np.linspace(-50, 50, 200_001)
    gap = taylor2(gamma) - neg_softplus(gamma)  # h ≥ its Taylor polynomial ⇔ softplus ≤ log 2 + γ/2 + γ²/8
    assert np.all(gap <= 1e-12)
    assert gap[np.abs(gamma) > 1].max() < -1e-3  # strict away from 0


def test_third_derivative_sign_pattern_and_symmetry():
    gamma = np.linspace(-30, 30, 6001)
    h3 = third_derivative(gamma)
    assert np.all(h3[gamma < -1e-9] <= 0) and np.all(h3[gamma > 1e-9] >= 0)
    assert np.all(h3[(gamma < -0.01) & (gamma > -20)] < 0)
    np.testing.assert_allclose(h3, -h3[::-1], atol=1e-15)
    # against a finite-difference third derivative of h
    step = 1e-2
    fd = (
        neg_softplus(gamma + 2 * step)
        - 2 * neg_softplus(gamma + step)
        + 2 * neg_softplus(gamma - step)
        - neg_softplus(gamma - 2 * step)
    ) / (2 * step**3)
    np.testing.assert_allclose(h3, fd, atol=1e-4)


@pytest.mark.parametrize("latent_dim", [1, 2, 5])
def test_closed_form_equals_generic(d200, latent_dim):
    fit = fit_bound(d200.train, d200.test, latent_dim)
    generic = bound_value(fit.W, fit.b, d200.train)
    assert fit.bound_train == pytest.approx(generic, rel=1e-9)
    assert closed_form_bound(fit.eigenvalues, latent_dim) == fit.bound_train


def test_optimum_beats_random_decoders(d200):
    fit = fit_bound(d200.train, d200.test, 2)
    rng = np.random.default_rng(0)
    for scale in (0.01, 0.3, 1.0, 3.0):
        for _ in range(10):
            W = fit.W + scale * rng.normal(size=fit.W.shape)
            b = fit.b + scale * rng.normal(size=fit.b.shape)
            assert fit.bound_train <= bound_value(W, b, d200.train)
            assert fit.bound_train <= bound_value(rng.normal(size=fit.W.shape) * scale, fit.b, d200.train)


def test_rotation_and_permutation_invariance(d200):
    fit = fit_bound(d200.train, d200.test, 2)
    angle = 0.7
    R = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    assert bound_value(fit.W @ R, fit.b, d200.train) == pytest.approx(fit.bound_train, rel=1e-12)
    rng = np.random.default_rng(1)
    cols, rows = rng.permutation(200), rng.permutation(d200.n_train)
    permuted = fit_bound(d200.train[rows][:, cols], d200.test[:, cols], 2)
    assert permuted.bound_train == pytest.approx(fit.bound_train, rel=1e-10)
    assert permuted.bound_test == pytest.approx(fit.bound_test, rel=1e-10)


def test_zero_decoder_on_balanced_bits_is_d_log2():
    d = 200
    x = np.tile(np.array([[0] * d, [1] * d]), (50, 1))  # every column exactly balanced: x̃ = ±2, variance 4·n/(n−1)
    n = x.shape[0]
    expected = d * np.log(2) + d / 2 * (n / (n - 1) - 1)  # d log 2 exactly, up to the ddof = 1 factor
    assert bound_value(np.zeros((d, 2)), np.zeros(d), x) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(d * np.log(2), rel=1e-2)


def test_rank_deficient_and_large_d():
    data = simulate(SimSettings(d=1000, N=100, seed=1))  # 67 training rows: S has rank ≤ 66
    fit = fit_bound(data.train, data.test, 2)
    assert np.all(np.isfinite([fit.bound_train, fit.bound_test, fit.bound_test_strict]))
    assert np.all(fit.eigenvalues[66:] < 1e-8) and np.all(np.diff(fit.eigenvalues) <= 1e-9)
    assert fit.bound_train == pytest.approx(bound_value(fit.W, fit.b, data.train), rel=1e-9)
    assert fit.bound_train < fit.bound_test  # few rows: visibly lower training, higher test bound


def test_optimal_encoder_matches_corollary_1(small):
    fit = fit_bound(small.train, small.test, 2)
    WtW = fit.W.T @ fit.W
    np.testing.assert_allclose(np.diag(fit.sigma_z), 4 * np.linalg.inv(WtW + 4 * np.eye(2)), atol=1e-12)
    np.testing.assert_allclose(fit.sigma_z, 4 / fit.eigenvalues[:2], rtol=1e-10)  # both columns kept here


def test_proposition1_exact_elbo_below_bound(small):
    """Negative ELBO with the true Bernoulli likelihood, by 40×40 Gauss–Hermite quadrature, is at most B*."""
    fit = fit_bound(small.train, small.test, 2)
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)  # ∫ f(t) N(t; 0, 1) dt ≈ Σ w f(t) / √(2π)
    weights = weights / np.sqrt(2 * np.pi)
    t1, t2 = np.meshgrid(nodes, nodes, indexing="ij")
    w = (weights[:, None] * weights[None, :]).ravel()
    eps = np.stack([t1.ravel(), t2.ravel()], axis=1)  # (Q, 2)
    x = small.train.astype(float)
    mu = (rescale(x) - fit.b) @ fit.M.T  # (n, 2)
    z = mu[:, None, :] + eps[None, :, :] * np.sqrt(fit.sigma_z)  # (n, Q, 2)
    gamma = z @ fit.W.T + fit.b  # (n, Q, d)
    nll = (np.logaddexp(0, gamma) - x[:, None, :] * gamma).sum(axis=2) @ w  # E_q[−log p(x|z)] per row
    kl = 0.5 * (fit.sigma_z.sum() + (mu**2).sum(axis=1) - 2 - np.log(fit.sigma_z).sum())
    neg_elbo = float(np.mean(nll + kl))
    assert neg_elbo <= fit.bound_train
    assert neg_elbo > fit.bound_train - 0.5  # and the bound is tight-ish, not vacuous


def test_simulated_structure_two_factors():
    data = simulate(SimSettings(d=100, N=50_000, seed=11))
    fit = fit_bound(data.train, data.test, 2)
    U = np.linalg.eigh(np.cov(rescale(data.train), rowvar=False))[1][:, ::-1]
    blocks = {frozenset(np.argsort(-np.abs(U[:, i]))[:10]) for i in range(2)}
    assert blocks == {frozenset(range(10)), frozenset(range(10, 20))}
    support = decision_support(fit.eigenvalues, data.n_train)
    assert support.n_eig_gt_mp == 2
    assert support.mp_edge == pytest.approx(4 * (1 + np.sqrt(100 / (data.n_train - 1))) ** 2)


def test_marchenko_pastur_edge_bounds_pure_noise():
    rng = np.random.default_rng(5)
    noise = (rng.random((4000, 200)) < 0.5).astype(np.uint8)
    fit = fit_bound(noise[:3000], noise[3000:], 2)
    support = decision_support(fit.eigenvalues, 3000)
    assert support.n_eig_gt_4 > 50  # the bound's threshold alone mistakes noise for signal
    assert support.n_eig_gt_mp <= 1  # the edge holds up to Tracy–Widom-sized fluctuations
    assert abs(fit.eigenvalues[0] / mp_edge(200, 3000) - 1) < 0.03


def test_simulation_is_deterministic_and_split_sizes():
    a, b = simulate(SimSettings(d=200, N=100)), simulate(SimSettings(d=200, N=100))
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    assert a.n_test == 33 and a.n_train == 67
    c = simulate(SimSettings(d=200, N=100, seed=1))
    assert not np.array_equal(a.train, c.train)


def test_bound_summary_carries_the_exact_nll_of_simulated_data_only(d200):
    row, _ = bound_summary(d200, 2)
    assert {k: row[k] for k in ("nll_true_train", "nll_true_test")} == exact_nll(d200)
    assert row["nll_true_train"] == pytest.approx(row["bound_train"], rel=2e-3)  # the bound is tight here
    users, _ = bound_summary(BinaryData("mine", d200.train, d200.test), 2)
    assert users["nll_true_train"] is None and users["nll_true_test"] is None
    assert users["bound_train"] == row["bound_train"]


@pytest.mark.parametrize("latent_dim", [0, 9, 2.5, True])
def test_bad_latent_dim(small, latent_dim):
    with pytest.raises(ConfigError, match=r"latent_dim = .* expected an integer from 1 to d = 8"):
        fit_bound(small.train, small.test, latent_dim)


def test_dimension_mismatch(small):
    with pytest.raises(DataError, match="same width"):
        fit_bound(small.train, small.test[:, :5], 2)
    with pytest.raises(DataError, match=r"W has shape \(5, 2\)"):
        bound_value(np.zeros((5, 2)), np.zeros(8), small.train)


@pytest.fixture
def saved(monkeypatch):
    """The figures the plotting functions would save, kept open for inspection instead."""
    figures = []
    monkeypatch.setattr(bvae.plots.bound, "save", lambda fig, path: figures.append(fig))
    yield figures
    for fig in figures:
        bvae.plots.bound.plt.close(fig)


def tick_labels(ax) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True) if t.get_text()]


@pytest.mark.parametrize("settings", [SimSettings(d=200, N=5000, seed=3), SimSettings(d=60, N=2000)])
def test_scree_says_how_many_eigenvalues_and_labels_the_log_axis_plainly(saved, settings):
    data = simulate(settings)
    fit = fit_bound(data.train, data.test, 2)
    scree(decision_support(fit.eigenvalues, data.n_train), data.name, "unused.png")
    ax = saved[0].axes[0]
    assert f"leading 30 of {settings.d} eigenvalues" in ax.get_xlabel()
    labels = tick_labels(ax)
    lo, hi = ax.get_ylim()
    assert sum(lo <= float(label) <= hi for label in labels) >= 3  # plain numbers ("8", not 8×10⁰), several in view


def test_scree_of_few_dimensions_shows_all(saved, small):
    fit = fit_bound(small.train, small.test, 2)
    scree(decision_support(fit.eigenvalues, small.n_train), "small", "unused.png")
    assert "all 8 eigenvalues" in saved[0].axes[0].get_xlabel()


def test_figure4_title_states_the_sign_pattern_without_contradiction(saved):
    figure4("unused.png")
    title = saved[0].axes[0].get_title()
    assert "point-symmetric" in title and "one-signed" not in title
    assert r"negative for $\gamma < 0$, positive for $\gamma > 0$" in title


@pytest.mark.parametrize(("d", "n_train", "draws", "at_most"), [(200, 10, 30, 3), (1000, 7, 3, 0)])
def test_few_rows_of_pure_noise_rarely_pass_the_edge(d, n_train, draws, at_most):
    """The covariance about the training mean has n_train − 1 degrees of freedom: an edge for n_train passed pure
    noise of d = 200, n_train = 10 in a third of these draws, and of d = 1000, n_train = 7 in every one."""
    rng = np.random.default_rng(3)
    passed = 0
    for _ in range(draws):
        noise = (rng.random((n_train + 2, d)) < 0.5).astype(np.uint8)
        fit = fit_bound(noise[:n_train], noise[n_train:], 1)
        passed += decision_support(fit.eigenvalues, n_train).n_eig_gt_mp > 0
    assert passed <= at_most
