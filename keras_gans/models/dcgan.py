"""DCGAN: convolutional GAN with the non-saturating loss."""

import keras

from keras_gans.models.gan import GAN
from keras_gans.networks.dcgan import dcgan_discriminator, dcgan_generator


@keras.saving.register_keras_serializable(package="keras_gans")
class DCGAN(GAN):
    """Deep convolutional GAN (Radford et al., 2016) with default networks.

    Default networks come from ``kg.networks.dcgan_generator`` and
    ``kg.networks.dcgan_discriminator`` for square images of side
    ``s * 2**k`` (28x28x1, 32x32x3, 64x64x3...). ``compile("auto")`` uses
    Adam(2e-4, beta_1=0.5) for both networks and the non-saturating loss.

    Args:
        latent_dim: int, size of ``z``.
        image_shape: tuple ``(height, width, channels)``.
        width: int, base filter count of the default networks.
        generator: optional ``keras.Model`` replacing the default generator.
        discriminator: optional ``keras.Model`` replacing the default discriminator.
        seed: int or None, seed of the training noise.
        precision: dtype policy of the default networks (see ``kg.models.GAN``).
        **kwargs: passed to ``kg.models.GAN``.

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.DCGAN(latent_dim=128, image_shape=(28, 28, 1))
        >>> gan.compile()
        >>> gan.fit(kg.data.load("fashion_mnist", batch_size=128), epochs=1)  # doctest: +SKIP
    """

    family = "dcgan"

    def __init__(self, latent_dim=None, image_shape=None, width=64, **kwargs):
        self.width = int(width)
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, **kwargs)

    def build_generator(self):
        return dcgan_generator(
            self.latent_dim, self.image_shape, width=self.width, dtype=self.network_dtype
        )

    def build_discriminator(self):
        # With spectral norm the discriminator has no batch norm (SN-GAN):
        # batch statistics would rescale what the normalization bounds.
        return dcgan_discriminator(
            self.image_shape,
            width=self.width,
            normalization=None if self.spectral_norm else "batch",
            dtype=self.network_dtype,
            spectral_norm=self.spectral_norm,
        )

    def get_config(self):
        return {**super().get_config(), "width": self.width}
