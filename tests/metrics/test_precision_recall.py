"""Improved precision/recall on constructed sets and against a brute-force version."""

import numpy as np
import pytest

from keras_gans import metrics


def brute_force(real, fake, k):
    from scipy.spatial.distance import cdist

    def radii(x):
        d = cdist(x, x)
        return np.sort(d, axis=1)[:, k]  # column 0 is the point itself

    r_real, r_fake = radii(real), radii(fake)
    cross = cdist(fake, real)
    precision = np.mean((cross <= r_real[None, :]).any(axis=1))
    recall = np.mean((cross.T <= r_fake[None, :]).any(axis=1))
    return precision, recall


def test_identical_sets():
    real = np.random.default_rng(0).normal(size=(300, 8))
    assert metrics.precision_recall(real, real.copy()) == (1.0, 1.0)


def test_disjoint_far_clusters():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(200, 4)), rng.normal(size=(150, 4)) + 100.0
    result = metrics.precision_recall(real, fake)
    assert (result.precision, result.recall) == (0.0, 0.0)


def test_half_of_the_samples_far_away():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(200, 4))
    # Half the samples are real points (inside), half sit in a far cluster (outside).
    fake = np.concatenate([real[:100], rng.normal(size=(100, 4)) + 100.0])
    assert metrics.precision_recall(real, fake).precision == 0.5


def test_collapse_has_precision_without_recall():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(400, 2))
    collapsed = real[:1] + 1e-3 * rng.normal(size=(400, 2))  # every sample near one real point
    result = metrics.precision_recall(real, collapsed)
    assert result.precision == 1.0
    assert result.recall < 0.05


@pytest.mark.parametrize("block_entries", [7, 1000, 2**24])
def test_blocks_match_brute_force(block_entries):
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(120, 5)), rng.normal(size=(90, 5)) * 1.3 + 0.3
    expected = brute_force(real, fake, k=3)
    result = metrics.precision_recall(real, fake, k=3, block_entries=block_entries)
    assert result == pytest.approx(expected)
    assert 0.0 < result.precision < 1.0 and 0.0 < result.recall < 1.0


def test_too_few_samples_and_bad_k():
    a = np.zeros((3, 2))
    with pytest.raises(ValueError, match="at least 4"):
        metrics.precision_recall(a, np.zeros((10, 2)), k=3)
    with pytest.raises(ValueError, match="k must be"):
        metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 2)), k=0)
    with pytest.raises(ValueError, match="same extractor"):
        metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 3)))
