"""BigGAN generator and projection discriminator builders (Brock et al., 2019).

Both networks take integer class labels as a second functional input named
``labels`` (the first is ``z`` or ``images``), as the conditional DCGAN
networks do, so the GAN, its exports and the CLI treat them alike.

Generator ``[z, labels] -> images``:

- a shared class embedding ``e_y`` (one ``Embedding`` for the whole network);
- hierarchical latents: ``z`` is split into ``num_blocks + 1`` chunks
  (``latent_chunks``); the first feeds the dense projection to the start
  feature map, chunk ``i + 1`` is concatenated with ``e_y`` into the vector
  ``c_i`` that conditions up block ``i``;
- residual up blocks: ``CBN -> ReLU -> nearest 2x -> conv3x3 -> CBN -> ReLU ->
  conv3x3``, plus a nearest-2x, conv1x1 shortcut (the first conv3x3 has no
  bias: the batch norm after it would cancel it);
- class-conditional batch norm (CBN): batch norm without its own scale and
  offset, then ``x * (1 + W_g c_i) + W_b c_i`` with linear ``W_g``, ``W_b``;
- one self-attention block (SAGAN: ``x + gamma * o``, ``gamma`` starting at 0)
  after the up block whose output has side ``attention_resolution``;
- batch norm, ReLU, conv3x3 and tanh out (float32).

Discriminator ``[images, labels] -> logits``:

- residual down blocks (the first without pre-activation, as in BigGAN), one
  per up block of the generator, then one block at the smallest side;
- the same self-attention block after the down block whose output has side
  ``attention_resolution``;
- ReLU, global sum pooling to features ``h``;
- projection (Miyato & Koyama, 2018): ``D(x, y) = w . h + b + e'_y . h`` with
  a per-class embedding ``e'_y``, here a spectrally normalized ``[num_classes,
  C]`` matrix applied to one-hot labels (BigGAN's spectrally normalized
  embedding).

With ``spectral_norm=True`` (BigGAN) every convolution and dense layer of both
networks, CBN's linears and the projection included, is a
``kg.networks.SpectralConv2D`` / ``SpectralDense``; the generator's shared
embedding is not (BigGAN's is a plain embedding). Every block has ``width``
channels: BigGAN's 32x32 architecture is ``width=256`` (4 x its ``ch`` of 64);
its ImageNet architectures, which narrow the blocks as the side grows, are
not modelled. Kernels start orthogonal, as in BigGAN.

Spatial plan (``biggan_plan``): the side must be ``s * 2**k`` with ``s`` in
3..7 and ``k >= 1``, and the generator starts at ``s``: 28x28 starts at 7x7
(two up blocks, 7 -> 14 -> 28), 32x32 at 4x4 (three: 4 -> 8 -> 16 -> 32),
64x64 at 4x4 (four).
"""

import keras
import numpy as np
from keras import layers, ops

from keras_gans.networks.layers import BatchNormalization
from keras_gans.networks.spectral_norm import SpectralConv2D, SpectralDense

_KERNEL_INIT = "orthogonal"


def biggan_plan(image_shape):
    """Return ``(start_size, num_blocks)`` of the networks for a square image shape.

    Args:
        image_shape: tuple ``(height, width, channels)``.

    Returns:
        ``(s, k)``: the generator starts at ``s x s`` and has ``k`` up blocks
        (the discriminator ``k`` down blocks).

    Example:
        >>> biggan_plan((28, 28, 1)), biggan_plan((32, 32, 3))
        ((7, 2), (4, 3))
    """
    if len(tuple(image_shape)) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {tuple(image_shape)}.")
    height, width, channels = (int(s) for s in image_shape)
    if height != width:
        raise ValueError(f"BigGAN networks need square images, got {height}x{width}: resize or crop the data.")
    if channels not in (1, 3, 4):
        raise ValueError(f"image channels must be 1, 3 or 4, got {channels}.")
    start, blocks = height, 0
    while start % 2 == 0 and start > 7:
        start //= 2
        blocks += 1
    if blocks == 0 or not 3 <= start <= 7:
        raise ValueError(
            f"image side {height} is not s * 2**k with s in 3..7 and k >= 1 (28, 32 and 64 are): "
            "resize the data."
        )
    return start, blocks


