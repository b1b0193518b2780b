"""Unpaired two-domain datasets for CycleGAN: batches ``(a_images, b_images)``."""

import os

import numpy as np

from keras_gans.data.loader import load_numpy, prefetched, to_pipeline


def _check_classes(classes, single_source):
    try:
        classes = tuple(classes)
    except TypeError:
        classes = None
    if (
        classes is None
        or len(classes) != 2
        or any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) for c in classes)
    ):
        raise ValueError(
            "classes must be a pair of class ids (class of domain A, class of domain B), "
            "e.g. classes=(7, 9) for Fashion-MNIST sneakers -> ankle boots."
        )
    if single_source and classes[0] == classes[1]:
        raise ValueError(
            f"classes=({classes[0]}, {classes[1]}) takes both domains from one class: pick two "
            "different classes."
        )
    return tuple(int(c) for c in classes)


def _pick_class(images, labels, cls, domain, source):
    if labels is None:
        raise ValueError(
            f"{_describe(source)} has no labels, so classes= cannot select domain {domain}: "
            "drop classes or pass a labelled source."
        )
    keep = labels == cls
    if not keep.any():
        present = sorted(int(c) for c in np.unique(labels))
        raise ValueError(
            f"domain {domain}: no images of class {cls} in {_describe(source)} "
            f"(its classes are {present}): pick a class it has."
        )
    return images[keep]


def _describe(source):
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    return "the given arrays"


def _is_cycle_gan_name(source):
    return (
        isinstance(source, str)
        and not os.path.exists(source)
        and source.split("/")[0].split(":")[0] == "cycle_gan"
    )


def _split_folders(source, split):
    if not isinstance(source, (str, os.PathLike)):
        return None
    folders = [os.path.join(os.fspath(source), f"{split}{d}") for d in "AB"]
    return folders if all(os.path.isdir(f) for f in folders) else None


def _load(source, split, image_size, domain):
    """``load_numpy`` with errors that say which domain failed."""
    try:
        return load_numpy(source, split=split, image_size=image_size)
    except (ValueError, FileNotFoundError) as err:
        raise type(err)(f"domain {domain}: {err}") from None


def _domains(a, b, split, classes, image_size):
    """Return the images of domain A and domain B (uint8 or float32 NHWC)."""
    if b is not None:
        images_a, labels_a = _load(a, split, image_size, "A")
        images_b, labels_b = _load(b, split, image_size, "B")
        if classes is not None:
            cls_a, cls_b = _check_classes(classes, single_source=False)
            images_a = _pick_class(images_a, labels_a, cls_a, "A", a)
            images_b = _pick_class(images_b, labels_b, cls_b, "B", b)
        return images_a, images_b
    if classes is not None:
        cls_a, cls_b = _check_classes(classes, single_source=True)
        images, labels = load_numpy(a, split=split, image_size=image_size)
        return (
            _pick_class(images, labels, cls_a, "A", a),
            _pick_class(images, labels, cls_b, "B", a),
        )
    folders = _split_folders(a, split)
    if folders is not None:
        return tuple(_load(f, split, image_size, d)[0] for f, d in zip(folders, "AB"))
    if _is_cycle_gan_name(a):
        # TFDS's cycle_gan/* datasets keep the domains in splits trainA, trainB, testA, testB.
        return tuple(_load(a, f"{split}{d}", image_size, d)[0] for d in "AB")
    raise ValueError(
        f"{_describe(a)} is one source and no domains were named: pass classes=(class_a, class_b) "
        "to take the domains from its labels (e.g. classes=(7, 9) for Fashion-MNIST sneakers vs "
        f"ankle boots), b= for a second source, a folder with {split}A/ and {split}B/ subfolders, "
        "or a TFDS 'cycle_gan/<name>' dataset."
    )


