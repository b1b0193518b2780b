"""KID against a pair-by-pair loop, and its subset/seed behaviour."""

import warnings

import numpy as np
import pytest

from keras_gans import metrics


def loop_mmd2(x, y):
    """Unbiased MMD^2 with k(u, v) = (u.v/d + 1)^3, written as explicit sums over pairs."""
    m, d = len(x), x.shape[1]

    def k(u, v):
        return (sum(ui * vi for ui, vi in zip(u, v)) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / (m * m)


def test_matches_loop_on_small_data():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 3)) + 0.7
    # One subset as large as the sets: the estimate uses every row once, and
    # one estimate has no spread (NaN, not a measured 0).
    kid = metrics.kernel_distance(x, y, num_subsets=1, subset_size=12)
    assert kid.mean == pytest.approx(loop_mmd2(x, y), rel=1e-10)
    assert np.isnan(kid.std) and np.isnan(kid.stderr)
    mean, std = kid  # a plain (mean, std) tuple too
    assert mean == kid.mean and np.isnan(std)


@pytest.mark.parametrize("subset_size", [12, 13, 1000])
def test_whole_set_subsets_warn_and_give_nan_spread(subset_size):
    """subset_size >= n: every subset is both sets whole, so the 100 estimates agree."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 3)) + 0.7
    with pytest.warns(UserWarning, match=r"takes both sets whole \(n=12\).*std/stderr are NaN: "
                                         r"pass a subset_size below 12"):
        kid = metrics.kernel_distance(x, y, num_subsets=100, subset_size=subset_size)
    assert kid.mean == pytest.approx(loop_mmd2(x, y), rel=1e-10)
    assert np.isnan(kid.std) and np.isnan(kid.stderr) and kid.num_subsets == 100
    # One below n: subsets differ, the spread is measured, no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        smaller = metrics.kernel_distance(x, y, num_subsets=100, subset_size=11)
    assert smaller.std > 0 and smaller.stderr == pytest.approx(smaller.std / 10)


def test_subsets_of_the_whole_set_agree():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(10, 4)), rng.normal(size=(14, 4))
    # m = min(subset_size, 10, 14) = 10: x is taken whole, y is subsampled.
    kid = metrics.kernel_distance(x, y, num_subsets=5, subset_size=50, seed=3)
    assert kid.num_subsets == 5
    assert kid.stderr == pytest.approx(kid.std / np.sqrt(5))
    assert kid.std > 0  # different y subsets give different estimates


def test_same_distribution_near_zero_and_shift_is_large():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same = metrics.kernel_distance(a, b, num_subsets=10, subset_size=200)
    shifted = metrics.kernel_distance(a, b + 1.0, num_subsets=10, subset_size=200)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert shifted.mean > 1.0 > 50 * abs(same.mean)


def test_seed_reproducible():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(100, 8)), rng.normal(size=(100, 8))
    first = metrics.kernel_distance(a, b, num_subsets=4, subset_size=20, seed=7)
    assert metrics.kernel_distance(a, b, num_subsets=4, subset_size=20, seed=7) == first
    assert metrics.kernel_distance(a, b, num_subsets=4, subset_size=20, seed=8) != first


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_subsets": 0}, "num_subsets"),
        ({"subset_size": 1}, "subset_size"),
        ({"subset_size": 2.5}, "subset_size"),
    ],
)
def test_bad_arguments(kwargs, match):
    a = np.zeros((10, 3))
    with pytest.raises(ValueError, match=match):
        metrics.kernel_distance(a, a, **kwargs)


def test_bad_activations():
    with pytest.raises(ValueError, match="at least 2"):
        metrics.kernel_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="same extractor"):
        metrics.kernel_distance(np.zeros((5, 3)), np.zeros((5, 2)))
