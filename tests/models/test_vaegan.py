"""VAE-GAN: networks, the loss terms, which weights each update moves, encoding, saving and export."""

import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.models.vaegan import feature_reconstruction_loss, kl_divergence
from tests.conftest import changed, model_state, scaled, weights_of

TINY = dict(latent_dim=8, width=8)


def tiny(run_eagerly=False, compile_kwargs=None, **kwargs):
    gan = kg.models.VAEGAN(**{**TINY, "seed": 0, **kwargs})
    gan.compile(run_eagerly=run_eagerly, **(compile_kwargs or {}))
    return gan


@pytest.fixture(scope="module")
def real():
    return np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")


@pytest.fixture(scope="module")
def gan():
    """A tiny untrained 28x28x1 VAEGAN shared by the read-only tests."""
    keras.utils.set_random_seed(1)
    return tiny()


def full_state(gan):
    """``model_state`` plus the encoder and the EMA decoder."""
    state = model_state(gan)
    state.update({f"e/{k}": v for k, v in weights_of(gan.encoder).items()})
    if gan.ema_generator is not None:
        state.update({f"ema/{k}": v for k, v in weights_of(gan.ema_generator).items()})
    return state


# ---------------------------------------------------------------- networks
@pytest.mark.parametrize("image_shape, features", [((28, 28, 1), (7, 7, 16)), ((32, 32, 3), (4, 4, 32))])
def test_networks_have_the_shapes_of_the_image_and_latent(image_shape, features):
    model = kg.models.VAEGAN(image_shape=image_shape, **TINY)
    assert kg.models.get_family("vaegan") is kg.models.VAEGAN
    assert (model.family, model.data_kind, model.network_keys) == ("vaegan", "images", ("generator", "discriminator", "encoder"))
    images = model.generate(3, seed=0)
    assert images.shape == (3, *image_shape) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 1e-3
    mean, log_var = model.encode(images, return_log_var=True)
    assert mean.shape == log_var.shape == (3, 8) and mean.dtype == log_var.dtype == np.float32
    np.testing.assert_array_equal(model.encode(images), mean)
    logits, feats = model.discriminate_with_features(images)
    assert tuple(logits.shape) == (3, 1) and tuple(feats.shape) == (3, *features)
    np.testing.assert_allclose(logits.numpy(), keras.ops.convert_to_numpy(model.discriminator(images)), atol=1e-6)
    # gan(z) is the decoder: what exports serve.
    z = kg.sampling.latents(3, 8, seed=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(z)), images, atol=1e-6)
    np.testing.assert_array_equal(model.decode(z), images)


def test_default_network_sizes_match_the_docstring_table():
    table = {(28, 28, 1): (1_813_056, 3_419_009), (64, 64, 3): (6_406_848, 8_502_785)}
    for shape, (encoder, discriminator) in table.items():
        assert kg.networks.vaegan_encoder(shape, 128).count_params() == encoder
        assert kg.networks.vaegan_discriminator(shape).count_params() == discriminator
    text = kg.networks.vaegan.__doc__
    assert "1,813,056  3,419,009" in text and "6,406,848  8,502,785" in text


# ---------------------------------------------------------------- loss terms
def test_kl_divergence_has_the_closed_form_value():
    mean = np.array([[1.0, 2.0], [0.0, 0.0]], "float32")
    log_var = np.array([[0.0, math.log(4.0)], [0.0, 0.0]], "float32")
    # Example 0: 0.5 * ((1 + 1 - 1 - 0) + (4 + 4 - 1 - log 4)); example 1 is the prior itself.
    expected = 0.5 * (1.0 + 7.0 - math.log(4.0)) / 2
    assert float(kl_divergence(mean, log_var)) == pytest.approx(expected, rel=1e-6)
    assert float(kl_divergence(np.zeros((3, 5)), np.zeros((3, 5)))) == 0.0


def test_the_models_kl_term_is_that_of_its_encoders_outputs(real):
    model = tiny(kl_weight=2.0)
    # Zero kernels: every image gets mean = the mean head's bias, log_var = the other's.
    for head, bias in (("mean", np.linspace(-1, 1, 8)), ("log_var", np.linspace(-0.5, 0.5, 8))):
        layer = model.encoder.get_layer(head)
        layer.kernel.assign(np.zeros(layer.kernel.shape, "float32"))
        layer.bias.assign(bias.astype("float32"))
    terms = model.vaegan_losses(tf.constant(real[:4]), training=False)
    mean, log_var = np.linspace(-1, 1, 8), np.linspace(-0.5, 0.5, 8)
    expected = -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var))
    assert float(terms["kl"]) == pytest.approx(expected, rel=1e-5)
    assert float(terms["encoder"]) == pytest.approx(2.0 * expected + float(terms["feature"]), rel=1e-5)


