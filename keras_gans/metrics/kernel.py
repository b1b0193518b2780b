"""Kernel distance (KID): an unbiased MMD estimate with a cubic polynomial kernel."""

import collections
import warnings

import numpy as np

from keras_gans.metrics.frechet import check_activations


class KernelDistance(collections.namedtuple("KernelDistance", ["mean", "std"])):
    """Result of ``kernel_distance``: a named tuple ``(mean, std)`` of python floats.

    ``mean`` is the average of the per-subset unbiased MMD^2 estimates (the
    KID); ``std`` is their standard deviation across subsets (ddof=1), the
    spread KID is usually reported with; ``stderr`` is ``std /
    sqrt(num_subsets)``, the standard error of ``mean`` over the random
    choice of subsets: how far ``mean`` would move with another subset
    ``seed`` on the same two sets. It does not measure how KID would change
    with fresh samples (the subsets share images, so they are not
    independent draws from the distributions). Both are NaN when the subsets
    cannot vary: one subset, or subsets that take both sets whole.
    """

    def __new__(cls, mean, std, num_subsets=1):
        self = super().__new__(cls, float(mean), float(std))
        self.num_subsets = int(num_subsets)
        return self

    @property
    def stderr(self):
        """``std / sqrt(num_subsets)``: the standard error of ``mean`` over the subset draws (NaN with ``std``)."""
        return self.std / np.sqrt(self.num_subsets)


def polynomial_kernel(x, y):
    """``k(x, y) = (x . y / d + 1)^3`` for every pair of rows: ``[n_x, n_y]``."""
    k = x @ y.T
    k /= x.shape[1]
    k += 1.0
    # Two in-place products instead of ** 3, which goes through pow() per entry.
    cube = k * k
    cube *= k
    return cube


def mmd2_unbiased(x, y):
    """Unbiased MMD^2 between two equally sized sets with the polynomial kernel.

    ``(sum_{i != j} k(x_i, x_j) + sum_{i != j} k(y_i, y_j)) / (m (m - 1))
    - 2 sum_{i, j} k(x_i, y_j) / m^2``.

    Args:
        x: float64 ``[m, d]``.
        y: float64 ``[m, d]``, same ``m``.

    Returns:
        python float (may be slightly negative: the estimator is unbiased).
    """
    m = len(x)
    k_xx = polynomial_kernel(x, x)
    k_yy = polynomial_kernel(y, y)
    k_xy = polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.mean())


def kernel_distance(a, b, num_subsets=100, subset_size=1000, seed=0):
    """Kernel distance between two sets of activations (KID, Binkowski et al., 2018).

    For each of ``num_subsets`` rounds, ``m = min(subset_size, n_a, n_b)``
    rows are drawn without replacement from each set, and the unbiased
    estimate of the squared maximum mean discrepancy with the kernel
    ``k(x, y) = (x . y / d + 1)^3`` is computed on them. Unlike the Frechet
    distance, the estimate has no bias from the sample count, so values from
    different sample sizes compare; it can be slightly negative when the two
    sets come from one distribution. Computed in float64.

    The spread needs subsets smaller than the sets: when ``m`` equals both
    ``n_a`` and ``n_b`` (``subset_size >= n``), every subset is the whole of
    both sets, every round gives the same estimate, and a ``std`` of 0 would
    claim a precision that was never measured. Then the estimate is
    computed once, ``std`` and ``stderr`` are NaN, and (for
    ``num_subsets > 1``) a ``UserWarning`` says to pass a ``subset_size``
    below ``n``. When only one set is taken whole, the spread reflects the
    subsampling of the other set alone.

    Args:
        a: activations ``[n_a, d]``, ``n_a >= 2``.
        b: activations ``[n_b, d]``, ``n_b >= 2``.
        num_subsets: int >= 1, number of subset rounds.
        subset_size: int >= 2, rows per set in each round.
        seed: int, seed of the subset draws (a private generator; global
            random state is untouched).

    Returns:
        ``KernelDistance(mean, std)``: named tuple of python floats, the mean
        and the standard deviation (ddof=1; NaN for one subset or whole-set
        subsets) of the per-subset estimates; ``.stderr`` is ``std /
        sqrt(num_subsets)``, the standard error of the mean over the subset
        draws (see ``KernelDistance``).

    Example:
        >>> import keras_gans as kg
        >>> rng = np.random.default_rng(0)
        >>> kid = kg.metrics.kernel_distance(rng.normal(size=(500, 8)), rng.normal(size=(500, 8)),
        ...                                 num_subsets=10, subset_size=200)
        >>> abs(kid.mean) < 0.05
        True
    """
    for name, value, low in (("num_subsets", num_subsets, 1), ("subset_size", subset_size, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    a, b = check_activations(a, b)
    m = min(int(subset_size), len(a), len(b))
    if m == len(a) == len(b):
        # Every subset is both sets whole (in another order, which the
        # estimate does not see): one estimate, no spread to report.
        if num_subsets > 1:
            warnings.warn(
                f"kernel_distance: subset_size={subset_size} takes both sets whole (n={m}), so all "
                f"{num_subsets} subsets give the same estimate and KID's std/stderr are NaN: pass "
                f"a subset_size below {m} (e.g. {max(m // 2, 2)}) to measure the spread.",
                UserWarning,
                stacklevel=2,
            )
        return KernelDistance(mmd2_unbiased(a, b), float("nan"), int(num_subsets))
    rng = np.random.default_rng(seed)
    estimates = np.empty(int(num_subsets))
    for i in range(int(num_subsets)):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        estimates[i] = mmd2_unbiased(x, y)
    std = float(estimates.std(ddof=1)) if len(estimates) > 1 else float("nan")
    return KernelDistance(float(estimates.mean()), std, int(num_subsets))
