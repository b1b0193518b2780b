"""Register keras-gans' model classes with Keras when Keras loads, not before.

``keras.saving.load_model`` finds a GAN class only once ``keras_gans.models``
is imported (its classes register themselves), and importing it imports
TensorFlow, which takes seconds. ``import keras_gans`` must not cost that
(``keras-gans --help`` and ``keras-gans zoo list`` never touch TensorFlow), so
the model modules are imported together with Keras: at once when Keras is
already loaded, else right after anything imports it. Either way they are
registered before any Keras call can read a file.
"""

import importlib
import importlib.abc
import importlib.util
import sys

#: Submodules of keras_gans that load together with Keras.
WITH_KERAS = ("losses", "models", "networks")


def _import_all():
    for name in WITH_KERAS:
        importlib.import_module(f"keras_gans.{name}")


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Finds nothing itself: makes the real loader of ``keras`` import the model modules after it."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once: from here on Keras imports as usual
        spec = importlib.util.find_spec("keras")
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_keras = loader.exec_module

        def exec_module(module):
            exec_keras(module)
            _import_all()

        loader.exec_module = exec_module
        return spec


def load_with_keras():
    """Import ``WITH_KERAS`` now if Keras is loaded, else as soon as Keras is imported."""
    if "keras" in sys.modules:
        _import_all()
    elif not any(isinstance(f, _AfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())