def test_feature_reconstruction_loss_is_half_the_summed_squared_distance():
    a = np.arange(24, dtype="float32").reshape(2, 2, 3, 2)
    b = a + np.array([1.0, 2.0], "float32")[:, None, None, None]
    # 12 values per example off by 1 (example 0) and 2 (example 1).
    assert float(feature_reconstruction_loss(a, b)) == pytest.approx((0.5 * 12 + 0.5 * 48) / 2)


# ---------------------------------------------------------------- training updates
def test_each_network_moves_by_the_gradient_of_its_own_weighted_loss(real):
    """One train step with SGD: every trainable weight moves by -lr * the gradient of its network's
    loss (encoder: kl_weight * KL + Dis_l; decoder: gamma * Dis_l + GAN; discriminator: GAN),
    computed here from the networks themselves."""
    gamma, kl_weight, lr = 0.3, 2.0, 0.5
    model = kg.models.VAEGAN(**TINY, seed=3, gamma=gamma, kl_weight=kl_weight)
    model.compile(*(keras.optimizers.SGD(lr) for _ in range(3)))
    x = tf.constant(real[:4])
    features_of = keras.Model(
        model.discriminator.inputs[0],
        [model.discriminator.outputs[0], model.discriminator.get_layer("features").output],
    )
    state = model.seed_generator.state.numpy().copy()
    nets = {"e": model.encoder, "g": model.generator, "d": model.discriminator}
    with tf.GradientTape(persistent=True) as tape:
        mean, log_var = model.encoder(x, training=True)
        eps = keras.random.normal((4, 8), seed=model.seed_generator)
        z_p = keras.random.normal((4, 8), seed=model.seed_generator)
        decoded = model.generator(tf.concat([mean + tf.exp(log_var / 2) * eps, z_p], 0), training=True)
        logits, feats = features_of(tf.concat([x, decoded], 0), training=True)
        real_out, recon_out, prior_out = logits[:4], logits[4:8], logits[8:]
        kl = tf.reduce_mean(-0.5 * tf.reduce_sum(1 + log_var - mean**2 - tf.exp(log_var), axis=1))
        dis_l = tf.reduce_mean(0.5 * tf.reduce_sum((feats[:4] - feats[4:8]) ** 2, axis=[1, 2, 3]))
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        gan_g = (bce(tf.ones_like(recon_out), recon_out) + bce(tf.ones_like(prior_out), prior_out)) / 2
        gan_d = (
            bce(tf.ones_like(real_out), real_out)
            + (bce(tf.zeros_like(recon_out), recon_out) + bce(tf.zeros_like(prior_out), prior_out)) / 2
        )
        losses = {"e": kl_weight * kl + dis_l, "g": gamma * dis_l + gan_g, "d": gan_d}
    grads = {k: tape.gradient(losses[k], nets[k].trainable_variables) for k in nets}
    del tape
    model.seed_generator.state.assign(state)
    before = {k: [v.numpy().copy() for v in net.trainable_variables] for k, net in nets.items()}
    logs = model.train_step(x)
    for k, net in nets.items():
        for v, old, g in zip(net.trainable_variables, before[k], grads[k]):
            assert np.abs(g.numpy()).max() > 0, (k, v.path)
            np.testing.assert_allclose(old - v.numpy(), lr * g.numpy(), rtol=1e-3, atol=1e-6, err_msg=f"{k} {v.path}")
    assert float(logs["kl_loss"]) == pytest.approx(float(kl), rel=1e-5)
    assert float(logs["feature_loss"]) == pytest.approx(float(dis_l), rel=1e-5)
    assert float(logs["g_loss"]) == pytest.approx(float(gan_g), rel=1e-5)
    assert float(logs["d_loss"]) == pytest.approx(float(gan_d), rel=1e-5)


