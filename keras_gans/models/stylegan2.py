"""StyleGAN2: style-based generator with modulated convolutions, trained with lazy regularization."""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gans.models.gan import GAN, assign_variables, replica_share
from keras_gans.networks.stylegan2 import (
    MeanW,
    stylegan2_discriminator,
    stylegan2_generator,
    synthesis_plan,
)


def _number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float, np.number)) and np.isfinite(float(value))


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}.")
    return int(value)


def _sum_over_replicas(value):
    """``value`` summed over the replicas of a ``tf.distribute`` step (itself without one)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        return ctx.all_reduce("sum", value)
    return value


def check_w_truncation(truncation):
    """Validate a ``w``-space truncation ``psi``: None or a number in [0, 1] (0: the mean-``w`` image)."""
    if truncation is None:
        return None
    if isinstance(truncation, bool) or not _number(truncation) or not 0.0 <= float(truncation) <= 1.0:
        raise ValueError(
            f"truncation must be None or a number psi in [0, 1] (1: no truncation, 0: every sample is "
            f"the mean-w image), got {truncation!r}."
        )
    return float(truncation)


class WSpaceSampling:
    """How a mapping + synthesis generator samples with truncation in ``w`` space, as tensor functions.

    Exports trace these (``kg.export.saved_model`` builds its ``sample``,
    ``mapping`` and ``synthesis`` signatures from them), so an exported
    ``sample(batch_size, seed, truncation)`` is ``gan.generate(batch_size,
    seed=seed, truncation=psi)``. The functions call the generator's own
    layers (``mapping``, whose ``mean_w`` layer holds ``w_avg``,
    ``synthesis`` and the fixed noise maps ``noise_const{i}``), so the
    variables an export tracks are the generator's.

    Any family whose generator has this layout can reuse it; an export asks a
    GAN for it with ``gan.export_sampling()`` and a bare generator with
    ``WSpaceSampling.of(generator)``.

    Attributes:
        generator: ``keras.Model`` ``z -> images`` (the sampling generator).
        latent_dim: int.
        w_dim: int.
        num_ws: int, the style inputs of the synthesis network.
        space: ``"w"``, where truncation happens.
        truncation_range: ``(0.0, 1.0)``, the closed range of ``psi``.
        truncation_message: str, what a refused ``psi`` is told.

    Example:
        >>> gan = kg.models.StyleGAN2(latent_dim=16, w_dim=16, mapping_layers=2, width=8,
        ...                           max_width=16)  # doctest: +SKIP
        >>> sampling = gan.export_sampling()  # doctest: +SKIP
        >>> sampling.synthesize(sampling.truncate(sampling.ws(z), 0.7))  # doctest: +SKIP
    """

    space = "w"
    truncation_range = (0.0, 1.0)
    truncation_message = (
        "truncation must be a float psi in [0, 1] (1.0: no truncation, 0.0: every sample is the mean-w image)"
    )

    def __init__(self, generator, gan=None):
        found = self._parts(generator)
        if found is None:
            raise ValueError(
                f"the generator {generator.name!r} has no mapping network with a mean_w layer, synthesis "
                "network and noise_const layers: build it with kg.networks.stylegan2_generator."
            )
        self.generator = generator
        self._mapping, self._synthesis, self._mean_w, self._noise = found
        self._gan = gan
        self.latent_dim = int(self._mapping.inputs[0].shape[-1])
        self.num_ws = int(self._synthesis.inputs[0].shape[1])
        self.w_dim = int(self._synthesis.inputs[0].shape[2])

    @staticmethod
    def _parts(generator):
        names = {layer.name for layer in getattr(generator, "layers", [])}
        if not {"mapping", "synthesis"} <= names:
            return None
        mapping, synthesis = generator.get_layer("mapping"), generator.get_layer("synthesis")
        means = [layer for layer in getattr(mapping, "layers", []) if isinstance(layer, MeanW)]
        inputs = getattr(synthesis, "inputs", None) or []
        count = len(inputs) - 1
        if len(means) != 1 or count < 1 or not {f"noise_const{i}" for i in range(count)} <= names:
            return None
        noise = [generator.get_layer(f"noise_const{i}") for i in range(count)]
        return mapping, synthesis, means[0], noise

    @classmethod
    def of(cls, generator):
        """The sampling of ``generator`` if it has the mapping + synthesis layout, else None."""
        return cls(generator) if cls._parts(generator) is not None else None

    def for_generator(self, generator):
        """The same sampling for another generator of the same layout (a float32 copy for TFLite)."""
        return WSpaceSampling(generator)

    # ------------------------------------------------------------ tensor functions
    def ws(self, z):
        """Untruncated styles ``[batch, num_ws, w_dim]`` (float32) for latents ``z``: one ``w`` repeated."""
        w = tf.cast(self._mapping(z, training=False), "float32")
        return tf.repeat(w[:, None, :], self.num_ws, axis=1)

    def truncate(self, ws, psi):
        """``w_avg + psi * (ws - w_avg)``; ``psi == 1`` returns ``ws`` unchanged, as ``generate`` skips it."""
        psi = tf.cast(psi, "float32")
        return tf.where(tf.equal(psi, 1.0), ws, self._mean_w.truncate(ws, psi))

    def synthesize(self, ws):
        """Images in [-1, 1] (float32) for styles ``ws`` ``[batch, num_ws, w_dim]``, with the fixed noise."""
        noise = [layer(ws) for layer in self._noise]
        images = self._synthesis([ws, *noise], training=False)
        return tf.clip_by_value(tf.cast(images, "float32"), -1.0, 1.0)

    # ------------------------------------------------------------ numpy (Keras) references
    def ws_from_latents(self, z, truncation=None):
        """Truncated styles ``[n, num_ws, w_dim]`` as numpy (``gan.w_from_latents`` when bound to a GAN)."""
        z = np.asarray(z, "float32")
        if self._gan is not None:
            w = self._gan.w_from_latents(z, truncation=truncation)
            return np.repeat(w[:, None, :], self.num_ws, axis=1)
        ws = self.ws(tf.constant(z))
        if truncation is not None and float(truncation) != 1.0:
            ws = self.truncate(ws, float(truncation))
        return ws.numpy().astype("float32")

    def images_from_ws(self, ws):
        """Images for styles ``ws`` ``[n, num_ws, w_dim]`` as numpy (``gan.generate_from_ws`` when bound)."""
        ws = np.asarray(ws, "float32")
        if self._gan is not None:
            return self._gan.generate_from_ws(ws)
        return self.synthesize(tf.constant(ws)).numpy().astype("float32")

    def images_from_latents(self, z, truncation=None):
        """Images for latents ``z`` truncated in ``w`` space (``gan.generate_from_latents`` when bound)."""
        if self._gan is not None:
            return self._gan.generate_from_latents(np.asarray(z, "float32"), truncation=truncation)
        return self.images_from_ws(self.ws_from_latents(z, truncation))


@keras.saving.register_keras_serializable(package="keras_gans")
class StyleGAN2(GAN):
    """StyleGAN2 (Karras et al., 2020): mapping network, modulated convolutions, skip generator.

    The generator maps ``z`` through an MLP (``mapping_layers`` equalized
    dense layers with learning-rate multiplier ``mapping_lr_multiplier``) to
    ``w``, which styles every layer of the synthesis network: a learned 4x4
    constant, modulated and demodulated 3x3 convolutions with per-pixel noise
    of learned strength, and a toRGB at every resolution, upsampled and summed.
    The discriminator is residual, with a minibatch standard deviation
    channel. See ``kg.networks.stylegan2_generator`` and
    ``kg.networks.stylegan2_discriminator``.

    Training (one discriminator update, then one generator update per batch,
    every random number from the model's seed generator):

    - the non-saturating logistic loss;
    - lazy R1 on real images (the base class's ``r1_weight`` = gamma, every
      ``r1_every=16`` discriminator updates, weighted by the interval);
    - style-mixing regularization: each fake of both updates takes, with
      probability ``style_mixing``, its styles from index ``c`` on from a
      second latent, ``c`` uniform in ``[1, num_ws)``;
    - optional path-length regularization (``pl_weight > 0``, 2 in the
      paper): every ``pl_every`` generator updates, on ``batch //
      pl_batch_shrink`` fakes, the penalty ``(|J_w^T y| - a)^2`` with ``y``
      a random image direction scaled by ``1/sqrt(h * w)`` and ``a`` the
      running mean length (``pl_mean``, decay ``pl_decay``), weighted by
      ``pl_weight * pl_every``;
    - the running mean of ``w`` (``w_avg``, a saved non-trainable weight of
      the mapping network) moves toward each generator batch's mean ``w``:
      ``w_avg = mean + w_avg_beta * (w_avg - mean)``;
    - an EMA generator, on by default (``ema_decay=0.995``: a half-life of
      about 140 generator updates, the paper's 10k-image half-life at batch
      64, short enough for runs of a few thousand steps; the base class's
      warm-up applies).

    The discriminator sees unclipped fakes (as in the paper); sampling
    (``generate``, ``gan(z)``, exports) clips to [-1, 1] and uses fixed noise
    maps, so a seed always gives the same image.

    ``compile("auto")`` uses Adam(0.002, beta_1=0, beta_2=0.99, epsilon=1e-8)
    with the paper's correction for lazy regularization: a network
    regularized every ``k`` updates gets ``lr * k / (k + 1)`` and
    ``beta_2 ** (k / (k + 1))``.

    Truncation works in ``w`` space: ``w = w_avg + psi * (w - w_avg)``
    (``generate(..., truncation=psi)``); ``truncate(z, psi)`` on latents is
    refused for ``psi < 1``.

    Image shapes: square with a side of 28 (the networks work at 32x32 and
    the generator crops 2 pixels off each border) or a power of two >= 32.

    Args:
        latent_dim: int, size of ``z`` (512 in the paper).
        image_shape: tuple ``(height, width, channels)``.
        w_dim: int, size of ``w``.
        mapping_layers: int, depth of the mapping network (8 in the paper).
        mapping_lr_multiplier: float, the mapping network's learning-rate
            multiplier (0.01).
        width: int, channels at the output resolution of both networks,
            doubling toward 4x4.
        max_width: int, the most channels at any resolution.
        style_mixing: float in [0, 1], the style-mixing probability (0.9).
        pl_weight: float >= 0, weight of path-length regularization (0: off).
        pl_every: int, generator updates between path-length penalties (4).
        pl_decay: float in (0, 1], decay of the running mean path length (0.01).
        pl_batch_shrink: int, the penalty's batch is ``batch // pl_batch_shrink`` (2).
        w_avg_beta: float in [0, 1), decay of the tracked mean ``w`` (0.995).
        mbstd_group_size: int, the discriminator's minibatch-stddev group (4).
        ema_decay: None or float in (0, 1), see ``kg.models.GAN`` (0.995 here).
        r1_weight: float >= 0, R1 gamma (0.01 here, the small-data setting).
        r1_every: int, lazy R1 interval (16).
        generator: optional generator built by ``kg.networks.stylegan2_generator``.
        discriminator: optional ``keras.Model`` images -> logits.
        seed: int or None, seed of the training noise.
        precision: dtype policy of the synthesis network and the
            discriminator (the mapping network stays float32).
        **kwargs: passed to ``kg.models.GAN``.

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.StyleGAN2(latent_dim=16, w_dim=16, mapping_layers=2, width=8,
        ...                           max_width=16, image_shape=(28, 28, 1))
        >>> gan.compile()
        >>> gan.generate(4, seed=0, truncation=0.7).shape
        (4, 28, 28, 1)
    """

    family = "stylegan2"

    def __init__(
        self,
        latent_dim=None,
        image_shape=None,
        w_dim=512,
        mapping_layers=8,
        mapping_lr_multiplier=0.01,
        width=64,
        max_width=512,
        style_mixing=0.9,
        pl_weight=0.0,
        pl_every=4,
        pl_decay=0.01,
        pl_batch_shrink=2,
        w_avg_beta=0.995,
        mbstd_group_size=4,
        ema_decay=0.995,
        r1_weight=0.01,
        r1_every=16,
        **kwargs,
    ):
        self.w_dim = _positive_int(w_dim, "w_dim")
        self.mapping_layers = _positive_int(mapping_layers, "mapping_layers")
        if not (_number(mapping_lr_multiplier) and float(mapping_lr_multiplier) > 0):
            raise ValueError(
                f"mapping_lr_multiplier must be a number > 0 (0.01 in the paper), got {mapping_lr_multiplier!r}."
            )
        self.mapping_lr_multiplier = float(mapping_lr_multiplier)
        self.width = _positive_int(width, "width")
        self.max_width = _positive_int(max_width, "max_width")
        if not (_number(style_mixing) and 0.0 <= float(style_mixing) <= 1.0):
            raise ValueError(f"style_mixing must be a probability in [0, 1] (0.9 in the paper), got {style_mixing!r}.")
        self.style_mixing = float(style_mixing)
        if not (_number(pl_weight) and float(pl_weight) >= 0.0):
            raise ValueError(f"pl_weight must be a number >= 0 (0: off, 2 in the paper), got {pl_weight!r}.")
        self.pl_weight = float(pl_weight)
        self.pl_every = _positive_int(pl_every, "pl_every")
        if not (_number(pl_decay) and 0.0 < float(pl_decay) <= 1.0):
            raise ValueError(f"pl_decay must be a number in (0, 1] (0.01 in the paper), got {pl_decay!r}.")
        self.pl_decay = float(pl_decay)
        self.pl_batch_shrink = _positive_int(pl_batch_shrink, "pl_batch_shrink")
        if not (_number(w_avg_beta) and 0.0 <= float(w_avg_beta) < 1.0):
            raise ValueError(f"w_avg_beta must be a number in [0, 1) (0.995 in the paper), got {w_avg_beta!r}.")
        self.w_avg_beta = float(w_avg_beta)
        self.mbstd_group_size = _positive_int(mbstd_group_size, "mbstd_group_size")
        if kwargs.get("reuse_fakes"):
            raise ValueError(
                "StyleGAN2's generator update draws latents of its own (style mixing, path length): "
                "reuse_fakes=True is not supported; drop it."
            )
        if kwargs.get("spectral_norm"):
            raise ValueError(
                "StyleGAN2's networks use equalized learning rates, not spectral norm: drop spectral_norm=True."
            )
        if kwargs.get("generator") is None:
            # Refuse a bad image shape before any network is built.
            synthesis_plan(image_shape if image_shape is not None else (28, 28, 1))
            if latent_dim is None:
                latent_dim = 512
        super().__init__(
            latent_dim=latent_dim, image_shape=image_shape, ema_decay=ema_decay,
            r1_weight=r1_weight, r1_every=r1_every, **kwargs,
        )
        self.pl_mean = None
        if self.pl_weight:
            self.pl_mean = keras.Variable(
                0.0, dtype="float32", trainable=False, name="pl_mean", aggregation="only_first_replica"
            )
            self.pl_tracker = keras.metrics.Mean(name="pl_penalty")
            self.stabilizer_trackers.append(self.pl_tracker)

    # ------------------------------------------------------------ networks
    def build_generator(self):
        return stylegan2_generator(
            self.latent_dim, self.image_shape, w_dim=self.w_dim, mapping_layers=self.mapping_layers,
            mapping_lr_multiplier=self.mapping_lr_multiplier, width=self.width,
            max_width=self.max_width, dtype=self.network_dtype,
        )

    def build_discriminator(self):
        return stylegan2_discriminator(
            self.image_shape, width=self.width, max_width=self.max_width,
            mbstd_group_size=self.mbstd_group_size, dtype=self.network_dtype,
        )

    def _check_networks(self):
        super()._check_networks()
        names = {layer.name for layer in self.generator.layers}
        missing = {"mapping", "synthesis"} - names
        if not missing:
            synthesis = self.generator.get_layer("synthesis")
            missing = {f"noise_const{i}" for i in range(len(synthesis.inputs) - 1)} - names
        if missing:
            raise ValueError(
                f"StyleGAN2 trains its generator's mapping and synthesis networks apart, but the "
                f"generator has no layer {sorted(missing)[0]!r}: build it with "
                "kg.networks.stylegan2_generator (or pass none)."
            )

    def _parts(self, use_ema=False):
        generator = self.sampling_generator() if use_ema else self.generator
        return generator.get_layer("mapping"), generator.get_layer("synthesis")

    @property
    def num_ws(self):
        """How many ``w`` vectors the synthesis network takes (style-mixing cutoffs run 0..num_ws)."""
        return int(self.generator.get_layer("synthesis").inputs[0].shape[1])

    @property
    def w_avg(self):
        """The tracked mean of ``w`` (float32 ``np.ndarray`` ``[w_dim]``), the center of truncation."""
        mapping, _ = self._parts(use_ema=True)
        return keras.ops.convert_to_numpy(mapping.get_layer("mean_w").w_avg.value)

    def default_optimizer(self, role):
        """Adam(0.002, beta_1=0, beta_2=0.99, epsilon=1e-8), corrected for lazy regularization.

        A network regularized every ``k > 1`` updates (R1 for the
        discriminator, path length for the generator, when on) gets
        ``lr * k / (k + 1)`` and ``beta_2 ** (k / (k + 1))``, as in the paper.
        """
        if role == "discriminator":
            every = self.r1_every if self.r1_weight else 1
        else:
            every = self.pl_every if self.pl_weight else 1
        ratio = every / (every + 1.0) if every > 1 else 1.0
        return keras.optimizers.Adam(
            0.002 * ratio, beta_1=0.0, beta_2=0.99**ratio, epsilon=1e-8, name=f"{role}_adam"
        )

    # ------------------------------------------------------------ training
    def training_ws(self, batch):
        """Styles for a training pass: ``(ws [batch, num_ws, w_dim], w [batch, w_dim])``.

        ``w`` maps fresh latents; ``ws`` repeats it over the style inputs and,
        with probability ``style_mixing`` per example, takes indices from a
        random cutoff in ``[1, num_ws)`` on from a second latent's ``w``.
        """
        mapping, _ = self._parts()
        count = self.num_ws
        w = mapping(self.noise(batch), training=True)
        ws = tf.repeat(w[:, None, :], count, axis=1)
        if self.style_mixing > 0:
            w_mix = mapping(self.noise(batch), training=True)
            cutoff = replica_share(
                lambda n: keras.random.randint((n,), 1, count, seed=self.seed_generator), batch
            )
            mixed = replica_share(lambda n: keras.random.uniform((n,), seed=self.seed_generator), batch)
            cutoff = tf.where(mixed < self.style_mixing, cutoff, count)
            coarse = tf.range(count)[None, :] < tf.cast(cutoff, "int32")[:, None]
            ws = tf.where(coarse[:, :, None], ws, w_mix[:, None, :])
        return ws, w

    def training_noise(self, batch):
        """Fresh per-layer noise maps for ``batch`` images (one per synthesis noise input)."""
        _, synthesis = self._parts()
        maps = []
        for spec in synthesis.inputs[1:]:
            shape = tuple(spec.shape[1:])
            maps.append(replica_share(
                lambda n, shape=shape: keras.random.normal((n, *shape), seed=self.seed_generator), batch
            ))
        return maps

    def training_fakes(self, batch):
        """Unclipped training fakes with style mixing and fresh noise: ``(images, w)``."""
        _, synthesis = self._parts()
        ws, w = self.training_ws(batch)
        return synthesis([ws, *self.training_noise(batch)], training=True), w

    def discriminator_step(self, real, fake=None):
        """One discriminator update (lazy R1 from the base class); fakes drawn by ``training_fakes``."""
        if fake is None:
            fake, _ = self.training_fakes(tf.shape(real)[0])
        return super().discriminator_step(real, fake)

    def generator_step(self, batch):
        """One generator update (mapping and synthesis); returns the adversarial loss.

        Adds the lazy path-length penalty on due updates and moves ``w_avg``
        toward the batch's mean ``w`` (before the EMA step copies it).
        """
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake, w = self.training_fakes(batch)
            loss = self.g_loss_fn(self.discriminate(fake))
            total = loss
            if self.pl_weight:
                total = loss + self.path_length_penalty(batch)
        self.track_w_avg(w)
        self.apply_loss(tape, total, self.g_optimizer, variables)
        return loss

    def path_lengths(self, batch):
        """Path lengths ``|J_w^T y|`` of ``max(batch // pl_batch_shrink, 1)`` fresh fakes (float32 ``[n]``)."""
        _, synthesis = self._parts()
        n = tf.maximum(batch // self.pl_batch_shrink, 1)
        ws, _ = self.training_ws(n)
        noise = self.training_noise(n)
        with tf.GradientTape() as tape:
            tape.watch(ws)
            images = tf.cast(synthesis([ws, *noise], training=True), "float32")
            height, width = self.image_shape[0], self.image_shape[1]
            directions = replica_share(
                lambda k: keras.random.normal((k, *self.image_shape), seed=self.seed_generator), n
            ) / math.sqrt(height * width)
            total = tf.reduce_sum(images * directions)
        grads = tape.gradient(total, ws)
        return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=2), axis=1))

    def path_length_penalty(self, batch):
        """The weighted lazy path-length term (0 on updates that are not due); moves ``pl_mean``.

        Call it inside the generator update's tape. The running mean moves
        by the mean length over every replica's fakes; the penalty is this
        replica's mean of ``(length - pl_mean)^2`` with the updated mean.
        """
        due = tf.equal(self.g_optimizer.iterations % self.pl_every, 0)
        # An empty vector on the other updates: the collective and the
        # variable write below stay outside the conditional.
        lengths = tf.cond(due, lambda: self.path_lengths(batch), lambda: tf.zeros([0], "float32"))
        count = tf.cast(tf.size(lengths), "float32")
        stats = _sum_over_replicas(tf.stack([tf.reduce_sum(tf.stop_gradient(lengths)), count]))
        old = tf.convert_to_tensor(self.pl_mean.value)
        mean = tf.where(due, old + self.pl_decay * (tf.math.divide_no_nan(stats[0], stats[1]) - old), old)
        assign_variables([(self.pl_mean, mean)])
        value = tf.reduce_sum(tf.square(lengths - tf.stop_gradient(mean))) / tf.maximum(count, 1.0)
        self.pl_tracker.update_state(value, sample_weight=tf.cast(due, "float32"))
        return (self.pl_weight * self.pl_every) * value

    def track_w_avg(self, w):
        """Move the mapping network's ``w_avg`` toward the mean of ``w`` over the (global) batch."""
        w = tf.stop_gradient(tf.cast(w, "float32"))
        stats = _sum_over_replicas(
            tf.concat([tf.reduce_sum(w, axis=0), tf.cast(tf.shape(w)[:1], "float32")], axis=0)
        )
        mean = stats[:-1] / stats[-1]
        layer = self._parts()[0].get_layer("mean_w")
        w_avg = tf.convert_to_tensor(layer.w_avg.value)
        assign_variables([(layer.w_avg, mean + self.w_avg_beta * (w_avg - mean))])

    def train_step(self, data):
        self._check_compiled()
        real = self.unpack_data(data)
        d_loss = self.discriminator_step(real)
        g_loss = self.generator_step(tf.shape(real)[0])
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------ sampling
    def truncate(self, z, truncation):
        """Refused for ``psi < 1``: StyleGAN2 truncates ``w``, not ``z`` (``z`` is returned for None or 1)."""
        truncation = check_w_truncation(truncation)
        if truncation is None or truncation == 1.0:
            return z
        raise ValueError(
            "StyleGAN2 truncates in w space, not z: use gan.generate(n, seed=..., truncation=psi), "
            "gan.generate_from_latents(z, truncation=psi) or gan.w_from_latents(z, truncation=psi)."
        )

    def w_from_latents(self, z, truncation=None, batch_size=256, use_ema=True):
        """Map latents to ``w`` (float32 ``[n, w_dim]``), truncated toward ``w_avg`` by ``psi``.

        Args:
            z: array ``[n, latent_dim]``.
            truncation: None or ``psi`` in [0, 1]: ``w_avg + psi * (w - w_avg)``.
            batch_size: int, latents mapped per pass.
            use_ema: bool, use the EMA generator's mapping network.
        """
        truncation = check_w_truncation(truncation)
        z = np.asarray(z, "float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape [n, {self.latent_dim}], got {list(z.shape)}.")
        mapping, _ = self._parts(use_ema)
        mean_w = mapping.get_layer("mean_w")
        out = []
        for start in range(0, len(z), batch_size):
            w = mapping(z[start : start + batch_size], training=False)
            if truncation is not None and truncation != 1.0:
                w = mean_w.truncate(w, truncation)
            out.append(keras.ops.convert_to_numpy(w))
        return np.concatenate(out).astype("float32")

    def generate_from_ws(self, ws, batch_size=256, use_ema=True):
        """Images (float32 in [-1, 1]) for styles ``ws``: ``[n, w_dim]`` (one ``w`` for every layer) or ``[n, num_ws, w_dim]``.

        The noise is the sampling generator's fixed maps, so equal styles
        give equal images; ``gan(z)`` is ``generate_from_ws(w_from_latents(z))``.
        """
        ws = np.asarray(ws, "float32")
        if ws.ndim == 2:
            ws = np.repeat(ws[:, None, :], self.num_ws, axis=1)
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(
                f"ws must have shape [n, {self.w_dim}] or [n, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}."
            )
        generator = self.sampling_generator(use_ema)
        _, synthesis = self._parts(use_ema)
        constants = [generator.get_layer(f"noise_const{i}") for i in range(len(synthesis.inputs) - 1)]
        out = []
        for start in range(0, len(ws), batch_size):
            chunk = tf.constant(ws[start : start + batch_size])
            images = synthesis([chunk, *[layer(chunk) for layer in constants]], training=False)
            out.append(keras.ops.convert_to_numpy(keras.ops.clip(images, -1.0, 1.0)))
        return np.concatenate(out).astype("float32")

    def generate_from_latents(self, z, batch_size=256, use_ema=True, truncation=None):
        """Images for latents ``z`` ``[n, latent_dim]``, truncated in ``w`` space by ``truncation``."""
        ws = self.w_from_latents(z, truncation=truncation, batch_size=batch_size, use_ema=use_ema)
        return self.generate_from_ws(ws, batch_size=batch_size, use_ema=use_ema)

    def generate(self, n, seed=None, batch_size=256, truncation=None, use_ema=True):
        """Generate ``n`` images (float32 in [-1, 1], NHWC), truncated in ``w`` space.

        Args:
            n: int, how many images.
            seed: int for reproducible samples (the latents
                ``kg.sampling.latents(n, latent_dim, seed)``), None for fresh ones.
            batch_size: int, images per forward pass.
            truncation: None or ``psi`` in [0, 1]: each ``w`` is moved to
                ``w_avg + psi * (w - w_avg)``; ``psi = 0`` gives the mean-``w`` image.
            use_ema: bool, sample with the EMA generator.

        Example:
            >>> images = gan.generate(16, seed=0, truncation=0.7)
        """
        truncation = check_w_truncation(truncation)
        return self.generate_from_latents(self.sample_latent(n, seed), batch_size, use_ema, truncation)

    def style_mix(self, seeds_a, seeds_b, cutoff, truncation=None, batch_size=256, use_ema=True):
        """Images whose coarse styles come from ``seeds_a`` and fine styles from ``seeds_b``.

        Image ``i`` takes style inputs ``0 .. cutoff - 1`` from the ``w`` of
        ``seeds_a[i]`` and the rest from ``seeds_b[i]`` (a seed's latent is
        the one ``generate(1, seed=s)`` uses): ``cutoff=0`` gives
        ``seeds_b``'s images, ``cutoff=num_ws`` ``seeds_a``'s. Small cutoffs
        (4x4 and 8x8 styles) carry pose and shape, large ones colour and texture.

        Args:
            seeds_a, seeds_b: ints or equally long lists of ints.
            cutoff: int in ``[0, num_ws]``.
            truncation: None or ``psi`` in [0, 1], applied to both ``w``.
            batch_size: int, images per forward pass.
            use_ema: bool, use the EMA generator.

        Returns:
            float32 ``np.ndarray`` ``[len(seeds_a), h, w, c]`` in [-1, 1].

        Example:
            >>> gan.style_mix([0, 1], [2, 3], cutoff=4).shape  # doctest: +SKIP
            (2, 28, 28, 1)
        """
        from keras_gans.sampling import seed_latents, seed_list

        a, b = seed_list(seeds_a, "seeds_a"), seed_list(seeds_b, "seeds_b")
        if len(a) != len(b):
            raise ValueError(
                f"seeds_a and seeds_b must be as long (one image per pair), got {len(a)} and {len(b)}."
            )
        count = self.num_ws
        if isinstance(cutoff, bool) or not isinstance(cutoff, (int, np.integer)) or not 0 <= cutoff <= count:
            raise ValueError(
                f"cutoff must be an int in [0, {count}] (style inputs below it come from seeds_a), got {cutoff!r}."
            )
        truncation = check_w_truncation(truncation)
        z = seed_latents(a + b, self.latent_dim)
        w = self.w_from_latents(z, truncation=truncation, batch_size=batch_size, use_ema=use_ema)
        coarse = (np.arange(count) < int(cutoff))[None, :, None]
        ws = np.where(coarse, w[: len(a), None, :], w[len(a) :, None, :])
        return self.generate_from_ws(ws, batch_size=batch_size, use_ema=use_ema)

    def export_sampling(self):
        """How exports sample this GAN: a ``WSpaceSampling`` of the sampling (EMA) generator.

        ``kg.export.saved_model`` asks a GAN for it to build ``sample`` with
        truncation in ``w`` space (toward the saved ``w_avg``) and the
        ``mapping`` / ``synthesis`` signatures.
        """
        return WSpaceSampling(self.sampling_generator(), gan=self)

    # ------------------------------------------------------------ saving
    def get_config(self):
        return {
            **super().get_config(),
            "w_dim": self.w_dim,
            "mapping_layers": self.mapping_layers,
            "mapping_lr_multiplier": self.mapping_lr_multiplier,
            "width": self.width,
            "max_width": self.max_width,
            "style_mixing": self.style_mixing,
            "pl_weight": self.pl_weight,
            "pl_every": self.pl_every,
            "pl_decay": self.pl_decay,
            "pl_batch_shrink": self.pl_batch_shrink,
            "w_avg_beta": self.w_avg_beta,
            "mbstd_group_size": self.mbstd_group_size,
        }
