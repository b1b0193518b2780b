"""Generator and discriminator builders (functional Keras models)."""

from keras_gans.networks.cgan import cgan_discriminator, cgan_generator
from keras_gans.networks.dcgan import dcgan_discriminator, dcgan_generator, upsampling_plan

__all__ = [
    "cgan_generator",
    "cgan_discriminator",
    "dcgan_generator",
    "dcgan_discriminator",
    "upsampling_plan",
]
