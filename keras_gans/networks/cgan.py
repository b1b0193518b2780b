"""Class-conditional generator and projection discriminator builders.

Both are the DCGAN networks of ``kg.networks.dcgan_generator`` and
``kg.networks.dcgan_discriminator`` with integer class labels as a second
functional input named ``labels`` (the first is ``z`` or ``images``), so
exports find the inputs by name.

- The generator concatenates a learned label embedding to ``z`` before the
  dense projection (Mirza & Osindero, 2014).
- The discriminator is a projection discriminator (Miyato & Koyama, 2018):
  ``D(x, y) = w . phi(x) + e_y . phi(x)``, where ``phi(x)`` are the flattened
  features feeding the DCGAN logit and ``e_y`` a learned embedding of the
  label. The label enters as an inner product with features the network
  already computes, instead of as extra input channels, which costs no
  convolution filters and conditions the decision at the level where classes
  are separable.
"""

import keras
from keras import layers

from keras_gans.networks.dcgan import dcgan_discriminator, dcgan_generator


def _check_num_classes(num_classes):
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}.")
    return num_classes


def cgan_generator(
    latent_dim=128,
    image_shape=(28, 28, 1),
    num_classes=10,
    width=64,
    embedding_dim=32,
    dtype=None,
    name="generator",
):
    """Build a conditional DCGAN generator: ``[z, labels] -> images``.

    Args:
        latent_dim: int, size of the latent vector ``z``.
        image_shape: tuple ``(height, width, channels)`` of the output images.
        num_classes: int, number of classes; labels are ints in ``[0, num_classes)``.
        width: int, filters of the last upsampling block (see ``dcgan_generator``).
        embedding_dim: int, size of the label embedding concatenated to ``z``.
        dtype: dtype policy for the hidden layers; the output is always float32.
        name: str, model name.

    Returns:
        ``keras.Model`` with inputs ``z`` (float ``[batch, latent_dim]``) and
        ``labels`` (int32 ``[batch]``), output images in [-1, 1].

    Example:
        >>> g = cgan_generator(64, (28, 28, 1), num_classes=10)
        >>> [t.name for t in g.inputs], g.output_shape
        (['z', 'labels'], (None, 28, 28, 1))
    """
    _check_num_classes(num_classes)
    labels = keras.Input((), dtype="int32", name="labels")
    embedded = layers.Embedding(
        num_classes, int(embedding_dim), dtype=dtype, name="label_embedding"
    )(labels)
    return dcgan_generator(
        latent_dim,
        image_shape,
        width=width,
        extra_inputs=((labels, embedded),),
        dtype=dtype,
        name=name,
    )


def cgan_discriminator(
    image_shape=(28, 28, 1),
    num_classes=10,
    width=64,
    normalization="batch",
    dropout=0.0,
    dtype=None,
    name="discriminator",
    spectral_norm=False,
):
    """Build a projection discriminator: ``[images, labels] -> logits``.

    The DCGAN discriminator body computes features ``phi(x)``; the logit is
    its usual linear head plus the inner product of ``phi(x)`` with a learned
    per-class embedding.

    Args:
        image_shape: tuple ``(height, width, channels)`` of the input images.
        num_classes: int, number of classes; labels are ints in ``[0, num_classes)``.
        width: int, filters of the first block (see ``dcgan_discriminator``).
        normalization: ``"batch"``, ``"layer"`` or None.
        dropout: float, dropout rate after each block.
        dtype: dtype policy for hidden layers; the logit is always float32.
        name: str, model name.
        spectral_norm: bool, spectrally normalize the body's convolutions and
            its linear head (see ``dcgan_discriminator``).

    Returns:
        ``keras.Model`` with inputs ``images`` and ``labels`` (int32 ``[batch]``),
        output float32 logits ``[batch, 1]``.

    Example:
        >>> d = cgan_discriminator((28, 28, 1), num_classes=10)
        >>> [t.name for t in d.inputs], d.output_shape
        (['images', 'labels'], (None, 1))
    """
    _check_num_classes(num_classes)
    body = dcgan_discriminator(
        image_shape, width=width, normalization=normalization, dropout=dropout, dtype=dtype,
        spectral_norm=spectral_norm,
    )
    images = body.inputs[0]
    features = body.get_layer("flatten").output
    labels = keras.Input((), dtype="int32", name="labels")
    # Zero init: the network starts as the unconditional DCGAN discriminator
    # and learns how much each class shifts the score.
    class_vectors = layers.Embedding(
        num_classes,
        features.shape[-1],
        embeddings_initializer="zeros",
        dtype=dtype,
        name="label_projection",
    )(labels)
    projection = layers.Dot(axes=1, dtype=dtype, name="projection")([features, class_vectors])
    logits = layers.Add(dtype="float32", name="conditional_logits")([body.outputs[0], projection])
    return keras.Model([images, labels], logits, name=name)
