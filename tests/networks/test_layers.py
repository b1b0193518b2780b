"""ReflectionPadding2D and InstanceNormalization: values, configs, saving."""

import keras
import numpy as np
import pytest

from keras_gans.networks.layers import InstanceNormalization, ReflectionPadding2D


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
    outputs = InstanceNormalization(center=True, scale=True)(x)
    model = keras.Model(inputs, outputs)
    model.layers[-1].set_weights([np.full((2,), 2.0, "float32"), np.full((2,), 0.5, "float32")])
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode on: the layers are registered
    assert [type(layer).__name__ for layer in loaded.layers[1:]] == [
        "ReflectionPadding2D", "InstanceNormalization",
    ]
    x = rand((2, 8, 8, 2))
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert loaded.output_shape == (None, 10, 10, 2)
