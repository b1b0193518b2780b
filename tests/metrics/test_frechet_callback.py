"""FrechetCallback: values in logs, seen by EarlyStopping, ModelCheckpoint and History, equal to a direct computation."""

import os
import warnings

import keras
import numpy as np
import pytest

import keras_gans as kg
from keras_gans import metrics
from tests.conftest import scaled


@pytest.fixture(scope="module")
def small_data(fmnist_train):
    images, labels = fmnist_train
    return scaled(images[:256]), labels[:256]


def fcd_real_subset(real, n):
    # The callback keeps a seeded random subset when real data holds more than n_samples.
    keep = np.sort(np.random.default_rng(0).choice(len(real), n, replace=False))
    return real[keep]


@pytest.mark.filterwarnings("ignore:Frechet distance from n=:UserWarning")  # small n on purpose
def test_logs_reach_early_stopping_history_and_match_direct_value(small_data, fmnist_test, fmnist_extractor):
    images, _ = small_data
    real = fmnist_test[0][:300]
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=0)
    gan.compile()
    fcd = metrics.FrechetCallback(real, n_samples=200, extractor=fmnist_extractor)
    every_other = metrics.FrechetCallback(real, every=2, n_samples=50, extractor=fmnist_extractor, name="fcd2")
    stop = keras.callbacks.EarlyStopping(monitor="fcd", mode="min", patience=5)
    history = gan.fit(
        kg.data.to_pipeline(images, batch_size=64, seed=0), epochs=2, verbose=0,
        callbacks=[fcd, every_other, stop],
    )
    logged = history.history["fcd"]
    assert len(logged) == 2 and all(v > 0 for v in logged)
    assert logged == [fcd.values[0], fcd.values[1]]
    # EarlyStopping saw the metric: its best is the smallest logged value (inf otherwise).
    assert stop.best == min(logged)
    # every=2 computes after the second epoch only.
    assert sorted(every_other.values) == [1]
    assert history.history["fcd2"] == [every_other.values[1]]
    # The value after the last epoch equals the distance computed by hand.
    real_features = fmnist_extractor(fcd_real_subset(real, 200))
    fake_features = fmnist_extractor(gan.generate(200, seed=0))
    assert logged[-1] == pytest.approx(metrics.frechet_distance(real_features, fake_features), rel=1e-6)


@pytest.mark.filterwarnings("ignore:Frechet distance from n=:UserWarning")  # small n on purpose
def test_conditional_gan_cycles_labels(small_data, fmnist_extractor):
    images, labels = small_data
    gan = kg.models.ConditionalGAN(latent_dim=16, width=8, embedding_dim=4, seed=0)
    gan.compile()
    fcd = metrics.FrechetCallback((images, labels), n_samples=60, extractor=fmnist_extractor)
    fcd.set_model(gan)
    value = fcd.compute()
    expected = metrics.frechet_distance(
        fmnist_extractor(fcd_real_subset(images, 60)),
        fmnist_extractor(gan.generate(60, seed=0, labels=np.arange(60) % 10)),
    )
    assert value == pytest.approx(expected, rel=1e-6)


def test_bad_arguments_and_shapes(small_data, fmnist_extractor):
    images, _ = small_data
    with pytest.raises(ValueError, match="every"):
        metrics.FrechetCallback(images, every=0)
    with pytest.raises(ValueError, match="n_samples"):
        metrics.FrechetCallback(images, n_samples=1)
    gan = kg.models.DCGAN(latent_dim=16, image_shape=(32, 32, 3), width=8)
    fcd = metrics.FrechetCallback(images, n_samples=20, extractor=fmnist_extractor)
    fcd.set_model(gan)
    with pytest.raises(ValueError, match="the model makes"):
        fcd.on_train_begin()


@pytest.mark.filterwarnings("ignore:Frechet distance from n=:UserWarning")  # small n on purpose
def test_cyclegan_translates_inputs(small_data, fmnist_extractor):
    images, labels = small_data
    sneakers, boots = images[labels == 7], images[labels == 9]
    gan = kg.models.CycleGAN(image_shape=(28, 28, 1), width=8, n_blocks=1, seed=0)
    missing = metrics.FrechetCallback(boots, n_samples=20, extractor=fmnist_extractor)
    missing.set_model(gan)
    with pytest.raises(ValueError, match="inputs=domain-A images"):
        missing.on_train_begin()
    fcd = metrics.FrechetCallback(boots, n_samples=20, extractor=fmnist_extractor, inputs=sneakers)
    fcd.set_model(gan)
    expected = metrics.frechet_distance(
        fmnist_extractor(fcd_real_subset(boots, 20) if len(boots) > 20 else boots),
        fmnist_extractor(gan.translate(sneakers[:20])),
    )
    assert fcd.compute() == pytest.approx(expected, rel=1e-6)


