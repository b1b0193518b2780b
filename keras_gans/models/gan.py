"""The base GAN: a subclassed ``keras.Model`` that trains with plain ``fit``."""

import copy

import numpy as np
import keras
import tensorflow as tf

from keras_gans import losses as losses_lib

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


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


def check_precision(precision):
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {PRECISIONS}, got {precision!r}."
        )
    return precision


def validate_images(images, image_shape, what="images", tolerance=1e-3):
    """Check a batch of images: dtype and shape at trace time, range when it runs.

    Args:
        images: tensor ``[batch, h, w, c]``.
        image_shape: expected ``(h, w, c)``.
        what: str, name used in the error.
        tolerance: float, how far past [-1, 1] a value may lie (rounding of
            low-precision inputs).

    Returns:
        The images cast to float32. Every op that uses them waits for the range
        check, so a batch with values outside [-1, 1] (NaN and inf included)
        stops training with ``tf.errors.InvalidArgumentError`` before any
        weight moves. XLA (``jit_compile=True``) drops the check.
    """
    dtype = keras.backend.standardize_dtype(images.dtype)
    if "float" not in dtype:
        raise ValueError(
            f"{what} must be floats in [-1, 1], got dtype {dtype}: scale them with "
            "x / 127.5 - 1 (kg.data.load does this)."
        )
    shape = tuple(images.shape[1:])
    if len(shape) != 3 or any(
        s is not None and s != e for s, e in zip(shape, image_shape)
    ):
        raise ValueError(
            f"{what} have shape {shape} per example but this GAN makes {tuple(image_shape)}: "
            "resize the data or build the GAN with a matching image_shape."
        )
    images = tf.cast(images, "float32")
    # Unscaled pixels (0..255) train without any error but learn nothing; the
    # check gates the batch through a conditional (not a control dependency,
    # which grappler may reorder) so nothing downstream runs on a bad batch.
    ok = tf.reduce_all(tf.abs(images) <= 1.0 + tolerance)

    def fail():
        worst = tf.reduce_max(tf.where(tf.math.is_nan(images), np.inf, tf.abs(images)))
        message = (
            f"{what} must lie in [-1, 1] (scale uint8 pixels with x / 127.5 - 1), "
            "got a batch with |value| up to"
        )
        with tf.control_dependencies([tf.debugging.Assert(False, [message, worst])]):
            return tf.identity(images)

    return tf.cond(ok, lambda: images, fail)


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
        precision: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``,
            the dtype policy of the default networks. Set per network, never
            globally; outputs stay float32.
        reuse_fakes: bool. False (the default, the keras.io examples'
            schedule): the generator update draws fresh latents and runs the
            generator again. True: it scores, with the just-updated
            discriminator, the same fakes the discriminator update was shown,
            so a step runs the generator forward once (the schedule of
            PyTorch's DCGAN example): one generator pass fewer per step, but
            the generator update must wait for the discriminator's, so on a
            CPU it is not reliably faster (see the README's Performance).
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
        precision="float32",
        reuse_fakes=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
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
        """Run the generator: ``gan(z)`` returns images in [-1, 1]."""
        return self.generator(inputs, training=training)

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

    def generate(self, n, seed=None, batch_size=256):
        """Generate ``n`` images.

        Args:
            n: int, how many images.
            seed: int for reproducible samples, None for fresh ones.
            batch_size: int, images generated per forward pass.

        Returns:
            float32 ``np.ndarray`` ``[n, height, width, channels]`` in [-1, 1].

        Example:
            >>> images = gan.generate(16, seed=0)
        """
        z = self.sample_latent(n, seed)
        return self._run_generator([z], batch_size)

    def preview(self, n, seed=0, inputs=None):
        """Images for a progress grid: ``n`` samples from a fixed seed.

        Families override it (conditional GANs cycle through classes, CycleGAN
        shows translations of ``inputs``).
        """
        return self.generate(n, seed=seed)

    def _run_generator(self, inputs, batch_size):
        out = []
        for start in range(0, len(inputs[0]), batch_size):
            chunk = [x[start : start + batch_size] for x in inputs]
            chunk = chunk[0] if len(chunk) == 1 else chunk
            out.append(keras.ops.convert_to_numpy(self.generator(chunk, training=False)))
        return np.concatenate(out).astype("float32")

    # ------------------------------------------------------------ training
    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

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
        return super().evaluate(*args, **kwargs)

    def apply_loss(self, tape, loss, optimizer, variables):
        """Take one optimizer step on ``loss`` (replica-scaled and loss-scaled)."""
        # The scaling must be recorded on the tape (re-entered here): done
        # outside it, the gradient of the scaled loss is None whenever a
        # scaling applies (several replicas, or a loss-scale optimizer).
        with tape:
            scaled = optimizer.scale_loss(replica_scaled(loss))
        grads = tape.gradient(scaled, variables)
        optimizer.apply_gradients(zip(grads, variables))

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
            real_out = self.discriminator(real, training=True)
            fake_out = self.discriminator(fake, training=True)
            loss = self.d_loss_fn(real_out, fake_out)
        self.apply_loss(tape, loss, self.d_optimizer, variables)
        return loss

    def generator_step(self, batch):
        """One generator update with ``batch`` fresh latents; returns the loss."""
        z = self.noise(batch)
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            loss = self.g_loss_fn(self.discriminator(fake, training=True))
        self.apply_loss(tape, loss, self.g_optimizer, variables)
        return loss

    def _check_compiled(self):
        if self.g_optimizer is None:
            raise ValueError("the GAN is not compiled: call gan.compile() before fit.")

    def fit(self, x=None, *args, **kwargs):
        """``keras.Model.fit``, refusing data that holds no batch.

        Keras only warns when the data runs out before the first step; for a
        GAN that silently trains nothing, so it is an error here.
        """
        self._check_compiled()
        if isinstance(x, tf.data.Dataset) and int(x.cardinality()) == 0:
            raise ValueError("the dataset is empty: it yields no batch (check filters, take() and batch size).")
        # Optimizer slots created lazily inside a distributed step land in a
        # replica-local branch and fail ("must feed a value for placeholder");
        # created here, under the model's strategy, they are mirrored.
        with self.distribute_strategy.scope():
            self.build_optimizers()
        before = self._progress()
        history = super().fit(x, *args, **kwargs)
        # history.epoch lists the epochs that ran: none when the run was
        # already complete (e.g. restored by a backup callback at its end).
        if history.epoch and self._progress() == before:
            raise ValueError("the dataset is empty: fit ran no training step (check the data source).")
        return history

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
        step = self.train_step
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages a multi-worker step's logs with
            # strategy.reduce("MEAN", value, axis=0), which fails on the
            # scalars every train_step returns; as shape-[1] tensors they
            # reduce to the mean over all replicas.
            def step(data):
                return {k: tf.reshape(v, [1]) for k, v in self.train_step(data).items()}

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
                lambda fake: self.g_loss_fn(self.discriminator(fake, training=True)),
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
        # The seed generator is not a Keras layer, so its state would not be
        # saved; saving it makes a resumed run draw the same noise.
        store["seed_state"] = keras.ops.convert_to_numpy(self.seed_generator.state.value)

    def load_own_variables(self, store):
        if "seed_state" in store:
            self.seed_generator.state.assign(np.asarray(store["seed_state"]))

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
