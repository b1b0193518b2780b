"""DCGAN generator and discriminator builders (Radford et al., 2016).

Both builders return functional ``keras.Model`` objects, so they serialize in a
``.keras`` file and export without Python code. Square images whose side is
``s * 2**k`` with ``s`` in 4..7 are supported (28x28, 32x32, 64x64, ...).

Default networks (``width=64``, ``latent_dim=128``), parameter counts printed by
``python -c "import keras_gans as kg; print(kg.networks.dcgan_generator(128, (28, 28, 1)).count_params())"``
(and ``dcgan_discriminator`` likewise):

================  ===========  ===============
image shape       generator    discriminator
================  ===========  ===============
28x28x1           2,133,505    138,945
32x32x3           3,679,747    664,129
64x64x3           13,121,027   2,767,425
================  ===========  ===============
"""

import keras
from keras import layers

from keras_gans.networks.layers import BatchNormalization
from keras_gans.networks.spectral_norm import SpectralConv2D, SpectralDense


def upsampling_plan(image_shape):
    """Return ``(start_size, num_upsamplings)`` for a square image shape.

    Args:
        image_shape: tuple ``(height, width, channels)``.

    Returns:
        Tuple of ints: the side of the first feature map and how many
        stride-2 upsamplings reach ``height``.

    Example:
        >>> upsampling_plan((28, 28, 1))
        (7, 2)
    """
    if len(image_shape) != 3:
        raise ValueError(
            f"image_shape must be (height, width, channels), got {tuple(image_shape)}."
        )
    height, width, channels = (int(s) for s in image_shape)
    if height != width:
        raise ValueError(
            f"DCGAN networks need square images, got {height}x{width}: resize or crop the data."
        )
    if channels not in (1, 3, 4):
        raise ValueError(f"image channels must be 1, 3 or 4, got {channels}.")
    start, ups = height, 0
    while start % 2 == 0 and start > 7:
        start //= 2
        ups += 1
    if ups == 0 or start < 3:
        raise ValueError(
            f"image side {height} is not s * 2**k with s in 3..7 and k >= 1 "
            "(28, 32 and 64 are): resize the data."
        )
    return start, ups


def _norm(kind, dtype, name):
    if kind == "batch":
        return BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype, name=name)
    if kind == "layer":
        # Layer norm as in WGAN-GP (Ba et al.): statistics over all of C, H, W
        # of each example, a learned scale and offset per channel. One group
        # is exactly that; LayerNormalization(axis=-1) would normalize each
        # pixel's channel vector on its own. Computed in float32 under mixed
        # precision.
        return layers.GroupNormalization(groups=1, epsilon=1e-5, dtype=dtype, name=name)
    if kind in (None, "none"):
        return None
    raise ValueError(f"normalization must be 'batch', 'layer' or None, got {kind!r}.")


