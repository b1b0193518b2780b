"""VAE-GAN: a variational autoencoder whose reconstructions are measured by a GAN discriminator."""

import keras
import numpy as np
import tensorflow as tf

from keras_gans.models.data_checks import RANGE_TOLERANCE, _is_array, checked_image_batch
from keras_gans.models.gan import GAN, replica_scaled, replica_share
from keras_gans.networks import augment as augment_lib
from keras_gans.networks.dcgan import dcgan_generator
from keras_gans.networks.spectral_norm import spectral_layers
from keras_gans.networks.vaegan import vaegan_discriminator, vaegan_encoder


def kl_divergence(mean, log_var):
    """``KL(N(mean, exp(log_var)) || N(0, I))``: summed over the latent axis, averaged over the batch.

    ``-0.5 * sum(1 + log_var - mean**2 - exp(log_var))`` per example, the
    prior term ``L_prior`` of a VAE (Kingma & Welling, 2014), in nats.

    Args:
        mean: tensor ``[batch, latent_dim]``, the posterior means.
        log_var: tensor ``[batch, latent_dim]``, the posterior log-variances.

    Returns:
        float32 scalar tensor.

    Example:
        >>> float(kl_divergence([[1.0, 0.0]], [[0.0, 0.0]]))
        0.5
    """
    mean = tf.cast(mean, "float32")
    log_var = tf.cast(log_var, "float32")
    per_example = -0.5 * tf.reduce_sum(1.0 + log_var - tf.square(mean) - tf.exp(log_var), axis=-1)
    return tf.reduce_mean(per_example)


def feature_reconstruction_loss(real_features, fake_features):
    """``L_llike^Dis_l``: half the squared distance of two feature maps, summed per example, batch mean.

    The negative log-likelihood (constants dropped) of the real image's
    features under a unit-variance Gaussian centred on the reconstruction's
    features, ``p(Dis_l(x) | z) = N(Dis_l(x) | Dis_l(x~), I)`` (Larsen et
    al., 2016), in nats like ``kl_divergence``.

    Args:
        real_features: tensor ``[batch, ...]``, ``Dis_l`` of the real images.
        fake_features: tensor of the same shape, ``Dis_l`` of their reconstructions.

    Returns:
        float32 scalar tensor.

    Example:
        >>> float(feature_reconstruction_loss([[1.0, 2.0]], [[0.0, 0.0]]))
        2.5
    """
    real_features = tf.cast(real_features, "float32")
    fake_features = tf.cast(fake_features, "float32")
    squared = tf.square(real_features - fake_features)
    per_example = 0.5 * tf.reduce_sum(tf.reshape(squared, [tf.shape(squared)[0], -1]), axis=1)
    return tf.reduce_mean(per_example)


def _weight(value, what, meaning):
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.number))
        or not np.isfinite(float(value))
        or float(value) < 0
    ):
        raise ValueError(f"{what} must be a finite number >= 0 ({meaning}), got {value!r}.")
    return float(value)


class _Unsaved:
    """Holds an object out of Keras' tracking and saving (a view of tracked networks)."""

    def __init__(self, value):
        self.value = value