def attention_resolutions(image_shape):
    """The sides at which both networks can hold their self-attention block.

    The generator's up blocks end at ``2s, 4s, ..., height``, the
    discriminator's down blocks at ``height / 2, ..., s``; both have the
    sides from ``2s`` to ``height / 2``.

    Example:
        >>> attention_resolutions((28, 28, 1)), attention_resolutions((32, 32, 3))
        ([14], [8, 16])
    """
    start, blocks = biggan_plan(image_shape)
    return [start * 2**i for i in range(1, blocks)]


def latent_chunks(latent_dim, num_blocks):
    """Sizes of the ``num_blocks + 1`` chunks ``z`` is split into (``np.array_split``'s).

    The first chunk feeds the dense projection, chunk ``i + 1`` up block
    ``i``. BigGAN splits ``z`` into equal chunks (dropping a remainder); here
    the sizes differ by at most one, the earlier chunks the larger, so every
    ``latent_dim >= num_blocks + 1`` uses all of ``z``.

    Example:
        >>> latent_chunks(128, 2), latent_chunks(120, 2)
        ([43, 43, 42], [40, 40, 40])
    """
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) or latent_dim < num_blocks + 1:
        raise ValueError(
            f"latent_dim must be an int >= {num_blocks + 1} (one chunk of z for the projection and one "
            f"per up block), got {latent_dim!r}."
        )
    return [len(c) for c in np.array_split(np.arange(int(latent_dim)), num_blocks + 1)]


@keras.saving.register_keras_serializable(package="keras_gans")
class SplitLatents(layers.Layer):
    """Split ``z [batch, sum(sizes)]`` into consecutive chunks ``[batch, size]`` (a list).

    Args:
        sizes: list of ints, the chunk sizes in order.

    Example:
        >>> [tuple(t.shape) for t in SplitLatents([2, 3])(np.zeros((4, 5), "float32"))]
        [(4, 2), (4, 3)]
    """

    def __init__(self, sizes, **kwargs):
        super().__init__(**kwargs)
        self.sizes = [int(s) for s in sizes]

    def call(self, z):
        out, start = [], 0
        for size in self.sizes:
            out.append(z[:, start : start + size])
            start += size
        return out

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], size) for size in self.sizes]

    def get_config(self):
        return {**super().get_config(), "sizes": self.sizes}


@keras.saving.register_keras_serializable(package="keras_gans")
class AttentionGain(layers.Layer):
    """Multiply by one learned scalar ``gamma`` (starts at 0): SAGAN's ``gamma * o``.

    Example:
        >>> float(np.abs(AttentionGain()(np.ones((1, 2, 2, 3), "float32"))).max())
        0.0
    """

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def call(self, x):
        return x * ops.cast(self.gamma, x.dtype)


#: Layers of these networks that are not Keras built-ins but act on each
#: example alone (a discriminator made of them may score real and fake images
#: in one call; see ``kg.models.BigGAN.fuses_discriminator``).
PER_EXAMPLE_LAYERS = (SplitLatents, AttentionGain, layers.CategoryEncoding)


def _layers(spectral_norm):
    if spectral_norm:
        return SpectralConv2D, SpectralDense
    return layers.Conv2D, layers.Dense


def _conv(spectral_norm, filters, size, dtype, name, use_bias=True):
    conv, _ = _layers(spectral_norm)
    return conv(
        filters, size, padding="same", use_bias=use_bias, kernel_initializer=_KERNEL_INIT,
        dtype=dtype, name=name,
    )


