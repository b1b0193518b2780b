"""ReflectionPadding2D, InstanceNormalization, BatchNormalization: values, configs, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gans.networks.layers import (
    BatchNormalization,
    InstanceNormalization,
    ReflectionPadding2D,
)


def rand(shape, seed=0, loc=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(loc, scale, shape).astype("float32")


@pytest.mark.parametrize("padding, np_pad", [(2, ((2, 2), (2, 2))), (((1, 3), (0, 2)), ((1, 3), (0, 2)))])
def test_reflection_padding_matches_numpy_reflect(padding, np_pad):
    x = rand((2, 5, 6, 3))
    y = ReflectionPadding2D(padding)(x).numpy()
    expected = np.pad(x, ((0, 0), *np_pad, (0, 0)), mode="reflect")
    np.testing.assert_array_equal(y, expected)
    # Reflection does not repeat the edge: row -1 of the padding is row 1.
    if np_pad[0][0]:
        np.testing.assert_array_equal(y[:, np_pad[0][0] - 1, np_pad[1][0] : np_pad[1][0] + 6], x[:, 1])


def test_reflection_padding_output_shape_and_config_round_trip():
    layer = ReflectionPadding2D(((1, 2), (3, 0)), name="pad")
    assert layer.compute_output_shape((None, 8, 9, 2)) == (None, 11, 12, 2)
    assert layer.compute_output_shape((None, None, None, 2)) == (None, None, None, 2)
    clone = ReflectionPadding2D.from_config(layer.get_config())
    assert clone.padding == ((1, 2), (3, 0)) and clone.name == "pad"
    x = rand((1, 8, 9, 2))
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


@pytest.mark.parametrize(
    "padding, shape, message",
    [
        (3, (1, 3, 8, 1), "height is 3"),
        (((0, 0), (4, 0)), (1, 8, 4, 1), "width is 4"),
        (-1, (1, 8, 8, 1), ">= 0"),
        ("same", (1, 8, 8, 1), "padding must be"),
    ],
)
def test_reflection_padding_rejects_bad_padding(padding, shape, message):
    with pytest.raises(ValueError, match=message):
        ReflectionPadding2D(padding)(np.zeros(shape, "float32"))


def test_instance_norm_normalizes_each_image_and_channel_on_its_own():
    x = rand((3, 6, 5, 4), loc=3.0, scale=2.0)
    x[1] *= 10.0  # other examples must not matter
    y = InstanceNormalization()(x).numpy()
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-4)
    y0 = InstanceNormalization()(x[:1]).numpy()
    np.testing.assert_allclose(y0, y[:1], rtol=1e-5, atol=1e-5)


def test_instance_norm_equals_group_norm_with_one_group_per_channel():
    x = rand((2, 7, 7, 6), loc=-1.0, scale=3.0)
    ours = InstanceNormalization(epsilon=1e-3, center=True, scale=True)
    theirs = keras.layers.GroupNormalization(groups=-1, epsilon=1e-3)
    ours.build(x.shape)
    theirs.build(x.shape)
    gamma, beta = rand((6,), 1) + 1.0, rand((6,), 2)
    ours.set_weights([gamma, beta])
    theirs.set_weights([gamma, beta])
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), rtol=1e-4, atol=1e-4)
    assert [w.name for w in ours.trainable_weights] == ["gamma", "beta"]


def test_instance_norm_has_no_weights_by_default_and_rejects_bad_epsilon():
    layer = InstanceNormalization()
    layer.build((None, 4, 4, 3))
    assert layer.weights == []
    with pytest.raises(ValueError, match="epsilon"):
        InstanceNormalization(epsilon=0.0)


def test_instance_norm_under_mixed_precision_computes_in_float32():
    # float16 variance of large activations overflows; the layer must not.
    x = rand((2, 8, 8, 3), loc=200.0, scale=80.0)
    layer = InstanceNormalization(dtype="mixed_float16")
    y = layer(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    ref = InstanceNormalization()(x).numpy()
    assert np.isfinite(y.numpy()).all()
    np.testing.assert_allclose(y.numpy().astype("float32"), ref, atol=5e-3)


def test_layers_save_and_load_inside_a_model(tmp_path):
    inputs = keras.Input((8, 8, 2))
    x = ReflectionPadding2D(((1, 1), (2, 0)))(inputs)
    x = InstanceNormalization(center=True, scale=True)(x)
    outputs = BatchNormalization(momentum=0.8, epsilon=1e-3)(x)
    model = keras.Model(inputs, outputs)
    model.layers[-2].set_weights([np.full((2,), 2.0, "float32"), np.full((2,), 0.5, "float32")])
    model.layers[-1].set_weights([np.array(w, "float32") for w in ([1.5, 0.5], [0.1, -0.2], [0.3, 0.0], [2.0, 0.5])])
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode on: the layers are registered
    assert [type(layer).__name__ for layer in loaded.layers[1:]] == [
        "ReflectionPadding2D", "InstanceNormalization", "BatchNormalization",
    ]
    assert loaded.layers[-1].momentum == 0.8 and loaded.layers[-1].epsilon == 1e-3
    x = rand((2, 8, 8, 2))
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert loaded.output_shape == (None, 10, 10, 2)


def _bn_pair(policy="float32", **kwargs):
    """A Keras batch norm and a fused one with the same (non-trivial) weights."""
    kwargs = {"momentum": 0.9, "epsilon": 1e-5, "dtype": policy, **kwargs}
    pair = keras.layers.BatchNormalization(**kwargs), BatchNormalization(**kwargs)
    for layer in pair:
        layer.build((None, 5, 5, 3))
        if layer.scale:
            layer.gamma.assign([1.5, 0.5, 2.0])
        if layer.center:
            layer.beta.assign([0.1, -0.2, 0.3])
    return pair


def _train_calls(layer, x, weights, steps=3):
    """Outputs and gradients of ``steps`` training calls, then the moving statistics."""
    results = []
    for step in range(steps):
        xt = tf.constant(x[step])
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32") * weights)
        grads = tape.gradient(loss, [xt] + layer.trainable_variables)
        results += [np.asarray(tf.cast(t, "float32")) for t in [y] + grads]
    return results + [layer.moving_mean.numpy(), layer.moving_variance.numpy()]


@pytest.mark.parametrize("affine", [True, False])
def test_fused_batch_norm_trains_like_keras_batch_norm(affine):
    x = rand((3, 8, 5, 5, 3), seed=1, loc=2.0, scale=3.0)
    weights = rand((8, 5, 5, 3), seed=2)
    keras_bn, fused = _bn_pair(center=affine, scale=affine)
    expected, got = _train_calls(keras_bn, x, weights), _train_calls(fused, x, weights)
    assert len(got) == len(expected) == 3 * (2 + 2 * affine) + 2
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    # The moving statistics moved, with the biased variance as Keras tracks it.
    mean, var = x[-1].mean(axis=(0, 1, 2)), x[-1].var(axis=(0, 1, 2))
    assert np.abs(got[-2]).min() > 0.2 and np.abs(got[-1] - 1.0).min() > 0.5
    prev_mean, prev_var = (r.copy() for r in expected[-2:])
    keras_bn(x[-1], training=True), fused(x[-1], training=True)
    np.testing.assert_allclose(fused.moving_mean.numpy(), 0.9 * prev_mean + 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), 0.9 * prev_var + 0.1 * var, rtol=1e-5)
    # Inference is Keras' own computation, from the moving statistics.
    fused.set_weights(keras_bn.get_weights())
    np.testing.assert_array_equal(fused(x[0], training=False).numpy(), keras_bn(x[0], training=False).numpy())


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_fused_batch_norm_under_mixed_precision_matches_keras_and_keeps_float32_weights(policy):
    x = rand((2, 8, 5, 5, 3), seed=3, loc=50.0, scale=20.0)
    weights = rand((8, 5, 5, 3), seed=4)
    keras_bn, fused = _bn_pair(policy)
    expected, got = _train_calls(keras_bn, x, weights, 2), _train_calls(fused, x, weights, 2)
    assert keras.backend.standardize_dtype(fused(x[0], training=True).dtype) == policy.split("_")[1]
    assert {keras.backend.standardize_dtype(w.dtype) for w in fused.weights} == {"float32"}
    for e, g in zip(expected, got):
        assert np.isfinite(g).all()
        np.testing.assert_allclose(g, e, rtol=2e-2, atol=2e-2 * np.abs(e).max())


def _ops(fn, *args):
    return {op.type for op in fn.get_concrete_function(*args).graph.get_operations()}


def test_fused_batch_norm_runs_one_fused_kernel_in_training_only():
    fused = BatchNormalization()
    fused.build((None, 4, 4, 2))
    spec = tf.TensorSpec((None, 4, 4, 2), "float32")
    train = _ops(tf.function(lambda x: fused(x, training=True)), spec)
    infer = _ops(tf.function(lambda x: fused(x, training=False)), spec)
    assert "FusedBatchNormV3" in train and "Mean" not in train
    keras_bn = keras.layers.BatchNormalization()
    keras_bn.build((None, 4, 4, 2))
    assert "FusedBatchNormV3" not in infer
    assert infer == _ops(tf.function(lambda x: keras_bn(x, training=False)), spec)


@pytest.mark.parametrize("case", ["2d", "mask", "synchronized", "frozen"])
def test_fused_batch_norm_falls_back_to_keras_where_the_kernel_does_not_apply(case):
    shape = (6, 3) if case in ("2d", "mask") else (6, 4, 4, 3)
    x = rand(shape, seed=5, loc=1.0, scale=2.0)
    kwargs = {"synchronized": True} if case == "synchronized" else {}
    keras_bn, fused = keras.layers.BatchNormalization(**kwargs), BatchNormalization(**kwargs)
    mask = np.array([True, True, False, True, True, False]) if case == "mask" else None
    for layer in (keras_bn, fused):
        layer.build(shape)
        layer.trainable = case != "frozen"
    ys = [tf.function(lambda t, layer=layer: layer(t, training=True, mask=mask))(x) for layer in (fused, keras_bn)]
    np.testing.assert_array_equal(*[y.numpy() for y in ys])
    np.testing.assert_array_equal(fused.moving_mean.numpy(), keras_bn.moving_mean.numpy())
    assert "FusedBatchNormV3" not in _ops(tf.function(lambda t: fused(t, training=True, mask=mask)), x)


def test_fused_batch_norm_of_one_value_per_channel_keeps_finite_statistics():
    # A 1x1 map in a batch of one (a U-Net bottleneck at batch size 1): the
    # biased variance is 0; the kernel's corrected one is undefined.
    fused = BatchNormalization(momentum=0.5)
    y = fused(rand((1, 1, 1, 4), seed=6), training=True)
    np.testing.assert_allclose(y.numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(fused.moving_variance.numpy(), 0.5)


def test_fused_batch_norm_second_order_gradients_match_keras():
    # R1 on a batch-norm discriminator differentiates the input gradient.
    x = tf.constant(rand((8, 5, 5, 3), seed=7, loc=1.0, scale=2.0))
    weights = rand((8, 5, 5, 3), seed=8)
    results = []
    for layer in _bn_pair():
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = layer(x, training=True)
                score = tf.reduce_sum(tf.square(y) * weights)
            penalty = tf.reduce_sum(tf.square(inner.gradient(score, x)))
        results.append([g.numpy() for g in outer.gradient(penalty, layer.trainable_variables)])
    for e, g in zip(*results):
        assert np.abs(e).max() > 0
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


def test_weight_files_move_between_keras_and_fused_batch_norm_networks(tmp_path):
    def net(norm):
        inputs = keras.Input((4, 4, 2))
        x = norm(name="a")(keras.layers.Conv2D(3, 3, padding="same", name="conv")(inputs))
        return keras.Model(inputs, norm(name="b")(x))

    source = net(keras.layers.BatchNormalization)
    source.set_weights([rand(w.shape, seed=i) ** 2 + 0.1 for i, w in enumerate(source.get_weights())])
    source.save_weights(tmp_path / "keras_bn.weights.h5")
    fused = net(BatchNormalization)
    fused.load_weights(tmp_path / "keras_bn.weights.h5")
    for a, b in zip(source.get_weights(), fused.get_weights()):
        np.testing.assert_array_equal(a, b)
    fused.save_weights(tmp_path / "fused.weights.h5")
    back = net(keras.layers.BatchNormalization)
    back.load_weights(tmp_path / "fused.weights.h5")
    x = rand((2, 4, 4, 2), seed=9)
    np.testing.assert_array_equal(back(x).numpy(), source(x).numpy())


def test_fused_batch_norm_passes_nan_on_in_traced_graphs_as_keras_does():
    # In a traced CPU graph, oneDNN's rewrite of the fused kernel with the
    # layers after it turned NaN into 0: a diverged generator gave finite
    # losses. The DCGAN generator's first block, where it did: dense,
    # reshape, batch norm, ReLU, transposed convolution.
    layers = keras.layers
    inputs = keras.Input((16,))
    x = layers.Reshape((7, 7, 16))(layers.Dense(7 * 7 * 16, use_bias=False)(inputs))
    x = layers.ReLU()(BatchNormalization()(x))
    model = keras.Model(inputs, layers.Conv2DTranspose(8, 4, strides=2, padding="same", use_bias=False)(x))
    kernel = model.layers[1].kernel
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    y = tf.function(lambda t: model(t, training=True))(rand((8, 16), seed=10))
    assert np.isnan(y.numpy()).all()
    assert np.isnan(model.layers[3].moving_mean.numpy()).all()
