"""Scores of an unpaired translator (CycleGAN): does A -> B land in B, and come back?"""

import numpy as np

from keras_gans.metrics.evaluate import _positive_int
from keras_gans.metrics.extractors import CLASSIFIER_NAME, as_extractor, as_model_images
from keras_gans.metrics import inception
from keras_gans.metrics.frechet import frechet_distance


def _translate(gan, images, direction, batch_size):
    return np.asarray(gan.translate(images, direction=direction, batch_size=batch_size), "float32")


def evaluate_translation(
    model,
    dataset="fashion_mnist",
    classes=None,
    b=None,
    split="test",
    n=None,
    batch_size=500,
    extractor=None,
):
    """Score a CycleGAN on held-out images of both domains.

    Protocol (``report["protocol"]`` records every value used):

    1. Real images: the ``split`` split of both domains, loaded as by
       ``kg.data.load_unpaired(dataset, b, split=split, classes=classes)``;
       with ``n`` set, the first ``n`` of each domain (the split's order).
    2. Translations: ``G(A)`` (``direction="a2b"``) and ``F(B)``
       (``direction="b2a"``), then the round trips ``F(G(A))`` and ``G(F(B))``.
    3. Features: the extractor passed in (``kg.zoo.classifier_extractor()``,
       the zoo classifier's 128-d features, for 28x28x1 images).
    4. ``frechet_distance_a2b``: Frechet distance between ``G(A)`` and the real
       B images (lower: translations look like B), and ``frechet_distance_b2a``
       the other way. ``frechet_distance_untranslated`` is the distance
       between the real A and real B images, the score of doing nothing.
    5. ``cycle_l1_a`` / ``cycle_l1_b``: mean ``|F(G(a)) - a|`` and
       ``|G(F(b)) - b|`` in [-1, 1] pixel units (0: the round trip is exact).
    6. With a classifier extractor and ``classes`` given: ``target_fraction_a2b``,
       the share of ``G(A)`` the classifier assigns to class B, and
       ``target_fraction_b2a``; ``real_fraction_b`` / ``real_fraction_a`` are
       its rates on the real images of each domain (the ceiling), and
       ``untranslated_fraction_a2b`` the share of raw A images it already
       calls B.

    Args:
        model: a ``kg.models.CycleGAN`` (anything with ``translate``).
        dataset: the source of domain A (and B with ``classes``), as for
            ``kg.data.load_unpaired``.
        classes: ``(class_a, class_b)`` when both domains are classes of one
            labelled dataset (e.g. ``(7, 9)``: Fashion-MNIST sneakers, ankle boots).
        b: the source of domain B, when it is a separate dataset.
        split: split of the held-out images.
        n: int or None: at most this many images per domain.
        batch_size: int, images per forward pass.
        extractor: a ``kg.metrics.FeatureExtractor`` (for 28x28x1 images:
            ``kg.zoo.classifier_extractor()``), a ``keras.Model`` or a
            callable; None means InceptionV3 for shapes other than 28x28x1.

    Returns:
        dict of python floats (see the protocol) with ``protocol``.

    Example:
        >>> gan = kg.zoo.load_gan("cyclegan.sneaker2boot")  # doctest: +SKIP
        >>> extractor = kg.zoo.classifier_extractor()  # doctest: +SKIP
        >>> kg.metrics.evaluate_translation(gan, classes=(7, 9), extractor=extractor)["target_fraction_a2b"]  # doctest: +SKIP
        0.97
    """
    from keras_gans.data.unpaired import _domains

    if not hasattr(model, "translate"):
        raise ValueError(
            f"evaluate_translation scores translators (CycleGAN), got {type(model).__name__}: "
            "use kg.metrics.evaluate for GANs that sample from noise."
        )
    batch_size = _positive_int(batch_size, "batch_size")
    if n is not None:
        n = _positive_int(n, "n", 2)
    images_a, images_b = _domains(dataset, b, split, classes, None)
    if n is not None:
        images_a, images_b = images_a[:n], images_b[:n]
    shape = tuple(model.image_shape)
    for what, images in (("A", images_a), ("B", images_b)):
        if tuple(images.shape[1:]) != shape:
            raise ValueError(
                f"domain {what} ({split}) has images of shape {tuple(images.shape[1:])} but the model "
                f"translates {shape}: evaluate on data of the model's image shape."
            )
        if len(images) < 2:
            raise ValueError(f"domain {what} ({split}) has {len(images)} images; the scores need at least 2.")
    real_a = as_model_images(images_a, "domain A images")
    real_b = as_model_images(images_b, "domain B images")
    extractor = as_extractor(extractor, shape)

    a2b = _translate(model, real_a, "a2b", batch_size)
    b2a = _translate(model, real_b, "b2a", batch_size)
    a2b2a = _translate(model, a2b, "b2a", batch_size)
    b2a2b = _translate(model, b2a, "a2b", batch_size)

    feats = {}
    for key, images in (("a", real_a), ("b", real_b), ("a2b", a2b), ("b2a", b2a)):
        feats[key] = extractor.extract(images, batch_size)
    report = {
        "frechet_distance_a2b": frechet_distance(feats["b"][0], feats["a2b"][0]),
        "frechet_distance_b2a": frechet_distance(feats["a"][0], feats["b2a"][0]),
        "frechet_distance_untranslated": frechet_distance(feats["a"][0], feats["b"][0]),
        "cycle_l1_a": float(np.mean(np.abs(a2b2a - real_a))),
        "cycle_l1_b": float(np.mean(np.abs(b2a2b - real_b))),
    }
    protocol = {
        "dataset": dataset if isinstance(dataset, str) else str(dataset),
        "b": None if b is None else (b if isinstance(b, str) else str(b)),
        "classes": None if classes is None else [int(c) for c in classes],
        "split": split,
        "n_a": int(len(real_a)),
        "n_b": int(len(real_b)),
        "family": getattr(model, "family", type(model).__name__),
        "extractor": extractor.name,
        "feature_dim": int(feats["a"][0].shape[1]),
        **inception.protocol_fields(extractor),
    }
    if extractor.is_classifier and classes is not None:
        cls_a, cls_b = (int(c) for c in classes)
        report["target_fraction_a2b"] = float(np.mean(feats["a2b"][1] == cls_b))
        report["target_fraction_b2a"] = float(np.mean(feats["b2a"][1] == cls_a))
        report["untranslated_fraction_a2b"] = float(np.mean(feats["a"][1] == cls_b))
        report["real_fraction_a"] = float(np.mean(feats["a"][1] == cls_a))
        report["real_fraction_b"] = float(np.mean(feats["b"][1] == cls_b))
        if extractor.name == CLASSIFIER_NAME:
            from keras_gans.data import FASHION_MNIST_CLASSES

            protocol["class_names"] = [FASHION_MNIST_CLASSES[cls_a], FASHION_MNIST_CLASSES[cls_b]]
    report["protocol"] = protocol
    return report


