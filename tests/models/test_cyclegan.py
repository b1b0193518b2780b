"""CycleGAN: losses, image pool, schedule, four optimizers, saving, and real translation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.models import LinearDecay
from keras_gans.models.cyclegan import query_image_pool
from tests.conftest import changed, scaled, weights_of

SNEAKER, ANKLE_BOOT = 7, 9


def tiny(**kwargs):
    """A small CycleGAN on 28x28x1 (the docstring's test configuration)."""
    kwargs = {"width": 8, "n_blocks": 2, "discriminator_layers": 2, "seed": 0, **kwargs}
    return kg.models.CycleGAN(image_shape=(28, 28, 1), **kwargs)


def uniform(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


# ---------------------------------------------------------------- optimizers
def test_auto_optimizers_are_four_adams_with_the_decay():
    gan = tiny(decay_steps=1000)
    gan.compile()
    opts = gan.optimizers()
    assert list(opts) == ["g_optimizer", "d_optimizer", "g_ba_optimizer", "d_a_optimizer"]
    assert len({id(o) for o in opts.values()}) == 4
    for opt in opts.values():
        assert isinstance(opt, keras.optimizers.Adam)
        assert opt.beta_1 == pytest.approx(0.5)
        assert isinstance(opt._learning_rate, LinearDecay)
        assert opt._learning_rate.total_steps == 1000 and opt._learning_rate.decay_start == 500
    constant = tiny()
    constant.compile()
    assert float(constant.d_a_optimizer.learning_rate) == pytest.approx(2e-4)


# ---------------------------------------------------------------- networks with known outputs
def scaling_net(factor, shape, name):
    inputs = keras.Input(shape)
    return keras.Model(inputs, keras.layers.Rescaling(factor)(inputs), name=name)


def affine_critic(weight, bias, shape, name):
    inputs = keras.Input(shape)
    conv = keras.layers.Conv2D(1, 1)
    model = keras.Model(inputs, conv(inputs), name=name)
    conv.set_weights([np.full((1, 1, 1, 1), weight, "float32"), np.array([bias], "float32")])
    return model


def linear_cyclegan(shape, **kwargs):
    """G(x) = 0.5 x, F(x) = -x, D_B(x) = 2 x, D_A(x) = x + 0.5 on images of ``shape``."""
    return kg.models.CycleGAN(
        generator=scaling_net(0.5, shape, "g"),
        generator_ba=scaling_net(-1.0, shape, "f"),
        discriminator=affine_critic(2.0, 0.0, shape, "d_b"),
        discriminator_a=affine_critic(1.0, 0.5, shape, "d_a"),
        **kwargs,
    )


# ---------------------------------------------------------------- image pool
def reference_pool(pool, count, images, swap, slots):
    """The paper's pool, one image at a time (as the reference code does it)."""
    pool, out = pool.copy(), []
    for image, flip, slot in zip(images, swap, slots):
        if count < len(pool):
            pool[count] = image
            count += 1
            out.append(image)
        elif flip:
            out.append(pool[slot].copy())
            pool[slot] = image
        else:
            out.append(image)
    return np.stack(out), pool, count


def test_query_image_pool_matches_the_sequential_reference():
    rng = np.random.default_rng(0)
    for trial in range(40):
        size = int(rng.integers(1, 6))
        batch = int(rng.integers(1, 9))
        count = int(rng.integers(0, size + 1))
        pool = rng.normal(size=(size, 2, 2, 1)).astype("float32")
        images = rng.normal(size=(batch, 2, 2, 1)).astype("float32")
        swap = rng.random(batch) > 0.5
        slots = rng.integers(0, size, batch).astype("int32")
        want = reference_pool(pool, count, images, swap, slots)
        got = query_image_pool(pool, count, images, swap, slots)
        np.testing.assert_array_equal(got[0].numpy(), want[0], err_msg=f"trial {trial}")
        np.testing.assert_array_equal(got[1].numpy(), want[1], err_msg=f"trial {trial}")
        assert int(got[2]) == want[2]


def test_model_pool_fills_then_returns_stored_images_about_half_the_time():
    shape = (1, 1, 1)
    gan = linear_cyclegan(shape, pool_size=6, seed=5)
    seen = []
    first = np.arange(1, 5, dtype="float32").reshape(4, *shape)
    out = gan.query_pool(first, "b").numpy()
    np.testing.assert_array_equal(out, first)  # filling: passed through and stored
    assert int(gan.pool_b_count.numpy()) == 4 and int(gan.pool_a_count.numpy()) == 0
    np.testing.assert_array_equal(gan.pool_b.numpy()[:4, 0, 0, 0], [1, 2, 3, 4])
    seen += first.ravel().tolist()
    swapped = 0
    for step in range(30):
        before = set(gan.pool_b.numpy()[: int(gan.pool_b_count.numpy()), 0, 0, 0].tolist())
        new = np.arange(10 + 4 * step, 14 + 4 * step, dtype="float32").reshape(4, *shape)
        out = gan.query_pool(new, "b").numpy().ravel()
        for value, fresh in zip(out, new.ravel()):
            if value != fresh:
                swapped += 1
                # A returned old image was in the pool (or stored by this batch).
                assert value in before or value in new.ravel()
        seen += new.ravel().tolist()
        stored = gan.pool_b.numpy()[:, 0, 0, 0]
        assert set(stored.tolist()) <= set(seen)
        assert len(set(stored.tolist())) == 6  # every slot holds a distinct image
    assert int(gan.pool_b_count.numpy()) == 6
    assert 0.3 < swapped / (30 * 4 - 2) < 0.7  # a fair coin once full


def test_pool_size_zero_passes_images_through():
    gan = tiny(pool_size=0)
    images = uniform((3, 28, 28, 1), 0)
    np.testing.assert_array_equal(gan.query_pool(images, "a").numpy(), images)
    assert gan.pool_a.shape == (0, 28, 28, 1)


# ---------------------------------------------------------------- losses
@pytest.fixture(scope="module")
def linear_gan():
    """G(x) = 0.5 x, F(x) = -x, D_B(x) = 2 x, D_A(x) = x + 0.5: losses by hand."""
    gan = linear_cyclegan((4, 4, 1), cycle_weight=10.0, identity_weight=0.5)
    gan.compile()
    return gan


def hand_losses(a, b):
    lsq_g = lambda d: 0.5 * np.mean((d - 1.0) ** 2)  # noqa: E731
    fake_b, fake_a = 0.5 * a, -b
    adversarial = lsq_g(2.0 * fake_b) + lsq_g(fake_a + 0.5)
    cycle = np.mean(np.abs(a - (-fake_b))) + np.mean(np.abs(b - 0.5 * fake_a))
    identity = np.mean(np.abs(b - 0.5 * b)) + np.mean(np.abs(a - (-a)))
    d_b = 0.5 * np.mean((2.0 * b - 1.0) ** 2) + 0.5 * np.mean((2.0 * fake_b) ** 2)
    d_a = 0.5 * np.mean((a + 0.5 - 1.0) ** 2) + 0.5 * np.mean((fake_a + 0.5) ** 2)
    return adversarial, cycle, identity, d_a + d_b


def test_generator_losses_match_hand_computed_values(linear_gan):
    a, b = uniform((3, 4, 4, 1), 1), uniform((3, 4, 4, 1), 2)
    adversarial, cycle, identity, _ = hand_losses(a, b)
    # cycle = mean|1.5 a| + mean|1.5 b|, identity = mean|0.5 b| + mean|2 a|
    np.testing.assert_allclose(cycle, 1.5 * (np.abs(a).mean() + np.abs(b).mean()), rtol=1e-6)
    terms = linear_gan.generator_losses(tf.constant(a), tf.constant(b))
    np.testing.assert_allclose(float(terms["adversarial"]), adversarial, rtol=1e-5)
    np.testing.assert_allclose(float(terms["cycle"]), cycle, rtol=1e-5)
    np.testing.assert_allclose(float(terms["identity"]), identity, rtol=1e-5)
    np.testing.assert_allclose(
        float(terms["total"]), adversarial + 10.0 * cycle + 0.5 * 10.0 * identity, rtol=1e-5
    )
    np.testing.assert_allclose(terms["fake_b"].numpy(), 0.5 * a, rtol=1e-6)
    np.testing.assert_allclose(terms["fake_a"].numpy(), -b, rtol=1e-6)


def test_metrics_of_an_evaluation_step_match_hand_computed_values(linear_gan):
    a, b = uniform((5, 4, 4, 1), 3), uniform((5, 4, 4, 1), 4)
    adversarial, cycle, identity, d_loss = hand_losses(a, b)
    for m in linear_gan.metrics:
        m.reset_state()
    logs = linear_gan.test_step((tf.constant(a), tf.constant(b)))
    assert list(logs) == ["d_loss", "g_loss", "cycle_loss", "identity_loss"]
    np.testing.assert_allclose(
        [float(logs[k]) for k in logs], [d_loss, adversarial, cycle, identity], rtol=1e-5
    )


def test_identity_weight_zero_drops_the_identity_term():
    shape = (4, 4, 1)
    gan = linear_cyclegan(shape, cycle_weight=3.0, identity_weight=0.0)
    gan.compile()
    a, b = uniform((2, *shape), 5), uniform((2, *shape), 6)
    adversarial, cycle, _, _ = hand_losses(a, b)
    terms = gan.generator_losses(tf.constant(a), tf.constant(b))
    assert float(terms["identity"]) == 0.0
    np.testing.assert_allclose(float(terms["total"]), adversarial + 3.0 * cycle, rtol=1e-5)


# ---------------------------------------------------------------- training step
def test_train_step_moves_all_four_networks_and_fills_the_pools(fmnist_train):
    images, labels = fmnist_train
    a = scaled(images[labels == SNEAKER][:4])
    b = scaled(images[labels == ANKLE_BOOT][:4])
    gan = tiny(pool_size=10)
    gan.compile()
    nets = [gan.generator, gan.generator_ba, gan.discriminator, gan.discriminator_a]
    before = [weights_of(n) for n in nets]
    logs = gan.train_step((tf.constant(a), tf.constant(b)))
    for net, old in zip(nets, before):
        trainable = {v.path for v in net.trainable_variables}
        assert trainable and trainable <= changed(old, weights_of(net)), net.name
    for name, opt in gan.optimizers().items():
        assert int(opt.iterations.numpy()) == 1, name
    assert int(gan.pool_a_count.numpy()) == int(gan.pool_b_count.numpy()) == 4
    # The pools hold this step's translations: F(b) for D_A, G(a) for D_B.
    assert np.abs(gan.pool_b.numpy()[:4]).max() > 0 and np.abs(gan.pool_a.numpy()[4:]).max() == 0
    assert set(logs) == {"d_loss", "g_loss", "cycle_loss", "identity_loss"}
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_train_step_under_mixed_float16_scales_losses_inside_the_tape():
    # Four loss-scale optimizers, two of them sharing one objective.
    gan = tiny(precision="mixed_float16", n_blocks=1)
    gan.compile()
    assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in gan.optimizers().values())
    nets = [gan.generator, gan.generator_ba, gan.discriminator, gan.discriminator_a]
    before = [weights_of(n) for n in nets]
    batch = (tf.constant(uniform((2, 28, 28, 1), 0)), tf.constant(uniform((2, 28, 28, 1), 1)))
    steps = 3
    for _ in range(steps):
        logs = gan.train_step(batch)
    for net, old in zip(nets, before):
        assert {v.path for v in net.trainable_variables} <= changed(old, weights_of(net)), net.name
    # A step whose scaled gradients overflow is skipped and halves the scale
    # (the generators' first one does, at the initial scale of 2**15), so
    # every optimizer's steps plus its halvings add up to the steps taken.
    for name, opt in gan.optimizers().items():
        halvings = round(np.log2(32768.0 / float(opt.dynamic_scale.numpy())))
        assert int(opt.iterations.numpy()) + halvings == steps, name
        assert int(opt.iterations.numpy()) >= 1, name
    assert all(np.isfinite(float(v)) for v in logs.values())


DISTRIBUTED = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, keras_gans as kg
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
rng = np.random.default_rng(0)
a, b = rng.uniform(-1, 1, (2, 16, 28, 28, 1)).astype("float32")
ds = tf.data.Dataset.from_tensor_slices((a, b)).batch(8, drop_remainder=True)
with strategy.scope():
    gan = kg.models.CycleGAN(width=4, n_blocks=1, discriminator_layers=1, pool_size=6, seed=0)
    gan.compile()
gan.fit(ds, epochs=2, verbose=0)
assert [int(o.iterations.numpy()) for o in gan.optimizers().values()] == [4] * 4
replicas = [v.numpy() for v in gan.pool_a.value.values]
assert [int(c.numpy()) for c in gan.pool_a_count.value.values] == [6, 6]
assert not np.allclose(replicas[0], replicas[1])  # each replica pools its own images
gan.save(PATH)
with strategy.scope():
    loaded = keras.saving.load_model(PATH)
assert all(np.array_equal(v.numpy(), replicas[0]) for v in loaded.pool_a.value.values)
loaded.fit(ds, epochs=1, verbose=0)
assert int(loaded.d_a_optimizer.iterations.numpy()) == 6
print("OK")
"""


@pytest.mark.slow
def test_training_under_a_mirrored_strategy_keeps_a_pool_per_replica(tmp_path):
    import subprocess
    import sys

    # Two logical CPU devices must be set before TensorFlow starts: a fresh process.
    script = DISTRIBUTED.replace("PATH", repr(str(tmp_path / "m.keras")))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-3000:]


def test_fit_refuses_batches_that_are_not_pairs():
    gan = tiny()
    gan.compile()
    images = tf.data.Dataset.from_tensor_slices(uniform((4, 28, 28, 1), 0)).batch(2)
    with pytest.raises(ValueError, match="load_unpaired"):
        gan.fit(images, epochs=1, verbose=0)


# ---------------------------------------------------------------- translation API
def test_translate_runs_the_right_generator_in_batches():
    gan = tiny()
    x = uniform((5, 28, 28, 1), 7)
    a2b = gan.translate(x, batch_size=2)
    np.testing.assert_allclose(a2b, gan.generator(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gan(x).numpy(), a2b, rtol=1e-5, atol=1e-6)  # call is A -> B
    b2a = gan.translate(x, direction="b2a")
    np.testing.assert_allclose(b2a, gan.generator_ba(x).numpy(), rtol=1e-5, atol=1e-6)
    assert a2b.dtype == np.float32 and a2b.shape == x.shape
    assert not np.allclose(a2b, b2a)


@pytest.mark.parametrize(
    "images, kwargs, message",
    [
        (np.zeros((2, 32, 32, 1), "float32"), {}, "shape"),
        (np.zeros((28, 28, 1), "float32"), {}, "shape"),
        (np.zeros((0, 28, 28, 1), "float32"), {}, "shape"),
        (np.zeros((2, 28, 28, 1), "uint8"), {}, "x / 127.5 - 1"),
        (np.full((2, 28, 28, 1), 1.5, "float32"), {}, "\\[-1, 1\\]"),
        (np.full((2, 28, 28, 1), np.nan, "float32"), {}, "\\[-1, 1\\]"),
        (np.zeros((2, 28, 28, 1), "float32"), {"direction": "ab"}, "'a2b' or 'b2a'"),
        (np.zeros((2, 28, 28, 1), "float32"), {"batch_size": 0}, "batch_size"),
    ],
)
def test_translate_rejects_bad_input(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny().translate(images, **kwargs)


def test_generate_points_to_translate():
    gan = tiny()
    with pytest.raises(ValueError, match="translate"):
        gan.generate(4, seed=0)
    with pytest.raises(ValueError, match="translate"):
        gan.sample_latent(4)


def test_preview_interleaves_inputs_and_translations():
    gan = tiny()
    x = uniform((8, 28, 28, 1), 8)
    grid = gan.preview(64, seed=0, inputs=x)
    assert grid.shape == (16, 28, 28, 1)
    np.testing.assert_array_equal(grid[0::2], x)
    np.testing.assert_allclose(grid[1::2], gan.translate(x), rtol=1e-5, atol=1e-6)
    assert gan.preview(6, inputs=x).shape == (6, 28, 28, 1)  # 3 inputs, 3 translations
    with pytest.raises(ValueError, match="pass inputs="):
        gan.preview(16)


# ---------------------------------------------------------------- construction
def test_default_network_sizes_match_the_docstring_table():
    defaults = kg.models.CycleGAN()
    assert defaults.image_shape == (28, 28, 1)
    assert defaults.generator.count_params() == 1_956_929
    assert defaults.discriminator.count_params() == 692_769
    small = tiny()
    assert small.generator_ba.count_params() == 49_169
    assert small.discriminator_a.count_params() == 10_889
    assert small.discriminator.output_shape == (None, 7, 7, 1)  # a map of patch scores
    assert small.generator.output_shape == (None, 28, 28, 1)
    assert small.latent_dim is None and small.family == "cyclegan" and small.data_kind == "unpaired"
    assert kg.models.get_family("cyclegan") is kg.models.CycleGAN


def test_config_round_trip_keeps_every_knob():
    gan = kg.models.CycleGAN(
        image_shape=(32, 32, 3), width=4, n_blocks=1, n_downsamplings=1, discriminator_layers=1,
        cycle_weight=5.0, identity_weight=0.0, pool_size=3, decay_steps=400, seed=9,
    )
    config = gan.get_config()
    assert "latent_dim" not in config
    clone = kg.models.CycleGAN.from_config(config)
    assert clone.get_config() == config
    for key in ("generator", "generator_ba", "discriminator", "discriminator_a"):
        assert getattr(clone, key).count_params() == getattr(gan, key).count_params()
    assert clone.pool_b.shape == (3, 32, 32, 3)
    assert (clone.cycle_weight, clone.identity_weight, clone.decay_steps) == (5.0, 0.0, 400)


def test_constructor_errors():
    shape = (4, 4, 1)
    g = scaling_net(0.5, shape, "g")
    with pytest.raises(ValueError, match="no latent space"):
        kg.models.CycleGAN(latent_dim=8)
    with pytest.raises(ValueError, match="the same model as generator"):
        kg.models.CycleGAN(generator=g, generator_ba=g)
    with pytest.raises(ValueError, match="generator_ba takes images of shape \\(8, 8, 1\\)"):
        kg.models.CycleGAN(generator=g, generator_ba=scaling_net(1.0, (8, 8, 1), "f"), width=4)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*n_downsamplings = 4"):
        kg.models.CycleGAN(image_shape=(30, 30, 1), width=4)
    with pytest.raises(ValueError, match="pool_size"):
        kg.models.CycleGAN(pool_size=-1)
    with pytest.raises(ValueError, match="decay_steps"):
        kg.models.CycleGAN(decay_steps=0)


def test_compile_config_round_trip_restores_all_four_optimizers():
    gan = tiny()
    gan.compile(
        g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.1),
        d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.2),
        g_ba_optimizer=keras.optimizers.Adam(LinearDecay(3e-3, 50), beta_1=0.3),
        d_a_optimizer=keras.optimizers.SGD(4e-3),
        loss="hinge",
    )
    clone = kg.models.CycleGAN.from_config(gan.get_config())
    clone.compile_from_config(gan.get_compile_config())
    assert clone.loss_spec == "hinge"
    for name, opt in clone.optimizers().items():
        original = gan.optimizers()[name]
        assert type(opt) is type(original) and opt.built, name
        assert opt.get_config() == original.get_config(), name
    assert isinstance(clone.g_ba_optimizer._learning_rate, LinearDecay)
    with pytest.raises(ValueError, match="separate optimizer"):
        shared = keras.optimizers.Adam()
        tiny().compile(g_optimizer=shared, g_ba_optimizer=shared)


# ---------------------------------------------------------------- real training
@pytest.fixture(scope="module")
def fmnist_classifier():
    """The zoo's Fashion-MNIST classifier (``classifier.fashion_mnist``, from the checkout)."""
    return kg.zoo.classifier_extractor()


def boot_fraction(classifier, images):
    return float(np.mean(classifier.classify(images) == ANKLE_BOOT))


TRAIN_STEPS = 200


@pytest.fixture(scope="module")
def trained(fmnist_train, fmnist_test, fmnist_classifier):
    """Sneakers -> ankle boots, 200 steps of batch 8 on the train split.

    Identity loss off and Adam at 1e-3: the identity term holds G near the
    identity map for the first hundreds of steps, too long for a test.
    Measured fractions of 500 test sneakers the zoo classifier calls ankle
    boots: 0.012 as they are, 0.0 through the untrained G, 0.972 after
    training.
    """
    test_images, test_labels = fmnist_test
    sneakers = scaled(test_images[test_labels == SNEAKER][:500])
    keras.utils.set_random_seed(1)
    gan = kg.models.CycleGAN(
        image_shape=(28, 28, 1), width=8, n_blocks=1, discriminator_layers=2,
        cycle_weight=5.0, identity_weight=0.0, pool_size=50, seed=0,
    )
    # The rate decays from step 100 and is still half at the end, so the
    # resumed training in the saving test moves the weights.
    gan.compile(*[keras.optimizers.Adam(LinearDecay(1e-3, 300, 100), beta_1=0.5) for _ in range(4)])
    result = {
        "raw": boot_fraction(fmnist_classifier, sneakers),
        "before": boot_fraction(fmnist_classifier, gan.translate(sneakers)),
        "weights": [weights_of(n) for n in (gan.generator, gan.generator_ba, gan.discriminator, gan.discriminator_a)],
    }
    ds = kg.data.load_unpaired(fmnist_train, classes=(SNEAKER, ANKLE_BOOT), batch_size=8, seed=0)
    result["history"] = gan.fit(ds.take(TRAIN_STEPS), epochs=1, verbose=0).history
    result["after"] = boot_fraction(fmnist_classifier, gan.translate(sneakers))
    result["after_b2a"] = gan.translate(scaled(test_images[test_labels == ANKLE_BOOT][:500]), "b2a")
    result["gan"] = gan
    return result


def test_training_translates_sneakers_into_ankle_boots(trained, fmnist_classifier):
    print(f"boot fraction: raw {trained['raw']:.3f} before {trained['before']:.3f} after {trained['after']:.3f}")
    assert trained["raw"] < 0.1 and trained["before"] < 0.1
    assert trained["after"] > 0.5
    assert trained["after"] - max(trained["raw"], trained["before"]) > 0.4
    # The other direction learned too: boots become something else.
    assert boot_fraction(fmnist_classifier, trained["after_b2a"]) < 0.5


def test_fit_steps_all_four_optimizers_once_per_batch(trained):
    gan = trained["gan"]
    history = trained["history"]
    assert set(history) == {"d_loss", "g_loss", "cycle_loss", "identity_loss"}
    assert history["identity_loss"] == [0.0]
    assert history["cycle_loss"][0] < 1.0 and np.isfinite(history["d_loss"][0])
    for name, opt in gan.optimizers().items():
        assert int(opt.iterations.numpy()) >= TRAIN_STEPS, name
    nets = (gan.generator, gan.generator_ba, gan.discriminator, gan.discriminator_a)
    for net, old in zip(nets, trained["weights"]):
        assert {v.path for v in net.trainable_variables} <= changed(old, weights_of(net)), net.name
    assert int(gan.pool_a_count.numpy()) == int(gan.pool_b_count.numpy()) == 50
    assert gan.cycle_tracker.count.numpy() == TRAIN_STEPS  # reset each epoch


def test_save_load_restores_everything_and_training_continues_identically(trained, fmnist_train, tmp_path):
    gan = trained["gan"]
    path = str(tmp_path / "cyclegan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is kg.models.CycleGAN and loaded.compiled

    assert [v.path for v in loaded.variables] == [v.path for v in gan.variables]
    assert len(gan.variables) == len(loaded.variables)
    for a, b in zip(gan.variables, loaded.variables):  # networks and both pools
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for name, opt in gan.optimizers().items():
        restored = loaded.optimizers()[name]
        assert int(restored.iterations.numpy()) == int(opt.iterations.numpy()) >= TRAIN_STEPS
        assert len(restored.variables) == len(opt.variables) > 2
        for a, b in zip(opt.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{name}/{a.path}")
        assert float(restored.learning_rate) == pytest.approx(float(opt.learning_rate))
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), loaded.seed_generator.state.numpy())

    images, labels = fmnist_train
    a = scaled(images[labels == SNEAKER][:24])
    b = scaled(images[labels == ANKLE_BOOT][:24])
    # drop_remainder: the same static batch shape as in training, so the
    # original model's compiled step is reused.
    ds = tf.data.Dataset.from_tensor_slices((a, b)).batch(8, drop_remainder=True)
    before = weights_of(gan.generator)
    gan.fit(ds, epochs=1, verbose=0)
    loaded.fit(ds, epochs=1, verbose=0)
    assert changed(before, weights_of(gan.generator))
    for net in ("generator", "generator_ba", "discriminator", "discriminator_a"):
        for x, y in zip(getattr(gan, net).weights, getattr(loaded, net).weights):
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-4, atol=1e-5, err_msg=x.path)
    np.testing.assert_allclose(gan.pool_b.numpy(), loaded.pool_b.numpy(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- a schedule that has ended
def test_fit_refuses_to_train_past_the_end_of_the_decay(tmp_path):
    """A finished run (the LinearDecay at 0) resumed with more epochs: refused before any step."""
    gan = tiny(width=4, n_blocks=1, pool_size=4, decay_steps=2)
    gan.compile()
    pairs = (uniform((4, 28, 28, 1), 1), uniform((4, 28, 28, 1), 2))
    ds = tf.data.Dataset.from_tensor_slices(pairs).batch(2)
    gan.fit(ds, epochs=1, verbose=0)  # steps 0 and 1: the whole schedule
    assert float(gan.g_optimizer.learning_rate) == 0.0
    path = str(tmp_path / "finished.keras")
    gan.save(path)
    resumed = keras.saving.load_model(path)
    before = weights_of(resumed)
    with pytest.raises(ValueError) as info:
        resumed.fit(ds, epochs=2, initial_epoch=1, verbose=0)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert message.startswith(
        "g_optimizer is at step 2 but its LinearDecay schedule reached learning rate 0 at step 2"
    )
    assert "start a new run whose decay_steps covers all its steps" in message
    assert "gan.compile()" in message
    assert not changed(before, weights_of(resumed))
    assert {int(o.iterations.numpy()) for o in resumed.optimizers().values()} == {2}
    # A fit that runs no epoch is not refused; the named fix (fresh optimizers) trains.
    resumed.fit(ds, epochs=1, initial_epoch=1, verbose=0)
    resumed.compile()
    resumed.fit(ds, epochs=1, verbose=0)
    moved = changed(before, weights_of(resumed))
    assert moved & {v.path for v in resumed.generator.trainable_variables}