@pytest.mark.filterwarnings("ignore:Frechet distance from n=:UserWarning")  # small n on purpose
def test_pix2pix_translates_its_inputs_during_fit(small_data, fmnist_extractor):
    images, _ = small_data
    ds = kg.data.load_paired(images[:64], pair="edges", batch_size=16, seed=0)
    edges, garments = (np.concatenate(t) for t in zip(*[(a.numpy(), b.numpy()) for a, b in ds]))
    gan = kg.models.Pix2Pix(image_shape=(28, 28, 1), width=4, discriminator_layers=1, seed=0)
    gan.compile()
    missing = metrics.FrechetCallback(garments, n_samples=20, extractor=fmnist_extractor)
    missing.set_model(gan)
    with pytest.raises(ValueError, match="pass inputs=input images"):
        missing.on_train_begin()
    fcd = metrics.FrechetCallback(garments, n_samples=20, extractor=fmnist_extractor, inputs=edges)
    history = gan.fit(ds, epochs=1, steps_per_epoch=2, callbacks=[fcd], verbose=0).history
    expected = metrics.frechet_distance(
        fmnist_extractor(fcd_real_subset(garments, 20)), fmnist_extractor(gan.translate(edges[:20]))
    )
    assert history["fcd"][0] == pytest.approx(expected, rel=1e-5)
    # A GAN that samples has nothing to translate.
    dcgan = kg.models.DCGAN(latent_dim=8, width=4)
    stray = metrics.FrechetCallback(garments, n_samples=20, extractor=fmnist_extractor, inputs=edges)
    stray.set_model(dcgan)
    with pytest.raises(ValueError, match="samples from noise: drop inputs"):
        stray.on_train_begin()


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer:UserWarning")  # weights only
def test_model_checkpoint_after_the_callback_keeps_the_best_epoch(small_data, fmnist_test, fmnist_extractor, tmp_path):
    """ModelCheckpoint(monitor="fcd", save_best_only=True) listed after the callback saves the best epoch."""
    images, _ = small_data
    real = fmnist_test[0][:300]
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=0)
    gan.compile()
    fcd = metrics.FrechetCallback(real, n_samples=200, extractor=fmnist_extractor)
    path = str(tmp_path / "best.weights.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(
        path, monitor="fcd", mode="min", save_best_only=True, save_weights_only=True
    )
    snapshots, writes = {}, {}

    def record(epoch, logs):
        snapshots[epoch] = gan.generator.get_weights()
        writes[epoch] = os.path.getmtime(path) if os.path.exists(path) else None

    history = gan.fit(
        kg.data.to_pipeline(images, batch_size=64, seed=0), epochs=3, verbose=0,
        callbacks=[fcd, checkpoint, keras.callbacks.LambdaCallback(on_epoch_end=record)],
    )
    logged = history.history["fcd"]
    best = int(np.argmin(logged))
    assert os.path.isfile(path)
    assert checkpoint.best == min(logged)  # it monitored the value the callback logged
    # The file holds the best epoch's weights, not the last epoch's (when they differ).
    fresh = kg.models.DCGAN(latent_dim=16, width=8, seed=5)
    fresh.compile()
    fresh.load_weights(path)
    for saved, expected in zip(fresh.generator.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(saved, expected)
    # Its samples score the best value (same latents, same real subset).
    rescore = metrics.FrechetCallback(real, n_samples=200, extractor=fmnist_extractor)
    rescore.set_model(fresh)
    assert rescore.compute() == pytest.approx(min(logged), rel=1e-5)
    # Written on the first epoch and on each improvement only.
    improved = [e for e in range(3) if logged[e] == min(logged[: e + 1])]
    assert writes[0] is not None
    for epoch in range(1, 3):
        if epoch not in improved:
            assert writes[epoch] == writes[epoch - 1]


def test_too_few_samples_for_the_features_warns_once(small_data, fmnist_extractor):
    images, _ = small_data
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=0)
    fcd = metrics.FrechetCallback(images, n_samples=20, extractor=fmnist_extractor)
    fcd.set_model(gan)
    with pytest.warns(UserWarning, match=r"n=20 samples of d=128 features \(FrechetCallback 'fcd'"):
        fcd.on_train_begin()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not again on every evaluation
        assert np.isfinite(fcd.compute())
