"""One discriminator call on real and fake images where the network scores examples independently."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.models.gan import batch_coupled_layers
from tests.conftest import scaled


@pytest.fixture(scope="module")
def images(fmnist_train):
    return scaled(fmnist_train[0][:16])


def _two_calls(cls):
    """``cls`` with the discriminator called once per batch whatever its layers."""
    return type(f"{cls.__name__}TwoCalls", (cls,), {"fuses_discriminator": lambda self, network=None: False})


def _copy_weights(source, target):
    for a, b in ((source.generator, target.generator), (source.discriminator, target.discriminator)):
        b.set_weights(a.get_weights())


class MinibatchMean(keras.layers.Layer):
    """Appends the batch mean of each feature: an output that depends on the other examples."""

    def call(self, x):
        return keras.ops.concatenate([x, keras.ops.broadcast_to(keras.ops.mean(x, 0, keepdims=True), keras.ops.shape(x))], -1)


class MyDense(keras.layers.Dense):
    pass


def test_batch_coupled_layers_lists_batch_norm_and_unknown_layers_and_searches_nested_models():
    assert batch_coupled_layers(kg.networks.dcgan_discriminator((28, 28, 1), width=4)) == ["down1_norm"]
    for net in (
        kg.networks.dcgan_discriminator((28, 28, 1), width=4, normalization=None),
        kg.networks.dcgan_discriminator((28, 28, 1), width=4, normalization="layer"),
        kg.networks.dcgan_discriminator((28, 28, 1), width=4, normalization=None, spectral_norm=True),
        kg.networks.cgan_discriminator((28, 28, 1), width=4, normalization=None, spectral_norm=True),
        kg.networks.cyclegan_discriminator((28, 28, 1), width=4, n_layers=1),
    ):
        assert batch_coupled_layers(net) == [], net.name
    inputs = keras.Input((4,))
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization(name="bn")])
    x = MinibatchMean(name="mbstd")(inputs)
    x = MyDense(4, name="subclassed")(x)  # a subclass may override call: not trusted
    model = keras.Model(inputs, inner(x))
    assert sorted(batch_coupled_layers(model)) == ["bn", "mbstd", "subclassed"]


@pytest.mark.parametrize("make, fused", [
    (lambda: kg.models.WGANGP(latent_dim=8, width=4, critic_steps=1, critic_normalization="layer", seed=0), True),
    (lambda: kg.models.WGANGP(latent_dim=8, width=4, critic_steps=1, seed=0), True),
    (lambda: kg.models.DCGAN(latent_dim=8, width=4, spectral_norm=True, seed=0), True),
    (lambda: kg.models.ConditionalGAN(latent_dim=8, width=4, spectral_norm=True, seed=0), True),
    (lambda: kg.models.DCGAN(latent_dim=8, width=4, seed=0), False),
    (lambda: kg.models.ConditionalGAN(latent_dim=8, width=4, seed=0), False),
])
def test_the_network_decides_whether_the_call_is_fused(make, fused):
    assert make().fuses_discriminator() is fused


def _outputs_and_gradients(gan, real, fake, conditions=(), by_hand=False):
    """``(real_out, fake_out, penalty, d-gradients)``: from ``discriminator_outputs`` or two calls by hand."""
    net = gan.discriminator
    with tf.GradientTape() as tape:
        if by_hand:
            def inputs(x):
                return [x, *conditions] if conditions else x

            real_in, fake_in = gan.augment_images(real), gan.augment_images(fake)
            with tf.GradientTape() as inner:
                inner.watch(real_in)
                real_out = net(inputs(real_in), training=True)
                total = tf.reduce_sum(real_out)
            grad = inner.gradient(total, real_in)
            penalty = 0.5 * gan.r1_weight * tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]))
            fake_out = net(inputs(fake_in), training=True)
        else:
            real_out, fake_out, penalty = gan.discriminator_outputs(real, fake, conditions=conditions)
        loss = gan.d_loss_fn(real_out, fake_out) + penalty
    grads = tape.gradient(loss, net.trainable_variables)
    return real_out.numpy(), fake_out.numpy(), float(penalty), [tf.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize("family", ["dcgan", "cgan"])
def test_one_fused_call_gives_the_outputs_r1_and_gradients_of_two_calls(family, images):
    # Spectral norm (no batch norm), augmentation of both batches, R1 on every update.
    kw = dict(latent_dim=8, width=4, spectral_norm=True, r1_weight=2.0, r1_every=1,
              augment="translation,cutout,color", seed=0)
    gan = kg.models.ConditionalGAN(**kw) if family == "cgan" else kg.models.DCGAN(**kw)
    gan.compile()
    assert gan.fuses_discriminator()
    real, fake = tf.constant(images[:8]), tf.constant(images[8:16][::-1] * 0.5)
    conditions = [tf.constant(np.arange(8) % 10, "int32")] if family == "cgan" else ()
    state = gan.seed_generator.state.numpy()
    fused = _outputs_and_gradients(gan, real, fake, conditions)
    gan.seed_generator.state.assign(state)
    hand = _outputs_and_gradients(gan, real, fake, conditions, by_hand=True)
    np.testing.assert_allclose(fused[0], hand[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused[1], hand[1], rtol=1e-5, atol=1e-6)
    assert fused[2] > 0
    np.testing.assert_allclose(fused[2], hand[2], rtol=1e-4)
    for a, b in zip(fused[3], hand[3]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _conv_ops(gan, real):
    fn = tf.function(lambda r, f: gan.discriminator_outputs(r, f)[:2])
    graph = fn.get_concrete_function(tf.TensorSpec(real.shape), tf.TensorSpec(real.shape)).graph
    return sum(op.type == "Conv2D" for op in graph.get_operations())


def test_a_fused_update_runs_the_convolutions_once_and_a_batch_norm_one_twice(images):
    real = tf.constant(images[:8])
    fused = kg.models.DCGAN(latent_dim=8, width=4, spectral_norm=True)
    fused.compile()
    two = kg.models.DCGAN(latent_dim=8, width=4)
    two.compile()
    convs = sum(isinstance(layer, keras.layers.Conv2D) for layer in fused.discriminator.layers)
    assert convs == 2
    assert _conv_ops(fused, real) == convs
    assert _conv_ops(two, real) == 2 * convs


def test_a_batch_norm_discriminator_keeps_batch_statistics_per_batch(images):
    gan = kg.models.DCGAN(latent_dim=8, width=4, seed=0)
    gan.compile()
    real, fake = tf.constant(images[:8]), tf.constant(images[8:16] * -0.5)
    twin = keras.models.clone_model(gan.discriminator)
    twin.set_weights(gan.discriminator.get_weights())
    real_out, fake_out, _ = gan.discriminator_outputs(real, fake)
    np.testing.assert_allclose(real_out.numpy(), twin(real, training=True).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fake_out.numpy(), twin(fake, training=True).numpy(), rtol=1e-5, atol=1e-6)
    # Moving statistics moved twice, as after the twin's two calls.
    for a, b in zip(gan.discriminator.non_trainable_weights, twin.non_trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
    # One call on both batches would score them differently (shared statistics).
    both = twin(tf.concat([real, fake], 0), training=True).numpy()
    assert not np.allclose(both[:8], real_out.numpy(), atol=1e-3)


def test_ada_statistics_count_the_real_half_of_a_fused_call(images):
    gan = kg.models.WGANGP(latent_dim=8, width=4, critic_steps=1, augment="ada", seed=0)
    gan.compile()
    assert gan.fuses_discriminator()
    real_out, fake_out, _ = gan.discriminator_outputs(tf.constant(images[:8]), tf.constant(images[8:14]))
    assert real_out.shape == (8, 1) and fake_out.shape == (6, 1)
    signs, count, updates = gan.ada_stats.numpy()
    assert (signs, count, updates) == (float(np.sign(real_out.numpy()).sum()), 8.0, 1.0)


@pytest.mark.parametrize("cls, kwargs", [
    (kg.models.WGANGP, {"critic_steps": 2, "critic_normalization": "layer"}),
    (kg.models.DCGAN, {"spectral_norm": True, "r1_weight": 1.0, "r1_every": 1}),
])
def test_a_fused_train_step_moves_the_weights_as_two_calls_do(cls, kwargs, images):
    fused = cls(latent_dim=8, width=4, seed=3, **kwargs)
    two = _two_calls(cls)(latent_dim=8, width=4, seed=3, **kwargs)
    assert fused.fuses_discriminator() and not two.fuses_discriminator()
    _copy_weights(fused, two)
    before = fused.get_weights()
    for gan in (fused, two):
        gan.compile(run_eagerly=True)  # no tracing: the same ops, cheaper for a tiny test
        gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0)
    for a, b in zip(fused.weights, two.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=a.path)
    assert np.mean([not np.allclose(a, b) for a, b in zip(before, fused.get_weights())]) > 0.5
