"""Sample-quality metrics: Frechet distance, KID, precision/recall, feature extractors.

Metrics take activations ``[n, d]`` (numpy arrays) and return python floats;
extractors turn images in [-1, 1] into activations. ``evaluate`` runs the
whole protocol on a GAN (``evaluate_translation`` on a CycleGAN),
``FrechetCallback`` logs the Frechet distance during ``fit``.

Example:
    >>> import keras_gans as kg
    >>> extractor = kg.metrics.get_extractor((28, 28, 1))
    >>> kg.metrics.frechet_distance(extractor(real_images), extractor(fake_images))  # doctest: +SKIP
"""

from keras_gans.metrics.evaluate import evaluate, format_report
from keras_gans.metrics.extractors import (
    CLASSIFIER_NAME,
    FeatureExtractor,
    classifier_extractor,
    get_extractor,
    inception_extractor,
    load_classifier,
    publish_classifier,
    train_classifier,
)
from keras_gans.metrics.frechet import (
    activation_statistics,
    frechet_distance,
    frechet_distance_from_statistics,
)
from keras_gans.metrics.frechet_callback import FrechetCallback
from keras_gans.metrics.kernel import KernelDistance, kernel_distance
from keras_gans.metrics.precision_recall import PrecisionRecall, precision_recall
from keras_gans.metrics.translation import evaluate_translation, format_translation_report

__all__ = [
    "CLASSIFIER_NAME",
    "FeatureExtractor",
    "FrechetCallback",
    "KernelDistance",
    "PrecisionRecall",
    "activation_statistics",
    "classifier_extractor",
    "evaluate",
    "evaluate_translation",
    "format_report",
    "format_translation_report",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "get_extractor",
    "inception_extractor",
    "kernel_distance",
    "load_classifier",
    "precision_recall",
    "publish_classifier",
    "train_classifier",
]
