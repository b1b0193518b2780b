"""Differentiable augmentation of discriminator inputs: DiffAugment and its adaptive form.

DiffAugment (Zhao et al., 2020) transforms both real and generated images with
the same differentiable policy before every discriminator call, in the
discriminator and the generator updates alike, so the discriminator cannot
memorize a small training set and the generator still gets gradients through
the transforms. The transforms, for NHWC images in [-1, 1]:

- ``"color"``: brightness ``x + (r - 0.5)``, saturation
  ``(x - mean_c) * 2r + mean_c`` and contrast ``(x - mean) * (r + 0.5) + mean``,
  each with its own ``r ~ U[0, 1)`` per image (saturation leaves one-channel
  images unchanged);
- ``"translation"``: an integer shift of up to 1/8 of each side per image,
  zeros shifted in;
- ``"cutout"``: a square of half the side, at a uniform random centre per
  image, set to zero.

Adaptive augmentation (``"ada"``, after Karras et al., 2020) applies each of
these transforms (brightness, saturation, contrast, translation and cutout
separately) to an image with probability ``p``; ``kg.models.GAN`` adjusts
``p`` from the sign of the discriminator's outputs on real images. This is the
ADA controller over the DiffAugment transforms, not ADA's full 18-transform
pipeline.

Every random number comes from the ``uniform`` callable the caller passes (the
GAN draws them from its seed generator, replica-shared like its latents), so
runs are reproducible and resume exactly.
"""

import tensorflow as tf
from keras import ops

#: The DiffAugment transforms, in the order they are applied.
POLICIES = ("color", "translation", "cutout")
#: The adaptive mode.
ADA = "ada"


def check_augment(augment):
    """Validate an ``augment=`` argument and return its canonical form.

    Args:
        augment: None (no augmentation), ``"ada"``, or a comma-separated
            string (or list) of transforms from ``POLICIES``.

    Returns:
        None, ``"ada"`` or a comma-separated string of known transforms in the
        order given, without repeats.

    Raises:
        ValueError: an unknown transform, naming the known ones.

    Example:
        >>> check_augment("translation, cutout,color")
        'translation,cutout,color'
    """
    if augment is None or augment == "" or augment == "none":
        return None
    if augment == ADA:
        return ADA
    names = augment.split(",") if isinstance(augment, str) else augment
    try:
        names = [str(n).strip() for n in names]
    except TypeError:
        names = None
    if not names or any(n not in POLICIES for n in names):
        bad = [n for n in (names or [augment]) if n not in POLICIES]
        raise ValueError(
            f"unknown augment policy {bad[0] if bad else augment!r}: use None, 'ada' or a "
            f"comma-separated list of {', '.join(POLICIES)} (e.g. 'translation,cutout,color')."
        )
    return ",".join(dict.fromkeys(names))


def augment_images(images, policy, uniform, p=None):
    """Apply a DiffAugment policy to a batch, differentiably.

    Args:
        images: float tensor ``[batch, h, w, c]``.
        policy: canonical policy string (``check_augment``), ``"ada"`` meaning
            every transform.
        uniform: callable ``uniform(tail) -> tensor [batch, *tail]`` of
            ``U[0, 1)`` draws (the caller's seed generator).
        p: None (every transform on every image) or a scalar tensor: each
            transform is applied to each image with probability ``p``.

    Returns:
        Tensor like ``images`` (float32).
    """
    x = ops.cast(images, "float32")
    names = POLICIES if policy == ADA else policy.split(",")
    for name in names:
        x = _TRANSFORMS[name](x, uniform, p)
    return x


def _gate(uniform, p, tail):
    """1.0 where a transform applies to an image (all when ``p`` is None), shape ``[b, *tail]``."""
    if p is None:
        return None
    return ops.cast(uniform(tail) < ops.cast(p, "float32"), "float32")


def _gated(value, identity, gate):
    return value if gate is None else gate * value + (1.0 - gate) * identity