def format_translation_report(report):
    """Format an ``evaluate_translation`` report as aligned text lines.

    Args:
        report: dict returned by ``kg.metrics.evaluate_translation``.

    Returns:
        str, one score per line, ending with the protocol.
    """
    if not isinstance(report, dict) or "frechet_distance_a2b" not in report:
        raise ValueError("format_translation_report expects the dict returned by kg.metrics.evaluate_translation.")
    protocol = report.get("protocol", {})
    name_a, name_b = protocol.get("class_names") or ("A", "B")
    distance = inception.label(protocol.get("extractor"))
    rows = [
        (f"{distance} A->B vs real B", f"{report['frechet_distance_a2b']:.4f}"),
        (f"{distance} B->A vs real A", f"{report['frechet_distance_b2a']:.4f}"),
        (f"{distance} real A vs real B", f"{report['frechet_distance_untranslated']:.4f}  (no translation)"),
        ("cycle L1 A->B->A", f"{report['cycle_l1_a']:.4f}"),
        ("cycle L1 B->A->B", f"{report['cycle_l1_b']:.4f}"),
    ]
    if "target_fraction_a2b" in report:
        rows += [
            (f"A->B called {name_b}", f"{report['target_fraction_a2b']:.4f}  (real {name_b}: "
             f"{report['real_fraction_b']:.4f}, raw {name_a}: {report['untranslated_fraction_a2b']:.4f})"),
            (f"B->A called {name_a}", f"{report['target_fraction_b2a']:.4f}  (real {name_a}: "
             f"{report['real_fraction_a']:.4f})"),
        ]
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{label:<{width}}{value}" for label, value in rows]
    lines.append("")
    lines.append(
        f"protocol: {protocol.get('n_a')} A and {protocol.get('n_b')} B images of "
        f"{protocol.get('dataset')} [{protocol.get('split')}]"
        + (f", classes {protocol['classes']}" if protocol.get("classes") else "")
        + f"; features: {protocol.get('extractor')} ({protocol.get('feature_dim')}-d)"
    )
    if protocol.get("graph_sha256"):
        lines.append(f"Inception graph: {protocol['graph_sha256']} (sha256 of the .pb)")
    if protocol.get("extractor") == inception.KERAS_NAME:
        lines.append(inception.KERAS_INCEPTION_NOTE)
    return "\n".join(lines)
