"""CycleGAN: unpaired image-to-image translation between two domains."""

import keras
import numpy as np
import tensorflow as tf

from keras_gans import losses as losses_lib
from keras_gans.models.data_checks import checked_image_batch, validate_images
from keras_gans.models.gan import GAN, assign_variables, replica_scaled, replica_share
from keras_gans.models.linear_decay import LinearDecay, check_schedules
from keras_gans.networks.cyclegan import cyclegan_discriminator, cyclegan_generator
from keras_gans.networks.spectral_norm import spectral_layers


def query_image_pool(pool, count, images, swap, slots):
    """One batch through the image history buffer of Shrivastava et al. (2017).

    The batch is handled as if its images arrived one after another, exactly
    as in the CycleGAN reference code: while the pool is not full, an image is
    stored and returned as is; once full, with ``swap`` it is stored at
    ``slots`` and the image it replaces is returned, otherwise it is returned
    as is. Images of the same batch see each other's writes (an image may get
    back one stored a moment earlier). Pure tensor ops with static shapes, so
    it runs inside a compiled (also XLA) train step.

    Args:
        pool: tensor ``[pool_size, h, w, c]``, the stored images.
        count: int32 scalar tensor, how many slots hold an image (the first
            ``count``).
        images: tensor ``[batch, h, w, c]``, newly generated images.
        swap: bool tensor ``[batch]``, per image: return a stored image
            instead (used once the pool is full; the paper flips a fair coin).
        slots: int32 tensor ``[batch]`` in ``[0, pool_size)``, per image: the
            slot to swap with.

    Returns:
        ``(returned, new_pool, new_count)``: the images for the
        discriminator ``[batch, h, w, c]``, the updated pool and count.

    Example:
        >>> import numpy as np
        >>> pool = np.zeros((2, 1, 1, 1), "float32")
        >>> images = np.array([1, 2, 3], "float32").reshape(3, 1, 1, 1)
        >>> out, pool, count = query_image_pool(
        ...     pool, 0, images, swap=np.array([True, True, True]), slots=np.array([1, 1, 0]))
        >>> out.numpy().ravel().tolist(), pool.numpy().ravel().tolist(), int(count)
        ([1.0, 2.0, 1.0], [3.0, 2.0], 2)
    """
    images = tf.convert_to_tensor(images)
    pool = tf.cast(tf.convert_to_tensor(pool), images.dtype)
    count = tf.cast(count, "int32")
    swap = tf.cast(swap, "bool")
    slots = tf.cast(slots, "int32")
    size = tf.shape(pool)[0]
    order = tf.range(tf.shape(images)[0])
    # Image i finds count + i images stored while the pool is still filling.
    fill = count + order < size
    swapping = tf.logical_and(tf.logical_not(fill), swap)
    writes = tf.where(fill, count + order, tf.where(swapping, slots, -1))
    earlier = order[None, :] < order[:, None]  # [i, j]: j came before i

    # A swapping image gets the slot's content as left by the latest earlier
    # image of the batch that wrote there, else the pool's content.
    wrote_slot = tf.logical_and(tf.equal(writes[None, :], slots[:, None]), earlier)
    last_writer = tf.reduce_max(tf.where(wrote_slot, order[None, :], -1), axis=1)
    stored = tf.where(
        (last_writer >= 0)[:, None, None, None],
        tf.gather(images, tf.maximum(last_writer, 0)),
        tf.gather(pool, tf.clip_by_value(slots, 0, size - 1)),
    )
    returned = tf.where(swapping[:, None, None, None], stored, images)

    # Each slot ends up holding its last writer's image.
    slot_ids = tf.range(size)
    writer = tf.reduce_max(
        tf.where(tf.equal(writes[None, :], slot_ids[:, None]), order[None, :], -1), axis=1
    )
    new_pool = tf.where(
        (writer >= 0)[:, None, None, None], tf.gather(images, tf.maximum(writer, 0)), pool
    )
    new_count = tf.minimum(count + tf.shape(images)[0], size)
    return returned, new_pool, new_count


def _runs_an_epoch(args, kwargs):
    """Whether ``fit(x, *args, **kwargs)`` would run an epoch (``epochs > initial_epoch``)."""
    import inspect

    try:
        bound = inspect.signature(keras.Model.fit).bind(None, None, *args, **kwargs)
    except TypeError:
        return True  # keras.Model.fit reports the bad call itself
    epochs = bound.arguments.get("epochs", 1)
    initial = bound.arguments.get("initial_epoch", 0)
    try:
        return int(epochs) > int(initial)
    except (TypeError, ValueError):
        return True


