"""Behaviour of the base GAN through DCGAN: steps, saving, config, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from tests.conftest import changed, model_state, scaled, weights_of


def tiny(seed=0, **kwargs):
    gan = kg.models.DCGAN(latent_dim=16, image_shape=(28, 28, 1), width=8, seed=seed, **kwargs)
    gan.compile()
    return gan


@pytest.fixture(scope="module")
def batches(fmnist_train):
    images, _ = fmnist_train
    return tf.data.Dataset.from_tensor_slices(scaled(images[:512])).batch(64)


def test_discriminator_step_moves_only_discriminator_weights(batches):
    gan = tiny()
    real = next(iter(batches))
    g0, d0 = weights_of(gan.generator), weights_of(gan.discriminator)
    gan.discriminator_step(real)
    g1, d1 = weights_of(gan.generator), weights_of(gan.discriminator)
    trainable_d = {v.path for v in gan.discriminator.trainable_variables}
    trainable_g = {v.path for v in gan.generator.trainable_variables}
    assert trainable_d <= changed(d0, d1)
    # The generator runs in training mode to make fakes, so only its batch-norm
    # moving statistics may change, never a trainable weight.
    assert not changed(g0, g1) & trainable_g


def test_generator_step_moves_only_generator_weights(batches):
    gan = tiny()
    g0, d0 = weights_of(gan.generator), weights_of(gan.discriminator)
    gan.generator_step(64)
    g1, d1 = weights_of(gan.generator), weights_of(gan.discriminator)
    trainable_d = {v.path for v in gan.discriminator.trainable_variables}
    trainable_g = {v.path for v in gan.generator.trainable_variables}
    assert trainable_g <= changed(g0, g1)
    assert not changed(d0, d1) & trainable_d


def test_reuse_fakes_step_equals_a_generator_step_on_the_same_latents(batches):
    """With reuse_fakes the generator update is the one of a separate generator
    step on the discriminator step's own latents, scored by the updated
    discriminator; the generator runs forward once, so its batch-norm moving
    statistics move once."""
    real = next(iter(batches))
    keras.utils.set_random_seed(0)
    fused = tiny(seed=4, reuse_fakes=True)
    keras.utils.set_random_seed(0)
    manual = tiny(seed=4, reuse_fakes=True)
    for a, b in zip(fused.variables, manual.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    moving = [v.path for v in fused.generator.non_trainable_variables]
    g0 = weights_of(fused.generator)

    tf.function(fused.train_step)(real)

    z = manual.noise(64)  # the draw train_step makes from the same seed state
    manual.discriminator_step(real, manual.generator(z, training=True))
    with tf.GradientTape() as tape:
        loss = manual.g_loss_fn(manual.discriminator(manual.generator(z, training=True), training=True))
    manual.apply_loss(tape, loss, manual.g_optimizer, manual.generator.trainable_variables)

    trainable = [v.path for v in fused.generator.trainable_variables]
    assert set(trainable) <= changed(g0, weights_of(fused.generator))
    for a, b in zip(fused.trainable_variables, manual.trainable_variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6, err_msg=a.path)
    # One forward pass against the manual two: the moving statistics differ.
    g_fused, g_manual = weights_of(fused.generator), weights_of(manual.generator)
    assert moving and all(not np.allclose(g_fused[p], g_manual[p]) for p in moving if "moving_mean" in p)


def test_reuse_fakes_is_config_and_checked():
    gan = kg.models.DCGAN(latent_dim=16, width=8, reuse_fakes=True)
    assert gan.get_config()["reuse_fakes"] is True
    assert kg.models.DCGAN.from_config(gan.get_config()).reuse_fakes is True
    assert kg.models.DCGAN(latent_dim=16, width=8).reuse_fakes is False
    with pytest.raises(ValueError, match="reuse_fakes must be True or False"):
        kg.models.DCGAN(latent_dim=16, width=8, reuse_fakes="yes")


@pytest.mark.parametrize("reuse_fakes", [True, False])
def test_fit_steps_both_optimizers_once_per_batch_and_reports_losses(batches, reuse_fakes):
    gan = tiny(reuse_fakes=reuse_fakes)
    history = gan.fit(batches, epochs=2, verbose=0)
    assert int(gan.g_optimizer.iterations.numpy()) == 16
    assert int(gan.d_optimizer.iterations.numpy()) == 16
    assert set(history.history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(v).all() for v in history.history.values())
    # Trackers reset each epoch: the logged value is the epoch's own mean.
    assert gan.d_loss_tracker.count.numpy() == 8


def test_save_load_restores_weights_optimizers_and_seed_then_continues(batches, tmp_path):
    gan = tiny(seed=3)
    gan.fit(batches, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)

    assert type(loaded) is kg.models.DCGAN
    assert len(gan.variables) == len(loaded.variables)
    for a, b in zip(gan.variables, loaded.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for name in ("g_optimizer", "d_optimizer"):
        src, dst = getattr(gan, name), getattr(loaded, name)
        assert int(dst.iterations.numpy()) == 8
        assert len(src.variables) == len(dst.variables) > 2  # iterations, lr, moments
        for a, b in zip(src.variables, dst.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{name}/{a.path}")
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), loaded.seed_generator.state.numpy())

    # Both continue identically: same weights after one more epoch on the same data.
    gan.fit(batches, epochs=1, verbose=0)
    loaded.fit(batches, epochs=1, verbose=0)
    assert int(loaded.g_optimizer.iterations.numpy()) == 16
    for a, b in zip(gan.generator.weights, loaded.generator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_config_round_trip_rebuilds_the_same_model():
    gan = kg.models.DCGAN(latent_dim=24, image_shape=(32, 32, 3), width=8, seed=5)
    config = gan.get_config()
    clone = kg.models.DCGAN.from_config(config)
    assert clone.get_config() == config
    assert clone.generator.count_params() == gan.generator.count_params()
    assert clone.generator.output_shape == (None, 32, 32, 3)
    assert clone.latent_dim == 24 and clone.width == 8 and clone.seed == 5


def test_compile_config_round_trip():
    gan = kg.models.DCGAN(latent_dim=16, width=8)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.3), loss="hinge")
    config = gan.get_compile_config()
    clone = kg.models.DCGAN.from_config(gan.get_config())
    clone.compile_from_config(config)
    assert clone.g_optimizer.get_config()["beta_1"] == pytest.approx(0.3)
    assert clone.loss_spec == "hinge"
    assert clone.g_optimizer.built and clone.d_optimizer.built


def test_generate_is_reproducible_with_a_seed_and_in_range():
    gan = tiny()
    a, b = gan.generate(5, seed=7), gan.generate(5, seed=7)
    c = gan.generate(5, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.shape == (5, 28, 28, 1) and a.dtype == np.float32
    assert a.min() >= -1.0 and a.max() <= 1.0
    # Sampling never advances the training noise state.
    state = gan.seed_generator.state.numpy().copy()
    gan.generate(3)
    np.testing.assert_array_equal(state, gan.seed_generator.state.numpy())


def test_call_is_the_generator():
    gan = tiny()
    z = gan.sample_latent(3, seed=1)
    np.testing.assert_allclose(gan(z).numpy(), gan.generator(z).numpy())


def test_training_noise_is_reproducible_from_the_seed(batches):
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(0)  # same initial weights
        gan = tiny(seed=11)
        gan.fit(batches.take(3), epochs=1, verbose=0)
        runs.append(gan.generator.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_custom_networks_replace_the_defaults():
    g = kg.networks.dcgan_generator(20, (28, 28, 1), width=8)
    d = kg.networks.dcgan_discriminator((28, 28, 1), width=4)
    gan = kg.models.DCGAN(generator=g, discriminator=d)
    assert gan.generator is g and gan.discriminator is d
    assert gan.latent_dim == 20 and gan.image_shape == (28, 28, 1)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((8, 32, 32, 1), "float32"), "shape"),
        (np.zeros((8, 28, 28, 1), "uint8"), "floats in \\[-1, 1\\]"),
    ],
)
def test_fit_rejects_wrong_images_with_a_clear_error(images, message):
    gan = tiny()
    with pytest.raises(ValueError, match=message):
        gan.fit(images, epochs=1, batch_size=4, verbose=0)


def test_fit_rejects_an_empty_dataset():
    gan = tiny()
    empty = tf.data.Dataset.from_tensor_slices(np.zeros((0, 28, 28, 1), "float32")).batch(4)
    with pytest.raises(ValueError, match="empty|no data|did not"):
        gan.fit(empty, epochs=1, verbose=0)


def test_mismatched_networks_and_bad_arguments_raise():
    g = kg.networks.dcgan_generator(16, (32, 32, 3), width=8)
    with pytest.raises(ValueError, match="discriminator takes images of shape"):
        kg.models.DCGAN(generator=g, discriminator=kg.networks.dcgan_discriminator((28, 28, 1), width=8))
    with pytest.raises(ValueError, match="latent_dim=8 but the generator takes z of size 16"):
        kg.models.DCGAN(generator=g, latent_dim=8)
    with pytest.raises(ValueError, match="precision must be .auto. or one of"):
        kg.models.DCGAN(precision="float64")
    with pytest.raises(ValueError, match="square"):
        kg.models.DCGAN(image_shape=(28, 32, 1))
    with pytest.raises(ValueError, match="positive int"):
        tiny().generate(0)
    gan = kg.models.DCGAN(latent_dim=16, width=8)
    with pytest.raises(ValueError, match="not compiled"):
        gan.fit(np.zeros((8, 28, 28, 1), "float32"), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="does not take optimizer"):
        gan.compile(optimizer="adam")
    with pytest.raises(ValueError, match="Unknown GAN loss"):
        gan.compile(loss="wasserstain")


def test_networks_cover_the_documented_image_shapes():
    for shape in [(28, 28, 1), (32, 32, 3), (64, 64, 3)]:
        g = kg.networks.dcgan_generator(32, shape, width=8)
        d = kg.networks.dcgan_discriminator(shape, width=8)
        assert g.output_shape == (None,) + shape
        assert d.output_shape == (None, 1)


def test_fit_rejects_a_dataset_that_yields_dicts():
    gan = tiny()
    dicts = tf.data.Dataset.from_tensor_slices({"image": np.zeros((8, 28, 28, 1), "float32")}).batch(4)
    with pytest.raises(ValueError, match="the dataset yields dicts: map it to image batches"):
        gan.fit(dicts, epochs=1, verbose=0)


def test_a_step_on_an_empty_tuple_raises_the_documented_error():
    # fit cannot hand train_step an empty tuple: tf.data has no zero-component
    # elements and Keras's generator/list adapters fail on () before the step
    # (TypeError / KeyError). Custom loops can: the step names the problem.
    gan = tiny()
    with pytest.raises(ValueError, match="the dataset yields empty tuples"):
        gan.unpack_data(())
    with pytest.raises(ValueError, match="the dataset yields empty tuples"):
        gan.train_step(())


# ---------------------------------------------------------------- data checks
def with_value(images, value):
    bad = images.copy()
    bad.reshape(-1)[123] = value
    return bad


BAD_IMAGES = {
    "0..255": (lambda x: (x + 1) * 127.5,
               "images must lie in [-1, 1], got values in [0, 255] like 0..255 pixels: scale them with "
               "x / 127.5 - 1 (kg.data.load does this)."),
    "nan": (lambda x: with_value(x, np.nan),
            "images contain NaN (1 of 50176 values in a batch): fix or drop those images (NaN is no pixel "
            "value; look for a division by zero in the preprocessing)."),
    "inf": (lambda x: with_value(x, -np.inf),
            "images contain inf (1 of 50176 values in a batch): fix or drop those images, then scale them "
            "to [-1, 1]."),
    "other": (lambda x: x * 3.0,
              "images must lie in [-1, 1], got values in [-3, 3]: scale them to [-1, 1] (uint8 pixels: "
              "x / 127.5 - 1)."),
}


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("kind", sorted(BAD_IMAGES))
def test_a_refused_batch_raises_one_line_and_changes_nothing(fmnist_train, kind, jit_compile):
    """XLA drops graph assertions, so the checks run in the input pipeline:
    with jit_compile=True too, the bad batch raises one ValueError and the
    model (batch-norm statistics, optimizer iterations, noise) is untouched."""
    make, message = BAD_IMAGES[kind]
    images = make(scaled(fmnist_train[0][:64]))
    gan = tiny()
    gan.compile(jit_compile=jit_compile)
    gan.build_optimizers()
    before = model_state(gan)
    with pytest.raises(ValueError) as info:
        gan.fit(tf.data.Dataset.from_tensors(images.astype("float32")), verbose=0)
    assert str(info.value) == message and "\n" not in str(info.value)
    assert not changed(before, model_state(gan))
    assert int(gan.g_optimizer.iterations.numpy()) == int(gan.d_optimizer.iterations.numpy()) == 0
    # Arrays are checked whole before training, with the same message.
    with pytest.raises(ValueError) as info:
        gan.fit(images.astype("float32"), batch_size=32, verbose=0)
    assert str(info.value) == message.replace("in a batch", "in a batch")
    assert not changed(before, model_state(gan))


def test_a_bad_batch_mid_run_stops_there_under_xla(fmnist_train):
    images = scaled(fmnist_train[0][:192])
    bad = images.copy()
    bad[128:] = (bad[128:] + 1) * 127.5  # the third batch of 64 holds 0..255 pixels
    runs = []
    for data, stop in ((images[:128], False), (bad, True)):
        keras.utils.set_random_seed(0)
        gan = tiny()
        gan.compile(jit_compile=True)
        ds = tf.data.Dataset.from_tensor_slices(data).batch(64)
        if stop:
            with pytest.raises(ValueError, match=r"^images must lie in \[-1, 1\], got values in \[0, 255\]"):
                gan.fit(ds, verbose=0)
        else:
            gan.fit(ds, verbose=0)
        assert int(gan.g_optimizer.iterations.numpy()) == 2
        runs.append(model_state(gan))
    for key in runs[0]:
        np.testing.assert_allclose(runs[0][key], runs[1][key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_images_in_0_1_warn_once_naming_the_scaling(fmnist_train):
    unit = fmnist_train[0][:256].astype("float32") / 255.0
    gan = tiny()
    with pytest.warns(UserWarning) as record:
        gan.fit(tf.data.Dataset.from_tensor_slices(unit).batch(64), epochs=2, verbose=0)
    ours = [str(w.message) for w in record if "x / 255" in str(w.message)]
    assert ours == [
        "images lie in [0, 1] (no value below 0), as if scaled with x / 255, but the generator makes "
        "[-1, 1]: scale uint8 pixels with x / 127.5 - 1 (or [0, 1] floats with 2 * x - 1)."
    ]
    assert int(gan.g_optimizer.iterations.numpy()) == 8  # a warning, not a refusal
    fresh = tiny()
    with pytest.warns(UserWarning, match=r"as if scaled with x / 255"):
        fresh.fit(unit, batch_size=64, verbose=0)  # arrays: checked whole, same warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        tiny().check_batch(scaled(fmnist_train[0][:64]))  # [-1, 1]: no warning


def test_other_entry_points_check_too(fmnist_train):
    bad = scaled(fmnist_train[0][:64]) * 3.0
    gan = tiny()
    expected = r"^images must lie in \[-1, 1\], got values in \[-3, 3\]"

    def generator():
        yield bad

    for call in (
        lambda: gan.fit(generator(), verbose=0),
        lambda: gan.train_on_batch(bad),
        lambda: gan.evaluate(tf.data.Dataset.from_tensors(bad), verbose=0),
        lambda: gan.fit(scaled(fmnist_train[0][:64]), validation_data=bad, verbose=0),
    ):
        with pytest.raises(ValueError, match=expected):
            call()
    assert int(gan.g_optimizer.iterations.numpy()) == 0


def test_images_without_a_channel_axis_are_told_to_add_it(fmnist_train):
    images = scaled(fmnist_train[0][:64])[..., 0]
    with pytest.raises(ValueError) as info:
        tiny().fit(images, batch_size=32, verbose=0)
    assert str(info.value) == (
        "images have shape (28, 28) per example but this GAN makes (28, 28, 1): add the channel axis "
        "with x[..., None] (or np.expand_dims(x, -1))."
    )


def test_predict_maps_latents_to_images_and_refuses_images(fmnist_train):
    gan = tiny()
    z = gan.sample_latent(4, seed=2)
    np.testing.assert_allclose(gan.predict(z, verbose=0), gan(z).numpy(), atol=1e-6)
    with pytest.raises(ValueError) as info:
        gan.predict(scaled(fmnist_train[0][:4]), verbose=0)
    assert str(info.value) == (
        "DCGAN.predict maps latents z [n, 16] to images, got images [4, 28, 28, 1]: score images with "
        "gan.discriminator.predict(images); make images with gan.predict(gan.sample_latent(n)) or "
        "gan.generate(n)."
    )
    with pytest.raises(ValueError, match=r"takes latents z of shape \[n, 16\], got \[4, 20\]"):
        gan.predict(np.zeros((4, 20), "float32"), verbose=0)


# ---------------------------------------------------------------- stock callbacks
def learning_rates(gan):
    return [float(keras.ops.convert_to_numpy(o.learning_rate)) for o in (gan.g_optimizer, gan.d_optimizer)]


def ttur(seed=0):
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=seed)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.Adam(4e-4))
    return gan


def test_reduce_lr_on_plateau_reduces_both_learning_rates(batches):
    gan = ttur()
    # min_delta this large makes every epoch after the first a plateau.
    cb = keras.callbacks.ReduceLROnPlateau(monitor="g_loss", factor=0.5, patience=0, min_delta=1e9)
    gan.fit(batches.take(2), epochs=3, callbacks=[cb], verbose=0)
    np.testing.assert_allclose(learning_rates(gan), [2.5e-5, 1e-4], rtol=1e-6)
    assert cb.model is gan  # the view is gone after fit


def test_learning_rate_scheduler_sets_both_learning_rates(batches):
    gan = ttur()
    cb = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    gan.fit(batches.take(2), epochs=2, callbacks=[cb], verbose=0)
    np.testing.assert_allclose(learning_rates(gan), [2.5e-5, 1e-4], rtol=1e-6)


def test_stock_backup_and_restore_is_refused_naming_the_gan_one(batches, tmp_path):
    gan = tiny()
    with pytest.raises(ValueError) as info:
        gan.fit(batches, callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / "b"))], verbose=0)
    assert str(info.value) == (
        "keras.callbacks.BackupAndRestore restores one model.optimizer and a GAN trains with 2 "
        "(g_optimizer, d_optimizer): use kg.callbacks.GANBackupAndRestore(backup_dir), which restores "
        "them all and the noise state."
    )
    assert int(gan.g_optimizer.iterations.numpy()) == 0
    gan.fit(batches.take(1), callbacks=[kg.callbacks.GANBackupAndRestore(str(tmp_path / "ok"))], verbose=0)
    assert int(gan.g_optimizer.iterations.numpy()) == 1


def test_swap_ema_weights_works_with_an_ema_optimizer_and_is_refused_without(batches):
    with pytest.raises(ValueError, match=r"^SwapEMAWeights swaps in the moving averages .*: build the GAN "
                                         r"with ema_decay=0.999 .*use_ema=True\)\)\.$"):
        tiny().fit(batches.take(1), callbacks=[keras.callbacks.SwapEMAWeights()], verbose=0)
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, use_ema=True, ema_momentum=0.5))
    gan.fit(batches.take(3), epochs=2, callbacks=[keras.callbacks.SwapEMAWeights(swap_on_epoch=True)], verbose=0)
    # As keras.Model.fit does for its optimizer: the generator ends on its EMA weights.
    averages = gan.g_optimizer._model_variables_moving_average
    for var, average in zip(gan.generator.trainable_variables, averages):
        np.testing.assert_allclose(var.numpy(), average.numpy(), atol=1e-7, err_msg=var.path)


def test_early_stopping_and_best_checkpoints_read_the_loss_direction_in_auto_mode(batches, tmp_path):
    gan = tiny()
    stop = keras.callbacks.EarlyStopping(monitor="g_loss", patience=0, min_delta=1e9)
    path = str(tmp_path / "best.keras")
    best = keras.callbacks.ModelCheckpoint(path, monitor="d_loss", save_best_only=True)
    history = gan.fit(batches.take(2), epochs=5, callbacks=[stop, best], verbose=0)
    assert stop.monitor_op is keras.ops.less and best.monitor_op is keras.ops.less
    assert len(history.epoch) == 2 and stop.stopped_epoch == 1  # stopped after the second epoch
    assert keras.saving.load_model(path).latent_dim == 16
    assert best.best == pytest.approx(min(history.history["d_loss"]))


# ---------------------------------------------------------------- saving subclasses
@keras.saving.register_keras_serializable(package="keras_gans_tests")
class CountingDCGAN(kg.models.DCGAN):
    """A subclass adding a variable of its own."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.images_seen = keras.Variable(0.0, trainable=False, name="images_seen")


def test_a_variable_a_subclass_adds_is_saved_and_loaded(tmp_path):
    gan = CountingDCGAN(latent_dim=16, width=8, seed=2)
    gan.compile()
    gan.build_optimizers()
    gan.images_seen.assign(1234.0)
    gan.seed_generator.state.assign(np.array([2, 77], gan.seed_generator.state.dtype))
    path = str(tmp_path / "counting.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is CountingDCGAN
    assert float(loaded.images_seen.numpy()) == 1234.0
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), [2, 77])