@keras.saving.register_keras_serializable(package="keras_gans")
class VAEGAN(GAN):
    """VAE-GAN (Larsen et al., 2016): an encoder, a decoder that is the generator, and a discriminator.

    The encoder maps an image ``x`` to the mean and log-variance of a
    Gaussian posterior ``q(z | x)``; the decoder (``generator``, also what
    ``generate``, ``gan(z)`` and exports run) maps latents to images; the
    discriminator tells real images from decoded ones, and one of its
    intermediate layers (``feature_layer``, the paper's ``Dis_l``) is the
    space reconstructions are measured in, instead of pixels. Per batch
    ``x``, with ``z = mean + exp(log_var / 2) * eps`` drawn from ``q(z | x)``
    and ``z_p`` from the prior ``N(0, I)``:

    - ``kl_loss`` = ``kl_divergence(mean, log_var)`` (``L_prior``),
    - ``feature_loss`` = ``feature_reconstruction_loss(Dis_l(x), Dis_l(Dec(z)))``
      (``L_llike^Dis_l``),
    - ``g_loss``: the generator loss of ``compile(loss=...)`` (non-saturating
      by default) on the reconstructions ``Dec(z)`` and on the prior samples
      ``Dec(z_p)``, averaged,
    - ``d_loss``: the discriminator loss on real images against the
      reconstructions, and against the prior samples, averaged (the paper
      sums the two fake terms; averaging weighs real and fake alike and
      keeps ``d_loss`` on the scale of the other families').

    Each network has its own optimizer and moves only on its own loss, with
    the paper's weighting: the encoder on ``kl_weight * kl_loss +
    feature_loss``, the decoder on ``gamma * feature_loss + g_loss``, the
    discriminator on ``d_loss`` (plus R1 when ``r1_weight > 0``). The three
    gradients come from one forward pass (the paper's Algorithm 1), then the
    three optimizers step. The decoder runs once on ``[z; z_p]`` and the
    discriminator once on ``[x; Dec(z); Dec(z_p)]``, giving the logits and
    the features together: a discriminator whose layers see one example at a
    time (the default, with layer norm) scores each image as on its own, and
    one with batch norm normalizes real and decoded features alike.

    ``KL`` and ``feature_loss`` are sums over the latent and feature axes
    (log-likelihoods in nats), so ``feature_loss`` grows with the feature
    layer's size (7x7x128 = 6272 values for the default 28x28 networks) and
    ``gamma`` weighs it against a ``g_loss`` of about 1: it is the knob to
    tune first.

    Shared stabilizers (the arguments of ``kg.models.GAN``): ``ema_decay``
    keeps an EMA decoder, used by ``generate``, ``decode``, ``reconstruct``,
    ``kg.sampling.interpolate`` and exports (``use_ema=False`` opts out);
    ``spectral_norm=True`` builds the default discriminator with spectral
    layers and no normalization; ``r1_weight`` penalizes the discriminator's
    input gradient on the real images; ``augment`` transforms the images
    before the discriminator call, the same random transform for a real
    image, its reconstruction and one prior sample (so ``feature_loss``
    compares like with like); ``reuse_fakes`` does not apply.

    Default networks: ``kg.networks.vaegan_encoder``, ``kg.networks.dcgan_generator``
    (the decoder) and ``kg.networks.vaegan_discriminator``, for square images
    of side ``s * 2**k`` (28x28x1, 32x32x3, 64x64x3...); ``compile("auto")``
    gives each of the three Adam(2e-4, beta_1=0.5) (the paper used RMSProp
    with learning rate 3e-4).

    Args:
        latent_dim: int, size of ``z`` (default 128); inferred from a given
            generator or encoder.
        image_shape: tuple ``(height, width, channels)``; inferred likewise.
        width: int, base filter count of the default networks.
        gamma: float >= 0, the decoder's weight of ``feature_loss`` against
            ``g_loss`` (the paper's gamma).
        kl_weight: float >= 0, the encoder's weight of ``kl_loss`` (1: the
            VAE's evidence bound; other values give a beta-VAE's trade-off).
        feature_layer: str, name of the discriminator layer whose output is
            ``Dis_l`` (``"features"`` in the default discriminator).
        encoder: optional ``keras.Model`` mapping images to ``[mean, log_var]``.
        generator: optional decoder ``keras.Model`` mapping ``z`` to images.
        discriminator: optional ``keras.Model`` mapping images to logits,
            with a layer named ``feature_layer``.
        seed: int or None, seed of the training noise (``eps``, ``z_p``,
            augmentation).
        precision: dtype policy of the default networks (see ``kg.models.GAN``).
        **kwargs: passed to ``kg.models.GAN`` (``name``, the stabilizers).

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.VAEGAN(latent_dim=16, width=8)
        >>> gan.compile()
        >>> images = gan.generate(2, seed=0)
        >>> gan.reconstruct(images).shape, gan.encode(images).shape
        ((2, 28, 28, 1), (2, 16))
    """

    family = "vaegan"
    data_kind = "images"
    default_loss = "non_saturating"
    network_keys = ("generator", "discriminator", "encoder")

    def __init__(
        self,
        latent_dim=None,
        image_shape=None,
        width=64,
        gamma=1e-2,
        kl_weight=1.0,
        feature_layer="features",
        encoder=None,
        **kwargs,
    ):
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}.")
        self.width = int(width)
        self.gamma = _weight(gamma, "gamma", "the decoder's weight of feature_loss against g_loss, e.g. 1e-2")
        self.kl_weight = _weight(kl_weight, "kl_weight", "the encoder's weight of kl_loss, 1 for a VAE")
        if not isinstance(feature_layer, str) or not feature_layer:
            raise ValueError(
                f"feature_layer must be the name of a discriminator layer (a str), got {feature_layer!r}."
            )
        self.feature_layer = feature_layer
        if kwargs.get("reuse_fakes"):
            raise ValueError(
                "VAEGAN computes all three updates from one forward pass: reuse_fakes=True does not "
                "apply; drop it."
            )
        if encoder is not None and kwargs.get("generator") is None:
            latent_dim, image_shape = self._encoder_shapes(encoder, latent_dim, image_shape)
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, **kwargs)
        self.encoder = encoder if encoder is not None else self.build_encoder()
        self._check_encoder()
        self._feature_view = _Unsaved(self._feature_model())
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.feature_tracker = keras.metrics.Mean(name="feature_loss")
        self.e_optimizer = None

    # ------------------------------------------------------------ networks
    def build_encoder(self):
        return vaegan_encoder(
            self.image_shape, self.latent_dim, width=self.width, dtype=self.network_dtype
        )

    def build_generator(self):
        return dcgan_generator(
            self.latent_dim, self.image_shape, width=self.width, dtype=self.network_dtype
        )

    def build_discriminator(self):
        return vaegan_discriminator(
            self.image_shape,
            width=self.width,
            normalization=None if self.spectral_norm else "layer",
            dtype=self.network_dtype,
            spectral_norm=self.spectral_norm,
        )

    @staticmethod
    def _encoder_outputs(encoder):
        outputs = encoder.outputs if isinstance(encoder.outputs, list) else [encoder.outputs]
        shapes = [tuple(o.shape) for o in outputs]
        if len(outputs) != 2 or any(len(s) != 2 for s in shapes) or shapes[0] != shapes[1]:
            raise ValueError(
                f"the encoder must output [mean, log_var], each [batch, latent_dim], got outputs "
                f"{shapes}: build it with kg.networks.vaegan_encoder or end it with two Dense heads."
            )
        return outputs

    @classmethod
    def _encoder_shapes(cls, encoder, latent_dim, image_shape):
        e_latent = cls._encoder_outputs(encoder)[0].shape[-1]
        e_image = tuple(encoder.inputs[0].shape[1:])
        return (e_latent if latent_dim is None else latent_dim), (e_image if image_shape is None else image_shape)

    def _check_encoder(self):
        outputs = self._encoder_outputs(self.encoder)
        e_image = tuple(self.encoder.inputs[0].shape[1:])
        if e_image != self.image_shape:
            raise ValueError(
                f"the encoder takes images of shape {e_image} but the generator makes "
                f"{self.image_shape}: build all three networks for the same image shape."
            )
        if outputs[0].shape[-1] != self.latent_dim:
            raise ValueError(
                f"the encoder outputs latents of size {outputs[0].shape[-1]} but the generator takes "
                f"{self.latent_dim}: build both for the same latent_dim."
            )
        if self.encoder is self.discriminator or self.encoder is self.generator:
            raise ValueError("the encoder must be a network of its own, not the generator or discriminator.")

    def _feature_model(self):
        names = [layer.name for layer in self.discriminator.layers]
        if self.feature_layer not in names:
            shown = ", ".join(repr(n) for n in names[1:-1][-6:])
            raise ValueError(
                f"the discriminator has no layer {self.feature_layer!r} to measure reconstructions in: "
                f"pass feature_layer= the name of one of its intermediate layers ({shown})."
            )
        features = self.discriminator.get_layer(self.feature_layer).output
        # The same layers, with two outputs: one call gives the logits and Dis_l.
        inputs = self.discriminator.inputs
        return keras.Model(
            inputs[0] if len(inputs) == 1 else inputs, [self.discriminator.outputs[0], features],
            name=f"{self.discriminator.name}_with_features",
        )

    def discriminate_with_features(self, images, training=False):
        """The discriminator's logits and its ``feature_layer`` output, from one call.

        Args:
            images: image batch ``[batch, h, w, c]``.
            training: bool, passed to the layers.

        Returns:
            ``(logits [batch, 1], features [batch, ...])``, both float32.
        """
        logits, features = self._feature_view.value(images, training=training)
        return tf.cast(logits, "float32"), tf.cast(features, "float32")

    # ------------------------------------------------------------ stabilizers
    def after_update(self, optimizer):
        """The base class's hooks; after the encoder's update, its spectral layers' power iteration."""
        if optimizer is self.e_optimizer:
            for layer in spectral_layers(self.encoder):
                layer.power_iteration()
        else:
            super().after_update(optimizer)

    def _augment_triples(self, images, batch):
        """Augment ``[x; x~; x_p]`` (3 * batch rows) with one random transform per row triple."""
        if self.augment is None:
            return images

        def uniform(tail):
            draws = replica_share(
                lambda n: keras.random.uniform((n, *tail), seed=self.seed_generator), batch
            )
            return tf.tile(draws, [3] + [1] * len(tail))

        p = tf.convert_to_tensor(self.ada_p.value) if self.augment == augment_lib.ADA else None
        return augment_lib.augment_images(images, self.augment, uniform, p=p)

    def _r1_penalty(self, real_in):
        """The weighted R1 term on (augmented) real images, lazy every ``r1_every`` updates."""
        scale = self.input_gradient_scale()

        def r1():
            x = tf.identity(real_in)
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(tf.cast(self.discriminator(x, training=True), "float32"))
                if scale is not None:
                    total = total * scale
            grad = tf.cast(tape.gradient(total, x), "float32")
            if scale is not None:
                grad = grad / scale
            return tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]))

        if self.r1_every == 1:
            value, due = r1(), tf.constant(True)
        else:
            due = tf.equal(self.d_optimizer.iterations % self.r1_every, 0)
            value = tf.cond(due, r1, lambda: tf.constant(0.0))
        self.r1_tracker.update_state(value, sample_weight=tf.cast(due, "float32"))
        return (0.5 * self.r1_weight * self.r1_every) * value

    # ------------------------------------------------------------ losses
    def vaegan_losses(self, real, training=False, seed_generator=None):
        """One forward pass of all three networks on a real batch, and every loss term.

        Draws ``eps`` (the posterior sample) then ``z_p`` (the prior sample)
        from ``seed_generator``. In training (``training=True``) the images
        are augmented before the discriminator call (``augment``), R1 is
        computed and ADA's statistics recorded.

        Args:
            real: float32 tensor ``[batch, h, w, c]`` in [-1, 1].
            training: bool, passed to the networks.
            seed_generator: the noise source; None for ``self.seed_generator``.

        Returns:
            dict of float32 scalars ``kl``, ``feature``, ``adversarial``
            (``g_loss``), ``d_loss`` and the three networks' objectives
            ``encoder``, ``decoder``, ``discriminator``; and the tensors
            ``mean``, ``log_var``, ``reconstructions``, ``samples``.
        """
        seed_generator = self.seed_generator if seed_generator is None else seed_generator
        real = tf.cast(real, "float32")
        batch = tf.shape(real)[0]
        mean, log_var = self.encoder(real, training=training)
        mean, log_var = tf.cast(mean, "float32"), tf.cast(log_var, "float32")
        eps = replica_share(
            lambda n: keras.random.normal((n, self.latent_dim), seed=seed_generator), batch
        )
        z = mean + tf.exp(0.5 * log_var) * eps
        z_p = self.noise(batch, seed_generator)
        decoded = tf.cast(self.generator(tf.concat([z, z_p], axis=0), training=training), "float32")
        images = tf.concat([real, decoded], axis=0)
        if training:
            images = self._augment_triples(images, batch)
        logits, features = self.discriminate_with_features(images, training=training)
        real_out, recon_out, prior_out = logits[:batch], logits[batch : 2 * batch], logits[2 * batch :]
        kl = kl_divergence(mean, log_var)
        feature = feature_reconstruction_loss(features[:batch], features[batch : 2 * batch])
        adversarial = 0.5 * (self.g_loss_fn(recon_out) + self.g_loss_fn(prior_out))
        d_loss = 0.5 * (self.d_loss_fn(real_out, recon_out) + self.d_loss_fn(real_out, prior_out))
        d_total = d_loss
        if training and self.r1_weight:
            d_total = d_loss + self._r1_penalty(images[:batch])
        if training and self.augment == augment_lib.ADA:
            self._record_ada(real_out)
        return {
            "kl": kl,
            "feature": feature,
            "adversarial": adversarial,
            "d_loss": d_loss,
            "encoder": self.kl_weight * kl + feature,
            "decoder": self.gamma * feature + adversarial,
            "discriminator": d_total,
            "mean": mean,
            "log_var": log_var,
            "reconstructions": decoded[:batch],
            "samples": decoded[batch:],
        }

    # ------------------------------------------------------------ compile
    def compile(self, g_optimizer="auto", d_optimizer="auto", e_optimizer="auto", loss="auto", **kwargs):
        """Configure training: one optimizer per network.

        Args:
            g_optimizer: ``"auto"`` (Adam(2e-4, beta_1=0.5)), an optimizer
                name, config or instance, for the decoder (generator).
            d_optimizer: same, for the discriminator.
            e_optimizer: same, for the encoder.
            loss: ``"auto"`` (non-saturating), a ``kg.losses.get`` name or a
                ``(d_loss_fn, g_loss_fn)`` pair: the adversarial terms.
            **kwargs: ``jit_compile``, ``steps_per_execution``, ``run_eagerly``.

        Example:
            >>> gan.compile(e_optimizer=keras.optimizers.Adam(1e-4))  # doctest: +SKIP
        """
        super().compile(g_optimizer=g_optimizer, d_optimizer=d_optimizer, loss=loss, **kwargs)
        self.e_optimizer = self._resolve_optimizer(e_optimizer, "encoder")
        seen = {}
        for name, opt in self.optimizers().items():
            if id(opt) in seen:
                raise ValueError(
                    f"{name} is the same optimizer as {seen[id(opt)]}: pass a separate optimizer "
                    "per network (each keeps its own moments)."
                )
            seen[id(opt)] = name

    def optimizers(self):
        return {
            "g_optimizer": self.g_optimizer,
            "d_optimizer": self.d_optimizer,
            "e_optimizer": self.e_optimizer,
        }

    def optimizer_variables(self):
        return {
            "g_optimizer": self.generator.trainable_variables,
            "d_optimizer": self.discriminator.trainable_variables,
            "e_optimizer": self.encoder.trainable_variables,
        }

    # ------------------------------------------------------------ training
    @property
    def metrics(self):
        return [
            self.d_loss_tracker, self.g_loss_tracker, self.kl_tracker, self.feature_tracker,
            *self.stabilizer_trackers,
        ]

    def train_step(self, data):
        self._check_compiled()
        real = self.unpack_data(data)
        roles = (
            ("encoder", self.e_optimizer, self.encoder),
            ("decoder", self.g_optimizer, self.generator),
            ("discriminator", self.d_optimizer, self.discriminator),
        )
        with tf.GradientTape(persistent=True) as tape:
            terms = self.vaegan_losses(real, training=True)
            # Scaled inside the tape, or it would not see the scaling.
            targets = [opt.scale_loss(replica_scaled(terms[role])) for role, opt, _ in roles]
        # Every gradient from the same forward pass, before any weight moves.
        grads = [tape.gradient(t, net.trainable_variables) for t, (_, _, net) in zip(targets, roles)]
        del tape
        for g, (_, opt, net) in zip(grads, roles):
            opt.apply_gradients(zip(g, net.trainable_variables))
        for _, opt, _ in roles:
            self.after_update(opt)
        return self._track(terms)

    def test_step(self, data):
        self._check_compiled()
        real = self.unpack_data(data)
        return self._track(self.vaegan_losses(real, training=False, seed_generator=self.eval_seed_generator))

    def _track(self, terms):
        self.d_loss_tracker.update_state(terms["d_loss"])
        self.g_loss_tracker.update_state(terms["adversarial"])
        self.kl_tracker.update_state(terms["kl"])
        self.feature_tracker.update_state(terms["feature"])
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------ encoding and decoding
    def _checked_images(self, images, what="images"):
        return checked_image_batch(
            images, self.image_shape, what,
            fix="resize them or build the VAEGAN with a matching image_shape.", tolerance=RANGE_TOLERANCE,
        )

    @staticmethod
    def _checked_batch_size(batch_size):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        return int(batch_size)

    def encode(self, images, batch_size=256, return_log_var=False):
        """Map images to their posterior ``q(z | x)``: the means, or the means and log-variances.

        Args:
            images: float array ``[n, h, w, c]`` in [-1, 1] of this model's
                ``image_shape`` (uint8 pixels are refused: scale them with
                ``x / 127.5 - 1``).
            batch_size: int, images per forward pass.
            return_log_var: bool, also return the log-variances.

        Returns:
            float32 ``np.ndarray`` ``[n, latent_dim]`` of means (the latent
            ``reconstruct`` and ``kg.sampling.interpolate`` decode); with
            ``return_log_var=True`` a pair ``(mean, log_var)``.

        Example:
            >>> z = gan.encode(images)  # doctest: +SKIP
        """
        images = self._checked_images(images)
        batch_size = self._checked_batch_size(batch_size)
        means, log_vars = [], []
        for start in range(0, len(images), batch_size):
            mean, log_var = self.encoder(images[start : start + batch_size], training=False)
            means.append(keras.ops.convert_to_numpy(mean))
            log_vars.append(keras.ops.convert_to_numpy(log_var))
        mean = np.concatenate(means).astype("float32")
        if return_log_var:
            return mean, np.concatenate(log_vars).astype("float32")
        return mean

    def decode(self, z, batch_size=256, use_ema=True):
        """Images for latents ``z``: the decoder (generator) in inference.

        Args:
            z: float array ``[n, latent_dim]``.
            batch_size: int, latents per forward pass.
            use_ema: bool, decode with ``ema_generator`` when the model has one.

        Returns:
            float32 ``np.ndarray`` ``[n, h, w, c]`` in [-1, 1].
        """
        if isinstance(z, (tf.Tensor, tf.Variable)):
            z = z.numpy()
        z = np.asarray(z)
        if not np.issubdtype(z.dtype, np.floating) or z.ndim != 2 or z.shape[1] != self.latent_dim or len(z) == 0:
            raise ValueError(
                f"z must be floats of shape [n >= 1, {self.latent_dim}], got {z.dtype} {z.shape}: "
                "draw latents with gan.sample_latent(n) or gan.encode(images)."
            )
        if not np.isfinite(z).all():
            raise ValueError("z holds NaN or inf: pass finite latents.")
        return self._run_generator([z.astype("float32")], self._checked_batch_size(batch_size), use_ema=use_ema)

    def reconstruct(self, images, batch_size=256, use_ema=True):
        """``decode(encode(images))``: each image through its posterior mean and back.

        Args:
            images: float array ``[n, h, w, c]`` in [-1, 1] (see ``encode``).
            batch_size: int, images per forward pass.
            use_ema: bool, decode with ``ema_generator`` when the model has one.

        Returns:
            float32 ``np.ndarray`` of the same shape, in [-1, 1].
        """
        return self.decode(self.encode(images, batch_size), batch_size, use_ema=use_ema)

    def preview(self, n, seed=0, inputs=None, use_ema=True):
        """Images for a progress grid: ``n`` prior samples, or inputs beside their reconstructions.

        Args:
            n: int, the most images in the grid.
            seed: int, the seed of the samples (without ``inputs``).
            inputs: None, or images ``[k, h, w, c]`` in [-1, 1]: the grid is
                ``[x0, rec(x0), x1, rec(x1), ...]`` for ``min(n // 2, k)``
                of them (at least one).
            use_ema: bool, decode with ``ema_generator`` when there is one.
        """
        if inputs is None:
            return self.generate(n, seed=seed, use_ema=use_ema)
        n = self._check_count(n)
        shown = self._checked_images(inputs, "inputs")[: max(n // 2, 1)]
        pairs = np.stack([shown, self.reconstruct(shown, use_ema=use_ema)], axis=1)
        return pairs.reshape((-1, *self.image_shape))

    def check_predict_inputs(self, x):
        if _is_array(x) and len(x.shape) == 4:
            raise ValueError(
                f"VAEGAN.predict maps latents z [n, {self.latent_dim}] to images, got images "
                f"{list(x.shape)}: encode them with gan.encode(images), reconstruct them with "
                "gan.reconstruct(images)."
            )
        super().check_predict_inputs(x)

    # ------------------------------------------------------------ saving
    def export_encoder(self):
        """The encoder exports add as the ``encode`` signature (``kg.export``).

        ``kg.export.saved_model`` and ``kg.export.tflite`` ask a GAN for it:
        ``encode(images) -> z_mean, z_log_var``, what ``encode(images,
        return_log_var=True)`` returns, beside ``serving_default(z)``.
        """
        return self.encoder

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "width": self.width,
                "gamma": self.gamma,
                "kl_weight": self.kl_weight,
                "feature_layer": self.feature_layer,
            }
        )
        return config
