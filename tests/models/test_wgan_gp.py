"""WGANGP: critic steps, the penalty in the critic loss, defaults, saving, real training."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from tests.conftest import scaled


def tiny(seed=0, **kwargs):
    kwargs.setdefault("critic_steps", 2)
    gan = kg.models.WGANGP(latent_dim=16, image_shape=(28, 28, 1), width=8, seed=seed, **kwargs)
    gan.compile()
    return gan


@pytest.fixture(scope="module")
def real_batches(fmnist_train):
    images, _ = fmnist_train
    return tf.data.Dataset.from_tensor_slices(scaled(images[:96])).batch(24, drop_remainder=True)


def test_family_defaults():
    gan = kg.models.WGANGP(latent_dim=16, width=8)
    gan.compile()
    assert kg.models.get_family("wgan_gp") is kg.models.WGANGP
    assert (gan.family, gan.data_kind) == ("wgan_gp", "images")
    assert (gan.critic_steps, gan.gp_weight, gan.critic_normalization) == (5, 10.0, None)
    assert gan.d_loss_fn is kg.losses.wasserstein_discriminator_loss
    assert gan.g_loss_fn is kg.losses.wasserstein_generator_loss
    for opt in (gan.g_optimizer, gan.d_optimizer):
        assert isinstance(opt, keras.optimizers.Adam)
        assert float(opt.learning_rate) == pytest.approx(1e-4)
        assert (opt.beta_1, opt.beta_2) == (0.0, 0.9)
    layer_types = {type(layer).__name__ for layer in gan.discriminator.layers}
    assert "BatchNormalization" not in layer_types
    # Layer norm over C, H, W of each example (tests/networks/test_dcgan.py checks the values).
    assert "GroupNormalization" in {
        type(layer).__name__ for layer in tiny(critic_normalization="layer").discriminator.layers
    }


def test_config_round_trip_keeps_every_knob():
    gan = kg.models.WGANGP(
        latent_dim=16, width=8, critic_steps=3, gp_weight=2.5, critic_normalization="layer", seed=4
    )
    config = gan.get_config()
    assert {k: config[k] for k in ("critic_steps", "gp_weight", "critic_normalization", "width")} == {
        "critic_steps": 3, "gp_weight": 2.5, "critic_normalization": "layer", "width": 8,
    }
    clone = kg.models.WGANGP.from_config(config)
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    assert (clone.critic_steps, clone.gp_weight) == (3, 2.5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"critic_steps": 0}, "critic_steps must be a positive int"),
        ({"critic_steps": 2.5}, "critic_steps must be a positive int"),
        ({"gp_weight": -1.0}, "gp_weight must be a number >= 0"),
        ({"critic_normalization": "batch"}, "batch norm breaks the per-example gradient penalty"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kg.models.WGANGP(latent_dim=16, width=8, **kwargs)


def test_a_critic_with_batch_norm_is_refused():
    critic = kg.networks.dcgan_discriminator((28, 28, 1), width=8, normalization="batch")
    with pytest.raises(ValueError, match=r"batch normalization \(down1_norm\)"):
        kg.models.WGANGP(latent_dim=16, width=8, discriminator=critic)


def test_critic_takes_critic_steps_updates_per_generator_update_and_pays_the_penalty(real_batches):
    gan = tiny(critic_steps=3)
    history = gan.fit(real_batches, epochs=2, verbose=0)  # 4 batches per epoch
    assert int(gan.g_optimizer.iterations.numpy()) == 8
    assert int(gan.d_optimizer.iterations.numpy()) == 3 * 8
    logs = {k: np.asarray(v) for k, v in history.history.items()}
    assert set(logs) == {"d_loss", "g_loss", "wasserstein", "gradient_penalty"}
    assert all(np.isfinite(v).all() for v in logs.values())
    assert [m.name for m in gan.metrics] == ["d_loss", "g_loss", "wasserstein", "gradient_penalty"]
    # Per critic step d_loss = -wasserstein + gp_weight * penalty; the epoch
    # means keep that linear relation, so the logged penalty is the one paid.
    np.testing.assert_allclose(
        logs["d_loss"], -logs["wasserstein"] + 10.0 * logs["gradient_penalty"], rtol=1e-4, atol=1e-5
    )
    assert (logs["gradient_penalty"] > 0).all()
    # The trackers average over every critic step of the epoch.
    assert int(gan.penalty_tracker.count.numpy()) == 3 * 4


# ---------------------------------------------------------------- the model's penalty
def _linear_critic(kernel, shape=(28, 28, 1)):
    """D(x) = <w, flatten(x)>: its input gradient is w at every x."""
    x = keras.Input(shape)
    dense = keras.layers.Dense(1, use_bias=False)
    critic = keras.Model(x, dense(keras.layers.Flatten()(x)), name="linear_critic")
    dense.set_weights([kernel.reshape(-1, 1)])
    return critic


def _quadratic_critic(kernel, shape=(28, 28, 1)):
    """D(x) = 0.5 * ||W^T flatten(x)||^2: its input gradient is W W^T x."""
    x = keras.Input(shape)
    project = keras.layers.Dense(kernel.shape[1], use_bias=False)
    h = project(keras.layers.Flatten()(x))
    half_sum = keras.layers.Dense(1, use_bias=False, trainable=False)
    critic = keras.Model(x, half_sum(keras.layers.Multiply()([h, h])), name="quadratic_critic")
    project.set_weights([kernel])
    half_sum.set_weights([np.full((kernel.shape[1], 1), 0.5, "float32")])
    return critic


def _next_eps(gan, n):
    """The eps the model's next penalty draws, leaving the seed state as it was."""
    state = gan.seed_generator.state.numpy()
    eps = keras.ops.convert_to_numpy(keras.random.uniform((n, 1, 1, 1), seed=gan.seed_generator))
    gan.seed_generator.state.assign(state)
    return eps.astype("float64")


