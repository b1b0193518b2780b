"""StyleGAN2 networks (Karras et al., 2020): mapping, synthesis, generator and discriminator.

The generator is two functional models joined: the **mapping** network
(``z -> w``: the latent normalized to unit second moment, then
``mapping_layers`` equalized-learning-rate dense layers with a learning-rate
multiplier of 0.01, and the running mean of ``w`` that truncation pulls
toward, ``MeanW``) and the **synthesis** network (``[ws, noise_0, ...] ->
images``: a learned 4x4 constant, two modulated and demodulated 3x3
convolutions per resolution with per-pixel noise of learned strength, and a
1x1 modulated toRGB at every resolution whose images are upsampled and summed,
the "skip" generator). ``stylegan2_generator`` wraps both into ``z -> images``
for sampling and export: every ``w`` goes to all ``num_ws`` style inputs, the
noise is a fixed map per layer (the official code's "const" noise mode, so
sampling is deterministic) and the images are clipped to [-1, 1]. Training
calls the mapping and synthesis networks directly (``kg.models.StyleGAN2``),
with fresh noise and unclipped images, as in the paper.

The discriminator is the residual one: a 1x1 fromRGB, then per resolution two
3x3 convolutions with a 2x downsampling and a 1x1 downsampled skip, summed
and scaled by ``1/sqrt(2)``, down to 4x4, where a minibatch standard deviation
channel, a 3x3 convolution and two dense layers give one logit.

Every weight is stored at unit scale and multiplied at run time by He's
constant (times the learning-rate multiplier), the equalized learning rate of
the paper. Upsampling is the paper's ``[1, 3, 3, 1]`` filter (equal to
bilinear resizing away from the border) written as a transposed convolution,
so that path-length regularization can differentiate it twice (TensorFlow has
no second derivative of its resize ops); downsampling is 2x2 average pooling.

Image sides: powers of two from 32 (32, 64, 128, 256...), and 28: the
synthesis network then works at 32x32 and crops 2 pixels off each border, and
the discriminator zero-pads its 28x28 input back to 32x32 (for real and fake
images alike), so Fashion-MNIST trains as it is.

Channels per resolution: ``min(width * side / res, max_width)``, where ``side``
is the synthesis resolution: ``width`` is the count at the output and it
doubles toward 4x4 up to ``max_width``. The paper's 256x256 setup is
``width=64, max_width=512``.

Every op is a TFLite builtin: the modulated convolution scales the activations
by the style before a plain convolution and by the demodulation coefficient
after it, which equals convolving with the modulated, demodulated weights.

Parameter counts (``count_params()``), ``latent_dim = w_dim``:

============  =========================  ======  =========  =========  =============
image shape   width / max_width          w_dim   mapping    generator  discriminator
============  =========================  ======  =========  =========  =============
28x28x1       32 / 128                   128     2 layers   ...        ...
256x256x3     64 / 512                   512     8 layers   ...        ...
============  =========================  ======  =========  =========  =============
"""

import math

import keras
import numpy as np
from keras import layers, ops

#: Slope of the leaky ReLU, and the gain that keeps its output at unit scale.
_SLOPE = 0.2
_LRELU_GAIN = math.sqrt(2.0)
_ACTIVATIONS = (None, "lrelu")


def _check_activation(activation):
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be None or 'lrelu', got {activation!r}.")
    return activation


def _activate(x, activation):
    if activation == "lrelu":
        return ops.leaky_relu(x, _SLOPE) * ops.cast(_LRELU_GAIN, x.dtype)
    return x


