"""CycleGAN with the shared stabilizers: both EMA generators, spectral norm in both
discriminators, R1 on each domain's reals, DiffAugment/ADA before every discriminator call."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.networks.spectral_norm import spectral_layers
from tests.conftest import changed, scaled, weights_of
from tests.models.test_cyclegan import ANKLE_BOOT, SNEAKER

SHAPE = (16, 16, 1)
ALL_ON = {"ema_decay": 0.9, "spectral_norm": True, "r1_weight": 1.0, "r1_every": 2,
          "augment": "translation,cutout,color"}


def tiny(seed=0, compile_kwargs=None, **kwargs):
    """A CycleGAN on 16x16x1 small enough for eager steps in a test."""
    kwargs = {"width": 4, "n_blocks": 1, "discriminator_layers": 2, "pool_size": 4, **kwargs}
    gan = kg.models.CycleGAN(image_shape=SHAPE, seed=seed, **kwargs)
    gan.compile(**(compile_kwargs or {}))
    return gan


@pytest.fixture(scope="module")
def domains(fmnist_train):
    """16 sneakers (A) and 16 ankle boots (B) of the train split, resized to 16x16, in [-1, 1]."""
    images, labels = fmnist_train

    def resized(cls):
        x = scaled(images[labels == cls][:16])
        return np.clip(tf.image.resize(x, SHAPE[:2], antialias=True).numpy(), -1.0, 1.0)

    return resized(SNEAKER), resized(ANKLE_BOOT)


@pytest.fixture(scope="module")
def pairs(domains):
    """Four batches of 4 (a, b) pairs."""
    return tf.data.Dataset.from_tensor_slices(domains).batch(4)


def probe_critic(name, bias=None):
    """D(x) = a 1x1 convolution of x (``bias`` alone when given), behind a layer that
    records, eagerly, every batch D is shown."""
    images = keras.Input(SHAPE)
    probe = Probe()
    conv = keras.layers.Conv2D(1, 1) if bias is None else keras.layers.Conv2D(
        1, 1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(bias))
    model = keras.Model(images, conv(probe(images)), name=name)
    model.probe = probe
    return model


class Probe(keras.layers.Layer):
    """The identity, keeping a copy of each eager input in ``seen``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x):
        if tf.executing_eagerly():
            self.seen.append(np.array(x))
        return x


def sigma_max(matrix):
    return float(np.linalg.svd(np.asarray(matrix, "float64"), compute_uv=False)[0])


# ---------------------------------------------------------------- arguments and config
@pytest.mark.parametrize("kwargs, message", [
    ({"ema_decay": 1.0}, r"ema_decay must be None .* in \(0, 1\)"),
    ({"spectral_norm": "yes"}, "spectral_norm must be True or False"),
    ({"r1_weight": -1.0}, "r1_weight must be a number >= 0"),
    ({"r1_every": 0}, "r1_every must be a positive int"),
    ({"augment": "flip"}, "unknown augment policy 'flip'"),
    ({"augment": "ada", "ada_target": 1.0}, r"ada_target must be a number in \(-1, 1\)"),
])
def test_bad_stabilizer_arguments_raise_one_clear_error_before_any_network_is_built(monkeypatch, kwargs, message):
    def never(self, *args, **kw):
        raise AssertionError("a network was built before the arguments were checked")

    monkeypatch.setattr(kg.models.CycleGAN, "build_generator", never)
    monkeypatch.setattr(kg.models.CycleGAN, "build_discriminator", never)
    with pytest.raises(ValueError, match=message) as info:
        kg.models.CycleGAN(image_shape=SHAPE, width=4, **kwargs)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize("key", ["discriminator", "discriminator_a"])