def test_model_gradient_penalty_of_a_linear_critic_is_norm_of_w_minus_one_squared():
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(28, 28, 1)).astype("float32") * 0.05
    gan = kg.models.WGANGP(latent_dim=16, width=8, discriminator=_linear_critic(kernel), seed=3)
    real = rng.uniform(-1, 1, (6, 28, 28, 1)).astype("float32")
    fake = rng.uniform(-1, 1, (6, 28, 28, 1)).astype("float32")
    expected = (np.linalg.norm(kernel.astype("float64")) - 1.0) ** 2
    assert abs(np.linalg.norm(kernel) - 1.0) > 0.1  # a penalty well away from 0
    # The same value eagerly and traced (as inside train_step), whatever eps is drawn.
    assert float(gan.gradient_penalty(real, fake)) == pytest.approx(expected, rel=1e-5)
    traced = tf.function(gan.gradient_penalty)
    assert float(traced(real, fake)) == pytest.approx(expected, rel=1e-5)
    # A unit-norm kernel pays nothing.
    unit = kg.models.WGANGP(
        latent_dim=16, width=8, discriminator=_linear_critic(kernel / np.linalg.norm(kernel)), seed=3
    )
    assert float(unit.gradient_penalty(real, fake)) == pytest.approx(0.0, abs=1e-8)


def test_model_gradient_penalty_of_a_quadratic_critic_uses_its_own_eps_draw():
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(28 * 28, 3)).astype("float32") * 0.1
    gan = kg.models.WGANGP(latent_dim=16, width=8, discriminator=_quadratic_critic(kernel), seed=5)
    real = rng.uniform(-1, 1, (5, 28, 28, 1)).astype("float32")
    fake = rng.uniform(-1, 1, (5, 28, 28, 1)).astype("float32")

    def by_hand(eps):
        x_hat = (eps * real + (1 - eps) * fake).reshape(5, -1).astype("float64")
        w = kernel.astype("float64")
        norms = np.linalg.norm(x_hat @ w @ w.T, axis=1)  # ||W W^T x_hat|| per example
        return np.mean((norms - 1.0) ** 2)

    for _ in range(2):  # two calls: each draws fresh eps from the seed state
        eps = _next_eps(gan, 5)
        assert eps.shape == (5, 1, 1, 1) and len(np.unique(eps)) == 5  # one eps per example
        before = gan.seed_generator.state.numpy()
        got = float(gan.gradient_penalty(real, fake))
        assert not np.array_equal(before, gan.seed_generator.state.numpy())  # it drew
        assert got == pytest.approx(by_hand(eps), rel=1e-4)
        # The draw matters: other coefficients give another value.
        assert abs(by_hand(1.0 - eps) - by_hand(eps)) > 1e-3 * by_hand(eps)


