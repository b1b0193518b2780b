"""VAE-GAN encoder and discriminator builders (Larsen et al., 2016).

The decoder of a VAE-GAN is a generator (``kg.networks.dcgan_generator``);
this module adds the two other networks, both functional ``keras.Model``
objects for the square images of side ``s * 2**k`` that the DCGAN networks
support (28x28, 32x32, 64x64...):

- ``vaegan_encoder``: stride-2 5x5 convolutions with batch norm and ReLU (the
  paper's encoder), then two dense heads: the mean and the log-variance of
  the Gaussian posterior ``q(z | x)``.
- ``vaegan_discriminator``: stride-2 5x5 convolutions with LeakyReLU, whose
  last block's activation is the layer named ``"features"`` (``Dis_l``, in
  which reconstructions are measured), then a hidden dense layer and one
  logit, as in the paper.

Default networks (``width=64``, ``latent_dim=128``), parameter counts printed by
``python -c "import keras_gans as kg; print(kg.networks.vaegan_encoder((28, 28, 1), 128).count_params())"``
(and ``vaegan_discriminator`` likewise; the decoder is ``dcgan_generator``):

================  =========  =============
image shape       encoder    discriminator
================  =========  =============
28x28x1           1,813,056  3,419,009
64x64x3           6,406,848  8,502,785
================  =========  =============
"""

import keras
from keras import layers

from keras_gans.networks.dcgan import _norm, upsampling_plan
from keras_gans.networks.spectral_norm import SpectralConv2D, SpectralDense


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}.")
    return value


def vaegan_encoder(image_shape=(28, 28, 1), latent_dim=128, width=64, dtype=None, name="encoder"):
    """Build a VAE-GAN encoder: images to the mean and log-variance of ``q(z | x)``.

    One stride-2 5x5 convolution per upsampling of the matching DCGAN
    generator (two for 28x28), with ``width``, ``2 * width``... filters, each
    followed by batch norm and ReLU; then the flattened features feed two
    dense layers of ``latent_dim`` units, ``mean`` and ``log_var`` (float32
    under any dtype policy). The paper's encoder has a 2048-unit dense layer
    before the heads; it is left out here, where it would be most of the
    parameters.

    Args:
        image_shape: tuple ``(height, width, channels)`` of the input images.
        latent_dim: int, size of ``z``.
        width: int, filters of the first block; later blocks double it.
        dtype: dtype policy of the hidden layers (``"mixed_bfloat16"``...).
        name: str, model name.

    Returns:
        ``keras.Model`` mapping images ``[batch, h, w, c]`` to
        ``[mean, log_var]``, each ``[batch, latent_dim]`` float32.

    Example:
        >>> e = vaegan_encoder((28, 28, 1), latent_dim=16, width=8)
        >>> [tuple(t.shape) for t in e.outputs]
        [(None, 16), (None, 16)]
    """
    _, downs = upsampling_plan(image_shape)
    _positive_int(latent_dim, "latent_dim")
    _positive_int(width, "width")
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    filters = width
    for i in range(downs):
        x = layers.Conv2D(
            filters, 5, strides=2, padding="same", use_bias=False, dtype=dtype, name=f"down{i}"
        )(x)
        x = _norm("batch", dtype, f"down{i}_bn")(x)
        x = layers.ReLU(dtype=dtype, name=f"down{i}_relu")(x)
        filters *= 2
    x = layers.Flatten(dtype=dtype, name="flatten")(x)
    mean = layers.Dense(latent_dim, dtype="float32", name="mean")(x)
    log_var = layers.Dense(latent_dim, dtype="float32", name="log_var")(x)
    return keras.Model(images, [mean, log_var], name=name)


def vaegan_discriminator(
    image_shape=(28, 28, 1),
    width=64,
    normalization="layer",
    dense_units=None,
    dtype=None,
    name="discriminator",
    spectral_norm=False,
):
    """Build a VAE-GAN discriminator with a named feature layer ``"features"``.

    Stride-2 5x5 convolutions (one per upsampling of the matching DCGAN
    generator) with ``width``, ``2 * width``... filters and LeakyReLU(0.2),
    the first block without normalization; the activation of the last block
    is the layer ``"features"`` (the paper's ``Dis_l``). Then a dense layer of
    ``dense_units`` with LeakyReLU and one logit, so the decision is not a
    linear function of the features the reconstructions are measured in.

    The default ``normalization="layer"`` normalizes each example on its own:
    a VAE-GAN scores real images, reconstructions and prior samples in one
    call, and layer norm keeps one kind's statistics out of the others'
    scores and features (batch norm would mix them).

    Args:
        image_shape: tuple ``(height, width, channels)`` of the input images.
        width: int, filters of the first block; later blocks double it.
        normalization: ``"layer"`` (default), ``"batch"`` (the paper) or None.
        dense_units: int or None, units of the hidden dense layer
            (None: ``8 * width``, the paper's 512 at width 64).
        dtype: dtype policy of the hidden layers; the logit is float32.
        name: str, model name.
        spectral_norm: bool, spectrally normalize every convolution and dense
            layer (``kg.networks.SpectralConv2D`` / ``SpectralDense``); use it
            with ``normalization=None``.

    Returns:
        ``keras.Model`` mapping images to logits ``[batch, 1]`` (float32); its
        layer ``"features"`` outputs ``[batch, h / 2**k, w / 2**k, c]``.

    Example:
        >>> d = vaegan_discriminator((28, 28, 1), width=8)
        >>> d.output_shape, d.get_layer("features").output.shape
        ((None, 1), (None, 7, 7, 16))
    """
    _, downs = upsampling_plan(image_shape)
    _positive_int(width, "width")
    dense_units = 8 * width if dense_units is None else _positive_int(dense_units, "dense_units")
    conv = SpectralConv2D if spectral_norm else layers.Conv2D
    dense = SpectralDense if spectral_norm else layers.Dense
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    filters = width
    for i in range(downs):
        norm = _norm(normalization, dtype, f"down{i}_norm") if i > 0 else None
        x = conv(
            filters, 5, strides=2, padding="same", use_bias=norm is None, dtype=dtype, name=f"down{i}"
        )(x)
        if norm is not None:
            x = norm(x)
        last = i == downs - 1
        x = layers.LeakyReLU(0.2, dtype=dtype, name="features" if last else f"down{i}_lrelu")(x)
        filters *= 2
    x = layers.Flatten(dtype=dtype, name="flatten")(x)
    x = dense(dense_units, dtype=dtype, name="hidden")(x)
    x = layers.LeakyReLU(0.2, dtype=dtype, name="hidden_lrelu")(x)
    logits = dense(1, dtype="float32", name="logits")(x)
    return keras.Model(images, logits, name=name)
