"""Evaluate a trained GAN against a dataset: one report with every sample metric."""

import numpy as np

from keras_gans.metrics.extractors import CLASSIFIER_NAME, as_extractor, as_model_images
from keras_gans.metrics import inception
from keras_gans.metrics.frechet import frechet_distance
from keras_gans.metrics.kernel import kernel_distance
from keras_gans.metrics.precision_recall import precision_recall


def _positive_int(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return int(value)


def kid_subset_size_for(subset_size, m):
    """The KID subset size ``evaluate`` uses for ``m`` images per set.

    ``subset_size`` when it is below ``m``; otherwise ``m // 2`` (at least
    2), because subsets of all ``m`` rows would all be the same and KID's
    spread would be unmeasured (see ``kernel_distance``).

    Example:
        >>> kid_subset_size_for(1000, 10000), kid_subset_size_for(1000, 300)
        (1000, 150)
    """
    subset_size = _positive_int(subset_size, "kid_subset_size", 2)
    return subset_size if subset_size < m else max(m // 2, 2)


def modes_covered(counts, real_counts):
    """Count the classes the samples cover (``evaluate``'s ``modes_covered``).

    A class is covered when the real images hold it and its share of the
    samples is at least half its share of the real images.

    Args:
        counts: per-class counts of the generated samples.
        real_counts: per-class counts of the real images (same length).

    Returns:
        int. A class with no real image is never covered, whatever the
        samples hold (its real share is 0, so "half of it" would be met by
        no sample at all).

    Example:
        >>> modes_covered([5, 5, 0], [6, 4, 0])
        2
    """
    counts = np.asarray(counts, "float64")
    real_counts = np.asarray(real_counts, "float64")
    if counts.shape != real_counts.shape:
        raise ValueError(
            f"counts and real_counts must have one entry per class, got {counts.shape} and {real_counts.shape}."
        )
    share = counts / max(counts.sum(), 1.0)
    real_share = real_counts / max(real_counts.sum(), 1.0)
    return int(np.sum((real_counts > 0) & (share >= 0.5 * real_share)))


def evaluate(
    model,
    dataset="fashion_mnist",
    n=10000,
    split="test",
    seed=0,
    batch_size=500,
    extractor=None,
    k=3,
    kid_subsets=100,
    kid_subset_size=1000,
    verbose=0,
    pair=None,
    features=None,
    classes=None,
    edge_threshold=None,
    image_size=None,
):
    """Score a GAN's samples against real images: FCD/FID, KID, precision/recall, classes.

    A paired translator (Pix2Pix, ``data_kind == "paired"``) is scored on the
    pairs of the split instead: L1 to the ground truth, the Frechet distance
    of its outputs to the real targets and label agreement (see "Paired
    families" below).

    Protocol (``report["protocol"]`` records every value used):

    1. Real images: the ``split`` split of ``dataset`` (default: the
       Fashion-MNIST test split, 10,000 images). When it holds more than
       ``n`` images, a random subset of ``n`` is drawn without replacement
       with ``numpy.random.default_rng(seed)``; otherwise all are used.
       Call the count ``m = min(n, split size)``.
    2. Generated images: ``m`` samples, ``model.generate(m, seed=seed)``
       (latents from ``numpy.random.default_rng(seed)``). Conditional GANs
       (``data_kind == "labelled"``: cgan, biggan) are asked for the classes in turn,
       ``labels = arange(m) % num_classes``, so every class gets an equal share.
    3. Features: both sets go through the same extractor, passed in:
       ``kg.zoo.classifier_extractor()`` (the zoo classifier's 128-d
       ``features`` layer) for 28x28x1 images; Keras InceptionV3's 2048-d
       pool features (``kg.metrics.inception_extractor``) by default for
       other shapes. ``kg.zoo.get_extractor(image_shape)`` picks between the
       two. For FIDs comparable to published ones pass
       ``kg.metrics.inception.standard_extractor(...)`` (the 2015-12-05
       graph); ``protocol`` then records its ``resize_mode`` and
       ``graph_sha256``.
    4. Metrics on the features: ``frechet_distance`` (``protocol
       ["frechet_label"]`` says what it is: "FCD" with the classifier, "FID"
       with the standard graph only, "FID (Keras InceptionV3)" with Keras'
       weights, not comparable to published FIDs), ``kid_mean``/``kid_std``/
       ``kid_stderr`` (``kernel_distance`` with ``kid_subsets`` subsets of
       ``kid_subset_size`` rows, or of ``m // 2`` rows when ``m <=
       kid_subset_size``, so that subsets of a small run still differ; subset
       seed ``seed``: the mean of the per-subset unbiased estimates, their
       standard deviation, and ``kid_std / sqrt(kid_subsets)``, the standard
       error of the mean over the subset draws, i.e. the noise of the subset
       sampling, not of the ``m`` images),
       ``precision``/``recall`` (``precision_recall`` with ``k`` neighbours,
       real = the real features).
    5. With a classifier extractor, mode coverage: ``class_counts`` (how many
       samples the classifier assigns to each class), ``real_class_counts``
       (the same for the real images) and ``modes_covered`` (classes that
       the real images hold and whose share of the samples is at least half
       their share of the real images; a class with no real image is never
       counted). For conditional GANs also ``label_agreement``, the fraction
       of samples the classifier assigns to the requested class, beside
       ``real_label_agreement``, the classifier's accuracy on the real images
       (the ceiling of label agreement).
    6. A model with an encoder (VAE-GAN): the same ``m`` real images are
       reconstructed, ``model.reconstruct(real)`` (decode of the posterior
       means, the EMA decoder when there is one), and scored against
       themselves: ``reconstruction_l1`` and ``reconstruction_mse`` over every
       pixel in [-1, 1] units, and ``reconstruction_frechet_distance``, the
       reconstructions' features against the real ones (a sharpness check L1
       does not make: a blurred reconstruction has a small L1 and a large
       distance).

    Frechet distance and precision/recall depend on ``m``: compare reports
    with the same ``n``. Metrics are python floats/ints, so the report is JSON.

    Paired families (Pix2Pix): ``report["protocol"]["kind"] == "paired"``.

    1. Pairs: the ``split`` split of ``dataset``, loaded as by
       ``kg.data.load_paired(dataset, split=split, pair=pair,
       features=features, classes=classes, edge_threshold=edge_threshold)``;
       with more than ``n`` pairs, a random subset of ``n`` drawn without
       replacement with ``numpy.random.default_rng(seed)`` (``m`` pairs).
    2. Outputs: ``model.translate(inputs)`` (the EMA generator when there is
       one, dropout off).
    3. ``l1``: ``mean |output - target|`` over every pixel of the ``m``
       pairs, in [-1, 1] units (float64 mean; 0: every output is its target).
    4. ``frechet_distance``: the outputs against the real targets of the
       same inputs, in the extractor's features (chosen as in step 3 above;
       ``protocol["frechet_label"]`` says FCD or FID).
    5. With a classifier extractor, ``label_agreement``: the share of outputs
       the classifier puts in the class of the image their pair was made
       from. The class is the dataset's label when the pairs come from a
       labelled source through a ``pair`` transform (``"edges"`` of
       Fashion-MNIST); otherwise the classifier's class of the target
       (``protocol["label_source"]`` says which). ``real_label_agreement`` is
       the same share for the real targets (the ceiling; 1.0 by definition
       without labels, so it is left out then). ``class_counts`` and
       ``real_class_counts`` count the classes of outputs and targets.

    Args:
        model: a ``kg.models`` GAN (not CycleGAN: it translates, see
            ``evaluate_translation``), or a paired translator (Pix2Pix).
        dataset: dataset name or path of the real images (see ``kg.data.load_numpy``).
        n: int >= ``k + 1``, sample count (real and generated).
        split: split of ``dataset`` the real images come from.
        seed: int, seed of the real subset, the latents and the KID subsets.
        batch_size: int, images per generator and extractor pass.
        extractor: a ``kg.metrics.FeatureExtractor`` (for 28x28x1 images:
            ``kg.zoo.classifier_extractor()``), a ``keras.Model`` or a
            callable; None means InceptionV3 for shapes other than 28x28x1.
        k: int, neighbours of precision/recall.
        kid_subsets: int, KID subsets.
        kid_subset_size: int, KID subset size (used when below ``m``; else
            ``m // 2``).
        verbose: int, 1 shows a progress bar.
        pair: paired families only: the ``load_paired`` transform (``"edges"``,
            ``"ab"``, ``"ba"``), or None for a source that holds pairs.
        features: paired families only: ``(input_key, target_key)`` of an
            ``.npz`` or TFDS source of pairs.
        classes: paired families only: class ids of a labelled source to
            make pairs from (with ``pair``).
        image_size: None or ``[height, width]``: resize the real images (a
            paired family's inputs and targets) to it first, with the resize
            training used (``kg.data.load_numpy(..., image_size=)``), as a
            recipe's ``[data] image_size`` trains at; ``protocol`` records it.
        edge_threshold: paired families only: the threshold of ``pair="edges"``
            (None: ``load_paired``'s 0.4).

    Returns:
        dict with ``frechet_distance``, ``kid_mean``, ``kid_std``,
        ``kid_stderr``, ``precision``, ``recall``, (classifier extractors) ``class_counts``,
        ``real_class_counts``, ``modes_covered``, (conditional GANs)
        ``label_agreement``, ``real_label_agreement``, (a model with an
        encoder: VAE-GAN) ``reconstruction_l1``, ``reconstruction_mse`` and
        ``reconstruction_frechet_distance`` (see step 6), and ``protocol``.
        Paired families: ``l1``, ``frechet_distance``, (classifier
        extractors) ``label_agreement``, ``real_label_agreement`` (with
        labels), ``class_counts``, ``real_class_counts``, and ``protocol``.

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.DCGAN(latent_dim=32, width=8)
        >>> report = kg.metrics.evaluate(gan, n=500, extractor=kg.zoo.classifier_extractor())
        >>> print(kg.metrics.format_report(report))  # doctest: +SKIP
    """
    import keras

    from keras_gans.data import load_numpy

    if not hasattr(model, "generate") or not hasattr(model, "image_shape"):
        raise ValueError(f"model must be a kg.models GAN, got {type(model).__name__}.")
    image_size = _checked_image_size(image_size)
    pairing = {"pair": pair, "features": features, "classes": classes, "edge_threshold": edge_threshold}
    if getattr(model, "data_kind", None) == "paired":
        return _evaluate_paired(model, dataset, n, split, seed, batch_size, extractor, verbose,
                                image_size=image_size, **pairing)
    given = sorted(key for key, value in pairing.items() if value is not None)
    if given:
        raise ValueError(
            f"{given[0]} picks the pairs of a paired translator (pix2pix); a "
            f"{getattr(model, 'family', type(model).__name__)} samples from noise: drop {given[0]}."
        )
    if getattr(model, "data_kind", None) == "unpaired":
        raise ValueError(
            f"evaluate scores GANs that sample from noise; a {model.family} translates images: "
            "score it with kg.metrics.evaluate_translation(gan, classes=...) instead."
        )
    n = _positive_int(n, "n", 2)
    k = _positive_int(k, "k")
    batch_size = _positive_int(batch_size, "batch_size")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {seed!r}.")
    seed = int(seed)
    image_shape = tuple(model.image_shape)
    progress = keras.utils.Progbar(5, verbose=verbose, unit_name="stage") if verbose else None

    images, labels = load_numpy(dataset, split=split, image_size=image_size)
    if tuple(images.shape[1:]) != image_shape:
        raise ValueError(
            f"{dataset!r} ({split}) has images of shape {tuple(images.shape[1:])} but the model "
            f"makes {image_shape}: evaluate against data of the model's image shape "
            f"(image_size={list(image_shape[:2])} resizes them as training did; CLI: --image-size)."
        )
    split_size = len(images)
    m = min(n, split_size)
    if m < k + 1:
        raise ValueError(f"{dataset!r} ({split}) has {len(images)} images; the metrics need at least {k + 1}.")
    if m < len(images):
        keep = np.sort(np.random.default_rng(seed).choice(len(images), m, replace=False))
        images = images[keep]
        labels = None if labels is None else labels[keep]
    real = as_model_images(images, "real images")
    extractor = as_extractor(extractor, image_shape)
    if progress:
        progress.update(1)

    conditional = getattr(model, "data_kind", None) == "labelled"  # cgan, biggan
    requested = None
    if conditional:
        requested = (np.arange(m) % model.num_classes).astype("int32")
        fake = model.generate(m, seed=seed, batch_size=batch_size, labels=requested)
    else:
        fake = model.generate(m, seed=seed, batch_size=batch_size)
    if progress:
        progress.update(2)

    real_features, real_classes = extractor.extract(real, batch_size)
    fake_features, fake_classes = extractor.extract(fake, batch_size)
    if progress:
        progress.update(3)

    kid_size = kid_subset_size_for(kid_subset_size, m)
    kid = kernel_distance(
        real_features, fake_features, num_subsets=kid_subsets, subset_size=kid_size, seed=seed
    )
    pr = precision_recall(real_features, fake_features, k=k)
    report = {
        "frechet_distance": frechet_distance(real_features, fake_features),
        "kid_mean": kid.mean,
        "kid_std": kid.std,
        "kid_stderr": float(kid.stderr),
        "precision": pr.precision,
        "recall": pr.recall,
    }
    if progress:
        progress.update(4)

    protocol = {
        "dataset": dataset if isinstance(dataset, str) else str(dataset),
        "split": split,
        "n_real": int(m),
        "n_fake": int(m),
        "seed": seed,
        "split_size": int(split_size),
        "real_subset": "all" if m == split_size else "random without replacement",
        "family": getattr(model, "family", type(model).__name__),
        "extractor": extractor.name,
        "feature_dim": int(real_features.shape[1]),
        "kid_subsets": int(kid_subsets),
        "kid_subset_size": int(min(kid_size, m)),
        "k": k,
        # The label the number goes by ("FID" for the standard graph only), the resize and graph digest.
        **inception.protocol_fields(extractor),
    }
    if extractor.is_classifier:
        num_classes = extractor.num_classes
        counts = np.bincount(fake_classes, minlength=num_classes)
        real_counts = np.bincount(real_classes, minlength=num_classes)
        report["class_counts"] = [int(c) for c in counts]
        report["real_class_counts"] = [int(c) for c in real_counts]
        report["modes_covered"] = modes_covered(counts, real_counts)
        protocol["num_classes"] = int(num_classes)
        if extractor.name == CLASSIFIER_NAME:
            from keras_gans.data import FASHION_MNIST_CLASSES

            protocol["class_names"] = list(FASHION_MNIST_CLASSES)
        if conditional:
            report["label_agreement"] = float(np.mean(fake_classes == requested))
            if labels is not None:
                report["real_label_agreement"] = float(np.mean(real_classes == labels))
    if getattr(model, "encoder", None) is not None and hasattr(model, "reconstruct"):
        report.update(_reconstruction_metrics(model, real, real_features, extractor, batch_size))
        protocol["reconstruction"] = (
            "decode(encode(x)) of the same real images (posterior means; the EMA decoder when there is "
            "one): l1 / mse over all pixels, images in [-1, 1]; Frechet distance vs the real images"
        )
    if progress:
        progress.update(5)
    if image_size is not None:
        protocol["image_size"] = image_size  # the real images were resized to it
    report["protocol"] = protocol
    return report


def _reconstruction_metrics(model, real, real_features, extractor, batch_size):
    """A model with an encoder (VAE-GAN): how close ``reconstruct(real)`` comes to ``real``."""
    recon = np.asarray(model.reconstruct(real, batch_size=batch_size), "float64")
    error = recon - real.astype("float64")
    recon_features, _ = extractor.extract(recon.astype("float32"), batch_size)
    return {
        "reconstruction_l1": float(np.mean(np.abs(error))),
        "reconstruction_mse": float(np.mean(error**2)),
        "reconstruction_frechet_distance": frechet_distance(real_features, recon_features),
    }


def _source_labels(dataset, split, pair, classes):
    """The labels of the images ``load_paired`` made pairs from (a ``pair`` transform), or None."""
    from keras_gans.data import load_numpy
    from keras_gans.data.paired import _split_folder

    if pair is None:
        return None  # a source of pairs: no class of its own
    try:
        _, labels = load_numpy(_split_folder(dataset, split), split=split)
    except (ValueError, FileNotFoundError):
        return None
    if labels is None:
        return None
    if classes is not None:
        labels = labels[np.isin(labels, np.asarray(list(classes)))]
    return np.asarray(labels)


def _checked_image_size(image_size):
    """None, or ``[h, w]`` as two positive ints (the resize a recipe's ``[data] image_size`` trains at)."""
    if image_size is None:
        return None
    try:
        size = [int(v) for v in image_size]
        ok = len(size) == 2 and all(v >= 1 and v == float(w) for v, w in zip(size, image_size))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"image_size must be [height, width], two positive ints, got {image_size!r}.")
    return size


def _evaluate_paired(model, dataset, n, split, seed, batch_size, extractor, verbose, pair=None,
                     features=None, classes=None, edge_threshold=None, image_size=None):
    """``evaluate`` for paired translators (Pix2Pix): L1, Frechet distance, label agreement."""
    import keras

    from keras_gans.data.paired import paired_numpy

    n = _positive_int(n, "n", 2)
    batch_size = _positive_int(batch_size, "batch_size")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {seed!r}.")
    seed = int(seed)
    options = {} if edge_threshold is None else {"edge_threshold": edge_threshold}
    if features is not None and not isinstance(features, str):
        features = tuple(features)
    progress = keras.utils.Progbar(4, verbose=verbose, unit_name="stage") if verbose else None
    inputs, targets = paired_numpy(dataset, split=split, pair=pair, features=features, classes=classes,
                                   image_size=image_size, **options)
    image_shape = tuple(int(v) for v in model.image_shape)
    input_shape = tuple(int(v) for v in model.input_image_shape)
    where = f"{dataset!r} ({split})" if isinstance(dataset, str) else f"the given pairs ({split})"
    for what, images, shape, verb in (("target", targets, image_shape, "makes"),
                                      ("input", inputs, input_shape, "takes")):
        if tuple(images.shape[1:]) != shape:
            raise ValueError(
                f"{where} has {what} images of shape {tuple(images.shape[1:])} but the model {verb} "
                f"{shape}: evaluate on pairs of the model's shapes (image_size= resizes both; CLI: --image-size)."
            )
    split_size = len(targets)
    if split_size < 2:
        raise ValueError(f"{where} has {split_size} pairs; the metrics need at least 2.")
    m = min(n, split_size)
    keep = None
    if m < split_size:
        keep = np.sort(np.random.default_rng(seed).choice(split_size, m, replace=False))
        inputs, targets = inputs[keep], targets[keep]
    real_inputs = as_model_images(inputs, "input images")
    real = as_model_images(targets, "target images")
    extractor = as_extractor(extractor, image_shape)
    if progress:
        progress.update(1)

    outputs = np.asarray(model.translate(real_inputs, batch_size=batch_size), "float32")
    if progress:
        progress.update(2)
    real_features, real_classes = extractor.extract(real, batch_size)
    fake_features, fake_classes = extractor.extract(outputs, batch_size)
    if progress:
        progress.update(3)

    report = {
        "l1": float(np.mean(np.abs(outputs.astype("float64") - real.astype("float64")))),
        "frechet_distance": frechet_distance(real_features, fake_features),
    }
    protocol = {
        "kind": "paired",
        "dataset": dataset if isinstance(dataset, str) else str(dataset) if _is_path(dataset) else "arrays",
        "split": split,
        "pair": pair,
        "features": None if features is None else list(features),
        "classes": None if classes is None else [int(c) for c in classes],
        "n_pairs": int(m),
        "n_real": int(m),
        "n_fake": int(m),
        "seed": seed,
        "split_size": int(split_size),
        "real_subset": "all" if m == split_size else "random without replacement",
        "family": getattr(model, "family", type(model).__name__),
        "generator": "ema_generator" if getattr(model, "ema_generator", None) is not None else "generator",
        "l1": "mean |translate(input) - target| over all pixels, images in [-1, 1]",
        "frechet": "translations of the inputs vs their real targets",
        "extractor": extractor.name,
        "feature_dim": int(real_features.shape[1]),
        **inception.protocol_fields(extractor),
    }
    if pair == "edges":
        protocol["edge_threshold"] = 0.4 if edge_threshold is None else float(edge_threshold)
    if extractor.is_classifier:
        num_classes = extractor.num_classes
        labels = _source_labels(dataset, split, pair, classes)
        if labels is not None and len(labels) == split_size:
            labels = labels if keep is None else labels[keep]
            report["label_agreement"] = float(np.mean(fake_classes == labels))
            report["real_label_agreement"] = float(np.mean(real_classes == labels))
            protocol["label_source"] = "the dataset's labels of the images the pairs were made from"
        else:
            report["label_agreement"] = float(np.mean(fake_classes == real_classes))
            protocol["label_source"] = "the classifier's class of each target (the source has no labels)"
        report["class_counts"] = [int(c) for c in np.bincount(fake_classes, minlength=num_classes)]
        report["real_class_counts"] = [int(c) for c in np.bincount(real_classes, minlength=num_classes)]
        protocol["num_classes"] = int(num_classes)
        if extractor.name == CLASSIFIER_NAME:
            from keras_gans.data import FASHION_MNIST_CLASSES

            protocol["class_names"] = list(FASHION_MNIST_CLASSES)
    if progress:
        progress.update(4)
    if image_size is not None:
        protocol["image_size"] = image_size  # the real images were resized to it
    report["protocol"] = protocol
    return report


def _is_path(value):
    import os

    return isinstance(value, os.PathLike)


def format_paired_report(report):
    """Format the report of a paired translator (``evaluate`` on a Pix2Pix) as aligned lines."""
    protocol = report.get("protocol", {})
    extractor = protocol.get("extractor", "custom")
    rows = [
        ("L1 to target", f"{report['l1']:.4f}  (mean |output - target|, images in [-1, 1])"),
        (f"{inception.label(extractor)} ({extractor})", f"{report['frechet_distance']:.4f}  (outputs vs real targets)"),
    ]
    if "label_agreement" in report:
        line = f"{report['label_agreement']:.4f}"
        if "real_label_agreement" in report:
            line += f" (classifier on real targets: {report['real_label_agreement']:.4f})"
        else:
            line += " (agreement with the classifier's class of each target)"
        rows.append(("label agreement", line))
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{label:<{width}}{value}" for label, value in rows]
    if protocol:
        how = ", ".join(
            f"{key}={protocol[key]}" for key in ("pair", "features", "classes", "edge_threshold")
            if protocol.get(key) is not None
        )
        lines.append("")
        lines.append(
            f"protocol: {protocol.get('n_pairs', '?')} {protocol.get('split', '?')} pairs of "
            f"{protocol.get('dataset', '?')}" + (f" ({how})" if how else "")
            + f", {protocol.get('real_subset', '?')} (seed {protocol.get('seed', '?')}); outputs: "
            f"{protocol.get('generator', 'generator')}; features: {extractor} ({protocol.get('feature_dim', '?')}-d)"
        )
        if protocol.get("label_source"):
            lines.append(f"label agreement: classes from {protocol['label_source']}")
    if protocol.get("graph_sha256"):
        lines.append(f"Inception graph: {protocol['graph_sha256']} (sha256 of the .pb)")
    if extractor == inception.KERAS_NAME:
        lines.append(inception.KERAS_INCEPTION_NOTE)
    return "\n".join(lines)


def _kid_line(report, protocol):
    """``mean +- std (std), stderr s``; reports from before ``kid_stderr`` derive it from the protocol."""
    line = f"{report['kid_mean']:.5f} +- {report['kid_std']:.5f}"
    stderr = report.get("kid_stderr")
    if stderr is None and protocol.get("kid_subsets"):
        stderr = report["kid_std"] / np.sqrt(protocol["kid_subsets"])
    if stderr is None:
        return line
    return f"{line} (std), stderr {stderr:.5f}"


def format_report(report):
    """Format an ``evaluate`` report as aligned text lines.

    Args:
        report: dict returned by ``kg.metrics.evaluate``.

    Returns:
        str, one metric per line, ending with the protocol.

    Example:
        >>> print(format_report(kg.metrics.evaluate(gan, n=500, extractor=extractor)))  # doctest: +SKIP
        FCD (classifier.fashion_mnist)   12.3456
        ...
    """
    if not isinstance(report, dict) or "frechet_distance" not in report:
        raise ValueError("format_report expects the dict returned by kg.metrics.evaluate.")
    if "l1" in report or report.get("protocol", {}).get("kind") == "paired":
        return format_paired_report(report)
    protocol = report.get("protocol", {})
    extractor = protocol.get("extractor", "custom")
    # "FID" only for the standard 2015-12-05 graph (kg.metrics.inception); Keras' InceptionV3 is labelled so.
    short = inception.label(extractor)
    rows = [
        (f"{short} ({extractor})", f"{report['frechet_distance']:.4f}"),
        ("KID (mean +- std)", _kid_line(report, protocol)),
        ("precision", f"{report['precision']:.4f}"),
        ("recall", f"{report['recall']:.4f}"),
    ]
    if "class_counts" in report:
        counts = report["class_counts"]
        names = protocol.get("class_names") or [str(i) for i in range(len(counts))]
        line = f"{report['modes_covered']}/{len(counts)} classes"
        absent = sum(1 for c in report.get("real_class_counts") or () if c == 0)
        if absent:
            line = (f"{report['modes_covered']}/{len(counts) - absent} classes "
                    f"({absent} of {len(counts)} have no real image)")
        rows.append(("modes covered", line))
        if "label_agreement" in report:
            line = f"{report['label_agreement']:.4f}"
            if "real_label_agreement" in report:
                line += f" (classifier on real images: {report['real_label_agreement']:.4f})"
            rows.append(("label agreement", line))
    if "reconstruction_l1" in report:
        rows.append(("reconstruction L1", f"{report['reconstruction_l1']:.4f}  (mean |reconstruct(x) - x|, "
                                          "images in [-1, 1])"))
        rows.append(("reconstruction MSE", f"{report['reconstruction_mse']:.4f}"))
        rows.append((f"reconstruction {short}", f"{report['reconstruction_frechet_distance']:.4f}  "
                                                "(reconstructions vs the real images)"))
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{label:<{width}}{value}" for label, value in rows]
    if "class_counts" in report:
        real = report.get("real_class_counts") or [None] * len(counts)
        name_width = max(len(str(name)) for name in names) + 2
        lines.append("")
        lines.append(f"{'class':<{name_width}}{'samples':>8}{'real':>8}")
        for name, count, real_count in zip(names, counts, real):
            lines.append(f"{str(name):<{name_width}}{count:>8}{'' if real_count is None else real_count:>8}")
    if protocol:
        lines.append("")
        lines.append(
            "protocol: {n_fake} samples (seed {seed}) vs {n_real} {split} images of {dataset} "
            "({real_subset}); features: {extractor} ({feature_dim}-d); KID: {kid_subsets} subsets "
            "of {kid_subset_size}; precision/recall: k={k}".format(
                **{key: protocol.get(key, "?") for key in (
                    "n_fake", "seed", "n_real", "split", "dataset", "real_subset", "extractor",
                    "feature_dim", "kid_subsets", "kid_subset_size", "k",
                )}
            )
        )
    if protocol.get("graph_sha256"):
        lines.append(f"Inception graph: {protocol['graph_sha256']} (sha256 of the .pb)")
    if extractor == inception.KERAS_NAME:
        lines.append(inception.KERAS_INCEPTION_NOTE)
    return "\n".join(lines)
