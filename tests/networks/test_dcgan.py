"""DCGAN builders: the critic's layer norm is over C, H, W of each example."""

import keras
import numpy as np
import pytest

import keras_gans as kg


def norm_layers(model):
    return [layer for layer in model.layers if layer.name.endswith("_norm")]


def test_layer_normalization_is_over_height_width_and_channels_per_example():
    critic = kg.networks.dcgan_discriminator((28, 28, 1), width=8, normalization="layer")
    norms = norm_layers(critic)
    assert [layer.name for layer in norms] == ["down1_norm"]  # the first block is never normalized
    norm = norms[0]
    channels = 16
    # A per-channel affine: gamma and beta have shape [C], not [H, W, C] or [].
    assert sorted((w.name, tuple(w.shape)) for w in norm.weights) == [
        ("beta", (channels,)), ("gamma", (channels,))
    ]

    # Inputs whose channels and positions have very different scales and
    # offsets: per-channel or per-position statistics would remove them.
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(3, 7, 7, channels)) * rng.uniform(0.5, 4, channels)
         + rng.normal(0, 3, channels) + np.arange(3)[:, None, None, None] * 5).astype("float32")
    y = keras.ops.convert_to_numpy(norm(x))  # gamma = 1, beta = 0: the normalized values
    mean = y.mean(axis=(1, 2, 3))
    var = y.var(axis=(1, 2, 3))
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    np.testing.assert_allclose(var, 1.0, rtol=1e-4)
    expected = (x - x.mean(axis=(1, 2, 3), keepdims=True)) / np.sqrt(
        x.var(axis=(1, 2, 3), keepdims=True) + 1e-5
    )
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    # Not the channel-only norm: per position, the channels keep their spread of means.
    assert np.abs(y.mean(axis=-1)).max() > 0.1

    # Then the affine, per channel.
    gamma = rng.uniform(0.5, 2, channels).astype("float32")
    beta = rng.normal(size=channels).astype("float32")
    norm.set_weights([gamma, beta] if norm.weights[0].name == "gamma" else [beta, gamma])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(norm(x)), expected * gamma + beta,
                               rtol=1e-4, atol=1e-4)

    # Each example on its own: the batch does not change an example's output.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(norm(x[:1])), keras.ops.convert_to_numpy(norm(x))[:1],
                               rtol=1e-5, atol=1e-5)


def test_layer_norm_critic_keeps_the_parameter_count_and_float32_statistics():
    # The same count as before the fix (gamma and beta of shape [C] per normalized block).
    assert kg.models.WGANGP(latent_dim=128, critic_normalization="layer").discriminator.count_params() == 138_689
    critic = kg.networks.dcgan_discriminator((28, 28, 1), width=8, normalization="layer",
                                             dtype="mixed_bfloat16")
    x = np.random.default_rng(1).normal(50.0, 20.0, (2, 14, 14, 8)).astype("float32")
    y = keras.ops.convert_to_numpy(keras.ops.cast(norm_layers(critic)[0](x.repeat(2, -1)), "float32"))
    np.testing.assert_allclose(y.mean(axis=(1, 2, 3)), 0.0, atol=0.02)


@pytest.mark.parametrize("normalization, layer", [("batch", "BatchNormalization"), ("layer", "GroupNormalization")])
def test_normalization_kinds(normalization, layer):
    critic = kg.networks.dcgan_discriminator((28, 28, 1), width=8, normalization=normalization)
    assert {type(n).__name__ for n in norm_layers(critic)} == {layer}
    assert not norm_layers(kg.networks.dcgan_discriminator((28, 28, 1), width=8, normalization=None))
