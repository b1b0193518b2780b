"""WGAN-GP training loop as keras.io's "WGAN-GP overriding Model.train_step" writes it.

A ``keras.Model`` subclass whose ``train_step`` runs ``d_steps`` critic
updates on the same real batch (as the keras.io example does), each with a
gradient penalty at a random interpolation, then one generator update. The
networks are keras-gans' (the WGAN-GP family's generator and critic), so a
benchmark against ``kg.models.WGANGP`` compares training loops only.
"""

import keras
import tensorflow as tf


class ReferenceWGANGP(keras.Model):
    """keras.io-style WGAN-GP: ``compile(d_optimizer, g_optimizer)`` then ``fit``.

    Args:
        discriminator: critic ``keras.Model`` images -> scores.
        generator: ``keras.Model`` ``z`` -> images.
        latent_dim: int, size of ``z``.
        discriminator_extra_steps: int, critic updates per generator update.
        gp_weight: float, weight of the gradient penalty.

    Example:
        >>> import keras_gans as kg
        >>> g = kg.networks.dcgan_generator(32, (28, 28, 1), width=8)
        >>> d = kg.networks.dcgan_discriminator((28, 28, 1), width=8, normalization=None)
        >>> wgan = ReferenceWGANGP(d, g, latent_dim=32)
        >>> wgan.compile(keras.optimizers.Adam(1e-4, 0.0, 0.9), keras.optimizers.Adam(1e-4, 0.0, 0.9))
    """

    def __init__(self, discriminator, generator, latent_dim, discriminator_extra_steps=5, gp_weight=10.0):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_steps = discriminator_extra_steps
        self.gp_weight = gp_weight

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def d_loss_fn(self, real_img, fake_img):
        return tf.reduce_mean(fake_img) - tf.reduce_mean(real_img)

    def g_loss_fn(self, fake_img):
        return -tf.reduce_mean(fake_img)

    def gradient_penalty(self, batch_size, real_images, fake_images):
        alpha = tf.random.uniform([batch_size, 1, 1, 1], 0.0, 1.0)
        diff = fake_images - real_images
        interpolated = real_images + alpha * diff
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(interpolated)
            pred = self.discriminator(interpolated, training=True)
        grads = gp_tape.gradient(pred, [interpolated])[0]
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
        return tf.reduce_mean((norm - 1.0) ** 2)

    def train_step(self, real_images):
        if isinstance(real_images, tuple):
            real_images = real_images[0]
        batch_size = tf.shape(real_images)[0]
        for _ in range(self.d_steps):
            random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))
            with tf.GradientTape() as tape:
                fake_images = self.generator(random_latent_vectors, training=True)
                fake_logits = self.discriminator(fake_images, training=True)
                real_logits = self.discriminator(real_images, training=True)
                d_cost = self.d_loss_fn(real_img=real_logits, fake_img=fake_logits)
                gp = self.gradient_penalty(batch_size, real_images, fake_images)
                d_loss = d_cost + gp * self.gp_weight
            d_gradient = tape.gradient(d_loss, self.discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(zip(d_gradient, self.discriminator.trainable_variables))

        random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))
        with tf.GradientTape() as tape:
            generated_images = self.generator(random_latent_vectors, training=True)
            gen_img_logits = self.discriminator(generated_images, training=True)
            g_loss = self.g_loss_fn(gen_img_logits)
        gen_gradient = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(gen_gradient, self.generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}