def self_attention(x, spectral_norm, dtype, name):
    """SAGAN's self-attention block on ``x [batch, h, w, c]``: ``x + gamma * o``.

    ``theta``, ``phi`` and ``g`` are 1x1 convolutions to ``c / 8``, ``c / 8``
    and ``c / 2`` channels (at least 1); ``phi`` and ``g`` are max-pooled 2x2,
    so each of the ``h * w`` positions attends over ``h * w / 4`` pooled ones;
    ``o`` is a 1x1 convolution back to ``c`` channels of the attended ``g``.
    """
    height, width, channels = (int(s) for s in x.shape[1:])
    key_channels, value_channels = max(1, channels // 8), max(1, channels // 2)

    def conv1x1(filters, part):
        return _conv(spectral_norm, filters, 1, dtype, f"{name}_{part}", use_bias=False)

    theta = conv1x1(key_channels, "theta")(x)
    theta = layers.Reshape((height * width, key_channels), dtype=dtype, name=f"{name}_theta_flat")(theta)
    pooled = (height // 2) * (width // 2)
    phi = layers.MaxPooling2D(2, dtype=dtype, name=f"{name}_phi_pool")(conv1x1(key_channels, "phi")(x))
    phi = layers.Reshape((pooled, key_channels), dtype=dtype, name=f"{name}_phi_flat")(phi)
    g = layers.MaxPooling2D(2, dtype=dtype, name=f"{name}_g_pool")(conv1x1(value_channels, "g")(x))
    g = layers.Reshape((pooled, value_channels), dtype=dtype, name=f"{name}_g_flat")(g)
    scores = layers.Dot(axes=2, dtype=dtype, name=f"{name}_scores")([theta, phi])
    beta = layers.Softmax(axis=-1, dtype=dtype, name=f"{name}_softmax")(scores)
    attended = layers.Dot(axes=(2, 1), dtype=dtype, name=f"{name}_attend")([beta, g])
    attended = layers.Reshape((height, width, value_channels), dtype=dtype, name=f"{name}_attend_map")(attended)
    o = conv1x1(channels, "o")(attended)
    o = AttentionGain(dtype=dtype, name=f"{name}_gamma")(o)
    return layers.Add(dtype=dtype, name=name)([x, o])


def _conditional_bn(x, condition, spectral_norm, dtype, name):
    """Batch norm without affine terms, then ``x * (1 + W_g c) + W_b c`` (BigGAN's ccbn)."""
    _, dense = _layers(spectral_norm)
    channels = int(x.shape[-1])
    x = BatchNormalization(
        center=False, scale=False, momentum=0.9, epsilon=1e-5, dtype=dtype, name=f"{name}_bn"
    )(x)
    gain = dense(channels, use_bias=False, kernel_initializer=_KERNEL_INIT, dtype=dtype, name=f"{name}_gain")(condition)
    gain = layers.Rescaling(1.0, offset=1.0, dtype=dtype, name=f"{name}_one_plus_gain")(gain)
    bias = dense(channels, use_bias=False, kernel_initializer=_KERNEL_INIT, dtype=dtype, name=f"{name}_bias")(condition)
    gain = layers.Reshape((1, 1, channels), dtype=dtype, name=f"{name}_gain_map")(gain)
    bias = layers.Reshape((1, 1, channels), dtype=dtype, name=f"{name}_bias_map")(bias)
    x = layers.Multiply(dtype=dtype, name=f"{name}_scale")([x, gain])
    return layers.Add(dtype=dtype, name=f"{name}_shift")([x, bias])


def _check_common(num_classes, width, attention_resolution, image_shape):
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}.")
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}.")
    return resolve_attention(attention_resolution, image_shape)


def resolve_attention(attention_resolution, image_shape):
    """The side of the self-attention blocks: None is half the image side, 0 none.

    None gives 0 where half the side is not one of ``attention_resolutions``
    (a generator with a single up block).

    Raises:
        ValueError: for a side where the networks have no block to follow.

    Example:
        >>> resolve_attention(None, (32, 32, 3)), resolve_attention(8, (32, 32, 3))
        (16, 8)
    """
    allowed = attention_resolutions(image_shape)
    if attention_resolution is None:
        half = int(image_shape[0]) // 2
        return half if half in allowed else 0
    if (
        isinstance(attention_resolution, bool)
        or not isinstance(attention_resolution, (int, np.integer))
        or (attention_resolution != 0 and attention_resolution not in allowed)
    ):
        raise ValueError(
            f"attention_resolution must be None (half the image side), 0 (no attention) or one of "
            f"{allowed} for {tuple(int(s) for s in image_shape)} images, got {attention_resolution!r}."
        )
    return int(attention_resolution)


