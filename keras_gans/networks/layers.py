"""Layers the default networks need beyond core Keras.

Both layers are registered as serializable (package ``keras_gans``), so models
that use them save to ``.keras`` files and load back after ``import
keras_gans``. They use only ops that TFLite has as builtins (``MIRROR_PAD``,
``MEAN``, ``RSQRT``...), so networks built with them export without the Flex
delegate.
"""

import keras
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
