"""GAN losses as pure functions, named as in TF-GAN.

Every function takes discriminator outputs (logits unless said otherwise) and
returns a scalar: the mean over the batch. None of them reads global state.
Under ``tf.distribute`` the GAN classes divide these means by the number of
replicas, so gradients summed across replicas equal the global-batch mean.

Example:
    >>> import numpy as np
    >>> from keras_gans import losses
    >>> real, fake = np.array([[2.0]]), np.array([[-2.0]])
    >>> float(losses.minimax_discriminator_loss(real, fake)) < 0.3
    True
"""

from keras import ops


def _mean(x):
    return ops.mean(ops.cast(x, "float32"))


def _f32(x):
    # Losses are always computed in float32, also under mixed precision.
    return ops.cast(x, "float32")


def minimax_discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """Discriminator loss of the original minimax GAN (binary cross-entropy).

    Args:
        real_logits: Tensor, discriminator logits on real data.
        fake_logits: Tensor, discriminator logits on generated data.
        label_smoothing: float, one-sided smoothing of the real target (0.1 makes it 0.9).

    Returns:
        Scalar float32 tensor.

    Example:
        >>> float(minimax_discriminator_loss([[0.0]], [[0.0]]))  # 2 * log(2)
        1.386...
    """
    real_logits, fake_logits = _f32(real_logits), _f32(fake_logits)
    target = 1.0 - label_smoothing
    real_loss = ops.binary_crossentropy(
        ops.full_like(real_logits, target), real_logits, from_logits=True
    )
    fake_loss = ops.binary_crossentropy(
        ops.zeros_like(fake_logits), fake_logits, from_logits=True
    )
    return _mean(real_loss) + _mean(fake_loss)


def minimax_generator_loss(fake_logits):
    """Saturating generator loss of the minimax game: ``mean(log(1 - D(G(z))))``.

    Kept for completeness; it gives vanishing gradients early in training, which
    is why `modified_generator_loss` is the default.

    Args:
        fake_logits: Tensor, discriminator logits on generated data.

    Returns:
        Scalar float32 tensor.
    """
    fake_logits = _f32(fake_logits)
    return -_mean(
        ops.binary_crossentropy(ops.zeros_like(fake_logits), fake_logits, from_logits=True)
    )


def modified_generator_loss(fake_logits):
    """Non-saturating generator loss: ``-mean(log(D(G(z))))``.

    Args:
        fake_logits: Tensor, discriminator logits on generated data.

    Returns:
        Scalar float32 tensor.

    Example:
        >>> float(modified_generator_loss([[0.0]]))  # log(2)
        0.693...
    """
    fake_logits = _f32(fake_logits)
    return _mean(
        ops.binary_crossentropy(ops.ones_like(fake_logits), fake_logits, from_logits=True)
    )


def least_squares_discriminator_loss(real_outputs, fake_outputs):
    """LSGAN discriminator loss: ``0.5 * mean((D(x) - 1)^2) + 0.5 * mean(D(G(z))^2)``.

    Args:
        real_outputs: Tensor, raw discriminator outputs on real data.
        fake_outputs: Tensor, raw discriminator outputs on generated data.

    Returns:
        Scalar float32 tensor.
    """
    real_outputs, fake_outputs = _f32(real_outputs), _f32(fake_outputs)
    return 0.5 * _mean(ops.square(real_outputs - 1.0)) + 0.5 * _mean(ops.square(fake_outputs))


def least_squares_generator_loss(fake_outputs):
    """LSGAN generator loss: ``0.5 * mean((D(G(z)) - 1)^2)``.

    Args:
        fake_outputs: Tensor, raw discriminator outputs on generated data.

    Returns:
        Scalar float32 tensor.
    """
    return 0.5 * _mean(ops.square(_f32(fake_outputs) - 1.0))


def wasserstein_discriminator_loss(real_outputs, fake_outputs):
    """Wasserstein critic loss: ``mean(D(G(z))) - mean(D(x))``.

    Args:
        real_outputs: Tensor, critic scores on real data.
        fake_outputs: Tensor, critic scores on generated data.

    Returns:
        Scalar float32 tensor (the negated Wasserstein estimate).
    """
    return _mean(fake_outputs) - _mean(real_outputs)


def wasserstein_generator_loss(fake_outputs):
    """Wasserstein generator loss: ``-mean(D(G(z)))``.

    Args:
        fake_outputs: Tensor, critic scores on generated data.

    Returns:
        Scalar float32 tensor.
    """
    return -_mean(fake_outputs)


def hinge_discriminator_loss(real_outputs, fake_outputs):
    """Hinge discriminator loss: ``mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))``.

    Args:
        real_outputs: Tensor, raw discriminator outputs on real data.
        fake_outputs: Tensor, raw discriminator outputs on generated data.

    Returns:
        Scalar float32 tensor.
    """
    return _mean(ops.relu(1.0 - _f32(real_outputs))) + _mean(ops.relu(1.0 + _f32(fake_outputs)))


