"""A compact image classifier whose penultimate layer is a feature extractor.

The zoo entry ``classifier.fashion_mnist`` is this network trained on the
Fashion-MNIST train split; ``kg.metrics`` uses its ``features`` layer (128
numbers per image) for the Frechet classifier distance, KID and
precision/recall of 28x28 grayscale samples, and its predicted classes for
mode coverage and label agreement.
"""

import keras
from keras import layers


def image_classifier(
    image_shape=(28, 28, 1),
    num_classes=10,
    width=32,
    feature_dim=128,
    dropout=0.3,
    seed=None,
    dtype=None,
    name="classifier",
):
    """Build a small CNN classifier for images in [-1, 1].

    Two blocks of a 3x3 convolution, ReLU and 2x2 max pooling (``width`` then
    ``2 * width`` filters), a dense ``features`` layer (ReLU) and a dense layer
    of ``num_classes`` logits. The ``features`` layer is what
    ``kg.zoo.classifier_extractor`` returns. Dropout sits between the
    features and the logits, so the features themselves are deterministic.

    With the defaults on 28x28x1 the network has 421,642 parameters.

    Args:
        image_shape: tuple ``(height, width, channels)``, each side divisible by 4.
        num_classes: int, number of classes (logits out).
        width: int, filters of the first convolution; the second has twice as many.
        feature_dim: int, size of the ``features`` layer.
        dropout: float in [0, 1), dropout rate before the logits (training only).
        seed: int or None, seed of the weight initializers and dropout, so a
            training run is reproducible without touching global seeds.
        dtype: dtype policy of the hidden layers; the logits are float32.
        name: str, model name.

    Returns:
        ``keras.Model`` mapping images ``[batch, h, w, c]`` in [-1, 1] to
        logits ``[batch, num_classes]``; its layer ``"features"`` gives the
        embedding.

    Example:
        >>> model = image_classifier((28, 28, 1))
        >>> model.output_shape, model.get_layer("features").output.shape
        ((None, 10), (None, 128))
    """
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 3 or image_shape[0] % 4 or image_shape[1] % 4:
        raise ValueError(
            f"image_shape must be (height, width, channels) with sides divisible by 4, "
            f"got {image_shape}: resize the images."
        )
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}.")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout}.")

    def init(offset):
        # A distinct seed per layer: one shared seed would give every layer of
        # the same shape identical starting weights.
        return keras.initializers.GlorotUniform(None if seed is None else int(seed) + offset)

    images = keras.Input(image_shape, name="images")
    x = images
    for i, filters in enumerate((int(width), 2 * int(width))):
        x = layers.Conv2D(
            filters, 3, padding="same", activation="relu", kernel_initializer=init(i),
            dtype=dtype, name=f"conv{i}",
        )(x)
        x = layers.MaxPooling2D(2, dtype=dtype, name=f"pool{i}")(x)
    x = layers.Flatten(dtype=dtype, name="flatten")(x)
    x = layers.Dense(
        int(feature_dim), activation="relu", kernel_initializer=init(10), dtype=dtype,
        name="features",
    )(x)
    x = layers.Dropout(float(dropout), seed=seed, dtype=dtype, name="dropout")(x)
    logits = layers.Dense(
        int(num_classes), kernel_initializer=init(11), dtype="float32", name="logits"
    )(x)
    return keras.Model(images, logits, name=name)
