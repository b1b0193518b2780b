"""ProGAN: the growth schedule, its layers, which weights each update moves, resuming mid-fade, export."""

import inspect
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.networks import progan as nets
from tests.conftest import changed, scaled, weights_of

K = 16  # images_per_stage of the tiny models: a fade or a stabilization is 4 batches of 4


def tiny(seed=0, **kwargs):
    gan = kg.models.ProGAN(latent_dim=16, width=8, max_width=16, images_per_stage=K, seed=seed, **kwargs)
    gan.compile()
    return gan


@pytest.fixture(scope="module")
def real(fmnist_train):
    images, _ = fmnist_train
    return scaled(images[:64])


def batches(images, start, count, size=4):
    return tf.data.Dataset.from_tensor_slices(images[start * size : (start + count) * size]).batch(size)


# ---------------------------------------------------------------- family and arguments
def test_family_defaults_are_the_papers():
    gan = tiny()
    assert kg.models.get_family("progan") is kg.models.ProGAN
    assert (gan.family, gan.data_kind) == ("progan", "images")
    assert (gan.gp_weight, gan.drift_weight, gan.group_size) == (10.0, 0.001, 4)
    defaults = inspect.signature(kg.models.ProGAN).parameters
    assert (defaults["images_per_stage"].default, defaults["width"].default, defaults["max_width"].default) == (
        600_000, 64, 512,
    )
    assert gan.d_loss_fn is kg.losses.wasserstein_discriminator_loss
    assert gan.g_loss_fn is kg.losses.wasserstein_generator_loss
    for opt in (gan.g_optimizer, gan.d_optimizer):
        assert isinstance(opt, keras.optimizers.Adam)
        assert float(opt.learning_rate) == pytest.approx(1e-3)
        assert (opt.beta_1, opt.beta_2, opt.epsilon) == (0.0, 0.99, 1e-8)
    assert gan.resolutions == [7, 14, 28]
    assert nets.progan_resolutions((128, 128, 3)) == [4, 8, 16, 32, 64, 128]
    assert nets.progan_resolutions((32, 32, 3)) == [4, 8, 16, 32]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"images_per_stage": 0}, "images_per_stage must be a positive int"),
        ({"images_per_stage": 2.5}, "images_per_stage must be a positive int"),
        ({"width": 0}, "width must be a positive int"),
        ({"width": 32, "max_width": 16}, r"max_width \(16\) must be >= width \(32\)"),
        ({"gp_weight": -1.0}, "gp_weight must be a number >= 0"),
        ({"drift_weight": float("nan")}, "drift_weight must be a number >= 0"),
        ({"group_size": 1}, "group_size must be an int >= 2"),
        ({"image_shape": (28, 32, 1)}, "ProGAN grows square images, got 28x32"),
        ({"image_shape": (30, 30, 1)}, "image side 30 is not s \\* 2\\*\\*k with s in 3..7"),
        ({"image_shape": (7, 7, 1)}, "image side 7 is not s \\* 2\\*\\*k"),
        ({"image_shape": (28, 28, 2)}, "image channels must be 1, 3 or 4"),
        ({"spectral_norm": True}, "spectral_norm is not for ProGAN"),
        ({"r1_weight": 1.0}, "r1_weight is for non-Wasserstein losses"),
    ],
)
def test_bad_arguments_raise_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kg.models.ProGAN(latent_dim=16, **{"width": 8, "max_width": 16, **kwargs})


def test_networks_that_do_not_grow_are_refused():
    with pytest.raises(ValueError, match="a ProGAN generator makes one image per stage"):
        kg.models.ProGAN(generator=kg.networks.dcgan_generator(16, (28, 28, 1), width=8), width=8, max_width=16)
    with pytest.raises(ValueError, match="a ProGAN discriminator takes"):
        kg.models.ProGAN(
            latent_dim=16, width=8, max_width=16, discriminator=kg.networks.dcgan_discriminator((28, 28, 1), width=8)
        )


def test_config_round_trip_keeps_every_knob():
    gan = kg.models.ProGAN(
        latent_dim=16, width=8, max_width=16, images_per_stage=48, gp_weight=5.0, drift_weight=0.01,
        group_size=2, seed=4,
    )
    config = gan.get_config()
    assert {k: config[k] for k in ("width", "max_width", "images_per_stage", "gp_weight", "drift_weight", "group_size")} == {
        "width": 8, "max_width": 16, "images_per_stage": 48, "gp_weight": 5.0, "drift_weight": 0.01, "group_size": 2,
    }
    clone = kg.models.ProGAN.from_config(config)
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    assert [tuple(v.shape) for v in clone.weights] == [tuple(v.shape) for v in gan.weights]