def test_library_penalty_takes_given_eps():
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(4 * 4, 2)).astype("float32")
    critic = _quadratic_critic(kernel, shape=(4, 4, 1))
    real = rng.uniform(-1, 1, (3, 4, 4, 1)).astype("float32")
    fake = rng.uniform(-1, 1, (3, 4, 4, 1)).astype("float32")
    eps = np.array([0.0, 0.5, 1.0], "float32").reshape(3, 1, 1, 1)
    x_hat = (eps * real + (1 - eps) * fake).reshape(3, -1).astype("float64")
    w = kernel.astype("float64")
    expected = np.mean((np.linalg.norm(x_hat @ w @ w.T, axis=1) - 1.0) ** 2)
    got = kg.losses.wasserstein_gradient_penalty(critic, real, fake, eps=eps)
    assert float(got) == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="either eps or seed"):
        kg.losses.wasserstein_gradient_penalty(critic, real, fake, seed=1, eps=eps)


class RecordingWGANGP(kg.models.WGANGP):
    """Records the real images each critic step sees (run eagerly)."""

    def critic_step(self, real, fake=None):
        self.seen.append(np.asarray(real)[:, 0, 0, 0].tolist())
        return super().critic_step(real, fake)


def test_each_critic_step_gets_its_own_chunk_of_the_batch():
    gan = RecordingWGANGP(latent_dim=16, width=8, critic_steps=3, seed=0)
    gan.compile(run_eagerly=True)
    gan.seen = []
    # Image i is filled with i / 10, so the chunks are identifiable.
    images = np.ones((7, 28, 28, 1), "float32") * (np.arange(7, dtype="float32") / 10)[:, None, None, None]
    gan.fit(tf.data.Dataset.from_tensors(images), verbose=0)
    expected = [[0.0, 0.1], [0.2, 0.3], [0.4, 0.5]]  # 7 // 3 = 2 each; the 7th is left out
    np.testing.assert_allclose(gan.seen, expected, rtol=1e-6)
    assert int(gan.g_optimizer.iterations.numpy()) == 1


def test_a_batch_smaller_than_critic_steps_is_an_error():
    gan = tiny(critic_steps=5)
    with pytest.raises(ValueError, match="a batch of 4 images cannot feed 5 critic steps"):
        gan.fit(tf.data.Dataset.from_tensors(np.zeros((4, 28, 28, 1), "float32")), verbose=0)


def test_save_load_round_trip_then_continues_identically(real_batches, tmp_path):
    gan = tiny(seed=7)
    gan.fit(real_batches.take(2), verbose=0)
    path = str(tmp_path / "wgan_gp.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)

    assert type(loaded) is kg.models.WGANGP
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(gan.get_config(), sort_keys=True)
    assert len(gan.variables) == len(loaded.variables)
    for a, b in zip(gan.variables, loaded.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for name, steps in (("g_optimizer", 2), ("d_optimizer", 4)):
        src, dst = getattr(gan, name), getattr(loaded, name)
        assert int(dst.iterations.numpy()) == steps
        assert len(src.variables) == len(dst.variables) > 2
        for a, b in zip(src.variables, dst.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{name}/{a.path}")
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), loaded.seed_generator.state.numpy())
    assert loaded.get_compile_config() == gan.get_compile_config()

    # The same next step on both: the latents and the penalty's interpolation
    # come from the restored seed state, so the weights stay equal.
    one = real_batches.skip(2).take(1)
    gan.fit(one, verbose=0)
    loaded.fit(one, verbose=0)
    assert int(loaded.d_optimizer.iterations.numpy()) == 6
    assert len(gan.variables) == len(loaded.variables)
    for a, b in zip(gan.variables, loaded.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, err_msg=a.path)


def test_short_training_on_fashion_mnist_moves_the_wasserstein_estimate(fmnist_train):
    images, _ = fmnist_train
    keras.utils.set_random_seed(0)  # the initial weights too: seed=0 fixes only the training noise
    gan = kg.models.WGANGP(latent_dim=16, width=8, seed=0)
    gan.compile()
    data = kg.data.to_pipeline(images[:20000], batch_size=160, seed=0)  # 5 critic steps of 32
    history = gan.fit(data, epochs=3, steps_per_epoch=15, verbose=0)
    logs = {k: np.asarray(v) for k, v in history.history.items()}
    assert all(np.isfinite(v).all() for v in logs.values())
    # The critic learns to separate real from fake: the estimate grows while
    # the penalty pulls its gradient norm toward 1 and shrinks. Measured over
    # four runs (epoch means): estimate 0.0 -> 5.9, 0.7 -> 7.2, 0.0 -> 0.75,
    # 0.25 -> 1.8; penalty 0.5 -> 0.1..0.25.
    assert logs["wasserstein"][2] > logs["wasserstein"][0] + 0.3
    assert logs["gradient_penalty"][2] < logs["gradient_penalty"][0]
    assert logs["d_loss"][2] < logs["d_loss"][0]
    assert int(gan.d_optimizer.iterations.numpy()) == 5 * 45
