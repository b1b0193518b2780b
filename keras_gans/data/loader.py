"""Datasets to tf.data pipelines scaled to [-1, 1].

Sources, tried in order for a name: a TFDS dataset already prepared on this
machine, IDX files (``$KERAS_GANS_DATA`` or the Debian package's folder), then
a TFDS download. Local copies come before the download so that an offline
machine never waits on the network. A path may be an IDX folder, an image
folder (one subfolder per class, or images directly), or a ``.npz`` file with
``images`` (and optionally ``labels``); numpy arrays are taken as they are.
"""

import os

import numpy as np

from keras_gans.data import idx

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def _offline():
    return os.environ.get("KERAS_GANS_OFFLINE", "") not in ("", "0")


def how_to_get(name):
    """One sentence telling how to make dataset ``name`` available offline."""
    hints = []
    if name in idx.DEBIAN_PACKAGES:
        hints.append(f"'apt-get install {idx.DEBIAN_PACKAGES[name]}'")
    hints.append(f"set KERAS_GANS_DATA to a folder holding its IDX files or a '{name}' subfolder")
    hints.append(f"run once online so TFDS can download it (tfds.load('{name}'))")
    return "; or ".join(hints)


def check_images(images, labels=None):
    """Validate and normalize an image array (and labels) to uint8/float NHWC.

    Args:
        images: array ``[n, h, w]`` or ``[n, h, w, c]``; uint8 in [0, 255] or
            float in [-1, 1].
        labels: optional int array ``[n]``.

    Returns:
        ``(images, labels)`` with a channel axis and int32 labels.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(
            f"images must have shape [n, height, width] or [n, height, width, channels], "
            f"got {images.shape}."
        )
    if len(images) == 0:
        raise ValueError("the dataset is empty: it has no images.")
    if images.dtype == np.uint8:
        pass
    elif np.issubdtype(images.dtype, np.floating):
        lo, hi = float(images.min()), float(images.max())
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -1.0 or hi > 1.0:
            raise ValueError(
                f"float images must lie in [-1, 1], got values in [{lo}, {hi}]: pass uint8 "
                "images or scale them with x / 127.5 - 1."
            )
        images = images.astype("float32")
    else:
        raise ValueError(
            f"images must be uint8 in [0, 255] or float in [-1, 1], got dtype {images.dtype}."
        )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}.")
        if labels.shape != (len(images),):
            raise ValueError(
                f"got {len(images)} images but labels of shape {labels.shape}: one label per image."
            )
        labels = labels.astype("int32")
    return images, labels


def _tfds_builder(name):
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        return None
    try:
        return tfds.builder(name)
    except Exception:  # unknown name or a broken registry entry
        return None


def tfds_data_dir():
    """The folder TFDS keeps prepared datasets in (``$TFDS_DATA_DIR``, default ``~/tensorflow_datasets``)."""
    return os.path.expanduser(os.environ.get("TFDS_DATA_DIR") or os.path.join("~", "tensorflow_datasets"))


def looks_like_tfds(source):
    """A string that names no file: a TFDS name (``"name"``, ``"name/config"``, ``"name:1.0.0"``).

    A string that exists, starts like a path (``.``, ``/``, ``~``), ends in
    ``.npz`` or a separator, or whose first part is an existing folder is a
    path instead.
    """
    if not isinstance(source, str) or not source or os.path.exists(source):
        return False
    if source.startswith((".", os.sep, "~")) or source.endswith((".npz", os.sep)):
        return False
    return not os.path.isdir(source.split("/")[0])


def _tfds_may_be_prepared(name):
    """False when TFDS cannot hold ``name`` prepared here: its folder does not exist.

    Checked before TFDS is imported, so loading from IDX files neither pays
    for the import nor shows TFDS's warning about a dataset folder it does not
    find ("Variant folder ... has no dataset_info.json").
    """
    base = name.split(":", 1)[0].split("/", 1)[0]
    return bool(base) and os.path.isdir(os.path.join(tfds_data_dir(), base))


def resize_uint8(images, size):
    """Resize uint8 images (``[h, w, c]`` or ``[n, h, w, c]``) to ``size``, rounded back to uint8.

    Antialiased bilinear resizing, then round and clip to [0, 255]: the one
    resize that TFDS sources (per example, as they stream in) and zoo recipes
    with ``[data] image_size`` share.

    Example:
        >>> resize_uint8(np.full((4, 6, 3), 200, "uint8"), (2, 3)).shape
        TensorShape([2, 3, 3])
    """
    import tensorflow as tf

    resized = tf.image.resize(images, tuple(int(v) for v in size), antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(resized, 0, 255)), "uint8")


def _tfds_numpy(builder, split, image_key="image", image_size=None):
    """Read a prepared TFDS split into memory, resizing each image to ``image_size``.

    Resizing happens per example as the split streams in, so a dataset of
    large photos (CelebA's 218x178) is held at the training size only.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    ds = builder.as_dataset(split=split)
    if image_size is not None:

        def resize(ex):
            return {**ex, image_key: resize_uint8(ex[image_key], image_size)}

        ds = ds.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    images, labels = [], []
    for ex in tfds.as_numpy(ds):
        images.append(ex[image_key])
        if "label" in ex:
            labels.append(ex["label"])
    try:
        stacked = np.stack(images)
    except ValueError:
        raise ValueError(
            f"TFDS {builder.name!r} [{split}] has images of different shapes: pass image_size=(h, w)."
        ) from None
    return stacked, (np.asarray(labels) if labels else None)


def _folder_numpy(path, image_size=None, channels=None):
    """Read an image folder: images directly, or one subfolder per class."""
    import tensorflow as tf

    entries = sorted(os.listdir(path))
    classes = [e for e in entries if os.path.isdir(os.path.join(path, e))]
    files, labels = [], []
    if classes:
        for i, c in enumerate(classes):
            for f in sorted(os.listdir(os.path.join(path, c))):
                if f.lower().endswith(_IMAGE_SUFFIXES):
                    files.append(os.path.join(path, c, f))
                    labels.append(i)
    else:
        files = [os.path.join(path, f) for f in entries if f.lower().endswith(_IMAGE_SUFFIXES)]
    if not files:
        raise ValueError(
            f"no images ({', '.join(_IMAGE_SUFFIXES)}) in {path} or its subfolders."
        )
    images = []
    for f in files:
        try:
            img = tf.io.decode_image(tf.io.read_file(f), channels=channels or 0, expand_animations=False)
        except Exception as err:
            raise ValueError(f"cannot decode image {f}: {err}") from None
        if channels is None and img.shape[-1] == 4:
            img = img[..., :3]  # GANs train on RGB; an alpha channel is dropped
        if image_size is not None:
            img = tf.cast(tf.image.resize(img, image_size, antialias=True), "uint8")
        images.append(img.numpy())
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(
            f"images in {path} have different shapes {sorted(shapes)[:3]}: pass image_size=(h, w)."
        )
    return np.stack(images), (np.asarray(labels, "int32") if classes else None)


def _archive_numpy(path, split, image_size):
    """Read an image folder (or IDX files) packed in a zip or tar archive.

    The archive goes through ``kg.archive.safe_extract`` (no absolute paths,
    no ``..``, no links) into a temporary folder that is removed once the
    images are in memory; nothing in it is executed.
    """
    import tempfile

    from keras_gans.archive import safe_extract

    with tempfile.TemporaryDirectory(prefix="keras-gans-archive-") as tmp:
        folder = safe_extract(path, os.path.join(tmp, "data"))
        # Archives usually wrap everything in one top folder: look inside it,
        # unless it holds the images itself (then it is the folder to read).
        while True:
            entries = os.listdir(folder)
            inner = os.path.join(folder, entries[0]) if len(entries) == 1 else None
            if inner is None or not os.path.isdir(inner) or any(
                f.lower().endswith(_IMAGE_SUFFIXES) for f in os.listdir(inner)
            ):
                break
            folder = inner
        if idx.has_idx(folder, split):
            return check_images(*idx.load_idx_split(folder, split))
        return check_images(*_folder_numpy(folder, image_size))


def resized_images(images, image_size):
    """Images ``[n, h, w, c]`` resized to ``image_size`` (``[h, w]``), in chunks; as they are if already that size.

    uint8 images go through ``resize_uint8`` (antialiased bilinear, rounded
    back to uint8), float images through the same antialiased resize in float32.
    """
    if image_size is None or tuple(images.shape[1:3]) == tuple(int(v) for v in image_size):
        return images
    size = [int(v) for v in image_size]
    if images.dtype == np.uint8:
        return np.concatenate([resize_uint8(images[i : i + 1024], size).numpy() for i in range(0, len(images), 1024)])
    import tensorflow as tf

    return np.concatenate([
        tf.image.resize(images[i : i + 1024], size, antialias=True).numpy().astype("float32")
        for i in range(0, len(images), 1024)
    ])


def load_numpy(source, split="train", image_size=None):
    """Load a dataset into memory as uint8 images and int labels.

    Arrays are taken the way ``model.fit(x, y)`` takes them:
    ``load_numpy(images, labels)`` (or ``load_numpy((images, labels))``)
    checks both and returns them together; ``load_numpy(images)`` has no
    labels. For a named or path source the second argument is the split, a
    string; anything else there is refused with a ``ValueError`` rather than
    silently ignored.

    Args:
        source: a dataset name (``"fashion_mnist"``, any TFDS image dataset),
            a path (IDX folder, image folder, ``.npz``, or a ``.zip``/``.tar``
            of an image or IDX folder, extracted safely), an image array, or an
            ``(images, labels)`` tuple of arrays.
        split: ``"train"`` or ``"test"`` (TFDS names accept any split string);
            when ``source`` is an image array, the labels array instead (or None).
        image_size: optional ``(height, width)`` to resize the images to:
            image folders, archives and TFDS datasets as they are read (a
            photo dataset is never held at full size), IDX files, ``.npz``
            files and arrays after loading (``resized_images``).

    Returns:
        ``(images, labels)``: images ``[n, h, w, c]`` (uint8, or float32 in
        [-1, 1] when given as floats); labels int32 ``[n]`` or None.

    Example:
        >>> images, labels = load_numpy("fashion_mnist", split="test")
        >>> images.shape, labels[:3]
        ((10000, 28, 28, 1), array([9, 2, 1], dtype=int32))
        >>> x, y = load_numpy(np.zeros((4, 28, 28), "uint8"), np.arange(4))
        >>> x.shape, y.tolist()
        ((4, 28, 28, 1), [0, 1, 2, 3])
    """
    images, labels = _load_numpy(source, split, image_size)
    if image_size is not None:
        images = resized_images(images, image_size)
    return images, labels


def _load_numpy(source, split, image_size):
    """``load_numpy`` before its final resize (folders, archives and TFDS resize as they are read)."""
    arrays = isinstance(source, np.ndarray) or (
        hasattr(source, "__array__") and not isinstance(source, (str, os.PathLike))
    )
    if arrays and split is not None and not isinstance(split, str):
        return check_images(source, split)  # load_numpy(images, labels), as in fit(x, y)
    if isinstance(source, (tuple, list)) and len(source) == 2:
        return check_images(*source)
    if arrays:
        return check_images(source)
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(
            f"source must be a dataset name, a path, an array or (images, labels), got {type(source).__name__}."
        )
    source = os.fspath(source)
    if not isinstance(split, str):
        raise ValueError(
            f"split must be a split name such as 'train' or 'test', got {type(split).__name__}: "
            "labels go with arrays, as load_numpy(images, labels)."
        )
    if os.path.exists(source):
        if os.path.isdir(source):
            if idx.has_idx(source, split):
                return check_images(*idx.load_idx_split(source, split))
            return check_images(*_folder_numpy(source, image_size))
        if source.endswith(".npz"):
            with np.load(source) as f:
                if "images" not in f:
                    raise ValueError(f"{source} has no 'images' array (it has {sorted(f.files)}).")
                return check_images(f["images"], f["labels"] if "labels" in f else None)
        if source.lower().endswith(_ARCHIVE_SUFFIXES):
            return _archive_numpy(source, split, image_size)
        raise ValueError(
            f"{source} is a file but not a .npz or an archive: pass a folder, a .npz, a .zip/.tar "
            "of a folder or a dataset name."
        )
    if not looks_like_tfds(source):
        # A TFDS name may hold a '/' ("cycle_gan/horse2zebra"); a path starts like one.
        raise FileNotFoundError(f"data folder {source} does not exist: check the path.")

    root = os.environ.get("KERAS_GANS_DATA")
    if root and not os.path.isdir(root):
        raise FileNotFoundError(
            f"KERAS_GANS_DATA={root} is not a folder: point it at the folder holding the data, or unset it."
        )
    builder = _tfds_builder(source) if _tfds_may_be_prepared(source) else None
    if builder is not None and builder.is_prepared():
        return check_images(*_tfds_numpy(builder, split, image_size=image_size))
    for folder in idx.idx_dirs(source):
        if idx.has_idx(folder, split):
            return check_images(*idx.load_idx_split(folder, split))
    # Nothing local: TFDS is what is needed now (to name the dataset, or download it).
    builder = builder or _tfds_builder(source)
    if builder is None:
        if "/" in source:
            raise FileNotFoundError(
                f"data folder {source} does not exist, and it names no TFDS dataset either: check the path."
            )
        if source in idx.SYSTEM_DIRS:
            raise FileNotFoundError(f"{source} is not on this machine: {how_to_get(source)}.")
        raise ValueError(
            f"unknown dataset {source!r}: not a TFDS dataset name, an existing path, or IDX "
            "data under KERAS_GANS_DATA. Pass a TFDS image dataset name (e.g. 'fashion_mnist'), "
            "a folder, a .npz file or numpy arrays."
        )
    if _offline():
        raise FileNotFoundError(
            f"{source} is not on this machine and KERAS_GANS_OFFLINE is set: {how_to_get(source)}."
        )
    try:
        builder.download_and_prepare()
    except Exception as err:
        raise FileNotFoundError(
            f"could not download {source} with TFDS ({type(err).__name__}): {how_to_get(source)}."
        ) from None
    return check_images(*_tfds_numpy(builder, split, image_size=image_size))


def prefetched(ds):
    """``ds.prefetch(tf.data.AUTOTUNE)`` with tf.data's autotuning thread turned off.

    With autotuning on (tf.data's default) every iterator runs a model thread
    that wakes 5.1 s, 10.2 s, 20.5 s, ... after the iterator is made. Deleting
    the iterator, which Keras does after each epoch over a finite dataset and
    at the end of ``fit``, can wait for that thread's next wake-up: at worst
    about as long again as the epoch, idle. With autotuning off, ``AUTOTUNE``
    maps still run in parallel and the prefetch still runs ahead, without that
    thread; the library's in-memory pipelines feed training no slower
    (``bench/data_pipeline.py`` measures both).

    Example:
        >>> import tensorflow as tf
        >>> prefetched(tf.data.Dataset.range(3)).options().autotune.enabled
        False
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


def to_pipeline(images, labels=None, batch_size=128, shuffle=True, seed=None, drop_remainder=True):
    """Build a shuffled, batched, prefetched dataset scaled to [-1, 1].

    Scaling runs on whole batches (one vectorized op per batch, not per image)
    after the uint8 images are shuffled, which keeps the input pipeline well
    ahead of the train step on two cores.

    Args:
        images: uint8 ``[n, h, w, c]`` or float32 in [-1, 1].
        labels: optional int32 ``[n]``; when given, elements are ``(images, labels)``.
        batch_size: int.
        shuffle: bool, reshuffle every epoch.
        seed: int or None, the shuffle seed.
        drop_remainder: bool, drop the last partial batch (GAN steps like a fixed batch).

    Returns:
        ``tf.data.Dataset``.
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if drop_remainder and len(images) < batch_size:
        raise ValueError(
            f"the dataset has {len(images)} images, fewer than one batch of {batch_size}: "
            "use a smaller batch_size."
        )
    elements = images if labels is None else (images, labels)
    ds = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def scale(x):
        if x.dtype == tf.uint8:
            return tf.cast(x, tf.float32) / 127.5 - 1.0
        return x

    if labels is None:
        ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda x, y: (scale(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return prefetched(ds)


def load(
    source,
    split="train",
    batch_size=128,
    labels=False,
    shuffle=True,
    seed=None,
    classes=None,
    image_size=None,
    drop_remainder=True,
):
    """Load a dataset as a shuffled, batched, prefetched ``tf.data.Dataset`` in [-1, 1].

    Args:
        source: a TFDS image dataset name (``"fashion_mnist"``, ``"mnist"``,
            ``"cifar10"``...), a path (IDX folder, image folder, ``.npz``), an
            image array, or an ``(images, labels)`` tuple of arrays.
        split: ``"train"`` or ``"test"`` (TFDS accepts its own split strings);
            when ``source`` is an image array, its labels array (as in
            ``load_numpy(images, labels)``; batches carry them with ``labels=True``).
        batch_size: int, images per batch.
        labels: bool, yield ``(images, labels)`` instead of images.
        shuffle: bool, reshuffle each epoch.
        seed: int or None, the shuffle seed.
        classes: optional iterable of class ids to keep (e.g. ``[7]`` for sneakers).
        image_size: optional ``(height, width)`` to resize to (image folders, archives
            and TFDS datasets; IDX files and arrays are used as they are).
        drop_remainder: bool, drop the last partial batch.

    Returns:
        ``tf.data.Dataset`` of float32 images ``[batch, h, w, c]`` in [-1, 1]
        (and int32 labels ``[batch]`` when ``labels=True``).

    Example:
        >>> ds = load("fashion_mnist", batch_size=128)
        >>> next(iter(ds)).shape
        TensorShape([128, 28, 28, 1])
    """
    images, y = load_numpy(source, split=split, image_size=image_size)
    if (labels or classes is not None) and y is None:
        raise ValueError(
            f"{source!r} has no labels: use labels=False and classes=None, or a labelled source."
        )
    if classes is not None:
        keep = np.isin(y, np.asarray(list(classes)))
        if not keep.any():
            raise ValueError(f"no images of classes {list(classes)} in {source!r}.")
        images, y = images[keep], y[keep]
    return to_pipeline(
        images, y if labels else None, batch_size=batch_size, shuffle=shuffle, seed=seed,
        drop_remainder=drop_remainder,
    )
