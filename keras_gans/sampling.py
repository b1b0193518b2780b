"""Sampling helpers over any family; ``latents`` is what "seed N" means everywhere.

One seed gives the same latents in every place that takes one:
``gan.generate(n, seed=s)``, ``keras-gans sample --seed s``, the zoo sample
grids, the SavedModel ``sample`` signature (and so TF Serving's REST and gRPC
clients asking for ``seed``), and a TFLite or ``serving_default`` caller that
feeds ``kg.sampling.latents(n, latent_dim, s)`` as ``z``. The definition is
TensorFlow's counter-based Philox generator::

    tf.random.stateless_normal([n, latent_dim], seed=[s, 0], alg="philox")

``latents`` computes exactly those numbers (to float32 rounding of the
Box-Muller transform, below 1e-6) with numpy alone, so it imports no
TensorFlow and has no side effect: it reads and changes no global random
state. Row ``i`` depends on ``(s, i)`` only through the Philox counter, so the
first ``k`` rows of a draw of ``n`` are the draw of ``k``.

Example:
    >>> import keras_gans as kg
    >>> z = kg.sampling.latents(4, 64, seed=0)
    >>> z.shape, z.dtype
    ((4, 64), dtype('float32'))
"""

import numpy as np

__all__ = [
    "latents", "seed_latents", "philox_normal", "interpolate", "latent_path", "truncate", "truncation_values",
    "truncation_strip", "style_mix_grid",
]

# Philox4x32-10 constants (Salmon et al. 2011; tensorflow/core/lib/random/philox_random.h).
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)


def _philox(counter, key):
    """Ten Philox4x32 rounds. ``counter``: 4 uint64 arrays (32-bit words); ``key``: 2 ints."""
    c0, c1, c2, c3 = counter
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    for i in range(10):
        if i:
            k0 = (k0 + _W0) & _MASK
            k1 = (k1 + _W1) & _MASK
        p0 = _M0 * c0
        p1 = _M1 * c2
        hi0, lo0 = p0 >> _SHIFT, p0 & _MASK
        hi1, lo1 = p1 >> _SHIFT, p1 & _MASK
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def _key_counter(seed):
    """The Philox key and base counter TensorFlow derives from ``seed=[seed, 0]``.

    ``StatelessRandomGetKeyCounter`` scrambles the seed with one Philox call
    under a fixed key, so that neither half of the seed has to be strong.
    """
    s0 = int(seed) & 0xFFFFFFFFFFFFFFFF
    words = [np.array([w], np.uint64) for w in (s0 & 0xFFFFFFFF, s0 >> 32, 0, 0)]
    mix = [int(w[0]) for w in _philox(words, (0x3EC8F720, 0x02461E29))]
    return (mix[0], mix[1]), mix[2], mix[3]


def _uint32_to_float(x):
    # 23 random mantissa bits under exponent 0: a float in [1, 2), minus 1.
    return ((x & np.uint64(0x7FFFFF)) | np.uint64(127 << 23)).astype(np.uint32).view(np.float32) - np.float32(1)


def philox_normal(count, seed):
    """``count`` standard normal float32 numbers: TF's Philox ``stateless_normal`` with ``seed=[seed, 0]``.

    Args:
        count: int >= 0, how many numbers (the flattened shape).
        seed: int, the first half of TensorFlow's two-int seed (the second is 0).

    Returns:
        float32 ``np.ndarray`` ``[count]``.
    """
    key, c2, c3 = _key_counter(seed)
    groups = (int(count) + 3) // 4
    # Group g (four outputs) runs Philox at counter (0, 0, c2, c3) + g, a 128-bit add.
    g = np.arange(groups, dtype=np.uint64)
    zero = np.zeros(groups, np.uint64)
    x0, x1, x2, x3 = _philox((g & _MASK, g >> _SHIFT, zero + np.uint64(c2), zero + np.uint64(c3)), key)
    out = np.empty((groups, 4), np.float32)
    for (a, b), columns in (((x0, x1), (0, 1)), ((x2, x3), (2, 3))):
        # Box-Muller as tensorflow/core/lib/random/random_distributions.h writes it.
        u1 = np.maximum(_uint32_to_float(a), np.float32(1e-7))
        v1 = (2.0 * np.pi * _uint32_to_float(b).astype(np.float64)).astype(np.float32)
        u2 = np.sqrt(np.float32(-2.0) * np.log(u1))
        out[:, columns[0]] = np.sin(v1) * u2
        out[:, columns[1]] = np.cos(v1) * u2
    return out.reshape(-1)[: int(count)]


