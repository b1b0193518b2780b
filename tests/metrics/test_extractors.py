"""Feature extractors: the zoo classifier handed to the metrics, InceptionV3 wiring, input checks."""

import json
import os

import numpy as np
import pytest

import keras_gans as kg
from keras_gans import metrics, zoo
from keras_gans.networks.classifier import image_classifier

CARD = os.path.join(
    os.path.dirname(__file__), "..", "..", "keras_gans", "zoo", "cards", "classifier.fashion_mnist.json"
)


def test_classifier_test_accuracy_equals_card(fmnist_test_features):
    _, classes, labels = fmnist_test_features
    with open(CARD) as f:
        card = json.load(f)
    assert card["protocol"] == {"split": "test", "n": 10000, "metric": "top-1 accuracy of argmax logits"}
    accuracy = float(np.mean(classes == labels))
    # Two images of slack for another CPU's float rounding.
    assert abs(accuracy - card["metrics"]["test_accuracy"]) <= 2e-4
    assert accuracy > 0.9


def test_classifier_card_describes_the_shipped_file():
    from keras_gans import zoo

    entry = zoo.card("classifier.fashion_mnist")
    path = zoo.fetch("classifier.fashion_mnist")
    assert os.path.getsize(path) == entry["size"] < 2_000_000
    model = image_classifier(**entry["config"])
    model.load_weights(path)
    assert model.count_params() == entry["num_params"]
    assert model.get_layer("features").output.shape == (None, 128)


def test_real_halves_close_and_noise_far(fmnist_extractor, fmnist_test_features):
    features = fmnist_test_features[0]
    first, second = features[:5000], features[5000:]
    noise = np.random.default_rng(0).uniform(-1, 1, (2000, 28, 28, 1)).astype("float32")
    noise_features = fmnist_extractor(noise)
    assert noise_features.shape == (2000, 128) and noise_features.dtype == np.float64

    same = metrics.frechet_distance(first, second)
    far = metrics.frechet_distance(first, noise_features)
    assert same < 1.0 and far > 50.0 and far > 100 * same

    kid_same = metrics.kernel_distance(first, second, num_subsets=20)
    kid_far = metrics.kernel_distance(first, noise_features, num_subsets=20)
    assert abs(kid_same.mean) < 0.01 < kid_far.mean

    pr_same = metrics.precision_recall(first[:2000], second[:2000])
    pr_far = metrics.precision_recall(first[:2000], noise_features)
    assert pr_same.precision > 0.6 and pr_same.recall > 0.6
    # Noise features bunch together, so some land inside real balls (the known
    # blind spot of precision); none of the real data is covered.
    assert pr_far.recall < 0.05 and pr_far.precision < pr_same.precision


def test_default_extractor_for_shapes():
    extractor = zoo.get_extractor((28, 28, 1))
    assert extractor.name == "classifier.fashion_mnist"
    assert extractor.is_classifier and extractor.num_classes == 10
    with pytest.raises(ValueError, match="1 or 3"):
        zoo.get_extractor((28, 28, 2))


