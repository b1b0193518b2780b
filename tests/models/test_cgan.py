"""ConditionalGAN: labels flow into both networks, bad labels fail clearly, it learns classes."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from tests.conftest import changed, model_state, scaled, weights_of


def tiny(seed=0, **kwargs):
    gan = kg.models.ConditionalGAN(
        latent_dim=16, num_classes=10, width=8, embedding_dim=8, seed=seed, **kwargs
    )
    gan.compile()
    return gan


@pytest.fixture(scope="module")
def labelled(fmnist_train):
    images, labels = fmnist_train
    return tf.data.Dataset.from_tensor_slices((scaled(images[:256]), labels[:256])).batch(64)


@pytest.fixture(scope="session")
def fmnist_classifier(fmnist_train, fmnist_test):
    """A small CNN trained on half of Fashion-MNIST for one epoch; returns ``(model, test accuracy)``."""
    images, labels = fmnist_train[0][:30000], fmnist_train[1][:30000]
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        keras.optimizers.Adam(2e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(scaled(images), labels, batch_size=128, epochs=1, verbose=0)
    test_images, test_labels = fmnist_test[0][:5000], fmnist_test[1][:5000]
    _, accuracy = model.evaluate(scaled(test_images), test_labels, verbose=0)
    return model, accuracy


def test_family_registration_and_named_inputs():
    gan = tiny()
    assert kg.models.get_family("cgan") is kg.models.ConditionalGAN
    assert (gan.family, gan.data_kind) == ("cgan", "labelled")
    assert [t.name for t in gan.generator.inputs] == ["z", "labels"]
    assert [t.name for t in gan.discriminator.inputs] == ["images", "labels"]
    z, labels = np.zeros((3, 16), "float32"), np.array([0, 5, 9], "int32")
    images = gan([z, labels])
    assert images.shape == (3, 28, 28, 1) and images.dtype == "float32"
    logits = gan.discriminator([keras.ops.convert_to_numpy(images), labels])
    assert logits.shape == (3, 1) and logits.dtype == "float32"


def test_mixed_precision_is_per_layer_and_outputs_stay_float32():
    gan = kg.models.ConditionalGAN(latent_dim=16, width=8, precision="mixed_bfloat16")
    assert keras.config.dtype_policy().name == "float32"  # nothing global changed
    assert gan.generator.get_layer("label_embedding").compute_dtype == "bfloat16"
    assert gan.discriminator.get_layer("label_projection").compute_dtype == "bfloat16"
    out = gan.generate(2, seed=0)
    assert out.dtype == np.float32
    logits = gan.discriminator([out, np.array([1, 2], "int32")])
    assert logits.dtype == "float32"


def test_labels_change_the_images_and_the_scores():
    gan = tiny()
    # The projection starts at zero (an unconditional discriminator); give it
    # values so the label's effect on the score is visible.
    projection = gan.discriminator.get_layer("label_projection")
    projection.embeddings.assign(np.random.default_rng(0).normal(size=projection.embeddings.shape))
    a = gan.generate(4, seed=1, labels=2)
    b = gan.generate(4, seed=1, labels=7)
    assert np.abs(a - b).max() > 1e-3
    scores = [
        keras.ops.convert_to_numpy(gan.discriminator([a, np.full(4, k, "int32")])) for k in (2, 7)
    ]
    assert np.abs(scores[0] - scores[1]).max() > 1e-3


def test_generate_cycles_classes_by_default_and_is_reproducible():
    gan = tiny()
    images = gan.generate(13, seed=0)
    assert images.shape == (13, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1
    np.testing.assert_array_equal(images, gan.generate(13, seed=0, labels=np.arange(13) % 10))
    # Smaller forward passes change float rounding only.
    np.testing.assert_allclose(images, gan.generate(13, seed=0, batch_size=5), atol=1e-5)
    assert not np.allclose(images, gan.generate(13, seed=1))
    # One int label means n images of that class.
    np.testing.assert_array_equal(gan.generate(3, seed=0, labels=4), gan.generate(3, seed=0, labels=[4, 4, 4]))


@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 1, 10], r"labels must lie in \[0, 10\), got 10"),
        ([0, -1, 2], r"labels must lie in \[0, 10\), got -1"),
        ([0.0, 1.0, 2.0], "labels must be integer class ids, got dtype float64"),
        ([True, False, True], "labels must be integer class ids, got dtype bool"),
        ([0, 1], r"got labels of shape \(2,\) for n=3"),
        ([[0, 1, 2]], r"got labels of shape \(1, 3\) for n=3"),
    ],
)
def test_generate_rejects_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        tiny().generate(3, seed=0, labels=labels)


def test_generate_takes_labels_then_seed_positionally():
    # The signature is generate(n, labels=None, seed=None, batch_size=256).
    gan = tiny()
    np.testing.assert_array_equal(
        gan.generate(3, [1, 2, 3], 5), gan.generate(3, labels=[1, 2, 3], seed=5)
    )
    np.testing.assert_array_equal(gan.generate(3, 4, 0), gan.generate(3, labels=[4, 4, 4], seed=0))
    np.testing.assert_allclose(
        gan.generate(3, None, 0, 2), gan.generate(3, seed=0, batch_size=2), atol=1e-6
    )


def test_generate_rejects_labels_passed_as_the_seed():
    with pytest.raises(ValueError, match=r"seed must be an int or None.*generate\(n, labels=None, seed=None"):
        tiny().generate(3, seed=[1, 2, 3])


def test_preview_shows_one_class_per_row_and_one_latent_per_column():
    gan = tiny()
    images = gan.preview(16, seed=0)  # a 4x4 grid: rows are classes 0..3
    z = gan.sample_latent(4, seed=0)
    for row in range(4):
        expected = keras.ops.convert_to_numpy(gan.generator([z, np.full(4, row, "int32")]))
        np.testing.assert_allclose(images[row * 4 : row * 4 + 4], expected, atol=1e-6)
    # n=100 gives a 10x10 grid whose last row is the last class; n=20 (5
    # columns) wraps to class 0 after class 3.
    z10 = gan.sample_latent(10, seed=0)
    last = keras.ops.convert_to_numpy(gan.generator([z10, np.full(10, 9, "int32")]))
    np.testing.assert_allclose(gan.preview(100, seed=0)[90:], last, atol=1e-6)
    assert gan.preview(20, seed=0).shape == (20, 28, 28, 1)


def test_a_step_moves_both_networks_and_only_the_batch_classes_embeddings(fmnist_train):
    images, labels = fmnist_train
    # A batch of classes 3 and 5 only: fakes are drawn for the batch's labels,
    # so no other class's embedding row may get a gradient.
    keep = np.flatnonzero(np.isin(labels, [3, 5]))[:32]
    gan = tiny()
    g0, d0 = weights_of(gan.generator), weights_of(gan.discriminator)
    gan.fit(tf.data.Dataset.from_tensors((scaled(images[keep]), labels[keep])), verbose=0)
    g1, d1 = weights_of(gan.generator), weights_of(gan.discriminator)
    assert {v.path for v in gan.generator.trainable_variables} <= changed(g0, g1)
    assert {v.path for v in gan.discriminator.trainable_variables} <= changed(d0, d1)
    for weights_before, weights_after, layer in (
        (g0, g1, gan.generator.get_layer("label_embedding")),
        (d0, d1, gan.discriminator.get_layer("label_projection")),
    ):
        path = layer.embeddings.path
        rows_moved = np.abs(weights_after[path] - weights_before[path]).max(axis=1) > 0
        assert np.flatnonzero(rows_moved).tolist() == [3, 5]


@pytest.fixture(scope="module")
def shared_gan():
    """One model for the bad-label fits: a failed batch moves no weight."""
    return tiny()


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 1, 2, 12], "labels must lie in [0, 10), got 12: this model has 10 classes (fix the labels, "
                        "or build the model with num_classes=13 or more)."),
        ([0, -3, 2, 1], "labels must lie in [0, 10), got -3: class ids count from 0."),
        ([0, 1, 2], "a batch has 4 images but 3 labels: pass one label per image."),
    ],
)
def test_fit_refuses_bad_label_values_before_anything_moves(fmnist_train, labels, message, jit_compile):
    # Under XLA an out-of-range embedding lookup clamps (label 12 trains class
    # 9's row) and graph assertions are dropped: the check runs in the input
    # pipeline instead, so it holds with jit_compile=True too.
    gan = kg.models.ConditionalGAN(latent_dim=16, num_classes=10, width=8, embedding_dim=8, seed=0)
    gan.compile(jit_compile=jit_compile)
    gan.build_optimizers()
    images = scaled(fmnist_train[0][:4])
    spec = (tf.TensorSpec((4, 28, 28, 1), tf.float32), tf.TensorSpec((None,), tf.int32))
    data = tf.data.Dataset.from_generator(
        lambda: iter([(images, np.asarray(labels, "int32"))]), output_signature=spec
    )
    before = model_state(gan)
    with pytest.raises(ValueError) as info:
        gan.fit(data, verbose=0)
    assert str(info.value) == message
    assert not changed(before, model_state(gan))
    assert int(gan.g_optimizer.iterations.numpy()) == int(gan.d_optimizer.iterations.numpy()) == 0


def test_label_12_of_10_in_the_middle_of_an_xla_run_stops_before_that_batch(fmnist_train):
    images, labels = scaled(fmnist_train[0][:192]), fmnist_train[1][:192].copy()
    labels[150] = 12  # in the third batch of 64
    keras.utils.set_random_seed(0)
    gan = tiny()
    gan.compile(jit_compile=True)
    keras.utils.set_random_seed(0)
    twin = tiny()
    twin.compile(jit_compile=True)
    twin.fit(tf.data.Dataset.from_tensor_slices((images[:128], labels[:128])).batch(64), verbose=0)
    with pytest.raises(ValueError, match=r"^labels must lie in \[0, 10\), got 12: this model has 10 classes"):
        gan.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(64), verbose=0)
    # The two good batches trained, exactly as on their own; the bad one did nothing.
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    a, b = model_state(gan), model_state(twin)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)


def static_batch(labels, n_images=4):
    return tf.data.Dataset.from_tensors((np.zeros((n_images, 28, 28, 1), "float32"), labels))


@pytest.mark.parametrize(
    "data, message",
    [
        (static_batch(np.array([0.0, 1.0, 2.0, 3.0], "float32")), "labels must be integer class ids, got dtype float32"),
        (static_batch(np.array([0, 1, 2], "int32")), "a batch has 4 images but 3 labels"),
        (static_batch(np.zeros((4, 2), "int32")), r"labels must have shape \[batch\], got \(4, 2\)"),
        (tf.data.Dataset.from_tensors(np.zeros((4, 28, 28, 1), "float32")),
         r"^ConditionalGAN trains on \(images, labels\) batches and got images alone: pass the labels too "
         r"\(gan.fit\(images, labels\), gan.fit\(\(images, labels\)\)"),
    ],
)
def test_fit_rejects_bad_labels_when_it_starts(data, message):
    with pytest.raises(ValueError, match=message):
        tiny().fit(data, verbose=0)


def test_label_checks_with_fully_dynamic_shapes_and_column_labels(shared_gan):
    spec = (tf.TensorSpec((None, 28, 28, 1), tf.float32), tf.TensorSpec((None,), tf.int32))
    problems = tf.function(lambda data: shared_gan.data_problems(data)[0], input_signature=[spec])
    assert problems((np.zeros((4, 28, 28, 1), "float32"), np.array([0, 1, 2, 3], "int32"))).numpy() == b""
    assert problems((np.zeros((4, 28, 28, 1), "float32"), np.array([0, 1, 2], "int32"))).numpy() == (
        b"a batch has 4 images but 3 labels: pass one label per image."
    )
    # [batch, 1] labels (and other int dtypes) are accepted as int32 [batch].
    _, column = shared_gan.unpack_data((np.zeros((2, 28, 28, 1), "float32"), np.array([[4], [2]], "int64")))
    assert column.dtype == tf.int32 and column.numpy().tolist() == [4, 2]


def test_fit_takes_an_images_labels_tuple_like_two_arguments(fmnist_train):
    images, labels = scaled(fmnist_train[0][:128]), fmnist_train[1][:128]
    runs = []
    for call in (lambda g: g.fit((images, labels), batch_size=64, shuffle=False, verbose=0),
                 lambda g: g.fit(images, labels, batch_size=64, shuffle=False, verbose=0)):
        keras.utils.set_random_seed(0)
        gan = tiny(seed=3)
        call(gan)
        assert int(gan.g_optimizer.iterations.numpy()) == 2
        runs.append(gan.generator.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_predict_takes_latents_and_labels_and_names_the_fix_otherwise():
    gan = tiny()
    z, labels = gan.sample_latent(3, seed=1), np.array([0, 7, 9], "int32")
    np.testing.assert_allclose(gan.predict([z, labels], verbose=0), gan([z, labels]).numpy(), atol=1e-6)
    with pytest.raises(ValueError) as info:
        gan.predict(z, verbose=0)
    assert str(info.value) == (
        "ConditionalGAN.predict takes [z, labels] (z [n, 16] floats, labels [n] ints in [0, 10)), "
        "got [3, 16]: call gan.predict([gan.sample_latent(n), labels]) or gan.generate(n, labels=labels)."
    )
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\), got 12"):
        gan.predict([z, np.array([0, 1, 12], "int32")], verbose=0)


def test_config_round_trip():
    gan = kg.models.ConditionalGAN(latent_dim=16, num_classes=7, width=8, embedding_dim=4, seed=5)
    config = gan.get_config()
    assert (config["num_classes"], config["width"], config["embedding_dim"]) == (7, 8, 4)
    clone = kg.models.ConditionalGAN.from_config(config)
    assert clone.get_config() == config
    assert clone.num_classes == 7
    assert clone.generator.get_layer("label_embedding").embeddings.shape == (7, 4)
    assert clone.discriminator.get_layer("label_projection").input_dim == 7


def test_save_load_round_trip_then_continues_identically(labelled, tmp_path):
    gan = tiny(seed=3)
    gan.fit(labelled, epochs=1, verbose=0)
    path = str(tmp_path / "cgan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)

    assert type(loaded) is kg.models.ConditionalGAN and loaded.num_classes == 10
    # Compared as JSON, which is what the file holds (tuples come back as lists).
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(gan.get_config(), sort_keys=True)
    assert len(gan.variables) == len(loaded.variables)
    for a, b in zip(gan.variables, loaded.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for name in ("g_optimizer", "d_optimizer"):
        src, dst = getattr(gan, name), getattr(loaded, name)
        assert int(dst.iterations.numpy()) == 4
        assert len(src.variables) == len(dst.variables) > 2
        for a, b in zip(src.variables, dst.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{name}/{a.path}")
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), loaded.seed_generator.state.numpy())
    np.testing.assert_array_equal(gan.generate(5, seed=0), loaded.generate(5, seed=0))

    one = labelled.take(1)
    gan.fit(one, verbose=0)
    loaded.fit(one, verbose=0)
    assert int(loaded.g_optimizer.iterations.numpy()) == 5
    assert len(gan.variables) == len(loaded.variables)
    for a, b in zip(gan.variables, loaded.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, err_msg=a.path)


def test_short_training_on_fashion_mnist_draws_the_requested_classes(fmnist_train, fmnist_classifier):
    classifier, accuracy = fmnist_classifier
    assert accuracy > 0.75
    images, labels = fmnist_train
    gan = kg.models.ConditionalGAN(latent_dim=32, width=8, embedding_dim=16, seed=0)
    # A higher learning rate than the default 2e-4 so that 200 steps are enough
    # for the conditioning to take; measured agreement after 180-240 steps is
    # 0.77-0.89 over repeated runs (0.10 is chance).
    gan.compile(
        g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
    )
    data = kg.data.to_pipeline(images, labels, batch_size=64, seed=0)
    history = gan.fit(data, epochs=1, steps_per_epoch=200, verbose=0)
    assert all(np.isfinite(v).all() for v in history.history.values())

    requested = np.arange(1000) % 10
    samples = gan.generate(1000, seed=1, labels=requested)
    predicted = classifier.predict(samples, batch_size=500, verbose=0).argmax(axis=1)
    agreement = float((predicted == requested).mean())
    assert agreement > 0.5, f"classifier agrees with the requested class on {agreement:.0%}"