def test_spectral_norm_refuses_a_given_discriminator_without_spectral_layers(monkeypatch, key):
    plain = kg.networks.cyclegan_discriminator(SHAPE, width=4, n_layers=2, name=key)
    monkeypatch.setattr(kg.models.CycleGAN, "build_generator", lambda *a, **k: pytest.fail("built"))
    with pytest.raises(ValueError, match=f"spectral_norm=True but {key} has no SpectralConv2D"):
        kg.models.CycleGAN(image_shape=SHAPE, spectral_norm=True, **{key: plain})


def test_r1_is_refused_with_a_wasserstein_loss():
    gan = kg.models.CycleGAN(image_shape=SHAPE, width=4, n_blocks=1, discriminator_layers=2, r1_weight=1.0)
    with pytest.raises(ValueError, match="r1_weight is for non-Wasserstein losses"):
        gan.compile(loss="wasserstein")


def test_defaults_leave_every_stabilizer_off():
    gan = tiny()
    assert gan.ema_generator is None and gan.ema_generator_ba is None
    assert [m.name for m in gan.metrics] == ["d_loss", "g_loss", "cycle_loss", "identity_loss"]
    assert not spectral_layers(gan.discriminator) and not spectral_layers(gan.discriminator_a)
    assert gan.sampling_generator() is gan.generator
    assert gan.sampling_generator(direction="b2a") is gan.generator_ba


def test_config_keeps_every_knob_and_rebuilds_the_same_model():
    knobs = {**ALL_ON, "ada_target": 0.5, "ada_interval": 2, "ada_kimg": 10.0}
    gan = tiny(**knobs)
    config = gan.get_config()
    assert {k: config[k] for k in knobs} == knobs
    again = kg.models.CycleGAN.from_config(config)
    assert again.get_config() == config
    assert [(v.path, v.shape) for v in again.variables] == [(v.path, v.shape) for v in gan.variables]
    assert again.ema_generator_ba is not None and again.ema_generator_ba.name == "generator_ba_ema"
    for net in (again.discriminator, again.discriminator_a):
        kinds = {type(layer).__name__ for layer in net.layers}
        assert "SpectralConv2D" in kinds and "Conv2D" not in kinds and "InstanceNormalization" not in kinds
        assert len(spectral_layers(net)) == 4
    ada = kg.models.CycleGAN.from_config({**config, "augment": "ada"})
    assert float(ada.ada_p.numpy()) == 0.0
    assert [m.name for m in ada.metrics][-2:] == ["r1", "ada_p"]


# ---------------------------------------------------------------- EMA of both generators
def test_both_ema_generators_follow_a_numpy_recomputation_with_the_warm_up(domains):
    decay = 0.2  # min(decay, (1 + t) / (10 + t)): 0.1, 0.1818..., then 0.2
    gan = tiny(ema_decay=decay)
    a, b = (tf.constant(x[:4]) for x in domains)
    nets = {"g": (gan.generator, gan.ema_generator), "f": (gan.generator_ba, gan.ema_generator_ba)}
    for key, (net, ema) in nets.items():
        assert ema is not net and not ema.trainable_weights
        for w, e in zip(net.weights, ema.weights):
            np.testing.assert_array_equal(w.numpy(), e.numpy(), err_msg=key)
    expected = {key: [w.numpy() for w in net.weights] for key, (net, _) in nets.items()}
    for t in range(3):
        gan.train_step((a, b))  # eagerly
        beta = np.float32(min(decay, (1.0 + t) / (10.0 + t)))
        for key, (net, ema) in nets.items():
            trainable = {id(v) for v in net.trainable_weights}
            expected[key] = [
                beta * e + (np.float32(1) - beta) * w.numpy() if id(w) in trainable else w.numpy()
                for e, w in zip(expected[key], net.weights)
            ]
            for e, actual in zip(expected[key], ema.weights):
                np.testing.assert_allclose(actual.numpy(), e, rtol=1e-6, atol=1e-7, err_msg=actual.path)
            # Averaged, so it lags the trained generator.
            assert any(not np.allclose(w.numpy(), e.numpy())
                       for w, e in zip(net.weights, ema.weights) if id(w) in trainable), key
        assert int(gan.ema_updates.numpy()) == t + 1


