"""StyleGAN2: networks, which weights each update moves, w-space sampling, saving and export."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert import schema_py_generated as _schema
from ai_edge_litert.interpreter import Interpreter

import keras_gans as kg
from keras_gans.networks.stylegan2 import ModulatedConv2D, num_ws
from tests.conftest import changed, model_state, weights_of

TINY = dict(latent_dim=16, w_dim=16, mapping_layers=2, width=8, max_width=16)
BUILTINS = {name for name in vars(_schema.BuiltinOperator) if not name.startswith("_")} - {"CUSTOM"}


def tiny(run_eagerly=False, **kwargs):
    gan = kg.models.StyleGAN2(**{**TINY, "seed": 0, **kwargs})
    gan.compile(run_eagerly=run_eagerly)
    return gan


@pytest.fixture(scope="module")
def gan():
    """A tiny 28x28x1 StyleGAN2 with a non-zero mean w (shared by the read-only tests)."""
    keras.utils.set_random_seed(1)
    model = tiny()
    for mapping in (model.generator, model.ema_generator):
        layer = mapping.get_layer("mapping").get_layer("mean_w")
        layer.w_avg.assign(np.random.default_rng(0).normal(size=16).astype("float32"))
    return model


@pytest.fixture(scope="module")
def real():
    return np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")


def paths(variables):
    return {v.path for v in variables}


# ---------------------------------------------------------------- networks
@pytest.mark.parametrize("image_shape, styles", [((28, 28, 1), 8), ((64, 64, 3), 10)])
def test_images_have_the_shape_and_range_and_gan_z_is_generate(image_shape, styles):
    model = kg.models.StyleGAN2(image_shape=image_shape, **TINY)
    assert model.num_ws == num_ws(image_shape) == styles
    images = model.generate(3, seed=0)
    assert images.shape == (3, *image_shape) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0.01
    assert model.discriminator(images).shape == (3, 1)
    # The exported network (gan(z)) and generate draw the same images for a seed.
    z = kg.sampling.latents(3, 16, seed=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(z)), images, atol=1e-5)
    np.testing.assert_array_equal(model.generate(3, seed=0), images)


def test_demodulation_keeps_unit_variance_whatever_the_styles():
    x = np.random.default_rng(0).normal(size=(8, 24, 24, 32)).astype("float32")
    w = np.random.default_rng(1).normal(size=(8, 16)).astype("float32")
    for demodulate in (True, False):
        layer = ModulatedConv2D(32, 3, demodulate=demodulate, activation=None)
        layer([x[:1], w[:1]])
        # Styles far from 1: scales of about 0..10 per input channel.
        layer.style_bias.assign(np.linspace(0.0, 10.0, 32).astype("float32"))
        y = keras.ops.convert_to_numpy(layer([x, w]))[:, 1:-1, 1:-1]  # inside the zero padding
        std = y.std(axis=(1, 2))  # per example and output channel
        if demodulate:
            assert abs(std.mean() - 1.0) < 0.03 and std.min() > 0.8 and std.max() < 1.2, std
        else:
            assert std.mean() > 2.0, std.mean()  # without it the scale follows the styles


# ---------------------------------------------------------------- training updates
def test_discriminator_update_moves_only_the_discriminator(real):
    model = tiny()
    g0, e0, d0 = weights_of(model.generator), weights_of(model.ema_generator), weights_of(model.discriminator)
    model.discriminator_step(tf.constant(real))
    assert paths(model.discriminator.trainable_variables) <= changed(d0, weights_of(model.discriminator))
    assert not changed(g0, weights_of(model.generator))  # w_avg and the fixed noise included
    assert not changed(e0, weights_of(model.ema_generator))


def test_generator_update_moves_mapping_and_synthesis_but_not_the_discriminator():
    model = tiny()
    g0, e0, d0 = weights_of(model.generator), weights_of(model.ema_generator), weights_of(model.discriminator)
    model.generator_step(4)
    moved = changed(g0, weights_of(model.generator))
    mapping = model.generator.get_layer("mapping")
    synthesis = model.generator.get_layer("synthesis")
    assert paths(mapping.trainable_variables) <= moved and paths(synthesis.trainable_variables) - moved <= {
        v.path for v in synthesis.trainable_variables if "noise_strength" in v.path
    }
    # The noise strengths start at 0 and move too.
    assert any("noise_strength" in p for p in moved)
    assert "mean_w/w_avg" in moved
    assert not any("noise_const" in p for p in moved)  # the sampling noise is fixed
    assert not changed(d0, weights_of(model.discriminator))
    assert changed(e0, weights_of(model.ema_generator))


def test_w_avg_moves_toward_the_batch_mean_of_w_and_reaches_the_ema_generator():
    model = tiny(w_avg_beta=0.25)
    layer = model.generator.get_layer("mapping").get_layer("mean_w")
    start = np.random.default_rng(3).normal(size=16).astype("float32")
    layer.w_avg.assign(start)
    # The first draw of the generator update is its latents: read them, then rewind.
    state = model.seed_generator.state.numpy().copy()
    z = model.noise(8)
    model.seed_generator.state.assign(state)
    w = keras.ops.convert_to_numpy(model.generator.get_layer("mapping")(z))
    model.generator_step(8)
    expected = w.mean(0) + 0.25 * (start - w.mean(0))
    np.testing.assert_allclose(model.w_avg, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.w_avg.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_style_mixing_takes_the_fine_styles_of_a_second_latent_from_a_random_cutoff():
    for probability in (0.0, 1.0):
        model = tiny(style_mixing=probability)
        ws, w = (keras.ops.convert_to_numpy(t) for t in model.training_ws(64))
        same = np.all(np.isclose(ws, w[:, None, :]), axis=2)  # [batch, num_ws]: index from w?
        if probability == 0.0:
            assert same.all()
            continue
        cutoffs = same.sum(1)
        # Indices below the cutoff come from w, all the others from the second latent.
        assert all(same[i, :c].all() and not same[i, c:].any() for i, c in enumerate(cutoffs))
        assert cutoffs.min() >= 1 and cutoffs.max() <= model.num_ws - 1
        assert len(set(cutoffs)) > 3  # drawn per example


def test_path_length_penalty_is_lazy_and_its_gradient_reaches_the_mapping_network(real):
    """A compiled fit (the default graph step, lazy R1 included) with path length every 2 updates."""
    model = tiny(pl_weight=2.0, pl_every=2)
    model.fit(np.concatenate([real] * 3), batch_size=4, epochs=1, verbose=0)
    # Three generator updates, due at iterations 0 and 2.
    assert float(model.pl_tracker.count.numpy()) == 2.0
    assert float(model.pl_mean.numpy()) > 0.0
    mapping = model.generator.get_layer("mapping")
    with tf.GradientTape() as tape:
        penalty = model.path_length_penalty(tf.constant(4))  # iterations is 3: not due
    assert float(penalty) == 0.0
    model.g_optimizer.iterations.assign(4)
    with tf.GradientTape() as tape:
        penalty = model.path_length_penalty(tf.constant(4))
    grads = tape.gradient(penalty, mapping.trainable_variables)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


def test_default_optimizers_are_the_papers_with_the_lazy_regularization_correction():
    model = tiny(pl_weight=2.0)
    d, g = model.d_optimizer, model.g_optimizer
    assert float(d.learning_rate.numpy()) == pytest.approx(0.002 * 16 / 17)
    assert d.beta_2 == pytest.approx(0.99 ** (16 / 17)) and d.beta_1 == 0.0
    assert float(g.learning_rate.numpy()) == pytest.approx(0.002 * 4 / 5)
    assert tiny().g_optimizer.beta_2 == pytest.approx(0.99)  # no path length: no correction


# ---------------------------------------------------------------- sampling in w space
def test_truncation_pulls_w_toward_w_avg_and_psi_zero_gives_the_mean_w_image(gan):
    z = kg.sampling.latents(5, 16, seed=4)
    w = gan.w_from_latents(z)
    np.testing.assert_allclose(gan.w_from_latents(z, truncation=0.5), (w + gan.w_avg) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(gan.w_from_latents(z, truncation=1.0), w)
    images = gan.generate(5, seed=4, truncation=0.0)
    mean_image = gan.generate_from_ws(gan.w_avg[None])
    for image in images:
        np.testing.assert_allclose(image, mean_image[0], atol=1e-5)
    assert not np.allclose(gan.generate(5, seed=4)[0], mean_image[0], atol=1e-3)


def test_style_mix_takes_coarse_styles_from_seeds_a_and_fine_ones_from_seeds_b(gan):
    a, b = [0, 1, 2], [10, 11, 12]
    image_a = np.concatenate([gan.generate(1, seed=s) for s in a])
    image_b = np.concatenate([gan.generate(1, seed=s) for s in b])
    np.testing.assert_allclose(gan.style_mix(a, b, cutoff=0), image_b, atol=1e-5)
    np.testing.assert_allclose(gan.style_mix(a, b, cutoff=gan.num_ws), image_a, atol=1e-5)
    middle = gan.style_mix(a, b, cutoff=4)
    assert not np.allclose(middle, image_a, atol=1e-3) and not np.allclose(middle, image_b, atol=1e-3)


@pytest.mark.parametrize("call, message", [
    (lambda g: g.generate(2, truncation=1.5), r"truncation must be None or a number psi in \[0, 1\]"),
    (lambda g: g.generate(2, truncation=-0.1), r"psi in \[0, 1\]"),
    (lambda g: g.truncate(np.zeros((2, 16), "float32"), 0.7), "truncates in w space, not z"),
    (lambda g: g.style_mix([0], [1], cutoff=9), r"cutoff must be an int in \[0, 8\]"),
    (lambda g: g.style_mix([0], [1], cutoff=-1), r"cutoff must be an int in \[0, 8\]"),
    (lambda g: g.style_mix([0, 1], [2], cutoff=2), "must be as long"),
    (lambda g: g.style_mix([], [], cutoff=2), "seeds_a must be an int or a non-empty list"),
    (lambda g: g.generate_from_ws(np.zeros((2, 3, 16), "float32")), r"ws must have shape \[n, 16\] or \[n, 8, 16\]"),
])
def test_bad_sampling_arguments_raise_one_line_naming_the_fix(gan, call, message):
    with pytest.raises(ValueError, match=message) as err:
        call(gan)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"image_shape": (16, 16, 1)}, r"power of two >= 32 .* or 28 \(padded to 32\), got 16"),
    ({"image_shape": (48, 48, 3)}, "got 48: resize the data"),
    ({"image_shape": (32, 28, 1)}, "need square images, got 32x28"),
    ({"image_shape": (32, 32, 2)}, "channels must be 1, 3 or 4"),
    ({"style_mixing": 1.5}, r"style_mixing must be a probability in \[0, 1\]"),
    ({"pl_weight": -1}, "pl_weight must be a number >= 0"),
    ({"pl_every": 0}, "pl_every must be a positive int"),
    ({"w_avg_beta": 1.0}, r"w_avg_beta must be a number in \[0, 1\)"),
    ({"mapping_lr_multiplier": 0}, "mapping_lr_multiplier must be a number > 0"),
    ({"reuse_fakes": True}, "reuse_fakes=True is not supported"),
    ({"spectral_norm": True}, "equalized learning rates, not spectral norm"),
])
def test_bad_arguments_raise_one_line_before_any_network_is_built(monkeypatch, kwargs, message):
    def never(self, *args, **kw):
        raise AssertionError("a network was built before the arguments were checked")

    monkeypatch.setattr(kg.models.StyleGAN2, "build_generator", never)
    monkeypatch.setattr(kg.models.StyleGAN2, "build_discriminator", never)
    with pytest.raises(ValueError, match=message) as err:
        kg.models.StyleGAN2(**{**TINY, **kwargs})
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- saving and export
@pytest.mark.parametrize("run_eagerly", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_keras_file_round_trip_is_exact_and_a_resumed_fit_equals_an_uninterrupted_one(real, tmp_path, run_eagerly):
    """Eager by default to stay fast (tracing a step with both lazy penalties is the costly part);
    the compiled step runs with -m slow and in the path-length test."""
    data = real  # one step per epoch: 1 before the save, 2 after (not due, then due)
    kwargs = dict(pl_weight=2.0, pl_every=2, r1_every=2, seed=7, run_eagerly=run_eagerly)
    keras.utils.set_random_seed(2)
    resumed = tiny(**kwargs)
    keras.utils.set_random_seed(2)
    straight = tiny(**kwargs)
    resumed.fit(data, batch_size=4, epochs=1, verbose=0, shuffle=False)
    path = str(tmp_path / "stylegan2.keras")
    resumed.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is kg.models.StyleGAN2
    assert json.loads(json.dumps(loaded.get_config())) == json.loads(json.dumps(resumed.get_config()))
    before, after = model_state(resumed), model_state(loaded)
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)
    for a, b in zip(resumed.ema_generator.weights, loaded.ema_generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_array_equal(loaded.pl_mean.numpy(), resumed.pl_mean.numpy())
    np.testing.assert_array_equal(loaded.generate(2, seed=0), resumed.generate(2, seed=0))

    loaded.fit(data, batch_size=4, epochs=2, verbose=0, shuffle=False)
    straight.fit(data, batch_size=4, epochs=3, verbose=0, shuffle=False)
    ends, straight_state = model_state(loaded), model_state(straight)
    # Equal up to float reassociation in threaded CPU kernels (one Adam step moves a weight by ~1e-3).
    for key in straight_state:
        np.testing.assert_allclose(ends[key], straight_state[key], rtol=1e-5, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(loaded.w_avg, straight.w_avg, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.pl_mean.numpy(), straight.pl_mean.numpy(), rtol=1e-6)


def test_tflite_has_builtin_ops_only_and_matches_keras_and_the_saved_model(gan, tmp_path):
    path = kg.export.tflite(gan, str(tmp_path / "stylegan2.tflite"))
    info = kg.export.describe(path)
    assert info["custom_operators"] == [] and set(info["operators"]) <= BUILTINS
    assert "CONV_2D" in info["operators"] and not any(op.startswith("Flex") for op in info["operators"])
    z = kg.sampling.latents(5, 16, seed=3)
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    np.testing.assert_allclose(runner(z=z)["images"], gan.generate(5, seed=3), atol=1e-4)
    saved = kg.export.saved_model(gan, str(tmp_path / "serving"))
    serving = tf.saved_model.load(saved).signatures["serving_default"]
    np.testing.assert_allclose(serving(z=tf.constant(z))["images"].numpy(), gan.generate(5, seed=3), atol=1e-5)
    assert os.path.basename(os.path.dirname(saved)) == "stylegan2"
