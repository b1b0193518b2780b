"""The model zoo: pretrained generators and feature extractors by name.

Example:
    >>> import keras_gans as kg
    >>> kg.zoo.list_models(pretrained=True)  # doctest: +SKIP
    ['classifier.fashion_mnist', 'dcgan.fashion_mnist', ...]
    >>> g = kg.zoo.load_generator("dcgan.fashion_mnist")  # doctest: +SKIP
    >>> kg.zoo.card("dcgan.fashion_mnist")["sha256"]  # doctest: +SKIP
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

__all__ = [
    "DownloadError",
    "cache_dir",
    "card",
    "fetch",
    "get_model",
    "list_models",
    "load_gan",
    "load_generator",
    "local_path",
    "register",
    "unregister",
    "validate_card",
    "write_card",
]
