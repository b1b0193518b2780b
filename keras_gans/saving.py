"""Loading ``.keras`` files safely, with errors that say what is wrong."""

import os
import zipfile


def load_gan_file(path, expected_family=None):
    """Load a GAN saved with ``gan.save(path)``; ``safe_mode`` stays on.

    Args:
        path: str, a ``.keras`` file.
        expected_family: optional family name (``"dcgan"``...) the file must hold.

    Returns:
        The ``kg.models.GAN`` subclass instance, compiled if it was saved compiled.

    Example:
        >>> gan = load_gan_file("runs/demo/model.keras")  # doctest: +SKIP
    """
    import keras

    from keras_gans.models import GAN

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist: pass the .keras file written by gan.save().")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a .keras archive (truncated or another format): re-save it with gan.save()."
        )
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot load {path}: {first}") from None
    if not isinstance(model, GAN):
        raise ValueError(
            f"{path} holds a {type(model).__name__}, not a keras-gans GAN: pass a file saved from a kg.models GAN."
        )
    if expected_family is not None and model.family != expected_family:
        raise ValueError(
            f"{path} holds a {model.family} model, not {expected_family}: pass a {expected_family} checkpoint."
        )
    return model
