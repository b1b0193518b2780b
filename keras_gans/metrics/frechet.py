"""The Frechet distance between two sets of activations (FID, FCD).

Each set is summarized by the mean and covariance of a Gaussian fitted to it;
the distance between two Gaussians is

    d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

(Dowson & Landau, 1982; used as FID by Heusel et al., 2017).
"""

import warnings

import numpy as np


def warn_if_singular(n, d, what="activations", stacklevel=3):
    """Warn (``UserWarning``) when ``n`` samples cannot give a full-rank ``d x d`` covariance.

    A covariance estimated from ``n`` samples has rank at most ``n - 1``, so
    with ``n <= d`` it is singular: the fitted Gaussian is flat in some
    directions and the Frechet distance is biased (upwards, strongly) by the
    sample count. It is still computed (tests and quick checks use few
    samples); compare such values only with values of the same ``n``.

    Args:
        n: int, the smaller sample count.
        d: int, features per sample.
        what: str, which set(s), for the message.
        stacklevel: int, passed to ``warnings.warn``.

    Returns:
        bool, whether it warned.
    """
    if n > d:
        return False
    warnings.warn(
        f"Frechet distance from n={n} samples of d={d} features ({what}): with n <= d the "
        f"covariance is singular (rank <= n - 1 = {n - 1} < d) and the distance is biased by the "
        f"sample count; use more samples than features (n > {d}; kg.metrics.evaluate's "
        "protocol uses 10,000) and compare only values computed with the same n.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return True


def check_activation_set(x, name="activations", min_samples=2):
    """Validate one activation set; return it as a float64 ``[n, d]`` array.

    Args:
        x: array-like ``[n, d]``.
        name: str, used in errors.
        min_samples: int, fewest rows it must have.

    Returns:
        float64 ``np.ndarray``.
    """
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"{name} must be a numeric array [n, d], got dtype {x.dtype}.")
    x = x.astype("float64")
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be activations of shape [n, d], got shape {x.shape}: "
            "flatten features to one row per sample."
        )
    if x.shape[1] == 0:
        raise ValueError(f"{name} has zero features per sample (shape {x.shape}).")
    if len(x) < min_samples:
        raise ValueError(
            f"{name} has {len(x)} samples but this metric needs at least {min_samples}: pass more samples."
        )
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf: check the images and the extractor.")
    return x


def check_activations(a, b, min_samples=2, what=("a", "b")):
    """Validate two activation sets; return them as float64 ``[n, d]`` arrays.

    Args:
        a: array-like ``[n_a, d]``.
        b: array-like ``[n_b, d]``.
        min_samples: int, fewest rows each set must have.
        what: names of the two sets used in errors.

    Returns:
        ``(a, b)`` as float64 numpy arrays.
    """
    a = check_activation_set(a, what[0], min_samples)
    b = check_activation_set(b, what[1], min_samples)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{what[0]} has {a.shape[1]} features per sample but {what[1]} has "
            f"{b.shape[1]}: compute both with the same extractor."
        )
    return a, b


