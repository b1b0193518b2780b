"""keras-gans: a Keras 3 GAN model zoo.

Train GANs with plain ``model.fit``, download pretrained generators by name,
and export generators to TF Serving (SavedModel) and LiteRT (TFLite).

Example:
    >>> import keras_gans as kg
    >>> gan = kg.models.DCGAN(latent_dim=128, image_shape=(28, 28, 1))
    >>> gan.compile()
"""

import importlib

__version__ = "0.1.0"

# The model classes load at import so `keras.saving.load_model` finds them
# registered; the other submodules load on first use, and none of them imports
# TFDS or matplotlib before it needs them.
from keras_gans import losses, models, networks  # noqa: E402,F401

_SUBMODULES = ("callbacks", "data", "metrics", "zoo", "export", "trainer", "saving", "archive", "sampling")


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"keras_gans.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'keras_gans' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
