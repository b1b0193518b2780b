"""CycleGAN networks: a ResNet generator and a PatchGAN discriminator.

The generator follows Johnson et al. (2016) as used by CycleGAN (Zhu et al.,
2017): a 7x7 convolution, ``n_downsamplings`` stride-2 convolutions,
``n_blocks`` residual blocks, as many stride-2 transposed convolutions, and a
7x7 convolution to ``tanh`` images, with reflection padding and instance
normalization throughout. The discriminator is the PatchGAN of Isola et al.
(2017): it scores overlapping patches (70x70 pixels with ``n_layers=3``) and
returns a map of raw scores, one per patch. With ``spectral_norm=True`` every
convolution of the discriminator is a ``kg.networks.SpectralConv2D`` and the
instance normalization is dropped (as SN-GAN drops batch norm): dividing each
channel by its standard deviation would rescale what the spectral
normalization bounds.

Differences from the reference code, none of which changes what the networks
can compute: convolutions followed by instance normalization have no bias
(the normalization subtracts it again), and stride-2 layers use Keras
``"same"`` padding. Weights start from N(0, 0.02) as in the reference.

Parameter counts (``count_params()``), 28x28x1 images (the same at 32x32x1:
the counts depend only on the channels):

=====  ========  ================  ==========  ==============  ==============
width  n_blocks  n_downsamplings   generator   n_layers        discriminator
=====  ========  ================  ==========  ==============  ==============
32     6         2                 1,956,929   3               692,769
64     9         2                 11,360,385  3               2,761,793
8      2         2                 49,169      2               10,889
=====  ========  ================  ==========  ==============  ==============

(64 / 9 blocks / 3 layers is the paper's setting for 256x256 images; at
256x256x3 its generator has 11,372,931 parameters and its discriminator
2,763,841.)
"""

import keras
import numpy as np
from keras import layers

from keras_gans.networks.layers import InstanceNormalization, ReflectionPadding2D
from keras_gans.networks.spectral_norm import SpectralConv2D


def _init():
    # The reference initializes every convolution from N(0, 0.02).
    return keras.initializers.RandomNormal(stddev=0.02)


def _check_image_shape(image_shape):
    if len(tuple(image_shape)) != 3:
        raise ValueError(
            f"image_shape must be (height, width, channels), got {tuple(image_shape)}."
        )
    height, width, channels = (int(s) for s in image_shape)
    if min(height, width, channels) < 1:
        raise ValueError(f"image_shape must be positive, got {tuple(image_shape)}.")
    return height, width, channels


def _positive(value, what, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}.")
    return value


def cyclegan_generator(
    image_shape=(28, 28, 1),
    width=32,
    n_blocks=6,
    n_downsamplings=2,
    dtype=None,
    name="generator",
):
    """Build a CycleGAN ResNet generator mapping images to images of the same shape.

    Args:
        image_shape: tuple ``(height, width, channels)`` of input and output
            images; height and width must be divisible by ``2**n_downsamplings``.
        width: int, filters of the first convolution; each downsampling
            doubles them.
        n_blocks: int, residual blocks at the lowest resolution (6 for
            128x128 and 9 for 256x256 in the paper).
        n_downsamplings: int, stride-2 convolutions (and as many upsamplings).
        dtype: dtype policy of the hidden layers (``"mixed_bfloat16"``...); the
            output layer is always float32.
        name: str, model name.

    Returns:
        ``keras.Model`` mapping images in [-1, 1] to images in [-1, 1].

    Example:
        >>> g = cyclegan_generator((28, 28, 1), width=8, n_blocks=2)
        >>> g.output_shape
        (None, 28, 28, 1)
    """
    height, side, channels = _check_image_shape(image_shape)
    _positive(width, "width")
    _positive(n_blocks, "n_blocks", 0)
    _positive(n_downsamplings, "n_downsamplings", 0)
    factor = 2**n_downsamplings
    if height % factor or side % factor:
        raise ValueError(
            f"image side {height}x{side} is not divisible by 2**n_downsamplings = {factor}: "
            "resize the images or use fewer n_downsamplings."
        )

    def conv(x, filters, kernel, prefix, strides=1, padding="valid"):
        x = layers.Conv2D(
            filters, kernel, strides=strides, padding=padding, use_bias=False,
            kernel_initializer=_init(), dtype=dtype, name=f"{prefix}_conv",
        )(x)
        return InstanceNormalization(dtype=dtype, name=f"{prefix}_norm")(x)

    images = keras.Input(tuple(image_shape), name="images")
    x = ReflectionPadding2D(3, dtype=dtype, name="stem_pad")(images)
    x = conv(x, width, 7, "stem")
    x = layers.ReLU(dtype=dtype, name="stem_relu")(x)
    filters = width
    for i in range(n_downsamplings):
        filters *= 2
        x = conv(x, filters, 3, f"down{i}", strides=2, padding="same")
        x = layers.ReLU(dtype=dtype, name=f"down{i}_relu")(x)
    for i in range(n_blocks):
        y = ReflectionPadding2D(1, dtype=dtype, name=f"block{i}_pad1")(x)
        y = conv(y, filters, 3, f"block{i}_1")
        y = layers.ReLU(dtype=dtype, name=f"block{i}_relu")(y)
        y = ReflectionPadding2D(1, dtype=dtype, name=f"block{i}_pad2")(y)
        y = conv(y, filters, 3, f"block{i}_2")
        x = layers.Add(dtype=dtype, name=f"block{i}_add")([x, y])
    for i in range(n_downsamplings):
        filters //= 2
        x = layers.Conv2DTranspose(
            filters, 3, strides=2, padding="same", use_bias=False,
            kernel_initializer=_init(), dtype=dtype, name=f"up{i}_conv",
        )(x)
        x = InstanceNormalization(dtype=dtype, name=f"up{i}_norm")(x)
        x = layers.ReLU(dtype=dtype, name=f"up{i}_relu")(x)
    x = ReflectionPadding2D(3, dtype=dtype, name="head_pad")(x)
    x = layers.Conv2D(
        channels, 7, kernel_initializer=_init(), dtype=dtype, name="head_conv"
    )(x)
    out = layers.Activation("tanh", dtype="float32", name="translated")(x)
    return keras.Model(images, out, name=name)