def activation_statistics(activations):
    """Mean and covariance (float64, unbiased ``n - 1`` normalization) of activations.

    Args:
        activations: array ``[n, d]`` with ``n >= 2``.

    Returns:
        ``(mu [d], sigma [d, d])``.

    Example:
        >>> mu, sigma = activation_statistics(np.random.rand(100, 8))
        >>> mu.shape, sigma.shape
        ((8,), (8, 8))
    """
    x = check_activation_set(activations)
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(sigma):
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh((sigma + sigma.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(sigma_a, sigma_b):
    """``Tr((S_a S_b)^(1/2))`` for symmetric positive semi-definite ``S_a``, ``S_b``.

    ``S_a S_b`` is not symmetric, but it is similar to the symmetric PSD
    matrix ``M = S_a^(1/2) S_b S_a^(1/2)``, so both have the same eigenvalues
    (all real and >= 0) and ``Tr((S_a S_b)^(1/2)) = sum(sqrt(eig(M)))``. The
    eigenvalues of a symmetric matrix come from ``eigh``, which is stable and
    real; unlike a general matrix square root (``scipy.linalg.sqrtm``) it never
    returns complex parts and needs no regularization when a covariance is
    singular (fewer samples than features, dead units). Round-off may leave
    eigenvalues slightly below zero; they are clipped to zero.

    Args:
        sigma_a: array ``[d, d]``.
        sigma_b: array ``[d, d]``.

    Returns:
        python float.
    """
    sigma_a, sigma_b = np.asarray(sigma_a, "float64"), np.asarray(sigma_b, "float64")
    # Exact in theory, the two orders (S_a^1/2 S_b S_a^1/2 and S_b^1/2 S_a
    # S_b^1/2) differ by round-off whose size depends on the BLAS kernel's
    # summation order. Averaging both makes the result symmetric exactly
    # (float addition commutes), on every machine.
    return 0.5 * (_one_sided_trace_sqrt(sigma_a, sigma_b) + _one_sided_trace_sqrt(sigma_b, sigma_a))


def _one_sided_trace_sqrt(sigma_a, sigma_b):
    """``sum(sqrt(eig(S_a^(1/2) S_b S_a^(1/2))))``: ``Tr((S_a S_b)^(1/2))`` up to round-off."""
    root_a = _psd_sqrt(sigma_a)
    middle = root_a @ sigma_b @ root_a
    values = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())


def frechet_distance_from_statistics(mu_a, sigma_a, mu_b, sigma_b):
    """Frechet distance between Gaussians ``N(mu_a, sigma_a)`` and ``N(mu_b, sigma_b)``.

    Args:
        mu_a: array ``[d]``.
        sigma_a: array ``[d, d]``, symmetric positive semi-definite.
        mu_b: array ``[d]``.
        sigma_b: array ``[d, d]``.

    Returns:
        python float >= 0 (the squared distance, as FID reports it).

    Example:
        >>> frechet_distance_from_statistics(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))
        2.0
    """
    mu_a, mu_b = np.asarray(mu_a, "float64").ravel(), np.asarray(mu_b, "float64").ravel()
    sigma_a, sigma_b = np.atleast_2d(np.asarray(sigma_a, "float64")), np.atleast_2d(np.asarray(sigma_b, "float64"))
    d = mu_a.shape[0]
    if mu_b.shape != (d,) or sigma_a.shape != (d, d) or sigma_b.shape != (d, d):
        raise ValueError(
            f"statistics do not match: mu_a {mu_a.shape}, sigma_a {sigma_a.shape}, mu_b {mu_b.shape}, "
            f"sigma_b {sigma_b.shape}; compute both with the same extractor."
        )
    for name, value in (("mu_a", mu_a), ("sigma_a", sigma_a), ("mu_b", mu_b), ("sigma_b", sigma_b)):
        if not np.isfinite(value).all():
            raise ValueError(f"{name} contains NaN or inf.")
    diff = mu_a - mu_b
    # Grouped so that swapping a and b swaps only the operands of commutative
    # additions: the distance is exactly symmetric.
    traces = np.trace(sigma_a) + np.trace(sigma_b)
    distance = float(diff @ diff) + traces - 2.0 * trace_sqrt_product(sigma_a, sigma_b)
    # Identical sets give 0 up to round-off, which can fall a hair below it.
    return float(max(distance, 0.0))


def frechet_distance(a, b):
    """Frechet distance between two sets of activations (FID with Inception features).

    Fits a Gaussian to each set (mean and unbiased covariance, in float64) and
    returns ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``; the
    trace of the matrix square root is computed through a symmetric
    eigendecomposition (see ``trace_sqrt_product``), so singular covariances
    need no ``eps`` offset.

    There is no complex-part check because there is no complex path: the
    usual FID code takes ``scipy.linalg.sqrtm(S_a S_b)`` of a non-symmetric
    product, which round-off can give small imaginary parts that must be
    checked and dropped; here every square root is of a real symmetric
    matrix, whose ``eigh`` eigenvalues are real by construction, and the tiny
    negative ones round-off can leave are clipped to zero.

    The estimate is biased upwards for small sets: compare distances computed
    with the same sample counts. With ``n <= d`` (fewer samples than features
    in either set) a covariance is singular and the bias large: it warns.

    Args:
        a: activations ``[n_a, d]``, ``n_a >= 2``.
        b: activations ``[n_b, d]``, ``n_b >= 2``.

    Returns:
        python float >= 0.

    Warns:
        UserWarning: ``min(n_a, n_b) <= d``, naming ``n`` and ``d``
            (see ``warn_if_singular``).

    Example:
        >>> import keras_gans as kg
        >>> rng = np.random.default_rng(0)
        >>> a = rng.normal(size=(5000, 4))
        >>> round(kg.metrics.frechet_distance(a, a + 1.0), 2)
        4.0
    """
    a, b = check_activations(a, b)
    n, d = min(len(a), len(b)), a.shape[1]
    warn_if_singular(n, d, "both sets" if len(a) == len(b) else ("set a" if len(a) < len(b) else "set b"))
    mu_a, sigma_a = a.mean(axis=0), np.atleast_2d(np.cov(a, rowvar=False))
    mu_b, sigma_b = b.mean(axis=0), np.atleast_2d(np.cov(b, rowvar=False))
    return frechet_distance_from_statistics(mu_a, sigma_a, mu_b, sigma_b)
