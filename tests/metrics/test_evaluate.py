"""evaluate(), format_report() and `keras-gans evaluate` on small untrained GANs."""

import json

import numpy as np
import pytest

import keras_gans as kg
from keras_gans import metrics
from keras_gans.cli import main

FIELDS = ("frechet_distance", "kid_mean", "kid_std", "kid_stderr", "precision", "recall",
          "class_counts", "real_class_counts", "modes_covered")


@pytest.fixture(scope="module")
def dcgan_file(tmp_path_factory):
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=0)
    path = str(tmp_path_factory.mktemp("evaluate") / "dcgan.keras")
    gan.save(path)
    return path


def test_report_fields_and_protocol(fmnist_test, fmnist_extractor):
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=0)
    report = metrics.evaluate(gan, n=300, seed=1, extractor=fmnist_extractor)
    for key in FIELDS:
        assert key in report
    assert "label_agreement" not in report
    assert sum(report["class_counts"]) == sum(report["real_class_counts"]) == 300
    protocol = report["protocol"]
    assert protocol["n_real"] == protocol["n_fake"] == 300
    assert protocol["split_size"] == 10000 and protocol["real_subset"] == "random without replacement"
    assert protocol["extractor"] == "classifier.fashion_mnist" and protocol["feature_dim"] == 128
    # n=300 <= kid_subset_size=1000: subsets of 150, so that they differ.
    assert protocol["kid_subset_size"] == 150 and protocol["family"] == "dcgan"
    json.dumps(report)  # plain python values only

    # The protocol is what the docstring says: recompute the Frechet distance by hand.
    images = fmnist_test[0]
    keep = np.sort(np.random.default_rng(1).choice(len(images), 300, replace=False))
    expected = metrics.frechet_distance(
        fmnist_extractor(images[keep]), fmnist_extractor(gan.generate(300, seed=1))
    )
    assert report["frechet_distance"] == pytest.approx(expected, rel=1e-6)
    # An untrained generator is far from the data.
    assert report["frechet_distance"] > 50 and report["recall"] < 0.1

    # KID: mean, spread and standard error over the subsets, as kernel_distance gives them.
    kid = metrics.kernel_distance(
        fmnist_extractor(images[keep]), fmnist_extractor(gan.generate(300, seed=1)),
        num_subsets=100, subset_size=150, seed=1,
    )
    assert report["kid_mean"] == pytest.approx(kid.mean, rel=1e-6)
    assert report["kid_std"] == pytest.approx(kid.std, rel=1e-6)
    assert report["kid_stderr"] == pytest.approx(kid.stderr, rel=1e-6)
    assert report["kid_stderr"] == pytest.approx(report["kid_std"] / 10.0)  # 100 subsets
    assert report["kid_std"] > 0

    text = metrics.format_report(report)
    for label in ("FCD (classifier.fashion_mnist)", "KID", "precision", "recall", "modes covered",
                  "Ankle boot", "protocol: 300 samples"):
        assert label in text
    kid_line = next(line for line in text.splitlines() if line.startswith("KID"))
    assert kid_line.endswith(
        f"{report['kid_mean']:.5f} +- {report['kid_std']:.5f} (std), stderr {report['kid_stderr']:.5f}"
    )


def test_format_report_kid_line_of_reports_without_stderr():
    """Cards written before kid_stderr: the standard error comes from the protocol's subset count."""
    card = {"frechet_distance": 12.2265, "kid_mean": 0.2661727730375692, "kid_std": 0.03308131270834285,
            "precision": 0.5081, "recall": 0.5553, "protocol": {"kid_subsets": 100}}
    line = next(x for x in metrics.format_report(card).splitlines() if x.startswith("KID"))
    assert line.endswith("0.26617 +- 0.03308 (std), stderr 0.00331")
    del card["protocol"]
    line = next(x for x in metrics.format_report(card).splitlines() if x.startswith("KID"))
    assert line.endswith("0.26617 +- 0.03308")


def test_conditional_gan_label_agreement(fmnist_extractor):
    gan = kg.models.ConditionalGAN(latent_dim=16, width=8, embedding_dim=4, seed=0)
    report = metrics.evaluate(gan, n=200, extractor=fmnist_extractor)
    # Untrained: one predicted class for every image, so it agrees with a tenth of the requests.
    counts = np.array(report["class_counts"])
    assert report["label_agreement"] == pytest.approx(np.sum(counts * 0.1) / 200, abs=0.03)
    assert report["real_label_agreement"] > 0.85
    assert "label agreement" in metrics.format_report(report)


def test_bad_input():
    gan = kg.models.DCGAN(latent_dim=16, width=8)
    with pytest.raises(ValueError, match="n must be"):
        metrics.evaluate(gan, n=1)
    with pytest.raises(ValueError, match="model makes"):
        metrics.evaluate(kg.models.DCGAN(latent_dim=16, image_shape=(32, 32, 3), width=8), n=10)
    with pytest.raises(ValueError, match="kg.models GAN"):
        metrics.evaluate("not a model")
    with pytest.raises(ValueError, match="format_report"):
        metrics.format_report({"precision": 1.0})


