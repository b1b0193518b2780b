"""IDX files (the MNIST / Fashion-MNIST format), read into numpy."""

import gzip
import os

import numpy as np

#: Where Debian's dataset packages put the IDX files.
SYSTEM_DIRS = {
    "fashion_mnist": "/usr/share/datasets/fashion-mnist",
    "mnist": "/usr/share/datasets/mnist",
}

#: Debian package that provides each dataset.
DEBIAN_PACKAGES = {"fashion_mnist": "dataset-fashion-mnist", "mnist": "dataset-mnist"}

_SPLIT_PREFIX = {"train": "train", "test": "t10k"}
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read one IDX file (optionally gzipped) into a numpy array.

    Args:
        path: str, path to ``*-ubyte`` or ``*-ubyte.gz``.

    Returns:
        ``np.ndarray`` with the file's dtype and shape.

    Example:
        >>> images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
        >>> images.shape
        (10000, 28, 28)
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"cannot read IDX file {path}: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    dtype = np.dtype(_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: {len(raw)} bytes, header says {expected}. "
            "Reinstall or re-download it."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find_file(folder, stem):
    for suffix in ("", ".gz"):
        path = os.path.join(folder, stem + suffix)
        if os.path.isfile(path):
            return path
    return None


def has_idx(folder, split="train"):
    """True when ``folder`` holds the IDX image file of ``split``."""
    prefix = _SPLIT_PREFIX.get(split)
    return bool(prefix and folder and _find_file(folder, f"{prefix}-images-idx3-ubyte"))


def load_idx_split(folder, split="train"):
    """Read the images and labels of a split from an MNIST-layout IDX folder.

    Args:
        folder: str, folder with ``train-images-idx3-ubyte[.gz]`` etc.
        split: ``"train"`` or ``"test"``.

    Returns:
        ``(images uint8 [n, 28, 28, 1], labels int32 [n] or None)``.
    """
    if split not in _SPLIT_PREFIX:
        raise ValueError(
            f"IDX data has splits 'train' and 'test', got split={split!r}."
        )
    prefix = _SPLIT_PREFIX[split]
    image_path = _find_file(folder, f"{prefix}-images-idx3-ubyte")
    if image_path is None:
        raise FileNotFoundError(f"no {prefix}-images-idx3-ubyte[.gz] in {folder}.")
    images = read_idx(image_path)
    if images.ndim != 3:
        raise ValueError(f"{image_path} holds shape {images.shape}, expected [n, h, w].")
    label_path = _find_file(folder, f"{prefix}-labels-idx1-ubyte")
    labels = None
    if label_path is not None:
        labels = read_idx(label_path).astype("int32")
        if labels.shape != (len(images),):
            raise ValueError(
                f"{label_path} has {labels.shape[0]} labels for {len(images)} images."
            )
    return images[..., None].astype("uint8"), labels


def idx_dirs(name):
    """Candidate folders for dataset ``name``, in search order.

    ``$KERAS_GANS_DATA`` (or its ``name`` / ``name``-with-dashes subfolder)
    comes first, then the Debian package's folder.
    """
    dirs = []
    root = os.environ.get("KERAS_GANS_DATA")
    if root:
        dirs += [os.path.join(root, name), os.path.join(root, name.replace("_", "-")), root]
    if name in SYSTEM_DIRS:
        dirs.append(SYSTEM_DIRS[name])
    return dirs
