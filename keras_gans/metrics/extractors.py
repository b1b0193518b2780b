"""Feature extractors for sample-quality metrics, and training the zoo classifier.

An extractor maps images in [-1, 1] to activations ``[n, d]``:

- ``classifier_extractor()``: the ``features`` layer (128-d) of the zoo's
  Fashion-MNIST classifier, ``classifier.fashion_mnist``; it also predicts
  classes, which ``kg.metrics.evaluate`` uses for mode coverage and label
  agreement. The Frechet distance on these features is the Frechet
  classifier distance (FCD).
- ``inception_extractor()``: InceptionV3's 2048-d average-pooled features
  (ImageNet weights) of images resized to 299x299, the features of the
  Frechet Inception distance (FID), for RGB data.

``get_extractor(image_shape)`` picks the default for an image shape.
"""

import os
import time

import numpy as np

#: Zoo name of the Fashion-MNIST classifier.
CLASSIFIER_NAME = "classifier.fashion_mnist"

#: File name Keras caches InceptionV3's ImageNet weights under (include_top=False).
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


def _offline():
    return os.environ.get("KERAS_GANS_OFFLINE", "") not in ("", "0")


def as_model_images(images, what="images"):
    """Check a batch of images and return it as float32 in [-1, 1].

    Args:
        images: array ``[n, h, w, c]``: uint8 in [0, 255] or floats in [-1, 1].
        what: str, name used in errors.

    Returns:
        float32 ``np.ndarray`` ``[n, h, w, c]`` in [-1, 1].
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"{what} must have shape [n, height, width, channels], got {images.shape}.")
    if len(images) == 0:
        raise ValueError(f"{what} are empty: pass at least one image.")
    if images.dtype == np.uint8:
        return images.astype("float32") / 127.5 - 1.0
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"{what} must be uint8 or floats in [-1, 1], got dtype {images.dtype}.")
    images = images.astype("float32")
    if not np.isfinite(images).all():
        raise ValueError(f"{what} contain NaN or inf: the generator diverged or the data is broken.")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1.0 - 1e-3 or hi > 1.0 + 1e-3:
        raise ValueError(
            f"{what} must lie in [-1, 1], got values in [{lo:.3g}, {hi:.3g}]: scale them with x / 127.5 - 1."
        )
    return np.clip(images, -1.0, 1.0)


class FeatureExtractor:
    """Images in [-1, 1] to activations (and, for classifiers, predicted classes).

    Args:
        model: ``keras.Model`` (or any callable on a float32 batch) returning
            features ``[batch, d]``, or a pair ``[features, logits]`` when the
            extractor is also a classifier.
        name: str, what the features are, written into evaluation reports
            (``"classifier.fashion_mnist"``, ``"inception_v3"``...).
        image_shape: optional tuple ``(h, w, c)`` the model takes; images of
            another shape raise ``ValueError``.
        num_classes: int or None; set when ``model`` also returns logits.

    Example:
        >>> extractor = kg.metrics.get_extractor((28, 28, 1))
        >>> extractor(images).shape  # doctest: +SKIP
        (16, 128)
    """

    def __init__(self, model, name="custom", image_shape=None, num_classes=None):
        if not callable(model):
            raise ValueError(f"model must be a keras.Model or a callable, got {type(model).__name__}.")
        self.model = model
        self.name = str(name)
        self.image_shape = None if image_shape is None else tuple(int(s) for s in image_shape)
        self.num_classes = None if num_classes is None else int(num_classes)

    @property
    def is_classifier(self):
        """True when the extractor also predicts classes."""
        return self.num_classes is not None

    def _check_shape(self, images):
        if self.image_shape is not None and tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(
                f"images of shape {tuple(images.shape[1:])} do not fit the {self.name} extractor, "
                f"which takes {self.image_shape}: pass extractor= for this data."
            )

    def extract(self, images, batch_size=500):
        """Return ``(features float64 [n, d], predicted classes int32 [n] or None)``.

        Args:
            images: ``[n, h, w, c]``, uint8 or floats in [-1, 1].
            batch_size: int, images per forward pass.
        """
        import keras

        images = as_model_images(images)
        self._check_shape(images)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        features, classes = [], []
        for start in range(0, len(images), int(batch_size)):
            out = self.model(images[start : start + batch_size], training=False) if isinstance(
                self.model, keras.Model
            ) else self.model(images[start : start + batch_size])
            if self.is_classifier:
                feats, logits = out
                classes.append(np.argmax(keras.ops.convert_to_numpy(logits), axis=-1))
            else:
                feats = out
            feats = np.asarray(keras.ops.convert_to_numpy(feats), dtype="float64")
            features.append(feats.reshape(len(feats), -1))
        features = np.concatenate(features)
        if not np.isfinite(features).all():
            raise ValueError(f"the {self.name} extractor returned NaN or inf features.")
        return features, (np.concatenate(classes).astype("int32") if self.is_classifier else None)

    def __call__(self, images, batch_size=500):
        """Return the features ``float64 [n, d]`` of ``images``."""
        return self.extract(images, batch_size)[0]

    def classify(self, images, batch_size=500):
        """Return the predicted classes ``int32 [n]`` (classifier extractors only)."""
        if not self.is_classifier:
            raise ValueError(f"the {self.name} extractor does not predict classes.")
        return self.extract(images, batch_size)[1]

    def __repr__(self):
        return f"FeatureExtractor(name={self.name!r}, image_shape={self.image_shape})"


def as_extractor(extractor, image_shape=None):
    """Return a ``FeatureExtractor`` for ``extractor``.

    Args:
        extractor: None (the default for ``image_shape``, see ``get_extractor``),
            a ``FeatureExtractor``, a ``keras.Model`` returning features, or a
            callable ``images -> features``.
        image_shape: tuple, used when ``extractor`` is None.
    """
    if extractor is None:
        if image_shape is None:
            raise ValueError("pass extractor= or image_shape= to pick a feature extractor.")
        return get_extractor(image_shape)
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if callable(extractor):
        return FeatureExtractor(extractor, name=getattr(extractor, "name", None) or "custom")
    raise ValueError(
        f"extractor must be None, a FeatureExtractor, a keras.Model or a callable, got {type(extractor).__name__}."
    )


def get_extractor(image_shape):
    """The default feature extractor for images of ``image_shape``.

    28x28x1 images get the zoo's Fashion-MNIST classifier (Frechet classifier
    distance; it is trained on Fashion-MNIST, so for other 28x28 data pass
    your own extractor); every other shape gets InceptionV3 (FID), which
    needs its ImageNet weights (see ``inception_extractor``).

    Args:
        image_shape: tuple ``(height, width, channels)``.

    Returns:
        ``FeatureExtractor``.

    Example:
        >>> kg.metrics.get_extractor((28, 28, 1)).name
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


