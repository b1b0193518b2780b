"""Improved precision and recall (Kynkaanniemi et al., 2019) of generated samples."""

import collections

import numpy as np

from keras_gans.metrics.frechet import check_activations

#: Pairwise-distance entries computed at once (float64): 2**24 is 128 MiB.
_BLOCK_ENTRIES = 2**24


class PrecisionRecall(collections.namedtuple("PrecisionRecall", ["precision", "recall"])):
    """Result of ``precision_recall``: a named tuple ``(precision, recall)`` of floats in [0, 1]."""

    __slots__ = ()


def _squared_norms(x):
    return np.einsum("ij,ij->i", x, x)


def _row_blocks(n_rows, n_cols, block_entries):
    step = max(1, int(block_entries) // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield start, min(n_rows, start + step)


def _squared_distances(x, x_norms, y, y_norms):
    # ||x - y||^2 = ||x||^2 + ||y||^2 - 2 x.y; round-off can make it a hair negative.
    return np.maximum(x_norms[:, None] + y_norms[None, :] - 2.0 * (x @ y.T), 0.0)


def knn_radii(x, k=3, block_entries=_BLOCK_ENTRIES):
    """Squared distance from each row of ``x`` to its ``k``-th nearest other row.

    Args:
        x: float64 ``[n, d]`` with ``n >= k + 1``.
        k: int >= 1.
        block_entries: int, distance entries computed per block (memory bound).

    Returns:
        float64 ``[n]`` squared radii.
    """
    norms = _squared_norms(x)
    radii = np.empty(len(x))
    for start, stop in _row_blocks(len(x), len(x), block_entries):
        dist = _squared_distances(x[start:stop], norms[start:stop], x, norms)
        # Mark each row's distance to itself below every other distance, so it
        # sorts first and the k-th nearest other row sits at index k (exact
        # duplicates of the row still count as neighbours, at distance 0).
        dist[np.arange(stop - start), np.arange(start, stop)] = -1.0
        radii[start:stop] = np.partition(dist, k, axis=1)[:, k]
    return radii


def _cross_coverage(real, real_radii, fake, fake_radii, block_entries):
    """Return ``(fake inside the real manifold [n_fake], real inside the fake manifold [n_real])``.

    One pass over the fake-to-real distances answers both questions.
    """
    r_norms, f_norms = _squared_norms(real), _squared_norms(fake)
    fake_inside = np.zeros(len(fake), dtype=bool)
    real_inside = np.zeros(len(real), dtype=bool)
    for start, stop in _row_blocks(len(fake), len(real), block_entries):
        dist = _squared_distances(fake[start:stop], f_norms[start:stop], real, r_norms)
        fake_inside[start:stop] = (dist <= real_radii[None, :]).any(axis=1)
        real_inside |= (dist <= fake_radii[start:stop, None]).any(axis=0)
    return fake_inside, real_inside


def precision_recall(real, fake, k=3, block_entries=_BLOCK_ENTRIES):
    """Improved precision and recall of ``fake`` activations against ``real`` ones.

    Each set's manifold is the union of balls around its points whose radius is
    the distance to the point's ``k``-th nearest neighbour in the same set.
    Precision is the fraction of fake points inside the real manifold (how
    many samples look real); recall is the fraction of real points inside the
    fake manifold (how much of the data the samples cover). Distances are
    Euclidean, in float64, computed in row blocks of at most
    ``block_entries`` entries, so 10,000 x 10,000 sets need about 130 MB.
    Kynkaanniemi et al. use ``k = 3`` and equally sized sets; the values
    depend on the set sizes, so compare results computed with the same counts.

    Args:
        real: activations ``[n_real, d]`` of real images, ``n_real >= k + 1``.
        fake: activations ``[n_fake, d]`` of generated images, ``n_fake >= k + 1``.
        k: int >= 1, the neighbour that sets the radii.
        block_entries: int, pairwise distances computed at once (memory bound).

    Returns:
        ``PrecisionRecall(precision, recall)``: python floats in [0, 1].

    Example:
        >>> import keras_gans as kg
        >>> rng = np.random.default_rng(0)
        >>> real = rng.normal(size=(1000, 8))
        >>> kg.metrics.precision_recall(real, real)
        PrecisionRecall(precision=1.0, recall=1.0)
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}.")
    if isinstance(block_entries, bool) or not isinstance(block_entries, (int, np.integer)) or block_entries < 1:
        raise ValueError(f"block_entries must be a positive int, got {block_entries!r}.")
    real, fake = check_activations(real, fake, min_samples=int(k) + 1, what=("real", "fake"))
    real_radii = knn_radii(real, int(k), block_entries)
    fake_radii = knn_radii(fake, int(k), block_entries)
    fake_inside, real_inside = _cross_coverage(real, real_radii, fake, fake_radii, block_entries)
    return PrecisionRecall(float(fake_inside.mean()), float(real_inside.mean()))