def _number(value, what, integer=False, allow_none=False):
    if value is None and allow_none:
        return None
    kinds = (int, np.integer) if integer else (int, float, np.number)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value >= 0:
        kind = "an int" if integer else "a number"
        raise ValueError(f"{what} must be {kind} >= 0, got {value!r}.")
    return int(value) if integer else float(value)


@keras.saving.register_keras_serializable(package="keras_gans")
class CycleGAN(GAN):
    """CycleGAN (Zhu et al., 2017): translate images between two unpaired domains.

    Four networks: ``generator`` (G: A -> B), ``generator_ba`` (F: B -> A),
    ``discriminator`` (D_B, real vs translated B images) and
    ``discriminator_a`` (D_A). Each ``fit`` batch is a pair ``(a, b)`` of
    unrelated images from the two domains (``kg.data.load_unpaired``). Per
    batch the generators take one step together on

        ``g_loss + cycle_weight * cycle_loss
        + identity_weight * cycle_weight * identity_loss``

    where ``g_loss`` is the adversarial term (the generator loss of
    ``compile(loss=...)``, least squares by default) for ``D_B(G(a))`` plus
    ``D_A(F(b))``, ``cycle_loss`` is ``|F(G(a)) - a| + |G(F(b)) - b|`` and
    ``identity_loss`` is ``|G(b) - b| + |F(a) - a|`` (mean absolute errors,
    ``kg.losses.cycle_consistency_loss`` / ``identity_loss``). Then each
    discriminator takes one step on real images against translated ones
    drawn through an image pool (``d_loss`` is the sum of both). The four
    metrics ``d_loss``, ``g_loss``, ``cycle_loss`` (unweighted) and
    ``identity_loss`` (unweighted) are ``keras.metrics.Mean`` trackers reset
    every epoch.

    ``kg.losses.least_squares_generator_loss`` is ``0.5 * mean((D - 1)^2)``,
    half the plain squared error of the reference code, so with the default
    ``cycle_weight=10`` the cycle and identity terms weigh twice as much
    against the adversarial term as there; ``cycle_weight=5`` reproduces the
    reference's balance.

    Image pool: as in the paper, each discriminator sees translated images
    from a history of ``pool_size`` earlier ones: while it fills, images pass
    through and are stored; then each image, with probability 0.5, is swapped
    with a random stored one (see ``query_image_pool``). The coin flips and
    slots come from the model's seed generator. The pools are non-trainable
    variables saved with the model, so a resumed run continues exactly
    (``2 * pool_size * h * w * c`` float32 values: 0.3 MB for 28x28x1,
    79 MB for 256x256x3). Under ``tf.distribute`` each replica keeps its own
    pool of its own images (on-read variables) and gets its own coin flips
    and slots (its rows of one global-batch draw, as for latents:
    ``pool_draws``); a saved model keeps replica 0's pools and every replica
    restarts from them.

    Learning rates: ``compile("auto")`` gives each of the four networks its
    own Adam(2e-4, beta_1=0.5). With ``decay_steps=N`` the rate is held for
    ``N // 2`` steps and then decays linearly to 0 at step ``N``
    (``LinearDecay``), as the paper does over its second 100 epochs: set
    ``N`` to the number of batches of the whole run
    (``epochs * steps_per_epoch``). With ``decay_steps=None`` (the default
    here) the rate stays constant; ``keras-gans train cyclegan`` and
    ``kg.trainer.train`` instead default it to the run's total steps, so the
    command line follows the paper's schedule unless given
    ``--config decay_steps=...`` (``null`` for a constant rate). Optimizers
    passed to ``compile`` are used as given. ``fit`` refuses to start once a
    ``LinearDecay`` has reached 0 (a finished run resumed with more epochs
    would train every extra step at learning rate 0): start a new run with a
    ``decay_steps`` that covers it, or ``compile()`` fresh optimizers.

    Both domains must have the same image shape. ``call(a)`` translates
    A -> B, so the model exports like a generator that takes images.

    Shared stabilizers (the arguments of ``kg.models.GAN``), wired for the
    four networks:

    - ``ema_decay``: ``ema_generator`` averages G and ``ema_generator_ba``
      averages F, both after every generator update with the base class's
      warm-up (one ``ema_updates`` counter: G and F step together).
      ``translate``, ``call``, ``preview``, exports and the translation
      metrics use them; ``use_ema=False`` (``translate``, ``preview``,
      ``sampling_generator``) runs the trained generators.
    - ``spectral_norm=True``: both default discriminators are built with
      ``SpectralConv2D`` and without instance norm; the power iteration of
      each runs once per update of that discriminator.
    - ``r1_weight`` / ``r1_every``: R1 on each domain's real images in its
      own discriminator's update (the squared gradient of the sum of the
      patch scores); the ``r1`` metric averages both discriminators.
    - ``augment``: the policy transforms reals and pooled translations in
      the discriminator update and the translations in the generator update,
      before every discriminator call (the pools store unaugmented images).
      With ``"ada"`` one ``p`` serves both discriminators: ``r_t`` is the
      mean over both domains' real images of the mean sign of their patch
      scores, ``ada_interval`` counts steps (each updates both
      discriminators) and ``ada_kimg`` counts the real images of both domains.

    Default networks (``kg.networks.cyclegan_generator`` /
    ``cyclegan_discriminator``), ``count_params()`` of one of each (the
    model holds two of each):

    =====  ========  ===================  =========  =============
    width  n_blocks  discriminator_layers generator  discriminator
    =====  ========  ===================  =========  =============
    32     6         3                    1,956,929  692,769        (defaults, 28x28x1)
    64     9         3                    11,372,931 2,763,841      (paper, 256x256x3)
    8      2         2                    49,169     10,889         (tests, 28x28x1)
    =====  ========  ===================  =========  =============

    Args:
        image_shape: tuple ``(height, width, channels)`` of both domains'
            images; inferred from a given generator. Height and width must be
            divisible by ``2**n_downsamplings``.
        width: int, base filters of the default networks.
        n_blocks: int, residual blocks of the default generators.
        n_downsamplings: int, stride-2 stages of the default generators.
        discriminator_layers: int, stride-2 layers of the default PatchGAN
            discriminators (3: 70x70 patches).
        cycle_weight: float, weight of the cycle-consistency loss (10 in the paper).
        identity_weight: float, weight of the identity loss as a fraction of
            ``cycle_weight`` (0.5 in the paper; 0 skips the identity passes).
        pool_size: int, images in each history pool (50 in the paper; 0
            disables the pools).
        decay_steps: int or None, total training steps of the "auto"
            optimizers' linear decay (see above).
        generator: optional ``keras.Model`` G: A -> B (images to images).
        discriminator: optional ``keras.Model`` D_B (images to scores).
        generator_ba: optional ``keras.Model`` F: B -> A.
        discriminator_a: optional ``keras.Model`` D_A.
        seed: int or None, seed of the pool's coin flips and slots.
        precision: dtype policy of the default networks (see ``kg.models.GAN``).
        **kwargs: passed to ``kg.models.GAN``: ``name``, and the stabilizers
            ``ema_decay``, ``spectral_norm``, ``r1_weight``, ``r1_every``,
            ``augment``, ``ada_target``, ``ada_interval``, ``ada_kimg`` (see above).

    Example:
        >>> import numpy as np
        >>> import keras_gans as kg
        >>> gan = kg.models.CycleGAN(image_shape=(28, 28, 1), width=8, n_blocks=2, decay_steps=2000)
        >>> gan.compile()
        >>> ds = kg.data.load_unpaired("fashion_mnist", classes=(7, 9), batch_size=16)  # doctest: +SKIP
        >>> gan.fit(ds, epochs=5)  # doctest: +SKIP
        >>> a = np.zeros((2, 28, 28, 1), "float32")
        >>> gan.translate(a, direction="a2b").shape
        (2, 28, 28, 1)
    """

    family = "cyclegan"
    data_kind = "unpaired"
    default_loss = "least_squares"
    network_keys = ("generator", "discriminator", "generator_ba", "discriminator_a")

    def __init__(
        self,
        image_shape=None,
        width=32,
        n_blocks=6,
        n_downsamplings=2,
        discriminator_layers=3,
        cycle_weight=10.0,
        identity_weight=0.5,
        pool_size=50,
        decay_steps=None,
        generator=None,
        discriminator=None,
        generator_ba=None,
        discriminator_a=None,
        **kwargs,
    ):
        if kwargs.pop("latent_dim", None) is not None:
            raise ValueError(
                "CycleGAN has no latent space (its generators take images): drop latent_dim."
            )
        if kwargs.pop("reuse_fakes", True) is not True:
            raise ValueError(
                "CycleGAN always reuses its translations (the discriminators score the ones the "
                "generator step made): drop reuse_fakes."
            )
        spectral_norm = kwargs.get("spectral_norm", False)
        if isinstance(spectral_norm, (bool, np.bool_)) and spectral_norm:
            # Given discriminators are checked here, before any network is
            # built (the base class checks D_B only, and later).
            for key, net in (("discriminator", discriminator), ("discriminator_a", discriminator_a)):
                if net is not None and not spectral_layers(net):
                    raise ValueError(
                        f"spectral_norm=True but {key} has no SpectralConv2D/SpectralDense layer: "
                        "build it with kg.networks.cyclegan_discriminator(spectral_norm=True), or drop "
                        f"{key}= to use the default."
                    )
        self.width = int(_number(width, "width", integer=True))
        self.n_blocks = _number(n_blocks, "n_blocks", integer=True)
        self.n_downsamplings = _number(n_downsamplings, "n_downsamplings", integer=True)
        self.discriminator_layers = _number(discriminator_layers, "discriminator_layers", integer=True)
        self.cycle_weight = _number(cycle_weight, "cycle_weight")
        self.identity_weight = _number(identity_weight, "identity_weight")
        self.pool_size = _number(pool_size, "pool_size", integer=True)
        self.decay_steps = _number(decay_steps, "decay_steps", integer=True, allow_none=True)
        if self.decay_steps == 0:
            raise ValueError("decay_steps must be a positive int or None (no decay), got 0.")
        if image_shape is None and generator is None and generator_ba is not None:
            image_shape = self._image_shape_of(generator_ba, "generator_ba")
        super().__init__(generator=generator, discriminator=discriminator, image_shape=image_shape, **kwargs)
        # The base class defaults latent_dim; a translator has none.
        self.latent_dim = None
        self.generator_ba = (
            generator_ba if generator_ba is not None
            else self.build_generator(name="generator_ba")
        )
        self.discriminator_a = (
            discriminator_a if discriminator_a is not None
            else self.build_discriminator(name="discriminator_a")
        )
        self._check_networks()
        # The base class made ema_generator (G's average); F gets its own,
        # moved by the same update_ema with the same warm-up.
        self.ema_generator_ba = (
            None if self.ema_decay is None else self._clone_generator(self.generator_ba)
        )
        self.cycle_tracker = keras.metrics.Mean(name="cycle_loss")
        self.identity_tracker = keras.metrics.Mean(name="identity_loss")
        self.g_ba_optimizer = None
        self.d_a_optimizer = None
        self.pool_a, self.pool_a_count = self._make_pool("pool_a")
        self.pool_b, self.pool_b_count = self._make_pool("pool_b")

    # ------------------------------------------------------------ networks
    def build_generator(self, name="generator"):
        return cyclegan_generator(
            self.image_shape, width=self.width, n_blocks=self.n_blocks,
            n_downsamplings=self.n_downsamplings, dtype=self.network_dtype, name=name,
        )

    def build_discriminator(self, name="discriminator"):
        return cyclegan_discriminator(
            self.image_shape, width=self.width, n_layers=self.discriminator_layers,
            dtype=self.network_dtype, name=name, spectral_norm=self.spectral_norm,
        )

    @staticmethod
    def _image_shape_of(generator, what):
        shape_in = tuple(generator.inputs[0].shape[1:])
        shape_out = tuple(generator.outputs[0].shape[1:])
        if shape_in != shape_out:
            raise ValueError(
                f"{what} maps images of shape {shape_in} to {shape_out}: CycleGAN generators "
                "must keep the image shape."
            )
        return shape_in

    @staticmethod
    def _infer_shapes(generator, latent_dim, image_shape):
        shape = CycleGAN._image_shape_of(generator, "generator")
        if image_shape is not None and tuple(image_shape) != shape:
            raise ValueError(
                f"image_shape={tuple(image_shape)} but the generator takes {shape}: "
                "drop image_shape or pass a matching one."
            )
        return None, shape

    def _check_networks(self):
        # The base constructor calls this before generator_ba and
        # discriminator_a exist; __init__ calls it again with all four.
        seen = {}
        for key in self.network_keys:
            net = getattr(self, key, None)
            if net is None:
                continue
            if id(net) in seen:
                raise ValueError(
                    f"{key} is the same model as {seen[id(net)]}: CycleGAN needs four separate networks."
                )
            seen[id(net)] = key
            shape_in = tuple(net.inputs[0].shape[1:])
            if shape_in != self.image_shape:
                raise ValueError(
                    f"{key} takes images of shape {shape_in} but image_shape is {self.image_shape}: "
                    "build all four networks for the same image shape."
                )
            if key.startswith("generator"):
                self._image_shape_of(net, key)

    def _make_pool(self, name):
        # On-read variables: under tf.distribute every replica keeps (and
        # updates) its own pool; reading outside a replica gives replica 0's.
        pool = keras.Variable(
            np.zeros((self.pool_size, *self.image_shape), "float32"), trainable=False,
            aggregation="only_first_replica", synchronization="on_read", name=name,
        )
        count = keras.Variable(
            0, dtype="int32", trainable=False, aggregation="only_first_replica",
            synchronization="on_read", name=f"{name}_count",
        )
        return pool, count

    # ------------------------------------------------------------ stabilizers
    def _clone_generator(self, network=None):
        """An untrained copy of ``network`` (default G) for its moving average, named ``<name>_ema``."""
        network = self.generator if network is None else network
        config = keras.saving.serialize_keras_object(network)
        if isinstance(config.get("config"), dict) and "name" in config["config"]:
            config["config"]["name"] = f"{network.name}_ema"
        ema = keras.saving.deserialize_keras_object(config)
        if [tuple(v.shape) for v in ema.weights] != [tuple(v.shape) for v in network.weights]:
            raise ValueError(
                "ema_decay needs generators that rebuild from their config with the same weights: "
                f"{network.name!r} does not."
            )
        ema.set_weights(network.get_weights())
        ema.trainable = False
        return ema

    def update_ema(self):
        """Move both EMA generators one step toward G and F (after the generators' update).

        The rule of ``kg.models.GAN.update_ema`` for each pair
        (``ema_generator`` <- G, ``ema_generator_ba`` <- F), with one
        ``beta = min(ema_decay, (1 + t) / (10 + t))``: G and F take their
        steps together, so ``ema_updates`` counts them once.
        """
        t = tf.cast(self.ema_updates.value, "float32")
        beta = tf.minimum(tf.constant(self.ema_decay, "float32"), (1.0 + t) / (10.0 + t))
        pairs = []
        for network, ema in ((self.generator, self.ema_generator), (self.generator_ba, self.ema_generator_ba)):
            trainable = {id(v) for v in network.trainable_weights}
            for source, target in zip(network.weights, ema.weights):
                value = tf.convert_to_tensor(source.value)
                if id(source) in trainable:
                    value = beta * tf.convert_to_tensor(target.value) + (1.0 - beta) * value
                pairs.append((target, value))
        pairs.append((self.ema_updates, self.ema_updates.value + 1))
        assign_variables(pairs)

    def sampling_generator(self, use_ema=True, direction="a2b"):
        """The network that translates in ``direction``: its EMA copy when there is one and ``use_ema``.

        Args:
            use_ema: bool, prefer ``ema_generator`` / ``ema_generator_ba``.
            direction: ``"a2b"`` (G, what ``call`` and exports run) or ``"b2a"`` (F).
        """
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"direction must be 'a2b' or 'b2a', got {direction!r}.")
        raw, ema = (
            (self.generator, self.ema_generator) if direction == "a2b"
            else (self.generator_ba, getattr(self, "ema_generator_ba", None))
        )
        return ema if use_ema and ema is not None else raw

    def _record_ada(self, real_out):
        # A PatchGAN scores patches: each real image counts once, with the
        # mean sign of its patches, so r_t = E[sign(D(real))] stays in
        # [-1, 1]. Both discriminators' reals feed one p; the steps are
        # counted in _adjust_ada (once per step, not once per discriminator).
        real_out = tf.cast(real_out, "float32")
        per_image = tf.reduce_mean(tf.sign(real_out), axis=list(range(1, len(real_out.shape))))
        stats = tf.stack([tf.reduce_sum(per_image), tf.cast(tf.shape(real_out)[0], "float32")])
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            stats = ctx.all_reduce("sum", stats)
        stats = tf.concat([stats, tf.zeros([1])], axis=0)
        assign_variables([(self.ada_stats, tf.convert_to_tensor(self.ada_stats.value) + stats)])

    def _adjust_ada(self):
        # A step updates both discriminators; ada_interval counts steps.
        step = tf.constant([0.0, 0.0, 1.0])
        assign_variables([(self.ada_stats, tf.convert_to_tensor(self.ada_stats.value) + step)])
        super()._adjust_ada()

    def after_update(self, optimizer):
        """The base class's hooks for G and D_B, the same for F and D_A.

        After D_B's update: its spectral layers' power iteration and ADA's
        adjustment (once per step, from both discriminators' statistics);
        after D_A's: its power iteration. After G's: its power iteration
        and the EMA step of both generators (``train_step`` calls the hooks
        once both generators have stepped); after F's: its power iteration.
        """
        if optimizer is self.d_a_optimizer:
            for layer in spectral_layers(self.discriminator_a):
                layer.power_iteration()
        elif optimizer is self.g_ba_optimizer:
            for layer in spectral_layers(self.generator_ba):
                layer.power_iteration()
        else:
            super().after_update(optimizer)

    # ------------------------------------------------------------ compile
    def default_optimizer(self, role):
        """Adam(2e-4, beta_1=0.5) per network, with ``LinearDecay`` when ``decay_steps`` is set."""
        rate = 2e-4
        if self.decay_steps:
            rate = LinearDecay(rate, self.decay_steps)
        return keras.optimizers.Adam(rate, beta_1=0.5, name=f"{role}_adam")

    def compile(
        self,
        g_optimizer="auto",
        d_optimizer="auto",
        g_ba_optimizer="auto",
        d_a_optimizer="auto",
        loss="auto",
        **kwargs,
    ):
        """Configure training: one optimizer per network.

        Args:
            g_optimizer: ``"auto"``, an optimizer name, config or instance for
                G (A -> B).
            d_optimizer: same, for D_B.
            g_ba_optimizer: same, for F (B -> A).
            d_a_optimizer: same, for D_A.
            loss: ``"auto"`` (least squares), a ``kg.losses.get`` name or a
                ``(d_loss_fn, g_loss_fn)`` pair; applied to the patch scores.
            **kwargs: ``jit_compile``, ``steps_per_execution``, ``run_eagerly``.

        Example:
            >>> gan.compile(g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))  # doctest: +SKIP
        """
        super().compile(g_optimizer=g_optimizer, d_optimizer=d_optimizer, loss=loss, **kwargs)
        self.g_ba_optimizer = self._resolve_optimizer(g_ba_optimizer, "generator_ba")
        self.d_a_optimizer = self._resolve_optimizer(d_a_optimizer, "discriminator_a")
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
            "g_ba_optimizer": self.g_ba_optimizer,
            "d_a_optimizer": self.d_a_optimizer,
        }

    def optimizer_variables(self):
        return {
            "g_optimizer": self.generator.trainable_variables,
            "d_optimizer": self.discriminator.trainable_variables,
            "g_ba_optimizer": self.generator_ba.trainable_variables,
            "d_a_optimizer": self.discriminator_a.trainable_variables,
        }

    # ------------------------------------------------------------ translation
    def _check_inputs(self, images, what="images"):
        return checked_image_batch(images, self.image_shape, what)

    def translate(self, images, direction="a2b", batch_size=64, use_ema=True):
        """Translate images from one domain to the other.

        Args:
            images: float array ``[n, h, w, c]`` in [-1, 1] of this model's
                ``image_shape``.
            direction: ``"a2b"`` (G) or ``"b2a"`` (F).
            batch_size: int, images per forward pass.
            use_ema: bool, translate with ``ema_generator`` /
                ``ema_generator_ba`` when the model has them (``ema_decay``).

        Returns:
            float32 ``np.ndarray`` of the same shape, in [-1, 1].

        Example:
            >>> boots = gan.translate(sneakers, direction="a2b")  # doctest: +SKIP
        """
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"direction must be 'a2b' or 'b2a', got {direction!r}.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        images = self._check_inputs(images)
        return self._run_generator([images], batch_size, generator=self.sampling_generator(use_ema, direction))

    def sample_latent(self, n, seed=None):
        raise ValueError(
            "CycleGAN has no latent space: translate images with gan.translate(images, direction='a2b')."
        )

    def generate(self, n=None, seed=None, **kwargs):
        """Not available: CycleGAN translates images instead of sampling them.

        Raises:
            ValueError: always, pointing to ``translate``.
        """
        raise ValueError(
            "CycleGAN does not generate from noise, it translates images: use "
            "gan.translate(images, direction='a2b' or 'b2a') with images in [-1, 1]."
        )

    def preview(self, n, seed=0, inputs=None, use_ema=True):
        """Input/translation pairs for a progress grid: ``[a0, G(a0), a1, G(a1), ...]``.

        Args:
            n: int, the most images in the grid; ``min(n // 2, len(inputs))``
                inputs are shown (at least one), each followed by its A -> B
                translation.
            seed: unused (translation is deterministic); kept for the
                ``SampleGrid`` interface.
            inputs: domain-A images ``[k, h, w, c]`` in [-1, 1] (required).
            use_ema: bool, translate with ``ema_generator`` when there is one.

        Returns:
            float32 array ``[2 * shown, h, w, c]``.
        """
        if inputs is None:
            raise ValueError(
                "CycleGAN previews translate images: pass inputs=a batch of domain-A images "
                "(e.g. kg.callbacks.SampleGrid(..., inputs=a_images))."
            )
        n = self._check_count(n)
        inputs = self._check_inputs(inputs, "inputs")
        shown = inputs[: max(n // 2, 1)]
        translated = self.translate(shown, "a2b", use_ema=use_ema)
        pairs = np.stack([shown, translated], axis=1)
        return pairs.reshape((-1, *self.image_shape))

    # ------------------------------------------------------------ training
    @property
    def metrics(self):
        return [
            self.d_loss_tracker, self.g_loss_tracker, self.cycle_tracker, self.identity_tracker,
            *self.stabilizer_trackers,
        ]

    def unpack_data(self, data):
        """Return ``(real_a, real_b)`` from a batch ``(a_images, b_images)``."""
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(
                "CycleGAN trains on batches (a_images, b_images) from two domains: build the "
                "dataset with kg.data.load_unpaired(...)."
            )
        return (
            validate_images(data[0], self.image_shape, "domain A images"),
            validate_images(data[1], self.image_shape, "domain B images"),
        )

    def generator_losses(self, real_a, real_b, training=False):
        """Forward both cycles and return the generators' loss terms.

        Args:
            real_a: float32 tensor ``[batch, h, w, c]`` of domain A.
            real_b: float32 tensor of domain B.
            training: bool, passed to the networks; in training the
                discriminators score augmented translations (``augment``).

        Returns:
            dict of scalars ``adversarial``, ``cycle``, ``identity`` (both
            unweighted) and ``total`` (the weighted sum the generators
            minimize), and the translations ``fake_a`` (F(b)), ``fake_b`` (G(a)).
        """
        fake_b = self.generator(real_a, training=training)
        fake_a = self.generator_ba(real_b, training=training)
        adversarial = self.g_loss_fn(
            self.discriminate(fake_b, network=self.discriminator, training=training)
        ) + self.g_loss_fn(self.discriminate(fake_a, network=self.discriminator_a, training=training))
        cycle = losses_lib.cycle_consistency_loss(
            real_a, self.generator_ba(fake_b, training=training)
        ) + losses_lib.cycle_consistency_loss(real_b, self.generator(fake_a, training=training))
        if self.identity_weight:
            identity = losses_lib.identity_loss(
                real_b, self.generator(real_b, training=training)
            ) + losses_lib.identity_loss(real_a, self.generator_ba(real_a, training=training))
        else:
            identity = tf.constant(0.0)
        total = (
            adversarial
            + self.cycle_weight * cycle
            + self.identity_weight * self.cycle_weight * identity
        )
        return {
            "adversarial": adversarial, "cycle": cycle, "identity": identity, "total": total,
            "fake_a": fake_a, "fake_b": fake_b,
        }

    def query_pool(self, images, domain):
        """Pass translated images of ``domain`` ("a" or "b") through its history pool.

        Draws the coin flips and slots from the seed generator and updates the
        pool variables; with ``pool_size=0`` returns ``images`` unchanged.
        """
        if not self.pool_size:
            return tf.convert_to_tensor(images)
        pool, count = (self.pool_a, self.pool_a_count) if domain == "a" else (self.pool_b, self.pool_b_count)
        images = tf.cast(images, "float32")
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(
                f"images of shape {tuple(images.shape[1:])} cannot enter a pool of "
                f"{self.image_shape} images."
            )
        swap, slots = self.pool_draws(tf.shape(images)[0])
        returned, new_pool, new_count = query_image_pool(
            pool.value, count.value, images, swap, slots
        )
        pool.assign(new_pool)
        count.assign(new_count)
        return returned

    def pool_draws(self, batch):
        """This replica's pool coin flips and slots: ``(swap bool [batch], slots int32 [batch])``.

        Drawn from the seed generator through ``replica_share``: under
        ``tf.distribute`` each replica gets the rows of one global-batch draw
        that a single device would give its examples (a plain draw would flip
        the same coins on every replica).
        """
        swap = replica_share(
            lambda n: keras.random.uniform((n,), seed=self.seed_generator) > 0.5, batch
        )
        slots = replica_share(
            lambda n: keras.random.randint((n,), 0, self.pool_size, seed=self.seed_generator),
            batch,
        )
        return swap, slots

    def fit(self, x=None, *args, **kwargs):
        """``GAN.fit``, with all four optimizers built first.

        Optimizer slots created inside the first traced step make
        ``tf.function`` trace the step twice; building them up front saves
        that second trace (seconds for four networks). A fit that would
        train past the end of a ``LinearDecay`` schedule (e.g. a finished
        run resumed with more epochs: every extra step would train at
        learning rate 0) is refused before any step.
        """
        self._check_compiled()
        if _runs_an_epoch(args, kwargs):
            check_schedules(self.optimizers())
        with self.distribute_strategy.scope():
            self.build_optimizers()
        return super().fit(x, *args, **kwargs)

    def train_step(self, data):
        self._check_compiled()
        real_a, real_b = self.unpack_data(data)
        g_pairs = [
            (self.g_optimizer, self.generator.trainable_variables),
            (self.g_ba_optimizer, self.generator_ba.trainable_variables),
        ]
        # Both generators minimize one objective: one backward pass serves
        # both, unless their optimizers scale the loss differently (two
        # dynamic loss scales under mixed_float16); then each gets its own
        # pass from a persistent tape. Scaling happens inside the tape, or
        # the tape would not see it.
        separate = any(
            isinstance(opt, keras.optimizers.LossScaleOptimizer) for opt, _ in g_pairs
        ) or len({opt.loss_scale_factor for opt, _ in g_pairs}) > 1
        with tf.GradientTape(persistent=separate) as tape:
            terms = self.generator_losses(real_a, real_b, training=True)
            shares = replica_scaled(terms["total"])
            targets = [opt.scale_loss(shares) for opt, _ in (g_pairs if separate else g_pairs[:1])]
        if separate:
            for target, pair in zip(targets, g_pairs):
                self._step(tape, target, [pair])
        else:
            self._step(tape, targets[0], g_pairs)
        del tape
        # After both generators stepped: the EMA averages both new weights.
        for opt, _ in g_pairs:
            self.after_update(opt)

        fake_b = self.query_pool(tf.stop_gradient(terms["fake_b"]), "b")
        fake_a = self.query_pool(tf.stop_gradient(terms["fake_a"]), "a")
        d_pairs = [
            (self.d_optimizer, self.discriminator.trainable_variables),
            (self.d_a_optimizer, self.discriminator_a.trainable_variables),
        ]
        with tf.GradientTape() as tape:
            # Reals and pooled translations, augmented; R1 on each domain's
            # reals; ADA's statistics of both (see discriminator_outputs).
            d_b_loss, d_b_total = self._discriminator_loss(real_b, fake_b, self.discriminator)
            d_a_loss, d_a_total = self._discriminator_loss(real_a, fake_a, self.discriminator_a)
            # Each loss depends only on its own discriminator's weights, so
            # the gradient of the sum is each one's own (scaled) gradient.
            target = self.d_optimizer.scale_loss(
                replica_scaled(d_b_total)
            ) + self.d_a_optimizer.scale_loss(replica_scaled(d_a_total))
        self._step(tape, target, d_pairs)
        for opt, _ in d_pairs:
            self.after_update(opt)
        return self._track(d_a_loss + d_b_loss, terms)

    def _discriminator_loss(self, real, fake, network):
        """``(loss, loss + R1 penalty)`` of one discriminator, inside its update's tape."""
        real_out, fake_out, penalty = self.discriminator_outputs(real, fake, network=network)
        loss = self.d_loss_fn(real_out, fake_out)
        return loss, loss if penalty is None else loss + penalty

    @staticmethod
    def _step(tape, target, pairs):
        """One backward pass of ``target``, then each ``(optimizer, variables)`` steps."""
        pairs = [(opt, list(variables)) for opt, variables in pairs]
        grads = tape.gradient(target, [v for _, vs in pairs for v in vs])
        start = 0
        for opt, variables in pairs:
            opt.apply_gradients(zip(grads[start : start + len(variables)], variables))
            start += len(variables)

    def test_step(self, data):
        self._check_compiled()
        real_a, real_b = self.unpack_data(data)
        terms = self.generator_losses(real_a, real_b, training=False)
        d_b_loss = self.d_loss_fn(
            self.discriminator(real_b, training=False),
            self.discriminator(terms["fake_b"], training=False),
        )
        d_a_loss = self.d_loss_fn(
            self.discriminator_a(real_a, training=False),
            self.discriminator_a(terms["fake_a"], training=False),
        )
        return self._track(d_a_loss + d_b_loss, terms)

    def _track(self, d_loss, terms):
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(terms["adversarial"])
        self.cycle_tracker.update_state(terms["cycle"])
        self.identity_tracker.update_state(terms["identity"])
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------ saving
    def save_own_variables(self, store):
        super().save_own_variables(store)  # the seed state
        for var in (self.pool_a, self.pool_a_count, self.pool_b, self.pool_b_count):
            store[var.name] = keras.ops.convert_to_numpy(var.value)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        for var in (self.pool_a, self.pool_a_count, self.pool_b, self.pool_b_count):
            if var.name in store:
                value = np.asarray(store[var.name])
                if value.shape != tuple(var.shape):
                    raise ValueError(
                        f"the saved {var.name} has shape {value.shape} but this model's is "
                        f"{tuple(var.shape)}: build the model with the saved pool_size and image_shape."
                    )
                var.assign(value)

    def get_config(self):
        config = super().get_config()
        config.pop("latent_dim", None)
        config.pop("reuse_fakes", None)
        config.update(
            {
                "generator_ba": keras.saving.serialize_keras_object(self.generator_ba),
                "discriminator_a": keras.saving.serialize_keras_object(self.discriminator_a),
                "width": self.width,
                "n_blocks": self.n_blocks,
                "n_downsamplings": self.n_downsamplings,
                "discriminator_layers": self.discriminator_layers,
                "cycle_weight": self.cycle_weight,
                "identity_weight": self.identity_weight,
                "pool_size": self.pool_size,
                "decay_steps": self.decay_steps,
            }
        )
        return config