@pytest.mark.parametrize("moving", ["e_optimizer", "g_optimizer", "d_optimizer"])
def test_each_optimizer_moves_only_its_network(real, moving):
    rates = {name: (1e-3 if name == moving else 0.0) for name in ("g_optimizer", "d_optimizer", "e_optimizer")}
    model = tiny(compile_kwargs={k: keras.optimizers.Adam(r) for k, r in rates.items()})
    nets = {"e_optimizer": model.encoder, "g_optimizer": model.generator, "d_optimizer": model.discriminator}
    before = {k: weights_of(net) for k, net in nets.items()}
    model.train_step(tf.constant(real[:4]))
    for name, net in nets.items():
        trainable = {v.path for v in net.trainable_variables}
        moved = changed(before[name], weights_of(net)) & trainable
        assert moved == (trainable if name == moving else set()), (name, sorted(moved)[:3])


def test_augmentation_gives_a_real_image_its_reconstruction_and_a_sample_one_transform(real):
    model = tiny(augment="translation,cutout,color")
    x = tf.constant(real[:4])
    out = model._augment_triples(tf.concat([x, x, x], 0), tf.constant(4)).numpy()
    np.testing.assert_array_equal(out[:4], out[4:8])
    np.testing.assert_array_equal(out[:4], out[8:])
    assert not np.allclose(out[:4], real[:4])  # the transforms did apply
    assert len({out[i].tobytes() for i in range(4)}) == 4  # and differ between rows


def test_spectral_norm_builds_a_spectral_discriminator_whose_power_iteration_runs_per_update(real):
    model = tiny(spectral_norm=True)
    layers = kg.networks.spectral_norm.spectral_layers(model.discriminator)
    assert len(layers) == 4  # two convolutions, the hidden and the logit layer
    assert not any("norm" in layer.name for layer in model.discriminator.layers)
    model.train_step(tf.constant(real[:4]))
    assert all(int(layer.power_iterations.numpy()) == 1 for layer in layers)


@pytest.mark.slow
def test_a_short_training_on_fashion_mnist_reconstructs_held_out_images(fmnist_train, fmnist_test):
    images, _ = fmnist_train
    test = scaled(fmnist_test[0][:500])
    model = kg.models.VAEGAN(latent_dim=32, width=16, seed=0)
    model.compile()
    before = float(np.mean((model.reconstruct(test) - test) ** 2))
    model.fit(kg.data.load(images[:19200], batch_size=64, seed=0), epochs=1, verbose=0)  # 300 steps
    after = float(np.mean((model.reconstruct(test) - test) ** 2))
    # Measured: pixel MSE 0.68 -> 0.14 on test images; require a 3x drop.
    assert after < before / 3, (before, after)
    # Backgrounds are black (-1): an untrained decoder makes no pixel below -0.9,
    # prior samples after 300 steps about 8% (real images: half).
    assert np.mean(model.generate(500, seed=1) < -0.9) > 0.03


# ---------------------------------------------------------------- encoding, decoding, sampling
def test_reconstruct_is_decode_of_the_posterior_mean_in_range(gan, real):
    out = gan.reconstruct(real, batch_size=3)
    assert out.shape == real.shape and out.dtype == np.float32
    assert out.min() >= -1 and out.max() <= 1
    np.testing.assert_allclose(out, gan.decode(gan.encode(real)), atol=1e-6)
    np.testing.assert_allclose(gan.encode(real, batch_size=3), gan.encode(real), atol=1e-5)
    grid = gan.preview(4, inputs=real)
    np.testing.assert_array_equal(grid[0::2], real[:2])
    np.testing.assert_allclose(grid[1::2], out[:2], atol=1e-6)


def test_generate_draws_the_seed_latents_and_truncation_scales_them(gan):
    z = kg.sampling.latents(4, 8, seed=5)
    np.testing.assert_array_equal(gan.generate(4, seed=5), gan.decode(z))
    np.testing.assert_allclose(gan.generate(4, seed=5, truncation=0.5), gan.decode(0.5 * z), atol=1e-6)