def test_metrics_take_the_zoo_classifier_as_an_argument(fmnist_test):
    from keras_gans.metrics.extractors import as_extractor

    # Metrics import no zoo: for 28x28x1 they ask for the extractor by name.
    with pytest.raises(ValueError, match=r"kg\.zoo\.classifier_extractor\(\)"):
        as_extractor(None, (28, 28, 1))
    with pytest.raises(ValueError, match=r"kg\.zoo\.classifier_extractor\(\)"):
        metrics.evaluate(kg.models.DCGAN(latent_dim=8, width=8), n=20)
    # The names that moved say where they went.
    for name in ("get_extractor", "classifier_extractor", "load_classifier", "train_classifier", "publish_classifier"):
        with pytest.raises(AttributeError, match=f"kg\\.zoo\\.{name}"):
            getattr(metrics, name)
    # The zoo's extractor is the classifier's features and its argmax classes.
    model = zoo.load_classifier()
    extractor = zoo.classifier_extractor()
    images = fmnist_test[0][:50]
    scaled = images.astype("float32") / 127.5 - 1.0
    features, classes = extractor.extract(images)
    import keras

    probe = keras.Model(model.inputs[0], model.get_layer("features").output)
    np.testing.assert_allclose(features, np.asarray(probe(scaled)), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(classes, np.argmax(np.asarray(model(scaled)), axis=-1))
    assert np.mean(classes == fmnist_test[1][:50]) > 0.8


def test_from_classifier_wraps_any_classifier_with_a_features_layer():
    import keras

    model = image_classifier((28, 28, 1), num_classes=4, width=4, feature_dim=8, seed=2)
    extractor = metrics.FeatureExtractor.from_classifier(model, name="mine")
    assert (extractor.name, extractor.num_classes, extractor.image_shape) == ("mine", 4, (28, 28, 1))
    images = np.random.default_rng(0).uniform(-1, 1, (6, 28, 28, 1)).astype("float32")
    features, classes = extractor.extract(images)
    assert features.shape == (6, 8)
    np.testing.assert_array_equal(classes, np.argmax(np.asarray(model(images)), axis=-1))
    inputs = keras.Input((4, 4, 1))
    plain = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="no layer named 'features'"):
        metrics.FeatureExtractor.from_classifier(plain)


def test_inception_offline_error_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        zoo.get_extractor((32, 32, 3))
    with pytest.raises(FileNotFoundError, match="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        metrics.inception_extractor((32, 32, 3))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        metrics.inception_extractor((32, 32, 3), weights=str(tmp_path / "missing.h5"))


def test_inception_features_of_gray_images():
    # Random weights: this checks the wiring (resize, gray to RGB, pooling), not ImageNet features.
    extractor = metrics.inception_extractor((32, 32, 1), weights=None)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
    features = extractor(images)
    assert features.shape == (2, 2048) and np.isfinite(features).all()
    assert not np.allclose(features[0], features[1])
    with pytest.raises(ValueError, match="do not fit"):
        extractor(np.zeros((2, 28, 28, 1), "float32"))


def test_uint8_and_float_images_give_the_same_features(fmnist_extractor, fmnist_test):
    images = fmnist_test[0][:20]
    np.testing.assert_allclose(
        fmnist_extractor(images), fmnist_extractor(images.astype("float32") / 127.5 - 1.0), atol=1e-5
    )


@pytest.mark.parametrize(
    "images, match",
    [
        (np.full((2, 28, 28, 1), np.nan, "float32"), "NaN"),
        (np.full((2, 28, 28, 1), 3.0, "float32"), r"\[-1, 1\]"),
        (np.zeros((2, 28, 28), "float32"), "shape"),
        (np.zeros((2, 32, 32, 1), "float32"), "do not fit"),
        (np.zeros((2, 28, 28, 1), "int32"), "dtype"),
    ],
)
def test_bad_images_raise(fmnist_extractor, images, match):
    with pytest.raises(ValueError, match=match):
        fmnist_extractor(images)


def test_custom_callable_extractor():
    extractor = metrics.FeatureExtractor(lambda x: x.reshape(len(x), -1)[:, :5], name="pixels")
    out, classes = extractor.extract(np.zeros((3, 4, 4, 1), "uint8"))
    assert out.shape == (3, 5) and classes is None
    np.testing.assert_allclose(out, -1.0)
    with pytest.raises(ValueError, match="does not predict classes"):
        extractor.classify(np.zeros((3, 4, 4, 1), "uint8"))


def test_image_classifier_builder():
    model = image_classifier((28, 28, 1), num_classes=4, width=8, feature_dim=16, seed=1)
    assert model.output_shape == (None, 4)
    assert model.get_layer("features").output.shape == (None, 16)
    again = image_classifier((28, 28, 1), num_classes=4, width=8, feature_dim=16, seed=1)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="divisible by 4"):
        image_classifier((30, 30, 1))
