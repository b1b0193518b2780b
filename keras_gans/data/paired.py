"""Paired datasets for Pix2Pix: batches ``(input_images, target_images)`` of aligned images."""

import os

import numpy as np

from keras_gans.data.loader import (
    _IMAGE_SUFFIXES,
    _offline,
    check_images,
    how_to_get,
    load_numpy,
    looks_like_tfds,
    resized_images,
    prefetched,
    resize_uint8,
    tfds_data_dir,
)

#: The ``pair`` transforms ``load_paired`` takes: each makes pairs from one image source.
PAIR_TRANSFORMS = ("edges", "ab", "ba")

#: Luma weights of RGB (ITU-R BT.601), for the gray image edges are found in.
_LUMA = (0.299, 0.587, 0.114)


def _describe(source):
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    return "the given arrays"


def _is_path(source):
    return isinstance(source, (str, os.PathLike))


def _split_folder(source, split):
    """``source/split`` when ``source`` is a folder holding one (the layout of the paper's archives)."""
    if _is_path(source) and os.path.isdir(source):
        inner = os.path.join(os.fspath(source), str(split))
        if os.path.isdir(inner):
            return inner
    return source


def edge_map(images, threshold=0.4):
    """Edge maps of images: dark lines on white where the Sobel gradient is strong.

    The gray image (the channel mean of 1- or 2-channel images, BT.601 luma
    of RGB) in [0, 1] is filtered with the 3x3 Sobel kernels
    (``tf.image.sobel_edges``, reflected at the border); a pixel is an edge
    where the gradient magnitude divided by 4 exceeds ``threshold``. A step
    from black to white gives 1.0 on both sides of the step (lines are two
    pixels wide), so the default 0.4 keeps steps of 40% of the range and
    more: outlines and the strongest folds of a Fashion-MNIST garment, little
    of its texture. Edges are 0 (black),
    everything else 255 (white), the look of pix2pix's edges2shoes inputs
    (drawn lines on paper), in as many channels as the images.

    Args:
        images: uint8 ``[n, h, w, c]`` (or ``[n, h, w]``), or floats in [-1, 1].
        threshold: float in (0, 1], the edge threshold on the normalized magnitude.

    Returns:
        uint8 ``np.ndarray`` of the images' shape (with a channel axis).

    Example:
        >>> square = np.zeros((1, 8, 8, 1), "uint8"); square[0, 2:6, 2:6] = 255
        >>> edges = edge_map(square)[0, :, :, 0]
        >>> (edges[4] == 0).astype(int).tolist()   # row 4 crosses both sides of the square
        [0, 1, 1, 0, 0, 1, 1, 0]
    """
    import tensorflow as tf

    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not 0 < threshold <= 1:
        raise ValueError(f"edge_threshold must be a number in (0, 1], got {threshold!r}.")
    images, _ = check_images(images)
    if images.dtype == np.uint8:
        unit = images.astype("float32") / 255.0
    else:
        unit = (images.astype("float32") + 1.0) / 2.0
    if unit.shape[-1] >= 3:
        gray = unit[..., :3] @ np.asarray(_LUMA, "float32")  # RGB(A): luma
    else:
        gray = unit.mean(axis=-1)
    out = np.empty(images.shape, "uint8")
    for start in range(0, len(gray), 4096):
        chunk = tf.constant(gray[start : start + 4096, :, :, None])
        sobel = tf.image.sobel_edges(chunk)[:, :, :, 0, :]  # [n, h, w, (dy, dx)]
        magnitude = tf.sqrt(tf.reduce_sum(tf.square(sobel), axis=-1)) / 4.0
        lines = np.where(magnitude.numpy() > threshold, 0, 255).astype("uint8")
        out[start : start + 4096] = lines[..., None]
    return out


