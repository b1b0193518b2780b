"""evaluate_translation(), its text report and `keras-gans evaluate` on a CycleGAN."""

import json

import keras
import numpy as np
import pytest

import keras_gans as kg
from keras_gans import metrics
from keras_gans.cli import main

SNEAKER, ANKLE_BOOT = 7, 9


def identity_cyclegan():
    """A CycleGAN whose two translators return their input unchanged."""
    nets = {}
    for key in ("generator", "generator_ba"):
        images = keras.Input((28, 28, 1))
        nets[key] = keras.Model(images, keras.layers.Identity()(images), name=key)
    return kg.models.CycleGAN(image_shape=(28, 28, 1), width=8, n_blocks=1, discriminator_layers=1, **nets)


def test_identity_translator_scores_as_no_translation(fmnist_test, fmnist_extractor):
    report = metrics.evaluate_translation(
        identity_cyclegan(), classes=(SNEAKER, ANKLE_BOOT), n=200, extractor=fmnist_extractor
    )
    # Doing nothing: A->B is as far from B as A is, and the round trip is exact.
    assert report["frechet_distance_a2b"] == pytest.approx(report["frechet_distance_untranslated"], rel=1e-9)
    assert report["frechet_distance_b2a"] == pytest.approx(report["frechet_distance_untranslated"], rel=1e-9)
    assert report["cycle_l1_a"] == report["cycle_l1_b"] == 0.0
    assert report["target_fraction_a2b"] == report["untranslated_fraction_a2b"]
    assert report["frechet_distance_untranslated"] > 50  # sneakers and ankle boots are far apart

    # The classifier rates are those of the real test images of each class, by hand.
    images, labels = fmnist_test
    boots = images[labels == ANKLE_BOOT][:200].astype("float32") / 127.5 - 1
    sneakers = images[labels == SNEAKER][:200].astype("float32") / 127.5 - 1
    assert report["real_fraction_b"] == np.mean(fmnist_extractor.classify(boots) == ANKLE_BOOT)
    assert report["real_fraction_a"] == np.mean(fmnist_extractor.classify(sneakers) == SNEAKER)
    assert report["real_fraction_a"] > 0.9 and report["real_fraction_b"] > 0.9
    protocol = report["protocol"]
    assert protocol["n_a"] == protocol["n_b"] == 200 and protocol["classes"] == [SNEAKER, ANKLE_BOOT]
    assert protocol["class_names"] == ["Sneaker", "Ankle boot"]
    json.dumps(report)


@pytest.mark.filterwarnings("ignore:Frechet distance from n=:UserWarning")  # n=100 on purpose
def test_swapping_the_translators_swaps_the_scores(fmnist_extractor):
    gan = kg.models.CycleGAN(image_shape=(28, 28, 1), width=8, n_blocks=1, discriminator_layers=1, seed=0)
    swapped = kg.models.CycleGAN(
        image_shape=(28, 28, 1), width=8, n_blocks=1, discriminator_layers=1,
        generator=gan.generator_ba, generator_ba=gan.generator,
    )
    one = metrics.evaluate_translation(gan, classes=(SNEAKER, ANKLE_BOOT), n=100, extractor=fmnist_extractor)
    two = metrics.evaluate_translation(swapped, classes=(ANKLE_BOOT, SNEAKER), n=100, extractor=fmnist_extractor)
    assert one["frechet_distance_a2b"] == pytest.approx(two["frechet_distance_b2a"], rel=1e-6)
    assert one["cycle_l1_a"] == pytest.approx(two["cycle_l1_b"], rel=1e-6)
    assert one["target_fraction_a2b"] == two["target_fraction_b2a"]


def test_refusals():
    with pytest.raises(ValueError, match="evaluate_translation scores translators"):
        metrics.evaluate_translation(kg.models.DCGAN(latent_dim=8, width=8))
    gan = identity_cyclegan()
    with pytest.raises(ValueError, match="no domains were named"):
        metrics.evaluate_translation(gan)
    with pytest.raises(ValueError, match="evaluate_translation"):
        metrics.evaluate(gan)
    with pytest.raises(ValueError, match="expects the dict"):
        metrics.format_translation_report({"frechet_distance": 1.0})


@pytest.mark.filterwarnings("ignore:Frechet distance from n=:UserWarning")  # n=100 on purpose
def test_cli_evaluate_cyclegan(tmp_path, capsys):
    path = str(tmp_path / "cyclegan.keras")
    identity_cyclegan().save(path)
    out = str(tmp_path / "report.json")
    assert main(["evaluate", path, "--classes", "7,9", "--n", "100", "--json", out]) == 0
    text = capsys.readouterr().out
    assert "A->B called Ankle boot" in text and "cycle L1 A->B->A        0.0000" in text
    with open(out) as f:
        report = json.load(f)
    assert report["protocol"]["n_a"] == 100 and report["cycle_l1_a"] == 0.0
    assert main(["evaluate", path, "--classes", "7"]) == 2
    assert "two class ids" in capsys.readouterr().err