# ---------------------------------------------------------------- the schedule
def test_stage_and_alpha_are_functions_of_the_images_seen():
    gan = tiny()  # K = 16, stages 7, 14, 28
    expected = {
        0: (0, 1.0), 15: (0, 1.0),                                # stage 0 stabilizes
        16: (1, 0.0), 20: (1, 0.25), 28: (1, 0.75), 31: (1, 15 / 16),  # 14x14 fades in
        32: (1, 1.0), 47: (1, 1.0),                               # and stabilizes
        48: (2, 0.0), 52: (2, 0.25), 63: (2, 15 / 16),            # 28x28 fades in
        64: (2, 1.0), 10**9: (2, 1.0),                            # the last stage, for good
    }
    assert {n: gan.growth(n) for n in expected} == expected
    # The host-side stage (which graph runs) agrees with the step's tensors everywhere.
    assert all(gan.stage_of(n) == gan.growth(n)[0] for n in range(0, 80))
    assert (gan.stage, gan.alpha) == (0, 1.0)
    gan.images_seen.assign(24)
    assert (gan.stage, gan.alpha) == (1, 0.5)
    with pytest.raises(ValueError, match="images_seen must be an int >= 0"):
        gan.growth(-1)


# ---------------------------------------------------------------- layers
def test_equalized_layers_scale_their_n01_weights_by_he_constant():
    conv = nets.EqualizedConv2D(6, 3)
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 4)).astype("float32")
    y = conv(x).numpy()
    assert conv.scale == pytest.approx(math.sqrt(2.0 / (3 * 3 * 4)))
    kernel = conv.kernel.numpy()
    assert abs(kernel.std() - 1.0) < 0.15  # drawn from N(0, 1), 216 weights
    expected = tf.nn.conv2d(x, kernel * conv.scale, 1, "SAME").numpy() + conv.bias.numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    dense = nets.EqualizedDense(3, gain=1.0)
    dense(np.zeros((1, 50), "float32"))
    assert dense.scale == pytest.approx(math.sqrt(1.0 / 50))
    head = nets.EqualizedConv2D(2, 1)
    head(np.zeros((1, 4, 4, 8), "float32"))
    assert head.scale == pytest.approx(math.sqrt(2.0 / 8))


def test_pixel_norm_gives_every_pixel_unit_mean_square():
    x = np.random.default_rng(1).normal(3.0, 7.0, (2, 5, 5, 16)).astype("float32")
    y = nets.PixelNormalization()(x).numpy()
    np.testing.assert_allclose((y**2).mean(axis=-1), 1.0, rtol=1e-5)
    # Inside the generator: every block ends with it.
    g = tiny().generator
    z = np.random.default_rng(2).normal(size=(3, 16)).astype("float32")
    h = g.get_layer("block_14x14")(g.get_layer("block_7x7")(z)).numpy()
    assert h.shape == (3, 14, 14, 16)
    np.testing.assert_allclose((h**2).mean(axis=-1), 1.0, rtol=1e-4)


def test_minibatch_stddev_appends_each_groups_mean_std():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 2, 2, 3)).astype("float32")
    y = nets.MinibatchStdDev(group_size=2)(x).numpy()
    assert y.shape == (6, 2, 2, 4)
    np.testing.assert_array_equal(y[..., :3], x)
    for g in range(3):
        group = x[2 * g : 2 * g + 2]
        expected = np.sqrt(group.var(axis=0) + 1e-8).mean()
        np.testing.assert_allclose(y[2 * g : 2 * g + 2, ..., 3], expected, rtol=1e-5)
    # A batch that does not divide into groups is one group.
    odd = nets.MinibatchStdDev(group_size=4)(x).numpy()
    np.testing.assert_allclose(odd[..., 3], np.sqrt(x.var(axis=0) + 1e-8).mean(), rtol=1e-5)


# ---------------------------------------------------------------- shapes and the fade-in
def test_shapes_at_each_stage():
    gan = tiny()
    z = gan.sample_latent(4, seed=0)
    assert [tuple(o.shape[1:]) for o in gan.generator.outputs] == [(7, 7, 1), (14, 14, 1), (28, 28, 1)]
    assert len(gan.discriminator.outputs) == 3
    for stage, side in enumerate(gan.resolutions):
        images = nets.stage_images(gan.generator, z, stage, 0.5)
        assert images.shape == (4, side, side, 1) and images.dtype == tf.float32
        assert float(tf.reduce_max(tf.abs(images))) <= 1.0
        assert nets.stage_scores(gan.discriminator, images, stage, 0.5).shape == (4, 1)
        assert gan.generate_at_stage(4, stage, seed=0).shape == (4, 28, 28, 1)
        assert gan.generate_at_stage(4, stage, seed=0, full_size=False).shape == (4, side, side, 1)
    with pytest.raises(ValueError, match=r"stage must be an int in \[0, 3\)"):
        gan.generate_at_stage(1, 3)
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\]"):
        gan.generate_at_stage(1, 1, alpha=1.5)