def load_unpaired(
    a,
    b=None,
    split="train",
    batch_size=1,
    classes=None,
    seed=None,
    image_size=None,
):
    """Load two image domains as a ``tf.data.Dataset`` of unpaired batches ``(a, b)``.

    The two domains are shuffled independently (with different seeds), so the
    i-th image of an ``a`` batch has nothing to do with the i-th image of the
    ``b`` batch: CycleGAN learns from unpaired data. Images are float32 in
    [-1, 1].

    Where the domains come from:

    - ``classes=(ca, cb)`` with one labelled source ``a``: domain A is the
      images of class ``ca``, domain B those of class ``cb`` (Fashion-MNIST
      ``classes=(7, 9)``: sneakers and ankle boots). Two classes never share
      an image, so the domains are disjoint without splitting the data
      further; every image of both classes is used.
    - ``a`` and ``b``: two sources (names, folders, ``.npz`` files, arrays,
      ``(images, labels)``; see ``kg.data.load_numpy``), optionally filtered
      with ``classes=(class in a, class in b)``.
    - a folder ``a`` with subfolders ``{split}A/`` and ``{split}B/`` (the
      layout of the CycleGAN paper's dataset archives, e.g. ``horse2zebra/``).
    - a TFDS name ``cycle_gan/<name>`` (``"cycle_gan/horse2zebra"``), whose
      splits are ``{split}A`` and ``{split}B``; downloaded by TFDS when
      online (256x256x3 images).

    Epoch length: one epoch is one pass over the LARGER domain,
    ``max(len(A), len(B)) // batch_size`` batches; the smaller domain is
    repeated, reshuffled on each pass. So no image of either domain goes
    unseen in an epoch, as in the reference code, whose epoch also has
    ``max(len(A), len(B))`` images. The last partial batch of each pass is
    dropped.

    Args:
        a: the source of domain A (or of both domains, see above).
        b: optional source of domain B.
        split: ``"train"`` or ``"test"``.
        batch_size: int, images per domain per batch (1 in the paper).
        classes: optional pair ``(class of A, class of B)``.
        seed: int or None, seed of both shuffles (each domain gets its own
            stream derived from it).
        image_size: optional ``(height, width)`` to resize image folders to.

    Returns:
        ``tf.data.Dataset`` of ``(a_images, b_images)``, each float32
        ``[batch_size, h, w, c]`` in [-1, 1], with a known length.

    Example:
        >>> import keras_gans as kg
        >>> ds = kg.data.load_unpaired("fashion_mnist", classes=(7, 9), batch_size=16, seed=0)
        >>> a, b = next(iter(ds))
        >>> a.shape, b.shape, len(ds)
        (TensorShape([16, 28, 28, 1]), TensorShape([16, 28, 28, 1]), 375)
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    images_a, images_b = _domains(a, b, split, classes, image_size)
    for domain, images in (("A", images_a), ("B", images_b)):
        if len(images) == 0:
            raise ValueError(f"domain {domain} is empty: it has no images (check the source and split).")
        if len(images) < batch_size:
            raise ValueError(
                f"domain {domain} has {len(images)} images, fewer than one batch of {batch_size}: "
                "use a smaller batch_size."
            )
    if images_a.shape[1:] != images_b.shape[1:]:
        raise ValueError(
            f"domain A images have shape {images_a.shape[1:]} but domain B images "
            f"{images_b.shape[1:]}: both domains need the same shape (image_size=(h, w) resizes "
            "image folders; the channels must match)."
        )
    seeds = [None, None] if seed is None else np.random.SeedSequence(int(seed)).generate_state(2)
    steps = max(len(images_a), len(images_b)) // batch_size
    domains = [
        to_pipeline(
            images, batch_size=batch_size, shuffle=True,
            seed=None if s is None else int(s), drop_remainder=True,
        ).repeat().take(steps)
        for images, s in zip((images_a, images_b), seeds)
    ]
    return prefetched(tf.data.Dataset.zip(tuple(domains)))
