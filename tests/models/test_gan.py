"""Behaviour of the base GAN through DCGAN: steps, saving, config, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from tests.conftest import changed, scaled, weights_of


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
    with pytest.raises(ValueError, match="precision must be one of"):
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
