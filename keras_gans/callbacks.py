"""Training callbacks: sample grids and atomic checkpoints."""

import json
import os
import tempfile

import keras
import numpy as np


def _atomic_path(path):
    """A temporary file beside ``path`` (same filesystem, so rename is atomic)."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=folder)
    os.close(fd)
    return tmp


def image_grid(images, ncols=None):
    """Tile images ``[n, h, w, c]`` in [-1, 1] into one uint8 array.

    Args:
        images: array of images in [-1, 1].
        ncols: int, images per row (default: the smallest square that fits).

    Returns:
        uint8 array ``[rows*h, cols*w]`` (gray) or ``[rows*h, cols*w, c]``.

    Example:
        >>> image_grid(np.zeros((4, 28, 28, 1))).shape
        (56, 56)
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"expected images [n, h, w, c] with n >= 1, got shape {images.shape}.")
    n, h, w, c = images.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    pixels = np.clip((images + 1.0) * 127.5, 0, 255).round().astype("uint8")
    grid = np.zeros((nrows * h, ncols * w, c), "uint8")
    for i in range(n):
        r, col = divmod(i, ncols)
        grid[r * h : (r + 1) * h, col * w : (col + 1) * w] = pixels[i]
    return grid[..., 0] if c == 1 else grid


def save_grid(images, path, ncols=None):
    """Save images in [-1, 1] as one PNG grid, written atomically.

    Args:
        images: array ``[n, h, w, c]`` in [-1, 1].
        path: str, the ``.png`` file to write.
        ncols: int, images per row.

    Returns:
        The path written.

    Example:
        >>> save_grid(gan.generate(16, seed=0), "grid.png")  # doctest: +SKIP
    """
    from matplotlib import image as mpimg

    grid = image_grid(images, ncols)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = _atomic_path(path)
    try:
        mpimg.imsave(tmp, grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=255, format="png")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


class SampleGrid(keras.callbacks.Callback):
    """Save a grid of samples from a fixed latent batch at the end of epochs.

    The same seed is used every epoch, so the grids show how the same latents
    evolve; files are ``epoch_001.png``, ``epoch_002.png``... in ``out_dir``.

    Args:
        out_dir: str, folder for the PNG files.
        every: int, save every ``every`` epochs (the last epoch always when
            ``every`` divides it).
        n: int, images per grid.
        seed: int, seed of the fixed latent batch.
        inputs: optional array of input images (CycleGAN translates them).

    Example:
        >>> gan.fit(ds, epochs=10, callbacks=[kg.callbacks.SampleGrid("runs/dcgan")])  # doctest: +SKIP
    """

    def __init__(self, out_dir, every=1, n=64, seed=0, inputs=None):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int, got {every!r}.")
        self.out_dir = os.fspath(out_dir)
        self.every = every
        self.n = n
        self.seed = seed
        self.inputs = inputs
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = self.model.preview(self.n, seed=self.seed, inputs=self.inputs)
        path = os.path.join(self.out_dir, f"epoch_{epoch + 1:03d}.png")
        save_grid(images, path)
        self.paths.append(path)


class AtomicCheckpoint(keras.callbacks.Callback):
    """Save the whole model to one ``.keras`` file at each epoch end, atomically.

    The model is written to a temporary file beside ``path`` and renamed over
    it, so a crash during the write leaves the previous checkpoint intact. A
    small ``state.json`` beside it records the completed epoch for resuming.

    Args:
        path: str, the ``.keras`` file.
        every: int, save every ``every`` epochs.

    Example:
        >>> gan.fit(ds, epochs=5, callbacks=[AtomicCheckpoint("runs/x/model.keras")])  # doctest: +SKIP
    """

    def __init__(self, path, every=1):
        super().__init__()
        self.path = os.fspath(path)
        self.every = every

    @property
    def state_path(self):
        return os.path.join(os.path.dirname(os.path.abspath(self.path)), "state.json")

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        save_model_atomic(self.model, self.path)
        write_json_atomic(self.state_path, {"epoch": epoch + 1, "logs": _plain(logs)})


def _plain(logs):
    return {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}


def save_model_atomic(model, path):
    """``model.save(path)`` through a temporary file and a rename."""
    tmp = _atomic_path(path)  # ends with the target's name, so with ".keras"
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json_atomic(path, data):
    """Write ``data`` as JSON through a temporary file and a rename."""
    tmp = _atomic_path(path)
    try:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