def test_the_new_block_fades_in_linearly_from_the_upsampled_previous_stage():
    gan = tiny()
    g, d = gan.generator, gan.discriminator
    z = gan.sample_latent(4, seed=1)
    low = nets.upsample(nets.stage_images(g, z, 0), 2).numpy()
    high = nets.stage_images(g, z, 1).numpy()
    np.testing.assert_allclose(nets.stage_images(g, z, 1, tf.constant(0.0)).numpy(), low, atol=1e-6)
    np.testing.assert_allclose(nets.stage_images(g, z, 1, tf.constant(0.25)).numpy(), 0.75 * low + 0.25 * high, atol=1e-6)
    # The critic at alpha 0 is the previous stage's on the halved images.
    x = gan.generate_at_stage(4, 1, seed=2, full_size=False)
    previous = nets.stage_scores(d, nets.downsample(x, 2), 0).numpy()
    np.testing.assert_allclose(nets.stage_scores(d, x, 1, tf.constant(0.0)).numpy(), previous, rtol=1e-5, atol=1e-5)
    # Reals are blended the same way; at the start stage they are only pooled.
    real = np.random.default_rng(4).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    half = nets.downsample(real, 2)
    blurred = nets.upsample(nets.downsample(half, 2), 2)
    np.testing.assert_allclose(gan.real_at_stage(real, 1, tf.constant(0.0)).numpy(), blurred.numpy(), atol=1e-6)
    np.testing.assert_allclose(gan.real_at_stage(real, 1, tf.constant(1.0)).numpy(), half.numpy(), atol=1e-6)
    np.testing.assert_allclose(gan.real_at_stage(real, 0, None).numpy(), nets.downsample(real, 4).numpy(), atol=1e-6)
    # preview shows the current stage at its alpha, upsampled; generate the full-resolution network.
    gan.images_seen.assign(20)  # stage 1, alpha 0.25
    np.testing.assert_allclose(gan.preview(4, seed=1), gan.generate_at_stage(4, 1, seed=1, alpha=0.25), atol=1e-6)
    full = keras.ops.convert_to_numpy(nets.stage_images(g, gan.sample_latent(4, seed=1), 2))
    np.testing.assert_allclose(gan.generate(4, seed=1), full, atol=1e-6)


# ---------------------------------------------------------------- which weights move
def test_each_update_moves_only_its_network_and_only_the_stages_reached(real):
    gan = tiny(ema_decay=0.9)
    gan.build_optimizers()
    gan.images_seen.assign(20)  # stage 1 (14x14) fading in, alpha 0.25
    stage, alpha = gan._position()
    assert (stage, float(alpha)) == (1, 0.25)
    unreached_g = {p for p in weights_of(gan.generator) if "28x28" in p}
    unreached_d = {p for p in weights_of(gan.discriminator) if "28x28" in p}
    assert len(unreached_g) == len(unreached_d) == 6  # the block's two convolutions and the head, kernels and biases

    g0, d0, e0 = weights_of(gan.generator), weights_of(gan.discriminator), weights_of(gan.ema_generator)
    gan.critic_update(real[:4], stage, alpha)
    g1, d1 = weights_of(gan.generator), weights_of(gan.discriminator)
    assert not changed(g0, g1)
    assert changed(d0, d1) == set(d0) - unreached_d  # the whole 7x7-and-14x14 path, both heads (fading)

    gan.generator_update(4, stage, alpha)
    g2, d2, e2 = weights_of(gan.generator), weights_of(gan.discriminator), weights_of(gan.ema_generator)
    assert not changed(d1, d2)
    assert changed(g1, g2) == set(g1) - unreached_g
    # The EMA generator follows the generator on the same weights only (the
    # average of an unmoved weight with itself may round in the last bit).
    assert changed(e0, e2, atol=1e-6) == set(e0) - unreached_g


