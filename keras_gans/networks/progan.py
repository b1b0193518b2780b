"""Progressive GAN networks (Karras et al., 2018): every resolution's blocks, built up front.

A ProGAN grows from a small start (4x4, or 7x7 for 28x28 data) by doubling
the resolution, one stage per doubling. Both builders create the blocks of
every stage at once, as nested ``keras.Model`` objects, so the weights exist
from the start and a ``.keras`` file always holds the same variables:

- ``progan_generator``: ``z`` -> one image per stage (``outputs[s]`` is stage
  ``s``'s image at its own resolution, ``outputs[-1]`` the full-resolution
  one). Nested models ``block_RxR`` (features at ``R``) and ``to_rgb_RxR``
  (features -> tanh image).
- ``progan_discriminator``: full-resolution images -> one score per stage
  (``outputs[s]``: the images average-pooled to stage ``s``'s resolution and
  scored by its path). Nested models ``from_rgb_RxR`` (image -> features) and
  ``block_RxR`` (features at ``R`` -> features at ``R / 2``; the last block,
  at the start resolution, holds the minibatch standard deviation and the
  score).

Training runs one stage's path at a time, with the new block faded in:
``stage_images`` and ``stage_scores`` compose those nested models for a stage
and a fade-in ``alpha``. Every layer is equalized-learning-rate
(``EqualizedConv2D``, ``EqualizedDense``: weights drawn from N(0, 1) and scaled
at run time by He's constant), the generator pixel-normalizes its features
(``PixelNormalization``) and the discriminator's last block appends the
minibatch standard deviation (``MinibatchStdDev``). Images leave every
``to_rgb`` through tanh, so every stage's images and their blends lie in
[-1, 1] like every family's (the paper's outputs are linear and clipped for
display). The layers are registered as serializable under the package
``keras_gans.progan`` (``keras_gans.progan>EqualizedDense``...). The
generator uses only TFLite builtin ops (fully connected, conv,
nearest resize, mean, rsqrt, leaky relu, tanh).

Default networks (``width=64``, ``max_width=512``, ``latent_dim=128``),
``count_params()`` of ``progan_generator`` and ``progan_discriminator``:

================  ======================  ===========  ===============
image shape       stages                  generator    discriminator
================  ======================  ===========  ===============
28x28x1           7, 14, 28               2,762,051    4,358,593
128x128x3         4, 8, 16, 32, 64, 128   15,185,106   18,330,689
================  ======================  ===========  ===============

(The discriminator's last block flattens the start-size map into a dense
layer, as in the paper: most of its parameters.)
"""

import math

import keras
from keras import layers, ops

#: Slope of every leaky ReLU (the paper's 0.2).
LEAKY_SLOPE = 0.2


def progan_resolutions(image_shape):
    """The side of each stage's images, from the start size up to ``image_shape``.

    The start is the side halved while it is even and above 7, so 28x28 grows
    7 -> 14 -> 28 and 128x128 grows 4 -> 8 -> ... -> 128.

    Args:
        image_shape: tuple ``(height, width, channels)``, square, with 1, 3
            or 4 channels and a side ``s * 2**k`` (``s`` in 3..7, ``k >= 1``).

    Returns:
        list of ints, one per stage.

    Example:
        >>> progan_resolutions((28, 28, 1))
        [7, 14, 28]
    """
    try:
        height, width, channels = (int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_shape must be (height, width, channels), got {image_shape!r}."
        ) from None
    if height != width:
        raise ValueError(
            f"ProGAN grows square images, got {height}x{width}: resize or crop the data to a square."
        )
    if channels not in (1, 3, 4):
        raise ValueError(f"image channels must be 1, 3 or 4, got {channels}.")
    side, sides = height, [height]
    while side % 2 == 0 and side > 7:
        side //= 2
        sides.append(side)
    if len(sides) < 2 or not 3 <= side <= 7:
        raise ValueError(
            f"image side {height} is not s * 2**k with s in 3..7 and k >= 1, so it cannot grow "
            "from a small start by doublings (28, 32, 64 and 128 can): resize the data."
        )
    return sides[::-1]


