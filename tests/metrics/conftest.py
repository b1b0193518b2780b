"""Fixtures shared by the metrics tests: the zoo classifier and its test-split features."""

import pytest


@pytest.fixture(scope="session")
def fmnist_extractor():
    """The zoo's Fashion-MNIST classifier, the extractor the zoo hands the metrics for 28x28x1."""
    from keras_gans import zoo

    return zoo.classifier_extractor()


@pytest.fixture(scope="session")
def fmnist_test_features(fmnist_extractor, fmnist_test):
    """``(features [10000, 128], predicted classes [10000], labels [10000])`` of the test split."""
    images, labels = fmnist_test
    features, classes = fmnist_extractor.extract(images)
    return features, classes, labels
