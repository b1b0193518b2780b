"""WGAN-GP: Wasserstein GAN with a gradient penalty on the critic."""

import keras
import numpy as np
import tensorflow as tf

from keras_gans import losses as losses_lib
from keras_gans.models.gan import GAN, replica_share
from keras_gans.networks.dcgan import dcgan_discriminator, dcgan_generator


def _batch_coupled_layers(model):
    """Names of layers that mix examples of a batch (the penalty must not see them)."""
    found = []
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer.name)
        stack.extend(getattr(layer, "layers", []))
    return found


@keras.saving.register_keras_serializable(package="keras_gans")
class WGANGP(GAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al., 2017).

    The critic is trained ``critic_steps`` times per generator update on
    ``mean(D(G(z))) - mean(D(x)) + gp_weight * GP``, where ``GP`` is
    ``kg.losses.wasserstein_gradient_penalty``: the squared distance of the
    critic's input-gradient norm from 1 at ``x_hat = eps * x + (1 - eps) * G(z)``,
    ``eps ~ U[0, 1]`` per example. All training noise (``z`` and ``eps``) comes
    from the model's seed generator, shared out per replica under
    ``tf.distribute``; ``evaluate`` draws both from ``eval_seed_generator``
    (see ``kg.models.GAN.reset_eval_noise``).

    Critic steps: each ``fit`` batch is split into ``critic_steps`` equal
    chunks and every critic update gets its own chunk of real images and fresh
    noise, as in the paper's algorithm, where each critic iteration samples a
    new real batch. The generator update then uses one chunk's worth of fresh
    latents. So a ``fit`` batch of 320 with ``critic_steps=5`` is the paper's
    setting of 64 images per step, and one epoch shows the critic every real
    image once. When the batch does not divide evenly the last
    ``batch % critic_steps`` images are not used; a batch smaller than
    ``critic_steps`` is an error.

    The default critic is ``kg.networks.dcgan_discriminator`` without batch
    normalization (batch norm mixes the examples of a batch, so the
    per-example gradient the penalty constrains would be wrong); a critic with
    ``BatchNormalization`` layers is refused. The default generator is
    ``kg.networks.dcgan_generator``. ``compile("auto")`` uses
    Adam(1e-4, beta_1=0, beta_2=0.9) for both networks and the Wasserstein loss.

    Metrics: ``d_loss`` (critic loss with the penalty), ``g_loss``,
    ``wasserstein`` (``mean(D(x)) - mean(D(G(z)))``, the critic's estimate of
    the Wasserstein distance) and ``gradient_penalty``, averaged over critic
    steps and reset every epoch.

    Default networks for 28x28x1 (``count_params()``):

    =====  ==========  ====================  =========  =======
    width  latent_dim  critic_normalization  generator  critic
    =====  ==========  ====================  =========  =======
    64     128         None                  2,133,505  138,561
    64     128         "layer"               2,133,505  138,689
    =====  ==========  ====================  =========  =======

    Args:
        latent_dim: int, size of ``z``.
        image_shape: tuple ``(height, width, channels)``.
        width: int, base filter count of the default networks.
        critic_steps: int, critic updates per generator update (5 in the paper).
        gp_weight: float, weight of the gradient penalty (10 in the paper).
        critic_normalization: None or ``"layer"``, normalization of the
            default critic's hidden blocks (``"layer"``: over C, H and W of
            each example with a per-channel scale and offset, as in the paper).
        generator: optional ``keras.Model`` replacing the default generator.
        discriminator: optional critic ``keras.Model`` (no batch norm).
        seed: int or None, seed of the training noise.
        precision: dtype policy of the default networks (see ``kg.models.GAN``).
        **kwargs: passed to ``kg.models.GAN``.

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.WGANGP(latent_dim=64, width=16, critic_steps=5)
        >>> gan.compile()
        >>> gan.fit(kg.data.load("fashion_mnist", batch_size=320), epochs=1)  # doctest: +SKIP
        >>> gan.generate(4, seed=0).shape
        (4, 28, 28, 1)
    """

    family = "wgan_gp"
    data_kind = "images"
    default_loss = "wasserstein"

    def __init__(
        self,
        latent_dim=None,
        image_shape=None,
        width=64,
        critic_steps=5,
        gp_weight=10.0,
        critic_normalization=None,
        **kwargs,
    ):
        if isinstance(critic_steps, bool) or not isinstance(critic_steps, (int, np.integer)) or critic_steps < 1:
            raise ValueError(f"critic_steps must be a positive int, got {critic_steps!r}.")
        if isinstance(gp_weight, bool) or not isinstance(gp_weight, (int, float, np.number)) or not gp_weight >= 0:
            raise ValueError(f"gp_weight must be a number >= 0, got {gp_weight!r}.")
        if critic_normalization not in (None, "layer"):
            raise ValueError(
                f"critic_normalization must be None or 'layer', got {critic_normalization!r}: "
                "batch norm breaks the per-example gradient penalty."
            )
        self.width = int(width)
        self.critic_steps = int(critic_steps)
        self.gp_weight = float(gp_weight)
        self.critic_normalization = critic_normalization
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, **kwargs)
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein")
        self.penalty_tracker = keras.metrics.Mean(name="gradient_penalty")

    # ------------------------------------------------------------ networks
    def build_generator(self):
        return dcgan_generator(
            self.latent_dim, self.image_shape, width=self.width, dtype=self.network_dtype
        )

    def build_discriminator(self):
        return dcgan_discriminator(
            self.image_shape,
            width=self.width,
            normalization=self.critic_normalization,
            dtype=self.network_dtype,
            name="critic",
            spectral_norm=self.spectral_norm,
        )

    def _check_networks(self):
        super()._check_networks()
        coupled = _batch_coupled_layers(self.discriminator)
        if coupled:
            raise ValueError(
                f"the WGAN-GP critic has batch normalization ({', '.join(sorted(coupled))}), which "
                "mixes examples and breaks the gradient penalty: use layer norm or none "
                "(kg.networks.dcgan_discriminator(normalization=None))."
            )

    def default_optimizer(self, role):
        """Adam(1e-4, beta_1=0, beta_2=0.9) for both networks, as in the paper."""
        return keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9, name=f"{role}_adam")

    # ------------------------------------------------------------ training
    @property
    def metrics(self):
        return [
            self.d_loss_tracker, self.g_loss_tracker, self.wasserstein_tracker, self.penalty_tracker,
        ] + self.stabilizer_trackers

    def critic_step(self, real, fake=None):
        """One critic update on ``real`` and ``fake`` (None: drawn now); returns ``(loss, wasserstein, penalty)``."""
        if fake is None:
            fake = self.generator(self.noise(tf.shape(real)[0]), training=True)
        fake = tf.stop_gradient(fake)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            # Augmented (when augment is on) as every discriminator input;
            # the penalty's interpolates are not.
            real_out, fake_out, _ = self.discriminator_outputs(real, fake)
            penalty = self.gradient_penalty(real, fake)
            loss = self.d_loss_fn(real_out, fake_out) + self.gp_weight * penalty
        self.apply_loss(tape, loss, self.d_optimizer, variables)
        wasserstein = tf.reduce_mean(tf.cast(real_out, "float32")) - tf.reduce_mean(
            tf.cast(fake_out, "float32")
        )
        return loss, wasserstein, penalty

    def gradient_penalty(self, real, fake, seed_generator=None):
        """``kg.losses.wasserstein_gradient_penalty`` with replica-aware ``eps``.

        ``eps`` (``[batch, 1, 1, 1]``, uniform in [0, 1]) is drawn from
        ``seed_generator`` (None: the model's training seed generator;
        ``test_step`` passes ``eval_seed_generator``) through
        ``replica_share``, so under ``tf.distribute`` each replica's examples
        get the ``eps`` a single device would give them (a plain draw would
        repeat one ``eps`` vector on every replica), then passed to the loss
        function, which returns the mean of ``(||grad critic(x_hat)||_2 - 1)^2``
        at ``x_hat = eps * real + (1 - eps) * fake``.
        """
        eps = self.penalty_eps(tf.shape(real)[0], seed_generator)
        return losses_lib.wasserstein_gradient_penalty(self.discriminator, real, fake, eps=eps)

    def penalty_eps(self, batch, seed_generator=None):
        """This replica's interpolation weights ``eps`` ``[batch, 1, 1, 1]`` (see ``gradient_penalty``)."""
        seed_generator = self.seed_generator if seed_generator is None else seed_generator
        return replica_share(
            lambda n: keras.random.uniform((n, 1, 1, 1), seed=seed_generator), batch
        )

    def _chunk_size(self, real):
        static = real.shape[0]
        if static is not None and static < self.critic_steps:
            raise ValueError(
                f"a batch of {static} images cannot feed {self.critic_steps} critic steps: "
                f"use a batch_size of at least {self.critic_steps} (e.g. {64 * self.critic_steps})."
            )
        chunk = tf.shape(real)[0] // self.critic_steps
        tf.debugging.assert_positive(
            chunk,
            message=f"a batch has fewer images than critic_steps={self.critic_steps}: use a larger batch_size",
        )
        return chunk

    def train_step(self, data):
        self._check_compiled()
        real = self.unpack_data(data)
        chunk = self._chunk_size(real)
        chunks = [real[i * chunk : (i + 1) * chunk] for i in range(self.critic_steps)]

        def critic_update(x, fake=None):
            d_loss, wasserstein, penalty = self.critic_step(x, fake)
            self.d_loss_tracker.update_state(d_loss)
            self.wasserstein_tracker.update_state(wasserstein)
            self.penalty_tracker.update_state(penalty)
            return d_loss

        # critic_steps is a Python int, so the loop unrolls into one graph.
        for x in chunks[:-1]:
            critic_update(x)
        if self.reuse_fakes:
            # The generator update scores the last critic step's fakes.
            _, g_loss = self.adversarial_step(
                lambda: self.generator(self.noise(chunk), training=True),
                lambda fake: critic_update(chunks[-1], fake),
                lambda fake: self.g_loss_fn(self.discriminate(fake)),
            )
        else:
            critic_update(chunks[-1])
            g_loss = self.generator_step(chunk)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        self._check_compiled()
        real = self.unpack_data(data)
        # Evaluation noise (latents and eps) never comes from the training
        # seed generator, and eps is shared out per replica as in training.
        fake = self.generator(self.noise(tf.shape(real)[0], self.eval_seed_generator), training=False)
        real_out = self.discriminator(real, training=False)
        fake_out = self.discriminator(fake, training=False)
        penalty = self.gradient_penalty(real, fake, self.eval_seed_generator)
        self.d_loss_tracker.update_state(self.d_loss_fn(real_out, fake_out) + self.gp_weight * penalty)
        self.g_loss_tracker.update_state(self.g_loss_fn(fake_out))
        self.wasserstein_tracker.update_state(
            tf.reduce_mean(tf.cast(real_out, "float32")) - tf.reduce_mean(tf.cast(fake_out, "float32"))
        )
        self.penalty_tracker.update_state(penalty)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            **super().get_config(),
            "width": self.width,
            "critic_steps": self.critic_steps,
            "gp_weight": self.gp_weight,
            "critic_normalization": self.critic_normalization,
        }
