"""Pix2Pix: U-Net and PatchGAN shapes, loss terms, which weights each update moves,
bad input, saving and an exact resume, exports, and real edges -> garments training."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.models.pix2pix import l1_loss
from keras_gans.networks.pix2pix import unet_depth, unet_padding
from tests.conftest import changed, scaled, weights_of


def tiny(shape=(16, 16, 1), **kwargs):
    """A small Pix2Pix (a 4-block U-Net of width 4, one-layer PatchGAN)."""
    kwargs = {"width": 4, "discriminator_layers": 1, "seed": 0, **kwargs}
    return kg.models.Pix2Pix(image_shape=shape, **kwargs)


def uniform(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def trainable(net):
    return {v.path for v in net.trainable_variables}


# ---------------------------------------------------------------- networks
def test_default_networks_match_the_docstring_table():
    defaults = kg.models.Pix2Pix()
    assert defaults.image_shape == (28, 28, 1) and defaults.n_downsamplings == 5
    assert defaults.generator.count_params() == 16_653_505
    assert defaults.discriminator.count_params() == 2_764_609
    small = kg.models.Pix2Pix(width=8, discriminator_layers=2)
    assert small.generator.count_params() == 261_017
    assert small.discriminator.count_params() == 11_113
    assert small.latent_dim is None and small.family == "pix2pix" and small.data_kind == "paired"
    assert kg.models.get_family("pix2pix") is kg.models.Pix2Pix


def test_unet_pads_to_its_depth_and_crops_back():
    assert unet_depth((28, 28, 1)) == 5 and unet_depth((256, 256, 3)) == 8
    assert unet_padding((28, 28, 1), 5) == ((2, 2), (2, 2))
    assert unet_padding((20, 45, 3), 3) == ((2, 2), (1, 2))  # the odd pixel at the right
    g = kg.networks.pix2pix_generator((28, 28, 1), width=4)
    assert g.get_layer("pad").output.shape[1:3] == (32, 32)
    assert g.get_layer("down4_lrelu").output.shape[1:] == (1, 1, 32)  # the 1x1 bottleneck
    assert g.output_shape == (None, 28, 28, 1)
    # Skips line up at every resolution, channels may change, sides need not be equal.
    other = kg.networks.pix2pix_generator((20, 44, 3), input_channels=1, width=4, n_downsamplings=3)
    assert other.input_shape == (None, 20, 44, 1) and other.output_shape == (None, 20, 44, 3)
    exact = kg.networks.pix2pix_generator((16, 16, 1), width=4)
    assert "pad" not in [layer.name for layer in exact.layers]
    with pytest.raises(ValueError, match="more than a reflection of 28 pixels gives: use n_downsamplings <= 5"):
        unet_padding((28, 28, 1), 7)


def test_dropout_sits_in_the_first_decoder_blocks_and_runs_in_training_only():
    g = kg.networks.pix2pix_generator((16, 16, 1), width=4, dropout_blocks=2, seed=3)
    dropouts = [layer for layer in g.layers if isinstance(layer, keras.layers.Dropout)]
    assert [layer.name for layer in dropouts] == ["up0_dropout", "up1_dropout"]
    assert [layer.rate for layer in dropouts] == [0.5, 0.5] and dropouts[1].seed == 4
    x = uniform((2, 16, 16, 1), 0)
    np.testing.assert_array_equal(g(x, training=False), g(x, training=False))
    assert not np.allclose(g(x, training=True), g(x, training=False))
    none = kg.networks.pix2pix_generator((16, 16, 1), width=4, dropout=0.0)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in none.layers)


def test_patchgan_scores_stacked_pairs():
    d = kg.networks.pix2pix_discriminator((28, 28, 1), input_channels=3, width=4, n_layers=2)
    assert d.input_shape == (None, 28, 28, 4) and d.output_shape == (None, 7, 7, 1)
    gan = tiny((16, 16, 3), input_channels=1)
    assert gan.discriminator.input_shape == (None, 16, 16, 4)
    pairs = gan.pairs(np.zeros((2, 16, 16, 1)), np.ones((2, 16, 16, 3)))
    assert pairs.shape == (2, 16, 16, 4) and pairs.dtype == tf.float32
    np.testing.assert_array_equal(pairs.numpy()[..., 0], 0.0)
    np.testing.assert_array_equal(pairs.numpy()[..., 1:], 1.0)
    assert gan.fuses_discriminator()  # instance norm: real and fake pairs in one call
    assert not tiny(normalization="batch").fuses_discriminator()


def test_augment_moves_an_input_and_its_output_together():
    gan = tiny(augment="translation,cutout")
    x = uniform((4, 16, 16, 1), 0)
    out = gan.augment_images(gan.pairs(x, x)).numpy()  # what the discriminator sees in training
    assert not np.allclose(out[..., 0], x[..., 0])  # shifted and cut out...
    np.testing.assert_array_equal(out[..., 0], out[..., 1])  # ...the same way in both halves


# ---------------------------------------------------------------- losses with known networks
def linear_pix2pix(shape=(4, 4, 1), **kwargs):
    """G(x) = 0.5 x and D(pair) = 2 x - y + 0.25 (a 1x1 convolution of the pair)."""
    inputs = keras.Input(shape)
    g = keras.Model(inputs, keras.layers.Rescaling(0.5)(inputs), name="g")
    pairs = keras.Input((*shape[:2], 2 * shape[-1]))
    conv = keras.layers.Conv2D(1, 1)
    d = keras.Model(pairs, conv(pairs), name="d")
    conv.set_weights([np.array([2.0, -1.0], "float32").reshape(1, 1, 2, 1), np.array([0.25], "float32")])
    return kg.models.Pix2Pix(generator=g, discriminator=d, **kwargs)


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def test_l1_and_adversarial_terms_match_hand_computed_values():
    gan = linear_pix2pix(l1_weight=100.0)
    gan.compile()
    x, y = uniform((3, 4, 4, 1), 1), uniform((3, 4, 4, 1), 2)
    fake = 0.5 * x
    l1 = np.mean(np.abs(y - fake))
    adversarial = np.mean(softplus(-(2 * x - fake + 0.25)))  # -log sigmoid(D(x, G(x)))
    d_loss = np.mean(softplus(-(2 * x - y + 0.25))) + np.mean(softplus(2 * x - fake + 0.25))
    assert float(l1_loss(y, fake)) == pytest.approx(l1, rel=1e-6)
    assert float(l1_loss(np.ones((1, 2)), [[0.0, 3.0]])) == pytest.approx(1.5)
    terms = gan.generator_losses(tf.constant(x), tf.constant(y), tf.constant(fake))
    assert float(terms["l1"]) == pytest.approx(l1, rel=1e-5)
    assert float(terms["adversarial"]) == pytest.approx(adversarial, rel=1e-5)
    assert float(terms["total"]) == pytest.approx(adversarial + 100.0 * l1, rel=1e-5)
    logs = gan.test_step((tf.constant(x), tf.constant(y)))
    assert list(logs) == ["d_loss", "g_loss", "l1_loss"]
    np.testing.assert_allclose([float(v) for v in logs.values()], [d_loss, adversarial, l1], rtol=1e-5)
    assert gan.input_channels == 1 and gan.image_shape == (4, 4, 1)


# ---------------------------------------------------------------- which weights each update moves
def step_moves(g_rate, d_rate):
    gan = tiny()
    gan.compile(g_optimizer=keras.optimizers.Adam(g_rate, beta_1=0.5),
                d_optimizer=keras.optimizers.Adam(d_rate, beta_1=0.5))
    nets = {"g": gan.generator, "d": gan.discriminator}
    before = {k: weights_of(n) for k, n in nets.items()}
    logs = gan.train_step((tf.constant(uniform((2, 16, 16, 1), 0)), tf.constant(uniform((2, 16, 16, 1), 1))))
    moved = {k: changed(before[k], weights_of(n)) & trainable(n) for k, n in nets.items()}
    return gan, moved, logs


def test_the_generator_update_moves_only_the_generator():
    gan, moved, logs = step_moves(1e-3, 0.0)  # the discriminator's step is a no-op
    assert moved["g"] == trainable(gan.generator) and not moved["d"]
    assert set(logs) == {"d_loss", "g_loss", "l1_loss"} and all(np.isfinite(float(v)) for v in logs.values())


def test_the_discriminator_update_moves_only_the_discriminator():
    gan, moved, _ = step_moves(0.0, 1e-3)
    assert moved["d"] == trainable(gan.discriminator) and not moved["g"]
    assert {n: int(o.iterations.numpy()) for n, o in gan.optimizers().items()} == {"g_optimizer": 1, "d_optimizer": 1}


# ---------------------------------------------------------------- translation API
def test_translate_and_call_run_the_generator_without_dropout():
    gan = tiny()
    x = uniform((5, 16, 16, 1), 7)
    out = gan.translate(x, batch_size=2)
    np.testing.assert_allclose(out, gan.generator(x, training=False).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gan(x).numpy(), out, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(gan.translate(x), gan.translate(x))
    assert out.dtype == np.float32 and out.shape == x.shape
    grid = gan.preview(4, inputs=x)
    assert grid.shape == (4, 16, 16, 1)
    np.testing.assert_array_equal(grid[0::2], x[:2])
    with pytest.raises(ValueError, match="pass inputs="):
        gan.preview(4)
    with pytest.raises(ValueError, match="translate"):
        gan.generate(4, seed=0)
    with pytest.raises(ValueError, match="no latent space"):
        gan.sample_latent(4)
    with pytest.raises(ValueError, match=r"maps input images \[n, 16, 16, 1\]"):
        gan.predict(np.zeros((2, 8), "float32"), verbose=0)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 28, 28, 1), "float32"), "shape"),
        (np.zeros((16, 16, 1), "float32"), "shape"),
        (np.zeros((2, 16, 16, 1), "uint8"), "x / 127.5 - 1"),
        (np.full((2, 16, 16, 1), 1.5, "float32"), "\\[-1, 1\\]"),
    ],
)
def test_translate_rejects_bad_input(images, message):
    with pytest.raises(ValueError, match=message):
        tiny().translate(images)


# ---------------------------------------------------------------- bad training data
@pytest.fixture(scope="module")
def compiled():
    gan = tiny()
    gan.compile()
    return gan


def one_line(info):
    message = str(info.value)
    assert "\n" not in message
    return message


def test_fit_refuses_unpaired_data(compiled):
    images = uniform((4, 16, 16, 1), 0)
    before = weights_of(compiled)
    for data in (tf.data.Dataset.from_tensor_slices(images).batch(2), images):
        with pytest.raises(ValueError) as info:
            compiled.fit(data, epochs=1, verbose=0)
        message = one_line(info)
        assert message.startswith("Pix2Pix trains on paired batches (input_images, target_images)")
        assert "kg.data.load_paired" in message and "fit(inputs, targets)" in message
    assert not changed(before, weights_of(compiled))


@pytest.mark.parametrize(
    "x_shape, y_shape, message",
    [
        ((4, 28, 28, 1), (4, 16, 16, 1), r"input images have shape \(28, 28, 1\) per example but this Pix2Pix takes \(16, 16, 1\)"),
        ((4, 16, 16, 1), (4, 16, 16, 3), r"target images have shape \(16, 16, 3\) per example but this Pix2Pix makes \(16, 16, 1\)"),
    ],
)
def test_fit_refuses_images_of_another_shape(compiled, x_shape, y_shape, message):
    pairs = (uniform(x_shape, 0), uniform(y_shape, 1))
    for data in (tf.data.Dataset.from_tensor_slices(pairs).batch(2), pairs):
        with pytest.raises(ValueError, match=message) as info:
            compiled.fit(data, epochs=1, verbose=0)
        assert "image_size=(h, w)" in one_line(info)


def test_fit_refuses_out_of_range_targets_before_any_step(compiled):
    pairs = (uniform((4, 16, 16, 1), 0), np.full((4, 16, 16, 1), 255.0, "float32"))
    before = weights_of(compiled)
    with pytest.raises(ValueError, match=r"target images must lie in \[-1, 1\].*0\.\.255 pixels") as info:
        compiled.fit(*pairs, batch_size=2, epochs=1, verbose=0)
    one_line(info)
    with pytest.raises(ValueError, match="a batch has 2 input images but 1 target images"):
        compiled.check_batch((pairs[0][:2], pairs[0][:1]))
    assert not changed(before, weights_of(compiled))


# ---------------------------------------------------------------- construction
def test_config_round_trip_keeps_every_knob():
    gan = kg.models.Pix2Pix(
        image_shape=(16, 24, 3), input_channels=1, width=4, n_downsamplings=3, dropout=0.25,
        dropout_blocks=1, discriminator_layers=2, normalization="batch", l1_weight=10.0, seed=9,
    )
    config = gan.get_config()
    assert "latent_dim" not in config and "reuse_fakes" not in config
    clone = kg.models.Pix2Pix.from_config(config)
    assert clone.get_config() == config
    assert clone.generator.count_params() == gan.generator.count_params()
    assert (clone.input_channels, clone.l1_weight, clone.normalization) == (1, 10.0, "batch")
    assert kg.models.Pix2Pix(width=4).get_config()["n_downsamplings"] == 5  # recorded resolved


def test_constructor_errors():
    with pytest.raises(ValueError, match="no latent space"):
        kg.models.Pix2Pix(latent_dim=8)
    with pytest.raises(ValueError, match="drop reuse_fakes"):
        kg.models.Pix2Pix(reuse_fakes=False)
    with pytest.raises(ValueError, match="dropout must be a number in \\[0, 1\\)"):
        kg.models.Pix2Pix(dropout=1.0)
    with pytest.raises(ValueError, match="normalization must be"):
        kg.models.Pix2Pix(normalization="group")
    with pytest.raises(ValueError, match="l1_weight"):
        kg.models.Pix2Pix(l1_weight=-1)
    x = keras.Input((4, 4, 1))
    g = keras.Model(x, keras.layers.Rescaling(0.5)(x))
    with pytest.raises(ValueError, match="input_channels=3 but the generator takes images of 1 channel"):
        kg.models.Pix2Pix(generator=g, input_channels=3)
    with pytest.raises(ValueError, match=r"scores pairs of shape \(4, 4, 2\)"):
        kg.models.Pix2Pix(generator=g, discriminator=kg.networks.pix2pix_discriminator((4, 4, 2), width=2, n_layers=1))
    with pytest.raises(ValueError, match="pix2pix_discriminator\\(spectral_norm=True\\)"):
        kg.models.Pix2Pix(generator=g, discriminator=kg.networks.pix2pix_discriminator((4, 4, 1), width=2, n_layers=1),
                          spectral_norm=True)


def test_auto_optimizers_are_the_papers_adam():
    gan = tiny()
    gan.compile()
    for opt in gan.optimizers().values():
        assert isinstance(opt, keras.optimizers.Adam)
        assert float(opt.learning_rate) == pytest.approx(2e-4) and opt.beta_1 == pytest.approx(0.5)
    assert gan.loss_spec == "non_saturating" and gan.l1_weight == 100.0


# ---------------------------------------------------------------- saving and an exact resume
def unnumbered(path):
    return re.sub(r"seed_generator_\d+", "seed_generator", path)


def test_save_load_restores_everything_and_training_continues_identically(tmp_path):
    x, y = uniform((12, 16, 16, 1), 3), uniform((12, 16, 16, 1), 4)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4, drop_remainder=True)
    gan = tiny(ema_decay=0.9)
    gan.compile()
    gan.fit(ds, epochs=1, verbose=0)
    dropouts = gan._dropout_layers()
    assert len(dropouts) == 6  # three in the generator, three in its EMA copy
    assert int(dropouts["dropout_state.generator.up0_dropout"].seed_generator.state.numpy()[1]) > 0
    path = str(tmp_path / "pix2pix.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is kg.models.Pix2Pix and loaded.compiled
    # Seed generators are numbered per process: compare the paths without the number.
    assert [unnumbered(v.path) for v in loaded.variables] == [unnumbered(v.path) for v in gan.variables]
    for a, b in zip(gan.variables, loaded.variables):  # networks, EMA copy, dropout and noise states
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for name, opt in gan.optimizers().items():
        restored = loaded.optimizers()[name]
        assert int(restored.iterations.numpy()) == int(opt.iterations.numpy()) == 3
        for a, b in zip(opt.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{name}/{a.path}")
    before = weights_of(gan.generator)
    gan.fit(ds, epochs=1, verbose=0)
    loaded.fit(ds, epochs=1, verbose=0)
    assert changed(before, weights_of(gan.generator)) >= trainable(gan.generator)
    for a, b in zip(gan.variables, loaded.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_array_equal(gan.translate(x), loaded.translate(x))


# ---------------------------------------------------------------- export
def test_exports_take_images_and_match_keras(tmp_path):
    gan = tiny(ema_decay=0.9)
    x = uniform((3, 16, 16, 1), 5)
    path = kg.export.saved_model(gan, str(tmp_path / "serving"), name="pix2pix", version=1)
    loaded = tf.saved_model.load(path)
    signature = loaded.signatures["serving_default"]
    assert list(signature.structured_input_signature[1]) == ["images"]
    assert set(loaded.signatures) == {"serving_default"}  # nothing to sample: it translates
    out = signature(images=tf.constant(x))
    np.testing.assert_allclose(out["images"].numpy(), gan.translate(x), atol=1e-5)
    assert kg.export.verify(path, gan, inputs={"images": x})["passed"]
    lite = kg.export.tflite(gan, str(tmp_path / "pix2pix.tflite"))
    report = kg.export.verify(lite, gan, inputs={"images": x})
    assert report["passed"] and report["max_abs_diff"] < 1e-4, report


def test_exports_take_the_input_channels_when_they_differ_from_the_output(tmp_path):
    """Grayscale -> colour: the images signature takes 1 channel and returns 3, in both runtimes."""
    gan = tiny(shape=(16, 16, 3), input_channels=1)
    x = uniform((4, 16, 16, 1), 6)
    expected = gan.translate(x)
    assert expected.shape == (4, 16, 16, 3)
    path = kg.export.saved_model(gan, str(tmp_path / "serving"), name="colorize", version=1)
    signature = tf.saved_model.load(path).signatures["serving_default"]
    assert signature.structured_input_signature[1]["images"].shape.as_list() == [None, 16, 16, 1]
    np.testing.assert_allclose(signature(images=tf.constant(x))["images"].numpy(), expected, atol=1e-5)
    assert kg.export.verify(path, gan)["passed"]  # default inputs: noise of the input's shape
    lite = kg.export.tflite(gan, str(tmp_path / "colorize.tflite"))
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_path=lite).get_signature_runner("serving_default").get_input_details()
    assert list(details["images"]["shape"]) == [1, 16, 16, 1]
    report = kg.export.verify(lite, gan, inputs={"images": x})
    assert report["passed"] and report["max_abs_diff"] < 1e-4, report
    # int8 calibrates on images of the input's shape and refuses the output's.
    with pytest.raises(ValueError, match=r"generator takes \(16, 16, 1\)"):
        kg.export.tflite(gan, str(tmp_path / "bad.tflite"), quantize="int8",
                         representative_data=uniform((40, 16, 16, 3), 7))
    assert not (tmp_path / "bad.tflite").exists()


# ---------------------------------------------------------------- real training
@pytest.mark.slow
def test_training_draws_garments_from_their_edges(fmnist_train, fmnist_test):
    """Fashion-MNIST edges -> garments, 300 steps of batch 16 on 4,800 train images."""
    keras.utils.set_random_seed(0)
    gan = kg.models.Pix2Pix(image_shape=(28, 28, 1), width=16, discriminator_layers=2, seed=0)
    gan.compile()
    images, _ = fmnist_train
    ds = kg.data.load_paired(images[:4800], pair="edges", batch_size=16, seed=0)
    test_images, _ = fmnist_test
    held = kg.data.load_paired(test_images[:256], pair="edges", batch_size=256, shuffle=False)
    edges, garments = (t.numpy() for t in next(iter(held)))
    before = float(np.mean(np.abs(gan.translate(edges) - garments)))
    history = gan.fit(ds, epochs=1, steps_per_epoch=300, verbose=0).history
    after = float(np.mean(np.abs(gan.translate(edges) - garments)))
    # Measured on 256 test garments: L1 0.78 untrained, 0.235 after 300 steps (about 25 s on
    # two cores); the edge maps themselves are 1.36 away from their garments.
    assert after < before / 2.5 and after < 0.3, (before, after)
    assert float(np.mean(np.abs(edges - garments))) > 2 * after
    assert np.isfinite(history["d_loss"]).all() and history["l1_loss"][0] < before


def test_the_zoo_entry_translates_test_edges_and_exports_by_name(tmp_path):
    from keras_gans.data.paired import paired_numpy

    card = kg.zoo.card("pix2pix.edges2fashion")
    assert sorted(card["packaged"]) == ["generator"]  # ships in the wheel
    gan = kg.zoo.load_gan("pix2pix.edges2fashion", generator_only=True)
    inputs, targets = paired_numpy("fashion_mnist", split="test", pair="edges")
    edges, real = scaled(inputs[:500]), scaled(targets[:500])  # uint8 pairs
    error = float(np.mean(np.abs(gan.translate(edges) - real)))
    # The card: L1 0.114 on the 10,000 test pairs; an untrained U-Net is near 0.8.
    assert error < 0.16, error
    folder = kg.export.saved_model("pix2pix.edges2fashion", str(tmp_path / "serving"))
    served = tf.saved_model.load(folder).signatures["serving_default"]
    assert list(served.structured_input_signature[1]) == ["images"]
    out = served(images=tf.constant(edges[:4]))["images"].numpy()
    np.testing.assert_allclose(out, gan.translate(edges[:4]), atol=1e-4)
