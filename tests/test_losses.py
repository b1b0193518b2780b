"""Every loss in keras_gans.losses against values computed by hand with numpy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gans import losses

REAL = np.array([[2.0], [-1.0], [0.5], [3.0]], "float32")
FAKE = np.array([[-2.0], [1.5], [0.0], [-0.5]], "float32")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype("float64")))


def close(value, expected):
    assert float(value) == pytest.approx(float(expected), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_minimax_discriminator_loss(smoothing):
    target = 1.0 - smoothing
    p_real, p_fake = sigmoid(REAL), sigmoid(FAKE)
    expected = np.mean(-target * np.log(p_real) - (1 - target) * np.log(1 - p_real)) + np.mean(
        -np.log(1 - p_fake)
    )
    close(losses.minimax_discriminator_loss(REAL, FAKE, label_smoothing=smoothing), expected)


def test_minimax_discriminator_loss_at_zero_logits_is_two_log_two():
    close(losses.minimax_discriminator_loss([[0.0]], [[0.0]]), 2 * np.log(2))


def test_minimax_generator_loss():
    # The saturating loss the generator minimizes: mean(log(1 - D(G(z)))).
    close(losses.minimax_generator_loss(FAKE), np.mean(np.log(1 - sigmoid(FAKE))))


def test_modified_generator_loss():
    close(losses.modified_generator_loss(FAKE), np.mean(-np.log(sigmoid(FAKE))))


def test_least_squares_losses():
    close(
        losses.least_squares_discriminator_loss(REAL, FAKE),
        0.5 * np.mean((REAL - 1) ** 2) + 0.5 * np.mean(FAKE**2),
    )
    close(losses.least_squares_generator_loss(FAKE), 0.5 * np.mean((FAKE - 1) ** 2))


def test_wasserstein_losses():
    close(losses.wasserstein_discriminator_loss(REAL, FAKE), FAKE.mean() - REAL.mean())
    close(losses.wasserstein_generator_loss(FAKE), -FAKE.mean())


def test_hinge_losses():
    close(
        losses.hinge_discriminator_loss(REAL, FAKE),
        np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)),
    )
    close(losses.hinge_generator_loss(FAKE), -FAKE.mean())


def test_cycle_and_identity_losses():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (3, 4, 4, 2)).astype("float32")
    b = rng.uniform(-1, 1, (3, 4, 4, 2)).astype("float32")
    close(losses.cycle_consistency_loss(a, b), np.abs(a - b).mean())
    close(losses.identity_loss(a, b), np.abs(a - b).mean())
    close(losses.cycle_consistency_loss(a, a), 0.0)


def test_losses_are_float32_scalars_under_bfloat16_inputs():
    out = losses.modified_generator_loss(tf.constant(FAKE, tf.bfloat16))
    assert out.shape == () and out.dtype == tf.float32


def test_get_returns_the_named_pairs():
    assert losses.get("wasserstein") == (
        losses.wasserstein_discriminator_loss,
        losses.wasserstein_generator_loss,
    )
    assert losses.get("non_saturating")[1] is losses.modified_generator_loss
    assert losses.get("minimax")[1] is losses.minimax_generator_loss
    with pytest.raises(ValueError, match="Unknown GAN loss 'wasserstien'"):
        losses.get("wasserstien")


# ---------------------------------------------------------------- gradient penalty
def linear_critic(weights):
    critic = keras.Sequential([keras.Input((len(weights),)), keras.layers.Dense(1, use_bias=False)])
    critic.layers[0].set_weights([np.asarray(weights, "float32")[:, None]])
    return critic


def test_penalty_of_a_linear_critic_is_norm_minus_one_squared():
    # grad_x (w . x) = w everywhere, so the penalty is (||w|| - 1)^2 whatever eps is.
    rng = np.random.default_rng(0)
    real = rng.normal(size=(16, 3)).astype("float32")
    fake = rng.normal(size=(16, 3)).astype("float32")
    weights = [1.0, 2.0, 2.0]  # ||w|| = 3
    penalty = losses.wasserstein_gradient_penalty(linear_critic(weights), real, fake, seed=1)
    close(penalty, (3.0 - 1.0) ** 2)
    unit = linear_critic([0.6, 0.8])  # ||w|| = 1: no penalty
    assert float(losses.wasserstein_gradient_penalty(unit, real[:, :2], fake[:, :2], seed=1)) < 1e-10


def test_penalty_of_a_quadratic_critic_at_known_points():
    # critic(x) = sum(x^2) has gradient 2x. With real == fake, x_hat = real for
    # every eps, so each example's gradient norm is 2 ||x_i||.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 2, 3, 1)).astype("float32")
    critic = lambda v: tf.reduce_sum(tf.square(v), axis=[1, 2, 3])  # noqa: E731
    norms = 2 * np.sqrt((x.astype("float64") ** 2).sum(axis=(1, 2, 3)))
    close(losses.wasserstein_gradient_penalty(critic, x, x, seed=3), np.mean((norms - 1) ** 2))
    # The target is the norm the penalty pulls toward.
    close(
        losses.wasserstein_gradient_penalty(critic, x, x, seed=3, target=2.0),
        np.mean((norms - 2) ** 2),
    )


def test_penalty_interpolates_with_one_uniform_eps_per_example():
    # real = 1, fake = 0 in d dims and critic sum(x^2): x_hat = eps per example,
    # ||grad|| = 2 eps sqrt(d), so E[penalty] = a^2/3 - a + 1 with a = 2 sqrt(d)
    # when eps ~ U[0, 1] independently per example.
    n, d = 20000, 4
    real, fake = np.ones((n, d), "float32"), np.zeros((n, d), "float32")
    critic = lambda v: tf.reduce_sum(tf.square(v), axis=1)  # noqa: E731
    a = 2 * np.sqrt(d)
    expected = a**2 / 3 - a + 1
    values = [
        float(losses.wasserstein_gradient_penalty(critic, real, fake, seed=s)) for s in range(3)
    ]
    # Standard error of the mean is ~0.02 here; one eps per batch would spread
    # the three values over [0, 9].
    for value in values:
        assert value == pytest.approx(expected, abs=0.1)


def test_penalty_noise_comes_from_the_seed_generator():
    n, d = 64, 2
    real, fake = np.ones((n, d), "float32"), np.zeros((n, d), "float32")
    critic = lambda v: tf.reduce_sum(tf.square(v), axis=1)  # noqa: E731
    first = keras.random.SeedGenerator(7)
    again = keras.random.SeedGenerator(7)
    p1 = float(losses.wasserstein_gradient_penalty(critic, real, fake, seed=first))
    p2 = float(losses.wasserstein_gradient_penalty(critic, real, fake, seed=first))
    p3 = float(losses.wasserstein_gradient_penalty(critic, real, fake, seed=again))
    assert p1 == p3  # same seed state, same eps
    assert p1 != p2  # the generator advanced


def test_penalty_gradient_reaches_the_critic_weights():
    # The critic is trained on the penalty, so it must be differentiable in the
    # critic's weights (a second-order gradient): d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||.
    critic = linear_critic([3.0, 4.0])
    x = np.zeros((4, 2), "float32")
    with tf.GradientTape() as tape:
        penalty = losses.wasserstein_gradient_penalty(critic, x, x)
    (grad,) = tape.gradient(penalty, critic.trainable_variables)
    np.testing.assert_allclose(grad.numpy()[:, 0], 2 * (5 - 1) * np.array([3, 4]) / 5, rtol=1e-5)


def test_penalty_rejects_mismatched_shapes():
    critic = linear_critic([1.0, 1.0])
    with pytest.raises(ValueError, match="same shape"):
        losses.wasserstein_gradient_penalty(critic, np.zeros((4, 2)), np.zeros((3, 2)))
