"""BigGAN (Brock et al., 2019): a class-conditional GAN with the large-scale GAN stabilizers."""

import keras
import numpy as np
import tensorflow as tf

from keras_gans.models.cgan import ConditionalGAN
from keras_gans.models.data_checks import first_problem
from keras_gans.models.gan import GAN, batch_coupled_layers
from keras_gans.networks.biggan import (
    PER_EXAMPLE_LAYERS,
    biggan_discriminator,
    biggan_generator,
    biggan_plan,
    latent_chunks,
    resolve_attention,
)
from keras_gans.networks.spectral_norm import kernel_matrix


def orthogonal_regularization(kernel):
    """BigGAN's orthogonal regularization of one kernel: ``||W^T W * (1 - I)||_F^2``.

    ``W`` is the kernel as a ``[fan_in, c_out]`` matrix (``kernel_matrix``),
    so ``W^T W`` is the Gram matrix of the filters: the penalty is the sum of
    the squared inner products of every pair of distinct filters, which
    pushes filters toward orthogonality without constraining their norms
    (the off-diagonal variant of Brock et al., 2019, section 3.1). Computed
    in float32; when there are more filters than inputs, through the smaller
    Gram matrix ``W W^T`` (``||W^T W||_F = ||W W^T||_F``) minus the diagonal.

    Args:
        kernel: tensor or variable ``[..., c_out]`` (a ``Conv2D`` or ``Dense`` kernel).

    Returns:
        float32 scalar tensor (unweighted).

    Example:
        >>> float(orthogonal_regularization(np.eye(3, dtype="float32")))
        0.0
        >>> float(orthogonal_regularization(np.array([[1.0, 1.0], [0.0, 1.0]], "float32")))
        2.0
    """
    w = kernel_matrix(tf.cast(tf.convert_to_tensor(kernel), "float32"))
    fan_in, c_out = int(w.shape[0]), int(w.shape[1])
    if c_out <= fan_in:
        gram = tf.matmul(w, w, transpose_a=True)
        return tf.reduce_sum(tf.square(gram * (1.0 - tf.eye(c_out))))
    norms = tf.reduce_sum(tf.square(w), axis=0)
    return tf.reduce_sum(tf.square(tf.matmul(w, w, transpose_b=True))) - tf.reduce_sum(tf.square(norms))


def orthogonal_kernels(network):
    """The kernels BigGAN regularizes: those of every ``Conv2D`` and ``Dense`` in ``network``.

    Embeddings (the shared class embedding) are left out, as in BigGAN;
    nested models are searched. Sorted by path.
    """
    found, stack, seen = {}, [network], set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            found[layer.kernel.path] = layer.kernel
        stack.extend(getattr(layer, "layers", []))
    return [found[path] for path in sorted(found)]


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}.")
    return int(value)


