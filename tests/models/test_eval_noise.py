"""Evaluation draws noise of its own: evaluate() and validation_data never move the training noise."""

import numpy as np
import pytest

import keras_gans as kg
from tests.conftest import scaled

FAMILIES = ("dcgan", "cgan", "wgan_gp", "cyclegan")


def tiny(family):
    if family == "dcgan":
        gan = kg.models.DCGAN(latent_dim=8, width=4, seed=5)
    elif family == "cgan":
        gan = kg.models.ConditionalGAN(latent_dim=8, width=4, embedding_dim=4, seed=5)
    elif family == "wgan_gp":
        gan = kg.models.WGANGP(latent_dim=8, width=4, critic_steps=2, seed=5)
    else:
        gan = kg.models.CycleGAN(
            image_shape=(28, 28, 1), width=4, n_blocks=1, discriminator_layers=2, pool_size=4, seed=5
        )
    gan.compile()
    return gan


def data(family, images, labels):
    if family == "cgan":
        return images[:8], labels[:8].astype("int32")
    if family == "cyclegan":
        return images[labels == 7][:8], images[labels == 9][:8]
    return (images[:8],)


def seed_state(gan):
    return np.array(gan.seed_generator.state.numpy())


@pytest.fixture(scope="module")
def arrays(fmnist_test):
    images, labels = fmnist_test
    return scaled(images[:2000]), labels[:2000]


def dataset(family, arrays):
    import tensorflow as tf

    x = data(family, *arrays)
    return tf.data.Dataset.from_tensor_slices(x[0] if len(x) == 1 else x).batch(4)


@pytest.mark.parametrize("family", FAMILIES)
def test_evaluate_leaves_training_noise_and_repeats_itself(family, arrays):
    gan = tiny(family)
    ds = dataset(family, arrays)
    before = seed_state(gan)
    first = gan.evaluate(ds, verbose=0, return_dict=True)
    assert np.array_equal(seed_state(gan), before)
    # Every evaluate restarts its own noise: the same weights score the same.
    assert gan.evaluate(ds, verbose=0, return_dict=True) == first
    assert np.array_equal(seed_state(gan), before)


@pytest.mark.parametrize("family", FAMILIES)
def test_validation_does_not_change_the_run(family, arrays):
    """Two epochs with and without validation_data give the same weights and noise state."""
    ds = dataset(family, arrays)
    plain, validated = tiny(family), tiny(family)
    validated.set_weights(plain.get_weights())
    plain.fit(ds, epochs=2, verbose=0)
    history = validated.fit(ds, epochs=2, validation_data=ds, verbose=0)
    assert len(history.history["val_d_loss"]) == 2
    assert np.array_equal(seed_state(plain), seed_state(validated))
    for a, b in zip(plain.get_weights(), validated.get_weights()):
        np.testing.assert_array_equal(a, b)
