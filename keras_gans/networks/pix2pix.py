"""Pix2Pix networks: a U-Net generator and a PatchGAN discriminator on image pairs.

Isola et al. (2017), "Image-to-Image Translation with Conditional Adversarial
Networks". The generator is an encoder-decoder whose ``k``-th decoder block
is concatenated with the mirrored encoder block (the U-Net skips), so detail
that the input and the output share (edges, layout) need not pass the
bottleneck. The discriminator sees an input image and an output image
(real or generated) stacked along the channels and scores overlapping patches.

Generator (``n_downsamplings = d`` stride-2 blocks, ``width = w``):

- encoder block ``i``: 4x4 convolution with stride 2 to ``w * min(2**i, 8)``
  filters, normalization (not in the first block, nor in the innermost one,
  whose map is 1x1 for the default depth and has no spatial statistics),
  LeakyReLU(0.2);
- decoder block ``j``: 4x4 transposed convolution with stride 2, normalization,
  dropout in the first ``dropout_blocks`` decoder blocks (the paper's
  ``CD512`` blocks), ReLU, concatenation with the encoder block of the same
  resolution;
- a last transposed convolution to the image channels and ``tanh``.

The default depth brings the smaller side to one pixel, as the paper's 8
blocks do at 256x256: ``d = ceil(log2(min(h, w)))``. Sides that are not a
multiple of ``2**d`` are padded by reflection up to the next multiple (28 ->
32 for Fashion-MNIST) and the output is cropped back, so any image shape
works and the skips line up; the padding is part of the network, so exports
take images of the original shape.

Normalization: ``"instance"`` (the default) normalizes each image with its own
statistics, with a learned scale and offset per channel. It is what the
paper's batch normalization computes at its batch size of 1, and since the
paper also normalizes with the test batch's statistics at test time, it is
its behaviour at inference as well; it never mixes a batch's examples, so the
discriminator scores real and generated pairs in one call. ``"batch"`` is
batch normalization (``kg.networks.BatchNormalization``: moving statistics
at inference), for larger batches. Dropout runs in training only (the paper keeps it at test
time as the generator's noise; here inference is deterministic, which
exports and ``translate`` rely on).

Differences from the reference code, none of which changes what the networks
can compute: convolutions followed by normalization have no bias (the
normalization subtracts it again), and stride-2 layers use Keras ``"same"``
padding. Weights start from N(0, 0.02) as in the reference.

Parameter counts (``count_params()``):

========================  ==========  ==========  ===================  =============
image shape (in -> out)   width       generator   discriminator_layers discriminator
========================  ==========  ==========  ===================  =============
28x28x1 -> 28x28x1        64          16,653,505  3                    2,764,609
28x28x1 -> 28x28x1        32          4,165,217   2                    167,329
28x28x1 -> 28x28x1        8           261,017     2                    11,113
256x256x3 -> 256x256x3    64          54,414,531  3                    2,768,705
========================  ==========  ==========  ===================  =============

(64 filters, 8 blocks and a 70x70 PatchGAN at 256x256 is the paper's setup.)
"""

import math

import keras
import numpy as np
from keras import layers

from keras_gans.networks.layers import BatchNormalization, InstanceNormalization, ReflectionPadding2D
from keras_gans.networks.spectral_norm import SpectralConv2D

#: The ``normalization`` values the builders take.
NORMALIZATIONS = ("instance", "batch", None)


def _init():
    # The reference initializes every convolution from N(0, 0.02).
    return keras.initializers.RandomNormal(stddev=0.02)


def _check_shape(shape, what):
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise ValueError(f"{what} must be (height, width, channels), got {shape!r}.")
    try:
        height, width, channels = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be three positive ints, got {shape!r}.") from None
    if min(height, width, channels) < 1:
        raise ValueError(f"{what} must be positive, got {tuple(shape)}.")
    return height, width, channels


def _positive(value, what, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _check_normalization(normalization):
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be 'instance', 'batch' or None, got {normalization!r}."
        )
    return normalization


def unet_depth(image_shape):
    """The default ``n_downsamplings`` of ``pix2pix_generator``: the smaller side down to 1 pixel.

    ``ceil(log2(min(height, width)))``: 8 at 256x256 (the paper's U-Net),
    5 at 28x28 (padded to 32).

    Example:
        >>> unet_depth((256, 256, 3)), unet_depth((28, 28, 1)), unet_depth((1, 5, 1))
        (8, 5, 1)
    """
    height, width, _ = _check_shape(image_shape, "image_shape")
    return max(1, math.ceil(math.log2(min(height, width))))