def latents(n, latent_dim, seed):
    """The ``n`` latent vectors that ``seed`` means for a generator taking ``latent_dim`` numbers.

    Equal (to float32 rounding) to
    ``tf.random.stateless_normal([n, latent_dim], seed=[seed, 0], alg="philox")``,
    which is what ``gan.generate(n, seed=seed)``, ``keras-gans sample --seed``
    and the exported ``sample(batch_size=n, seed=seed, truncation=1.0)`` signature draw. Feed
    them as ``z`` to a ``.tflite`` file or to ``serving_default`` to get the
    images of that seed.

    Args:
        n: int >= 1, how many vectors.
        latent_dim: int >= 1, the generator's latent size.
        seed: int, any value TensorFlow takes as an int64 seed.

    Returns:
        float32 ``np.ndarray`` ``[n, latent_dim]`` of standard normal numbers.

    Example:
        >>> import keras_gans as kg
        >>> z = kg.sampling.latents(2, 4, seed=7)
        >>> bool((kg.sampling.latents(1, 4, seed=7) == z[:1]).all())
        True
    """
    for name, value in (("n", n), ("latent_dim", latent_dim)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {seed!r}.")
    if not -(2**63) <= int(seed) < 2**63:
        raise ValueError(f"seed must fit in an int64, got {seed}.")
    return philox_normal(int(n) * int(latent_dim), int(seed)).reshape(int(n), int(latent_dim))


# ---------------------------------------------------------------- paths and truncation
INTERPOLATIONS = ("slerp", "linear")


def latent_path(z_a, z_b, steps, method="slerp"):
    """``steps`` latents from ``z_a`` to ``z_b`` (both ends included).

    ``"slerp"`` moves along the great circle between the two directions and
    interpolates the norms linearly, so every point has the typical norm of a
    Gaussian latent (a straight line passes near the origin, where no
    training latent lies); ``"linear"`` is ``(1 - t) z_a + t z_b``.

    Args:
        z_a, z_b: arrays ``[latent_dim]``.
        steps: int >= 2.
        method: ``"slerp"`` or ``"linear"``.

    Returns:
        float32 ``np.ndarray`` ``[steps, latent_dim]``.

    Example:
        >>> path = latent_path(np.ones(4), -np.ones(4), 3, method="linear")
        >>> path[1].tolist()
        [0.0, 0.0, 0.0, 0.0]
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an int >= 2 (both ends are included), got {steps!r}.")
    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {INTERPOLATIONS}, got {method!r}.")
    z_a = np.asarray(z_a, "float64").ravel()
    z_b = np.asarray(z_b, "float64").ravel()
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    if method == "linear":
        return ((1.0 - t) * z_a + t * z_b).astype("float32")
    norm_a, norm_b = np.linalg.norm(z_a), np.linalg.norm(z_b)
    unit_a, unit_b = z_a / max(norm_a, 1e-12), z_b / max(norm_b, 1e-12)
    omega = np.arccos(np.clip(np.dot(unit_a, unit_b), -1.0, 1.0))
    if omega < 1e-6:  # the same direction: slerp is the straight line
        return ((1.0 - t) * z_a + t * z_b).astype("float32")
    direction = (np.sin((1.0 - t) * omega) * unit_a + np.sin(t * omega) * unit_b) / np.sin(omega)
    return (direction * ((1.0 - t) * norm_a + t * norm_b)).astype("float32")


def check_truncation(truncation):
    """Validate a truncation ``psi``: None (no truncation) or a number in (0, 1]."""
    if truncation is None:
        return None
    if (
        isinstance(truncation, bool)
        or not isinstance(truncation, (int, float, np.number))
        or not 0.0 < float(truncation) <= 1.0
    ):
        raise ValueError(
            f"truncation must be None or a number psi in (0, 1] (1: no truncation, smaller: "
            f"samples closer to the mean), got {truncation!r}."
        )
    return float(truncation)


def truncate(gan, z, truncation):
    """``gan.truncate(z, truncation)``: the truncation trick of a family (``psi * z`` for z-space GANs)."""
    return gan.truncate(z, truncation)


def interpolate(gan, seed_a, seed_b, steps, method="slerp", truncation=None, use_ema=True, **conditions):
    """Images along the latent path between the latents of two seeds (or two images).

    The ends are ``gan.generate(1, seed=seed_a)`` and ``seed_b``'s image
    (the same latents, ``latents(1, latent_dim, seed)``). A GAN with an
    encoder (``kg.models.VAEGAN``) also takes images as ends: each is mapped
    to its posterior mean (``gan.encode``), so the ends are the images'
    reconstructions (``gan.reconstruct``).

    Args:
        gan: a ``kg.models`` GAN with a latent space.
        seed_a, seed_b: ints, the seeds of the two ends; for a GAN with an
            encoder, either may instead be an image ``[h, w, c]`` (or a batch
            of one) in [-1, 1].
        steps: int >= 2, images on the path, ends included.
        method: ``"slerp"`` (default) or ``"linear"`` (see ``latent_path``).
        truncation: None or ``psi`` in (0, 1], applied to every latent.
        use_ema: bool, use the EMA generator when there is one.
        **conditions: passed to ``gan.generate_from_latents`` (a conditional
            GAN's ``labels=``: one class for the whole path, or one per step).

    Returns:
        float32 ``np.ndarray`` ``[steps, h, w, c]`` in [-1, 1].

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.DCGAN(latent_dim=16, width=8)
        >>> kg.sampling.interpolate(gan, seed_a=0, seed_b=1, steps=8).shape
        (8, 28, 28, 1)
    """
    check_truncation(truncation)
    _check_latent_space(gan, "interpolate in")
    path = latent_path(_end_latent(gan, seed_a), _end_latent(gan, seed_b), steps, method)
    return gan.generate_from_latents(gan.truncate(path, truncation), use_ema=use_ema, **conditions)


def _end_latent(gan, end):
    """The latent of one end of ``interpolate``: a seed's, or an image's posterior mean."""
    if not hasattr(gan, "encode") or (isinstance(end, (int, np.integer)) and not isinstance(end, bool)):
        return latents(1, gan.latent_dim, end)[0]
    images = np.asarray(end.numpy() if hasattr(end, "numpy") else end)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or len(images) != 1:
        raise ValueError(
            f"an end of the path must be an int seed or one image [h, w, c], got shape {images.shape}: "
            "pass images[i], not the batch."
        )
    return gan.encode(images)[0]


# ---------------------------------------------------------------- picture grids
def truncation_values(gan, steps):
    """The ``steps`` values of psi a truncation strip shows, from 1.0 (no truncation) down.

    ``linspace(1, 0, steps)`` for a family that truncates in ``w`` space
    (StyleGAN2: psi = 0 is the mean-``w`` image); ``linspace(1, 0, steps +
    1)[:-1]`` for the z-space families, whose psi lies in (0, 1].

    Example:
        >>> import keras_gans as kg
        >>> truncation_values(kg.models.DCGAN(latent_dim=8, width=8), 4).tolist()
        [1.0, 0.75, 0.5, 0.25]
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an int >= 2 (psi from 1.0 down), got {steps!r}.")
    if _truncates_w(gan):
        return np.linspace(1.0, 0.0, int(steps))
    return np.linspace(1.0, 0.0, int(steps) + 1)[:-1]


def _truncates_w(gan):
    return hasattr(gan, "w_from_latents")


def truncation_strip(gan, seeds, steps=6, use_ema=True, **conditions):
    """Each seed's image at ``steps`` truncations from psi = 1.0 down: one row per seed.

    Row ``i`` holds ``gan.generate(1, seed=seeds[i], truncation=psi)`` for
    each psi of ``truncation_values(gan, steps)``: the samples lose variety
    and gain typicality toward the mean latent (the mean-``w`` image at psi =
    0 for StyleGAN2).

    Args:
        gan: a ``kg.models`` GAN with a latent space.
        seeds: int or list of ints, one row each.
        steps: int >= 2, images per row.
        use_ema: bool, use the EMA generator when there is one.
        **conditions: passed to ``gan.generate_from_latents`` (a conditional
            GAN's ``labels=``: one class, or one per seed).

    Returns:
        ``(images, psis)``: float32 ``[len(seeds) * steps, h, w, c]`` in
        [-1, 1], row-major (save it with ``ncols=steps``), and the psi of each
        column.

    Example:
        >>> import keras_gans as kg
        >>> images, psis = kg.sampling.truncation_strip(kg.models.DCGAN(latent_dim=8, width=8), [0, 1], 4)
        >>> images.shape, psis.tolist()
        ((8, 28, 28, 1), [1.0, 0.75, 0.5, 0.25])
    """
    seeds = seed_list(seeds, "seeds")
    psis = truncation_values(gan, steps)
    _check_latent_space(gan)
    z = seed_latents(seeds, gan.latent_dim)
    if "labels" in conditions:
        conditions["labels"] = np.resize(np.asarray(conditions["labels"], "int32"), len(seeds))
    columns = []
    for psi in psis:
        if _truncates_w(gan):
            columns.append(gan.generate_from_latents(z, use_ema=use_ema, truncation=float(psi), **conditions))
        else:
            columns.append(gan.generate_from_latents(gan.truncate(z, float(psi)), use_ema=use_ema, **conditions))
    images = np.stack(columns, axis=1)  # [seeds, steps, h, w, c]
    return images.reshape((-1, *images.shape[2:])).astype("float32"), psis


def style_mix_grid(gan, seeds_a, seeds_b, cutoff, truncation=None, use_ema=True):
    """The style-mixing figure: ``seeds_b`` across the top, ``seeds_a`` down the side, their mixes inside.

    Cell ``(i, j)`` is ``gan.style_mix(seeds_a[i], seeds_b[j], cutoff)``:
    the coarse styles (inputs below ``cutoff``) of row ``i``'s seed with the
    fine styles of column ``j``'s. The top-left corner is blank (-1).

    Args:
        gan: a GAN with ``style_mix`` (``kg.models.StyleGAN2``).
        seeds_a: list of ints, the rows (coarse styles).
        seeds_b: list of ints, the columns (fine styles).
        cutoff: int in ``[0, gan.num_ws]``.
        truncation: None or psi in [0, 1], applied to every ``w``.
        use_ema: bool, use the EMA generator.

    Returns:
        float32 ``[(len(seeds_a) + 1) * (len(seeds_b) + 1), h, w, c]`` in
        [-1, 1], row-major (save it with ``ncols=len(seeds_b) + 1``).
    """
    if not hasattr(gan, "style_mix"):
        raise ValueError(
            f"a {getattr(gan, 'family', type(gan).__name__)} has no styles to mix: style mixing needs a "
            "mapping network and per-layer styles (kg.models.StyleGAN2)."
        )
    a, b = seed_list(seeds_a, "seeds_a"), seed_list(seeds_b, "seeds_b")
    rows, cols = len(a), len(b)
    kwargs = {"truncation": truncation, "use_ema": use_ema}
    top = gan.generate_from_latents(seed_latents(b, gan.latent_dim), **kwargs)
    side = gan.generate_from_latents(seed_latents(a, gan.latent_dim), **kwargs)
    mixed = gan.style_mix(np.repeat(a, cols).tolist(), np.tile(b, rows).tolist(), cutoff, **kwargs)
    shape = top.shape[1:]
    grid = np.full((rows + 1, cols + 1, *shape), -1.0, "float32")
    grid[0, 1:] = top
    grid[1:, 0] = side
    grid[1:, 1:] = mixed.reshape((rows, cols, *shape))
    return grid.reshape((-1, *shape))


def seed_list(seeds, what="seeds"):
    """``seeds`` (an int, or a non-empty list of ints) as a list of ints; a one-line error otherwise."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return [int(seeds)]
    try:
        seeds = list(seeds)
    except TypeError:
        seeds = None
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in seeds):
        raise ValueError(f"{what} must be an int or a non-empty list of ints, got {seeds!r}.")
    return [int(s) for s in seeds]


def seed_latents(seeds, latent_dim):
    """The latents of a list of seeds, one row each: row ``i`` is ``latents(1, latent_dim, seeds[i])``.

    Row ``i`` is the latent of ``gan.generate(1, seed=seeds[i])``, so a
    picture of chosen seeds draws them in one pass.

    Example:
        >>> import keras_gans as kg
        >>> z = kg.sampling.seed_latents([3, 7], 4)
        >>> bool((z[1] == kg.sampling.latents(1, 4, seed=7)[0]).all())
        True
    """
    return np.concatenate([latents(1, latent_dim, s) for s in seed_list(seeds)])


def _check_latent_space(gan, action="truncate"):
    if not hasattr(gan, "generate_from_latents") or getattr(gan, "latent_dim", None) is None:
        raise ValueError(
            f"{type(gan).__name__} has no latent space to {action}"
            + (": translate images with gan.translate instead." if hasattr(gan, "translate") else ".")
        )