def synthesis_plan(image_shape):
    """Return ``(resolution, crop)`` for a StyleGAN2 image shape.

    Args:
        image_shape: tuple ``(height, width, channels)``; square, with a side
            of 28 or a power of two >= 32, and 1, 3 or 4 channels.

    Returns:
        ``(resolution, crop)``: the side the synthesis network works at and
        the pixels cropped off each border (2 for 28x28, else 0).

    Example:
        >>> synthesis_plan((28, 28, 1))
        (32, 2)
        >>> synthesis_plan((64, 64, 3))
        (64, 0)
    """
    shape = tuple(image_shape)
    if len(shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {shape}.")
    height, width, channels = (int(s) for s in shape)
    if height != width:
        raise ValueError(
            f"StyleGAN2 networks need square images, got {height}x{width}: resize or crop the data."
        )
    if channels not in (1, 3, 4):
        raise ValueError(f"image channels must be 1, 3 or 4, got {channels}.")
    if height == 28:
        return 32, 2
    if height < 32 or height & (height - 1):
        raise ValueError(
            f"StyleGAN2 image side must be a power of two >= 32 (32, 64, 128, 256...) or 28 "
            f"(padded to 32), got {height}: resize the data (kg.data.load(..., image_size=(32, 32)))."
        )
    return height, 0


def num_ws(image_shape):
    """How many ``w`` vectors (style inputs) the synthesis network takes: ``2 * log2(resolution) - 2``.

    Index 0 styles the 4x4 convolution; each later resolution takes two (its
    toRGB shares the next resolution's first index). Style mixing with a
    cutoff ``c`` takes indices ``< c`` (the coarse styles) from one latent.

    Example:
        >>> num_ws((28, 28, 1))
        8
    """
    resolution, _ = synthesis_plan(image_shape)
    return 2 * int(math.log2(resolution)) - 2


def channels_at(resolution, side, width, max_width):
    """Feature maps at ``resolution`` of networks whose largest resolution is ``side``."""
    return int(min(width * side // resolution, max_width))


def _check_positive(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}.")
    return int(value)


def upsample_2x(x):
    """Upsample NHWC ``x`` 2x with the ``[1, 3, 3, 1]`` filter (gain 4), twice differentiable.

    Each channel is filtered on its own: channels move to the batch axis,
    one single-channel transposed convolution of stride 2 runs, and they move
    back. Away from the border this is bilinear resizing exactly.
    """
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    taps = np.array([1.0, 3.0, 3.0, 1.0])
    kernel = np.outer(taps, taps)
    kernel = (kernel / kernel.sum() * 4.0).astype("float32")[:, :, None, None]
    planes = ops.reshape(ops.transpose(x, (0, 3, 1, 2)), (-1, height, width, 1))
    planes = ops.conv_transpose(planes, ops.cast(kernel, x.dtype), strides=2, padding="same")
    return ops.transpose(ops.reshape(planes, (-1, channels, 2 * height, 2 * width)), (0, 2, 3, 1))


@keras.saving.register_keras_serializable(package="keras_gans")
class EqualizedDense(layers.Layer):
    """A dense layer with an equalized learning rate.

    The kernel is stored as ``N(0, 1 / lr_multiplier)`` and used as
    ``kernel * lr_multiplier / sqrt(fan_in)``; the bias is used times
    ``lr_multiplier`` and starts at ``bias_init``. Adam's step is then the
    same for every layer in units of its effective weights, scaled by
    ``lr_multiplier`` (0.01 in the mapping network).

    Args:
        units: int, output size.
        lr_multiplier: float > 0.
        bias_init: float, the starting value of the effective bias.
        use_bias: bool.
        activation: None or ``"lrelu"`` (leaky ReLU, slope 0.2, times sqrt(2)).
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> layer = EqualizedDense(4, lr_multiplier=0.01)
        >>> layer(np.ones((2, 8), "float32")).shape
        TensorShape([2, 4])
    """

    def __init__(self, units, lr_multiplier=1.0, bias_init=0.0, use_bias=True, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = _check_positive(units, "units")
        if not float(lr_multiplier) > 0:
            raise ValueError(f"lr_multiplier must be > 0, got {lr_multiplier!r}.")
        self.lr_multiplier = float(lr_multiplier)
        self.bias_init = float(bias_init)
        self.use_bias = bool(use_bias)
        self.activation = _check_activation(activation)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(fan_in, self.units), name="kernel", autocast=False,
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), name="bias", autocast=False,
                initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier),
            )
        self.gain = self.lr_multiplier / math.sqrt(fan_in)

    def call(self, inputs):
        kernel = ops.cast(self.kernel * self.gain, self.compute_dtype)
        x = ops.matmul(inputs, kernel)
        if self.bias is not None:
            x = x + ops.cast(self.bias * self.lr_multiplier, self.compute_dtype)
        return _activate(x, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier,
            "bias_init": self.bias_init, "use_bias": self.use_bias, "activation": self.activation,
        }


@keras.saving.register_keras_serializable(package="keras_gans")
class EqualizedConv2D(layers.Layer):
    """A stride-1 ``"same"`` convolution with an equalized learning rate (kernel times ``1/sqrt(fan_in)``).

    Args:
        filters: int, output channels.
        kernel_size: int, odd.
        use_bias: bool.
        activation: None or ``"lrelu"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> EqualizedConv2D(4, 3)(np.ones((1, 8, 8, 2), "float32")).shape
        TensorShape([1, 8, 8, 4])
    """

    def __init__(self, filters, kernel_size=3, use_bias=True, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = _check_positive(filters, "filters")
        self.kernel_size = _check_positive(kernel_size, "kernel_size")
        self.use_bias = bool(use_bias)
        self.activation = _check_activation(activation)

    def build(self, input_shape):
        fan_in = int(input_shape[-1]) * self.kernel_size**2
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters),
            name="kernel", autocast=False, initializer=keras.initializers.RandomNormal(stddev=1.0),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), name="bias", autocast=False, initializer="zeros")
        self.gain = 1.0 / math.sqrt(fan_in)

    def call(self, inputs):
        x = ops.conv(inputs, ops.cast(self.kernel * self.gain, self.compute_dtype), padding="same")
        if self.bias is not None:
            x = x + ops.cast(self.bias, self.compute_dtype)
        return _activate(x, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "use_bias": self.use_bias, "activation": self.activation,
        }


