"""The exact likelihood of the generating model: Monte Carlo, convergence, closed forms, and the dataset plumbing."""

import itertools

import numpy as np
import pytest

from bvae.data.binary import BinaryData, load_binary, read_dataset, write_dataset
from bvae.data.examples import EXAMPLES
from bvae.data.simulate import SimSettings, loadings, simulate
from bvae.errors import ConfigError, DataError
from bvae.model.likelihood import (
    converged_log_likelihood,
    exact_nll,
    log_likelihood,
    marginal_nll,
    with_recorded_settings,
)


@pytest.fixture(scope="module")
def d200():
    return simulate(SimSettings(d=200, N=1500, seed=3))


def softplus(a):
    return np.logaddexp(0.0, a)


def test_against_monte_carlo_over_both_scores():
    """p(x) by plain Monte Carlo over u ~ N(0, diag sd²) with all d dimensions: no factorisation, no log 2 shortcut."""
    settings = SimSettings(d=26, N=400, block=10, seed=5)
    rows = simulate(settings).train[:25].astype(np.float64)
    B = loadings(settings.d, settings.block)
    rng = np.random.default_rng(0)
    theta = (rng.normal(size=(400_000, 2)) * settings.score_sd) @ B.T
    f = np.exp(rows @ theta.T - softplus(theta).sum(axis=1))  # Π_j Bern(x_j | σ(θ_j)) per row and draw
    p_mc, se = f.mean(axis=1), f.std(axis=1) / np.sqrt(f.shape[1])
    p = np.exp(converged_log_likelihood(rows, B, settings.score_sd)[0])
    assert np.all(se < 0.02 * p_mc)  # the comparison is sharp: 4 SE is well below a 10 % error
    assert np.all(np.abs(p - p_mc) < 4 * se)


@pytest.mark.parametrize("score_sd", [(2.5, 1.5), (30.0, 0.05)])
def test_doubling_the_grid_changes_less_than_1e_6(d200, score_sd):
    B = loadings(200, 10)
    values, steps = converged_log_likelihood(d200.train, B, score_sd)
    refined = log_likelihood(d200.train, B, score_sd, 2 * steps)
    assert abs(refined.mean() - values.mean()) < 1e-6
    assert np.max(np.abs(refined - values)) < 1e-9


def test_agrees_with_gauss_hermite_at_the_default_sds(d200):
    """An independent rule: 200-node Gauss–Hermite over each score (converged for these sds, not for sd = 30)."""
    B = loadings(200, 10)
    t, w = np.polynomial.hermite.hermgauss(200)
    total = -180 * np.log(2)
    for k, sd in enumerate((2.5, 1.5)):
        theta = np.outer(np.sqrt(2) * sd * t, B[:, k][B[:, k] != 0])  # nodes × block
        x = d200.train[:, B[:, k] != 0]
        total = total + np.log(np.exp(x @ theta.T - softplus(theta).sum(axis=1)) @ w / np.sqrt(np.pi))
    np.testing.assert_allclose(converged_log_likelihood(d200.train, B, (2.5, 1.5))[0], total, rtol=0, atol=1e-10)


def test_no_loadings_is_d_log_2(d200):
    values, _ = converged_log_likelihood(d200.train, np.zeros((200, 2)), (2.5, 1.5))
    np.testing.assert_allclose(-values, 200 * np.log(2), rtol=1e-14)


def test_blocks_of_one_are_exactly_d_log_2():
    """With one dimension per score, P(x_j = 1) = E σ(b u) = ½ (u is symmetric), and the dims are independent."""
    data = simulate(SimSettings(d=40, N=600, block=1, seed=1))
    nll = exact_nll(data)
    assert nll["nll_true_train"] == pytest.approx(40 * np.log(2), rel=1e-12)
    assert nll["nll_true_test"] == pytest.approx(40 * np.log(2), rel=1e-12)


@pytest.mark.parametrize("score_sd", [(2.5, 1.5), (12.0, 0.3)])
def test_probabilities_of_all_patterns_sum_to_one(score_sd):
    d, block = 7, 3
    patterns = np.array(list(itertools.product([0, 1], repeat=d)))
    p = np.exp(converged_log_likelihood(patterns, loadings(d, block), score_sd)[0])
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(p, p[::-1], rtol=1e-12)  # flipping every bit is u → −u: same probability


def test_simulated_dataset_round_trip(tmp_path, d200):
    write_dataset(d200, tmp_path / "d200.parquet")
    assert exact_nll(read_dataset(tmp_path / "d200.parquet")) == exact_nll(d200)
    nll = exact_nll(d200)
    assert set(nll) == {"nll_true_train", "nll_true_test"}
    assert 0.9 * 200 * np.log(2) < nll["nll_true_train"] < 200 * np.log(2)  # structure lowers it below d log 2


def test_data_without_settings_has_none(d200):
    assert exact_nll(BinaryData("mine", d200.train, d200.test)) is None


def test_settings_that_do_not_fit_the_data(d200):
    wrong_d = BinaryData("x", d200.train, d200.test, metadata={"settings": {**d200.metadata["settings"], "d": 300}})
    with pytest.raises(DataError, match="d = 300"):
        exact_nll(wrong_d)


def test_example_settings_are_not_a_generating_model(tmp_path):
    example = EXAMPLES["digits"]()
    write_dataset(example, tmp_path / "digits.parquet")
    assert "settings" in read_dataset(tmp_path / "digits.parquet").metadata  # how it was made, not a model
    assert exact_nll(read_dataset(tmp_path / "digits.parquet")) is None
    assert exact_nll(example) is None


def test_settings_recorded_in_the_file_reach_loaders_that_drop_metadata(tmp_path, d200):
    write_dataset(d200, tmp_path / "d200.parquet")
    loaded = load_binary(tmp_path / "d200.parquet")
    assert exact_nll(loaded) is None
    assert exact_nll(with_recorded_settings(loaded, tmp_path / "d200.parquet")) == exact_nll(d200)
    np.save(tmp_path / "bits.npy", d200.train)
    assert with_recorded_settings(loaded, tmp_path / "bits.npy") is loaded


def test_overlapping_loadings_are_refused():
    B = np.ones((4, 2))
    with pytest.raises(ConfigError, match="more than one score"):
        log_likelihood(np.zeros((3, 4)), B, (1.0, 1.0), 4)


def test_marginal_model_of_balanced_columns_is_d_log_2():
    train = np.tile([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]], (3, 1))  # every column half ones: p = (3 + 1) / (6 + 2)
    test = np.array([[1.0, 1.0, 0.0]])
    assert marginal_nll(train, train) == pytest.approx(3 * np.log(2), abs=1e-12)
    assert marginal_nll(train, test) == pytest.approx(3 * np.log(2), abs=1e-12)


def test_marginal_model_known_value_and_row_order():
    train = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])  # p = 4/6 and 1/6 after add-one smoothing
    x = np.array([[1.0, 1.0], [0.0, 0.0]])
    expected = -(np.log(2 / 3) + np.log(1 / 6) + np.log(1 / 3) + np.log(5 / 6)) / 2
    assert marginal_nll(train, x) == pytest.approx(expected, abs=1e-12)
    assert marginal_nll(train[::-1], x[::-1]) == pytest.approx(expected, abs=1e-12)
