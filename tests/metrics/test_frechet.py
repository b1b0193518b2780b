"""Frechet distance against closed forms and an independent sqrtm-based implementation."""

import numpy as np
import pytest

from keras_gans import metrics
from keras_gans.metrics.frechet import trace_sqrt_product


def with_moments(n, mean, cov, seed):
    """``n`` samples whose sample mean and (ddof=1) covariance are exactly ``mean`` and ``cov``."""
    rng = np.random.default_rng(seed)
    d = len(mean)
    z = rng.normal(size=(n, d))
    z -= z.mean(axis=0)
    # Whiten the draw so its sample covariance is exactly the identity.
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return z @ np.linalg.cholesky(cov).T + mean


def sqrtm_frechet(a, b):
    """Textbook FID: scipy's general matrix square root of the covariance product."""
    import scipy.linalg

    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s_a @ s_b)
    assert np.abs(np.imag(root)).max() < 1e-6
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a + s_b - 2 * np.real(root)))


def test_diagonal_gaussians_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, -1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    a = with_moments(400, mu1, np.diag(s1), seed=0)
    b = with_moments(300, mu2, np.diag(s2), seed=1)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    # = 0.25 + 4 + 4 + (4 + 1 + 0) = 13.25
    assert expected == pytest.approx(13.25)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert metrics.frechet_distance(b, a) == pytest.approx(expected, rel=1e-9)


def test_statistics_closed_form():
    assert metrics.frechet_distance_from_statistics(
        np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)
    ) == pytest.approx(2.0 + 2 * (1 + 4 - 2 * 2))


def test_non_diagonal_matches_sqrtm():
    rng = np.random.default_rng(3)
    d = 6
    m1, m2 = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    cov1, cov2 = m1 @ m1.T + 0.1 * np.eye(d), m2 @ m2.T + 0.1 * np.eye(d)
    a = with_moments(500, rng.normal(size=d), cov1, seed=4)
    b = with_moments(500, rng.normal(size=d), cov2, seed=5)
    value = metrics.frechet_distance(a, b)
    assert value == pytest.approx(sqrtm_frechet(a, b), rel=1e-8)
    assert value > 1.0


def test_identical_sets_give_zero_and_shift_adds_its_square():
    a = np.random.default_rng(0).normal(size=(200, 16))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    shift = np.linspace(-1, 1, 16)
    assert metrics.frechet_distance(a, a + shift) == pytest.approx(np.sum(shift**2), rel=1e-9)


def test_singular_covariances_stay_real_and_symmetric():
    # Fewer samples than features and a dead unit: both covariances are singular.
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(30, 64)) + 0.5
    a[:, 0] = 0.0
    with pytest.warns(UserWarning, match=r"n=20 samples of d=64 features"):
        value = metrics.frechet_distance(a, b)
    assert np.isfinite(value) and value > 0
    with pytest.warns(UserWarning, match="covariance is singular"):
        # Symmetric by construction, not within a tolerance: the square-root
        # trace of a singular product is ill-conditioned (sqrt turns 1e-16
        # round-off into 1e-8), so a one-sided computation differs between
        # orders by an amount that depends on the BLAS kernel.
        assert value == metrics.frechet_distance(b, a)
    # The eigen route agrees with sqrtm on the regularized problem.
    eps = 1e-6 * np.eye(64)
    s_a, s_b = np.cov(a, rowvar=False) + eps, np.cov(b, rowvar=False) + eps
    import scipy.linalg

    reference = np.trace(np.real(scipy.linalg.sqrtm(s_a @ s_b)))
    assert metrics.frechet_distance_from_statistics(
        a.mean(0), s_a, b.mean(0), s_b
    ) == pytest.approx(
        np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * reference, rel=1e-6
    )


def test_too_few_samples_for_the_features_warns_but_computes():
    """n <= d: a singular covariance and a strongly biased value; warned about, not refused."""
    import warnings

    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(200, 8)), rng.normal(size=(8, 8))
    with pytest.warns(UserWarning, match=r"n=8 samples of d=8 features \(set b\).*more samples than features") as caught:
        value = metrics.frechet_distance(a, b)
    assert len(caught) == 1 and np.isfinite(value)
    assert "rank <= n - 1 = 7 < d" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the caller
    # The bias it warns about: the same distribution, far from 0 at n = d.
    assert value > metrics.frechet_distance(a, rng.normal(size=(2000, 8))) * 10
    # One more sample than features: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.frechet_distance(a, rng.normal(size=(9, 8)))


@pytest.mark.parametrize("seed", range(5))
def test_symmetric_exactly(seed):
    rng = np.random.default_rng(seed)
    n_a, n_b, d = rng.integers(5, 80, size=3)
    a, b = rng.normal(size=(n_a, d)), 2 * rng.normal(size=(n_b, d)) + 1
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n <= d for some draws
        assert metrics.frechet_distance(a, b) == metrics.frechet_distance(b, a)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    assert trace_sqrt_product(s_a, s_b) == trace_sqrt_product(s_b, s_a)


def test_returns_python_float_from_float32_input():
    a = np.random.default_rng(0).normal(size=(50, 4)).astype("float32")
    assert type(metrics.frechet_distance(a, a + 1)) is float


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.zeros((1, 4)), np.zeros((5, 4)), "at least 2"),
        (np.zeros((5, 4)), np.zeros((5, 3)), "4 features per sample but b has 3"),
        (np.zeros((5, 4, 1)), np.zeros((5, 4)), r"shape \[n, d\]"),
        (np.full((5, 4), np.nan), np.zeros((5, 4)), "NaN"),
        (np.array([["x"] * 4] * 5), np.zeros((5, 4)), "numeric"),
    ],
)
def test_bad_input_raises(a, b, match):
    with pytest.raises(ValueError, match=match):
        metrics.frechet_distance(a, b)


def test_mismatched_statistics_raise():
    with pytest.raises(ValueError, match="do not match"):
        metrics.frechet_distance_from_statistics(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