def test_translate_preview_call_and_export_use_the_ema_generators_unless_told_not_to(domains):
    gan = tiny(ema_decay=0.5)
    a, b = domains
    gan.train_step((tf.constant(a[:4]), tf.constant(b[:4])))
    pairs = {"a2b": (gan.ema_generator, gan.generator), "b2a": (gan.ema_generator_ba, gan.generator_ba)}
    for direction, (ema, raw) in pairs.items():
        ema_out, raw_out = ema(a, training=False).numpy(), raw(a, training=False).numpy()
        assert not np.allclose(ema_out, raw_out)
        np.testing.assert_array_equal(gan.translate(a, direction), ema_out)
        np.testing.assert_array_equal(gan.translate(a, direction, use_ema=False), raw_out)
        assert gan.sampling_generator(direction=direction) is ema
        assert gan.sampling_generator(False, direction) is raw
    ema_b = gan.ema_generator(a, training=False).numpy()
    np.testing.assert_array_equal(gan(a).numpy(), ema_b)
    np.testing.assert_allclose(gan.preview(4, inputs=a[:2])[1::2], ema_b[:2], atol=1e-5)  # batch of 2 vs 4: rounding
    np.testing.assert_array_equal(
        gan.preview(4, inputs=a[:2], use_ema=False)[1::2], gan.generator(a[:2], training=False).numpy())
    assert kg.export._source.resolve(gan).generator is gan.ema_generator
    with pytest.raises(ValueError, match="direction must be 'a2b' or 'b2a'"):
        gan.sampling_generator(direction="ba")


# ---------------------------------------------------------------- DiffAugment
def probed(augment, pool_size=0):
    return tiny(augment=augment, pool_size=pool_size, discriminator=probe_critic("d_b"),
                discriminator_a=probe_critic("d_a"), compile_kwargs={"run_eagerly": True})


def shown(gan, a, b):
    """One eager fit step; the images each discriminator was shown and what they would be unaugmented.

    Per discriminator, in order: the translations in the generator update,
    then the reals and the (unpooled, pool_size=0) translations in its own
    update (whether it scores those two in one call or in two).
    """
    fake_b = gan.generator(a, training=True).numpy()  # G and F are deterministic
    fake_a = gan.generator_ba(b, training=True).numpy()
    for d in (gan.discriminator, gan.discriminator_a):
        d.probe.seen.clear()
    gan.fit(tf.data.Dataset.from_tensors((a, b)), epochs=1, verbose=0)
    return {"d_b": (np.concatenate(gan.discriminator.probe.seen), np.concatenate([fake_b, b, fake_b])),
            "d_a": (np.concatenate(gan.discriminator_a.probe.seen), np.concatenate([fake_a, a, fake_a]))}


def test_augment_transforms_reals_and_translations_before_every_discriminator_call(domains):
    a, b = (x[:4] for x in domains)
    # Without augment each discriminator sees exactly its inputs: the control.
    for name, (seen, originals) in shown(probed(None), a, b).items():
        np.testing.assert_allclose(seen, originals, atol=1e-6, err_msg=name)
    # Cutout: every image (reals and translations, both updates) is its input
    # with one square blanked.
    for name, (seen, originals) in shown(probed("cutout"), a, b).items():
        assert seen.shape == originals.shape == (12, *SHAPE), name
        kept = np.isclose(seen, originals, atol=1e-6)
        assert np.all(kept | (seen == 0)), name
        assert np.all((~kept).reshape(12, -1).any(axis=1)), name  # each image cut
    # The full policy moves every image away from what came in.
    for name, (seen, originals) in shown(probed("translation,cutout,color"), a, b).items():
        moved = ~np.isclose(seen, originals, atol=1e-3).reshape(12, -1).all(axis=1)
        assert moved.all(), name