def _halves(images, pair, what):
    """Split side-by-side ``[A | B]`` images: ``pair="ab"`` -> (A, B), ``"ba"`` -> (B, A)."""
    width = images.shape[2]
    if width % 2:
        raise ValueError(
            f"pair={pair!r} splits side-by-side images into two halves, but the images of {what} "
            f"are {width} pixels wide (odd): crop them to an even width."
        )
    left, right = images[:, :, : width // 2], images[:, :, width // 2 :]
    return (left, right) if pair == "ab" else (right, left)


def _image_files(folder):
    files = sorted(
        f for f in os.listdir(folder)
        if f.lower().endswith(_IMAGE_SUFFIXES) and os.path.isfile(os.path.join(folder, f))
    )
    if not files:
        raise ValueError(f"no images ({', '.join(_IMAGE_SUFFIXES)}) in {folder}.")
    return files


def _read_files(folder, files, image_size):
    import tensorflow as tf

    images = []
    for name in files:
        path = os.path.join(folder, name)
        try:
            image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        except Exception as err:
            raise ValueError(f"cannot decode image {path}: {err}") from None
        if image.shape[-1] == 4:
            image = image[..., :3]  # an alpha channel is dropped, as kg.data.load does
        if image_size is not None:
            image = resize_uint8(image, image_size)
        images.append(image.numpy())
    if len({im.shape for im in images}) > 1:
        raise ValueError(
            f"images in {folder} have different shapes {sorted({im.shape for im in images})[:3]}: "
            "pass image_size=(h, w)."
        )
    return np.stack(images)


def _aligned_folders(inputs, targets, image_size):
    """The images of two folders, paired by file name (the i-th of each in name order)."""
    files = [_image_files(inputs), _image_files(targets)]
    if len(files[0]) != len(files[1]):
        raise ValueError(
            f"{inputs} has {len(files[0])} images but {targets} has {len(files[1])}: paired folders "
            "need one target per input (the same file names in both)."
        )
    stems = [[os.path.splitext(f)[0] for f in fs] for fs in files]
    shared = set(stems[0]) & set(stems[1])
    if shared and stems[0] != stems[1]:
        lonely = sorted(set(stems[0]) - set(stems[1]))
        where, other = (inputs, targets) if lonely else (targets, inputs)
        lonely = lonely or sorted(set(stems[1]) - set(stems[0]))
        raise ValueError(
            f"{os.path.join(where, lonely[0])}.* has no image of the same name in {other}: paired "
            "folders pair files by name, so give each input its target under the same name."
        )
    return _read_files(inputs, files[0], image_size), _read_files(targets, files[1], image_size)


def _npz_pairs(path, features):
    with np.load(path) as f:
        names = list(f.files)
        if features is not None:
            keys = _check_features(features)
        elif "inputs" in names and "targets" in names:
            keys = ("inputs", "targets")
        elif names == ["arr_0", "arr_1"]:
            keys = ("arr_0", "arr_1")  # np.savez(path, inputs, targets)
        else:
            raise ValueError(
                f"{path} has arrays {names}: name the input and target arrays with "
                "features=('input_key', 'target_key'), or save them as np.savez(path, "
                "inputs=..., targets=...)."
            )
        for key in keys:
            if key not in names:
                raise ValueError(f"{path} has no array {key!r} (it has {names}): pick two of them with features=.")
        return f[keys[0]], f[keys[1]]


def _check_features(features):
    if (
        not isinstance(features, (tuple, list))
        or len(features) != 2
        or not all(isinstance(k, str) for k in features)
        or features[0] == features[1]
    ):
        raise ValueError(
            f"features must be two different names (input feature, target feature), got {features!r}."
        )
    return tuple(features)


def _tfds_pairs(name, split, features, image_size):
    """Two image features of a TFDS dataset, as arrays (downloaded by TFDS when allowed)."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise ValueError(
            f"{name!r} is no file or folder, and reading it as a TFDS dataset needs "
            "tensorflow-datasets: pip install tensorflow-datasets."
        ) from None
    try:
        builder = tfds.builder(name, data_dir=tfds_data_dir())
    except Exception:  # unknown name or a broken registry entry
        builder = None
    if builder is None:
        raise ValueError(
            f"unknown paired dataset {name!r}: not an existing path nor a TFDS dataset name. Pass "
            "two folders or arrays (load_paired(inputs, targets)), an .npz with inputs and targets, "
            "a TFDS dataset with two image features (features=), or one image source with "
            "pair='edges'."
        )
    images = [k for k, f in builder.info.features.items() if isinstance(f, tfds.features.Image)]
    if features is None:
        raise ValueError(
            f"TFDS {name!r} has image features {images}: name the input and the target with "
            f"features=(input_feature, target_feature), or make pairs from one with pair='edges'."
        )
    keys = _check_features(features)
    for key in keys:
        if key not in images:
            raise ValueError(
                f"TFDS {name!r} has no image feature {key!r} (its image features are {images}): "
                "pick two of them with features=."
            )
    if not builder.is_prepared():
        if _offline():
            raise FileNotFoundError(
                f"{name} is not on this machine and KERAS_GANS_OFFLINE is set: {how_to_get(name)}."
            )
        try:
            builder.download_and_prepare()
        except Exception as err:
            raise FileNotFoundError(
                f"could not download {name} with TFDS ({type(err).__name__}): {how_to_get(name)}."
            ) from None
    import tensorflow as tf

    def select(example):
        pair = [example[k] for k in keys]
        if image_size is not None:
            pair = [resize_uint8(x, image_size) for x in pair]
        return tuple(pair)

    ds = builder.as_dataset(split=split).map(select, num_parallel_calls=tf.data.AUTOTUNE)
    inputs, targets = [], []
    for a, b in tfds.as_numpy(ds):
        inputs.append(a)
        targets.append(b)
    try:
        return np.stack(inputs), np.stack(targets)
    except ValueError:
        raise ValueError(
            f"TFDS {name!r} [{split}] has images of different shapes: pass image_size=(h, w)."
        ) from None


def _select_classes(images, labels, classes, source):
    if classes is None:
        return images
    if labels is None:
        raise ValueError(f"{_describe(source)} has no labels, so classes= cannot select images: drop classes.")
    keep = np.isin(labels, np.asarray(list(classes)))
    if not keep.any():
        raise ValueError(f"no images of classes {list(classes)} in {_describe(source)}.")
    return images[keep]


def _transformed(source, split, pair, image_size, classes, edge_threshold):
    """Pairs made from one image source by the ``pair`` transform."""
    source = _split_folder(source, split)
    if pair == "edges":
        images, labels = load_numpy(source, split=split, image_size=image_size)
        targets = _select_classes(images, labels, classes, source)
        return edge_map(targets, edge_threshold), targets
    images, labels = load_numpy(source, split=split)  # resized after the split, half by half
    images = _select_classes(images, labels, classes, source)
    inputs, targets = _halves(images, pair, _describe(source))
    return resized_images(inputs, image_size), resized_images(targets, image_size)


def paired_numpy(
    source, targets=None, split="train", pair=None, features=None, image_size=None, classes=None,
    edge_threshold=0.4,
):
    """Load paired images into memory: ``(inputs, targets)`` arrays (see ``load_paired``).

    Returns:
        Two ``np.ndarray`` ``[n, h, w, c]`` (uint8, or float32 in [-1, 1] when
        given as floats) with the same ``n``, ``h`` and ``w``.
    """
    if pair is not None and pair not in PAIR_TRANSFORMS:
        raise ValueError(
            f"unknown pair transform {pair!r}: use 'edges' (an edge map of each image as its input), "
            "'ab' / 'ba' (side-by-side [A | B] images: A -> B / B -> A), or None for a source that "
            "holds pairs."
        )
    if pair is not None:
        if targets is not None:
            raise ValueError(
                f"pair={pair!r} makes pairs from one source, but targets= gives a second one: drop "
                "pair (the two sources are the pairs) or targets."
            )
        if features is not None:
            raise ValueError(f"features= names the two images of a pair; pair={pair!r} makes them: drop features.")
        inputs, targets = _transformed(source, split, pair, image_size, classes, edge_threshold)
        what = _describe(source)
    else:
        if classes is not None:
            raise ValueError(
                "classes= selects the images of one labelled source for a pair transform "
                "(pair='edges'): drop classes, or select the pairs before loading them."
            )
        if targets is not None:
            inputs, targets = _two_sources(source, targets, split, image_size)
            what = f"{_describe(source)} and {_describe(targets)}" if _is_path(source) else "the given sources"
        elif isinstance(source, (tuple, list)) and len(source) == 2:
            inputs, targets = (np.asarray(a) for a in source)
            what = "the given arrays"
        elif _is_path(source) and os.fspath(source).endswith(".npz") and os.path.isfile(source):
            inputs, targets = _npz_pairs(os.fspath(source), features)
            what = _describe(source)
        elif looks_like_tfds(source):
            inputs, targets = _tfds_pairs(source, split, features, image_size)
            what = _describe(source)
        elif _is_path(source) and not os.path.exists(source):
            raise FileNotFoundError(f"data folder {os.fspath(source)} does not exist: check the path.")
        else:
            raise ValueError(
                f"{_describe(source)} is one image source and no pair was named: pass targets= (a "
                "second folder or array, aligned with the first), an (inputs, targets) tuple, an .npz "
                "with inputs and targets arrays, or pair='edges' (inputs drawn from the images) / "
                "pair='ab' or 'ba' (side-by-side images)."
            )
        if image_size is not None:
            inputs, targets = resized_images(np.asarray(inputs), image_size), resized_images(np.asarray(targets), image_size)
    inputs, _ = check_images(inputs)
    targets, _ = check_images(targets)
    if len(inputs) != len(targets):
        raise ValueError(
            f"{what}: got {len(inputs)} input images but {len(targets)} target images: every input "
            "needs its target at the same index."
        )
    if inputs.shape[1:3] != targets.shape[1:3]:
        raise ValueError(
            f"{what}: input images are {inputs.shape[1]}x{inputs.shape[2]} but target images "
            f"{targets.shape[1]}x{targets.shape[2]}: pairs need the same height and width "
            "(image_size=(h, w) resizes both)."
        )
    return inputs, targets


def _two_sources(inputs, targets, split, image_size):
    if _is_path(inputs) and _is_path(targets):
        a, b = _split_folder(inputs, split), _split_folder(targets, split)
        if os.path.isdir(a) and os.path.isdir(b):
            return _aligned_folders(os.fspath(a), os.fspath(b), image_size)
    loaded = []
    for source, what in ((inputs, "inputs"), (targets, "targets")):
        try:
            loaded.append(load_numpy(source, split=split, image_size=image_size)[0])
        except (ValueError, FileNotFoundError) as err:
            raise type(err)(f"{what}: {err}") from None
    return loaded


def load_paired(
    source,
    targets=None,
    split="train",
    batch_size=1,
    pair=None,
    features=None,
    image_size=None,
    classes=None,
    edge_threshold=0.4,
    shuffle=True,
    seed=None,
    drop_remainder=True,
):
    """Load aligned image pairs as a ``tf.data.Dataset`` of batches ``(inputs, targets)``.

    The i-th input and the i-th target of a batch belong together (an edge
    map and its garment, a label map and its facade): they are shuffled
    together. Both are float32 in [-1, 1]; one epoch is one pass over the
    pairs. Where the pairs come from:

    - ``load_paired(inputs, targets)``: two sources of the same length, in
      the same order: two folders (files paired by name: the same names in
      both, or the i-th in name order when no name is shared; a ``split``
      subfolder of each is used when there is one), two arrays, or any two
      ``kg.data.load_numpy`` sources. ``load_paired((inputs, targets))`` is
      the same for arrays.
    - an ``.npz`` file with arrays ``inputs`` and ``targets``
      (``np.savez(path, inputs=..., targets=...)``), ``arr_0`` and ``arr_1``,
      or the two named by ``features=(input_key, target_key)``.
    - a TFDS dataset with two image features, named by
      ``features=(input_feature, target_feature)``; read from
      ``$TFDS_DATA_DIR`` when prepared there, else downloaded by TFDS (unless
      ``KERAS_GANS_OFFLINE`` is set).
    - ``pair=`` and one image source (a name such as ``"fashion_mnist"``, a
      folder, an ``.npz`` with ``images``, an array; see ``kg.data.load_numpy``),
      each image giving one pair:

      - ``"edges"``: the input is the image's edge map (``edge_map``: Sobel
        magnitude above ``edge_threshold``, dark lines on white, as
        edges2shoes was made from photos) and the target the image;
      - ``"ab"`` / ``"ba"``: side-by-side images ``[A | B]``, the layout of
        the pix2pix paper's archives (``facades/train/*.jpg``: photo | labels);
        ``"ab"`` translates the left half into the right one, ``"ba"`` the
        right into the left (facades: labels -> photo). A folder with a
        ``split`` subfolder (``facades/`` with ``train/``, ``val/``,
        ``test/``) reads that subfolder.

    Args:
        source: the inputs, or everything (see above).
        targets: optional second source, aligned with ``source``.
        split: ``"train"`` or ``"test"`` (TFDS accepts its own split strings).
        batch_size: int, pairs per batch (1 in the paper).
        pair: None, ``"edges"``, ``"ab"`` or ``"ba"``.
        features: optional ``(input_key, target_key)`` of an ``.npz`` or TFDS source.
        image_size: optional ``(height, width)`` both images are resized to
            (antialiased bilinear; side-by-side images are split first).
        classes: optional class ids of a labelled source to keep (pair transforms).
        edge_threshold: float in (0, 1], the edge threshold of ``pair="edges"``.
        shuffle: bool, reshuffle every epoch.
        seed: int or None, the shuffle seed.
        drop_remainder: bool, drop the last partial batch.

    Returns:
        ``tf.data.Dataset`` of ``(inputs, targets)``, float32
        ``[batch, h, w, c_in]`` and ``[batch, h, w, c]`` in [-1, 1], with a
        known length.

    Example:
        >>> import keras_gans as kg
        >>> ds = kg.data.load_paired("fashion_mnist", pair="edges", batch_size=16, seed=0)
        >>> edges, garments = next(iter(ds))
        >>> edges.shape, garments.shape, len(ds)
        (TensorShape([16, 28, 28, 1]), TensorShape([16, 28, 28, 1]), 3750)
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    inputs, targets = paired_numpy(
        source, targets, split=split, pair=pair, features=features, image_size=image_size,
        classes=classes, edge_threshold=edge_threshold,
    )
    if drop_remainder and len(inputs) < batch_size:
        raise ValueError(
            f"the dataset has {len(inputs)} pairs, fewer than one batch of {batch_size}: use a "
            "smaller batch_size."
        )
    ds = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        ds = ds.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)

    def scale(x):
        return tf.cast(x, tf.float32) / 127.5 - 1.0 if x.dtype == tf.uint8 else x

    ds = ds.map(lambda a, b: (scale(a), scale(b)), num_parallel_calls=tf.data.AUTOTUNE)
    return prefetched(ds)