def unet_padding(image_shape, n_downsamplings):
    """Reflection padding that makes both sides multiples of ``2**n_downsamplings``.

    Args:
        image_shape: tuple ``(height, width, channels)``.
        n_downsamplings: int, stride-2 blocks of the U-Net.

    Returns:
        ``((top, bottom), (left, right))``; the extra pixel of an odd amount
        goes to the bottom / right.

    Raises:
        ValueError: when a side would need more padding than a reflection of
            it can give (a side of ``s`` pixels reflects at most ``s - 1``).

    Example:
        >>> unet_padding((28, 28, 1), 5)
        ((2, 2), (2, 2))
        >>> unet_padding((256, 256, 3), 8)
        ((0, 0), (0, 0))
    """
    height, width, _ = _check_shape(image_shape, "image_shape")
    n_downsamplings = _positive(n_downsamplings, "n_downsamplings")
    factor = 2**n_downsamplings
    pads = []
    for side, what in ((height, "height"), (width, "width")):
        total = -side % factor
        before, after = total // 2, total - total // 2
        if after > side - 1:
            raise ValueError(
                f"image {what} {side} would be padded by {total} to a multiple of "
                f"2**n_downsamplings = {factor}, more than a reflection of {side} pixels gives: "
                f"use n_downsamplings <= {unet_depth(image_shape)} (the default) or larger images."
            )
        pads.append((before, after))
    return tuple(pads)


def _normalize(x, normalization, dtype, name):
    if normalization == "instance":
        return InstanceNormalization(center=True, scale=True, dtype=dtype, name=name)(x)
    if normalization == "batch":
        return BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype, name=name)(x)
    return x


def pix2pix_generator(
    image_shape=(28, 28, 1),
    input_channels=None,
    width=64,
    n_downsamplings=None,
    dropout=0.5,
    dropout_blocks=3,
    normalization="instance",
    seed=None,
    dtype=None,
    name="generator",
):
    """Build a U-Net generator mapping input images to output images of the same size.

    Args:
        image_shape: tuple ``(height, width, channels)`` of the output images.
        input_channels: int, channels of the input images (None: the output's).
        width: int, filters of the first encoder block; each block doubles
            them, up to ``8 * width``.
        n_downsamplings: int, stride-2 encoder blocks (as many decoder
            blocks); None: ``unet_depth(image_shape)``. Sides are padded by
            reflection to a multiple of ``2**n_downsamplings`` (see
            ``unet_padding``) and the output is cropped back.
        dropout: float in [0, 1), the dropout rate of the first decoder
            blocks (0.5 in the paper; 0 drops the layers).
        dropout_blocks: int, how many decoder blocks, from the bottleneck,
            have dropout (3 in the paper).
        normalization: ``"instance"``, ``"batch"`` or None (see the module).
        seed: int or None, seed of the dropout layers (layer ``k`` gets
            ``seed + k``), kept in the config.
        dtype: dtype policy of the hidden layers; the output is always float32.
        name: str, model name.

    Returns:
        ``keras.Model`` mapping images ``[batch, h, w, input_channels]`` in
        [-1, 1] to images ``[batch, h, w, channels]`` in [-1, 1].

    Example:
        >>> g = pix2pix_generator((28, 28, 1), width=8)
        >>> g.input_shape, g.output_shape
        ((None, 28, 28, 1), (None, 28, 28, 1))
        >>> pix2pix_generator((32, 48, 3), input_channels=1, width=4, n_downsamplings=3).output_shape
        (None, 32, 48, 3)
    """
    height, side, channels = _check_shape(image_shape, "image_shape")
    input_channels = channels if input_channels is None else _positive(input_channels, "input_channels")
    width = _positive(width, "width")
    depth = unet_depth(image_shape) if n_downsamplings is None else _positive(n_downsamplings, "n_downsamplings")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.number)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}.")
    dropout_blocks = _positive(dropout_blocks, "dropout_blocks", 0)
    normalization = _check_normalization(normalization)
    if seed is not None:
        seed = _positive(seed, "seed", 0)
    padding = unet_padding(image_shape, depth)

    def conv(x, filters, prefix, norm, transpose=False):
        kind = layers.Conv2DTranspose if transpose else layers.Conv2D
        x = kind(
            filters, 4, strides=2, padding="same", use_bias=not norm or normalization is None,
            kernel_initializer=_init(), dtype=dtype, name=f"{prefix}_conv",
        )(x)
        return _normalize(x, normalization, dtype, f"{prefix}_norm") if norm else x

    images = keras.Input((height, side, input_channels), name="images")
    x = images
    if any(p for pair in padding for p in pair):
        x = ReflectionPadding2D(padding, dtype=dtype, name="pad")(x)
    skips = []
    filters = [width * min(2**i, 8) for i in range(depth)]
    for i, f in enumerate(filters):
        x = conv(x, f, f"down{i}", norm=0 < i < depth - 1)
        x = layers.LeakyReLU(0.2, dtype=dtype, name=f"down{i}_lrelu")(x)
        skips.append(x)
    for j in range(depth - 1):
        k = depth - 2 - j  # the encoder block of the resolution this block makes
        x = conv(x, filters[k], f"up{j}", norm=True, transpose=True)
        if dropout and j < dropout_blocks:
            x = layers.Dropout(
                float(dropout), seed=None if seed is None else seed + j, dtype=dtype, name=f"up{j}_dropout"
            )(x)
        x = layers.ReLU(dtype=dtype, name=f"up{j}_relu")(x)
        x = layers.Concatenate(dtype=dtype, name=f"up{j}_skip")([x, skips[k]])
    x = layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", kernel_initializer=_init(), dtype=dtype,
        name="head_conv",
    )(x)
    if any(p for pair in padding for p in pair):
        x = layers.Cropping2D(padding, dtype=dtype, name="crop")(x)
    out = layers.Activation("tanh", dtype="float32", name="translated")(x)
    return keras.Model(images, out, name=name)


