"""Sample-quality metrics: Frechet distance, KID, precision/recall, feature extractors.

Metrics take activations ``[n, d]`` (numpy arrays) and return python floats;
extractors turn images in [-1, 1] into activations. ``evaluate`` runs the
whole protocol on a GAN (``evaluate_translation`` on a CycleGAN),
``FrechetCallback`` logs the Frechet distance during ``fit``. Each takes the
extractor as an argument: the zoo supplies its Fashion-MNIST classifier as
one (``kg.zoo.classifier_extractor()``), so the metrics import no zoo.

Example:
    >>> import keras_gans as kg
    >>> extractor = kg.zoo.classifier_extractor()
    >>> kg.metrics.frechet_distance(extractor(real_images), extractor(fake_images))  # doctest: +SKIP
"""

from keras_gans.metrics.evaluate import evaluate, format_report
from keras_gans.metrics.extractors import CLASSIFIER_NAME, FeatureExtractor, inception_extractor
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
    "evaluate",
    "evaluate_translation",
    "format_report",
    "format_translation_report",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "inception_extractor",
    "kernel_distance",
    "precision_recall",
]

#: Names that moved to the zoo (it owns the classifier and hands it to the
#: metrics as an extractor), and where they are now.
_MOVED_TO_ZOO = {
    name: f"kg.zoo.{name}"
    for name in ("classifier_extractor", "get_extractor", "load_classifier", "train_classifier", "publish_classifier")
}


def __getattr__(name):
    if name in _MOVED_TO_ZOO:
        raise AttributeError(
            f"kg.metrics.{name} is now {_MOVED_TO_ZOO[name]}: the zoo owns its classifier and passes it "
            "to the metrics as extractor= (metrics import no zoo)."
        )
    raise AttributeError(f"module 'keras_gans.metrics' has no attribute {name!r}")