@keras.saving.register_keras_serializable(package="keras_gans")
class ModulatedConv2D(layers.Layer):
    """StyleGAN2's modulated convolution: a style from ``w`` scales the kernel's input channels.

    Called on ``[x, w]`` (or ``[x, w, noise]`` with ``noise=True``): the
    style ``s = A(w)`` (an equalized dense layer whose bias starts at 1)
    scales the input channels, ``x * s`` is (optionally upsampled 2x and)
    convolved with the plain kernel, and with ``demodulate=True`` each output
    channel is multiplied by ``d = 1 / sqrt(sum_{k, i} (W[k, i, o] s_i)^2 + 1e-8)``.
    That equals convolving ``x`` with the modulated, demodulated kernel
    ``W[k, i, o] s_i d_o`` of the paper, per example, but uses only plain
    multiplications and one ordinary convolution (no grouped convolution),
    all TFLite builtins. With unit-variance inputs the outputs keep unit
    variance. Without demodulation (toRGB) the style is scaled by
    ``1/sqrt(fan_in)`` instead, the equalized learning rate.

    Then ``noise * strength`` is added (``noise`` ``[batch, h, w, 1]``, a
    learned scalar strength starting at 0), then the bias and the activation.

    Args:
        filters: int, output channels.
        kernel_size: int, odd (3 for convolutions, 1 for toRGB).
        demodulate: bool.
        upsample: bool, upsample 2x before the convolution.
        noise: bool, take a noise map as a third input.
        activation: None or ``"lrelu"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> layer = ModulatedConv2D(8, 3)
        >>> x = np.random.default_rng(0).normal(size=(2, 16, 16, 4)).astype("float32")
        >>> w = np.random.default_rng(1).normal(size=(2, 6)).astype("float32")
        >>> layer([x, w]).shape
        TensorShape([2, 16, 16, 8])
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, upsample=False, noise=False,
                 activation="lrelu", **kwargs):
        super().__init__(**kwargs)
        self.filters = _check_positive(filters, "filters")
        self.kernel_size = _check_positive(kernel_size, "kernel_size")
        self.demodulate = bool(demodulate)
        self.upsample = bool(upsample)
        self.noise = bool(noise)
        self.activation = _check_activation(activation)

    def build(self, input_shape):
        x_shape, w_shape = input_shape[0], input_shape[1]
        in_channels, w_dim = int(x_shape[-1]), int(w_shape[-1])
        normal = keras.initializers.RandomNormal(stddev=1.0)
        self.style_kernel = self.add_weight(
            shape=(w_dim, in_channels), name="style_kernel", autocast=False, initializer=normal
        )
        self.style_bias = self.add_weight(
            shape=(in_channels,), name="style_bias", autocast=False, initializer="ones"
        )
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, in_channels, self.filters),
            name="kernel", autocast=False, initializer=normal,
        )
        self.bias = self.add_weight(shape=(self.filters,), name="bias", autocast=False, initializer="zeros")
        self.noise_strength = None
        if self.noise:
            self.noise_strength = self.add_weight(
                shape=(), name="noise_strength", autocast=False, initializer="zeros"
            )
        self.style_gain = 1.0 / math.sqrt(w_dim)
        self.weight_gain = 1.0 / math.sqrt(in_channels * self.kernel_size**2)

    def styles(self, w):
        """The per-example input-channel scales ``[batch, in_channels]`` (float32)."""
        w = ops.cast(w, "float32")
        return ops.matmul(w, self.style_kernel * self.style_gain) + self.style_bias

    def call(self, inputs):
        x, w = inputs[0], inputs[1]
        styles = self.styles(w)
        if not self.demodulate:
            styles = styles * self.weight_gain
        x = x * ops.cast(styles, self.compute_dtype)[:, None, None, :]
        if self.upsample:
            x = upsample_2x(x)
        x = ops.conv(x, ops.cast(self.kernel, self.compute_dtype), padding="same")
        if self.demodulate:
            # sum over kernel taps and inputs of (W s)^2, as a [batch, in] x [in, out] product.
            energy = ops.matmul(ops.square(styles), ops.sum(ops.square(self.kernel), axis=(0, 1)))
            x = x * ops.cast(ops.rsqrt(energy + 1e-8), self.compute_dtype)[:, None, None, :]
        if self.noise:
            x = x + ops.cast(inputs[2], self.compute_dtype) * ops.cast(self.noise_strength, self.compute_dtype)
        x = x + ops.cast(self.bias, self.compute_dtype)
        return _activate(x, self.activation)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape[0]
        if self.upsample:
            height = None if height is None else 2 * height
            width = None if width is None else 2 * width
        return (batch, height, width, self.filters)

    def get_config(self):
        return {
            **super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "demodulate": self.demodulate, "upsample": self.upsample, "noise": self.noise,
            "activation": self.activation,
        }


@keras.saving.register_keras_serializable(package="keras_gans")
class Upsample2D(layers.Layer):
    """2x upsampling with the ``[1, 3, 3, 1]`` filter (see ``upsample_2x``); the skip generator's image path.

    Example:
        >>> Upsample2D()(np.ones((1, 4, 4, 3), "float32")).shape
        TensorShape([1, 8, 8, 3])
    """

    def call(self, inputs):
        return upsample_2x(inputs)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, None if height is None else 2 * height, None if width is None else 2 * width, channels)


@keras.saving.register_keras_serializable(package="keras_gans")
class ConstantInput(layers.Layer):
    """A fixed-shape tensor repeated over the batch of its input (whose values it ignores).

    The synthesis network's learned 4x4 start (``learned=True``) and the
    generator's fixed noise maps (``learned=False``: a non-trainable weight
    drawn once from N(0, 1)) are both this layer.

    Args:
        shape: tuple, the shape without the batch axis.
        learned: bool, whether the value is a trainable weight.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> ConstantInput((4, 4, 8))(np.zeros((3, 5), "float32")).shape
        TensorShape([3, 4, 4, 8])
    """

    def __init__(self, shape, learned=True, **kwargs):
        super().__init__(**kwargs)
        self.value_shape = tuple(_check_positive(s, "shape entries") for s in shape)
        self.learned = bool(learned)

    def build(self, input_shape):
        self.value = self.add_weight(
            shape=self.value_shape, name="value", trainable=self.learned, autocast=False,
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        value = ops.cast(self.value, self.compute_dtype)
        return ops.tile(value[None], (batch, *([1] * len(self.value_shape))))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.value_shape)

    def get_config(self):
        return {**super().get_config(), "shape": list(self.value_shape), "learned": self.learned}


@keras.saving.register_keras_serializable(package="keras_gans")
class StyleSelect(layers.Layer):
    """``ws[:, index]``: the ``w`` of one style input, from ``ws`` ``[batch, num_ws, w_dim]``.

    Example:
        >>> StyleSelect(1)(np.arange(12, dtype="float32").reshape(1, 3, 4)).numpy().tolist()
        [[4.0, 5.0, 6.0, 7.0]]
    """

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(f"index must be an int >= 0, got {index!r}.")
        self.index = int(index)

    def call(self, inputs):
        return inputs[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="keras_gans")
class NormalizeLatent(layers.Layer):
    """Scale each latent vector to unit second moment: ``z / sqrt(mean(z^2) + 1e-8)``.

    Example:
        >>> y = NormalizeLatent()(np.full((1, 4), 3.0, "float32")).numpy()
        >>> np.round(y, 4).tolist()
        [[1.0, 1.0, 1.0, 1.0]]
    """

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        y = x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + 1e-8)
        return ops.cast(y, self.compute_dtype)


@keras.saving.register_keras_serializable(package="keras_gans")
class MeanW(layers.Layer):
    """The tracked mean of ``w`` (the paper's ``w_avg``); ``w`` passes through unchanged.

    ``w_avg`` is a non-trainable float32 weight, saved with the network, that
    ``kg.models.StyleGAN2`` moves toward the batch mean of ``w`` after every
    generator update (``w_avg = mean + beta * (w_avg - mean)``). Truncation
    pulls ``w`` toward it: ``truncate(w, psi) = w_avg + psi * (w - w_avg)``.

    Example:
        >>> layer = MeanW()
        >>> w = np.ones((2, 3), "float32")
        >>> layer(w).numpy().tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
        >>> layer.truncate(w, 0.0).numpy().tolist()
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """

    def build(self, input_shape):
        self.w_avg = self.add_weight(
            shape=(int(input_shape[-1]),), name="w_avg", trainable=False, autocast=False,
            initializer="zeros", aggregation="only_first_replica",
        )

    def call(self, inputs):
        return inputs

    def truncate(self, w, psi):
        """``w_avg + psi * (w - w_avg)`` in float32."""
        w_avg = ops.convert_to_tensor(self.w_avg.value)
        return w_avg + ops.cast(psi, "float32") * (ops.cast(w, "float32") - w_avg)


@keras.saving.register_keras_serializable(package="keras_gans")
class MinibatchStdDev(layers.Layer):
    """Append the minibatch standard deviation as one more channel (ProGAN's layer, as StyleGAN2 uses it).

    The batch is split into groups of ``g`` images (example ``i`` in group
    ``i mod (batch / g)``), ``g`` being the largest number up to
    ``group_size`` that divides the batch; the standard deviation of each
    feature over a group, averaged over all features, is broadcast as a
    channel to that group's images. Computed in float32.

    Args:
        group_size: int >= 1.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> MinibatchStdDev(4)(np.zeros((4, 4, 4, 8), "float32")).shape
        TensorShape([4, 4, 4, 9])
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = _check_positive(group_size, "group_size")

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        shape = ops.shape(x)
        batch = shape[0]
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        candidates = ops.arange(self.group_size, 0, -1, dtype="int32")
        batch32 = ops.cast(batch, "int32")
        fits = ops.logical_and(ops.equal(batch32 % candidates, 0), candidates <= batch32)
        group = ops.max(ops.where(fits, candidates, 1))
        y = ops.reshape(x, (group, -1, height, width, channels))
        y = y - ops.mean(y, axis=0, keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(y), axis=0) + 1e-8)
        per_group = ops.mean(std, axis=(1, 2, 3))
        per_image = ops.tile(per_group, (group,))
        feature = ops.ones_like(x[..., :1]) * per_image[:, None, None, None]
        return ops.cast(ops.concatenate([x, feature], axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="keras_gans")
class ClipImages(layers.Layer):
    """Clip images to [-1, 1] (the sampling generator's output; training sees them unclipped).

    Example:
        >>> ClipImages()(np.array([[-3.0, 0.5, 2.0]], "float32")).numpy().tolist()
        [[-1.0, 0.5, 1.0]]
    """

    def call(self, inputs):
        return ops.clip(inputs, -1.0, 1.0)


# ---------------------------------------------------------------- builders
def stylegan2_mapping(latent_dim=512, w_dim=512, num_layers=8, lr_multiplier=0.01, name="mapping"):
    """Build the mapping network ``z -> w`` (float32, as the official code keeps it).

    Args:
        latent_dim: int, size of ``z``.
        w_dim: int, size of ``w`` and of every hidden layer.
        num_layers: int >= 1, equalized dense layers (leaky ReLU).
        lr_multiplier: float, their learning-rate multiplier (0.01 in the paper).
        name: str.

    Returns:
        ``keras.Model`` ``z [batch, latent_dim] -> w [batch, w_dim]``; its last
        layer, ``mean_w`` (``MeanW``), holds the tracked mean of ``w``.

    Example:
        >>> stylegan2_mapping(16, 8, 2).output_shape
        (None, 8)
    """
    _check_positive(latent_dim, "latent_dim")
    _check_positive(w_dim, "w_dim")
    _check_positive(num_layers, "mapping_layers")
    z = keras.Input((latent_dim,), name="z")
    x = NormalizeLatent(name="normalize")(z)
    for i in range(num_layers):
        x = EqualizedDense(w_dim, lr_multiplier=lr_multiplier, activation="lrelu", name=f"dense{i}")(x)
    w = MeanW(name="mean_w")(x)
    return keras.Model(z, w, name=name)


def stylegan2_synthesis(image_shape=(28, 28, 1), w_dim=512, width=64, max_width=512, dtype=None, name="synthesis"):
    """Build the skip synthesis network ``[ws, noise_0, ..., noise_k] -> images`` (unclipped).

    Args:
        image_shape: tuple ``(height, width, channels)`` (see ``synthesis_plan``).
        w_dim: int, size of each ``w``.
        width: int, channels at the output resolution (doubling toward 4x4).
        max_width: int, the most channels of any resolution.
        dtype: dtype policy of the hidden layers; the images are float32.
        name: str.

    Returns:
        ``keras.Model`` taking ``ws`` ``[batch, num_ws, w_dim]`` and one noise
        map ``[batch, r, r, 1]`` per convolution (inputs ``noise_0`` ...,
        coarse to fine), returning images ``[batch, *image_shape]``.

    Example:
        >>> s = stylegan2_synthesis((32, 32, 3), w_dim=8, width=8, max_width=16)
        >>> [tuple(t.shape[1:]) for t in s.inputs][:3]
        [(8, 8), (4, 4, 1), (8, 8, 1)]
    """
    resolution, crop = synthesis_plan(image_shape)
    _check_positive(w_dim, "w_dim")
    _check_positive(width, "width")
    _check_positive(max_width, "max_width")
    count = num_ws(image_shape)
    channels = int(image_shape[-1])
    ch = {r: channels_at(r, resolution, width, max_width) for r in (2**k for k in range(2, 20)) if r <= resolution}
    ws = keras.Input((count, w_dim), name="ws")
    noise_inputs = [keras.Input((4, 4, 1), name="noise_0")]
    for r in sorted(ch)[1:]:
        for _ in range(2):
            noise_inputs.append(keras.Input((r, r, 1), name=f"noise_{len(noise_inputs)}"))

    selected = {}

    def style(index):
        # A toRGB and the next resolution's first convolution share an index.
        if index not in selected:
            selected[index] = StyleSelect(index, dtype=dtype, name=f"w{index}")(ws)
        return selected[index]

    x = ConstantInput((4, 4, ch[4]), learned=True, dtype=dtype, name="const")(ws)
    x = ModulatedConv2D(ch[4], 3, noise=True, dtype=dtype, name="b4_conv")([x, style(0), noise_inputs[0]])
    image = ModulatedConv2D(channels, 1, demodulate=False, activation=None, dtype=dtype, name="b4_torgb")(
        [x, style(1)]
    )
    index, noise_index = 1, 1
    for r in sorted(ch)[1:]:
        x = ModulatedConv2D(ch[r], 3, upsample=True, noise=True, dtype=dtype, name=f"b{r}_conv0")(
            [x, style(index), noise_inputs[noise_index]]
        )
        x = ModulatedConv2D(ch[r], 3, noise=True, dtype=dtype, name=f"b{r}_conv1")(
            [x, style(index + 1), noise_inputs[noise_index + 1]]
        )
        rgb = ModulatedConv2D(channels, 1, demodulate=False, activation=None, dtype=dtype, name=f"b{r}_torgb")(
            [x, style(index + 2)]
        )
        image = layers.Add(dtype=dtype, name=f"b{r}_skip")([Upsample2D(dtype=dtype, name=f"b{r}_upsample")(image), rgb])
        index, noise_index = index + 2, noise_index + 2
    if crop:
        image = layers.Cropping2D(crop, dtype=dtype, name="crop")(image)
    images = layers.Activation("linear", dtype="float32", name="images")(image)
    return keras.Model([ws, *noise_inputs], images, name=name)


def stylegan2_generator(
    latent_dim=512,
    image_shape=(28, 28, 1),
    w_dim=512,
    mapping_layers=8,
    mapping_lr_multiplier=0.01,
    width=64,
    max_width=512,
    dtype=None,
    name="generator",
):
    """Build the sampling generator ``z -> images`` in [-1, 1]: mapping, ``w`` to every style, synthesis.

    Its layers ``mapping`` and ``synthesis`` are the two networks (training
    calls them directly); ``noise_const{i}`` hold the fixed noise maps it
    feeds the synthesis network (``ConstantInput(learned=False)``), and
    ``images`` clips the output to [-1, 1].

    Args:
        latent_dim: int, size of ``z``.
        image_shape: tuple ``(height, width, channels)``: a side of 28 or a
            power of two >= 32.
        w_dim: int, size of ``w``.
        mapping_layers: int, dense layers of the mapping network (8 in the paper).
        mapping_lr_multiplier: float, their learning-rate multiplier (0.01).
        width: int, synthesis channels at the output resolution.
        max_width: int, the most synthesis channels at any resolution.
        dtype: dtype policy of the synthesis network's hidden layers (the
            mapping network stays float32; images are float32).
        name: str.

    Returns:
        ``keras.Model`` ``z [batch, latent_dim] -> images [batch, *image_shape]``.

    Example:
        >>> g = stylegan2_generator(16, (28, 28, 1), w_dim=16, mapping_layers=2, width=8, max_width=16)
        >>> g.output_shape
        (None, 28, 28, 1)
    """
    synthesis_plan(image_shape)
    mapping = stylegan2_mapping(latent_dim, w_dim, mapping_layers, mapping_lr_multiplier)
    synthesis = stylegan2_synthesis(image_shape, w_dim, width, max_width, dtype=dtype)
    z = keras.Input((latent_dim,), name="z")
    ws = layers.RepeatVector(num_ws(image_shape), name="broadcast_w")(mapping(z))
    noise = [
        ConstantInput(tuple(t.shape[1:]), learned=False, dtype=dtype, name=f"noise_const{i}")(ws)
        for i, t in enumerate(synthesis.inputs[1:])
    ]
    images = ClipImages(dtype="float32", name="images")(synthesis([ws, *noise]))
    return keras.Model(z, images, name=name)


def stylegan2_discriminator(
    image_shape=(28, 28, 1), width=64, max_width=512, mbstd_group_size=4, dtype=None, name="discriminator"
):
    """Build the residual discriminator ``images -> logits [batch, 1]``.

    Args:
        image_shape: tuple ``(height, width, channels)`` (28x28 inputs are
            zero-padded to 32x32 first).
        width: int, channels at the input resolution (doubling toward 4x4).
        max_width: int, the most channels at any resolution.
        mbstd_group_size: int, group size of the minibatch standard deviation.
        dtype: dtype policy of the hidden layers; the logit is float32.
        name: str.

    Returns:
        ``keras.Model``.

    Example:
        >>> stylegan2_discriminator((28, 28, 1), width=8, max_width=16).output_shape
        (None, 1)
    """
    resolution, crop = synthesis_plan(image_shape)
    _check_positive(width, "width")
    _check_positive(max_width, "max_width")
    images = keras.Input(tuple(int(s) for s in image_shape), name="images")
    x = images
    if crop:
        x = layers.ZeroPadding2D(crop, dtype=dtype, name="pad")(x)
    x = EqualizedConv2D(channels_at(resolution, resolution, width, max_width), 1, activation="lrelu",
                        dtype=dtype, name="fromrgb")(x)
    r = resolution
    while r > 4:
        here, below = (channels_at(v, resolution, width, max_width) for v in (r, r // 2))
        skip = layers.AveragePooling2D(2, dtype=dtype, name=f"b{r}_skip_pool")(x)
        skip = EqualizedConv2D(below, 1, use_bias=False, dtype=dtype, name=f"b{r}_skip")(skip)
        x = EqualizedConv2D(here, 3, activation="lrelu", dtype=dtype, name=f"b{r}_conv0")(x)
        x = layers.AveragePooling2D(2, dtype=dtype, name=f"b{r}_pool")(x)
        x = EqualizedConv2D(below, 3, activation="lrelu", dtype=dtype, name=f"b{r}_conv1")(x)
        x = layers.Add(dtype=dtype, name=f"b{r}_add")([x, skip])
        x = layers.Rescaling(math.sqrt(0.5), dtype=dtype, name=f"b{r}_scale")(x)
        r //= 2
    top = channels_at(4, resolution, width, max_width)
    x = MinibatchStdDev(mbstd_group_size, dtype=dtype, name="mbstd")(x)
    x = EqualizedConv2D(top, 3, activation="lrelu", dtype=dtype, name="b4_conv")(x)
    x = layers.Flatten(dtype=dtype, name="flatten")(x)
    x = EqualizedDense(top, activation="lrelu", dtype=dtype, name="b4_dense")(x)
    logits = EqualizedDense(1, dtype="float32", name="logits")(x)
    return keras.Model(images, logits, name=name)