def test_the_pools_store_translations_before_augmentation(domains):
    a, b = (x[:4] for x in domains)
    gan = probed("color", pool_size=8)
    fake_b = gan.generator(a, training=True).numpy()
    gan.train_step((tf.constant(a), tf.constant(b)))
    np.testing.assert_allclose(gan.pool_b.numpy()[:4], fake_b, atol=1e-6)
    assert not np.allclose(gan.discriminator.probe.seen[-1], fake_b, atol=1e-3)


# ---------------------------------------------------------------- ADA
def test_ada_p_follows_both_discriminators_one_image_per_real_and_one_count_per_step(pairs):
    # D(x) = 5 on every patch: sure of every real, so r_t = 1 > 0.6 and p rises
    # by the real images seen (both domains) / (ada_kimg * 1000) per adjustment.
    def sure(interval):
        return tiny(augment="ada", ada_kimg=0.16, ada_interval=interval,
                    discriminator=probe_critic("d_b", 5.0), discriminator_a=probe_critic("d_a", 5.0),
                    compile_kwargs={"d_optimizer": keras.optimizers.SGD(0.0),
                                    "d_a_optimizer": keras.optimizers.SGD(0.0), "run_eagerly": True})

    waiting = sure(interval=8)
    waiting.fit(pairs.take(2), epochs=1, verbose=0)
    # Two steps of 4 pairs: 16 reals, each one mean sign of +1 over its 16 patches.
    np.testing.assert_array_equal(waiting.ada_stats.numpy(), [16.0, 16.0, 2.0])
    assert float(waiting.ada_p.numpy()) == 0.0
    adjusting = sure(interval=2)
    history = adjusting.fit(pairs, epochs=1, verbose=0)  # 4 steps: 2 adjustments of 16 reals
    np.testing.assert_allclose(float(adjusting.ada_p.numpy()), 2 * 16 / 160, rtol=1e-6)
    np.testing.assert_array_equal(adjusting.ada_stats.numpy(), [0.0, 0.0, 0.0])
    assert history.history["ada_p"][0] > 0


# ---------------------------------------------------------------- a compiled fit with all of them
COMPILED = {**ALL_ON, "augment": "ada", "ada_interval": 2, "ada_kimg": 0.16,
            # A target below any r_t the untrained discriminators give, so p rises.
            "ada_target": -0.99}


@pytest.fixture(scope="module")
def trained(pairs):
    """Every stabilizer on (ADA for augment), four compiled steps of 4 pairs.

    R1 is due on steps 0 and 2; ADA adjusts p after steps 2 and 4.
    """
    keras.utils.set_random_seed(3)
    gan = tiny(**COMPILED)
    before = {key: weights_of(getattr(gan, key)) for key in gan.network_keys}
    kernels = {d.name: [l.kernel.numpy().copy() for l in spectral_layers(d)]
               for d in (gan.discriminator, gan.discriminator_a)}
    history = gan.fit(pairs, epochs=1, verbose=0).history
    return {"gan": gan, "history": history, "before": before, "kernels": kernels}


def test_fit_with_every_stabilizer_trains_all_four_networks(trained):
    gan, history = trained["gan"], trained["history"]
    assert set(history) == {"d_loss", "g_loss", "cycle_loss", "identity_loss", "r1", "ada_p"}
    assert all(np.isfinite(v[0]) for v in history.values())
    for key in gan.network_keys:
        net = getattr(gan, key)
        assert {v.path for v in net.trainable_variables} <= changed(trained["before"][key], weights_of(net)), key
    assert {int(o.iterations.numpy()) for o in gan.optimizers().values()} == {4}
    assert int(gan.ema_updates.numpy()) == 4


