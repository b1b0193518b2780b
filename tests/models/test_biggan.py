"""BigGAN: networks and their conditioning, the regularizers' values, which weights each
update moves, argument and data checks, saving and resuming, export."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.models.biggan import orthogonal_kernels, orthogonal_regularization
from keras_gans.networks.spectral_norm import SpectralDense, spectral_layers
from tests.conftest import changed, model_state, weights_of

TINY = dict(latent_dim=12, num_classes=10, width=8, embedding_dim=4)


def tiny(seed=0, run_eagerly=False, **kwargs):
    gan = kg.models.BigGAN(**{**TINY, "seed": seed, **kwargs})
    gan.compile(run_eagerly=run_eagerly)
    return gan


@pytest.fixture(scope="module")
def gan():
    """A tiny 28x28x1 BigGAN for the read-only tests."""
    keras.utils.set_random_seed(1)
    return tiny()


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32"), (np.arange(8) % 10).astype("int32")


def paths(variables):
    return {v.path for v in variables}


def attention_kernels(network):
    return {layer.kernel.path for layer in network.layers
            if layer.name.startswith("attention_") and hasattr(layer, "kernel")}


# ---------------------------------------------------------------- networks
def test_family_registration_named_inputs_and_shapes(gan):
    assert kg.models.get_family("biggan") is kg.models.BigGAN
    assert (gan.family, gan.data_kind, gan.default_loss) == ("biggan", "labelled", "hinge")
    assert isinstance(gan, kg.models.ConditionalGAN)
    assert [t.name for t in gan.generator.inputs] == ["z", "labels"]
    assert [t.name for t in gan.discriminator.inputs] == ["images", "labels"]
    # 28x28 starts at 7x7 and has two up blocks; z is split in three chunks.
    assert tuple(gan.generator.get_layer("project_map").output.shape) == (None, 7, 7, 8)
    assert [tuple(gan.generator.get_layer(f"up{i}").output.shape) for i in range(2)] == [
        (None, 14, 14, 8), (None, 28, 28, 8)]
    assert gan.generator.get_layer("split_z").sizes == [4, 4, 4]
    assert tuple(gan.generator.get_layer("attention").output.shape) == (None, 14, 14, 8)
    assert tuple(gan.discriminator.get_layer("attention").output.shape) == (None, 14, 14, 8)
    images = gan.generate(3, labels=[0, 5, 9], seed=0)
    assert images.shape == (3, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1
    logits = gan.discriminator([images, np.array([0, 5, 9], "int32")])
    assert logits.shape == (3, 1) and logits.dtype == "float32"
    # Every conv and dense layer of both networks is spectrally normalized.
    for net in (gan.generator, gan.discriminator):
        plain = [layer.name for layer in net.layers
                 if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
                 and layer not in spectral_layers(net)]
        assert plain == []
    assert gan.ema_decay == 0.999 and gan.ema_generator is not None
    assert gan.fuses_discriminator()


def test_32x32_starts_at_4x4_with_three_up_blocks():
    g = kg.networks.biggan_generator(16, (32, 32, 3), num_classes=10, width=8, embedding_dim=4)
    d = kg.networks.biggan_discriminator((32, 32, 3), num_classes=10, width=8)
    assert tuple(g.get_layer("project_map").output.shape) == (None, 4, 4, 8)
    assert g.output_shape == (None, 32, 32, 3) and g.get_layer("split_z").sizes == [4, 4, 4, 4]
    assert tuple(g.get_layer("attention").output.shape) == (None, 16, 16, 8)
    assert tuple(d.get_layer("block_out").output.shape) == (None, 4, 4, 8)
    assert tuple(d.get_layer("attention").output.shape) == (None, 16, 16, 8)


def test_conditional_batch_norm_makes_the_images_depend_on_the_label(gan):
    a = gan.generate(4, labels=2, seed=1, use_ema=False)
    b = gan.generate(4, labels=7, seed=1, use_ema=False)
    assert np.abs(a - b).max() > 1e-3
    # The gains of the first conditional batch norm differ by label too.
    gain = keras.Model(gan.generator.inputs, gan.generator.get_layer("up0_cbn0_one_plus_gain").output)
    z = gan.sample_latent(2, seed=0)[[0, 0]]
    gains = keras.ops.convert_to_numpy(gain([z, np.array([2, 7], "int32")]))
    assert np.abs(gains[0] - gains[1]).max() > 1e-3
    # The label enters only through the shared embedding: with equal rows for
    # two classes, they draw the same images.
    clone = kg.models.BigGAN.from_config(gan.get_config())
    clone.generator.set_weights(gan.generator.get_weights())
    table = clone.generator.get_layer("shared_embedding").embeddings
    rows = table.numpy()
    rows[7] = rows[2]
    table.assign(rows)
    np.testing.assert_array_equal(
        clone.generate(4, labels=2, seed=1, use_ema=False), clone.generate(4, labels=7, seed=1, use_ema=False)
    )


def test_projection_output_is_the_linear_term_plus_the_class_embedding_inner_product(gan, batch):
    d = gan.discriminator
    images, labels = batch
    features = keras.ops.convert_to_numpy(keras.Model(d.inputs, d.get_layer("features").output)([images, labels]))
    linear_layer, embedding_layer = d.get_layer("linear"), d.get_layer("class_embedding")
    w = linear_layer.normalized_kernel().numpy().astype("float64")
    e = embedding_layer.normalized_kernel().numpy().astype("float64")  # [num_classes, width]
    linear = features @ w + linear_layer.bias.numpy()
    projection = np.sum(features * e[labels], axis=1, keepdims=True)
    expected = linear + projection
    got = keras.ops.convert_to_numpy(d([images, labels]))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert np.abs(projection).max() > 1e-2  # the class term is not negligible
    # Features are a global *sum* over the 7x7 positions of the last block.
    last = keras.Model(d.inputs, d.get_layer("out_relu").output)([images, labels])
    np.testing.assert_allclose(features, keras.ops.convert_to_numpy(last).sum(axis=(1, 2)), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- regularizers
def ortho_numpy(kernel):
    w = kernel.reshape(-1, kernel.shape[-1]).astype("float64")
    gram = w.T @ w
    return float(np.sum((gram * (1 - np.eye(len(gram)))) ** 2))


def test_orthogonal_regularization_equals_its_numpy_value():
    rng = np.random.default_rng(0)
    for shape in [(3, 3, 4, 5), (6, 40), (2, 2)]:  # more filters than inputs takes the small Gram
        kernel = rng.normal(size=shape).astype("float32")
        np.testing.assert_allclose(float(orthogonal_regularization(kernel)), ortho_numpy(kernel), rtol=1e-5)
    q = np.linalg.qr(rng.normal(size=(9, 9)))[0][:, :4].astype("float32")
    assert float(orthogonal_regularization(3 * q)) == pytest.approx(0.0, abs=1e-4)  # norms are free


def test_the_generator_penalty_sums_every_kernel_but_the_shared_embedding(gan):
    kernels = orthogonal_kernels(gan.generator)
    assert not any("embedding" in k.path for k in kernels)
    assert len(kernels) == len([layer for layer in gan.generator.layers if hasattr(layer, "kernel")])
    expected = 1e-4 * sum(ortho_numpy(k.numpy()) for k in kernels)
    assert float(gan.ortho_penalty()) == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- training updates
def test_default_optimizers_and_loss_are_biggans():
    gan = tiny()
    g, d = gan.g_optimizer, gan.d_optimizer
    assert (float(g.learning_rate), float(d.learning_rate)) == pytest.approx((1e-4, 4e-4))
    assert (g.beta_1, g.beta_2, d.beta_1, d.beta_2) == (0.0, 0.999, 0.0, 0.999)
    assert gan.d_loss_fn is kg.losses.hinge_discriminator_loss and gan.g_loss_fn is kg.losses.hinge_generator_loss


def test_which_weights_each_update_moves(batch):
    images, labels = batch
    gan = tiny()
    g0, e0, d0 = weights_of(gan.generator), weights_of(gan.ema_generator), weights_of(gan.discriminator)
    gan.discriminator_step(tf.constant(images), tf.constant(labels))
    moved = changed(d0, weights_of(gan.discriminator))
    d_trainable = paths(gan.discriminator.trainable_variables)
    # gamma starts at 0, so the attention convolutions get no gradient yet (SAGAN's start).
    frozen = attention_kernels(gan.discriminator)
    assert len(frozen) == 4 and "attention_gamma/gamma" in moved
    assert d_trainable - frozen <= moved and not frozen & moved
    assert not changed(g0, weights_of(gan.generator)) & paths(gan.generator.trainable_variables)
    assert not changed(e0, weights_of(gan.ema_generator))

    g1, d1 = weights_of(gan.generator), weights_of(gan.discriminator)
    gan.generator_step(tf.constant(labels[:4]))
    moved = changed(g1, weights_of(gan.generator))
    # Every generator weight but the attention convolutions (gamma = 0 again;
    # only the orthogonal penalty reaches them, and it is flat at their
    # orthogonal initial values), and only the batch classes' embedding rows.
    assert paths(gan.generator.trainable_variables) - attention_kernels(gan.generator) <= moved
    assert "attention_gamma/gamma" in moved
    table = gan.generator.get_layer("shared_embedding").embeddings.path
    rows = np.flatnonzero(np.abs(weights_of(gan.generator)[table] - g1[table]).max(axis=1) > 0)
    assert rows.tolist() == [0, 1, 2, 3]
    assert not changed(d1, weights_of(gan.discriminator))
    assert paths(gan.ema_generator.trainable_variables) <= changed(e0, weights_of(gan.ema_generator))


def test_a_step_splits_the_batch_into_d_steps_chunks(batch):
    images, labels = batch
    gan = tiny(d_steps=2)
    seen, d_step = [], gan.discriminator_step

    def recording(real, y, fake=None):
        seen.append((tuple(real.shape), y.numpy().tolist()))
        return d_step(real, y, fake)

    gan.discriminator_step = recording
    logs = gan.train_step((tf.constant(images), tf.constant(labels)))
    assert seen == [((4, 28, 28, 1), [0, 1, 2, 3]), ((4, 28, 28, 1), [4, 5, 6, 7])]
    assert (int(gan.d_optimizer.iterations.numpy()), int(gan.g_optimizer.iterations.numpy())) == (2, 1)
    assert set(logs) == {"d_loss", "g_loss", "ortho"}
    assert float(logs["ortho"]) > 0
    with pytest.raises(ValueError, match=r"^a batch of 1 images cannot feed d_steps=2 discriminator steps"):
        gan.check_batch((images[:1], labels[:1]))


def test_spectral_norm_keeps_top_singular_values_near_one_after_steps(batch):
    images, labels = batch
    gan = tiny(d_steps=1)
    for _ in range(3):
        gan.train_step((tf.constant(images), tf.constant(labels)))
    layers = spectral_layers(gan.generator) + spectral_layers(gan.discriminator)
    assert len(layers) > 30
    for layer in layers:
        assert int(layer.power_iterations.numpy()) == 3, layer.name
        w = layer.normalized_kernel().numpy().reshape(-1, layer.kernel.shape[-1])
        top = np.linalg.svd(w, compute_uv=False)[0]
        assert abs(top - 1.0) < 1e-2, (layer.name, top)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, message", [
    ({"num_classes": 1}, r"num_classes must be an int >= 2, got 1"),
    ({"width": 0}, r"width must be a positive int, got 0"),
    ({"embedding_dim": 2.5}, r"embedding_dim must be a positive int, got 2.5"),
    ({"d_steps": 0}, r"d_steps must be a positive int, got 0"),
    ({"ortho_weight": -1e-4}, r"ortho_weight must be a number >= 0"),
    ({"attention_resolution": 7}, r"attention_resolution must be None .* one of \[14\] for \(28, 28, 1\) images, got 7"),
    ({"image_shape": (30, 30, 1)}, r"image side 30 is not s \* 2\*\*k"),
    ({"image_shape": (32, 28, 1)}, "need square images, got 32x28"),
    ({"latent_dim": 2}, r"latent_dim must be an int >= 3 .* got 2"),
    ({"ema_decay": 1.5}, r"ema_decay must be None"),
])
def test_bad_arguments_raise_one_line_before_any_network_is_built(monkeypatch, kwargs, message):
    def never(self, *args, **kw):
        raise AssertionError("a network was built before the arguments were checked")

    monkeypatch.setattr(kg.models.BigGAN, "build_generator", never)
    monkeypatch.setattr(kg.models.BigGAN, "build_discriminator", never)
    with pytest.raises(ValueError, match=message) as err:
        kg.models.BigGAN(**{**TINY, **kwargs})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("call, message", [
    (lambda g, x, y: g.fit(x, np.where(y == 7, 12, y), batch_size=8, verbose=0),
     r"^labels must lie in \[0, 10\), got 12: this model has 10 classes"),
    (lambda g, x, y: g.fit(np.zeros((8, 32, 32, 3), "float32"), y, batch_size=8, verbose=0),
     r"^images have shape \(32, 32, 3\) per example but this GAN makes \(28, 28, 1\)"),
    (lambda g, x, y: g.fit(x, batch_size=8, verbose=0), r"^BigGAN trains on \(images, labels\) batches"),
    (lambda g, x, y: g.generate(3, labels=[0, 1, 10], seed=0), r"^labels must lie in \[0, 10\), got 10"),
    (lambda g, x, y: g.predict(g.sample_latent(3, seed=0), verbose=0), r"^BigGAN.predict takes \[z, labels\]"),
])
def test_bad_data_raises_one_line_and_moves_nothing(gan, batch, call, message):
    before = model_state(gan)
    with pytest.raises(ValueError, match=message) as err:
        call(gan, *batch)
    assert "\n" not in str(err.value)
    assert not changed(before, model_state(gan))


# ---------------------------------------------------------------- saving and export
@pytest.mark.parametrize("run_eagerly", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_keras_file_round_trip_is_exact_and_a_resumed_fit_equals_an_uninterrupted_one(batch, tmp_path, run_eagerly):
    """Eager by default to stay fast (tracing the two D steps and the G step is the costly part)."""
    images, labels = batch  # one step per epoch: 1 before the save, 1 after
    keras.utils.set_random_seed(2)
    resumed = tiny(seed=7, run_eagerly=run_eagerly)
    keras.utils.set_random_seed(2)
    straight = tiny(seed=7, run_eagerly=run_eagerly)
    resumed.fit(images, labels, batch_size=8, epochs=1, verbose=0, shuffle=False)
    path = str(tmp_path / "biggan.keras")
    resumed.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is kg.models.BigGAN
    assert json.loads(json.dumps(loaded.get_config())) == json.loads(json.dumps(resumed.get_config()))
    assert (loaded.d_steps, loaded.ortho_weight, loaded.attention_resolution) == (2, 1e-4, None)
    before, after = model_state(resumed), model_state(loaded)
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)
    assert int(loaded.d_optimizer.iterations.numpy()) == 2 and int(loaded.g_optimizer.iterations.numpy()) == 1
    for a, b in zip(resumed.ema_generator.weights, loaded.ema_generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_array_equal(loaded.generate(2, seed=0), resumed.generate(2, seed=0))

    # run_eagerly is not part of the compile config: run the loaded model as the
    # others: compiled and eager rounding differ, and generator biases that
    # reach the loss only through batch norm (or the attention, whose gain
    # starts at 0) have gradients near rounding noise, which Adam scales up.
    loaded.run_eagerly = run_eagerly
    loaded.fit(images, labels, batch_size=8, epochs=1, verbose=0, shuffle=False)
    straight.fit(images, labels, batch_size=8, epochs=2, verbose=0, shuffle=False)
    ends, straight_state = model_state(loaded), model_state(straight)
    assert ends.keys() == straight_state.keys()
    # Equal up to float reassociation in threaded CPU kernels.
    for key in straight_state:
        np.testing.assert_allclose(ends[key], straight_state[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for a, b in zip(loaded.ema_generator.weights, straight.ema_generator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


@pytest.mark.slow
def test_savedmodel_and_builtin_tflite_match_the_ema_generator(gan, tmp_path):
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    z, labels = kg.sampling.latents(5, 12, seed=3), np.array([0, 3, 9, 9, 1], "int32")
    expected = gan.generate_from_latents(z, labels)
    saved = kg.export.saved_model(gan, str(tmp_path / "serving"))
    assert os.path.basename(os.path.dirname(saved)) == "biggan"
    loaded = tf.saved_model.load(saved)
    serving = loaded.signatures["serving_default"]
    np.testing.assert_allclose(
        serving(z=tf.constant(z), labels=tf.constant(labels))["images"].numpy(), expected, atol=1e-5
    )
    assert "sample_labels" in loaded.signatures
    path = kg.export.tflite(gan, str(tmp_path / "biggan.tflite"))
    builtins = {name for name in vars(schema.BuiltinOperator) if not name.startswith("_")} - {"CUSTOM"}
    info = kg.export.describe(path)
    assert info["custom_operators"] == [] and set(info["operators"]) <= builtins
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    np.testing.assert_allclose(runner(z=z, labels=labels)["images"], expected, atol=1e-4)
    assert kg.export.verify(saved, gan)["max_abs_diff"] <= 1e-4