def pix2pix_discriminator(
    image_shape=(28, 28, 1),
    input_channels=None,
    width=64,
    n_layers=3,
    normalization="instance",
    spectral_norm=False,
    dtype=None,
    name="discriminator",
):
    """Build a PatchGAN discriminator on (input, output) pairs stacked along the channels.

    It takes ``concat([inputs, images], axis=-1)``: the input image and an
    output image (the real target or a translation), ``input_channels +
    channels`` channels, and scores each overlapping patch (70x70 pixels with
    ``n_layers=3``). ``kg.models.Pix2Pix.pairs`` builds its input.

    Args:
        image_shape: tuple ``(height, width, channels)`` of the output images.
        input_channels: int, channels of the input images (None: the output's).
        width: int, filters of the first convolution; each later layer doubles
            them, up to ``8 * width``.
        n_layers: int, stride-2 convolutions (3: the paper's 70x70 patches).
        normalization: ``"instance"``, ``"batch"`` or None; not in the first
            layer, as in the paper. Dropped with ``spectral_norm``.
        spectral_norm: bool, every convolution a ``kg.networks.SpectralConv2D``
            and no normalization (it would rescale what the spectral norm bounds).
        dtype: dtype policy of the hidden layers; the scores are always float32.
        name: str, model name.

    Returns:
        ``keras.Model`` mapping pairs ``[batch, h, w, input_channels + channels]``
        to float32 scores ``[batch, ceil(h / 2**n_layers), ceil(w / 2**n_layers), 1]``
        (logits: the default loss is the non-saturating cross-entropy).

    Example:
        >>> d = pix2pix_discriminator((28, 28, 1), width=8, n_layers=2)
        >>> d.input_shape, d.output_shape
        ((None, 28, 28, 2), (None, 7, 7, 1))
    """
    height, side, channels = _check_shape(image_shape, "image_shape")
    input_channels = channels if input_channels is None else _positive(input_channels, "input_channels")
    width = _positive(width, "width")
    n_layers = _positive(n_layers, "n_layers")
    normalization = _check_normalization(normalization)
    if not isinstance(spectral_norm, (bool, np.bool_)):
        raise ValueError(f"spectral_norm must be True or False, got {spectral_norm!r}.")
    spectral_norm = bool(spectral_norm)
    if spectral_norm:
        normalization = None
    conv = SpectralConv2D if spectral_norm else layers.Conv2D
    pairs = keras.Input((height, side, input_channels + channels), name="pairs")
    x = conv(
        width, 4, strides=2, padding="same", kernel_initializer=_init(), dtype=dtype,
        name="down0_conv",
    )(pairs)
    x = layers.LeakyReLU(0.2, dtype=dtype, name="down0_lrelu")(x)
    for i in range(1, n_layers + 1):
        # The last of these keeps the resolution, as in the reference.
        strides = 2 if i < n_layers else 1
        prefix = f"down{i}" if i < n_layers else "final"
        x = conv(
            width * min(2**i, 8), 4, strides=strides, padding="same",
            use_bias=normalization is None, kernel_initializer=_init(), dtype=dtype,
            name=f"{prefix}_conv",
        )(x)
        x = _normalize(x, normalization, dtype, f"{prefix}_norm")
        x = layers.LeakyReLU(0.2, dtype=dtype, name=f"{prefix}_lrelu")(x)
    scores = conv(
        1, 4, padding="same", kernel_initializer=_init(), dtype="float32", name="scores"
    )(x)
    return keras.Model(pairs, scores, name=name)
