"""Layers the default networks need beyond core Keras.

The layers are registered as serializable (package ``keras_gans``), so models
that use them save to ``.keras`` files and load back after ``import
keras_gans``. They use only ops that TFLite has as builtins (``MIRROR_PAD``,
``MEAN``, ``RSQRT``...), so networks built with them export without the Flex
delegate.
"""

import keras
import tensorflow as tf
from keras import ops


def _pair(value, what):
    """``p`` or ``(a, b)`` -> ``(a, b)`` of non-negative ints."""
    if isinstance(value, (int,)) and not isinstance(value, bool):
        value = (value, value)
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be an int or a pair of ints, got {value!r}."
        ) from None
    if a < 0 or b < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}.")
    return a, b


@keras.saving.register_keras_serializable(package="keras_gans")
class ReflectionPadding2D(keras.layers.Layer):
    """Pad the two spatial axes of NHWC images by mirroring them at the border.

    Reflection padding (the edge pixel is not repeated) avoids the dark frame
    that zero padding teaches an image-to-image generator to draw; CycleGAN's
    ResNet generator pads every convolution this way.

    Args:
        padding: int ``p`` (``p`` pixels on every side), or
            ``((top, bottom), (left, right))``. Each amount must be smaller
            than the side it pads (a reflection cannot reach further).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``...).

    Example:
        >>> import numpy as np
        >>> x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
        >>> y = ReflectionPadding2D(1)(x)
        >>> y.shape
        TensorShape([1, 5, 5, 1])
        >>> [float(v) for v in y[0, 0, :, 0]]
        [4.0, 3.0, 4.0, 5.0, 4.0]
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, (int,)) and not isinstance(padding, bool):
            padding = ((padding, padding), (padding, padding))
        if not isinstance(padding, (tuple, list)) or len(padding) != 2:
            raise ValueError(
                f"padding must be an int or ((top, bottom), (left, right)), got {padding!r}."
            )
        self.padding = (_pair(padding[0], "padding rows"), _pair(padding[1], "padding columns"))
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        for (before, after), side, what in zip(self.padding, input_shape[1:3], ("height", "width")):
            if side is not None and max(before, after) >= side:
                raise ValueError(
                    f"reflection padding of {max(before, after)} needs images wider than that, "
                    f"but the {what} is {side}: use a smaller padding or larger images."
                )
        self.built = True

    def call(self, inputs):
        (top, bottom), (left, right) = self.padding
        return ops.pad(inputs, [[0, 0], [top, bottom], [left, right], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        batch, height, width, channels = input_shape
        height = None if height is None else height + top + bottom
        width = None if width is None else width + left + right
        return (batch, height, width, channels)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


@keras.saving.register_keras_serializable(package="keras_gans")
class InstanceNormalization(keras.layers.Layer):
    """Normalize each channel of each image over its spatial positions.

    ``y = (x - mean_hw(x)) / sqrt(var_hw(x) + epsilon)``, then optionally
    ``gamma * y + beta`` per channel. Statistics come from the image itself,
    in training and inference alike, so the layer has no moving averages and
    never mixes the examples of a batch. Computed in float32 under mixed
    precision (the variance of float16 activations overflows), and returned in
    the layer's compute dtype. It equals
    ``keras.layers.GroupNormalization(groups=-1)`` but works on the NHWC tensor
    directly (no 5-D reshape), which keeps TFLite graphs simple.

    Args:
        epsilon: float, added to the variance (1e-5 as in the CycleGAN code).
        center: bool, learn a per-channel offset ``beta``.
        scale: bool, learn a per-channel scale ``gamma``.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(3.0, 2.0, (2, 8, 8, 4)).astype("float32")
        >>> y = InstanceNormalization()(x).numpy()
        >>> bool(abs(y.mean(axis=(1, 2))).max() < 1e-5)
        True
    """

    def __init__(self, epsilon=1e-5, center=False, scale=False, **kwargs):
        super().__init__(**kwargs)
        if not float(epsilon) > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon!r}.")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("InstanceNormalization needs a known number of channels.")
        self.gamma = (
            self.add_weight(shape=(channels,), initializer="ones", name="gamma", autocast=False)
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight(shape=(channels,), initializer="zeros", name="beta", autocast=False)
            if self.center
            else None
        )
        self.built = True

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        mean, variance = ops.moments(x, axes=[1, 2], keepdims=True)
        y = (x - mean) * ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            y = y * self.gamma
        if self.beta is not None:
            y = y + self.beta
        return ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }


@keras.saving.register_keras_serializable(package="keras_gans")
class BatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` whose training pass is one fused kernel.

    Same arguments, weights, config and results as the Keras layer; only how
    a training call computes them differs. Keras 3 normalizes with separate
    ops (moments, then the affine transform, in float32 under mixed
    precision); on the TensorFlow backend this layer computes the batch
    statistics, the normalized output and, in the backward pass, all three
    gradients with TensorFlow's fused batch-norm kernels, which take bfloat16
    or float16 activations directly (statistics in float32). The moving
    averages are updated as Keras does, from the biased batch variance.
    Inference calls are the Keras layer's own, so exported graphs hold the
    same ops. The class keeps the Keras name on purpose: weight files
    (``.weights.h5``) address layers by their class name, so files written by
    networks built with ``keras.layers.BatchNormalization`` load into networks
    built with this layer, and back.

    Non-finite inputs give NaN outputs, as with Keras' ops (a diverged run's
    losses turn NaN, which ``kg.callbacks.StopOnNaN`` stops on).

    Calls the fused kernel cannot serve fall back to the Keras computation:
    another backend, inputs that are not 4-D channels-last, a mask,
    ``synchronized=True``, ``renorm=True``, a frozen layer and float64.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(3.0, 2.0, (8, 4, 4, 2)).astype("float32")
        >>> y = BatchNormalization()(x, training=True).numpy()
        >>> bool(abs(y.mean(axis=(0, 1, 2))).max() < 1e-5)
        True
    """

    def _fusable(self, inputs, training, mask):
        return (
            training
            and self.trainable
            and mask is None
            and keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and not self.synchronized
            and not self.renorm
            and keras.backend.standardize_dtype(inputs.dtype) in ("float32", "bfloat16", "float16")
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        gamma = self.gamma.value if self.scale else tf.ones([channels], "float32")
        beta = self.beta.value if self.center else tf.zeros([channels], "float32")
        outputs, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=inputs,
            scale=tf.cast(gamma, "float32"),
            offset=tf.cast(beta, "float32"),
            mean=tf.zeros([0], "float32"),
            variance=tf.zeros([0], "float32"),
            epsilon=self.epsilon,
            is_training=True,
            data_format="NHWC",
        )
        # The kernel's batch variance is Bessel-corrected; Keras tracks the
        # biased one (0 for a single value, where the corrected one is not
        # defined).
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), "float32")
        variance = tf.where(count > 1.0, variance * ((count - 1.0) / count), 0.0)
        mean, variance = tf.stop_gradient(mean), tf.stop_gradient(variance)
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        # A NaN input must reach the loss, as it does through Keras' ops. In
        # a traced graph on CPU, the oneDNN rewrite of this kernel with the
        # layers after it (a ReLU, then a transposed convolution, as in the
        # DCGAN generator) turns NaN into 0, so a diverged run would train on
        # with finite losses. 0 * mean is NaN wherever a channel saw a NaN or
        # an infinity; adding it keeps the NaN.
        outputs = outputs + tf.cast(0.0 * mean, outputs.dtype)
        return ops.cast(outputs, self.compute_dtype)