def test_interpolate_through_the_encoder_ends_at_the_two_reconstructions(gan, real):
    path = kg.sampling.interpolate(gan, real[0], real[1], steps=5, method="linear")
    assert path.shape == (5, 28, 28, 1)
    ends = gan.reconstruct(real[:2])
    np.testing.assert_allclose(path[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], ends[1], atol=1e-5)
    z = gan.encode(real[:2])
    np.testing.assert_allclose(path[2], gan.decode((z[:1] + z[1:]) / 2)[0], atol=1e-5)
    # A batch of one works too, and int seeds keep meaning what they mean for every family.
    slerp = kg.sampling.interpolate(gan, real[:1], 3, steps=3)
    np.testing.assert_allclose(slerp[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(slerp[-1], gan.generate(1, seed=3)[0], atol=1e-5)
    seeds = kg.sampling.interpolate(gan, 0, 1, steps=3)
    np.testing.assert_allclose(seeds[0], gan.generate(1, seed=0)[0], atol=1e-5)


def test_families_without_an_encoder_still_refuse_images_as_ends(real):
    dcgan = kg.models.DCGAN(latent_dim=8, width=8)
    with pytest.raises(ValueError, match="seed must be an int"):
        kg.sampling.interpolate(dcgan, real[0], real[1], steps=3)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, message", [
    (lambda g, x: g.encode((x * 127.5 + 127.5).astype("uint8")),
     r"images must be floats in \[-1, 1\], got dtype uint8: scale uint8 images with x / 127.5 - 1"),
    (lambda g, x: g.encode(np.zeros((2, 32, 32, 1), "float32")),
     r"images must have shape \[n >= 1, 28, 28, 1\], got \(2, 32, 32, 1\): resize them"),
    (lambda g, x: g.reconstruct(np.zeros((2, 28, 28, 3), "float32")), r"got \(2, 28, 28, 3\)"),
    (lambda g, x: g.encode(x[0]), r"got one image \(28, 28, 1\): add the batch axis with images\[None\]"),
    (lambda g, x: g.encode(x * 255), r"images must lie in \[-1, 1\], got values in .*x / 127.5 - 1"),
    (lambda g, x: g.encode(np.full((1, 28, 28, 1), np.nan, "float32")), r"must lie in \[-1, 1\]"),
    (lambda g, x: g.encode(x, batch_size=0), "batch_size must be a positive int"),
    (lambda g, x: g.decode(np.zeros((2, 5), "float32")), r"z must be floats of shape \[n >= 1, 8\]"),
    (lambda g, x: g.decode(np.full((2, 8), np.inf, "float32")), "z holds NaN or inf"),
    (lambda g, x: g.preview(4, inputs=x.astype("float64") * 3), r"inputs must lie in \[-1, 1\]"),
    (lambda g, x: kg.sampling.interpolate(g, x[:2], x[0], steps=3), r"one image \[h, w, c\], got shape \(2, 28, 28, 1\)"),
    (lambda g, x: g.predict(x), r"encode them with gan.encode\(images\)"),
    (lambda g, x: g.fit(np.zeros((4, 32, 32, 1), "float32"), verbose=0),
     r"images have shape \(32, 32, 1\) per example but this GAN makes \(28, 28, 1\)"),
])
def test_bad_input_raises_one_line_naming_the_problem_and_the_fix(gan, real, call, message):
    with pytest.raises(ValueError, match=message) as err:
        call(gan, real)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"gamma": -1.0}, r"gamma must be a finite number >= 0 \(the decoder's weight"),
    ({"gamma": float("nan")}, "gamma must be a finite number >= 0"),
    ({"gamma": float("inf")}, "gamma must be a finite number >= 0"),
    ({"gamma": "1e-2"}, "gamma must be a finite number >= 0"),
    ({"gamma": True}, "gamma must be a finite number >= 0"),
    ({"kl_weight": -0.5}, r"kl_weight must be a finite number >= 0 \(the encoder's weight of kl_loss"),
    ({"kl_weight": None}, "kl_weight must be a finite number >= 0"),
    ({"feature_layer": ""}, "feature_layer must be the name of a discriminator layer"),
    ({"width": 0}, "width must be a positive int"),
    ({"reuse_fakes": True}, "reuse_fakes=True does not apply"),
])
def test_bad_arguments_raise_one_line_before_any_network_is_built(monkeypatch, kwargs, message):
    def never(self, *args, **kw):
        raise AssertionError("a network was built before the arguments were checked")

    for builder in ("build_generator", "build_discriminator", "build_encoder"):
        monkeypatch.setattr(kg.models.VAEGAN, builder, never)
    with pytest.raises(ValueError, match=message) as err:
        kg.models.VAEGAN(**{**TINY, **kwargs})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("make, message", [
    (lambda: dict(feature_layer="conv9"), r"no layer 'conv9' to measure reconstructions in: pass feature_layer="),
    (lambda: dict(encoder=kg.networks.vaegan_encoder((28, 28, 1), latent_dim=4, width=8)),
     "the encoder outputs latents of size 4 but the generator takes 8"),
    (lambda: dict(image_shape=(28, 28, 1), encoder=kg.networks.vaegan_encoder((32, 32, 1), latent_dim=8, width=8)),
     r"the encoder takes images of shape \(32, 32, 1\) but the generator makes \(28, 28, 1\)"),
    (lambda: dict(encoder=kg.networks.dcgan_discriminator((28, 28, 1), width=8)),
     r"the encoder must output \[mean, log_var\]"),
])
def test_mismatched_networks_are_refused_in_one_line(make, message):
    with pytest.raises(ValueError, match=message) as err:
        kg.models.VAEGAN(**{**TINY, **make()})
    assert "\n" not in str(err.value)


