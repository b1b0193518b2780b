"""keras-gans: a Keras 3 GAN model zoo.

Train GANs with plain ``model.fit``, download pretrained generators by name,
and export generators to TF Serving (SavedModel) and LiteRT (TFLite).

Example:
    >>> import keras_gans as kg
    >>> gan = kg.models.DCGAN(latent_dim=128, image_shape=(28, 28, 1))
    >>> gan.compile()
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"

# The model classes load with Keras (at once if it is loaded, else as soon as
# it is), so `keras.saving.load_model` finds them registered while `import
# keras_gans` alone imports no TensorFlow (see keras_gans/_lazy.py); the other
# submodules load on first use, and none of them imports TFDS or matplotlib
# before it needs them.
from keras_gans import _lazy  # noqa: E402

_lazy.load_with_keras()

_SUBMODULES = ("callbacks", "data", "metrics", "zoo", "export", "trainer", "saving", "archive", "sampling")

#: The public namespace: what ``dir(keras_gans)`` lists.
__all__ = sorted(["__version__", "losses", "models", "networks", *_SUBMODULES])


def __getattr__(name):
    if name in _SUBMODULES or name in _lazy.WITH_KERAS:
        module = _import_module(f"keras_gans.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'keras_gans' has no attribute {name!r}")


def __dir__():
    return list(__all__)
