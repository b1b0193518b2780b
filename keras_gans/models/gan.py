"""The base GAN: a subclassed ``keras.Model`` that trains with plain ``fit``."""

import copy
import inspect
import os
import types
import warnings

import numpy as np
import keras
import tensorflow as tf

from keras_gans import losses as losses_lib
from keras_gans.networks import augment as augment_lib
from keras_gans.models.callback_view import VIEW_CALLBACKS, GANView
from keras_gans.models.data_checks import (
    REFUSED_CLOSE,
    REFUSED_OPEN,
    _is_array,
    _split_pair,
    first_nonempty,
    first_problem,
    image_problems,
    refusal_message,
    validate_images,
)
from keras_gans.networks.spectral_norm import spectral_layers

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


# Defined with the sampling helpers (a leaf the models import, never the reverse).
from keras_gans.sampling import check_truncation  # noqa: E402,F401


def _check_stabilizers(ema_decay, spectral_norm, r1_weight, r1_every, ada_target, ada_interval, ada_kimg):
    """Validate the shared stabilizer arguments of ``GAN.__init__`` (before any network is built)."""
    def number(value):
        return not isinstance(value, bool) and isinstance(value, (int, float, np.number))

    if ema_decay is not None and not (number(ema_decay) and 0.0 < float(ema_decay) < 1.0):
        raise ValueError(
            f"ema_decay must be None (no EMA generator) or a number in (0, 1) such as 0.999, "
            f"got {ema_decay!r}."
        )
    if not isinstance(spectral_norm, (bool, np.bool_)):
        raise ValueError(f"spectral_norm must be True or False, got {spectral_norm!r}.")
    if not (number(r1_weight) and float(r1_weight) >= 0.0 and np.isfinite(float(r1_weight))):
        raise ValueError(f"r1_weight must be a number >= 0 (0: no R1 penalty), got {r1_weight!r}.")
    for value, what in ((r1_every, "r1_every"), (ada_interval, "ada_interval")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{what} must be a positive int, got {value!r}.")
    if not (number(ada_target) and -1.0 < float(ada_target) < 1.0):
        raise ValueError(f"ada_target must be a number in (-1, 1) (0.6 in the paper), got {ada_target!r}.")
    if not (number(ada_kimg) and float(ada_kimg) > 0.0):
        raise ValueError(f"ada_kimg must be a number > 0 (500 in the paper), got {ada_kimg!r}.")


def assign_variables(pairs):
    """Assign ``(variable, value)`` pairs, also from a replica of a ``tf.distribute`` step.

    Values computed in a replica context are the same on every replica here
    (they derive from mirrored weights or all-reduced sums), so each device's
    copy takes its own replica's value through ``merge_call``, as optimizers
    update mirrored variables.
    """
    pairs = list(pairs)
    if not pairs:
        return
    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        for var, value in pairs:
            var.assign(value)
        return

    def merge(strategy, *values):
        for (var, _), value in zip(pairs, values):
            target = var.value if isinstance(var, keras.Variable) else var
            strategy.extended.update(target, lambda v, x: v.assign(x), args=(value,), group=False)

    tf.distribute.get_replica_context().merge_call(merge, args=tuple(v for _, v in pairs))


def replica_scaled(loss):
    """Divide a per-replica mean loss by the number of replicas in sync.

    Under ``tf.distribute`` the optimizer sums gradients across replicas, so
    each replica's loss must be its share of the global-batch mean.

    Args:
        loss: scalar tensor, the mean over this replica's batch.

    Returns:
        Scalar tensor.
    """
    ctx = tf.distribute.get_replica_context()
    replicas = ctx.num_replicas_in_sync if ctx is not None else 1
    return loss / replicas if replicas > 1 else loss


def replica_share(draw, batch):
    """Draw noise for the global batch and return this replica's rows.

    Under ``tf.distribute`` every replica runs the same ops with the same seed
    state, so a plain draw gives every replica the same noise (its examples
    would all share latents). Each replica instead draws the noise of the
    whole global batch (``batch * replicas`` rows, cheap next to a network
    pass) and keeps the rows of its own slice: replica ``r`` gets rows
    ``[r * batch, (r + 1) * batch)``, the rows a single device would give the
    same examples, since ``tf.distribute`` splits a batch into contiguous
    slices in replica order. Without a strategy it is ``draw(batch)``.

    Args:
        draw: callable ``draw(n) -> tensor [n, ...]`` drawing from the model's
            seed generator.
        batch: int or scalar tensor, this replica's batch size.

    Returns:
        Tensor ``[batch, ...]``.
    """
    ctx = tf.distribute.get_replica_context()
    replicas = ctx.num_replicas_in_sync if ctx is not None else 1
    if replicas == 1:
        return draw(batch)
    start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * tf.cast(batch, tf.int32)
    return draw(batch * replicas)[start : start + batch]


#: ``/proc/cpuinfo`` flags of CPUs that compute bfloat16 faster than float32:
#: AMX tiles (``amx_bf16``) or AVX-512 bfloat16 dot products (``avx512_bf16``).
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags as one space-separated string (``""`` where unreadable).

    Reads the first ``flags`` line of ``path`` (Linux); elsewhere nothing is
    known, so ``precision="auto"`` resolves to float32 there.
    """
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return ""


def _gpu_capabilities():
    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capabilities.append(tuple(details.get("compute_capability") or (0, 0)))
    return capabilities


#: Environment variable naming the policy ``precision="auto"`` resolves to,
#: instead of reading the hardware (e.g. ``float32`` for the same numbers on
#: every machine, as the test suite runs).
PRECISION_ENV = "KERAS_GANS_PRECISION"


def auto_precision(flags=None, gpu_capabilities=None):
    """What ``precision="auto"`` resolves to: ``"mixed_bfloat16"`` or ``"float32"``.

    bfloat16 where the hardware computes it natively: a GPU of compute
    capability 8.0 or later (the training then runs on it), or a CPU whose
    flags include ``amx_bf16`` or ``avx512_bf16``. float32 elsewhere, where
    bfloat16 would be emulated and slower. When neither argument is given
    and the environment variable ``KERAS_GANS_PRECISION`` is set, its value
    (one of ``PRECISIONS``) is the answer and the hardware is not read.

    Args:
        flags: the CPU flags as ``/proc/cpuinfo`` writes them (a
            space-separated string); None reads this machine's.
        gpu_capabilities: list of ``(major, minor)`` compute capabilities of
            the visible GPUs; None asks TensorFlow.

    Example:
        >>> auto_precision("fpu sse2 avx512f avx512_bf16", gpu_capabilities=[])
        'mixed_bfloat16'
        >>> auto_precision("fpu sse2 avx2", gpu_capabilities=[])
        'float32'
    """
    chosen = os.environ.get(PRECISION_ENV) if flags is None and gpu_capabilities is None else None
    if chosen:
        if chosen not in PRECISIONS:
            raise ValueError(
                f"{PRECISION_ENV}={chosen!r} is not a precision: set it to one of {PRECISIONS} or unset it."
            )
        return chosen
    capabilities = _gpu_capabilities() if gpu_capabilities is None else list(gpu_capabilities)
    if capabilities:
        return "mixed_bfloat16" if all(tuple(c) >= (8, 0) for c in capabilities) else "float32"
    words = set((cpu_flags() if flags is None else flags).split())
    return "mixed_bfloat16" if words.intersection(BF16_CPU_FLAGS) else "float32"


def check_precision(precision, flags=None, gpu_capabilities=None):
    """Validate a ``precision`` argument and resolve ``"auto"`` (see ``auto_precision``).

    Returns:
        One of ``PRECISIONS``: the policy the networks are built with.
    """
    if precision == "auto":
        return auto_precision(flags, gpu_capabilities)
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be 'auto' or one of {PRECISIONS}, got {precision!r}."
        )
    return precision


def _per_example_types():
    from keras_gans.networks.layers import InstanceNormalization, ReflectionPadding2D
    from keras_gans.networks.spectral_norm import SpectralConv2D, SpectralDense

    L = keras.layers
    names = (
        "InputLayer", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
        "Conv3DTranspose", "DepthwiseConv2D", "SeparableConv2D", "Dense", "EinsumDense",
        "Embedding", "Activation", "LeakyReLU", "ReLU", "PReLU", "ELU", "Softmax", "Flatten",
        "Reshape", "Permute", "Concatenate", "Add", "Subtract", "Multiply", "Average",
        "Maximum", "Minimum", "Dot", "Dropout", "SpatialDropout2D", "GaussianDropout",
        "GaussianNoise", "LayerNormalization", "GroupNormalization", "UnitNormalization",
        "ZeroPadding2D", "Cropping2D", "UpSampling2D", "MaxPooling2D", "AveragePooling2D",
        "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Rescaling", "Identity",
    )
    found = {getattr(L, n) for n in names if hasattr(L, n)}
    return found | {SpectralConv2D, SpectralDense, ReflectionPadding2D, InstanceNormalization}


def batch_coupled_layers(model):
    """Names of the layers of ``model`` that may mix the examples of a batch.

    A layer counts as per-example when its type is one whose output for an
    example depends on that example alone (convolutions, dense layers,
    activations, layer / group / instance norm, spectral-norm layers, padding,
    pooling, dropout...), matched exactly, not by subclass: a subclass may
    override ``call``. Nested functional and ``Sequential`` models are
    searched. Every other layer is listed: ``BatchNormalization`` (batch
    statistics), a minibatch-deviation layer, any custom layer.

    Example:
        >>> import keras_gans as kg
        >>> batch_coupled_layers(kg.networks.dcgan_discriminator((28, 28, 1)))[:1]
        ['down1_norm']
        >>> batch_coupled_layers(kg.networks.dcgan_discriminator((28, 28, 1), normalization="layer"))
        []
    """
    from keras.src.models.functional import Functional

    per_example = _per_example_types()
    found = []
    stack = [model]
    while stack:
        layer = stack.pop(0)
        if type(layer) in (Functional, keras.Sequential):
            # Calling one runs its layers, nothing else.
            stack.extend(layer.layers)
        elif type(layer) not in per_example:
            found.append(layer.name)
    return found


@keras.saving.register_keras_serializable(package="keras_gans")
class GAN(keras.Model):
    """A generator and a discriminator trained adversarially with ``fit``.

    The base class of every family. It owns both networks, overrides
    ``train_step`` (one discriminator update, then one generator update per
    batch), tracks ``d_loss`` and ``g_loss``, draws all training noise from a
    ``keras.random.SeedGenerator`` whose state is saved with the model, and
    serializes both networks in its config, so a ``.keras`` file restores a
    model that continues training with both optimizers' state.

    Calling the model runs the generator: ``gan(z)`` returns images.

    Args:
        generator: ``keras.Model`` mapping ``[batch, latent_dim]`` to images in
            [-1, 1]. None builds the family's default network.
        discriminator: ``keras.Model`` mapping images to ``[batch, 1]`` scores.
            None builds the family's default network.
        latent_dim: int, size of ``z``; inferred from ``generator`` when given.
        image_shape: tuple ``(height, width, channels)``; inferred from
            ``generator`` when given.
        seed: int or None, seed of the training noise (None: a random seed).
        precision: ``"auto"`` (the default), ``"float32"``,
            ``"mixed_bfloat16"`` or ``"mixed_float16"``, the dtype policy of
            the default networks. Set per network, never globally; outputs
            stay float32. ``"auto"`` is ``"mixed_bfloat16"`` where the
            hardware computes bfloat16 natively (a CPU with ``amx_bf16`` or
            ``avx512_bf16``, a GPU of compute capability 8.0+) and
            ``"float32"`` elsewhere (``auto_precision``); the config records
            the resolved policy, so a saved model loads with the policy it
            trained with on any machine. ``"float32"`` gives the same
            numbers on every CPU.
        reuse_fakes: bool. False (the default, the keras.io examples'
            schedule): the generator update draws fresh latents and runs the
            generator again. True: it scores, with the just-updated
            discriminator, the same fakes the discriminator update was shown,
            so a step runs the generator forward once (the schedule of
            PyTorch's DCGAN example): one generator pass fewer per step, but
            the generator update must wait for the discriminator's, so on a
            CPU it is not reliably faster (see the README's Performance).
        ema_decay: None (off) or a float in (0, 1): keep ``ema_generator``, an
            exponential moving average of the generator's weights, updated
            after every generator update with the decay
            ``min(ema_decay, (1 + t) / (10 + t))`` at the ``t``-th update (the
            warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=)``:
            early weights are forgotten fast); non-trainable state (batch-norm
            moving statistics) is copied. ``generate``, ``preview``,
            ``SampleGrid``, evaluation and exports use it.
        spectral_norm: bool, spectrally normalize the default discriminator
            (``kg.networks.SpectralConv2D`` / ``SpectralDense``; DCGAN then
            drops the discriminator's batch norm, as SN-GAN does). The power
            iteration of every spectral layer runs once per update of its
            network, however often the network is called in a step.
        r1_weight: float >= 0, gamma of the R1 penalty (Mescheder et al.,
            2018) ``gamma / 2 * E||grad_x D(x)||^2`` on the real images the
            discriminator sees (augmented ones when ``augment`` is on);
            0 is off. Not for Wasserstein losses.
        r1_every: int, lazy regularization (StyleGAN2): the penalty is
            computed on every ``r1_every``-th discriminator update only, with
            its weight multiplied by ``r1_every``.
        augment: None, a DiffAugment policy (``"translation,cutout,color"``
            or any comma-separated subset) applied to real and fake images
            before every discriminator call of both updates, or ``"ada"``:
            those transforms each applied with an adaptive probability ``p``
            (metric ``ada_p``). See ``kg.networks.augment``.
        ada_target: float, the target of ``r_t = E[sign(D(real))]`` (0.6).
        ada_interval: int, discriminator updates between adjustments of ``p``.
        ada_kimg: float, thousands of real images over which ``p`` can move
            from 0 to 1 (500 in the paper).
        **kwargs: passed to ``keras.Model`` (``name``...).

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.DCGAN(latent_dim=64, image_shape=(28, 28, 1))
        >>> gan.compile()
        >>> images = gan.generate(4, seed=0)
        >>> images.shape
        (4, 28, 28, 1)
    """

    #: loss used by ``compile(loss="auto")``; families override it.
    default_loss = "non_saturating"
    #: family name used by the CLI, the zoo and exports.
    family = "gan"
    #: what a training batch holds: "images", "labelled" ((images, labels))
    #: or "unpaired" ((a, b)); the CLI loads data accordingly.
    data_kind = "images"

    def __init__(
        self,
        generator=None,
        discriminator=None,
        latent_dim=None,
        image_shape=None,
        seed=None,
        precision="auto",
        reuse_fakes=False,
        ema_decay=None,
        spectral_norm=False,
        r1_weight=0.0,
        r1_every=16,
        augment=None,
        ada_target=0.6,
        ada_interval=4,
        ada_kimg=500,
        **kwargs,
    ):
        _check_stabilizers(ema_decay, spectral_norm, r1_weight, r1_every, ada_target, ada_interval, ada_kimg)
        augment = augment_lib.check_augment(augment)
        if float(r1_weight) > 0 and self.default_loss == "wasserstein":
            raise ValueError(
                f"r1_weight is for non-Wasserstein losses, but {type(self).__name__} uses a gradient "
                "penalty already: drop r1_weight (tune gp_weight instead)."
            )
        super().__init__(**kwargs)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.spectral_norm = bool(spectral_norm)
        self.r1_weight = float(r1_weight)
        self.r1_every = int(r1_every)
        self.augment = augment
        self.ada_target = float(ada_target)
        self.ada_interval = int(ada_interval)
        self.ada_kimg = float(ada_kimg)
        self.precision = check_precision(precision)
        if not isinstance(reuse_fakes, (bool, np.bool_)):
            raise ValueError(f"reuse_fakes must be True or False, got {reuse_fakes!r}.")
        self.reuse_fakes = bool(reuse_fakes)
        if generator is not None:
            latent_dim, image_shape = self._infer_shapes(generator, latent_dim, image_shape)
        self.latent_dim = int(latent_dim if latent_dim is not None else 128)
        self.image_shape = tuple(int(s) for s in (image_shape or (28, 28, 1)))
        self.seed = None if seed is None else int(seed)
        self.generator = generator if generator is not None else self.build_generator()
        self.discriminator = (
            discriminator if discriminator is not None else self.build_discriminator()
        )
        self._check_networks()
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="seed_generator")
        # Evaluation (``evaluate``, ``validation_data``) draws from a generator
        # of its own, so validating never moves the training noise.
        self.eval_seed_generator = keras.random.SeedGenerator(0, name="eval_seed_generator")
        self.reset_eval_noise()
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self._init_stabilizers()
        self.g_optimizer = None
        self.d_optimizer = None
        self.loss_spec = None
        # Both networks are built functional models, so the GAN has all its
        # state now; marking it built lets `.keras` loading and distribution
        # strategies skip a symbolic call (which would feed images to `call`).
        self.built = True

    # ------------------------------------------------------------ networks
    @property
    def network_dtype(self):
        """The dtype policy name the default networks are built with."""
        return None if self.precision == "float32" else self.precision

    def build_generator(self):
        """Build the family's default generator (subclasses implement it)."""
        raise ValueError(
            f"{type(self).__name__} has no default generator: pass generator=... "
            "or use a family such as kg.models.DCGAN."
        )

    def build_discriminator(self):
        """Build the family's default discriminator (subclasses implement it)."""
        raise ValueError(
            f"{type(self).__name__} has no default discriminator: pass discriminator=... "
            "or use a family such as kg.models.DCGAN."
        )

    @staticmethod
    def _infer_shapes(generator, latent_dim, image_shape):
        inputs = generator.inputs if isinstance(generator.inputs, list) else [generator.inputs]
        g_latent = inputs[0].shape[-1]
        g_image = tuple(generator.outputs[0].shape[1:])
        if latent_dim is not None and g_latent is not None and int(latent_dim) != g_latent:
            raise ValueError(
                f"latent_dim={latent_dim} but the generator takes z of size {g_latent}: "
                "drop latent_dim or pass a matching one."
            )
        if image_shape is not None and tuple(image_shape) != g_image:
            raise ValueError(
                f"image_shape={tuple(image_shape)} but the generator makes {g_image}: "
                "drop image_shape or pass a matching one."
            )
        return g_latent, g_image

    def _check_networks(self):
        g_out = tuple(self.generator.outputs[0].shape[1:])
        d_inputs = self.discriminator.inputs
        d_in = tuple(d_inputs[0].shape[1:])
        if g_out != self.image_shape:
            raise ValueError(
                f"the generator makes images of shape {g_out} but image_shape is "
                f"{self.image_shape}: make them match."
            )
        if d_in != self.image_shape:
            raise ValueError(
                f"the discriminator takes images of shape {d_in} but the generator makes "
                f"{self.image_shape}: build both networks for the same image shape."
            )

    # ------------------------------------------------------------ stabilizers
    def _init_stabilizers(self):
        """Build the state of the stabilizers that are on (none when all are off)."""
        if self.spectral_norm and not spectral_layers(self.discriminator):
            raise ValueError(
                "spectral_norm=True but the discriminator has no SpectralConv2D/SpectralDense "
                "layer: build it with kg.networks.dcgan_discriminator(spectral_norm=True) or "
                "use kg.networks.SpectralConv2D / SpectralDense."
            )
        self.ema_generator = None
        #: trackers of the stabilizers, after d_loss and g_loss in ``metrics``.
        self.stabilizer_trackers = []
        if self.ema_decay is not None:
            self.ema_generator = self._clone_generator()
            self.ema_updates = keras.Variable(
                0, dtype="int64", trainable=False, name="ema_updates",
                aggregation="only_first_replica",
            )
        if self.r1_weight:
            self.r1_tracker = keras.metrics.Mean(name="r1")
            self.stabilizer_trackers.append(self.r1_tracker)
        if self.augment == augment_lib.ADA:
            self.ada_p = keras.Variable(
                0.0, dtype="float32", trainable=False, name="ada_p",
                aggregation="only_first_replica",
            )
            # Since the last adjustment: sum of sign(D(real)), real images, D updates.
            self.ada_stats = keras.Variable(
                np.zeros(3, "float32"), trainable=False, name="ada_stats",
                aggregation="only_first_replica",
            )
            self.ada_p_tracker = keras.metrics.Mean(name="ada_p")
            self.stabilizer_trackers.append(self.ada_p_tracker)

    def _clone_generator(self):
        config = keras.saving.serialize_keras_object(self.generator)
        if isinstance(config.get("config"), dict) and "name" in config["config"]:
            config["config"]["name"] = f"{self.generator.name}_ema"
        ema = keras.saving.deserialize_keras_object(config)
        if [tuple(v.shape) for v in ema.weights] != [tuple(v.shape) for v in self.generator.weights]:
            raise ValueError(
                "ema_decay needs a generator that rebuilds from its config with the same weights: "
                f"{self.generator.name!r} does not."
            )
        ema.set_weights(self.generator.get_weights())
        ema.trainable = False
        return ema

    def update_ema(self):
        """Move ``ema_generator`` one step toward the generator (after a generator update).

        ``ema = beta * ema + (1 - beta) * w`` for the trainable weights, with
        ``beta = min(ema_decay, (1 + t) / (10 + t))`` at the ``t``-th update
        (``t`` from 0, saved as ``ema_updates``); other weights are copied.
        """
        t = tf.cast(self.ema_updates.value, "float32")
        beta = tf.minimum(tf.constant(self.ema_decay, "float32"), (1.0 + t) / (10.0 + t))
        trainable = {id(v) for v in self.generator.trainable_weights}
        pairs = []
        for source, target in zip(self.generator.weights, self.ema_generator.weights):
            value = tf.convert_to_tensor(source.value)
            if id(source) in trainable:
                value = beta * tf.convert_to_tensor(target.value) + (1.0 - beta) * value
            pairs.append((target, value))
        pairs.append((self.ema_updates, self.ema_updates.value + 1))
        assign_variables(pairs)

    def sampling_generator(self, use_ema=True):
        """The network that samples: ``ema_generator`` when there is one and ``use_ema``."""
        if use_ema and self.ema_generator is not None:
            return self.ema_generator
        return self.generator

    def augment_images(self, images):
        """Images as the discriminator sees them in training (unchanged when ``augment`` is None).

        The transforms' random numbers come from the seed generator, drawn
        for the global batch and split by replica like the latents.
        """
        if self.augment is None:
            return images
        batch = tf.shape(images)[0]

        def uniform(tail):
            return replica_share(
                lambda n: keras.random.uniform((n, *tail), seed=self.seed_generator), batch
            )

        p = tf.convert_to_tensor(self.ada_p.value) if self.augment == augment_lib.ADA else None
        return augment_lib.augment_images(images, self.augment, uniform, p=p)

    def discriminate(self, images, conditions=(), network=None, training=True):
        """Score images with the discriminator, augmented when ``training`` (generator updates use it).

        Args:
            images: image batch.
            conditions: extra inputs after the images (a conditional GAN's labels).
            network: the discriminator to call (default ``self.discriminator``).
            training: bool.
        """
        network = self.discriminator if network is None else network
        if training:
            images = self.augment_images(images)
        return network([images, *conditions] if conditions else images, training=training)

    def fuses_discriminator(self, network=None):
        """Whether the discriminator update scores real and fake images in one call of ``network``.

        True when no layer of the network mixes the examples of a batch
        (``batch_coupled_layers`` finds none: WGAN-GP's critic, spectral-norm
        discriminators without batch norm). One call on the concatenated
        batch then gives each example the score two calls would, with half
        the kernel launches. A network with batch norm is called on each
        batch alone, so real and fake images keep batch statistics of their own.

        Args:
            network: the discriminator (default ``self.discriminator``).
        """
        network = self.discriminator if network is None else network
        return not batch_coupled_layers(network)

    def input_gradient_scale(self):
        """The factor input-gradient penalties scale their network's output by, or None.

        Under ``mixed_float16`` the discriminator's optimizer scales its
        loss (``LossScaleOptimizer``) so float16 gradients do not underflow;
        a gradient with respect to the images (R1) needs the same scaling on
        its own backward pass: the output is multiplied by the current loss
        scale before that gradient and the gradient divided by it after.
        None (no scaling) for other policies.
        """
        if isinstance(self.d_optimizer, keras.optimizers.LossScaleOptimizer):
            return tf.cast(tf.stop_gradient(self.d_optimizer.scale_loss(tf.constant(1.0))), "float32")
        return None

    def discriminator_outputs(self, real, fake, conditions=(), network=None):
        """The discriminator's outputs inside its update, and the R1 term.

        Both batches pass through ``augment_images`` (real first, then fake,
        each with its own random draws); a network that scores examples
        independently (``fuses_discriminator``) is then called once on the
        concatenated batch and its output split, otherwise once per batch.
        The R1 penalty (when ``r1_weight > 0``, on every ``r1_every``-th
        update) is the squared gradient of the outputs with respect to the
        augmented real images (loss-scaled under ``mixed_float16``, see
        ``input_gradient_scale``), from the same forward pass when
        ``r1_every == 1``. ADA's statistics of ``sign(D(real))`` are
        accumulated here, from the real outputs.

        Call it inside the update's ``GradientTape``.

        Returns:
            ``(real_out, fake_out, penalty)``: ``penalty`` is the weighted R1
            term to add to the loss, or None when R1 is off.
        """
        network = self.discriminator if network is None else network
        fused = self.fuses_discriminator(network)
        conditions = list(conditions)

        def inputs(x, conds):
            return [x, *conds] if conds else x

        real_in = self.augment_images(real)
        fake_in = self.augment_images(fake)
        penalty = None

        def score(real_x):
            # (real_out, fake_out); fake_out is None when fake needs a call of its own.
            if not fused:
                return network(inputs(real_x, conditions), training=True), None
            both = tf.concat([real_x, tf.cast(fake_in, real_x.dtype)], axis=0)
            doubled = [tf.concat([c, c], axis=0) for c in conditions]
            out = network(inputs(both, doubled), training=True)
            n = tf.shape(real_x)[0]
            return out[:n], out[n:]

        scale = self.input_gradient_scale() if self.r1_weight else None

        def scaled_sum(out):
            total = tf.reduce_sum(tf.cast(out, "float32"))
            return total if scale is None else total * scale

        def squared_gradient(tape, total, x):
            grad = tf.cast(tape.gradient(total, x), "float32")
            if scale is not None:
                grad = grad / scale
            return tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]))

        if self.r1_weight and self.r1_every == 1:
            # Every update: the gradient of the forward pass the loss uses
            # (through the concatenation when fused: the real rows' part).
            with tf.GradientTape() as r1_tape:
                r1_tape.watch(real_in)
                real_out, fake_out = score(real_in)
                total = scaled_sum(real_out)
            value, due = squared_gradient(r1_tape, total, real_in), tf.constant(True)
        else:
            real_out, fake_out = score(real_in)
        if self.r1_weight and self.r1_every > 1:
            # Lazy: a pass of its own on the due updates only (StyleGAN2's
            # separate regularization pass), skipped by the conditional.
            def r1():
                x = tf.identity(real_in)  # this branch's own tensor, for the tape to watch
                with tf.GradientTape() as r1_tape:
                    r1_tape.watch(x)
                    total = scaled_sum(network(inputs(x, conditions), training=True))
                return squared_gradient(r1_tape, total, x)

            due = tf.equal(self.d_optimizer.iterations % self.r1_every, 0)
            value = tf.cond(due, r1, lambda: tf.constant(0.0))
        if self.r1_weight:
            self.r1_tracker.update_state(value, sample_weight=tf.cast(due, "float32"))
            penalty = (0.5 * self.r1_weight * self.r1_every) * value
        if fake_out is None:
            fake_out = network(inputs(fake_in, conditions), training=True)
        if self.augment == augment_lib.ADA:
            self._record_ada(real_out)
        return real_out, fake_out, penalty

    def _record_ada(self, real_out):
        signs = tf.reduce_sum(tf.sign(tf.cast(real_out, "float32")))
        count = tf.cast(tf.shape(real_out)[0], "float32")
        stats = tf.stack([signs, count])
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            stats = ctx.all_reduce("sum", stats)
        stats = tf.concat([stats, tf.ones([1])], axis=0)
        assign_variables([(self.ada_stats, tf.convert_to_tensor(self.ada_stats.value) + stats)])

    def _adjust_ada(self):
        stats = tf.convert_to_tensor(self.ada_stats.value)
        p = tf.convert_to_tensor(self.ada_p.value)
        due = stats[2] >= self.ada_interval
        adjusted = augment_lib.ada_adjust(p, stats[0], stats[1], self.ada_target, self.ada_kimg * 1000.0)
        new_p = tf.where(due, adjusted, p)
        assign_variables([(self.ada_p, new_p), (self.ada_stats, tf.where(due, tf.zeros_like(stats), stats))])
        self.ada_p_tracker.update_state(new_p)

    def after_update(self, optimizer):
        """What follows an optimizer step (``apply_loss`` calls it).

        After a discriminator update: one power iteration of each of its
        spectral layers and ADA's adjustment of ``p``; after a generator
        update: its spectral layers' power iteration and the EMA step. With
        every stabilizer off it does nothing.
        """
        if optimizer is self.d_optimizer:
            for layer in spectral_layers(self.discriminator):
                layer.power_iteration()
            if self.augment == augment_lib.ADA:
                self._adjust_ada()
        elif optimizer is self.g_optimizer:
            for layer in spectral_layers(self.generator):
                layer.power_iteration()
            if self.ema_generator is not None:
                self.update_ema()

    # ------------------------------------------------------------ compile
    def default_optimizer(self, role):
        """The optimizer ``compile("auto")`` uses for ``role`` ("generator"/"discriminator").

        DCGAN's Adam(2e-4, beta_1=0.5); families override it.
        """
        return keras.optimizers.Adam(2e-4, beta_1=0.5, name=f"{role}_adam")

    def _resolve_optimizer(self, spec, role):
        if isinstance(spec, str) and spec == "auto":
            opt = self.default_optimizer(role)
        else:
            opt = keras.optimizers.get(spec)
            if isinstance(spec, keras.optimizers.Optimizer):
                opt = spec
        if opt is None:
            raise ValueError(f"{role} optimizer is required: pass 'auto' or an optimizer.")
        if self.precision == "mixed_float16" and not isinstance(
            opt, keras.optimizers.LossScaleOptimizer
        ):
            # float16 gradients underflow without dynamic loss scaling.
            opt = keras.optimizers.LossScaleOptimizer(opt, name=f"{role}_loss_scale")
        return opt

    def compile(self, g_optimizer="auto", d_optimizer="auto", loss="auto", **kwargs):
        """Configure training.

        Args:
            g_optimizer: ``"auto"`` (the family default), an optimizer name,
                config dict or instance, for the generator.
            d_optimizer: same, for the discriminator (critic).
            loss: ``"auto"`` (the family default), a name from
                ``kg.losses.get`` (``"non_saturating"``, ``"least_squares"``,
                ``"wasserstein"``, ``"hinge"``, ``"minimax"``) or a pair
                ``(discriminator_loss_fn, generator_loss_fn)``.
            **kwargs: ``jit_compile``, ``steps_per_execution``, ``run_eagerly``
                for ``keras.Model.compile``.

        Example:
            >>> gan.compile(g_optimizer=keras.optimizers.Adam(1e-4), loss="hinge")
        """
        for key in ("optimizer", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"GAN.compile does not take {key}=: use g_optimizer=, d_optimizer= and loss=."
                )
            kwargs.pop(key, None)
        super().compile(optimizer=None, loss=None, **kwargs)
        self.g_optimizer = self._resolve_optimizer(g_optimizer, "generator")
        self.d_optimizer = self._resolve_optimizer(d_optimizer, "discriminator")
        self.loss_spec = self.default_loss if loss == "auto" else loss
        if self.r1_weight and self.loss_spec == "wasserstein":
            raise ValueError(
                "r1_weight is for non-Wasserstein losses: use loss='non_saturating' (or hinge...) "
                "with R1, or r1_weight=0 with the Wasserstein loss."
            )
        if isinstance(self.loss_spec, str):
            self.d_loss_fn, self.g_loss_fn = losses_lib.get(self.loss_spec)
        elif isinstance(self.loss_spec, (tuple, list)) and len(self.loss_spec) == 2:
            self.d_loss_fn, self.g_loss_fn = self.loss_spec
        else:
            raise ValueError(
                "loss must be 'auto', a loss name or a (d_loss_fn, g_loss_fn) pair, "
                f"got {loss!r}."
            )
        self._compile_kwargs = {
            k: kwargs[k] for k in ("jit_compile", "steps_per_execution") if k in kwargs
        }

    def optimizers(self):
        """Return ``{name: optimizer}`` for every optimizer this GAN trains with."""
        return {"g_optimizer": self.g_optimizer, "d_optimizer": self.d_optimizer}

    def optimizer_variables(self):
        """Return ``{optimizer name: the variables it updates}`` (used to build them)."""
        return {
            "g_optimizer": self.generator.trainable_variables,
            "d_optimizer": self.discriminator.trainable_variables,
        }

    def get_compile_config(self):
        if not self.compiled:
            return None
        loss = self.loss_spec
        if not isinstance(loss, str):
            loss = [keras.saving.serialize_keras_object(fn) for fn in loss]
        config = {
            name: keras.optimizers.serialize(opt) for name, opt in self.optimizers().items()
        }
        config["loss"] = loss
        config.update(self._compile_kwargs)
        return config

    def compile_from_config(self, config):
        config = dict(config)
        for name in self.optimizers():
            config[name] = keras.optimizers.deserialize(config[name])
        if isinstance(config.get("loss"), list):
            config["loss"] = tuple(
                keras.saving.deserialize_keras_object(fn) for fn in config["loss"]
            )
        self.compile(**config)
        self.build_optimizers()

    def build_optimizers(self):
        """Create every optimizer's variables (slots) now, so a checkpoint can fill them."""
        variables = self.optimizer_variables()
        for name, opt in self.optimizers().items():
            if not opt.built:
                opt.build(variables[name])

    # ------------------------------------------------------------ sampling
    def call(self, inputs, training=False):
        """Run the generator: ``gan(z)`` returns images in [-1, 1].

        In inference (``training=False``) a GAN with ``ema_decay`` runs its
        ``ema_generator``.
        """
        net = self.generator if training else self.sampling_generator()
        return net(inputs, training=training)

    def sample_latent(self, n, seed=None):
        """Return ``n`` latent vectors as a float32 numpy array ``[n, latent_dim]``.

        Args:
            n: int, how many.
            seed: int for a reproducible draw; None for fresh noise. This never
                touches the training noise state.

        Returns:
            ``np.ndarray`` of standard normal samples: for an int seed,
            ``kg.sampling.latents(n, latent_dim, seed)``, the latents the
            exported ``sample`` signature draws for that seed (TF's Philox
            ``stateless_normal`` with ``seed=[seed, 0]``), so one seed means
            the same images in Python, the CLI, TF Serving and TFLite.
        """
        from keras_gans.sampling import latents

        n = self._check_count(n)
        if seed is None:
            # Fresh noise: a fresh seed, from the OS entropy pool, not global state.
            seed = int(np.random.default_rng().integers(2**62))
        return latents(n, self.latent_dim, seed)

    @staticmethod
    def _check_count(n):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}.")
        return int(n)

    def truncate(self, z, truncation):
        """The truncation trick: latents scaled toward the mean latent by ``psi``.

        For a z-space family the mean latent is 0, so it is ``psi * z``
        (``psi = 1`` or None: unchanged). Smaller ``psi`` trades variety for
        typical, cleaner samples.

        Args:
            z: array ``[n, latent_dim]``.
            truncation: None or ``psi`` in (0, 1].
        """
        truncation = check_truncation(truncation)
        if truncation is None or truncation == 1.0:
            return z
        return (np.asarray(z, "float32") * np.float32(truncation)).astype("float32")

    def generate(self, n, seed=None, batch_size=256, truncation=None, use_ema=True):
        """Generate ``n`` images.

        Args:
            n: int, how many images.
            seed: int for reproducible samples, None for fresh ones.
            batch_size: int, images generated per forward pass.
            truncation: None or ``psi`` in (0, 1]: latents scaled toward the
                mean latent (``truncate``).
            use_ema: bool, sample with ``ema_generator`` when the GAN has one.

        Returns:
            float32 ``np.ndarray`` ``[n, height, width, channels]`` in [-1, 1].

        Example:
            >>> images = gan.generate(16, seed=0)
        """
        check_truncation(truncation)
        z = self.truncate(self.sample_latent(n, seed), truncation)
        return self._run_generator([z], batch_size, use_ema=use_ema)

    def generate_from_latents(self, z, batch_size=256, use_ema=True):
        """Images for given latents ``z`` ``[n, latent_dim]`` (``kg.sampling.interpolate`` uses it)."""
        return self._run_generator([np.asarray(z, "float32")], batch_size, use_ema=use_ema)

    def preview(self, n, seed=0, inputs=None):
        """Images for a progress grid: ``n`` samples from a fixed seed.

        Families override it (conditional GANs cycle through classes, CycleGAN
        shows translations of ``inputs``).
        """
        return self.generate(n, seed=seed)

    def _run_generator(self, inputs, batch_size, use_ema=True, generator=None):
        # In inference, batch_size inputs at a time; generator=None: the sampling one.
        generator = generator or self.sampling_generator(use_ema)
        out = []
        for start in range(0, len(inputs[0]), batch_size):
            chunk = [x[start : start + batch_size] for x in inputs]
            chunk = chunk[0] if len(chunk) == 1 else chunk
            out.append(keras.ops.convert_to_numpy(generator(chunk, training=False)))
        return np.concatenate(out).astype("float32")

    # ------------------------------------------------------------ training
    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker] + self.stabilizer_trackers

    def unpack_data(self, data):
        """Return the real images of a batch (labels, if any, are ignored)."""
        if isinstance(data, (tuple, list)):
            if not data:
                raise ValueError("the dataset yields empty tuples: yield image batches.")
            data = data[0]
        if isinstance(data, dict):
            raise ValueError(
                "the dataset yields dicts: map it to image batches (or (images, labels))."
            )
        return validate_images(data, self.image_shape)

    def noise(self, batch_size, seed_generator=None):
        """Draw latents: training ones from the model's seed generator by default.

        Args:
            batch_size: int or scalar tensor, this replica's batch size.
            seed_generator: the ``keras.random.SeedGenerator`` to draw from;
                None for ``self.seed_generator`` (``test_step`` passes
                ``self.eval_seed_generator``).
        """
        seed_generator = self.seed_generator if seed_generator is None else seed_generator
        return replica_share(
            lambda n: keras.random.normal((n, self.latent_dim), seed=seed_generator),
            batch_size,
        )

    #: counter at which the evaluation noise starts: the evaluation stream is
    #: the training seed's, this far past any draw a training run makes.
    EVAL_NOISE_COUNTER = 2**40

    def reset_eval_noise(self):
        """Restart the evaluation noise (``evaluate`` calls it first).

        ``test_step`` draws from ``eval_seed_generator``, never from the
        training ``seed_generator``, so ``evaluate()`` and ``validation_data``
        leave the training noise where it was: a run's weights do not depend
        on how often it validates. Each ``evaluate`` restarts the evaluation
        noise from the training seed (state ``[seed, 2**40]``), so every
        validation pass sees the same noise and its losses differ only by the
        weights. The state is derived, never saved: a loaded model evaluates
        with the same noise.
        """
        state = self.eval_seed_generator.state
        seed = keras.ops.convert_to_numpy(self.seed_generator.state.value)[0]
        state.assign(np.array([seed, self.EVAL_NOISE_COUNTER], dtype=state.dtype))

    def evaluate(self, *args, **kwargs):
        """``keras.Model.evaluate`` on noise of its own (see ``reset_eval_noise``)."""
        self.reset_eval_noise()
        if kwargs.get("_use_cached_eval_dataset"):  # fit's validation: checked by fit
            return super().evaluate(*args, **kwargs)
        # The data checks of fit, before any step (see fit).
        arguments = inspect.signature(keras.Model.evaluate).bind(self, *args, **kwargs).arguments
        arguments.pop("self")
        extra = arguments.pop("kwargs", {})
        x, y = _split_pair(arguments.get("x"), arguments.get("y"))
        arguments["x"], arguments["y"] = self.checked_data(x, y)
        return self._refused_to_value_error(super().evaluate, **arguments, **extra)

    def apply_loss(self, tape, loss, optimizer, variables):
        """Take one optimizer step on ``loss`` (replica-scaled and loss-scaled)."""
        # The scaling must be recorded on the tape (re-entered here): done
        # outside it, the gradient of the scaled loss is None whenever a
        # scaling applies (several replicas, or a loss-scale optimizer).
        with tape:
            scaled = optimizer.scale_loss(replica_scaled(loss))
        grads = tape.gradient(scaled, variables)
        optimizer.apply_gradients(zip(grads, variables))
        self.after_update(optimizer)

    def discriminator_step(self, real, fake=None):
        """One discriminator update on a real batch; returns the loss.

        Args:
            real: image batch.
            fake: generated batch to score; None draws one from fresh latents.
        """
        if fake is None:
            fake = self.generator(self.noise(tf.shape(real)[0]), training=True)
        fake = tf.stop_gradient(fake)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_out, fake_out, penalty = self.discriminator_outputs(real, fake)
            loss = self.d_loss_fn(real_out, fake_out)
            total = loss if penalty is None else loss + penalty
        self.apply_loss(tape, total, self.d_optimizer, variables)
        return loss

    def generator_step(self, batch):
        """One generator update with ``batch`` fresh latents; returns the loss."""
        z = self.noise(batch)
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            loss = self.g_loss_fn(self.discriminate(fake))
        self.apply_loss(tape, loss, self.g_optimizer, variables)
        return loss

    def _check_compiled(self):
        if self.g_optimizer is None:
            raise ValueError("the GAN is not compiled: call gan.compile() before fit.")

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit``, checking every batch before any weight moves.

        - ``fit((images, labels))`` is ``fit(images, labels)`` (the same for
          CycleGAN's ``(a, b)``).
        - The data checks (dtype, shape, range [-1, 1], NaN and inf, labels in
          ``[0, num_classes)``, batch size) run where XLA cannot drop them, so
          they hold with ``compile(jit_compile=True)``: arrays are checked
          whole before training starts; a ``tf.data.Dataset`` or a Python
          generator is checked batch by batch in the input pipeline, before the
          step receives the batch. A refused batch raises one ``ValueError``
          whose message names the problem and the fix, and leaves the model as
          it was (weights, batch-norm statistics, optimizer iterations, noise
          state). Images that all lie in [0, 1] (``x / 255``) warn once.
        - Stock callbacks that assume one ``model.optimizer`` act on all of the
          GAN's optimizers (``ReduceLROnPlateau``, ``LearningRateScheduler``,
          ``SwapEMAWeights``) or are refused with the keras-gans equivalent
          (``BackupAndRestore``: ``kg.callbacks.GANBackupAndRestore``). Every
          GAN metric is a loss or distance (lower is better), which
          ``EarlyStopping`` and ``ModelCheckpoint`` read with ``mode="auto"``.
        - Keras only warns when the data runs out before the first step; for a
          GAN that silently trains nothing, so it is an error here.

        Other inputs (``keras.utils.PyDataset``, distributed datasets) are
        passed on with their static checks only (dtype and shape, when the
        step is traced).
        """
        self._check_compiled()
        arguments = inspect.signature(keras.Model.fit).bind(self, x, y, *args, **kwargs).arguments
        arguments.pop("self")
        x, y = _split_pair(arguments.get("x"), arguments.get("y"))
        if isinstance(x, tf.data.Dataset) and int(x.cardinality()) == 0:
            raise ValueError("the dataset is empty: it yields no batch (check filters, take() and batch size).")
        arguments["x"], arguments["y"] = self.checked_data(x, y)
        if arguments.get("validation_data") is not None:
            arguments["validation_data"] = self._checked_validation(arguments["validation_data"])
        for metric in self.metrics:
            # Keras' mode="auto" reads a metric's direction from `_direction`.
            if getattr(metric, "_direction", None) is None:
                metric._direction = "down"
        # Optimizer slots created lazily inside a distributed step land in a
        # replica-local branch and fail ("must feed a value for placeholder");
        # created here, under the model's strategy, they are mirrored.
        with self.distribute_strategy.scope():
            self.build_optimizers()
        before = self._progress()
        undo = self._adapt_callbacks(arguments.get("callbacks"))
        try:
            history = super().fit(**arguments)
        except (ValueError, tf.errors.OpError) as err:
            message = refusal_message(err)
            if message is None:
                raise
            raise ValueError(message) from None
        finally:
            undo()
        if history.epoch:
            self._finalize_ema()
        # history.epoch lists the epochs that ran: none when the run was
        # already complete (e.g. restored by a backup callback at its end).
        if history.epoch and self._progress() == before:
            raise ValueError("the dataset is empty: fit ran no training step (check the data source).")
        return history

    # ------------------------------------------------------------ data checks
    def value_problems(self, unpacked):
        """Checks of the values of an unpacked batch (what ``unpack_data`` returns).

        Families add theirs (the conditional GAN checks its labels).

        Returns:
            list of ``(problem, warning)`` scalar string tensors, ``""`` when none.
        """
        if self.data_kind == "unpaired":
            checks = [image_problems(unpacked[0], "domain A images"),
                      image_problems(unpacked[1], "domain B images")]
            images = unpacked[0]
        else:
            checks = [image_problems(unpacked, "images")]
            images = unpacked
        # Families that split a batch (WGAN-GP: one slice per critic step)
        # need at least that many images in every batch.
        least = int(getattr(self, "critic_steps", 1))
        if least > 1:
            n = tf.shape(images)[0]
            checks.append((first_problem([(n < least, lambda: tf.strings.format(
                f"a batch of {{}} images cannot feed {least} critic steps: use batches of at "
                f"least {least} images (batch(..., drop_remainder=True) drops a short last batch).",
                (n,)))]), tf.constant("")))
        return checks

    def data_problems(self, data):
        """What is wrong with a batch: ``(problem, warning)`` one-line messages.

        Runs the static checks of ``unpack_data`` (raising ``ValueError``) and
        the value checks of ``value_problems``, eagerly or in a graph (``fit``
        runs it in the input pipeline).

        Args:
            data: a batch as the train step receives it.

        Returns:
            ``(problem, warning)`` scalar string tensors, ``""`` when none.
        """
        checks = self.value_problems(self.unpack_data(data))
        return first_nonempty([p for p, _ in checks]), first_nonempty([w for _, w in checks])

    def check_batch(self, data):
        """Check a batch (or whole arrays) now: raise ``ValueError`` or warn once.

        Example:
            >>> gan.check_batch(np.full((2, 28, 28, 1), 255.0, "float32"))  # doctest: +SKIP
            ValueError: images must lie in [-1, 1], got values in [255, 255] like 0..255 pixels: ...
        """
        problem, warning = self.data_problems(data)
        problem = problem.numpy().decode()
        if problem:
            raise ValueError(problem)
        self._warn_once(warning.numpy().decode())

    def _warn_once(self, text):
        if text and not getattr(self, "_range_warned", False):
            self._range_warned = True
            warnings.warn(text, UserWarning, stacklevel=3)
        return True

    def checked_dataset(self, dataset):
        """``dataset`` with every batch checked in the pipeline, before a step uses it.

        A refused batch stops the iterator with ``tf.errors.InvalidArgumentError``
        carrying the one-line message (``fit`` raises it as ``ValueError``),
        and the batch never reaches the train step; ``jit_compile=True``
        cannot drop the check, since it is not part of the compiled step.
        """

        @tf.autograph.experimental.do_not_convert
        def check(*data):
            batch = data[0] if len(data) == 1 else data
            problem, warning = self.data_problems(batch)
            refuse = tf.debugging.Assert(
                tf.equal(problem, ""), [REFUSED_OPEN, problem, REFUSED_CLOSE]
            )
            # The warning is raised from Python, only for a batch that needs it.
            warn = tf.cond(
                tf.equal(warning, ""),
                lambda: tf.constant(True),
                lambda: tf.py_function(
                    lambda text: self._warn_once(text.numpy().decode()), [warning], tf.bool
                ),
            )
            with tf.control_dependencies([refuse, warn]):
                return tf.nest.map_structure(tf.identity, batch)

        return dataset.map(check)

    def _checked_generator(self, generator):
        for batch in generator:
            try:
                self.check_batch(batch)
            except ValueError as err:
                # Raised inside tf.data's generator op, which wraps it.
                raise ValueError(f"{REFUSED_OPEN} {err} {REFUSED_CLOSE}") from None
            yield batch

    def checked_data(self, x, y=None):
        """``(x, y)`` for ``fit``/``evaluate``, checked or wrapped to be checked per batch.

        Arrays (numpy, tensors) are checked whole now; a ``tf.data.Dataset``
        and a Python generator are wrapped so each batch is checked before it
        reaches a step. Other inputs are returned as they are.
        """
        if isinstance(x, tf.data.Dataset):
            return self.checked_dataset(x), y
        if isinstance(x, types.GeneratorType):
            return self._checked_generator(x), y
        if _is_array(x) and (y is None or _is_array(y)):
            self.check_batch(x if y is None else (x, y))
        return x, y

    def _checked_validation(self, data):
        if isinstance(data, (tuple, list)) and len(data) in (2, 3) and all(_is_array(d) for d in data[:2]):
            x, y = self.checked_data(data[0], data[1])
            return (x, y, *data[2:])
        return self.checked_data(data)[0]

    def _refused_to_value_error(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, tf.errors.OpError) as err:
            message = refusal_message(err)
            if message is None:
                raise
            raise ValueError(message) from None

    def train_on_batch(self, x, y=None, *args, **kwargs):
        """``keras.Model.train_on_batch``, checking the batch first (see ``fit``)."""
        self._check_compiled()
        x, y = _split_pair(x, y)
        self.checked_data(x, y)
        return super().train_on_batch(x, y, *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        """``keras.Model.test_on_batch``, checking the batch first (see ``fit``)."""
        self._check_compiled()
        x, y = _split_pair(x, y)
        self.checked_data(x, y)
        return super().test_on_batch(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """``keras.Model.predict``: latents ``z [n, latent_dim]`` -> images in [-1, 1].

        It runs the generator, like ``gan(z)``; ``generate(n, seed=...)``
        draws the latents too. Other inputs are refused with the fix.
        """
        self.check_predict_inputs(x)
        return super().predict(x, *args, **kwargs)

    def check_predict_inputs(self, x):
        """Raise ``ValueError`` naming the fix when ``x`` is not what ``predict`` takes."""
        if not _is_array(x):
            return
        shape = tuple(x.shape)
        if len(shape) == 2 and shape[1] == self.latent_dim:
            return
        if tuple(shape[1:]) == self.image_shape or len(shape) == 4:
            raise ValueError(
                f"{type(self).__name__}.predict maps latents z [n, {self.latent_dim}] to images, "
                f"got images {list(shape)}: score images with gan.discriminator.predict(images); "
                "make images with gan.predict(gan.sample_latent(n)) or gan.generate(n)."
            )
        raise ValueError(
            f"{type(self).__name__}.predict takes latents z of shape [n, {self.latent_dim}], got "
            f"{list(shape)}: draw them with gan.sample_latent(n) (or call gan.generate(n))."
        )

    # ------------------------------------------------------------ callbacks
    def _adapt_callbacks(self, callbacks):
        """Refuse or adapt stock Keras callbacks that assume one ``model.optimizer``.

        Returns a callable that undoes the adaptation (run when ``fit`` ends).
        """
        if not callbacks or isinstance(callbacks, keras.callbacks.CallbackList):
            return lambda: None
        optimizers = {name: getattr(o, "inner_optimizer", o) for name, o in self.optimizers().items()}
        adapted = []
        for cb in callbacks:
            stock = type(cb).__module__.startswith("keras.")
            kind = type(cb).__name__
            if stock and isinstance(cb, keras.callbacks.BackupAndRestore):
                raise ValueError(
                    "keras.callbacks.BackupAndRestore restores one model.optimizer and a GAN trains "
                    f"with {len(optimizers)} ({', '.join(optimizers)}): use "
                    "kg.callbacks.GANBackupAndRestore(backup_dir), which restores them all and the noise state."
                )
            if isinstance(cb, (keras.callbacks.ReduceLROnPlateau, keras.callbacks.LearningRateScheduler)):
                for name, opt in optimizers.items():
                    if isinstance(opt._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
                        raise ValueError(
                            f"{kind} sets the learning rates, but {name} follows a schedule "
                            f"({type(opt._learning_rate).__name__}): give it a constant learning "
                            f"rate, or drop {kind} and let the schedule decide."
                        )
            if isinstance(cb, keras.callbacks.SwapEMAWeights) and not any(
                getattr(opt, "use_ema", False) for opt in optimizers.values()
            ):
                raise ValueError(
                    "SwapEMAWeights swaps in the moving averages of optimizers with use_ema=True, and "
                    "no optimizer of this GAN has it: build the GAN with ema_decay=0.999 (an EMA "
                    "generator that sampling uses), or compile(g_optimizer=keras.optimizers.Adam("
                    "2e-4, beta_1=0.5, use_ema=True))."
                )
            if isinstance(cb, VIEW_CALLBACKS) and "set_model" not in vars(cb):
                adapted.append(cb)
                # The callback sees the GAN through a view with every optimizer
                # as model.optimizer.optimizers and the metrics' directions.
                cb.set_model = lambda model, cb=cb: type(cb).set_model(cb, GANView(model))

        def undo():
            for cb in adapted:
                del cb.set_model
                type(cb).set_model(cb, self)

        return undo

    def _finalize_ema(self):
        # keras.Model.fit ends by writing an EMA optimizer's averages into the
        # weights (model.optimizer.finalize_variable_values); the same here,
        # for each of the GAN's optimizers that keeps an EMA.
        variables = self.optimizer_variables()
        for name, opt in self.optimizers().items():
            inner = getattr(opt, "inner_optimizer", opt)
            if getattr(inner, "use_ema", False):
                inner.finalize_variable_values(variables[name])

    def _progress(self):
        # Optimizer steps, plus the loss scales: a mixed_float16 step whose
        # gradients overflow is skipped (iterations stay) but halves the scale.
        state = []
        for opt in self.optimizers().values():
            state.append(int(opt.iterations.numpy()))
            if isinstance(opt, keras.optimizers.LossScaleOptimizer):
                state.append(float(opt.dynamic_scale.numpy()))
        return state

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under MultiWorkerMirroredStrategy Keras builds the model by reducing
        # the first batch across workers, which fails on (images, labels) and
        # (a, b) batches. A GAN needs no such build: its networks are built in
        # __init__ and its optimizers in fit().
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        def gated_step(data):
            # Every op of the step waits for the batch. Without this, ops that
            # do not read it (the noise draws, the generator's forward pass and
            # its batch-norm statistics, the optimizers' step counters) run
            # once Keras inlines the step next to the iterator's get_next, even
            # when get_next fails: a refused batch must leave the model as it was.
            inputs = [t for t in tf.nest.flatten(data) if isinstance(t, tf.Tensor)]
            with tf.control_dependencies(inputs):
                return self.train_step(data)

        step = gated_step
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages a multi-worker step's logs with
            # strategy.reduce("MEAN", value, axis=0), which fails on the
            # scalars every train_step returns; as shape-[1] tensors they
            # reduce to the mean over all replicas.
            def reduced_step(data):
                return {k: tf.reshape(v, [1]) for k, v in gated_step(data).items()}

            step = reduced_step

        self.train_function = self._make_function(step)
        return self.train_function

    def adversarial_step(self, make_fakes, d_step, g_loss_of):
        """A discriminator update, then a generator update on the same fakes.

        The generator's forward pass is recorded once on an outer tape; the
        discriminator update runs with that tape paused, and the generator
        loss is computed after it, so it scores the fakes with the updated
        discriminator (ops on one variable keep program order in a
        ``tf.function``). One generator pass serves both updates.

        Args:
            make_fakes: callable ``() -> fakes`` running the generator.
            d_step: callable ``(fakes) -> d_loss`` taking the discriminator update.
            g_loss_of: callable ``(fakes) -> g_loss`` scoring them for the generator.

        Returns:
            ``(d_loss, g_loss)``.
        """
        with tf.GradientTape() as tape:
            fake = make_fakes()
            with tape.stop_recording():
                d_loss = d_step(fake)
            g_loss = g_loss_of(fake)
        self.apply_loss(tape, g_loss, self.g_optimizer, self.generator.trainable_variables)
        return d_loss, g_loss

    def train_step(self, data):
        self._check_compiled()
        real = self.unpack_data(data)
        batch = tf.shape(real)[0]
        if self.reuse_fakes:
            d_loss, g_loss = self.adversarial_step(
                lambda: self.generator(self.noise(batch), training=True),
                lambda fake: self.discriminator_step(real, fake),
                lambda fake: self.g_loss_fn(self.discriminate(fake)),
            )
        else:
            d_loss = self.discriminator_step(real)
            g_loss = self.generator_step(batch)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        self._check_compiled()
        real = self.unpack_data(data)
        z = self.noise(tf.shape(real)[0], self.eval_seed_generator)
        fake = self.generator(z, training=False)
        fake_out = self.discriminator(fake, training=False)
        real_out = self.discriminator(real, training=False)
        self.d_loss_tracker.update_state(self.d_loss_fn(real_out, fake_out))
        self.g_loss_tracker.update_state(self.g_loss_fn(fake_out))
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------ saving
    def save_own_variables(self, store):
        # Keras saves the variables this model created itself ("0", "1", ...),
        # such as ones a subclass adds; the networks save their own.
        super().save_own_variables(store)
        # The seed generator is not a Keras layer, so its state would not be
        # saved; saving it makes a resumed run draw the same noise.
        store["seed_state"] = keras.ops.convert_to_numpy(self.seed_generator.state.value)
        for var in self._stabilizer_variables():
            store[var.name] = keras.ops.convert_to_numpy(var.value)

    def _stabilizer_variables(self):
        # The EMA generator's weights are saved as a sub-model of their own.
        found = []
        if self.ema_generator is not None:
            found.append(self.ema_updates)
        if self.augment == augment_lib.ADA:
            found.extend([self.ada_p, self.ada_stats])
        return found

    def load_own_variables(self, store):
        numbered = {key: store[key] for key in store.keys() if key.isdigit()}
        own = self._trainable_variables + self._non_trainable_variables
        # Files saved before the model's own variables were saved hold none:
        # they load as before (families restore what they saved by name).
        if numbered or not own:
            for i, var in enumerate(own):
                value = numbered.get(str(i))
                if value is not None and tuple(value.shape) != tuple(var.shape):
                    raise ValueError(
                        f"the saved {var.name} has shape {tuple(value.shape)} but this model's is "
                        f"{tuple(var.shape)}: build the model with the config it was saved with."
                    )
            super().load_own_variables(numbered)
        if "seed_state" in store:
            self.seed_generator.state.assign(np.asarray(store["seed_state"]))
        for var in self._stabilizer_variables():
            if var.name in store:
                var.assign(np.asarray(store[var.name]))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "image_shape": list(self.image_shape),
            "seed": self.seed,
            "precision": self.precision,
            "reuse_fakes": self.reuse_fakes,
            "ema_decay": self.ema_decay,
            "spectral_norm": self.spectral_norm,
            "r1_weight": self.r1_weight,
            "r1_every": self.r1_every,
            "augment": self.augment,
            "ada_target": self.ada_target,
            "ada_interval": self.ada_interval,
            "ada_kimg": self.ada_kimg,
        }

    #: config keys holding serialized networks, deserialized by from_config.
    network_keys = ("generator", "discriminator")

    @classmethod
    def config_keys(cls):
        """Return the set of keys a config of this class may hold.

        They are the keyword arguments of every ``__init__`` from this class up
        to ``GAN``, plus the ``name``, ``trainable`` and ``dtype`` that
        ``keras.Model`` takes.

        Example:
            >>> "width" in kg.models.DCGAN.config_keys()
            True
        """
        import inspect

        keys = {"name", "trainable", "dtype"}
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is not None:
                keys.update(
                    p.name
                    for p in inspect.signature(init).parameters.values()
                    if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                )
            if klass is GAN:
                break
        return keys

    @classmethod
    def check_config_keys(cls, config):
        """Raise ``ValueError`` naming the first key of ``config`` this class does not take."""
        import difflib

        known = cls.config_keys()
        unknown = sorted(str(k) for k in config if k not in known)
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown {cls.__name__} config key {unknown[0]!r}{hint}: known keys are "
                f"{', '.join(sorted(known))}."
            )

    @classmethod
    def from_config(cls, config):
        # Deserializing consumes nested dicts, so work on a deep copy: the
        # caller's config must stay usable.
        config = copy.deepcopy(config)
        cls.check_config_keys(config)
        for key in cls.network_keys:
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        try:
            return cls(**config)
        except TypeError as err:
            raise ValueError(f"invalid {cls.__name__} config: {err}") from None