def _color(x, uniform, p):
    tail = (1, 1, 1)
    x = x + _gated(uniform(tail) - 0.5, 0.0, _gate(uniform, p, tail))
    mean = ops.mean(x, axis=3, keepdims=True)
    x = (x - mean) * _gated(uniform(tail) * 2.0, 1.0, _gate(uniform, p, tail)) + mean
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * _gated(uniform(tail) + 0.5, 1.0, _gate(uniform, p, tail)) + mean


def _shift_axis(x, shift, axis):
    """Shift ``x`` by ``shift[b]`` pixels along ``axis`` (1 or 2), zeros shifted in."""
    size = x.shape[axis]
    source = tf.range(size)[None, :] - shift[:, None]  # [b, size]
    inside = tf.logical_and(source >= 0, source < size)
    moved = tf.gather(x, tf.clip_by_value(source, 0, size - 1), axis=axis, batch_dims=1)
    mask = tf.cast(inside, x.dtype)
    mask = mask[:, :, None, None] if axis == 1 else mask[:, None, :, None]
    return moved * mask


def _translation(x, uniform, p, ratio=0.125):
    height, width = x.shape[1], x.shape[2]
    out = x
    for axis, size in ((1, height), (2, width)):
        reach = int(size * ratio + 0.5)
        shift = tf.cast(tf.floor(uniform(()) * (2 * reach + 1)), "int32") - reach
        gate = _gate(uniform, p, ())
        if gate is not None:
            shift = shift * tf.cast(gate, "int32")
        out = _shift_axis(out, shift, axis)
    return out


def _cutout(x, uniform, p, ratio=0.5):
    height, width = x.shape[1], x.shape[2]
    cut_h, cut_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    centre_y = tf.cast(tf.floor(uniform(()) * height), "int32")
    centre_x = tf.cast(tf.floor(uniform(()) * width), "int32")
    rows = tf.range(height)[None, :] - (centre_y[:, None] - cut_h // 2)
    cols = tf.range(width)[None, :] - (centre_x[:, None] - cut_w // 2)
    in_rows = tf.logical_and(rows >= 0, rows < cut_h)[:, :, None]
    in_cols = tf.logical_and(cols >= 0, cols < cut_w)[:, None, :]
    keep = 1.0 - tf.cast(tf.logical_and(in_rows, in_cols), x.dtype)  # [b, h, w]
    gate = _gate(uniform, p, (1, 1))
    if gate is not None:
        keep = gate * keep + (1.0 - gate)
    return x * keep[:, :, :, None]


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}


def ada_adjust(p, sign_sum, count, target, images_to_full):
    """One ADA step: move ``p`` toward keeping ``E[sign(D(real))]`` at ``target``.

    ``r_t = sign_sum / count``; ``p`` rises when ``r_t > target`` (the
    discriminator is overconfident on reals) and falls otherwise, by
    ``count / images_to_full`` (so ``p`` can go from 0 to 1 in
    ``images_to_full`` real images), clipped to [0, 1].

    Args:
        p: scalar, the current probability.
        sign_sum: scalar, the sum of ``sign(D(real))`` since the last step.
        count: scalar, how many real images that sum covers.
        target: float, the target of ``r_t`` (0.6 in the paper).
        images_to_full: float, images for ``p`` to move by 1.

    Returns:
        The new ``p`` (float32 scalar).

    Example:
        >>> round(float(ada_adjust(0.5, sign_sum=90.0, count=100.0, target=0.6, images_to_full=1000.0)), 6)
        0.6
    """
    count = ops.cast(count, "float32")
    r_t = ops.cast(sign_sum, "float32") / ops.maximum(count, 1.0)
    step = ops.sign(r_t - target) * count / float(images_to_full)
    return ops.clip(ops.cast(p, "float32") + step, 0.0, 1.0)


__all__ = ["POLICIES", "ADA", "check_augment", "augment_images", "ada_adjust"]
