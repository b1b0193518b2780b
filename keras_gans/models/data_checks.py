"""The data checks ``GAN.fit`` runs on every batch, where XLA cannot drop them.

Static checks (dtype, shape) run when a step is traced; value checks (range,
NaN, inf, labels) build one-line messages as tensors, so they can run in the
input pipeline (``GAN.checked_dataset``) before the compiled step sees a batch.
"""

import numpy as np
import keras
import tensorflow as tf


#: markers around the one-line message of a refused batch inside a TF error.
REFUSED_OPEN, REFUSED_CLOSE = "keras-gans refused a batch:", "(end of refusal)"
#: how far past [-1, 1] a value may lie (rounding of low-precision inputs).
RANGE_TOLERANCE = 1e-3


def validate_images(images, image_shape, what="images"):
    """Check a batch of images' dtype and shape (known when traced); cast to float32.

    The values (range, NaN, inf) are checked by ``GAN.fit`` in the input
    pipeline (``image_problems``), where XLA cannot drop the check.

    Args:
        images: tensor ``[batch, h, w, c]``.
        image_shape: expected ``(h, w, c)``.
        what: str, name used in the error.

    Returns:
        The images cast to float32.

    Raises:
        ValueError: integer images, or a shape other than ``[batch, *image_shape]``.
    """
    dtype = keras.backend.standardize_dtype(images.dtype)
    if "float" not in dtype:
        raise ValueError(
            f"{what} must be floats in [-1, 1], got dtype {dtype}: scale them with "
            "x / 127.5 - 1 (kg.data.load does this)."
        )
    shape = tuple(images.shape[1:])
    if len(shape) != 3 or any(
        s is not None and s != e for s, e in zip(shape, image_shape)
    ):
        expected = tuple(image_shape)
        if len(shape) == 2 and all(s is None or s == e for s, e in zip(shape, expected[:2])):
            fix = "add the channel axis with x[..., None] (or np.expand_dims(x, -1))."
        elif len(shape) == 3 and tuple(shape[:2]) == expected[:2]:
            fix = f"convert the images to {expected[2]} channel(s) or build the GAN with image_shape={shape}."
        else:
            fix = "resize the data or build the GAN with a matching image_shape."
        raise ValueError(
            f"{what} have shape {shape} per example but this GAN makes {expected}: {fix}"
        )
    return tf.cast(images, "float32")


def checked_image_batch(images, image_shape, what="images", fix="pass a batch of images of this model's image_shape.",
                        tolerance=0.0):
    """A batch of images given to a model's translate, encode or preview, as float32 numpy.

    Args:
        images: array or tensor ``[n >= 1, *image_shape]`` of floats in [-1, 1].
        image_shape: the expected ``(h, w, c)``.
        what: str, name used in the error.
        fix: str, what the shape error tells the caller to do.
        tolerance: float, how far outside [-1, 1] values may lie (rounding
            of images scaled from uint8).

    Raises:
        ValueError: one line each for one image without its batch axis,
            another shape (or no image), integer images, and values outside
            [-1, 1] (NaN and inf included).
    """
    if isinstance(images, (tf.Tensor, tf.Variable)):
        images = images.numpy()
    images = np.asarray(images)
    image_shape = tuple(image_shape)
    shape = ", ".join(map(str, image_shape))
    if images.ndim == 3 and tuple(images.shape) == image_shape:
        raise ValueError(
            f"{what} must be a batch of shape [n, {shape}], got one image {images.shape}: add the batch axis with images[None]."
        )
    if images.ndim != 4 or tuple(images.shape[1:]) != image_shape or len(images) == 0:
        raise ValueError(f"{what} must have shape [n >= 1, {shape}], got {images.shape}: {fix}")
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"{what} must be floats in [-1, 1], got dtype {images.dtype}: scale uint8 images with x / 127.5 - 1."
        )
    lo, hi = float(np.min(images)), float(np.max(images))
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -1.0 - tolerance or hi > 1.0 + tolerance:
        raise ValueError(f"{what} must lie in [-1, 1], got values in [{lo}, {hi}]: scale them with x / 127.5 - 1.")
    return images.astype("float32")


def first_problem(cases):
    """The message of the first case that holds, else ``""`` (graph- and eager-safe).

    Args:
        cases: list of ``(condition, message_fn)``: a scalar bool tensor and a
            callable returning a scalar string tensor. Only the chosen
            message is built, so a batch that passes formats no string.

    Returns:
        Scalar string tensor.
    """
    choose = lambda: tf.constant("")  # noqa: E731
    for bad, message in reversed(cases):
        choose = (lambda bad=bad, message=message, rest=choose: tf.cond(bad, message, rest))
    return choose()


