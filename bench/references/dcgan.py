"""DCGAN training loop as the keras.io examples write it, on keras-gans' networks.

The style of keras.io's "DCGAN to generate face images" (a ``keras.Model``
subclass with ``train_step``): real and fake images are concatenated into one
discriminator pass with noisy labels, losses come from
``keras.losses.BinaryCrossentropy``, and the step runs under ``fit``'s default
``tf.function``. Only the networks are keras-gans' (the same ones the DCGAN
family builds), passed ``training=True`` because they use batch norm, so a
benchmark against ``kg.models.DCGAN`` compares training loops, not networks.
"""

import keras
import tensorflow as tf
from keras import ops


class ReferenceDCGAN(keras.Model):
    """keras.io-style DCGAN: ``compile(d_optimizer, g_optimizer, loss_fn)`` then ``fit``.

    Args:
        discriminator: ``keras.Model`` images -> logits ``[batch, 1]``.
        generator: ``keras.Model`` ``[batch, latent_dim]`` -> images.
        latent_dim: int, size of ``z``.
        seed: int, seed of the noise.

    Example:
        >>> import keras_gans as kg
        >>> g = kg.networks.dcgan_generator(32, (28, 28, 1), width=8)
        >>> d = kg.networks.dcgan_discriminator((28, 28, 1), width=8)
        >>> gan = ReferenceDCGAN(d, g, latent_dim=32)
        >>> gan.compile(keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5),
        ...             keras.losses.BinaryCrossentropy(from_logits=True))
    """

    def __init__(self, discriminator, generator, latent_dim, seed=1337):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )
        generated_images = self.generator(random_latent_vectors, training=True)
        combined_images = ops.concatenate([generated_images, real_images], axis=0)
        # 1 for fake, 0 for real, with a little label noise (the keras.io trick).
        labels = ops.concatenate(
            [ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0
        )
        labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images, training=True)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )
        misleading_labels = ops.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(
                self.generator(random_latent_vectors, training=True), training=True
            )
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}