def test_spectral_norm_keeps_both_discriminators_at_unit_norm(trained):
    gan = trained["gan"]
    for d in (gan.discriminator, gan.discriminator_a):
        layers = spectral_layers(d)
        assert len(layers) == 4
        for layer, kernel0 in zip(layers, trained["kernels"][d.name]):
            assert int(layer.power_iterations.numpy()) == 4, layer.path  # one per update of its network
            assert not np.allclose(layer.kernel.numpy(), kernel0)
            normalized = layer.normalized_kernel().numpy().reshape(-1, layer.kernel.shape[-1])
            assert abs(sigma_max(normalized) - 1.0) < 2e-3, layer.path


def test_ada_adjusts_p_every_ada_interval_steps_in_the_compiled_step(trained):
    gan = trained["gan"]
    # Two adjustments, each after 2 steps of 4 reals per domain: p = 2 * 16 / 160.
    np.testing.assert_allclose(float(gan.ada_p.numpy()), 0.2, rtol=1e-6)
    np.testing.assert_array_equal(gan.ada_stats.numpy(), [0.0, 0.0, 0.0])
    assert 0 < trained["history"]["ada_p"][0] < 0.2  # the epoch's mean of p


def test_r1_is_computed_on_due_steps_for_both_discriminators(trained):
    gan = trained["gan"]
    # Due on 2 of the 4 steps, once per discriminator.
    assert float(gan.r1_tracker.count.numpy()) == 4
    assert trained["history"]["r1"][0] > 0


# ---------------------------------------------------------------- saving and resuming
RESUMED = {"ema_decay": 0.8, "spectral_norm": True, "r1_weight": 1.0, "r1_every": 2, "augment": "ada",
           # A target below any r_t the untrained discriminators give, so p rises.
           "ada_target": -0.99, "ada_kimg": 0.2, "ada_interval": 1}


def twin():
    keras.utils.set_random_seed(7)
    return tiny(seed=11, compile_kwargs={"run_eagerly": True}, **RESUMED)


def optimizer_state(gan):
    return {f"{name}/{v.path}": v.numpy() for name, opt in gan.optimizers().items() for v in opt.variables}


def test_a_saved_run_resumes_both_averages_the_norms_and_p_exactly(pairs, tmp_path):
    # Eager steps keep this fast; the compiled step is the one `trained` runs.
    # Epochs of two steps: R1 is due on steps 0 and 2, one on each side of the save.
    pairs = pairs.take(2)
    whole = twin()
    whole.fit(pairs, epochs=2, verbose=0)

    first = twin()
    first.fit(pairs, epochs=1, verbose=0)
    path = str(tmp_path / "cyclegan.keras")
    first.save(path)
    loaded = keras.saving.load_model(path)
    assert [v.path for v in loaded.variables] == [v.path for v in first.variables]
    for a, b in zip(first.variables, loaded.variables):  # networks, EMA copies, u vectors, pools, p
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    for key, value in optimizer_state(first).items():
        np.testing.assert_array_equal(optimizer_state(loaded)[key], value, err_msg=key)
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), first.seed_generator.state.numpy())
    assert int(loaded.ema_updates.numpy()) == 2
    assert float(loaded.ada_p.numpy()) == float(first.ada_p.numpy()) > 0
    ema_ba = {v.path for v in loaded.ema_generator_ba.weights}
    assert ema_ba and ema_ba <= {v.path for v in loaded.variables}

    loaded.run_eagerly = True
    loaded.fit(pairs, epochs=1, verbose=0)
    assert int(loaded.ema_updates.numpy()) == int(whole.ema_updates.numpy()) == 4
    assert float(loaded.r1_tracker.count.numpy()) == 2  # the due step after the save, both discriminators
    for a, b in zip(whole.variables, loaded.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    for key, value in optimizer_state(whole).items():
        np.testing.assert_allclose(optimizer_state(loaded)[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    np.testing.assert_array_equal(loaded.ada_p.numpy(), whole.ada_p.numpy())
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(), whole.seed_generator.state.numpy())
