"""Feature extractors for sample-quality metrics.

An extractor maps images in [-1, 1] to activations ``[n, d]``; the metrics
compute on those activations and take the extractor as an argument:

- ``FeatureExtractor(model)``: any ``keras.Model`` or callable returning
  features; ``FeatureExtractor.from_classifier(model)`` wraps a classifier
  with a ``features`` layer, so it also predicts classes (mode coverage and
  label agreement in ``kg.metrics.evaluate``). The Frechet distance on a
  classifier's features is the Frechet classifier distance (FCD).
- ``inception_extractor()``: InceptionV3's 2048-d average-pooled features
  (ImageNet weights) of images resized to 299x299, the features of the
  Frechet Inception distance (FID), for RGB data.

The zoo hands the metrics its Fashion-MNIST classifier as an extractor
(``kg.zoo.classifier_extractor()``, and ``kg.zoo.get_extractor(image_shape)``
for the default of an image shape): metrics import no zoo.
"""

import os

import numpy as np

#: Name of the Fashion-MNIST classifier's features (its zoo name), which
#: reports call FCD and label with Fashion-MNIST's class names.
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
        >>> pixels = FeatureExtractor(lambda x: x.reshape(len(x), -1), name="pixels")
        >>> pixels(np.zeros((2, 4, 4, 1), "uint8")).shape
        (2, 16)
    """

    def __init__(self, model, name="custom", image_shape=None, num_classes=None):
        if not callable(model):
            raise ValueError(f"model must be a keras.Model or a callable, got {type(model).__name__}.")
        self.model = model
        self.name = str(name)
        self.image_shape = None if image_shape is None else tuple(int(s) for s in image_shape)
        self.num_classes = None if num_classes is None else int(num_classes)

    @classmethod
    def from_classifier(cls, model, name=None):
        """The extractor of a classifier: its ``features`` layer, and its classes.

        Args:
            model: ``keras.Model`` images -> logits with a layer named
                ``features`` (``kg.networks.classifier.image_classifier``
                builds one).
            name: str, what the features are (default ``model.name``).

        Returns:
            ``FeatureExtractor`` returning the ``features`` activations and
            the argmax of the logits.

        Example:
            >>> from keras_gans.networks.classifier import image_classifier
            >>> extractor = FeatureExtractor.from_classifier(image_classifier(feature_dim=16))
            >>> extractor.num_classes, extractor.image_shape
            (10, (28, 28, 1))
        """
        import keras

        if not isinstance(model, keras.Model):
            raise ValueError(f"model must be a keras.Model classifier, got {type(model).__name__}.")
        try:
            features = model.get_layer("features").output
        except ValueError:
            raise ValueError(
                f"{model.name} has no layer named 'features': pass FeatureExtractor(model) for a model "
                "that returns features itself."
            ) from None
        # A single input tensor (not a one-element list), so calls with a plain
        # array match the model's input structure.
        both = keras.Model(model.inputs[0], [features, model.outputs[0]])
        return cls(
            both, name=name or model.name, image_shape=tuple(model.inputs[0].shape[1:]),
            num_classes=int(model.outputs[0].shape[-1]),
        )

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
        extractor: a ``FeatureExtractor``, a ``keras.Model`` returning
            features, a callable ``images -> features``, or None:
            ``inception_extractor(image_shape)`` (FID) for RGB and other
            shapes. 28x28x1 images have no metrics-side default (InceptionV3
            on upsampled 28x28 grayscale says little): pass the zoo's
            classifier, ``kg.zoo.classifier_extractor()``.
        image_shape: tuple, used when ``extractor`` is None.

    Raises:
        ValueError: ``extractor`` is None for 28x28x1 images (the message names
            the zoo's classifier), or is not callable.
    """
    if extractor is None:
        if image_shape is None:
            raise ValueError("pass extractor= or image_shape= to pick a feature extractor.")
        image_shape = tuple(int(s) for s in image_shape)
        if image_shape == (28, 28, 1):
            raise ValueError(
                "28x28x1 images need extractor=: pass kg.zoo.classifier_extractor() (the Fashion-MNIST "
                "classifier, FCD) or your own FeatureExtractor."
            )
        return inception_extractor(image_shape)
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if callable(extractor):
        return FeatureExtractor(extractor, name=getattr(extractor, "name", None) or "custom")
    raise ValueError(
        f"extractor must be None, a FeatureExtractor, a keras.Model or a callable, got {type(extractor).__name__}."
    )


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