def inception_weights_path():
    """Where Keras caches InceptionV3's ImageNet weights (``$KERAS_HOME/models``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models", INCEPTION_WEIGHTS_FILE)


def inception_extractor(image_shape=(299, 299, 3), weights="imagenet"):
    """The FID extractor: InceptionV3's 2048-d average-pooled features.

    Images in [-1, 1] (the range InceptionV3's ImageNet weights expect) are
    resized to 299x299 with bilinear interpolation; grayscale images are
    repeated to three channels.

    Args:
        image_shape: tuple ``(height, width, 1 or 3)`` of the images to extract from.
        weights: ``"imagenet"`` (from the Keras cache, downloaded once when
            online), a path to ``inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5``,
            or None for random weights (only for tests).

    Returns:
        ``FeatureExtractor`` named ``"inception_v3"``.

    Raises:
        FileNotFoundError: the ImageNet weights are not cached and cannot be
            downloaded (offline, or ``KERAS_GANS_OFFLINE`` is set).

    Example:
        >>> extractor = inception_extractor((32, 32, 3))  # doctest: +SKIP
        >>> extractor(images).shape  # doctest: +SKIP
        (16, 2048)
    """
    import keras

    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 3 or image_shape[-1] not in (1, 3):
        raise ValueError(f"InceptionV3 takes images (height, width, 1 or 3), got {image_shape}.")
    fix = (
        f"run once online so Keras downloads it, or copy {INCEPTION_WEIGHTS_FILE} into "
        f"{os.path.dirname(inception_weights_path())}; or pass extractor= to use other features."
    )
    if weights == "imagenet":
        cached = inception_weights_path()
        if os.path.isfile(cached):
            weights = cached
        elif _offline():
            raise FileNotFoundError(f"InceptionV3 ImageNet weights are not on this machine: {fix}")
    elif weights is not None and not os.path.isfile(os.fspath(weights)):
        raise FileNotFoundError(f"InceptionV3 weights file {weights} does not exist: {fix}")
    try:
        backbone = keras.applications.InceptionV3(
            include_top=False, weights=weights, pooling="avg", input_shape=(299, 299, 3)
        )
    except Exception as err:
        if weights != "imagenet":
            raise
        raise FileNotFoundError(
            f"could not download InceptionV3 ImageNet weights ({type(err).__name__}): {fix}"
        ) from None
    images = keras.Input(image_shape, name="images")
    x = keras.layers.Resizing(299, 299, interpolation="bilinear", name="resize")(images)
    if image_shape[-1] == 1:
        x = keras.layers.Concatenate(name="gray_to_rgb")([x, x, x])
    features = backbone(x)
    model = keras.Model(images, features, name="inception_v3_features")
    return FeatureExtractor(model, name="inception_v3", image_shape=image_shape)


# ------------------------------------------------------------ the classifier
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
    from keras_gans.zoo import card, fetch, get_model

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
        ``FeatureExtractor`` returning 128-d features and predicted classes.

    Example:
        >>> extractor = classifier_extractor()
        >>> features, classes = extractor.extract(images)  # doctest: +SKIP
    """
    import keras

    if model is None:
        model = load_classifier(name)
    else:
        name = model.name
    # A single input tensor (not a one-element list), so calls with a plain
    # array match the model's input structure.
    both = keras.Model(model.inputs[0], [model.get_layer("features").output, model.outputs[0]])
    return FeatureExtractor(
        both, name=name, image_shape=tuple(model.inputs[0].shape[1:]),
        num_classes=int(model.outputs[0].shape[-1]),
    )


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
    random state is left alone.

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


def publish_classifier(recipe="classifier.fashion_mnist", verbose=1):
    """Train the classifier of a recipe and write its weights and card (maintainers).

    The same as ``keras-gans zoo train classifier.fashion_mnist --publish``:
    ``kg.zoo.recipe.run_recipe`` trains it with ``train_classifier`` from the
    recipe's ``[model]``, ``[data]`` and ``[train]`` keys, then writes
    ``zoo/weights/<name>.weights.h5`` and ``keras_gans/zoo/cards/<name>.json``
    together. Run it from a checkout.

    Args:
        recipe: zoo name or path of a ``family = "classifier"`` recipe.
        verbose: Keras verbosity.

    Returns:
        The card dict.

    Example:
        >>> import keras_gans as kg
        >>> kg.metrics.publish_classifier()  # doctest: +SKIP
    """
    from keras_gans.zoo.recipe import load_recipe, run_recipe

    spec = load_recipe(recipe)
    if spec["family"] != "classifier":
        raise ValueError(f"recipe {spec['path']} is for a {spec['family']}, not a classifier.")
    return run_recipe(spec["path"], publish=True, verbose=verbose, overwrite=True)["card"]
