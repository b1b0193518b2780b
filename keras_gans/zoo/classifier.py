"""The zoo's Fashion-MNIST classifier, handed to the metrics as their feature extractor.

``classifier.fashion_mnist`` is a zoo entry like the generators (card,
sha256-checked weights, recipe). Its ``features`` layer (128-d) gives the
Frechet classifier distance (FCD) and its logits the class coverage of
``kg.metrics.evaluate``; the metrics take it as ``extractor=`` and never
import the zoo themselves.

Example:
    >>> import keras_gans as kg
    >>> extractor = kg.zoo.classifier_extractor()
    >>> report = kg.metrics.evaluate(gan, n=2000, extractor=extractor)  # doctest: +SKIP
"""

import time

import numpy as np

from keras_gans.metrics.extractors import (
    CLASSIFIER_NAME,
    FeatureExtractor,
    as_model_images,
    inception_extractor,
)


def load_classifier(name=CLASSIFIER_NAME):
    """Load the zoo's pretrained classifier (``keras.Model`` images -> logits).

    Args:
        name: str, zoo name of a ``classifier`` entry.

    Returns:
        ``keras.Model`` built by ``kg.networks.classifier.image_classifier``
        with the entry's config, and its weights from ``kg.zoo.fetch``
        (the checkout's ``zoo/weights/``, the cache, or a verified download).

    Example:
        >>> model = load_classifier()
        >>> model.output_shape
        (None, 10)
    """
    from keras_gans.zoo.registry import card, fetch, get_model

    if card(name).get("task") != "feature_extractor":
        raise ValueError(f"zoo entry {name} is a {card(name)['task']}, not a classifier.")
    model = get_model(name)
    model.load_weights(fetch(name))
    return model


def classifier_extractor(name=CLASSIFIER_NAME, model=None):
    """The Frechet classifier distance extractor: a classifier's ``features`` layer.

    Args:
        name: str, zoo name of the classifier (used when ``model`` is None).
        model: optional trained ``keras.Model`` from
            ``kg.networks.classifier.image_classifier`` to use instead of the zoo's.

    Returns:
        ``kg.metrics.FeatureExtractor`` returning 128-d features and predicted classes.

    Example:
        >>> extractor = classifier_extractor()
        >>> features, classes = extractor.extract(images)  # doctest: +SKIP
    """
    if model is None:
        return FeatureExtractor.from_classifier(load_classifier(name), name=name)
    return FeatureExtractor.from_classifier(model)


def get_extractor(image_shape):
    """The default feature extractor for images of ``image_shape``.

    28x28x1 images get the zoo's Fashion-MNIST classifier (Frechet classifier
    distance; it is trained on Fashion-MNIST, so for other 28x28 data pass
    your own extractor); every other shape gets InceptionV3 (FID), which
    needs its ImageNet weights (see ``kg.metrics.inception_extractor``).

    Args:
        image_shape: tuple ``(height, width, channels)``.

    Returns:
        ``kg.metrics.FeatureExtractor``.

    Example:
        >>> kg.zoo.get_extractor((28, 28, 1)).name
        'classifier.fashion_mnist'
    """
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 3 or image_shape[-1] not in (1, 3):
        raise ValueError(
            f"image_shape must be (height, width, 1 or 3), got {image_shape}: pass extractor= for other data."
        )
    if image_shape == (28, 28, 1):
        return classifier_extractor()
    return inception_extractor(image_shape)


def train_classifier(
    dataset="fashion_mnist",
    epochs=5,
    batch_size=128,
    seed=0,
    learning_rate=1e-3,
    verbose=1,
    **config,
):
    """Train a ``kg.networks.classifier.image_classifier`` on a labelled dataset.

    Trains on the ``train`` split with Adam and sparse cross-entropy, then
    measures accuracy on the whole ``test`` split (nothing is tuned on it).
    Seeds are passed to the initializers, dropout and shuffling, so global
    random state is left alone. ``keras-gans zoo train classifier.fashion_mnist``
    runs it from the recipe.

    Args:
        dataset: labelled dataset name or path (see ``kg.data.load_numpy``).
        epochs: int.
        batch_size: int.
        seed: int, seed of initialization, dropout and shuffling.
        learning_rate: float, Adam's learning rate.
        verbose: Keras verbosity.
        **config: arguments of ``image_classifier`` (``width``, ``feature_dim``...).

    Returns:
        ``(model, info)``: the trained ``keras.Model`` and a dict with
        ``test_accuracy``, ``test_n``, ``time_s``, ``epochs`` and ``config``.

    Example:
        >>> model, info = train_classifier(epochs=1)  # doctest: +SKIP
        >>> info["test_accuracy"]  # doctest: +SKIP
        0.87
    """
    import keras

    from keras_gans import data
    from keras_gans.networks.classifier import image_classifier

    images, labels = data.load_numpy(dataset, split="train")
    test_images, test_labels = data.load_numpy(dataset, split="test")
    if labels is None or test_labels is None:
        raise ValueError(f"{dataset!r} has no labels: a classifier needs a labelled dataset.")
    config = {
        "image_shape": list(images.shape[1:]),
        "num_classes": int(max(labels.max(), test_labels.max()) + 1),
        **config,
    }
    model = image_classifier(seed=seed, **config)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    train = data.to_pipeline(images, labels, batch_size=batch_size, shuffle=True, seed=seed,
                             drop_remainder=False)
    start = time.time()
    model.fit(train, epochs=int(epochs), verbose=verbose)
    time_s = time.time() - start
    accuracy = classifier_accuracy(model, test_images, test_labels)
    return model, {
        "test_accuracy": accuracy,
        "test_n": int(len(test_images)),
        "time_s": round(time_s, 1),
        "epochs": int(epochs),
        "config": config,
    }


def classifier_accuracy(model, images, labels, batch_size=1000):
    """Fraction of ``images`` whose argmax logit equals ``labels`` (a python float)."""
    images = as_model_images(images)
    predictions = np.argmax(model.predict(images, batch_size=batch_size, verbose=0), axis=-1)
    return float(np.mean(predictions == np.asarray(labels)))