def first_nonempty(messages):
    """The first non-empty scalar string tensor of ``messages``, else ``""``."""
    out = tf.constant("")
    for message in reversed(messages):
        out = tf.where(tf.equal(message, ""), out, message)
    return out


def image_problems(images, what="images", tolerance=RANGE_TOLERANCE):
    """What is wrong with the values of an image batch, as one-line messages.

    Args:
        images: float tensor ``[batch, h, w, c]``.
        what: str, name used in the messages.
        tolerance: float, how far past [-1, 1] a value may lie.

    Returns:
        ``(problem, warning)`` scalar string tensors, ``""`` when none.
        ``problem``: NaN, inf, or values outside [-1, 1] (0..255 pixels are
        named as such). ``warning``: every value lies in [0, 1], as if the
        images were scaled with ``x / 255``.

    Example:
        >>> problem, _ = image_problems(np.full((1, 2, 2, 1), 255.0, "float32"))
        >>> problem.numpy().decode()[:31]
        'images must lie in [-1, 1], got'
    """
    x = tf.reshape(tf.cast(images, "float32"), [-1])
    ok = tf.reduce_all(tf.abs(x) <= 1.0 + tolerance)  # False on NaN too

    def problem():
        size = tf.size(x, out_type=tf.int64)
        nan, inf = tf.math.is_nan(x), tf.math.is_inf(x)
        n_nan = tf.reduce_sum(tf.cast(nan, tf.int64))
        n_inf = tf.reduce_sum(tf.cast(inf, tf.int64))
        finite = tf.logical_not(tf.logical_or(nan, inf))
        big = np.float32(np.finfo("float32").max)
        lo = tf.reduce_min(tf.where(finite, x, big))
        hi = tf.reduce_max(tf.where(finite, x, -big))
        return first_problem([
            (n_nan > 0, lambda: tf.strings.format(
                f"{what} contain NaN ({{}} of {{}} values in a batch): fix or drop those images "
                "(NaN is no pixel value; look for a division by zero in the preprocessing).",
                (n_nan, size))),
            (n_inf > 0, lambda: tf.strings.format(
                f"{what} contain inf ({{}} of {{}} values in a batch): fix or drop those images, "
                "then scale them to [-1, 1].",
                (n_inf, size))),
            (tf.logical_and(lo >= -tolerance, hi <= 255.0 + tolerance), lambda: tf.strings.format(
                f"{what} must lie in [-1, 1], got values in [{{}}, {{}}] like 0..255 pixels: "
                "scale them with x / 127.5 - 1 (kg.data.load does this).",
                (lo, hi))),
            (tf.constant(True), lambda: tf.strings.format(
                f"{what} must lie in [-1, 1], got values in [{{}}, {{}}]: scale them to [-1, 1] "
                "(uint8 pixels: x / 127.5 - 1).",
                (lo, hi))),
        ])

    message = tf.cond(ok, lambda: tf.constant(""), problem)
    # An empty batch has no minimum (reduce_min gives +max): no warning.
    # (An all-zero batch is mid-grey in [-1, 1]: some value must be above 0.)
    unit = tf.logical_and(tf.logical_and(ok, tf.size(x) > 0), tf.reduce_min(x) >= 0.0)
    unit = tf.logical_and(unit, tf.reduce_max(x) > 0.0)
    warning = tf.where(
        unit,
        tf.constant(
            f"{what} lie in [0, 1] (no value below 0), as if scaled with x / 255, but the "
            "generator makes [-1, 1]: scale uint8 pixels with x / 127.5 - 1 (or [0, 1] floats "
            "with 2 * x - 1)."
        ),
        tf.constant(""),
    )
    return message, warning


def refusal_message(err):
    """The one-line message of a batch the data checks refused, found in ``err``; else None."""
    text = getattr(err, "message", None) or str(err)
    start = text.find(REFUSED_OPEN)
    end = text.find(REFUSED_CLOSE, start + 1)
    if start < 0 or end < 0:
        return None
    message = text[start + len(REFUSED_OPEN) : end].strip().strip("[] ").strip()
    return " ".join(message.split()) or None


def _is_array(value):
    """True for numpy arrays and eager tensors (what Keras batches itself)."""
    return isinstance(value, (np.ndarray, tf.Tensor, tf.Variable)) or (
        hasattr(value, "__array__") and hasattr(value, "shape") and hasattr(value, "dtype")
    )


def _split_pair(x, y):
    """``fit((images, labels))`` means ``fit(images, labels)``.

    Keras packs a tuple ``x`` without ``y`` as one multi-input element, which
    the train step would receive as ``((images, labels),)``.
    """
    if y is None and isinstance(x, (tuple, list)) and len(x) == 2 and all(_is_array(v) for v in x):
        return x[0], x[1]
    return x, y
