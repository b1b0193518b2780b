"""Pix2Pix: paired image-to-image translation with a conditional GAN."""

import keras
import numpy as np
import tensorflow as tf

from keras_gans.models.data_checks import checked_image_batch, first_problem, image_problems, validate_images
from keras_gans.models.gan import GAN
from keras_gans.networks.pix2pix import (
    NORMALIZATIONS,
    pix2pix_discriminator,
    pix2pix_generator,
    unet_depth,
)
from keras_gans.networks.spectral_norm import spectral_layers


def l1_loss(target, output):
    """Pix2Pix's reconstruction term: mean absolute error between the target and the output.

    Args:
        target: Tensor, the real output images.
        output: Tensor, the generator's translations, same shape.

    Returns:
        Scalar float32 tensor. ``Pix2Pix`` multiplies it by ``l1_weight``.

    Example:
        >>> float(l1_loss([[1.0, -1.0]], [[0.5, 0.0]]))
        0.75
    """
    target = tf.cast(target, "float32")
    output = tf.cast(output, "float32")
    return tf.reduce_mean(tf.abs(target - output))


def _int(value, what, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _nonnegative(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value >= 0:
        raise ValueError(f"{what} must be a number >= 0, got {value!r}.")
    return float(value)


def _describe_batch(data):
    if isinstance(data, (tuple, list)):
        if len(data) == 1:
            return "batches of images alone"
        return f"batches of {len(data)} parts"
    return "batches of images alone"


@keras.saving.register_keras_serializable(package="keras_gans")
class Pix2Pix(GAN):
    """Pix2Pix (Isola et al., 2017): learn to translate input images into paired target images.

    Each ``fit`` batch is a pair ``(inputs, targets)`` of aligned images (an
    edge map and its photo, a label map and its facade), from
    ``kg.data.load_paired`` or ``fit(inputs, targets)``. The generator, a
    U-Net (``kg.networks.pix2pix_generator``), maps inputs to outputs; the
    discriminator, a PatchGAN (``kg.networks.pix2pix_discriminator``), scores
    the input stacked with an output along the channels (``pairs``): the real
    target or the translation. Per batch the generator runs once (dropout on);
    the discriminator takes one step on the real and the translated pairs,
    then the generator takes one step on

        ``g_loss + l1_weight * l1_loss``

    where ``g_loss`` is the adversarial term of ``compile(loss=...)`` (the
    non-saturating cross-entropy by default, the paper's) for the translated
    pair scored by the just-updated discriminator, and ``l1_loss`` is
    ``mean |targets - G(inputs)|`` (``l1_weight`` 100 in the paper). The
    reference's schedule: one generator pass serves both updates
    (``kg.models.GAN.adversarial_step``). The paper halves the discriminator's
    objective; Adam's step does not depend on a constant factor of the loss
    (up to its epsilon), so it is left whole and ``d_loss`` is the plain
    cross-entropy of real and translated pairs. The metrics ``d_loss``,
    ``g_loss`` (adversarial) and ``l1_loss`` (unweighted) are
    ``keras.metrics.Mean`` trackers reset every epoch. ``compile("auto")``
    gives both networks the paper's Adam(2e-4, beta_1=0.5).

    ``call(inputs)`` and ``translate(inputs)`` run the generator in inference
    (dropout off), so the model exports like a generator that takes images
    (``kg.export``: an ``images`` input, when inputs and outputs have the same
    shape). The generator's dropout draws from seeded layers (``seed``) whose
    states are saved with the model, so a resumed run continues exactly.

    Image shapes: any ``(height, width, channels)``; the U-Net pads the sides
    by reflection to a multiple of ``2**n_downsamplings`` and crops its output
    back (28x28 runs at 32x32 inside, see ``kg.networks.pix2pix``). Inputs may
    have other channels than the outputs (``input_channels``).

    Shared stabilizers (the arguments of ``kg.models.GAN``): ``ema_decay``
    (``translate``, ``call``, ``preview`` and exports use the average),
    ``spectral_norm`` (spectral-norm PatchGAN without normalization),
    ``r1_weight`` (R1 on the real pairs: the gradient with respect to the
    input and target channels together) and ``augment`` (each transform is
    applied to the stacked pair, so the input and its output move together:
    translation and cutout keep them aligned; ``color`` also mixes their
    channels in its saturation step, so ``"translation,cutout"`` is the policy
    for pairs).

    Default networks, ``count_params()`` (``kg.networks.pix2pix`` lists more):

    =====  =====================  ==========  =============
    width  discriminator_layers   generator   discriminator
    =====  =====================  ==========  =============
    64     3                      16,653,505  2,764,609      (defaults, 28x28x1)
    64     3                      54,414,531  2,768,705      (paper, 256x256x3)
    8      2                      261,017     11,113         (tests, 28x28x1)
    =====  =====================  ==========  =============

    Args:
        image_shape: tuple ``(height, width, channels)`` of the target (output)
            images; inferred from a given generator.
        input_channels: int, channels of the input images (None: the
            targets'); inferred from a given generator.
        width: int, base filters of the default networks (64 in the paper).
        n_downsamplings: int, stride-2 blocks of the default U-Net; None:
            the smaller side down to 1 pixel (8 at 256x256, 5 at 28x28),
            recorded resolved in the config.
        dropout: float in [0, 1), dropout rate of the U-Net's first decoder blocks.
        dropout_blocks: int, decoder blocks with dropout (3 in the paper).
        discriminator_layers: int, stride-2 layers of the PatchGAN (3: 70x70 patches).
        normalization: ``"instance"`` (default: the paper's batch norm at its
            batch size of 1), ``"batch"`` or None, for both default networks.
        l1_weight: float >= 0, weight of the L1 term (100 in the paper).
        generator: optional ``keras.Model`` from input images to output images.
        discriminator: optional ``keras.Model`` from pairs
            ``[batch, h, w, input_channels + channels]`` to scores.
        seed: int or None, seed of the stabilizers' noise and of the dropout layers.
        precision: dtype policy of the default networks (see ``kg.models.GAN``).
        **kwargs: passed to ``kg.models.GAN``: ``name`` and the stabilizers.

    Example:
        >>> import numpy as np
        >>> import keras_gans as kg
        >>> gan = kg.models.Pix2Pix(image_shape=(28, 28, 1), width=8, discriminator_layers=2)
        >>> gan.compile()
        >>> ds = kg.data.load_paired("fashion_mnist", pair="edges", batch_size=16)  # doctest: +SKIP
        >>> gan.fit(ds, epochs=5)  # doctest: +SKIP
        >>> gan.translate(np.zeros((2, 28, 28, 1), "float32")).shape
        (2, 28, 28, 1)
    """

    family = "pix2pix"
    data_kind = "paired"
    default_loss = "non_saturating"

    def __init__(
        self,
        image_shape=None,
        input_channels=None,
        width=64,
        n_downsamplings=None,
        dropout=0.5,
        dropout_blocks=3,
        discriminator_layers=3,
        normalization="instance",
        l1_weight=100.0,
        generator=None,
        discriminator=None,
        **kwargs,
    ):
        if kwargs.pop("latent_dim", None) is not None:
            raise ValueError(
                "Pix2Pix has no latent space (its generator takes images): drop latent_dim."
            )
        if kwargs.pop("reuse_fakes", True) is not True:
            raise ValueError(
                "Pix2Pix always scores the translations its generator step makes (one generator "
                "pass per batch, as the reference does): drop reuse_fakes."
            )
        spectral_norm = kwargs.get("spectral_norm", False)
        if isinstance(spectral_norm, (bool, np.bool_)) and spectral_norm and discriminator is not None:
            if not spectral_layers(discriminator):
                raise ValueError(
                    "spectral_norm=True but the discriminator has no SpectralConv2D/SpectralDense "
                    "layer: build it with kg.networks.pix2pix_discriminator(spectral_norm=True), or "
                    "drop discriminator= to use the default."
                )
        self.width = _int(width, "width", 1)
        self.n_downsamplings = None if n_downsamplings is None else _int(n_downsamplings, "n_downsamplings", 1)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.number)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}.")
        self.dropout = float(dropout)
        self.dropout_blocks = _int(dropout_blocks, "dropout_blocks", 0)
        self.discriminator_layers = _int(discriminator_layers, "discriminator_layers", 1)
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be 'instance', 'batch' or None, got {normalization!r}."
            )
        self.normalization = normalization
        self.l1_weight = _nonnegative(l1_weight, "l1_weight")
        if input_channels is not None:
            input_channels = _int(input_channels, "input_channels", 1)
        if generator is not None:
            given = self._input_shape_of(generator)
            if input_channels is not None and input_channels != given[-1]:
                raise ValueError(
                    f"input_channels={input_channels} but the generator takes images of "
                    f"{given[-1]} channel(s): drop input_channels or pass a matching one."
                )
            input_channels = given[-1]
        # None until the image shape is known (the base class resolves it).
        self.input_channels = input_channels
        super().__init__(generator=generator, discriminator=discriminator, image_shape=image_shape, **kwargs)
        # The base class defaults latent_dim; a translator has none.
        self.latent_dim = None
        self.reuse_fakes = True
        if self.n_downsamplings is None:
            self.n_downsamplings = unet_depth(self.image_shape)
        self.l1_tracker = keras.metrics.Mean(name="l1_loss")

    # ------------------------------------------------------------ networks
    @property
    def input_image_shape(self):
        """``(height, width, input_channels)``: the shape of one input image."""
        return (*self.image_shape[:2], self._input_channels())

    def _input_channels(self):
        return self.image_shape[-1] if self.input_channels is None else self.input_channels

    def build_generator(self):
        return pix2pix_generator(
            self.image_shape, input_channels=self._input_channels(), width=self.width,
            n_downsamplings=self.n_downsamplings, dropout=self.dropout,
            dropout_blocks=self.dropout_blocks, normalization=self.normalization,
            seed=self.seed, dtype=self.network_dtype, name="generator",
        )

    def build_discriminator(self):
        return pix2pix_discriminator(
            self.image_shape, input_channels=self._input_channels(), width=self.width,
            n_layers=self.discriminator_layers, normalization=self.normalization,
            spectral_norm=self.spectral_norm, dtype=self.network_dtype, name="discriminator",
        )

    @staticmethod
    def _input_shape_of(generator):
        inputs = generator.inputs if isinstance(generator.inputs, list) else [generator.inputs]
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ValueError(
                f"the Pix2Pix generator must take one batch of images [batch, h, w, c], got inputs "
                f"{[tuple(t.shape) for t in inputs]}."
            )
        return tuple(inputs[0].shape[1:])

    @staticmethod
    def _infer_shapes(generator, latent_dim, image_shape):
        shape_in = Pix2Pix._input_shape_of(generator)
        shape_out = tuple(generator.outputs[0].shape[1:])
        if len(shape_out) != 3 or shape_in[:2] != shape_out[:2]:
            raise ValueError(
                f"the generator maps images of shape {shape_in} to {shape_out}: a Pix2Pix "
                "generator keeps the height and width."
            )
        if image_shape is not None and tuple(image_shape) != shape_out:
            raise ValueError(
                f"image_shape={tuple(image_shape)} but the generator makes {shape_out}: "
                "drop image_shape or pass a matching one."
            )
        return None, shape_out

    def _check_networks(self):
        shape_in = self.input_image_shape
        g_in = self._input_shape_of(self.generator)
        g_out = tuple(self.generator.outputs[0].shape[1:])
        if g_in != shape_in or g_out != self.image_shape:
            raise ValueError(
                f"the generator maps {g_in} to {g_out} but this Pix2Pix translates {shape_in} "
                f"into {self.image_shape}: build it for those shapes."
            )
        d_inputs = self.discriminator.inputs
        d_in = tuple(d_inputs[0].shape[1:]) if len(d_inputs) == 1 else None
        pair = (*self.image_shape[:2], shape_in[-1] + self.image_shape[-1])
        if d_in != pair:
            raise ValueError(
                f"the discriminator takes {[tuple(t.shape[1:]) for t in d_inputs]} but Pix2Pix "
                f"scores pairs of shape {pair} (input and output stacked along the channels): "
                "build it with kg.networks.pix2pix_discriminator(image_shape, input_channels)."
            )

    @staticmethod
    def pairs(inputs, images):
        """What the discriminator scores: ``concat([inputs, images], axis=-1)`` in float32.

        Args:
            inputs: input images ``[batch, h, w, input_channels]``.
            images: output images (real targets or translations) ``[batch, h, w, channels]``.
        """
        return tf.concat([tf.cast(inputs, "float32"), tf.cast(images, "float32")], axis=-1)

    # ------------------------------------------------------------ translation
    def _check_inputs(self, images, what="images"):
        return checked_image_batch(
            images, self.input_image_shape, what, "pass a batch of input images of this model's shape."
        )

    def translate(self, images, batch_size=64, use_ema=True):
        """Translate input images into output images (the generator in inference: no dropout).

        Args:
            images: float array ``[n, h, w, input_channels]`` in [-1, 1].
            batch_size: int, images per forward pass.
            use_ema: bool, translate with ``ema_generator`` when the model has
                one (``ema_decay``).

        Returns:
            float32 ``np.ndarray`` ``[n, h, w, channels]`` in [-1, 1].

        Example:
            >>> garments = gan.translate(edges)  # doctest: +SKIP
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        images = self._check_inputs(images)
        return self._run_generator([images], batch_size, use_ema=use_ema)

    def sample_latent(self, n, seed=None):
        raise ValueError(
            "Pix2Pix has no latent space: translate input images with gan.translate(images)."
        )

    def generate(self, n=None, seed=None, **kwargs):
        """Not available: Pix2Pix translates input images instead of sampling noise.

        Raises:
            ValueError: always, pointing to ``translate``.
        """
        raise ValueError(
            "Pix2Pix does not generate from noise, it translates input images: use "
            "gan.translate(images) with images in [-1, 1] (kg.data.load_paired makes them)."
        )

    def generate_from_latents(self, z, batch_size=256, use_ema=True):
        """Not available (no latent space): see ``translate``."""
        self.generate()

    def check_predict_inputs(self, x):
        """Raise ``ValueError`` naming the fix when ``x`` is not a batch of input images."""
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            return
        shape = tuple(x.shape)
        if len(shape) == 4 and tuple(shape[1:]) == self.input_image_shape:
            return
        raise ValueError(
            f"Pix2Pix.predict maps input images [n, {', '.join(map(str, self.input_image_shape))}] to "
            f"images, got {list(shape)}: pass input images of that shape (gan.translate(images) "
            "does the same and checks their range)."
        )

    def _as_grid_input(self, images):
        # An input shown in an output grid: with the output's channels.
        if images.shape[-1] == self.image_shape[-1]:
            return images
        gray = images.mean(axis=-1, keepdims=True)
        return np.repeat(gray, self.image_shape[-1], axis=-1)

    def preview(self, n, seed=0, inputs=None, use_ema=True):
        """Input/translation pairs for a progress grid: ``[x0, G(x0), x1, G(x1), ...]``.

        Args:
            n: int, the most images in the grid; ``min(n // 2, len(inputs))``
                inputs are shown (at least one), each followed by its translation.
            seed: unused (translation is deterministic); kept for the
                ``SampleGrid`` interface.
            inputs: input images ``[k, h, w, input_channels]`` in [-1, 1]
                (required). Inputs with other channels than the outputs are
                shown in gray.
            use_ema: bool, translate with ``ema_generator`` when there is one.

        Returns:
            float32 array ``[2 * shown, h, w, channels]``.
        """
        if inputs is None:
            raise ValueError(
                "Pix2Pix previews translate images: pass inputs=a batch of input images "
                "(e.g. kg.callbacks.SampleGrid(..., inputs=next(iter(ds))[0]))."
            )
        n = self._check_count(n)
        inputs = self._check_inputs(inputs, "inputs")
        shown = inputs[: max(n // 2, 1)]
        translated = self.translate(shown, use_ema=use_ema)
        pairs = np.stack([self._as_grid_input(shown), translated], axis=1)
        return pairs.reshape((-1, *self.image_shape))

    # ------------------------------------------------------------ training
    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.l1_tracker, *self.stabilizer_trackers]

    def _check_shape(self, images, expected, what, role):
        shape = tuple(images.shape[1:])
        if len(shape) != 3 or any(s is not None and s != e for s, e in zip(shape, expected)):
            raise ValueError(
                f"{what} have shape {shape} per example but this Pix2Pix {role} {tuple(expected)}: "
                "resize or convert the data (kg.data.load_paired(..., image_size=(h, w)) resizes), "
                "or build Pix2Pix with a matching image_shape and input_channels."
            )

    def unpack_data(self, data):
        """Return ``(inputs, targets)`` from a batch ``(input_images, target_images)``."""
        if isinstance(data, dict):
            raise ValueError(
                "the dataset yields dicts: map it to (input_images, target_images) pairs."
            )
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(
                f"Pix2Pix trains on paired batches (input_images, target_images), got "
                f"{_describe_batch(data)}: build the dataset with kg.data.load_paired(...) "
                "(pair='edges' makes inputs from single images), or call fit(inputs, targets)."
            )
        inputs, targets = data
        for images, expected, what, role in (
            (inputs, self.input_image_shape, "input images", "takes"),
            (targets, self.image_shape, "target images", "makes"),
        ):
            if not hasattr(images, "shape") or not hasattr(images, "dtype"):
                raise ValueError(f"{what} must be an image batch, got {type(images).__name__}.")
            self._check_shape(images, expected, what, role)
        return (
            validate_images(inputs, self.input_image_shape, "input images"),
            validate_images(targets, self.image_shape, "target images"),
        )

    def value_problems(self, unpacked):
        inputs, targets = unpacked
        n_in, n_out = tf.shape(inputs)[0], tf.shape(targets)[0]
        count = first_problem([(tf.not_equal(n_in, n_out), lambda: tf.strings.format(
            "a batch has {} input images but {} target images: every input needs its target "
            "(kg.data.load_paired keeps them together).", (n_in, n_out)))])
        return [
            (count, tf.constant("")),
            image_problems(inputs, "input images"),
            image_problems(targets, "target images"),
        ]

    def generator_losses(self, inputs, targets, fake, training=False):
        """The generator's loss terms for translations ``fake`` of ``inputs``.

        Args:
            inputs: float32 tensor ``[batch, h, w, input_channels]``.
            targets: float32 tensor ``[batch, h, w, channels]``, the real outputs.
            fake: the generator's translations of ``inputs``.
            training: bool, passed to the discriminator; in training it scores
                the augmented pair (``augment``).

        Returns:
            dict of scalars ``adversarial``, ``l1`` (unweighted) and ``total``
            (``adversarial + l1_weight * l1``, what the generator minimizes).
        """
        adversarial = self.g_loss_fn(self.discriminate(self.pairs(inputs, fake), training=training))
        l1 = l1_loss(targets, fake)
        return {"adversarial": adversarial, "l1": l1, "total": adversarial + self.l1_weight * l1}

    def train_step(self, data):
        self._check_compiled()
        inputs, targets = self.unpack_data(data)
        real = self.pairs(inputs, targets)
        terms = {}

        def g_loss_of(fake):
            terms.update(self.generator_losses(inputs, targets, fake, training=True))
            return terms["total"]

        d_loss, _ = self.adversarial_step(
            lambda: self.generator(inputs, training=True),
            lambda fake: self.discriminator_step(real, self.pairs(inputs, fake)),
            g_loss_of,
        )
        return self._track(d_loss, terms)

    def test_step(self, data):
        self._check_compiled()
        inputs, targets = self.unpack_data(data)
        fake = self.generator(inputs, training=False)
        real_out = self.discriminator(self.pairs(inputs, targets), training=False)
        terms = self.generator_losses(inputs, targets, fake, training=False)
        fake_out = self.discriminator(self.pairs(inputs, fake), training=False)
        return self._track(self.d_loss_fn(real_out, fake_out), terms)

    def _track(self, d_loss, terms):
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(terms["adversarial"])
        self.l1_tracker.update_state(terms["l1"])
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------ saving
    def _dropout_layers(self):
        """``{key: Dropout layer}`` of the generator (and its EMA copy), for their seed states."""
        found = {}
        for role, net in (("generator", self.generator), ("ema_generator", self.ema_generator)):
            if net is None:
                continue
            stack = list(net.layers)
            while stack:
                layer = stack.pop(0)
                stack.extend(getattr(layer, "layers", []))
                if isinstance(layer, keras.layers.Dropout) and getattr(layer, "seed_generator", None) is not None:
                    found[f"dropout_state.{role}.{layer.name}"] = layer
        return found

    def save_own_variables(self, store):
        super().save_own_variables(store)  # the seed state and the stabilizers'
        # Keras saves no seed state of a layer: a resumed run would draw other
        # dropout masks than an uninterrupted one.
        for key, layer in self._dropout_layers().items():
            store[key] = keras.ops.convert_to_numpy(layer.seed_generator.state.value)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        for key, layer in self._dropout_layers().items():
            if key in store:
                layer.seed_generator.state.assign(np.asarray(store[key]))

    def get_config(self):
        config = super().get_config()
        config.pop("latent_dim", None)
        config.pop("reuse_fakes", None)
        config.update(
            {
                "input_channels": self.input_channels,
                "width": self.width,
                "n_downsamplings": self.n_downsamplings,
                "dropout": self.dropout,
                "dropout_blocks": self.dropout_blocks,
                "discriminator_layers": self.discriminator_layers,
                "normalization": self.normalization,
                "l1_weight": self.l1_weight,
            }
        )
        return config