def hinge_generator_loss(fake_outputs):
    """Hinge generator loss: ``-mean(D(G(z)))``.

    Args:
        fake_outputs: Tensor, raw discriminator outputs on generated data.

    Returns:
        Scalar float32 tensor.
    """
    return -_mean(fake_outputs)


def wasserstein_gradient_penalty(critic, real, fake, seed=None, target=1.0, eps=None):
    """WGAN-GP gradient penalty: ``mean((||grad critic(x_hat)||_2 - target)^2)``.

    ``x_hat = eps * real + (1 - eps) * fake`` with ``eps ~ U[0, 1]`` drawn once
    per example. Uses a TensorFlow ``GradientTape``, so it must run on the
    TensorFlow backend (the only one keras-gans trains on).

    Args:
        critic: callable, ``critic(x) -> scores``: a Keras model (called with
            ``training=True``) or a plain function of ``x``.
        real: Tensor ``[batch, ...]`` of real samples.
        fake: Tensor of generated samples, same shape as ``real``.
        seed: ``keras.random.SeedGenerator`` or int for ``eps``; None draws fresh noise.
        target: float, the gradient norm the penalty pulls toward.
        eps: optional tensor ``[batch, 1, ..., 1]`` of interpolation
            coefficients in [0, 1] to use instead of a draw (``seed`` must then
            be None); ``kg.models.WGANGP`` passes its replica-aware draw.

    Returns:
        Scalar float32 tensor.

    Example:
        >>> import keras, numpy as np
        >>> critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
        >>> critic.layers[0].set_weights([np.array([[3.0], [4.0]])])  # ||grad|| = 5
        >>> x = np.zeros((4, 2), "float32")
        >>> float(wasserstein_gradient_penalty(critic, x, x))  # (5 - 1)^2
        16.0
    """
    import tensorflow as tf
    from keras import random
    from keras.layers import Layer

    real = tf.cast(real, "float32")
    fake = tf.cast(fake, "float32")
    if real.shape.is_fully_defined() and fake.shape.is_fully_defined() and real.shape != fake.shape:
        raise ValueError(
            f"real and fake must have the same shape to be interpolated, got {real.shape} "
            f"and {fake.shape}."
        )
    if eps is None:
        batch = tf.shape(real)[0]
        eps_shape = tf.concat([[batch], tf.ones([tf.rank(real) - 1], tf.int32)], axis=0)
        eps = random.uniform(eps_shape, 0.0, 1.0, seed=seed)
    elif seed is not None:
        raise ValueError("pass either eps or seed, not both: eps is used as given.")
    else:
        eps = tf.cast(eps, "float32")
    x_hat = eps * real + (1.0 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        # Keras models take `training`; a plain function of x is a critic too.
        scores = critic(x_hat, training=True) if isinstance(critic, Layer) else critic(x_hat)
        scores = tf.cast(scores, "float32")
    grads = tape.gradient(scores, x_hat)
    axes = tf.range(1, tf.rank(grads))
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes) + 1e-12)
    return tf.reduce_mean(tf.square(norms - target))


def cycle_consistency_loss(real, reconstructed):
    """CycleGAN cycle loss: mean absolute error between an image and its round trip.

    Args:
        real: Tensor, original images.
        reconstructed: Tensor, ``F(G(real))``, same shape.

    Returns:
        Scalar float32 tensor. The GAN multiplies it by its cycle weight.
    """
    return _mean(ops.abs(_f32(real) - _f32(reconstructed)))


def identity_loss(real, same):
    """CycleGAN identity loss: mean absolute error between ``y`` and ``G(y)``.

    Args:
        real: Tensor, images already in the target domain.
        same: Tensor, the generator applied to them.

    Returns:
        Scalar float32 tensor.
    """
    return _mean(ops.abs(_f32(real) - _f32(same)))


_BY_NAME = {
    "non_saturating": (minimax_discriminator_loss, modified_generator_loss),
    "minimax": (minimax_discriminator_loss, minimax_generator_loss),
    "least_squares": (least_squares_discriminator_loss, least_squares_generator_loss),
    "wasserstein": (wasserstein_discriminator_loss, wasserstein_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
}


def get(name):
    """Return the ``(discriminator_loss, generator_loss)`` pair called ``name``.

    Args:
        name: str, one of ``non_saturating``, ``minimax``, ``least_squares``,
            ``wasserstein``, ``hinge``.

    Returns:
        Tuple of two loss functions.

    Example:
        >>> d_loss, g_loss = get("hinge")
    """
    if name not in _BY_NAME:
        raise ValueError(
            f"Unknown GAN loss {name!r}: use one of {sorted(_BY_NAME)}."
        )
    return _BY_NAME[name]