def progan_filters(num_stages, width, max_width):
    """Filters of each stage: ``width`` at full resolution, doubling per halving, at most ``max_width``.

    Example:
        >>> progan_filters(3, 32, 128)
        [128, 64, 32]
    """
    return [min(width * 2 ** (num_stages - 1 - s), max_width) for s in range(num_stages)]


# ------------------------------------------------------------------ layers
def _fan_in_scale(gain, fan_in):
    return float(gain) / math.sqrt(fan_in)


@keras.saving.register_keras_serializable(package="keras_gans.progan")
class EqualizedDense(keras.layers.Layer):
    """A dense layer with equalized learning rate.

    The kernel is drawn from N(0, 1) and multiplied at run time by
    ``scale = gain / sqrt(fan_in)`` (He's constant for ``gain = sqrt(2)``),
    so every weight has the same dynamic range and Adam's per-weight step
    size means the same learning speed for every layer.

    Args:
        units: int, output size.
        gain: float, ``sqrt(2)`` before a leaky ReLU, 1 for a linear output.
        use_bias: bool, add a bias (initialized to zero).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``...).

    Example:
        >>> layer = EqualizedDense(8)
        >>> layer(np.zeros((2, 32), "float32")).shape
        TensorShape([2, 8])
        >>> round(layer.scale, 6) == round((2 / 32) ** 0.5, 6)
        True
    """

    def __init__(self, units, gain=math.sqrt(2.0), use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.gain = float(gain)
        self.use_bias = bool(use_bias)
        self.scale = None

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = _fan_in_scale(self.gain, fan_in)
        self.kernel = self.add_weight(
            shape=(fan_in, self.units), initializer=keras.initializers.RandomNormal(0.0, 1.0), name="kernel"
        )
        self.bias = (
            self.add_weight(shape=(self.units,), initializer="zeros", name="bias") if self.use_bias else None
        )
        self.built = True

    def call(self, inputs):
        # Scaling the product equals scaling the kernel (the layer is linear),
        # and keeps the kernel a plain variable: TFLite converts the layer to
        # its builtin kernel with the weights as constants.
        y = ops.matmul(inputs, self.kernel) * self.scale
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="keras_gans.progan")
class EqualizedConv2D(keras.layers.Layer):
    """A stride-1 "same" convolution with equalized learning rate (see ``EqualizedDense``).

    ``fan_in = kernel_size**2 * input_channels``.

    Args:
        filters: int, output channels.
        kernel_size: int, side of the square kernel.
        gain: float, ``sqrt(2)`` before a leaky ReLU, 1 for a linear output.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> layer = EqualizedConv2D(4, 3)
        >>> layer(np.zeros((1, 8, 8, 2), "float32")).shape
        TensorShape([1, 8, 8, 4])
        >>> round(layer.scale, 6) == round((2 / (3 * 3 * 2)) ** 0.5, 6)
        True
    """

    def __init__(self, filters, kernel_size, gain=math.sqrt(2.0), **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.gain = float(gain)
        self.scale = None
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.scale = _fan_in_scale(self.gain, self.kernel_size * self.kernel_size * channels)
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, channels, self.filters),
            initializer=keras.initializers.RandomNormal(0.0, 1.0),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        self.built = True

    def call(self, inputs):
        # Scaled after the convolution, as in EqualizedDense.
        return ops.conv(inputs, self.kernel, strides=1, padding="same") * self.scale + self.bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size, "gain": self.gain,
        }