# ---------------------------------------------------------------- fit, saving and resuming
def test_a_fit_saved_mid_fade_resumes_at_the_same_alpha_and_ends_with_the_uninterrupted_weights(real, tmp_path):
    start = K  # stage 1's fade-in begins: both runs train the 14x14 path
    whole, first = tiny(seed=5), tiny(seed=5)
    first.set_weights(whole.get_weights())  # the same initial networks (and counter)
    for gan in (whole, first):
        gan.images_seen.assign(start)
    history = whole.fit(batches(real, 0, 4), verbose=0)
    assert int(whole.images_seen.numpy()) == start + 16
    assert (history.history["stage"], history.history["alpha"]) == ([1.0], [0.75])  # the last step's

    first.fit(batches(real, 0, 2), verbose=0)
    assert first.growth() == (1, 0.5)
    path = str(tmp_path / "progan.keras")
    first.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is kg.models.ProGAN
    assert int(loaded.images_seen.numpy()) == start + 8 and loaded.growth() == (1, 0.5)
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(first.get_config(), sort_keys=True)
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), first.seed_generator.state.numpy())

    loaded.fit(batches(real, 2, 2), verbose=0)
    assert int(loaded.images_seen.numpy()) == start + 16
    for name in ("g_optimizer", "d_optimizer"):
        assert int(getattr(loaded, name).iterations.numpy()) == 4
    assert len(loaded.variables) == len(whole.variables)
    for a, b in zip(whole.variables, loaded.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for a, b in zip(whole.g_optimizer.variables + whole.d_optimizer.variables,
                    loaded.g_optimizer.variables + loaded.d_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


@pytest.mark.slow
def test_fit_grows_through_every_stage_and_leaves_unreached_blocks_alone(real):
    gan = tiny(seed=1)
    g0 = weights_of(gan.generator)
    history = gan.fit(batches(real, 0, 8), epochs=2, verbose=0)  # 64 images: stage 0, 1 and 2's fade-in
    logs = history.history
    assert int(gan.images_seen.numpy()) == 64
    assert (logs["stage"], logs["alpha"]) == ([1.0, 2.0], [0.75, 0.75])  # the last steps start at 28 and 60
    assert all(np.isfinite(logs[k]).all() for k in ("d_loss", "g_loss", "wasserstein", "gradient_penalty", "drift"))
    # Per step d_loss = -wasserstein + 10 * penalty + 0.001 * drift; the epoch means keep it.
    np.testing.assert_allclose(
        np.asarray(logs["d_loss"]),
        -np.asarray(logs["wasserstein"]) + 10 * np.asarray(logs["gradient_penalty"]) + 0.001 * np.asarray(logs["drift"]),
        rtol=1e-4, atol=1e-5,
    )
    assert changed(g0, weights_of(gan.generator)) == set(g0)  # the last fade step reached 28x28
    evaluation = gan.evaluate(batches(real, 8, 2), verbose=0, return_dict=True)
    assert np.isfinite(list(evaluation.values())).all()


# ---------------------------------------------------------------- export
def test_the_full_resolution_generator_exports_to_savedmodel_and_builtin_tflite(tmp_path):
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    gan = tiny(seed=2)
    network = gan.sampling_generator()
    assert isinstance(network, keras.Model) and len(network.inputs) == 1 and len(network.outputs) == 1
    assert tuple(network.inputs[0].shape) == (None, 16) and tuple(network.outputs[0].shape) == (None, 28, 28, 1)
    z = gan.sample_latent(5, seed=3)
    expected = keras.ops.convert_to_numpy(nets.stage_images(gan.generator, z, 2))

    folder = kg.export.saved_model(gan, tmp_path / "serving")
    serve = tf.saved_model.load(folder).signatures["serving_default"]
    np.testing.assert_allclose(serve(z=tf.constant(z))["images"].numpy(), expected, atol=1e-5)

    path = kg.export.tflite(gan, tmp_path / "progan.tflite")
    builtins = {name for name in vars(schema.BuiltinOperator) if not name.startswith("_")} - {"CUSTOM"}
    info = kg.export.describe(path)
    assert info["custom_operators"] == [] and set(info["operators"]) <= builtins
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    np.testing.assert_allclose(runner(z=z)["images"], expected, atol=1e-4)


def test_a_growth_strip_shows_each_sample_at_every_stage(tmp_path, capsys):
    from PIL import Image

    from keras_gans.cli import main

    gan = tiny()
    strip = gan.growth_strip(2, seed=3)
    assert strip.shape == (2 * gan.num_stages, 28, 28, 1)
    for stage in range(gan.num_stages):
        np.testing.assert_allclose(strip[stage::gan.num_stages], gan.generate_at_stage(2, stage, seed=3), atol=1e-6)
    # The last stage is the full-resolution generator that generate uses.
    np.testing.assert_allclose(strip[gan.num_stages - 1], gan.generate(1, seed=3)[0], atol=1e-5)
    gan.compile()
    path = str(tmp_path / "progan.keras")
    gan.save(path)
    out = tmp_path / "growth.png"
    assert main(["sample", path, "--growth-strip", "--n", "6", "--seed", "3", "--out", str(out)]) == 0
    assert np.asarray(Image.open(out)).shape[:2] == (2 * 28, gan.num_stages * 28)
    assert "each at the 7 -> 14 -> 28 stages" in capsys.readouterr().out
    dcgan = str(tmp_path / "dcgan.keras")
    other = kg.models.DCGAN(latent_dim=8, width=8)
    other.compile()
    other.save(dcgan)
    assert main(["sample", dcgan, "--growth-strip", "--out", str(tmp_path / "x.png")]) == 2
    assert "--growth-strip needs a ProGAN" in capsys.readouterr().err
