"""Saving and loading that never leaves a half-written file, and refuses unsafe ones.

Every file here is written to a temporary file beside its target, flushed to
disk and renamed over the target, so a crash (even ``kill -9``) at any moment
leaves either the old complete file or the new complete one. ``.keras`` files
are loaded with Keras' ``safe_mode``, which refuses Python code stored in them.
"""

import json
import os
import tempfile
import zipfile

#: Prefix of the temporary files written beside a target before the rename.
TEMP_PREFIX = ".tmp-"
#: Name of the training-progress record stored inside a checkpoint's archive.
STATE_ENTRY = "keras_gans_state.json"


def atomic_path(path):
    """Return a new temporary file beside ``path`` (same filesystem, so rename is atomic).

    The name starts with ``.tmp-`` and ends with the target's name, so it keeps
    the suffix (``.keras``, ``.weights.h5``) that Keras checks.
    """
    folder = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=os.path.basename(path), dir=folder)
    os.close(fd)
    # mkstemp makes the file private (0600); the target gets the usual mode.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot sync a directory
        pass
    finally:
        os.close(fd)


def commit(tmp, path):
    """Flush ``tmp`` to disk and rename it over ``path`` (the atomic step)."""
    _fsync(tmp)
    os.replace(tmp, path)
    _fsync(os.path.dirname(os.path.abspath(path)))
    return path


def remove_stale_temps(path):
    """Delete temporary files a killed writer of ``path`` left behind; returns their names."""
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    removed = []
    if os.path.isdir(folder):
        for entry in os.listdir(folder):
            if entry.startswith(TEMP_PREFIX) and entry.endswith(name):
                os.remove(os.path.join(folder, entry))
                removed.append(entry)
    return removed


def write_atomic(path, write):
    """Call ``write(tmp_path)`` and rename the result over ``path``; no partial file on error.

    Args:
        path: str, the file to write.
        write: function taking the temporary path and writing the content there.

    Returns:
        ``path``.

    Example:
        >>> write_atomic("/tmp/hello.txt", lambda tmp: open(tmp, "w").write("hi"))
        '/tmp/hello.txt'
    """
    path = os.fspath(path)
    tmp = atomic_path(path)
    try:
        write(tmp)
        commit(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json_atomic(path, data, sort_keys=True):
    """Write ``data`` as JSON through a temporary file and a rename.

    Args:
        path: str, the file to write.
        data: JSON-able object.
        sort_keys: bool, sort dict keys (False keeps their order, as cards do).
    """

    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=sort_keys)
            f.write("\n")

    return write_atomic(path, write)


def save_model_atomic(model, path, state=None):
    """``model.save(path)`` through a temporary file and a rename.

    Args:
        model: a ``keras.Model``.
        path: str, the ``.keras`` file.
        state: optional JSON-able dict stored inside the archive (as
            ``keras_gans_state.json``), so the training progress it describes
            is replaced together with the weights, never apart from them.

    Returns:
        ``path``.
    """

    def write(tmp):
        model.save(tmp)
        if state is not None:
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(STATE_ENTRY, json.dumps(state, sort_keys=True))

    return write_atomic(path, write)


def read_checkpoint_state(path):
    """Return the training progress stored in a ``.keras`` checkpoint, or None.

    Args:
        path: str, a ``.keras`` file written by ``kg.callbacks.AtomicCheckpoint``.

    Returns:
        dict with ``epoch`` (completed epochs), ``batch`` (batches done in the
        next epoch), ``step`` (global training steps) and ``steps_per_epoch``;
        None when the file holds no such record.
    """
    with zipfile.ZipFile(path) as archive:
        if STATE_ENTRY not in archive.namelist():
            return None
        return json.loads(archive.read(STATE_ENTRY))


def load_gan_file(path, expected_family=None):
    """Load a GAN saved with ``gan.save(path)``; ``safe_mode`` stays on.

    Safe mode refuses Python bytecode stored in the file (``Lambda`` layers
    whose function is a Python lambda) and classes from outside Keras and the
    packages that registered them, so loading a file never runs its code.

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
        text = " ".join(str(err).split())
        if "safe_mode" in text or "arbitrary code" in text:
            raise ValueError(
                f"refusing to load {path}: it holds Python code (e.g. a Lambda layer), which could "
                "run anything, so safe mode does not load it. Rebuild the model without Lambda layers, "
                "or load it yourself with safe_mode=False only if you trust where it came from."
            ) from None
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
