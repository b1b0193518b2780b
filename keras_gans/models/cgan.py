"""Conditional GAN: class labels condition both the generator and the discriminator."""

import keras
import numpy as np
import tensorflow as tf

from keras_gans.models.data_checks import first_problem, validate_images
from keras_gans.models.gan import GAN, check_truncation
from keras_gans.networks.cgan import cgan_discriminator, cgan_generator


@keras.saving.register_keras_serializable(package="keras_gans")
class ConditionalGAN(GAN):
    """Class-conditional GAN trained on ``(images, labels)`` batches.

    Labels condition both networks. The default generator concatenates a
    learned label embedding to ``z`` (Mirza & Osindero, 2014); the default
    discriminator is a projection discriminator (Miyato & Koyama, 2018), which
    adds ``e_y . phi(x)`` to the DCGAN logit. Projection is chosen over
    feeding labels as extra image channels because it conditions the decision
    on features where classes are separable, adds no convolution filters, and
    reduces to the unconditional DCGAN discriminator when the class embedding
    is zero (its initial value). See ``kg.networks.cgan_generator`` and
    ``kg.networks.cgan_discriminator``.

    Both networks take the labels as a second functional input named
    ``labels`` (int32 ``[batch]``): ``generator([z, labels])`` and
    ``discriminator([images, labels])``.

    Training: each batch is ``(images, labels)`` (``kg.data.load(...,
    labels=True)``). The fake images of both the discriminator and the
    generator step are drawn for the real batch's labels, so real and fake
    images have the same class balance in every step (the discriminator cannot
    score a class as "fake" because it is drawn more often) and the model
    learns the data's class frequencies. Labels must be ints in
    ``[0, num_classes)``: ``fit`` refuses floats, a length that differs from
    the images, and out-of-range values with one ``ValueError`` before any
    weight moves, ``jit_compile=True`` included (the values are checked in the
    input pipeline, where XLA cannot drop the check or clamp the embedding
    lookup; see ``kg.models.GAN.fit``). ``fit(images, labels)``,
    ``fit((images, labels))`` and a dataset of ``(images, labels)`` batches
    all train.

    ``predict([z, labels])`` (or ``gan([z, labels])``) runs the generator;
    ``generate(n, labels=...)`` draws the latents too.

    ``compile("auto")`` uses Adam(2e-4, beta_1=0.5) for both networks and the
    non-saturating loss.

    Default networks for 28x28x1 and 10 classes (``count_params()``):

    =====  ==========  =============  =========  =============
    width  latent_dim  embedding_dim  generator  discriminator
    =====  ==========  =============  =========  =============
    64     128         32             2,535,233  201,665
    =====  ==========  =============  =========  =============

    Args:
        latent_dim: int, size of ``z``.
        image_shape: tuple ``(height, width, channels)``.
        num_classes: int, number of classes.
        width: int, base filter count of the default networks.
        embedding_dim: int, size of the generator's label embedding.
        generator: optional ``keras.Model`` ``[z, labels] -> images``.
        discriminator: optional ``keras.Model`` ``[images, labels] -> logits``.
        seed: int or None, seed of the training noise.
        precision: dtype policy of the default networks (see ``kg.models.GAN``).
        **kwargs: passed to ``kg.models.GAN``.

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.ConditionalGAN(latent_dim=64, num_classes=10, width=16)
        >>> gan.compile()
        >>> gan.fit(kg.data.load("fashion_mnist", labels=True), epochs=1)  # doctest: +SKIP
        >>> gan.generate(4, labels=[7, 7, 9, 9], seed=0).shape
        (4, 28, 28, 1)
    """

    family = "cgan"
    data_kind = "labelled"

    def __init__(
        self,
        latent_dim=None,
        image_shape=None,
        num_classes=10,
        width=64,
        embedding_dim=32,
        **kwargs,
    ):
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.width = int(width)
        self.embedding_dim = int(embedding_dim)
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, **kwargs)

    # ------------------------------------------------------------ networks
    def build_generator(self):
        return cgan_generator(
            self.latent_dim,
            self.image_shape,
            num_classes=self.num_classes,
            width=self.width,
            embedding_dim=self.embedding_dim,
            dtype=self.network_dtype,
        )

    def build_discriminator(self):
        return cgan_discriminator(
            self.image_shape,
            num_classes=self.num_classes,
            width=self.width,
            normalization=None if self.spectral_norm else "batch",
            dtype=self.network_dtype,
            spectral_norm=self.spectral_norm,
        )

    def _check_networks(self):
        for role, net, first in (
            ("generator", self.generator, "z"),
            ("discriminator", self.discriminator, "images"),
        ):
            if len(net.inputs) != 2:
                raise ValueError(
                    f"the {role} of a ConditionalGAN must take two inputs [{first}, labels], "
                    f"got {len(net.inputs)}: build it with kg.networks.cgan_{role}."
                )
        super()._check_networks()

    # ------------------------------------------------------------ sampling
    def check_labels(self, labels, n):
        """Validate labels for ``n`` samples eagerly; returns an int32 array ``[n]``.

        Args:
            labels: int, or array-like of ints of length ``n``, in ``[0, num_classes)``.
                A single int gives ``n`` samples of that class.
            n: int, how many samples.

        Returns:
            ``np.ndarray`` int32 ``[n]``.
        """
        array = np.asarray(labels)
        if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"labels must be integer class ids, got dtype {array.dtype}: pass ints "
                f"in [0, {self.num_classes})."
            )
        if array.ndim == 0:
            array = np.full((n,), int(array))
        elif array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.shape != (n,):
            raise ValueError(
                f"got labels of shape {array.shape} for n={n} samples: pass one label per sample."
            )
        bad = array[(array < 0) | (array >= self.num_classes)]
        if bad.size:
            raise ValueError(
                f"labels must lie in [0, {self.num_classes}), got {int(bad[0])}: this model "
                f"has {self.num_classes} classes."
            )
        return array.astype("int32")

    def generate(self, n, labels=None, seed=None, batch_size=256, truncation=None, use_ema=True):
        """Generate ``n`` images of the requested classes.

        Args:
            n: int, how many images.
            labels: None (cycle through the classes: ``arange(n) % num_classes``),
                an int (all ``n`` of that class) or ``n`` ints in ``[0, num_classes)``.
            seed: int for reproducible samples, None for fresh ones.
            batch_size: int, images per forward pass.
            truncation: None or ``psi`` in (0, 1]: latents scaled toward the
                mean latent (``truncate``).
            use_ema: bool, sample with ``ema_generator`` when the GAN has one.

        Returns:
            float32 ``np.ndarray`` ``[n, height, width, channels]`` in [-1, 1].

        Example:
            >>> sneakers = gan.generate(8, labels=7, seed=0)
            >>> same = gan.generate(8, 7, 0)  # positional: n, labels, seed
        """
        n = self._check_count(n)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(
                f"seed must be an int or None, got {type(seed).__name__}: the signature is "
                "generate(n, labels=None, seed=None, batch_size=256)."
            )
        if labels is None:
            labels = np.arange(n, dtype="int32") % self.num_classes
        labels = self.check_labels(labels, n)
        check_truncation(truncation)
        z = self.truncate(self.sample_latent(n, seed), truncation)
        return self._run_generator([z, labels], batch_size, use_ema=use_ema)

    def generate_from_latents(self, z, labels=0, batch_size=256, use_ema=True):
        """Images for given latents ``z`` and ``labels`` (an int, or one per latent)."""
        z = np.asarray(z, "float32")
        return self._run_generator([z, self.check_labels(labels, len(z))], batch_size, use_ema=use_ema)

    def preview(self, n, seed=0, inputs=None):
        """Images for a progress grid: one class per grid row, one latent per column.

        The grid of ``kg.callbacks.image_grid`` has ``ceil(sqrt(n))`` columns;
        row ``r`` shows class ``r % num_classes`` and every row reuses the same
        latents, so a column shows one ``z`` rendered as each class. ``n=100``
        shows all ten Fashion-MNIST classes.
        """
        n = self._check_count(n)
        ncols = int(np.ceil(np.sqrt(n)))
        z = np.tile(self.sample_latent(ncols, seed), (int(np.ceil(n / ncols)), 1))[:n]
        labels = ((np.arange(n) // ncols) % self.num_classes).astype("int32")
        return self._run_generator([z, labels], 256)

    # ------------------------------------------------------------ training
    def unpack_data(self, data):
        """Return ``(images float32 [b, h, w, c], labels int32 [b])`` of a batch.

        Checks what is known when the step is traced (dtypes, shapes); the
        values are checked by ``value_problems`` (``fit`` runs it in the
        input pipeline).
        """
        if isinstance(data, (tuple, list)) and len(data) == 1 and isinstance(data[0], (tuple, list)):
            data = data[0]  # ((images, labels),): a pair packed as one input
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError(
                "ConditionalGAN trains on (images, labels) batches and got images alone: pass the "
                "labels too (gan.fit(images, labels), gan.fit((images, labels)), or "
                "kg.data.load(..., labels=True))."
            )
        images = validate_images(data[0], self.image_shape)
        return images, self._static_labels(data[1], images)

    def _static_labels(self, labels, images):
        labels = tf.convert_to_tensor(labels)
        dtype = keras.backend.standardize_dtype(labels.dtype)
        if "int" not in dtype:
            raise ValueError(
                f"labels must be integer class ids, got dtype {dtype}: pass ints in "
                f"[0, {self.num_classes}) (kg.data.load(..., labels=True) does)."
            )
        if labels.shape.rank == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.shape.rank != 1:
            raise ValueError(
                f"labels must have shape [batch], got {tuple(labels.shape)}: one int per image."
            )
        n_labels, n_images = labels.shape[0], images.shape[0]
        if n_labels is not None and n_images is not None and n_labels != n_images:
            raise ValueError(
                f"a batch has {n_images} images but {n_labels} labels: pass one label per image."
            )
        return tf.cast(labels, "int32")

    def value_problems(self, unpacked):
        """The image checks of ``kg.models.GAN``, then the labels' count and range."""
        images, labels = unpacked
        checks = super().value_problems(images)
        k = self.num_classes
        n_labels, n_images = tf.shape(labels)[0], tf.shape(images)[0]
        # The appended 0 keeps min/max defined on an empty batch.
        padded = tf.concat([labels, tf.zeros([1], "int32")], axis=0)
        low, high = tf.reduce_min(padded), tf.reduce_max(padded)
        problem = first_problem([
            (tf.not_equal(n_labels, n_images), lambda: tf.strings.format(
                "a batch has {} images but {} labels: pass one label per image.", (n_images, n_labels))),
            (low < 0, lambda: tf.strings.format(
                f"labels must lie in [0, {k}), got {{}}: class ids count from 0.", (low,))),
            (high >= k, lambda: tf.strings.format(
                f"labels must lie in [0, {k}), got {{}}: this model has {k} classes (fix the labels, "
                "or build the model with num_classes={} or more).", (high, high + 1))),
        ])
        return checks + [(problem, tf.constant(""))]

    def check_predict_inputs(self, x):
        """``predict`` takes ``[z, labels]``: refuse ``z`` alone (or images) with the fix."""
        if isinstance(x, (tuple, list)) and len(x) == 2:
            z, labels = x
            if hasattr(z, "shape") and len(z.shape) == 2 and z.shape[1] == self.latent_dim:
                self.check_labels(np.asarray(labels), int(z.shape[0]))
                return
        if isinstance(x, (tuple, list)) or hasattr(x, "shape"):
            got = [list(v.shape) for v in x] if isinstance(x, (tuple, list)) else list(x.shape)
            raise ValueError(
                f"ConditionalGAN.predict takes [z, labels] (z [n, {self.latent_dim}] floats, labels "
                f"[n] ints in [0, {self.num_classes})), got {got}: call "
                "gan.predict([gan.sample_latent(n), labels]) or gan.generate(n, labels=labels)."
            )

    def discriminator_step(self, real, labels, fake=None):
        """One discriminator update; fakes (None: drawn now) are for the real batch's labels."""
        if fake is None:
            fake = self.generator([self.noise(tf.shape(real)[0]), labels], training=True)
        fake = tf.stop_gradient(fake)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_out, fake_out, penalty = self.discriminator_outputs(real, fake, conditions=[labels])
            loss = self.d_loss_fn(real_out, fake_out)
            total = loss if penalty is None else loss + penalty
        self.apply_loss(tape, total, self.d_optimizer, variables)
        return loss

    def generator_step(self, labels):
        """One generator update with fresh latents for ``labels``; returns the loss."""
        z = self.noise(tf.shape(labels)[0])
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = self.generator([z, labels], training=True)
            loss = self.g_loss_fn(self.discriminate(fake, conditions=[labels]))
        self.apply_loss(tape, loss, self.g_optimizer, variables)
        return loss

    def train_step(self, data):
        self._check_compiled()
        real, labels = self.unpack_data(data)
        if self.reuse_fakes:
            d_loss, g_loss = self.adversarial_step(
                lambda: self.generator([self.noise(tf.shape(real)[0]), labels], training=True),
                lambda fake: self.discriminator_step(real, labels, fake),
                lambda fake: self.g_loss_fn(self.discriminate(fake, conditions=[labels])),
            )
        else:
            d_loss = self.discriminator_step(real, labels)
            g_loss = self.generator_step(labels)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        self._check_compiled()
        real, labels = self.unpack_data(data)
        z = self.noise(tf.shape(real)[0], self.eval_seed_generator)  # never the training noise
        fake = self.generator([z, labels], training=False)
        fake_out = self.discriminator([fake, labels], training=False)
        real_out = self.discriminator([real, labels], training=False)
        self.d_loss_tracker.update_state(self.d_loss_fn(real_out, fake_out))
        self.g_loss_tracker.update_state(self.g_loss_fn(fake_out))
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "width": self.width,
            "embedding_dim": self.embedding_dim,
        }
