"""Ship trained generators: TF Serving SavedModels and TFLite (LiteRT) files.

Example:
    >>> import keras_gans as kg
    >>> gan = kg.models.DCGAN(latent_dim=16, width=8)
    >>> path = kg.export.saved_model(gan, "serving")  # doctest: +SKIP
    >>> kg.export.tflite(gan, "dcgan.tflite", quantize="float16")  # doctest: +SKIP
    >>> kg.export.verify(path, gan)["passed"]  # doctest: +SKIP
    True
"""

from keras_gans.export.saved_model import saved_model, stateless_latent
from keras_gans.export.tflite import QUANTIZE_MODES, VerificationError, describe, float_layers_for, tflite
from keras_gans.export.verify import MEAN_THRESHOLDS, THRESHOLDS, UINT8_TOLERANCE, format_report, verify

#: The formats ``keras-gans export --format`` accepts.
FORMATS = ("saved_model", "tflite")

__all__ = [
    "FORMATS",
    "QUANTIZE_MODES",
    "MEAN_THRESHOLDS",
    "THRESHOLDS",
    "UINT8_TOLERANCE",
    "VerificationError",
    "describe",
    "float_layers_for",
    "format_report",
    "saved_model",
    "stateless_latent",
    "tflite",
    "verify",
]
