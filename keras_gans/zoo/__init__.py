"""The model zoo: pretrained generators and feature extractors by name.

Example:
    >>> import keras_gans as kg
    >>> kg.zoo.list_models(pretrained=True)  # doctest: +SKIP
    ['classifier.fashion_mnist', 'dcgan.fashion_mnist', ...]
    >>> g = kg.zoo.load_generator("dcgan.fashion_mnist")  # doctest: +SKIP
    >>> kg.zoo.card("dcgan.fashion_mnist")["sha256"]  # doctest: +SKIP
    >>> extractor = kg.zoo.classifier_extractor()  # doctest: +SKIP
"""

from keras_gans.zoo.schema import validate_card
from keras_gans.zoo.download import DownloadError, cache_dir
from keras_gans.zoo.registry import (
    card,
    fetch,
    get_model,
    list_models,
    load_gan,
    load_generator,
    local_path,
    register,
    unregister,
    write_card,
)
from keras_gans.zoo.recipe import load_recipe
from keras_gans.zoo.preset import load_preset, save_preset
from keras_gans.zoo.hub import upload
from keras_gans.zoo.runner import publish_classifier, run_recipe

__all__ = [
    "DownloadError",
    "cache_dir",
    "card",
    "classifier_extractor",
    "fetch",
    "get_extractor",
    "get_model",
    "list_models",
    "load_classifier",
    "load_gan",
    "load_generator",
    "load_preset",
    "load_recipe",
    "local_path",
    "publish_classifier",
    "register",
    "run_recipe",
    "save_preset",
    "train_classifier",
    "unregister",
    "upload",
    "validate_card",
    "write_card",
]

# The classifier's names load on first use: its module imports Keras (and so
# TensorFlow), which listing the zoo and reading cards never need.
_CLASSIFIER = ("classifier_extractor", "get_extractor", "load_classifier", "train_classifier")


def __getattr__(name):
    if name in _CLASSIFIER:
        from keras_gans.zoo import classifier

        value = getattr(classifier, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keras_gans.zoo' has no attribute {name!r}")