def biggan_generator(
    latent_dim=128,
    image_shape=(28, 28, 1),
    num_classes=10,
    width=64,
    embedding_dim=128,
    attention_resolution=None,
    spectral_norm=True,
    dtype=None,
    name="generator",
):
    """Build a BigGAN generator: ``[z, labels] -> images`` (see the module docstring).

    Args:
        latent_dim: int, size of ``z`` (split as ``latent_chunks(latent_dim, num_blocks)``).
        image_shape: tuple ``(height, width, channels)`` of the output images.
        num_classes: int, number of classes; labels are ints in ``[0, num_classes)``.
        width: int, channels of every block.
        embedding_dim: int, size of the shared class embedding.
        attention_resolution: None (half the image side), 0 (no attention)
            or the side after whose up block the self-attention block sits.
        spectral_norm: bool, spectrally normalize every convolution and dense layer.
        dtype: dtype policy for the hidden layers; the output is always float32.
        name: str, model name.

    Returns:
        ``keras.Model`` with inputs ``z`` (float ``[batch, latent_dim]``) and
        ``labels`` (int32 ``[batch]``), output images in [-1, 1].

    Example:
        >>> g = biggan_generator(32, (28, 28, 1), num_classes=10, width=16, embedding_dim=8)
        >>> [t.name for t in g.inputs], g.output_shape
        (['z', 'labels'], (None, 28, 28, 1))
    """
    attention = _check_common(num_classes, width, attention_resolution, image_shape)
    if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, (int, np.integer)) or embedding_dim < 1:
        raise ValueError(f"embedding_dim must be a positive int, got {embedding_dim!r}.")
    start, blocks = biggan_plan(image_shape)
    sizes = latent_chunks(latent_dim, blocks)
    width, channels = int(width), int(image_shape[-1])
    _, dense = _layers(spectral_norm)

    z = keras.Input((int(latent_dim),), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    shared = layers.Embedding(
        int(num_classes), int(embedding_dim), embeddings_initializer=_KERNEL_INIT, dtype=dtype,
        name="shared_embedding",
    )(labels)
    chunks = SplitLatents(sizes, dtype=dtype, name="split_z")(z)
    x = dense(start * start * width, kernel_initializer=_KERNEL_INIT, dtype=dtype, name="project")(chunks[0])
    x = layers.Reshape((start, start, width), dtype=dtype, name="project_map")(x)
    side = start
    for i in range(blocks):
        block = f"up{i}"
        condition = layers.Concatenate(dtype=dtype, name=f"{block}_condition")([shared, chunks[i + 1]])
        side *= 2
        shortcut = layers.Resizing(side, side, interpolation="nearest", dtype=dtype, name=f"{block}_shortcut_up")(x)
        shortcut = _conv(spectral_norm, width, 1, dtype, f"{block}_shortcut")(shortcut)
        h = _conditional_bn(x, condition, spectral_norm, dtype, f"{block}_cbn0")
        h = layers.ReLU(dtype=dtype, name=f"{block}_relu0")(h)
        # Nearest resize to a static size (TFLite's RESIZE_NEAREST_NEIGHBOR).
        h = layers.Resizing(side, side, interpolation="nearest", dtype=dtype, name=f"{block}_up")(h)
        # No bias: the batch norm that follows removes it (its gradient is 0).
        h = _conv(spectral_norm, width, 3, dtype, f"{block}_conv0", use_bias=False)(h)
        h = _conditional_bn(h, condition, spectral_norm, dtype, f"{block}_cbn1")
        h = layers.ReLU(dtype=dtype, name=f"{block}_relu1")(h)
        h = _conv(spectral_norm, width, 3, dtype, f"{block}_conv1")(h)
        x = layers.Add(dtype=dtype, name=block)([h, shortcut])
        if side == attention:
            x = self_attention(x, spectral_norm, dtype, "attention")
    x = BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype, name="out_bn")(x)
    x = layers.ReLU(dtype=dtype, name="out_relu")(x)
    x = _conv(spectral_norm, channels, 3, dtype, "out_conv")(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model([z, labels], images, name=name)


def biggan_discriminator(
    image_shape=(28, 28, 1),
    num_classes=10,
    width=64,
    attention_resolution=None,
    spectral_norm=True,
    dtype=None,
    name="discriminator",
):
    """Build a BigGAN projection discriminator: ``[images, labels] -> logits``.

    Args:
        image_shape: tuple ``(height, width, channels)`` of the input images.
        num_classes: int, number of classes; labels are ints in ``[0, num_classes)``.
        width: int, channels of every block.
        attention_resolution: None (half the image side), 0 (no attention)
            or the side after whose down block the self-attention block sits.
        spectral_norm: bool, spectrally normalize every convolution, the
            linear head and the class projection.
        dtype: dtype policy for hidden layers; the logit is always float32.
        name: str, model name.

    Returns:
        ``keras.Model`` with inputs ``images`` and ``labels`` (int32 ``[batch]``),
        output float32 logits ``[batch, 1]``. Its layer ``"features"`` gives
        the pooled features ``h``, ``"linear"`` the term ``w . h + b`` and
        ``"class_embedding"`` (on one-hot labels) the vectors ``e'_y``.

    Example:
        >>> d = biggan_discriminator((28, 28, 1), num_classes=10, width=16)
        >>> [t.name for t in d.inputs], d.output_shape
        (['images', 'labels'], (None, 1))
    """
    attention = _check_common(num_classes, width, attention_resolution, image_shape)
    _, blocks = biggan_plan(image_shape)
    width = int(width)
    _, dense = _layers(spectral_norm)

    images = keras.Input(tuple(int(s) for s in image_shape), name="images")
    labels = keras.Input((), dtype="int32", name="labels")
    x, side = images, int(image_shape[0])
    for i in range(blocks + 1):
        block, down = f"down{i}" if i < blocks else "block_out", i < blocks
        # The first block takes images: no ReLU before its first convolution,
        # and its shortcut pools before the 1x1 convolution (BigGAN's order).
        h = x if i == 0 else layers.ReLU(dtype=dtype, name=f"{block}_relu0")(x)
        h = _conv(spectral_norm, width, 3, dtype, f"{block}_conv0")(h)
        h = layers.ReLU(dtype=dtype, name=f"{block}_relu1")(h)
        h = _conv(spectral_norm, width, 3, dtype, f"{block}_conv1")(h)
        shortcut = x
        if down:
            h = layers.AveragePooling2D(2, dtype=dtype, name=f"{block}_pool")(h)
            if i == 0:
                shortcut = layers.AveragePooling2D(2, dtype=dtype, name=f"{block}_shortcut_pool")(shortcut)
                shortcut = _conv(spectral_norm, width, 1, dtype, f"{block}_shortcut")(shortcut)
            else:
                shortcut = _conv(spectral_norm, width, 1, dtype, f"{block}_shortcut")(shortcut)
                shortcut = layers.AveragePooling2D(2, dtype=dtype, name=f"{block}_shortcut_pool")(shortcut)
            side //= 2
        x = layers.Add(dtype=dtype, name=block)([h, shortcut])
        if down and side == attention:
            x = self_attention(x, spectral_norm, dtype, "attention")
    x = layers.ReLU(dtype=dtype, name="out_relu")(x)
    # Global sum pooling: the mean times the number of positions.
    x = layers.GlobalAveragePooling2D(dtype=dtype, name="mean_pool")(x)
    features = layers.Rescaling(float(side * side), dtype=dtype, name="features")(x)
    linear = dense(1, kernel_initializer=_KERNEL_INIT, dtype=dtype, name="linear")(features)
    one_hot = layers.CategoryEncoding(int(num_classes), output_mode="one_hot", dtype=dtype, name="one_hot")(labels)
    class_vectors = dense(
        width, use_bias=False, kernel_initializer=_KERNEL_INIT, dtype=dtype, name="class_embedding"
    )(one_hot)
    projection = layers.Dot(axes=1, dtype=dtype, name="projection")([features, class_vectors])
    logits = layers.Add(dtype="float32", name="logits")([linear, projection])
    return keras.Model([images, labels], logits, name=name)