def cyclegan_discriminator(
    image_shape=(28, 28, 1),
    width=32,
    n_layers=3,
    dtype=None,
    name="discriminator",
    spectral_norm=False,
):
    """Build a PatchGAN discriminator: one raw score per overlapping image patch.

    Args:
        image_shape: tuple ``(height, width, channels)`` of the input images.
        width: int, filters of the first convolution; each later layer doubles
            them, up to ``8 * width``.
        n_layers: int, stride-2 convolutions. 3 gives the paper's 70x70
            patches; each layer less roughly halves the patch size.
        dtype: dtype policy of the hidden layers; the scores are always float32.
        name: str, model name.
        spectral_norm: bool, spectrally normalize every convolution
            (``kg.networks.SpectralConv2D``; the GAN moves their power
            iteration once per update) and drop the instance normalization,
            whose convolutions then get a bias.

    Returns:
        ``keras.Model`` mapping images to float32 scores
        ``[batch, ceil(h / 2**n_layers), ceil(w / 2**n_layers), 1]`` (use a
        least-squares loss: the scores are not probabilities).

    Example:
        >>> d = cyclegan_discriminator((28, 28, 1), width=8, n_layers=2)
        >>> d.output_shape
        (None, 7, 7, 1)
        >>> sn = cyclegan_discriminator((28, 28, 1), width=8, n_layers=2, spectral_norm=True)
        >>> sorted({type(layer).__name__ for layer in sn.layers} & {"SpectralConv2D", "InstanceNormalization"})
        ['SpectralConv2D']
    """
    _check_image_shape(image_shape)
    _positive(width, "width")
    _positive(n_layers, "n_layers")
    if not isinstance(spectral_norm, (bool, np.bool_)):
        raise ValueError(f"spectral_norm must be True or False, got {spectral_norm!r}.")
    spectral_norm = bool(spectral_norm)
    conv = SpectralConv2D if spectral_norm else layers.Conv2D
    images = keras.Input(tuple(image_shape), name="images")
    x = conv(
        width, 4, strides=2, padding="same", kernel_initializer=_init(), dtype=dtype,
        name="down0_conv",
    )(images)
    x = layers.LeakyReLU(0.2, dtype=dtype, name="down0_lrelu")(x)
    for i in range(1, n_layers + 1):
        # The last of these keeps the resolution, as in the reference.
        strides = 2 if i < n_layers else 1
        prefix = f"down{i}" if i < n_layers else "final"
        x = conv(
            width * min(2**i, 8), 4, strides=strides, padding="same", use_bias=spectral_norm,
            kernel_initializer=_init(), dtype=dtype, name=f"{prefix}_conv",
        )(x)
        if not spectral_norm:
            x = InstanceNormalization(dtype=dtype, name=f"{prefix}_norm")(x)
        x = layers.LeakyReLU(0.2, dtype=dtype, name=f"{prefix}_lrelu")(x)
    scores = conv(
        1, 4, padding="same", kernel_initializer=_init(), dtype="float32", name="scores"
    )(x)
    return keras.Model(images, scores, name=name)