def dcgan_generator(
    latent_dim=128,
    image_shape=(28, 28, 1),
    width=64,
    extra_inputs=(),
    dtype=None,
    name="generator",
):
    """Build a DCGAN generator: dense projection, stride-2 transposed convs, tanh.

    Args:
        latent_dim: int, size of the latent vector ``z``.
        image_shape: tuple ``(height, width, channels)`` of the output images.
        width: int, filters of the last upsampling block; earlier blocks double it.
        extra_inputs: tuple of ``(keras.Input, tensor)`` pairs whose tensors are
            concatenated to ``z`` (conditional GANs feed label embeddings here).
        dtype: dtype policy for the hidden layers (``"mixed_bfloat16"``...). The
            output layer is always float32.
        name: str, model name.

    Returns:
        ``keras.Model`` mapping ``z`` (and any extra inputs) to images in [-1, 1].

    Example:
        >>> g = dcgan_generator(128, (28, 28, 1))
        >>> g.output_shape
        (None, 28, 28, 1)
    """
    start, ups = upsampling_plan(image_shape)
    channels = image_shape[-1]
    z = keras.Input((latent_dim,), name="z")
    x = z
    if extra_inputs:
        x = layers.Concatenate(dtype=dtype, name="condition")([z] + [t for _, t in extra_inputs])
    filters = width * 2**ups
    x = layers.Dense(start * start * filters, use_bias=False, dtype=dtype, name="project")(x)
    x = layers.Reshape((start, start, filters), dtype=dtype, name="reshape")(x)
    x = _norm("batch", dtype, "project_bn")(x)
    x = layers.ReLU(dtype=dtype, name="project_relu")(x)
    for i in range(ups - 1):
        filters //= 2
        x = layers.Conv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=False, dtype=dtype, name=f"up{i}"
        )(x)
        x = _norm("batch", dtype, f"up{i}_bn")(x)
        x = layers.ReLU(dtype=dtype, name=f"up{i}_relu")(x)
    x = layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", dtype=dtype, name=f"up{ups - 1}"
    )(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    inputs = [z] + [inp for inp, _ in extra_inputs] if extra_inputs else z
    return keras.Model(inputs, images, name=name)


def dcgan_discriminator(
    image_shape=(28, 28, 1),
    width=64,
    normalization="batch",
    dropout=0.0,
    extra_inputs=(),
    dtype=None,
    name="discriminator",
    spectral_norm=False,
):
    """Build a DCGAN discriminator: stride-2 convs with LeakyReLU, one logit out.

    Args:
        image_shape: tuple ``(height, width, channels)`` of the input images.
        width: int, filters of the first block; later blocks double it.
        normalization: ``"batch"`` (DCGAN), ``"layer"`` or None (WGAN-GP critics
            must not use batch norm). ``"layer"`` normalizes each example over
            all its features (H, W and C together, ``GroupNormalization(groups=1)``)
            with a per-channel scale and offset, the layer norm of the WGAN-GP
            paper. The first block is never normalized.
        dropout: float, dropout rate after each block.
        extra_inputs: tuple of ``(keras.Input, tensor)`` pairs; each tensor
            ``[batch, h, w, c]`` is concatenated to the images as extra channels.
        dtype: dtype policy for hidden layers; the logit is always float32.
        name: str, model name.
        spectral_norm: bool, spectrally normalize every convolution and the
            logit layer (``kg.networks.SpectralConv2D`` / ``SpectralDense``;
            the GAN moves their power iteration once per update).

    Returns:
        ``keras.Model`` mapping images to logits ``[batch, 1]`` (float32).

    Example:
        >>> d = dcgan_discriminator((28, 28, 1))
        >>> d.output_shape
        (None, 1)
    """
    _, downs = upsampling_plan(image_shape)
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    if extra_inputs:
        x = layers.Concatenate(dtype=dtype, name="condition")(
            [images] + [t for _, t in extra_inputs]
        )
    conv = SpectralConv2D if spectral_norm else layers.Conv2D
    filters = width
    for i in range(downs):
        x = conv(
            filters, 4, strides=2, padding="same", use_bias=(i == 0 or normalization is None),
            dtype=dtype, name=f"down{i}",
        )(x)
        norm = _norm(normalization, dtype, f"down{i}_norm") if i > 0 else None
        if norm is not None:
            x = norm(x)
        x = layers.LeakyReLU(0.2, dtype=dtype, name=f"down{i}_lrelu")(x)
        if dropout:
            x = layers.Dropout(dropout, dtype=dtype, name=f"down{i}_dropout")(x)
        filters *= 2
    x = layers.Flatten(dtype=dtype, name="flatten")(x)
    dense = SpectralDense if spectral_norm else layers.Dense
    logits = dense(1, dtype="float32", name="logits")(x)
    inputs = [images] + [inp for inp, _ in extra_inputs] if extra_inputs else images
    return keras.Model(inputs, logits, name=name)