def test_image_size_resizes_the_real_images_as_training_does(fmnist_test):
    """A 16x16 model scored against Fashion-MNIST resized to 16x16 (a recipe's [data] image_size)."""
    from keras_gans.data import load_numpy

    gan = kg.models.DCGAN(latent_dim=8, image_shape=(16, 16, 1), width=4)
    seen = []

    def pixels(images):  # the images themselves as features: what reached the extractor
        seen.append(np.asarray(images))
        return np.asarray(images).reshape(len(images), -1)[:, ::8]

    with pytest.raises(ValueError, match=r"makes \(16, 16, 1\).*image_size=\[16, 16\]"):
        metrics.evaluate(gan, n=50, extractor=pixels)
    report = metrics.evaluate(gan, n=50, extractor=pixels, image_size=[16, 16])
    assert report["protocol"]["image_size"] == [16, 16]
    resized, _ = load_numpy("fashion_mnist", split="test", image_size=[16, 16])
    keep = np.sort(np.random.default_rng(0).choice(len(resized), 50, replace=False))
    np.testing.assert_allclose(seen[0], resized[keep].astype("float32") / 127.5 - 1.0, atol=1e-6)
    for bad in ([16], [0, 16], "16x16", [16.5, 16]):
        with pytest.raises(ValueError, match="image_size must be \\[height, width\\]"):
            metrics.evaluate(gan, n=50, extractor=pixels, image_size=bad)


def test_cli_evaluate_end_to_end(dcgan_file, tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["evaluate", dcgan_file, "--n", "300", "--json", str(out), "--verbose", "0"]) == 0
    printed = capsys.readouterr().out
    for label in ("(dcgan) against fashion_mnist [test]", "FCD (classifier.fashion_mnist)", "KID",
                  "precision", "recall", "modes covered", "T-shirt/top", "protocol:", f"wrote {out}"):
        assert label in printed
    report = json.loads(out.read_text())
    for key in FIELDS:
        assert key in report
    assert report["protocol"]["model"] == dcgan_file
    assert f"{report['frechet_distance']:.4f}" in printed


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--json", "out.txt"], "--json must name a .json file"),
        (["--n", "1"], "n must be"),
        (["--dataset", "/no/such/folder"], "does not exist"),
        (["--image-size", "16"], "--image-size takes H,W"),
    ],
)
def test_cli_bad_input_exits_2(dcgan_file, capsys, extra, message):
    assert main(["evaluate", dcgan_file, "--verbose", "0", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-gans evaluate: error:") and message in err
    assert len(err.splitlines()) == 1


def test_cli_missing_model_exits_2(capsys, tmp_path):
    assert main(["evaluate", str(tmp_path / "missing.keras")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_kid_subset_size_stays_below_n():
    from keras_gans.metrics.evaluate import kid_subset_size_for

    assert kid_subset_size_for(1000, 10000) == 1000  # the zoo's protocol is unchanged
    assert kid_subset_size_for(1000, 1001) == 1000
    assert kid_subset_size_for(1000, 1000) == 500
    assert kid_subset_size_for(1000, 300) == 150
    assert kid_subset_size_for(1000, 3) == 2
    with pytest.raises(ValueError, match="kid_subset_size must be an int >= 2"):
        kid_subset_size_for(1, 300)


def test_modes_covered_skips_classes_without_real_images():
    from keras_gans.metrics.evaluate import modes_covered

    # Class 2 has no real image: covered by no sample count, 0 or many.
    assert modes_covered([5, 5, 0], [6, 4, 0]) == 2
    assert modes_covered([4, 4, 2], [6, 4, 0]) == 2
    assert modes_covered([0, 0, 10], [6, 4, 0]) == 0
    # Half the real share is enough, less is not.
    assert modes_covered([3, 7, 0], [6, 4, 0]) == 2
    assert modes_covered([2, 8, 0], [6, 4, 0]) == 1
    with pytest.raises(ValueError, match="one entry per class"):
        modes_covered([1, 2], [1, 2, 3])


def test_evaluate_against_data_missing_a_class(fmnist_test, fmnist_extractor, tmp_path):
    """Real images of sneakers and ankle boots only: the classes they lack are never covered."""
    images, labels = fmnist_test
    keep = np.isin(labels, [7, 9])
    path = tmp_path / "sneakers_and_boots.npz"
    np.savez(path, images=images[keep][:400], labels=labels[keep][:400])
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=0)
    report = metrics.evaluate(gan, dataset=str(path), n=200, extractor=fmnist_extractor)
    counts, real = np.array(report["class_counts"]), np.array(report["real_class_counts"])
    absent = real == 0
    # The classifier calls a real image a sandal now and then; eight classes stay empty.
    assert absent.sum() >= 7
    share, real_share = counts / counts.sum(), real / real.sum()
    assert report["modes_covered"] == int(np.sum(~absent & (share >= 0.5 * real_share)))
    assert report["modes_covered"] <= 10 - absent.sum()
    line = next(x for x in metrics.format_report(report).splitlines() if x.startswith("modes covered"))
    assert line.endswith(
        f"{report['modes_covered']}/{10 - absent.sum()} classes ({absent.sum()} of 10 have no real image)"
    )
