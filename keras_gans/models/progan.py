"""ProGAN: a Progressive GAN that grows its resolution inside ``fit``."""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gans import losses as losses_lib
from keras_gans.models.gan import GAN, assign_variables, replica_share
from keras_gans.networks import progan as nets


def _number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float, np.number))


def _positive_int(value):
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= 1


@keras.saving.register_keras_serializable(package="keras_gans")
class ProGAN(GAN):
    """Progressive growing of GANs (Karras et al., 2018), trained with plain ``fit``.

    Training starts at a small resolution (4x4; 7x7 for 28x28 data, which
    grows 7 -> 14 -> 28) and doubles it stage by stage up to ``image_shape``.
    Each new stage's blocks are faded in linearly over ``images_per_stage``
    real images, then trained at full strength (stabilized) for as many;
    the first stage only stabilizes and the last stabilizes until training
    ends. After ``n`` real images the position is:

    =========================  =====  =========================================
    images seen ``n``          stage  fade-in ``alpha``
    =========================  =====  =========================================
    ``[0, K)``                 0      1
    ``[(2s-1)K, 2sK)``         s      ``(n - (2s-1)K) / K``, from 0 up to 1
    ``[2sK, (2s+1)K)``         s      1
    ``>= (2S-2)K``             S-1    1 (the last stage, for the rest of training)
    =========================  =====  =========================================

    with ``K = images_per_stage`` and ``S`` stages. The count ``images_seen``
    is a variable of the model, increased by the global batch every step
    (all replicas' images under ``tf.distribute``) and saved with it, so
    stage and alpha are functions of saved state: a ``.keras`` file written
    mid-fade resumes at the same alpha, and the resumed ``fit`` ends with
    the weights of an uninterrupted run. A step trains at the position of
    the images seen before its batch.

    While stage ``s`` fades in, the generator's images are
    ``(1 - alpha) * upsample(to_rgb[s-1](h[s-1])) + alpha * to_rgb[s](h[s])``
    and the discriminator blends its new ``from_rgb[s]`` + block with the
    previous stage's ``from_rgb`` on the images halved; real images are
    blended the same way (their stage-``s`` version with its halved-and-upsampled
    version), so reals and fakes are equally sharp. Both networks hold every
    stage's blocks from the start (``kg.networks.progan_generator`` /
    ``progan_discriminator``); a step runs the current stage's path only, so
    the blocks of stages not yet reached get no gradient and early stages
    train fast. ``fit``'s step function reads the stage from ``images_seen``
    before each call and runs that stage's graph (traced when the stage is
    first reached); alpha is a tensor computed in the step from the counter.
    With ``compile(steps_per_execution=k)`` a call runs ``k`` steps at the
    stage it started in: a step that has already reached the next stage
    trains the running one at alpha 1, and the next call starts the new stage.

    Loss: WGAN-GP with the drift term, ``mean(D(G(z))) - mean(D(x)) +
    gp_weight * GP + drift_weight * mean(D(x)**2)``, one critic update per
    generator update, with ``GP`` computed by
    ``kg.losses.wasserstein_gradient_penalty`` on the stage's images.
    ``compile("auto")`` uses Adam(1e-3, beta_1=0, beta_2=0.99, epsilon=1e-8)
    for both networks. Equalized learning rate, pixel norm in the generator
    and minibatch standard deviation in the discriminator are in the networks.

    Sampling: ``generate``, ``gan(z)``, ``predict``, exports and the zoo use
    the full-resolution generator (``sampling_generator()``: a plain
    ``keras.Model`` ``z -> images`` of the last stage, the EMA generator's
    when ``ema_decay`` is set). That is the trained network once training has
    reached the last stage (alpha 1). Called mid-training, ``generate`` still
    runs the full-resolution path, whose upper blocks have not trained yet;
    ``preview`` (what ``kg.callbacks.SampleGrid`` draws) shows the current
    stage at its current alpha, upsampled to full size, and
    ``generate_at_stage(n, stage, seed)`` renders any stage (a growth strip).

    Metrics: ``d_loss`` (with penalty and drift), ``g_loss``, ``wasserstein``
    (``mean(D(x)) - mean(D(G(z)))``), ``gradient_penalty`` and ``drift``
    (``mean(D(x)**2)``), averaged per epoch; the logs also carry the
    position at the last step, ``stage`` and ``alpha``.

    Args:
        latent_dim: int, size of ``z``.
        image_shape: tuple ``(height, width, channels)``: square, side
            ``s * 2**k`` with ``s`` in 3..7 (the start side).
        width: int, filters at full resolution; each lower stage doubles it.
        max_width: int, the most filters any stage has.
        images_per_stage: int, real images of each fade-in and each
            stabilization (600,000 in the paper).
        gp_weight: float, weight of the gradient penalty (10).
        drift_weight: float, weight of ``mean(D(x)**2)`` (0.001), which keeps
            the critic's scores near 0.
        group_size: int >= 2, group of the minibatch standard deviation (4).
        generator: optional network from ``kg.networks.progan_generator``.
        discriminator: optional network from ``kg.networks.progan_discriminator``.
        seed: int or None, seed of the training noise.
        precision: dtype policy of the default networks (see ``kg.models.GAN``).
        **kwargs: passed to ``kg.models.GAN`` (``ema_decay``, ``augment``...).

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.ProGAN(latent_dim=16, width=8, max_width=16, images_per_stage=64)
        >>> gan.compile()
        >>> gan.resolutions, gan.growth(96)
        ([7, 14, 28], (1, 0.5))
        >>> gan.fit(kg.data.load("fashion_mnist", batch_size=16), epochs=1, steps_per_epoch=4)  # doctest: +SKIP
        >>> gan.generate(4, seed=0).shape
        (4, 28, 28, 1)
    """

    family = "progan"
    data_kind = "images"
    default_loss = "wasserstein"

    def __init__(
        self,
        latent_dim=None,
        image_shape=None,
        width=64,
        max_width=512,
        images_per_stage=600_000,
        gp_weight=10.0,
        drift_weight=0.001,
        group_size=4,
        **kwargs,
    ):
        if not _positive_int(images_per_stage):
            raise ValueError(
                f"images_per_stage must be a positive int (real images per fade-in and per "
                f"stabilization, 600000 in the paper), got {images_per_stage!r}."
            )
        for value, what in ((width, "width"), (max_width, "max_width")):
            if not _positive_int(value):
                raise ValueError(f"{what} must be a positive int, got {value!r}.")
        if max_width < width:
            raise ValueError(f"max_width ({max_width}) must be >= width ({width}): raise max_width or lower width.")
        for value, what in ((gp_weight, "gp_weight"), (drift_weight, "drift_weight")):
            if not (_number(value) and float(value) >= 0 and math.isfinite(float(value))):
                raise ValueError(f"{what} must be a number >= 0, got {value!r}.")
        if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) or group_size < 2:
            raise ValueError(f"group_size must be an int >= 2 (4 in the paper), got {group_size!r}.")
        if kwargs.get("spectral_norm"):
            raise ValueError(
                "spectral_norm is not for ProGAN: its layers normalize with equalized learning rate "
                "and its critic with the gradient penalty; drop spectral_norm."
            )
        if kwargs.get("generator") is None:
            nets.progan_resolutions(image_shape if image_shape is not None else (28, 28, 1))
        self.width = int(width)
        self.max_width = int(max_width)
        self.images_per_stage = int(images_per_stage)
        self.gp_weight = float(gp_weight)
        self.drift_weight = float(drift_weight)
        self.group_size = int(group_size)
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, **kwargs)
        self.images_seen = keras.Variable(
            0, dtype="int64", trainable=False, name="images_seen", aggregation="only_first_replica"
        )
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein")
        self.penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.drift_tracker = keras.metrics.Mean(name="drift")
        # Full-resolution views of the generators (plain z -> images models
        # sharing their layers), made on first use. Kept out of Keras'
        # attribute tracking: they hold no state of their own to save.
        object.__setattr__(self, "_full_resolution_views", {})

    # ------------------------------------------------------------ networks
    @property
    def resolutions(self):
        """The side of each stage's images, from the start to ``image_shape`` (``[7, 14, 28]``)."""
        return nets.progan_resolutions(self.image_shape)

    @property
    def num_stages(self):
        """How many stages the model grows through."""
        return len(self.resolutions)

    def build_generator(self):
        return nets.progan_generator(
            self.latent_dim, self.image_shape, width=self.width, max_width=self.max_width,
            dtype=self.network_dtype,
        )

    def build_discriminator(self):
        return nets.progan_discriminator(
            self.image_shape, width=self.width, max_width=self.max_width, group_size=self.group_size,
            dtype=self.network_dtype,
        )

    @staticmethod
    def _infer_shapes(generator, latent_dim, image_shape):
        # A ProGAN generator makes one image per stage: the last is full size.
        outputs = generator.outputs if isinstance(generator.outputs, list) else [generator.outputs]
        g_latent = generator.inputs[0].shape[-1]
        g_image = tuple(outputs[-1].shape[1:])
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
        sides = nets.progan_resolutions(self.image_shape)
        channels = self.image_shape[-1]
        expected = [(s, s, channels) for s in sides]
        made = [tuple(o.shape[1:]) for o in self.generator.outputs]
        names = {layer.name for layer in self.generator.layers}
        wanted = {f"block_{s}x{s}" for s in sides} | {f"to_rgb_{s}x{s}" for s in sides}
        if made != expected or not wanted <= names:
            raise ValueError(
                f"a ProGAN generator makes one image per stage, {expected}, with nested block_RxR and "
                f"to_rgb_RxR models; {self.generator.name!r} makes {made}: build it with "
                "kg.networks.progan_generator."
            )
        d_in = tuple(self.discriminator.inputs[0].shape[1:])
        names = {layer.name for layer in self.discriminator.layers}
        wanted = {f"block_{s}x{s}" for s in sides} | {f"from_rgb_{s}x{s}" for s in sides}
        if d_in != self.image_shape or len(self.discriminator.outputs) != len(sides) or not wanted <= names:
            raise ValueError(
                f"a ProGAN discriminator takes {self.image_shape} images and scores them at each of "
                f"the {len(sides)} stages, with nested from_rgb_RxR and block_RxR models; "
                f"{self.discriminator.name!r} does not: build it with kg.networks.progan_discriminator."
            )

    def default_optimizer(self, role):
        """Adam(1e-3, beta_1=0, beta_2=0.99, epsilon=1e-8) for both networks, as in the paper."""
        return keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.99, epsilon=1e-8, name=f"{role}_adam")

    # ------------------------------------------------------------ the schedule
    def growth_tensors(self, images_seen):
        """``(stage, alpha)`` as tensors (int32, float32) after ``images_seen`` (int64 tensor) real images."""
        n = tf.cast(images_seen, tf.int64)
        per = tf.constant(self.images_per_stage, tf.int64)
        last = self.num_stages - 1
        phase = n // per
        stage = tf.minimum((phase + 1) // 2, last)
        fading = tf.logical_and(tf.equal(phase % 2, 1), phase < 2 * last)
        fraction = tf.cast(n - phase * per, tf.float32) / tf.cast(per, tf.float32)
        alpha = tf.where(fading, fraction, tf.constant(1.0))
        return tf.cast(stage, tf.int32), alpha

    def growth(self, images_seen=None):
        """The stage and fade-in alpha after ``images_seen`` real images (None: the model's count).

        Returns:
            ``(stage, alpha)``: int and float.

        Example:
            >>> gan = kg.models.ProGAN(width=8, max_width=16, images_per_stage=100)
            >>> [gan.growth(n) for n in (0, 100, 150, 200, 300, 10**6)]
            [(0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0), (2, 0.0), (2, 1.0)]
        """
        if images_seen is None:
            images_seen = self.images_seen.value
        elif isinstance(images_seen, bool) or not isinstance(images_seen, (int, np.integer)) or images_seen < 0:
            raise ValueError(f"images_seen must be an int >= 0, got {images_seen!r}.")
        stage, alpha = self.growth_tensors(tf.constant(images_seen, tf.int64))
        return int(stage.numpy()), float(alpha.numpy())

    @property
    def stage(self):
        """The current stage (0 is the start resolution), from ``images_seen``."""
        return self.growth()[0]

    @property
    def alpha(self):
        """The current fade-in alpha in [0, 1] (1 outside fade-ins), from ``images_seen``."""
        return self.growth()[1]

    # ------------------------------------------------------------ stage dispatch
    def stage_of(self, images_seen):
        """The stage after ``images_seen`` real images, in Python ints (what ``growth_tensors`` computes)."""
        phase = int(images_seen) // self.images_per_stage
        return min((phase + 1) // 2, self.num_stages - 1)

    def _per_stage(self, build):
        # A step runs one stage's path, a graph of its own: the function that
        # runs the steps reads the stage from images_seen before each call and
        # runs (tracing it the first time) that stage's function. Only the
        # stages a run reaches are traced, each graph holds only its stage's
        # blocks, and alpha stays a tensor computed in the step from the
        # counter.
        functions = {}

        def run(*args, **kwargs):
            stage = self.stage_of(keras.ops.convert_to_numpy(self.images_seen.value))
            if stage not in functions:
                functions[stage] = build()
            # Read by train_step / test_step when the function is traced (or
            # run eagerly).
            object.__setattr__(self, "_step_stage", stage)
            return functions[stage](*args, **kwargs)

        return run

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function

        def build():
            function = super(ProGAN, self).make_train_function(force=True)
            self.train_function = dispatch
            return function

        dispatch = self._per_stage(build)
        self.train_function = dispatch
        return dispatch

    def make_test_function(self, force=False):
        if self.test_function is not None and not force:
            return self.test_function

        def build():
            function = super(ProGAN, self).make_test_function(force=True)
            self.test_function = dispatch
            return function

        dispatch = self._per_stage(build)
        self.test_function = dispatch
        return dispatch

    def _position(self):
        """``(stage, alpha)`` of this step: the stage of the running function (a Python int), alpha a tensor.

        With ``steps_per_execution > 1`` one function call runs several steps
        at the stage it started in; a step whose count has already reached
        the next stage trains the running stage at alpha 1 (stabilizing), and
        the next call starts the new stage.
        """
        stage = getattr(self, "_step_stage", None)
        if stage is None:  # a train_step called directly, eagerly
            stage = self.stage_of(keras.ops.convert_to_numpy(self.images_seen.value))
        counted, alpha = self.growth_tensors(self.images_seen.value)
        return stage, tf.where(tf.equal(counted, stage), alpha, tf.constant(1.0))

    # ------------------------------------------------------------ stage paths
    def real_at_stage(self, real, stage, alpha):
        """Real images as the critic sees them at ``stage``: average-pooled to its resolution.

        During a fade-in they are blended with their halved-and-upsampled
        version by ``alpha``, as the generator's images are blended.
        """
        x = nets.downsample(real, self._factor(stage))
        if stage == 0:
            return x
        blurred = nets.upsample(nets.downsample(x, 2), 2)
        return blurred + tf.cast(alpha, x.dtype) * (x - blurred)

    def _factor(self, stage):
        return 2 ** (self.num_stages - 1 - stage)

    @staticmethod
    def stage_variables(network, stage):
        """The trainable variables of the layers a stage's path runs (``kg.networks.progan.stage_layers``).

        A stage's update passes only these to its optimizer: the blocks of
        stages not yet reached have no gradient and do not move.
        """
        return [v for layer in nets.stage_layers(network, stage) for v in layer.trainable_variables]

    def critic_scores(self, images, stage, alpha, training=True):
        """The critic's scores ``[batch, 1]`` of images at ``stage``'s resolution."""
        return nets.stage_scores(self.discriminator, images, stage, alpha, training)

    # ------------------------------------------------------------ training
    @property
    def metrics(self):
        return [
            self.d_loss_tracker, self.g_loss_tracker, self.wasserstein_tracker, self.penalty_tracker,
            self.drift_tracker,
        ] + self.stabilizer_trackers

    def penalty_eps(self, batch, seed_generator=None):
        """This replica's interpolation weights ``eps`` ``[batch, 1, 1, 1]`` of the penalty (as ``WGANGP``'s)."""
        seed_generator = self.seed_generator if seed_generator is None else seed_generator
        return replica_share(lambda n: keras.random.uniform((n, 1, 1, 1), seed=seed_generator), batch)

    def critic_outputs(self, real, fake, stage, alpha, seed_generator=None, training=True):
        """Scores of real and fake images at ``stage`` and the gradient penalty.

        Both batches are augmented (when ``augment`` is on, in training) as
        every critic input; the penalty's interpolates are not. The penalty
        is ``kg.losses.wasserstein_gradient_penalty`` on the stage's images.

        Returns:
            ``(real_out, fake_out, penalty)``.
        """
        def critic(x):
            return self.critic_scores(x, stage, alpha, training=True)

        eps = self.penalty_eps(tf.shape(real)[0], seed_generator)
        real_in = self.augment_images(real) if training else real
        fake_in = self.augment_images(fake) if training else fake
        real_out = self.critic_scores(real_in, stage, alpha, training)
        fake_out = self.critic_scores(fake_in, stage, alpha, training)
        penalty = losses_lib.wasserstein_gradient_penalty(critic, real, fake, eps=eps)
        return real_out, fake_out, penalty

    def critic_update(self, real, stage, alpha, fake=None):
        """One critic update at ``stage``; returns ``(loss, wasserstein, penalty, drift)``.

        Args:
            real: full-resolution real images.
            stage: Python int; alpha: scalar tensor.
            fake: generated images at the stage's resolution; None draws them now.
        """
        if fake is None:
            z = self.noise(tf.shape(real)[0])
            fake = nets.stage_images(self.generator, z, stage, alpha, training=True)
        fake = tf.stop_gradient(fake)
        real = self.real_at_stage(real, stage, alpha)
        variables = self.stage_variables(self.discriminator, stage)
        with tf.GradientTape() as tape:
            real_out, fake_out, penalty = self.critic_outputs(real, fake, stage, alpha)
            drift = tf.reduce_mean(tf.square(tf.cast(real_out, "float32")))
            loss = self.d_loss_fn(real_out, fake_out) + self.gp_weight * penalty + self.drift_weight * drift
        self.apply_loss(tape, loss, self.d_optimizer, variables)
        wasserstein = tf.reduce_mean(tf.cast(real_out, "float32")) - tf.reduce_mean(tf.cast(fake_out, "float32"))
        return loss, wasserstein, penalty, drift

    def generator_update(self, batch, stage, alpha):
        """One generator update at ``stage`` with ``batch`` fresh latents; returns the loss."""
        z = self.noise(batch)
        variables = self.stage_variables(self.generator, stage)
        with tf.GradientTape() as tape:
            fake = nets.stage_images(self.generator, z, stage, alpha, training=True)
            loss = self.g_loss_fn(self.critic_scores(self.augment_images(fake), stage, alpha))
        self.apply_loss(tape, loss, self.g_optimizer, variables)
        return loss

    def train_step(self, data):
        self._check_compiled()
        real = self.unpack_data(data)
        batch = tf.shape(real)[0]
        # The position of the images seen before this batch.
        stage, alpha = self._position()

        def critic(fake=None):
            d_loss, wasserstein, penalty, drift = self.critic_update(real, stage, alpha, fake)
            self.d_loss_tracker.update_state(d_loss)
            self.wasserstein_tracker.update_state(wasserstein)
            self.penalty_tracker.update_state(penalty)
            self.drift_tracker.update_state(drift)
            return d_loss

        if self.reuse_fakes:
            # GAN.adversarial_step's schedule (one generator pass scored by the
            # updated critic), with the stage's generator variables only.
            with tf.GradientTape() as tape:
                fake = nets.stage_images(self.generator, self.noise(batch), stage, alpha, training=True)
                with tape.stop_recording():
                    critic(fake)
                g_loss = self.g_loss_fn(self.critic_scores(self.augment_images(fake), stage, alpha))
            self.apply_loss(tape, g_loss, self.g_optimizer, self.stage_variables(self.generator, stage))
        else:
            critic()
            g_loss = self.generator_update(batch, stage, alpha)
        self.g_loss_tracker.update_state(g_loss)
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        seen = self.images_seen.value + tf.cast(batch, tf.int64) * replicas
        assign_variables([(self.images_seen, seen)])
        logs = {m.name: m.result() for m in self.metrics}
        logs["stage"] = tf.constant(float(stage))
        logs["alpha"] = alpha
        return logs

    def test_step(self, data):
        self._check_compiled()
        real = self.unpack_data(data)
        stage, alpha = self._position()
        # Evaluation noise (latents and eps) never comes from the training seed generator.
        z = self.noise(tf.shape(real)[0], self.eval_seed_generator)
        fake = nets.stage_images(self.generator, z, stage, alpha)
        real = self.real_at_stage(real, stage, alpha)
        real_out, fake_out, penalty = self.critic_outputs(
            real, fake, stage, alpha, self.eval_seed_generator, training=False
        )
        drift = tf.reduce_mean(tf.square(tf.cast(real_out, "float32")))
        self.d_loss_tracker.update_state(
            self.d_loss_fn(real_out, fake_out) + self.gp_weight * penalty + self.drift_weight * drift
        )
        self.g_loss_tracker.update_state(self.g_loss_fn(fake_out))
        self.wasserstein_tracker.update_state(
            tf.reduce_mean(tf.cast(real_out, "float32")) - tf.reduce_mean(tf.cast(fake_out, "float32"))
        )
        self.penalty_tracker.update_state(penalty)
        self.drift_tracker.update_state(drift)
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------ sampling
    def full_resolution(self, network):
        """A plain ``keras.Model`` ``z -> images`` of a ProGAN generator's last stage (its layers, shared)."""
        views = self._full_resolution_views
        if id(network) not in views:
            views[id(network)] = keras.Model(network.inputs[0], network.outputs[-1], name=f"{network.name}_full")
        return views[id(network)]

    def sampling_generator(self, use_ema=True):
        """The full-resolution generator (the EMA generator's when there is one and ``use_ema``).

        A plain functional ``keras.Model`` mapping ``z [batch, latent_dim]``
        to images ``image_shape``, sharing the weights of ``generator`` (or
        ``ema_generator``): what ``generate``, exports and the zoo run.
        """
        return self.full_resolution(super().sampling_generator(use_ema))

    def call(self, inputs, training=False):
        """Run the full-resolution generator: ``gan(z)`` returns ``image_shape`` images in [-1, 1]."""
        return self.sampling_generator(use_ema=not training)(inputs, training=training)

    def generate_at_stage(self, n, stage, seed=None, alpha=1.0, full_size=True, batch_size=256,
                          truncation=None, use_ema=True):
        """Images of one stage of the generator, for growth strips and progress grids.

        Args:
            n: int, how many images.
            stage: int in ``[0, num_stages)``: 0 is the start resolution.
            seed: int for the latents ``generate(n, seed=seed)`` uses (so one
                seed shows the same sample at every stage), None for fresh ones.
            alpha: float in [0, 1], the fade-in of the stage's block (1: the
                stage's own head; 0: the previous stage's image, upsampled).
            full_size: bool, upsample (nearest) to ``image_shape`` so every
                stage's images have the same size; False keeps the stage's own.
            batch_size: int, images per forward pass.
            truncation: None or ``psi`` in (0, 1] (see ``generate``).
            use_ema: bool, sample with ``ema_generator`` when the GAN has one.

        Returns:
            float32 ``np.ndarray`` ``[n, side, side, channels]`` in [-1, 1].

        Example:
            >>> strip = [gan.generate_at_stage(1, s, seed=0) for s in range(gan.num_stages)]
        """
        if isinstance(stage, bool) or not isinstance(stage, (int, np.integer)) or not 0 <= stage < self.num_stages:
            raise ValueError(
                f"stage must be an int in [0, {self.num_stages}) (this ProGAN grows through "
                f"{self.resolutions}), got {stage!r}."
            )
        if not (_number(alpha) and 0.0 <= float(alpha) <= 1.0):
            raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}.")
        network = super().sampling_generator(use_ema)
        z = self.truncate(self.sample_latent(n, seed), truncation)
        factor = self._factor(int(stage)) if full_size else 1
        out = []
        for start in range(0, len(z), batch_size):
            images = nets.stage_images(network, z[start : start + batch_size], int(stage), float(alpha))
            out.append(keras.ops.convert_to_numpy(nets.upsample(images, factor)))
        return np.concatenate(out).astype("float32")

    def growth_strip(self, n, seed=0, truncation=None, use_ema=True):
        """``n`` samples at every stage, one row each: how the model grew.

        Row ``i`` is sample ``i`` of ``seed`` (``generate(n, seed=seed)``'s
        latents) rendered by each stage at alpha 1, upsampled to full size.

        Returns:
            float32 ``np.ndarray`` ``[n * num_stages, h, w, c]`` in [-1, 1],
            row-major (save it with ``ncols=gan.num_stages``).

        Example:
            >>> gan.growth_strip(2, seed=0).shape  # doctest: +SKIP
            (6, 28, 28, 1)
        """
        stages = [self.generate_at_stage(n, s, seed=seed, truncation=truncation, use_ema=use_ema)
                  for s in range(self.num_stages)]
        images = np.stack(stages, axis=1)
        return images.reshape((-1, *images.shape[2:]))

    def preview(self, n, seed=0, inputs=None):
        """The current stage at its current alpha, upsampled to full size (what training shapes now)."""
        stage, alpha = self.growth()
        return self.generate_at_stage(n, stage, seed=seed, alpha=alpha)

    # ------------------------------------------------------------ saving
    def _stabilizer_variables(self):
        # Saved by name: the growth position is a function of it.
        return super()._stabilizer_variables() + [self.images_seen]

    def get_config(self):
        return {
            **super().get_config(),
            "width": self.width,
            "max_width": self.max_width,
            "images_per_stage": self.images_per_stage,
            "gp_weight": self.gp_weight,
            "drift_weight": self.drift_weight,
            "group_size": self.group_size,
        }
