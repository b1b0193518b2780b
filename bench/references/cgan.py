"""Conditional GAN training loop in the style of keras.io's "Conditional GAN".

The keras.io example concatenates real and fake images into one
discriminator pass and trains with ``BinaryCrossentropy``. Its networks take
one-hot labels as extra channels; here the networks are keras-gans' (the
ConditionalGAN family's ``[z, labels]`` generator and ``[images, labels]``
projection discriminator), so a benchmark against ``kg.models.ConditionalGAN``
compares training loops only.
"""

import keras
import tensorflow as tf
from keras import ops


class ReferenceConditionalGAN(keras.Model):
    """keras.io-style conditional GAN on ``(images, labels)`` batches.

    Args:
        discriminator: ``keras.Model`` ``[images, labels]`` -> logits.
        generator: ``keras.Model`` ``[z, labels]`` -> images.
        latent_dim: int, size of ``z``.
        seed: int, seed of the noise.

    Example:
        >>> import keras_gans as kg
        >>> g = kg.networks.cgan_generator(32, (28, 28, 1), width=8)
        >>> d = kg.networks.cgan_discriminator((28, 28, 1), width=8)
        >>> gan = ReferenceConditionalGAN(d, g, latent_dim=32)
        >>> gan.compile(keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5),
        ...             keras.losses.BinaryCrossentropy(from_logits=True))
    """

    def __init__(self, discriminator, generator, latent_dim, seed=1337):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.gen_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.disc_loss_tracker = keras.metrics.Mean(name="discriminator_loss")

    @property
    def metrics(self):
        return [self.gen_loss_tracker, self.disc_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, data):
        real_images, labels = data
        labels = ops.cast(labels, "int32")
        batch_size = ops.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )
        generated_images = self.generator([random_latent_vectors, labels], training=True)
        combined_images = ops.concatenate([generated_images, real_images], axis=0)
        combined_labels = ops.concatenate([labels, labels], axis=0)
        targets = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        with tf.GradientTape() as tape:
            predictions = self.discriminator([combined_images, combined_labels], training=True)
            d_loss = self.loss_fn(targets, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )
        misleading_labels = ops.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            fake_images = self.generator([random_latent_vectors, labels], training=True)
            predictions = self.discriminator([fake_images, labels], training=True)
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.gen_loss_tracker.update_state(g_loss)
        self.disc_loss_tracker.update_state(d_loss)
        return {"g_loss": self.gen_loss_tracker.result(), "d_loss": self.disc_loss_tracker.result()}