def test_a_given_encoder_sets_the_shapes_and_a_given_discriminator_names_its_feature_layer(real):
    encoder = kg.networks.vaegan_encoder((28, 28, 1), latent_dim=6, width=8)
    discriminator = kg.networks.dcgan_discriminator((28, 28, 1), width=8, normalization="layer")
    model = kg.models.VAEGAN(width=8, encoder=encoder, discriminator=discriminator, feature_layer="down1_lrelu")
    assert (model.latent_dim, model.image_shape, model.encoder) == (6, (28, 28, 1), encoder)
    _, feats = model.discriminate_with_features(real[:2])
    assert tuple(feats.shape) == (2, 7, 7, 16)


def test_compile_refuses_one_optimizer_for_two_networks():
    model = kg.models.VAEGAN(**TINY)
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="e_optimizer is the same optimizer as g_optimizer"):
        model.compile(g_optimizer=shared, e_optimizer=shared)
    model.compile()
    assert set(model.optimizers()) == {"g_optimizer", "d_optimizer", "e_optimizer"}
    assert all(isinstance(o, keras.optimizers.Adam) and o.beta_1 == 0.5 for o in model.optimizers().values())


# ---------------------------------------------------------------- saving
@pytest.mark.parametrize("run_eagerly", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_keras_file_round_trip_is_exact_and_a_resumed_fit_equals_an_uninterrupted_one(real, tmp_path, run_eagerly):
    """With the stabilizers that keep state (EMA decoder, lazy R1, augmentation's noise draws)."""
    kwargs = dict(seed=7, ema_decay=0.9, r1_weight=0.1, r1_every=2, augment="translation", gamma=0.05)
    keras.utils.set_random_seed(2)
    resumed = tiny(run_eagerly, **kwargs)
    keras.utils.set_random_seed(2)
    straight = tiny(run_eagerly, **kwargs)
    history = resumed.fit(real, batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert sorted(history.history) == ["d_loss", "feature_loss", "g_loss", "kl_loss", "r1"]
    assert all(np.isfinite(v).all() for v in history.history.values())
    path = str(tmp_path / "vaegan.keras")
    resumed.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is kg.models.VAEGAN and loaded.compiled
    loaded.run_eagerly = run_eagerly  # not part of a saved compile config
    assert json.loads(json.dumps(loaded.get_config())) == json.loads(json.dumps(resumed.get_config()))
    assert loaded.get_config()["gamma"] == 0.05 and loaded.feature_layer == "features"
    before, after = full_state(resumed), full_state(loaded)
    assert before.keys() == after.keys() and any(k.startswith("e_optimizer/") for k in before)
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)
    assert int(loaded.e_optimizer.iterations.numpy()) == 2
    np.testing.assert_array_equal(loaded.reconstruct(real), resumed.reconstruct(real))

    loaded.fit(real, batch_size=4, epochs=2, verbose=0, shuffle=False)
    straight.fit(real, batch_size=4, epochs=3, verbose=0, shuffle=False)
    ends, straight_state = full_state(loaded), full_state(straight)
    # Equal up to float reassociation in threaded CPU kernels.
    for key in straight_state:
        np.testing.assert_allclose(ends[key], straight_state[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_config_round_trip_keeps_every_knob():
    model = kg.models.VAEGAN(**TINY, gamma=0.2, kl_weight=0.5, seed=4, ema_decay=0.99)
    config = model.get_config()
    again = kg.models.VAEGAN.from_config(config)
    for key in ("latent_dim", "width", "gamma", "kl_weight", "feature_layer", "seed", "ema_decay"):
        assert getattr(again, key) == getattr(model, key), key
    assert [w.shape for w in again.encoder.weights] == [w.shape for w in model.encoder.weights]
    assert again.get_config() == config


# ---------------------------------------------------------------- export
def test_the_decoder_exports_to_savedmodel_and_builtin_tflite_matching_keras(gan, tmp_path):
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    z = kg.sampling.latents(5, 8, seed=3)
    expected = gan.generate(5, seed=3)
    folder = kg.export.saved_model(gan, str(tmp_path / "serving"))
    serve = tf.saved_model.load(folder).signatures["serving_default"]
    np.testing.assert_allclose(serve(z=tf.constant(z))["images"].numpy(), expected, atol=1e-5)
    path = kg.export.tflite(gan, str(tmp_path / "vaegan.tflite"))
    builtins = {name for name in vars(schema.BuiltinOperator) if not name.startswith("_")} - {"CUSTOM"}
    info = kg.export.describe(path)
    assert info["custom_operators"] == [] and set(info["operators"]) <= builtins
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    np.testing.assert_allclose(runner(z=z)["images"], expected, atol=1e-4)
    for artifact in (folder, path):
        report = kg.export.verify(artifact, gan)
        assert report["passed"], report
        assert "encode" in report["signatures"], report


def test_the_encoder_exports_as_an_encode_signature_in_both_runtimes(gan, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    images = np.clip(gan.generate(6, seed=4) + 0.05, -1, 1).astype("float32")
    mean, log_var = gan.encode(images, return_log_var=True)
    folder = kg.export.saved_model(gan, str(tmp_path / "serving"))
    loaded = tf.saved_model.load(folder)
    assert set(loaded.signatures) == {"serving_default", "sample", "encode"}
    encode = loaded.signatures["encode"]
    assert list(encode.structured_input_signature[1]) == ["images"]
    out = encode(images=tf.constant(images))
    assert set(out) == {"z_mean", "z_log_var"}
    np.testing.assert_allclose(out["z_mean"].numpy(), mean, atol=1e-5)
    np.testing.assert_allclose(out["z_log_var"].numpy(), log_var, atol=1e-5)
    # encode then serving_default is gan.reconstruct.
    rebuilt = loaded.signatures["serving_default"](z=out["z_mean"])["images"].numpy()
    np.testing.assert_allclose(rebuilt, gan.reconstruct(images), atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"x / 127.5 - 1"):
        encode(images=tf.constant(images * 127.5 + 127.5))
    path = kg.export.tflite(gan, str(tmp_path / "vaegan.tflite"), quantize="float16")
    assert set(kg.export.describe(path)["signatures"]) == {"serving_default", "encode"}
    lite = Interpreter(model_path=path).get_signature_runner("encode")(images=images)
    np.testing.assert_allclose(lite["z_mean"], mean, atol=2e-2)
    report = kg.export.verify(path, gan)
    assert report["passed"] and set(report["signatures"]) == {"serving_default", "encode"}, report
    # The integer modes quantize serving_default alone (calibrated on latents).
    path = kg.export.tflite(gan, str(tmp_path / "vaegan-int8.tflite"), quantize="int8")
    assert set(kg.export.describe(path)["signatures"]) == {"serving_default"}


# ---------------------------------------------------------------- evaluation and the zoo
def test_evaluate_scores_the_reconstructions_of_the_same_real_images(gan, fmnist_test):
    report = kg.metrics.evaluate(gan, n=200, extractor=kg.zoo.classifier_extractor(), kid_subsets=10)
    keep = np.sort(np.random.default_rng(0).choice(10000, 200, replace=False))
    real = scaled(fmnist_test[0][keep])
    error = gan.reconstruct(real).astype("float64") - real
    assert report["reconstruction_l1"] == pytest.approx(np.mean(np.abs(error)), rel=1e-6)
    assert report["reconstruction_mse"] == pytest.approx(np.mean(error**2), rel=1e-6)
    # An untrained decoder's reconstructions are far from the garments.
    assert report["reconstruction_frechet_distance"] > 10
    assert "decode(encode(x))" in report["protocol"]["reconstruction"]
    text = kg.metrics.format_report(report)
    assert f"reconstruction L1" in text and f"{report['reconstruction_l1']:.4f}" in text
    # A family without an encoder reports no reconstruction.
    plain = kg.metrics.evaluate(kg.models.DCGAN(latent_dim=8, width=8), n=50,
                                extractor=kg.zoo.classifier_extractor(), kid_subsets=2)
    assert not any(key.startswith("reconstruction") for key in plain)


def test_a_published_vaegan_entry_carries_test_images_beside_their_reconstructions(tmp_path, fmnist_test):
    from matplotlib import image as mpimg

    from keras_gans.zoo import publish, recipe as recipe_lib, registry, runner

    path = tmp_path / "vaegan.test.toml"
    path.write_text('name = "vaegan.test"\nfamily = "vaegan"\n[model]\nlatent_dim = 8\nwidth = 8\n'
                    '[data]\ndataset = "fashion_mnist"\nbatch_size = 16\n'
                    "[train]\nepochs = 1\nsteps_per_epoch = 2\n[evaluate]\nn = 100\n")
    result = runner.run_recipe(str(path), out=str(tmp_path / "run"), verbose=0)
    zoo_dir = tmp_path / "zoo"
    zoo_dir.mkdir()
    try:
        card = publish.publish_entry(recipe_lib.load_recipe(str(path)), result["gan"], 1.0,
                                     zoo_dir=str(zoo_dir), cards_dir=str(tmp_path / "cards"))
    finally:
        registry._registry().pop("vaegan.test", None)
    assert {"frechet_distance", "reconstruction_l1", "reconstruction_frechet_distance"} <= set(card["metrics"])
    grid = np.round(mpimg.imread(str(zoo_dir / "vaegan.test.reconstructions.png"))[..., 0] * 255).astype(int)
    assert grid.shape == (8 * 28, 8 * 28)  # 32 (test image, reconstruction) pairs, 4 pairs a row
    keep = np.sort(np.random.default_rng(0).choice(10000, 32, replace=False))
    shown = fmnist_test[0][keep][..., 0].astype(int)
    cells = grid.reshape(8, 28, 8, 28).transpose(0, 2, 1, 3).reshape(64, 28, 28)
    np.testing.assert_allclose(cells[0::2], shown, atol=1)  # the left cell of each pair: the test image
    recon = result["gan"].reconstruct(scaled(fmnist_test[0][keep]))[..., 0]
    np.testing.assert_allclose(cells[1::2], np.clip((recon + 1) * 127.5, 0, 255), atol=1)
    assert sorted(os.listdir(zoo_dir / "weights")) == ["vaegan.test.weights.h5"]  # no staging left
    # A small entry ships in the wheel with its encoder: a pip user's model encodes as the trained one.
    from keras_gans.zoo import packaged, schema

    assert sorted(card["packaged"]) == ["encoder", "generator"]
    shipped = packaged.load_networks(schema.build_model(card), card, folder=str(tmp_path / "weights"))
    test = scaled(fmnist_test[0][:16])
    np.testing.assert_array_equal(shipped.encode(test), result["gan"].encode(test))
    np.testing.assert_array_equal(shipped.reconstruct(test), result["gan"].reconstruct(test))


def test_the_zoo_entry_reconstructs_test_images_and_exports_its_encoder_by_name(tmp_path, fmnist_test):
    card = kg.zoo.card("vaegan.fashion_mnist")
    assert sorted(card["packaged"]) == ["encoder", "generator"]  # both ship in the wheel
    gan = kg.zoo.load_gan("vaegan.fashion_mnist", generator_only=True)
    test = scaled(fmnist_test[0][:500])
    error = float(np.mean(np.abs(gan.reconstruct(test) - test)))
    # The card: reconstruction L1 0.095 on 10,000 test images; an untrained one gives 0.76.
    assert error < 0.15, error
    folder = kg.export.saved_model("vaegan.fashion_mnist", str(tmp_path / "serving"))
    loaded = tf.saved_model.load(folder)
    assert {"serving_default", "sample", "encode"} <= set(loaded.signatures)
    z = loaded.signatures["encode"](images=tf.constant(test[:8]))["z_mean"].numpy()
    np.testing.assert_allclose(z, gan.encode(test[:8]), atol=1e-4)
