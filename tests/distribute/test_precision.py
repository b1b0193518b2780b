"""Mixed precision: one training step of every family under each policy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from tests.conftest import scaled

FAMILIES = {
    "dcgan": lambda p: kg.models.DCGAN(latent_dim=16, width=8, precision=p, seed=0),
    "cgan": lambda p: kg.models.ConditionalGAN(latent_dim=16, width=8, embedding_dim=4, precision=p, seed=0),
    "wgan_gp": lambda p: kg.models.WGANGP(latent_dim=16, width=8, critic_steps=2, precision=p, seed=0),
    "cyclegan": lambda p: kg.models.CycleGAN(
        image_shape=(28, 28, 1), width=4, n_blocks=1, discriminator_layers=2, pool_size=4,
        precision=p, seed=0,
    ),
}


def _batch(family, fmnist_test):
    images, labels = fmnist_test
    if family == "cyclegan":
        return scaled(images[labels == 7][:8]), scaled(images[labels == 9][:8])
    if family == "cgan":
        return scaled(images[:8]), labels[:8].astype("int32")
    return scaled(images[:8])


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_one_step_under_mixed_precision(family, precision, fmnist_test):
    policy = keras.config.dtype_policy().name
    gan = FAMILIES[family](precision)
    gan.compile()
    # Loss scaling on every optimizer where float16 needs it, and only there.
    for name, opt in gan.optimizers().items():
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16"), name
    hidden = [layer for layer in gan.generator.layers if layer.weights]
    assert hidden and all(layer.dtype_policy.name == precision for layer in hidden[:-1])
    before = [np.array(v.numpy()) for v in gan.trainable_variables]
    data = _batch(family, fmnist_test)
    # A few steps: under mixed_float16 the first ones may overflow at the
    # initial loss scale (2**15) and are skipped while the scale halves.
    ds = tf.data.Dataset.from_tensor_slices(data).batch(8).repeat()
    history = gan.fit(ds, epochs=1, steps_per_epoch=4, verbose=0)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert logs and all(np.isfinite(v) for v in logs.values()), logs
    # Weights stay float32 variables (computation is in half precision) and moved.
    assert all(v.dtype == "float32" for v in gan.trainable_variables)
    moved = [not np.array_equal(b, v.numpy()) for b, v in zip(before, gan.trainable_variables)]
    assert np.mean(moved) > 0.9
    out = gan.generator(_generator_inputs(gan, data), training=False)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))
    # Nothing global changed.
    assert keras.config.dtype_policy().name == policy


def _generator_inputs(gan, data):
    if gan.family == "cyclegan":
        return data[0][:2]
    z = gan.sample_latent(2, seed=0)
    return [z, np.array([1, 2], "int32")] if gan.family == "cgan" else z