@keras.saving.register_keras_serializable(package="keras_gans")
class BigGAN(ConditionalGAN):
    """BigGAN (Brock et al., 2019): class-conditional, hinge loss, orthogonal regularization.

    A conditional family: it trains on ``(images, labels)`` batches, samples
    with ``generate(n, labels=None, seed=None, batch_size=256,
    truncation=None, use_ema=True)`` and checks labels exactly as
    ``kg.models.ConditionalGAN`` does (it extends it), and both networks take
    the labels as a second input named ``labels``.

    Networks (``kg.networks.biggan_generator`` / ``biggan_discriminator``):
    a generator with a shared class embedding, hierarchical latents (``z``
    split into one chunk for the projection and one per up block, each block
    conditioned on its chunk concatenated with the embedding),
    class-conditional batch norm in residual up blocks and one self-attention
    block; a residual discriminator with the same self-attention block,
    global sum pooling and a projection head (``w . h + b + e_y . h``).
    Every convolution and dense layer of both networks is spectrally
    normalized (``spectral_norm=True``; the power iterations run once per
    update of their network). 28x28 images start at 7x7 (two up blocks),
    32x32 at 4x4 (three).

    Training: ``d_steps`` discriminator updates per generator update, with
    Adam(1e-4) for the generator and Adam(4e-4) for the discriminator
    (``beta_1=0``, ``beta_2=0.999``, ``epsilon=1e-6``), the hinge loss for
    both, and orthogonal regularization on the generator's kernels
    (``ortho_weight * sum orthogonal_regularization(W)``, weight 1e-4) added
    to its loss. Each ``fit`` batch is split into ``d_steps`` equal chunks of
    images and labels: every discriminator update gets its own chunk and
    fakes drawn for that chunk's labels (BigGAN also shows each D step a new
    batch), and the generator update draws one chunk's worth of fresh latents
    for the last chunk's labels. A ``fit`` batch of 128 with ``d_steps=2`` is
    64 images per step, and one epoch shows the discriminator every image
    once; ``batch % d_steps`` images of a batch are not used and a batch
    smaller than ``d_steps`` is refused. ``d_steps=2`` is the paper's
    ImageNet setting; ``d_steps=1`` (one discriminator update per batch, the
    whole batch) halves the cost of a step and is what small runs often use.

    The EMA generator is on by default (``ema_decay=0.999``), and samples,
    previews, evaluation and exports use it. Truncation is the base class's
    ``psi * z`` (``generate(..., truncation=0.5)``, and the exported
    ``truncation`` input), applied to every chunk of ``z``; the paper's
    truncation trick resamples the entries of ``z`` above a threshold
    instead.

    Metrics: ``d_loss`` (the hinge loss, averaged over the discriminator
    steps), ``g_loss`` (the hinge generator loss) and ``ortho`` (the weighted
    penalty added to the generator's loss; absent when ``ortho_weight=0``).

    Default networks for 10 classes (``count_params()``; ``width=256`` is
    BigGAN's 32x32 architecture):

    ===========  =====  ==========  =============  =========  =============
    image_shape  width  latent_dim  embedding_dim  generator  discriminator
    ===========  =====  ==========  =============  =========  =============
    28x28x1      64     128         128            393,095    196,097
    32x32x3      256    128         128            4,467,938  4,358,612
    ===========  =====  ==========  =============  =========  =============

    Args:
        latent_dim: int, size of ``z`` (at least one per up block plus one).
        image_shape: tuple ``(height, width, channels)``, a square side ``s * 2**k``
            with ``s`` in 3..7 (28, 32, 64...).
        num_classes: int, number of classes.
        width: int, channels of every block of both default networks.
        embedding_dim: int, size of the generator's shared class embedding.
        attention_resolution: None (half the image side), 0 (no self-attention),
            or the side of the blocks the self-attention follows in both
            networks (``kg.networks.biggan.attention_resolutions``).
        d_steps: int, discriminator updates per generator update (2 in the paper).
        ortho_weight: float >= 0, weight of the orthogonal regularization (1e-4).
        spectral_norm: bool, spectral norm in both default networks (BigGAN's).
        ema_decay: None or a float in (0, 1), the EMA generator's decay (see ``kg.models.GAN``).
        **kwargs: passed to ``kg.models.ConditionalGAN`` / ``kg.models.GAN``
            (``generator``, ``discriminator``, ``seed``, ``precision``...).

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.BigGAN(latent_dim=30, num_classes=10, width=16, embedding_dim=8)
        >>> gan.compile()
        >>> gan.fit(kg.data.load("fashion_mnist", labels=True), epochs=1)  # doctest: +SKIP
        >>> gan.generate(4, labels=[7, 7, 9, 9], seed=0).shape
        (4, 28, 28, 1)
    """

    family = "biggan"
    data_kind = "labelled"
    default_loss = "hinge"

    def __init__(
        self,
        latent_dim=None,
        image_shape=None,
        num_classes=10,
        width=64,
        embedding_dim=128,
        attention_resolution=None,
        d_steps=2,
        ortho_weight=1e-4,
        spectral_norm=True,
        ema_decay=0.999,
        **kwargs,
    ):
        # Every argument is checked before a network is built.
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}.")
        _positive_int(width, "width")
        _positive_int(embedding_dim, "embedding_dim")
        self.d_steps = _positive_int(d_steps, "d_steps")
        if (
            isinstance(ortho_weight, bool)
            or not isinstance(ortho_weight, (int, float, np.number))
            or not (np.isfinite(float(ortho_weight)) and float(ortho_weight) >= 0)
        ):
            raise ValueError(f"ortho_weight must be a number >= 0 (1e-4 in the paper, 0: off), got {ortho_weight!r}.")
        self.ortho_weight = float(ortho_weight)
        if kwargs.get("generator") is None:
            shape = tuple(image_shape) if image_shape is not None else (28, 28, 1)
            _, blocks = biggan_plan(shape)
            latent_chunks(128 if latent_dim is None else latent_dim, blocks)
            resolve_attention(attention_resolution, shape)
        elif image_shape is not None:
            resolve_attention(attention_resolution, tuple(image_shape))
        self.attention_resolution = None if attention_resolution is None else int(attention_resolution)
        super().__init__(
            latent_dim=latent_dim,
            image_shape=image_shape,
            num_classes=num_classes,
            width=width,
            embedding_dim=embedding_dim,
            spectral_norm=spectral_norm,
            ema_decay=ema_decay,
            **kwargs,
        )
        self.ortho_tracker = keras.metrics.Mean(name="ortho") if self.ortho_weight else None

    # ------------------------------------------------------------ networks
    def build_generator(self):
        return biggan_generator(
            self.latent_dim,
            self.image_shape,
            num_classes=self.num_classes,
            width=self.width,
            embedding_dim=self.embedding_dim,
            attention_resolution=self.attention_resolution,
            spectral_norm=self.spectral_norm,
            dtype=self.network_dtype,
        )

    def build_discriminator(self):
        return biggan_discriminator(
            self.image_shape,
            num_classes=self.num_classes,
            width=self.width,
            attention_resolution=self.attention_resolution,
            spectral_norm=self.spectral_norm,
            dtype=self.network_dtype,
        )

    def _check_networks(self):
        for role, net, first in (
            ("generator", self.generator, "z"),
            ("discriminator", self.discriminator, "images"),
        ):
            if len(net.inputs) != 2:
                raise ValueError(
                    f"the {role} of a BigGAN must take two inputs [{first}, labels], got "
                    f"{len(net.inputs)}: build it with kg.networks.biggan_{role}."
                )
        GAN._check_networks(self)

    def fuses_discriminator(self, network=None):
        """Whether real and fake images are scored in one call (see ``kg.models.GAN``).

        BigGAN's discriminator has no batch norm; its self-attention gain and
        one-hot labels are layers of its own that act on each example alone,
        so the default network fuses its calls.
        """
        network = self.discriminator if network is None else network
        own = {layer.name for layer in network.layers if type(layer) in PER_EXAMPLE_LAYERS}
        return not set(batch_coupled_layers(network)) - own

    def default_optimizer(self, role):
        """BigGAN's Adam: 1e-4 for the generator, 4e-4 for the discriminator, ``beta_1=0``, ``beta_2=0.999``."""
        rate = 1e-4 if role == "generator" else 4e-4
        return keras.optimizers.Adam(rate, beta_1=0.0, beta_2=0.999, epsilon=1e-6, name=f"{role}_adam")

    # ------------------------------------------------------------ training
    @property
    def metrics(self):
        own = [self.ortho_tracker] if getattr(self, "ortho_tracker", None) is not None else []
        return [self.d_loss_tracker, self.g_loss_tracker] + own + self.stabilizer_trackers

    def unpack_data(self, data):
        """``(images, labels)`` of a batch (see ``kg.models.ConditionalGAN.unpack_data``)."""
        pair = data[0] if isinstance(data, (tuple, list)) and len(data) == 1 else data
        if not isinstance(pair, (tuple, list)) or len(pair) < 2:
            raise ValueError(
                "BigGAN trains on (images, labels) batches and got images alone: pass the labels too "
                "(gan.fit(images, labels), gan.fit((images, labels)), or kg.data.load(..., labels=True))."
            )
        return super().unpack_data(data)

    def value_problems(self, unpacked):
        """The checks of ``kg.models.ConditionalGAN``, then that a batch feeds ``d_steps`` updates."""
        checks = super().value_problems(unpacked)
        if self.d_steps > 1:
            n = tf.shape(unpacked[0])[0]
            least = self.d_steps
            checks.append((first_problem([(n < least, lambda: tf.strings.format(
                f"a batch of {{}} images cannot feed d_steps={least} discriminator steps: use batches "
                f"of at least {least} images (batch(..., drop_remainder=True) drops a short last batch).",
                (n,)))]), tf.constant("")))
        return checks

    def check_predict_inputs(self, x):
        """``predict`` takes ``[z, labels]``: refuse ``z`` alone (or images) with the fix."""
        try:
            super().check_predict_inputs(x)
        except ValueError as err:
            raise ValueError(str(err).replace("ConditionalGAN.predict", "BigGAN.predict", 1)) from None

    def ortho_penalty(self):
        """``ortho_weight * sum(orthogonal_regularization(W))`` over the generator's kernels (0 when off).

        Updates the ``ortho`` metric with the value.
        """
        if not self.ortho_weight:
            return tf.constant(0.0)
        total = tf.add_n([orthogonal_regularization(k) for k in orthogonal_kernels(self.generator)])
        value = self.ortho_weight * total
        self.ortho_tracker.update_state(value)
        return value

    def generator_step(self, labels):
        """One generator update (hinge loss + orthogonal penalty) for ``labels``; returns the hinge loss."""
        z = self.noise(tf.shape(labels)[0])
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = self.generator([z, labels], training=True)
            loss = self.g_loss_fn(self.discriminate(fake, conditions=[labels]))
            total = loss + self.ortho_penalty()
        self.apply_loss(tape, total, self.g_optimizer, variables)
        return loss

    def _chunk_size(self, real):
        static = real.shape[0]
        if static is not None and static < self.d_steps:
            raise ValueError(
                f"a batch of {static} images cannot feed d_steps={self.d_steps} discriminator steps: "
                f"use a batch_size of at least {self.d_steps}."
            )
        return tf.shape(real)[0] // self.d_steps

    def train_step(self, data):
        self._check_compiled()
        real, labels = self.unpack_data(data)
        chunk = self._chunk_size(real)
        parts = [
            (real[i * chunk : (i + 1) * chunk], labels[i * chunk : (i + 1) * chunk])
            for i in range(self.d_steps)
        ]
        # d_steps is a Python int, so the loop unrolls into one graph.
        for x, y in parts[:-1]:
            self.d_loss_tracker.update_state(self.discriminator_step(x, y))
        x, y = parts[-1]
        if self.reuse_fakes:
            # The generator update scores the last discriminator step's fakes.
            hinge = {}

            def g_loss_of(fake):
                hinge["loss"] = self.g_loss_fn(self.discriminate(fake, conditions=[y]))
                return hinge["loss"] + self.ortho_penalty()

            d_loss, _ = self.adversarial_step(
                lambda: self.generator([self.noise(chunk), y], training=True),
                lambda fake: self.discriminator_step(x, y, fake),
                g_loss_of,
            )
            g_loss = hinge["loss"]
        else:
            d_loss = self.discriminator_step(x, y)
            g_loss = self.generator_step(y)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            **super().get_config(),
            "attention_resolution": self.attention_resolution,
            "d_steps": self.d_steps,
            "ortho_weight": self.ortho_weight,
        }