@keras.saving.register_keras_serializable(package="keras_gans.progan")
class PixelNormalization(keras.layers.Layer):
    """Scale each pixel's feature vector to unit mean square: ``x / sqrt(mean_c(x**2) + epsilon)``.

    Computed in float32 under mixed precision and returned in the layer's
    compute dtype.

    Args:
        epsilon: float, added to the mean square (1e-8 as in the paper).
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> x = np.random.default_rng(0).normal(0, 5, (2, 4, 4, 8)).astype("float32")
        >>> y = PixelNormalization()(x).numpy()
        >>> bool(np.allclose((y ** 2).mean(axis=-1), 1.0, atol=1e-5))
        True
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        if not float(epsilon) > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon!r}.")
        self.epsilon = float(epsilon)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        y = x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)
        return ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="keras_gans.progan")
class MinibatchStdDev(keras.layers.Layer):
    """Append the minibatch standard deviation as one more feature map.

    The batch is split into groups of ``group_size`` consecutive images (the
    whole batch when it does not divide evenly); within a group, the standard
    deviation of every feature over the group's images is averaged into one
    number, which becomes a constant channel of each of its images. The
    discriminator can so see how varied a batch is, which discourages mode
    collapse. It mixes the examples of a group, as in the paper.

    Args:
        group_size: int >= 2, images per group (4 in the paper).
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> x = np.stack([np.zeros((2, 2, 1)), np.full((2, 2, 1), 2.0)]).astype("float32")
        >>> y = MinibatchStdDev(group_size=2)(x).numpy()
        >>> y.shape, float(y[0, 0, 0, 1])  # std of {0, 2} is 1
        ((2, 2, 2, 2), 1.0)
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
            raise ValueError(f"group_size must be an int >= 2, got {group_size!r}.")
        self.group_size = int(group_size)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        import tensorflow as tf

        x = tf.cast(inputs, "float32")
        shape = tf.shape(x)
        batch = shape[0]
        group = tf.where(tf.equal(batch % self.group_size, 0), self.group_size, batch)
        grouped = tf.reshape(x, tf.stack([batch // group, group, shape[1], shape[2], shape[3]]))
        variance = tf.reduce_mean(tf.square(grouped - tf.reduce_mean(grouped, axis=1, keepdims=True)), axis=1)
        std = tf.reduce_mean(tf.sqrt(variance + 1e-8), axis=[1, 2, 3])  # [batch // group]
        per_image = tf.repeat(std, group)
        feature = tf.ones_like(x[..., :1]) * per_image[:, None, None, None]
        return tf.cast(tf.concat([x, feature], axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[-1] is None else input_shape[-1] + 1
        return (*input_shape[:-1], channels)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


# ------------------------------------------------------------------ builders
def _lrelu(dtype, name):
    return layers.LeakyReLU(LEAKY_SLOPE, dtype=dtype, name=name)


def _tag(side):
    return f"{side}x{side}"


def _generator_block(stage, in_shape, filters, dtype, side):
    prefix = f"block_{_tag(side)}"
    inputs = keras.Input(in_shape, name=f"{prefix}_in")
    if stage == 0:
        # Latent -> start x start: pixel-normalized z, a dense projection
        # (the paper's 4x4 transposed convolution of a 1x1 input), then a 3x3 conv.
        x = PixelNormalization(dtype=dtype, name=f"{prefix}_normalize_z")(inputs)
        x = EqualizedDense(side * side * filters, dtype=dtype, name=f"{prefix}_project")(x)
        x = layers.Reshape((side, side, filters), dtype=dtype, name=f"{prefix}_reshape")(x)
    else:
        # Nearest resize to a static size (TFLite's RESIZE_NEAREST_NEIGHBOR):
        # it keeps the spatial shape static in the converted graph, which
        # UpSampling2D's repeats do not.
        x = layers.Resizing(side, side, interpolation="nearest", dtype=dtype, name=f"{prefix}_upsample")(inputs)
        x = EqualizedConv2D(filters, 3, dtype=dtype, name=f"{prefix}_conv0")(x)
    x = _lrelu(dtype, f"{prefix}_lrelu0")(x)
    x = PixelNormalization(dtype=dtype, name=f"{prefix}_norm0")(x)
    x = EqualizedConv2D(filters, 3, dtype=dtype, name=f"{prefix}_conv1")(x)
    x = _lrelu(dtype, f"{prefix}_lrelu1")(x)
    x = PixelNormalization(dtype=dtype, name=f"{prefix}_norm1")(x)
    return keras.Model(inputs, x, name=prefix)


def _to_rgb(side, filters, channels, dtype):
    prefix = f"to_rgb_{_tag(side)}"
    features = keras.Input((side, side, filters), name=f"{prefix}_in")
    x = EqualizedConv2D(channels, 1, gain=1.0, dtype=dtype, name=f"{prefix}_conv")(features)
    images = layers.Activation("tanh", dtype="float32", name=f"{prefix}_tanh")(x)
    return keras.Model(features, images, name=prefix)


def progan_generator(latent_dim=128, image_shape=(28, 28, 1), width=64, max_width=512, dtype=None, name="generator"):
    """Build a ProGAN generator with every stage's blocks and ``to_rgb`` head.

    Stage 0 pixel-normalizes ``z``, projects it to a ``start x start`` map and
    applies a 3x3 convolution; each later stage upsamples (nearest) and
    applies two 3x3 convolutions; every convolution is followed by a leaky
    ReLU (0.2) and pixel norm. Each stage has its own 1x1 ``to_rgb`` head
    with tanh.

    Args:
        latent_dim: int, size of ``z``.
        image_shape: tuple ``(height, width, channels)`` of the full-resolution images.
        width: int, filters at full resolution; each lower stage doubles it.
        max_width: int, the most filters any stage has.
        dtype: dtype policy of the hidden layers (``"mixed_bfloat16"``...);
            the images are always float32.
        name: str, model name.

    Returns:
        ``keras.Model`` mapping ``z [batch, latent_dim]`` to a list of images,
        one per stage, from the start resolution up to ``image_shape``.

    Example:
        >>> g = progan_generator(16, (28, 28, 1), width=8, max_width=16)
        >>> [tuple(o.shape[1:]) for o in g.outputs]
        [(7, 7, 1), (14, 14, 1), (28, 28, 1)]
    """
    sides = progan_resolutions(image_shape)
    _check_widths(width, max_width)
    filters = progan_filters(len(sides), width, max_width)
    z = keras.Input((int(latent_dim),), name="z")
    x, outputs = z, []
    for stage, side in enumerate(sides):
        in_shape = (int(latent_dim),) if stage == 0 else (sides[stage - 1], sides[stage - 1], filters[stage - 1])
        x = _generator_block(stage, in_shape, filters[stage], dtype, side)(x)
        outputs.append(_to_rgb(side, filters[stage], int(image_shape[-1]), dtype)(x))
    return keras.Model(z, outputs, name=name)


def _from_rgb(side, channels, filters, dtype):
    prefix = f"from_rgb_{_tag(side)}"
    images = keras.Input((side, side, channels), name=f"{prefix}_in")
    x = EqualizedConv2D(filters, 1, dtype=dtype, name=f"{prefix}_conv")(images)
    x = _lrelu(dtype, f"{prefix}_lrelu")(x)
    return keras.Model(images, x, name=prefix)


def _discriminator_block(stage, side, filters, dtype, group_size):
    prefix = f"block_{_tag(side)}"
    features = keras.Input((side, side, filters[stage]), name=f"{prefix}_in")
    if stage == 0:
        x = MinibatchStdDev(group_size, dtype=dtype, name=f"{prefix}_minibatch_stddev")(features)
        x = EqualizedConv2D(filters[0], 3, dtype=dtype, name=f"{prefix}_conv0")(x)
        x = _lrelu(dtype, f"{prefix}_lrelu0")(x)
        x = layers.Flatten(dtype=dtype, name=f"{prefix}_flatten")(x)
        x = EqualizedDense(filters[0], dtype=dtype, name=f"{prefix}_dense")(x)
        x = _lrelu(dtype, f"{prefix}_lrelu1")(x)
        x = EqualizedDense(1, gain=1.0, dtype="float32", name=f"{prefix}_score")(x)
    else:
        x = EqualizedConv2D(filters[stage], 3, dtype=dtype, name=f"{prefix}_conv0")(features)
        x = _lrelu(dtype, f"{prefix}_lrelu0")(x)
        x = EqualizedConv2D(filters[stage - 1], 3, dtype=dtype, name=f"{prefix}_conv1")(x)
        x = _lrelu(dtype, f"{prefix}_lrelu1")(x)
        x = layers.AveragePooling2D(2, dtype=dtype, name=f"{prefix}_downsample")(x)
    return keras.Model(features, x, name=prefix)


def progan_discriminator(
    image_shape=(28, 28, 1), width=64, max_width=512, group_size=4, dtype=None, name="discriminator"
):
    """Build a ProGAN discriminator with every stage's ``from_rgb`` head and blocks.

    Each stage ``s > 0`` has a block of two 3x3 convolutions (leaky ReLU) and
    a 2x average pooling down to stage ``s - 1``; the start block appends the
    minibatch standard deviation, applies a 3x3 convolution and two dense
    layers down to one linear score (float32).

    Args:
        image_shape: tuple ``(height, width, channels)`` of the full-resolution images.
        width: int, filters at full resolution; each lower stage doubles it.
        max_width: int, the most filters any stage has.
        group_size: int >= 2, group of the minibatch standard deviation.
        dtype: dtype policy of the hidden layers.
        name: str, model name.

    Returns:
        ``keras.Model`` mapping full-resolution images to a list of scores
        ``[batch, 1]``, one per stage: stage ``s`` scores the images
        average-pooled to its resolution.

    Example:
        >>> d = progan_discriminator((28, 28, 1), width=8, max_width=16)
        >>> len(d.outputs), tuple(d.outputs[0].shape)
        (3, (None, 1))
    """
    sides = progan_resolutions(image_shape)
    _check_widths(width, max_width)
    MinibatchStdDev(group_size)  # checks group_size before anything is built
    filters = progan_filters(len(sides), width, max_width)
    channels = int(image_shape[-1])
    heads = [_from_rgb(side, channels, filters[s], dtype) for s, side in enumerate(sides)]
    blocks = [_discriminator_block(s, side, filters, dtype, group_size) for s, side in enumerate(sides)]
    images = keras.Input(tuple(int(s) for s in image_shape), name="images")
    outputs = []
    last = len(sides) - 1
    for stage in range(len(sides)):
        x = images
        if stage < last:
            x = layers.AveragePooling2D(2 ** (last - stage), dtype=dtype, name=f"pool_to_{_tag(sides[stage])}")(x)
        x = heads[stage](x)
        for block in blocks[stage::-1]:
            x = block(x)
        outputs.append(x)
    return keras.Model(images, outputs, name=name)


def _check_widths(width, max_width):
    for value, what in ((width, "width"), (max_width, "max_width")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{what} must be a positive int, got {value!r}.")
    if max_width < width:
        raise ValueError(f"max_width ({max_width}) must be >= width ({width}): raise max_width or lower width.")


# ------------------------------------------------------------------ stage paths
def generator_resolutions(generator):
    """The side of each stage of a ``progan_generator`` (from its outputs)."""
    return [int(o.shape[1]) for o in generator.outputs]


def discriminator_resolutions(discriminator):
    """The side of each stage of a ``progan_discriminator``."""
    side, count = int(discriminator.inputs[0].shape[1]), len(discriminator.outputs)
    return [side // 2 ** (count - 1 - s) for s in range(count)]


def _lerp(low, high, alpha):
    high = ops.cast(high, low.dtype)
    return low + ops.cast(alpha, low.dtype) * (high - low)


def upsample(images, factor):
    """Nearest-neighbour upsampling of NHWC images by an int ``factor`` (1: unchanged)."""
    if factor == 1:
        return images
    return ops.repeat(ops.repeat(images, factor, axis=1), factor, axis=2)


def downsample(images, factor):
    """Average pooling of NHWC images by an int ``factor`` (1: unchanged)."""
    if factor == 1:
        return images
    return ops.average_pool(images, factor, strides=factor, padding="valid")


def stage_images(generator, z, stage, alpha=1.0, training=False):
    """The images of stage ``stage`` of a ``progan_generator``, its new block faded in by ``alpha``.

    ``(1 - alpha) * upsample(to_rgb[stage-1](h[stage-1])) + alpha * to_rgb[stage](h[stage])``,
    where ``h[k]`` are the block features; at stage 0, or with ``alpha = 1``,
    the stage's own head. Only the blocks up to ``stage`` run.

    Args:
        generator: a ``progan_generator`` model.
        z: latents ``[batch, latent_dim]``.
        stage: Python int, the stage.
        alpha: float or scalar tensor in [0, 1]; None or 1.0 for the stage's head alone.
        training: bool, passed to the blocks.

    Returns:
        float32 images ``[batch, side, side, channels]`` at the stage's resolution.
    """
    sides = generator_resolutions(generator)
    features, h = [], z
    for side in sides[: stage + 1]:
        h = generator.get_layer(f"block_{_tag(side)}")(h, training=training)
        features.append(h)
    high = generator.get_layer(f"to_rgb_{_tag(sides[stage])}")(features[-1], training=training)
    if stage == 0 or (isinstance(alpha, (int, float)) and alpha == 1.0) or alpha is None:
        return high
    low = generator.get_layer(f"to_rgb_{_tag(sides[stage - 1])}")(features[-2], training=training)
    return _lerp(upsample(low, 2), high, alpha)


def stage_scores(discriminator, images, stage, alpha=1.0, training=False):
    """Scores of stage ``stage`` of a ``progan_discriminator`` on images at that stage's resolution.

    ``from_rgb[stage]`` and ``block[stage]`` run on the images; during a
    fade their features are blended with the previous stage's head on the
    images halved: ``(1 - alpha) * from_rgb[stage-1](downsample(x)) + alpha * block[stage](from_rgb[stage](x))``,
    then the lower blocks down to the score.

    Args:
        discriminator: a ``progan_discriminator`` model.
        images: ``[batch, side, side, channels]`` at the stage's resolution.
        stage: Python int, the stage.
        alpha: float or scalar tensor in [0, 1]; None or 1.0: no blend.
        training: bool.

    Returns:
        float32 scores ``[batch, 1]``.
    """
    sides = discriminator_resolutions(discriminator)
    block = lambda s: discriminator.get_layer(f"block_{_tag(sides[s])}")  # noqa: E731
    head = lambda s: discriminator.get_layer(f"from_rgb_{_tag(sides[s])}")  # noqa: E731
    x = head(stage)(images, training=training)
    if stage > 0:
        x = block(stage)(x, training=training)
        if not (alpha is None or (isinstance(alpha, (int, float)) and alpha == 1.0)):
            low = head(stage - 1)(downsample(images, 2), training=training)
            x = _lerp(low, x, alpha)
        for s in range(stage - 1, 0, -1):
            x = block(s)(x, training=training)
    return block(0)(x, training=training)


def stage_layers(network, stage):
    """The nested models the path of ``stage`` runs, in a ``progan_generator`` or ``progan_discriminator``.

    Its blocks up to the stage's, its head and, from stage 1 on, the
    previous stage's head (the fade-in blends it). A stage's update trains
    these and no other layer.

    Example:
        >>> g = progan_generator(16, (28, 28, 1), width=8, max_width=16)
        >>> [layer.name for layer in stage_layers(g, 1)]
        ['block_7x7', 'block_14x14', 'to_rgb_7x7', 'to_rgb_14x14']
    """
    names = {layer.name for layer in network.layers}
    head = "to_rgb" if any(name.startswith("to_rgb_") for name in names) else "from_rgb"
    sides = generator_resolutions(network) if head == "to_rgb" else discriminator_resolutions(network)
    wanted = [f"block_{_tag(side)}" for side in sides[: stage + 1]]
    wanted += [f"{head}_{_tag(side)}" for side in sides[max(stage - 1, 0) : stage + 1]]
    return [network.get_layer(name) for name in wanted]
