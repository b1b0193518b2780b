"""The shared stabilizers of every family: EMA generator, spectral norm, R1, DiffAugment and ADA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.networks import augment as augment_lib
from keras_gans.networks.spectral_norm import spectral_layers
from tests.conftest import changed, scaled, weights_of

ALL_ON = {"ema_decay": 0.9, "spectral_norm": True, "r1_weight": 0.5, "r1_every": 2,
          "augment": "translation,cutout,color"}


def tiny(cls=kg.models.DCGAN, seed=0, compile_kwargs=None, **kwargs):
    gan = cls(latent_dim=8, width=4, seed=seed, **kwargs)
    gan.compile(**(compile_kwargs or {}))
    return gan


@pytest.fixture(scope="module")
def real_images(fmnist_train):
    return scaled(fmnist_train[0][:64])


@pytest.fixture(scope="module")
def batches(real_images):
    return tf.data.Dataset.from_tensor_slices(real_images).batch(16)


def linear_critic(weights):
    """D(x) = w . x (one Dense on the flattened image): grad_x D = w for every image."""
    images = keras.Input((28, 28, 1), name="images")
    flat = keras.layers.Flatten()(images)
    dense = keras.layers.Dense(1, use_bias=False, name="logits")
    model = keras.Model(images, dense(flat), name="discriminator")
    dense.set_weights([np.asarray(weights, "float32").reshape(-1, 1)])
    return model


def bias_critic(bias):
    """D(x) = bias for every image: a discriminator sure of its answer on every real."""
    images = keras.Input((28, 28, 1), name="images")
    flat = keras.layers.Flatten()(images)
    dense = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(bias))
    return keras.Model(images, dense(flat), name="discriminator")


# ---------------------------------------------------------------- arguments and config
@pytest.mark.parametrize("kwargs, message", [
    ({"augment": "translation,flip"}, "unknown augment policy 'flip'.*color, translation, cutout"),
    ({"augment": "adaptive"}, "unknown augment policy 'adaptive'.*'ada'"),
    ({"ema_decay": 1.0}, r"ema_decay must be None .* in \(0, 1\)"),
    ({"ema_decay": 0}, r"ema_decay must be None .* in \(0, 1\)"),
    ({"ema_decay": -0.5}, r"ema_decay must be None .* in \(0, 1\)"),
    ({"ema_decay": "0.99"}, r"ema_decay must be None"),
    ({"r1_weight": -1.0}, "r1_weight must be a number >= 0"),
    ({"r1_every": 0}, "r1_every must be a positive int"),
    ({"spectral_norm": "yes"}, "spectral_norm must be True or False"),
])
def test_bad_stabilizer_arguments_raise_one_clear_error_before_any_network_is_built(monkeypatch, kwargs, message):
    def never(self, *args, **kw):
        raise AssertionError("a network was built before the arguments were checked")

    monkeypatch.setattr(kg.models.DCGAN, "build_generator", never)
    monkeypatch.setattr(kg.models.DCGAN, "build_discriminator", never)
    with pytest.raises(ValueError, match=message):
        kg.models.DCGAN(latent_dim=8, width=4, **kwargs)


def test_r1_is_refused_with_wgan_gp_and_with_a_wasserstein_loss():
    with pytest.raises(ValueError, match="r1_weight is for non-Wasserstein losses"):
        kg.models.WGANGP(latent_dim=8, width=4, r1_weight=1.0)
    gan = kg.models.DCGAN(latent_dim=8, width=4, r1_weight=1.0)
    with pytest.raises(ValueError, match="r1_weight is for non-Wasserstein losses"):
        gan.compile(loss="wasserstein")


def test_spectral_norm_needs_spectral_layers_in_a_given_discriminator():
    with pytest.raises(ValueError, match="no SpectralConv2D/SpectralDense"):
        kg.models.DCGAN(latent_dim=8, width=4, spectral_norm=True, discriminator=linear_critic(np.zeros(784)))


@pytest.mark.parametrize("cls, extra", [
    (kg.models.DCGAN, {}), (kg.models.ConditionalGAN, {}), (kg.models.WGANGP, {"r1_weight": 0.0}),
])
def test_configs_keep_every_knob_and_rebuild_the_same_model(cls, extra):
    knobs = {**ALL_ON, "ada_target": 0.5, "ada_interval": 2, "ada_kimg": 10.0, **extra}
    gan = cls(latent_dim=8, width=4, **knobs)
    config = gan.get_config()
    for key, value in knobs.items():
        assert config[key] == value, key
    again = cls.from_config(config)
    assert {k: again.get_config()[k] for k in knobs} == {k: config[k] for k in knobs}
    assert [v.shape for v in again.variables] == [v.shape for v in gan.variables]
    ada = cls.from_config({**config, "augment": "ada"})
    assert ada.get_config()["augment"] == "ada" and float(ada.ada_p.numpy()) == 0.0


def test_defaults_leave_every_stabilizer_off():
    gan = tiny()
    config = gan.get_config()
    assert (config["ema_decay"], config["spectral_norm"], config["r1_weight"], config["augment"]) == (
        None, False, 0.0, None)
    assert gan.ema_generator is None
    assert [m.name for m in gan.metrics] == ["d_loss", "g_loss"]
    assert not spectral_layers(gan.discriminator)
    x = tf.zeros((2, 28, 28, 1))
    assert gan.augment_images(x) is x


# ---------------------------------------------------------------- EMA
def test_ema_generator_is_a_plain_untrained_copy_of_the_generator():
    gan = tiny(ema_decay=0.99)
    ema = gan.ema_generator
    assert isinstance(ema, keras.Model) and ema is not gan.generator
    assert not ema.trainable_weights
    assert {id(v) for v in gan.trainable_variables}.isdisjoint({id(v) for v in ema.weights})
    for a, b in zip(gan.generator.weights, ema.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    z = np.random.default_rng(0).standard_normal((3, 8)).astype("float32")
    np.testing.assert_array_equal(ema(z).numpy(), gan.generator(z).numpy())


def test_ema_weights_follow_a_numpy_recomputation_with_the_warm_up(real_images):
    decay = 0.2  # min(decay, (1 + t) / (10 + t)): 0.1, 0.1818..., then 0.2
    gan = tiny(ema_decay=decay)
    step = tf.function(gan.train_step)
    trainable = [id(v) for v in gan.generator.trainable_weights]
    mask = [id(v) in trainable for v in gan.generator.weights]
    expected = [w.numpy().astype("float32") for w in gan.generator.weights]
    for t in range(4):
        d_before = weights_of(gan.discriminator)
        step(real_images[:16])
        beta = np.float32(min(decay, (1.0 + t) / (10.0 + t)))
        now = [w.numpy() for w in gan.generator.weights]
        expected = [
            beta * e + (np.float32(1) - beta) * w if m else w for e, w, m in zip(expected, now, mask)
        ]
        for e, actual, m in zip(expected, gan.ema_generator.weights, mask):
            np.testing.assert_allclose(actual.numpy(), e, rtol=1e-6, atol=1e-7, err_msg=actual.path)
        assert int(gan.ema_updates.numpy()) == t + 1
        # The discriminator's weights are never averaged into the EMA.
        assert changed(d_before, weights_of(gan.discriminator))
    # Trainable weights averaged (so they lag the generator), batch-norm statistics copied.
    for g, e, m in zip(gan.generator.weights, gan.ema_generator.weights, mask):
        assert (not np.allclose(g.numpy(), e.numpy())) == m or np.allclose(g.numpy(), e.numpy()), g.path


def test_a_discriminator_step_leaves_the_ema_generator_alone(real_images):
    gan = tiny(ema_decay=0.9)
    before = weights_of(gan.ema_generator)
    gan.discriminator_step(real_images[:16])
    assert not changed(before, weights_of(gan.ema_generator))
    gan.generator_step(16)
    assert changed(before, weights_of(gan.ema_generator))


def test_generate_preview_and_call_use_the_ema_generator_unless_told_not_to(real_images):
    gan = tiny(ema_decay=0.5)
    for _ in range(2):
        gan.train_step(real_images[:16])
    z = gan.sample_latent(4, seed=3)
    ema_images = gan.ema_generator(z, training=False).numpy()
    raw_images = gan.generator(z, training=False).numpy()
    assert not np.allclose(ema_images, raw_images)
    np.testing.assert_array_equal(gan.generate(4, seed=3), ema_images)
    np.testing.assert_array_equal(gan.generate(4, seed=3, use_ema=False), raw_images)
    np.testing.assert_array_equal(gan.preview(4, seed=3), ema_images)
    np.testing.assert_array_equal(gan(z).numpy(), ema_images)
    source = kg.export._source.resolve(gan)
    assert source.generator is gan.ema_generator


# ---------------------------------------------------------------- spectral norm
def sigma_max(matrix):
    return float(np.linalg.svd(np.asarray(matrix, "float64"), compute_uv=False)[0])


@pytest.mark.parametrize("reuse_fakes", [False, True])
def test_spectral_norm_keeps_every_kernel_at_unit_norm_with_one_iteration_per_update(batches, reuse_fakes):
    # The default Adam(2e-4): one iteration per update tracks weights moving
    # at that pace (at 2e-3 these tiny 4-filter kernels move ~4% a step and the
    # estimate lags by about as much).
    keras.utils.set_random_seed(0)
    gan = tiny(spectral_norm=True, reuse_fakes=reuse_fakes)
    layers = spectral_layers(gan.discriminator)
    assert [type(layer).__name__ for layer in layers] == ["SpectralConv2D", "SpectralConv2D", "SpectralDense"]
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in gan.discriminator.layers)
    kernels0 = {layer.name: layer.kernel.numpy().copy() for layer in layers}
    gan.fit(batches, epochs=2, verbose=0)  # 8 updates; D is called 3 times in each step
    updates = int(gan.d_optimizer.iterations.numpy())
    assert updates == 8
    for layer in layers:
        assert int(layer.power_iterations.numpy()) == updates, layer.name
        assert not np.allclose(layer.kernel.numpy(), kernels0[layer.name])  # it trained
        normalized = layer.normalized_kernel().numpy().reshape(-1, layer.kernel.shape[-1])
        assert abs(sigma_max(normalized) - 1.0) < 2e-3, layer.name


def test_spectral_power_iterations_follow_critic_updates_in_wgan_gp(batches):
    gan = tiny(kg.models.WGANGP, spectral_norm=True, critic_steps=2)
    gan.fit(batches.take(2), epochs=1, verbose=0)
    for layer in spectral_layers(gan.discriminator):
        assert int(layer.power_iterations.numpy()) == int(gan.d_optimizer.iterations.numpy()) == 4


def test_the_power_iteration_is_the_textbook_step():
    layer = kg.networks.SpectralConv2D(3, 2)
    layer(np.zeros((1, 5, 5, 2), "float32"))
    rng = np.random.default_rng(0)
    layer.kernel.assign(rng.standard_normal(layer.kernel.shape).astype("float32"))
    layer.u.assign(np.ones(3, "float32") / np.sqrt(3))
    w = layer.kernel.numpy().reshape(-1, 3)
    u = layer.u.numpy()
    layer.power_iteration()
    v = w @ u / np.linalg.norm(w @ u)
    u_next = w.T @ v / np.linalg.norm(w.T @ v)
    np.testing.assert_allclose(layer.u.numpy(), u_next, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(layer.sigma()), np.linalg.norm(w @ u_next), rtol=1e-5)
    for _ in range(200):
        layer.power_iteration()
    assert abs(float(layer.sigma()) - sigma_max(w)) < 1e-3 * sigma_max(w)


def test_spectral_norm_trains_under_mixed_bfloat16(batches):
    gan = tiny(spectral_norm=True, precision="mixed_bfloat16")
    assert gan.discriminator.get_layer("down1").compute_dtype == "bfloat16"
    history = gan.fit(batches, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()
    for layer in spectral_layers(gan.discriminator):
        assert layer.u.dtype == "float32" and int(layer.power_iterations.numpy()) == 4
        # sigma is taken of the bfloat16 kernel the layer computes with.
        kernel = layer.normalized_kernel().numpy().astype("float32").reshape(-1, layer.kernel.shape[-1])
        assert abs(sigma_max(kernel) - 1.0) < 2e-2, layer.name


# ---------------------------------------------------------------- R1
def test_r1_penalty_matches_a_hand_computation_on_a_linear_discriminator(real_images):
    w = np.random.default_rng(1).standard_normal(784).astype("float32") * 0.01
    gamma, every = 3.0, 4
    gan = tiny(discriminator=linear_critic(w), r1_weight=gamma, r1_every=every)
    real, fake = real_images[:8], real_images[8:16]
    with tf.GradientTape() as tape:
        _, _, penalty = gan.discriminator_outputs(real, fake)
    squared_norm = float(np.sum(w.astype("float64") ** 2))  # ||grad_x (w . x)||^2 = ||w||^2
    np.testing.assert_allclose(float(penalty), gamma / 2 * every * squared_norm, rtol=1e-5)
    np.testing.assert_allclose(float(gan.r1_tracker.result()), squared_norm, rtol=1e-5)
    # Its gradient (second order, through the input gradient) is gamma * every * w.
    grad = tape.gradient(penalty, gan.discriminator.trainable_variables)[0].numpy().ravel()
    np.testing.assert_allclose(grad, gamma * every * w, rtol=1e-4, atol=1e-7)


def test_r1_is_lazy_every_r1_every_discriminator_updates(batches):
    gan = tiny(r1_weight=1.0, r1_every=3)
    history = gan.fit(batches.repeat(2), epochs=1, verbose=0)  # 8 updates: due at 0, 3, 6
    assert int(gan.d_optimizer.iterations.numpy()) == 8
    assert float(gan.r1_tracker.count.numpy()) == 3
    assert history.history["r1"][0] > 0
    every = tiny(r1_weight=1.0, r1_every=1)
    every.fit(batches, epochs=1, verbose=0)
    assert float(every.r1_tracker.count.numpy()) == 4


# ---------------------------------------------------------------- DiffAugment and ADA
def uniform_from(seed):
    gen = keras.random.SeedGenerator(seed)
    return lambda batch: (lambda tail: keras.random.uniform((batch, *tail), seed=gen))


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "translation,cutout,color"])
def test_each_policy_changes_images_and_passes_gradients(real_images, policy):
    x = tf.constant(real_images[:8])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = augment_lib.augment_images(x, policy, uniform_from(0)(8))
        total = tf.reduce_sum(y * tf.random.stateless_normal(y.shape, seed=[0, 1]))
    grad = tape.gradient(total, x)
    assert y.shape == x.shape and not np.allclose(y.numpy(), x.numpy())
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0


def test_translation_shifts_and_cutout_blanks_a_half_side_square():
    ones = tf.ones((16, 28, 28, 1))
    cut = augment_lib.augment_images(ones, "cutout", uniform_from(1)(16)).numpy()
    for image in cut[..., 0]:
        zeros = np.argwhere(image == 0)
        assert set(np.unique(image)) <= {0.0, 1.0}
        if len(zeros):  # a 14 x 14 square, clipped at the border
            rows, cols = zeros[:, 0], zeros[:, 1]
            assert len(zeros) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            assert rows.max() - rows.min() < 14 and cols.max() - cols.min() < 14
    assert (cut == 0).any()
    ramp = tf.tile(tf.range(28, dtype="float32")[None, None, :, None], (16, 28, 1, 1))
    moved = augment_lib.augment_images(ramp, "translation", uniform_from(2)(16)).numpy()
    for image in moved[..., 0]:
        row = image[14]  # a middle row: the ramp shifted by at most 4 pixels, zeros shifted in
        inside = row[row != 0]
        assert np.all(np.diff(inside) == 1) and abs(inside[0] - np.argmax(row != 0)) <= 4


def test_reals_and_fakes_get_the_same_policy_and_both_updates_augment(real_images, monkeypatch):
    gan = tiny(augment="translation,cutout,color")
    x = tf.constant(real_images[:8])
    state = gan.seed_generator.state.numpy()
    a = gan.augment_images(x).numpy()
    gan.seed_generator.state.assign(state)
    b = gan.augment_images(tf.identity(x)).numpy()
    np.testing.assert_array_equal(a, b)  # one function of (images, noise), whoever's images
    assert not np.allclose(gan.augment_images(x).numpy(), a)  # and fresh noise each call

    seen = []
    original = gan.augment_images
    monkeypatch.setattr(gan, "augment_images", lambda images: seen.append(images) or original(images))
    gan.train_step(x)  # eagerly: D update (real, fake), then G update (fake)
    assert len(seen) == 3
    np.testing.assert_array_equal(seen[0].numpy(), x.numpy())
    reuse = tiny(augment="color", reuse_fakes=True)
    monkeypatch.setattr(reuse, "augment_images", lambda images: seen.append(images) or original(images))
    seen.clear()
    reuse.train_step(x)
    assert len(seen) == 3


def test_the_generator_gradient_reaches_it_through_the_augmentation():
    gan = tiny(augment="translation,cutout,color")
    z = gan.noise(8)
    with tf.GradientTape() as tape:
        loss = gan.g_loss_fn(gan.discriminate(gan.generator(z, training=True)))
    grads = tape.gradient(loss, gan.generator.trainable_variables)
    assert all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)


def test_ada_p_moves_with_the_sign_of_the_outputs_on_reals(batches):
    # An overfit discriminator (D(real) > 0 always, r_t = 1 > 0.6): p rises by
    # batch / (ada_kimg * 1000) per adjustment; a D sure reals are fake lowers it.
    sure = tiny(discriminator=bias_critic(5.0), augment="ada", ada_kimg=0.16, ada_interval=2,
                compile_kwargs={"d_optimizer": keras.optimizers.SGD(0.0)})
    history = sure.fit(batches, epochs=1, verbose=0)  # 4 updates of 16 reals: 2 adjustments
    np.testing.assert_allclose(float(sure.ada_p.numpy()), 2 * 32 / 160, rtol=1e-6)
    assert "ada_p" in history.history
    unsure = tiny(discriminator=bias_critic(-5.0), augment="ada", ada_kimg=0.16, ada_interval=2,
                  compile_kwargs={"d_optimizer": keras.optimizers.SGD(0.0)})
    unsure.ada_p.assign(0.5)
    unsure.fit(batches, epochs=1, verbose=0)
    np.testing.assert_allclose(float(unsure.ada_p.numpy()), 0.5 - 2 * 32 / 160, rtol=1e-6)


def test_ada_with_p_zero_leaves_images_alone_and_p_one_augments_all(real_images):
    gan = tiny(augment="ada")
    x = tf.constant(real_images[:8])
    # Every transform gated off: the identity, up to float32 rounding of (x - m) * 1 + m.
    np.testing.assert_allclose(gan.augment_images(x).numpy(), x.numpy(), atol=1e-6)
    gan.ada_p.assign(1.0)
    assert not np.allclose(gan.augment_images(x).numpy(), x.numpy())


# ---------------------------------------------------------------- saving and resuming
def build_twin(kwargs, seed=7):
    keras.utils.set_random_seed(seed)
    return tiny(seed=11, **kwargs)


@pytest.mark.parametrize("kwargs", [
    ALL_ON,
    # A target below any r_t the untrained D gives, so p rises and its resumption shows.
    {"ema_decay": 0.8, "augment": "ada", "ada_kimg": 0.2, "ada_interval": 1, "ada_target": -0.99},
    {"spectral_norm": True, "r1_weight": 1.0, "r1_every": 1, "reuse_fakes": True},
], ids=["ema_sn_r1_diffaugment", "ema_ada", "sn_r1_reuse"])
def test_a_saved_run_resumes_the_same_averages_and_probabilities(batches, tmp_path, kwargs):
    whole = build_twin(kwargs)
    whole.fit(batches, epochs=2, verbose=0)

    first = build_twin(kwargs)
    first.fit(batches, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    first.save(path)
    loaded = keras.saving.load_model(path)
    assert len(loaded.variables) == len(first.variables)
    for a, b in zip(first.variables, loaded.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    if loaded.ema_generator is not None:
        for a, b in zip(first.ema_generator.weights, loaded.ema_generator.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
        assert int(loaded.ema_updates.numpy()) == 4
    for a, b in zip(spectral_layers(first.discriminator), spectral_layers(loaded.discriminator)):
        np.testing.assert_array_equal(a.u.numpy(), b.u.numpy())
    loaded.fit(batches, epochs=1, verbose=0)

    assert [v.path for v in whole.variables] == [v.path for v in loaded.variables]
    for a, b in zip(whole.variables, loaded.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    if whole.ema_generator is not None:
        for a, b in zip(whole.ema_generator.weights, loaded.ema_generator.weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
        assert int(loaded.ema_updates.numpy()) == int(whole.ema_updates.numpy()) == 8
    if whole.augment == "ada":
        assert float(whole.ada_p.numpy()) > 0
        np.testing.assert_array_equal(whole.ada_p.numpy(), loaded.ada_p.numpy())
        np.testing.assert_array_equal(whole.ada_stats.numpy(), loaded.ada_stats.numpy())


def test_conditional_gan_trains_with_every_stabilizer(fmnist_train):
    images, labels = fmnist_train
    ds = tf.data.Dataset.from_tensor_slices((scaled(images[:32]), labels[:32])).batch(16)
    gan = tiny(kg.models.ConditionalGAN, **ALL_ON)
    history = gan.fit(ds, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "r1"}
    assert all(int(l.power_iterations.numpy()) == 2 for l in spectral_layers(gan.discriminator))
    assert int(gan.ema_updates.numpy()) == 2
    out = gan.generate(4, labels=[1, 2, 3, 4], seed=0, truncation=0.5)
    assert out.shape == (4, 28, 28, 1)


# ---------------------------------------------------------------- command line
def test_train_flags_become_constructor_arguments(monkeypatch, tmp_path, capsys):
    from keras_gans import trainer
    from keras_gans.cli import main

    seen = {}

    def fake_train(family, config=None, **kwargs):
        seen.update(family=family, config=config)
        return {"resumed_at": None, "trained": True, "model": "m", "samples": "s", "history": "h"}

    monkeypatch.setattr(trainer, "train", fake_train)
    argv = ["train", "dcgan", "--out", str(tmp_path / "run"), "--ema-decay", "0.999", "--spectral-norm",
            "--r1", "0.1", "--augment", "translation,color", "--config", "width=8"]
    assert main(argv) == 0
    assert seen["config"] == {"width": 8, "ema_decay": 0.999, "spectral_norm": True, "r1_weight": 0.1,
                              "augment": "translation,color"}
    assert main(["train", "dcgan", "--out", str(tmp_path / "plain")]) == 0
    assert seen["config"] == {}
    code = main(["train", "dcgan", "--out", str(tmp_path / "x"), "--r1", "1", "--config", "r1_weight=2"])
    assert code == 2 and "--r1 and --config r1_weight" in capsys.readouterr().err
