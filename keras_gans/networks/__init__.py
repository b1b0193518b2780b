"""Generator and discriminator builders (functional Keras models)."""

# Keras first, before any builder module: importing Keras loads the model
# classes (keras_gans/_lazy.py), which import these builders; with Keras
# imported here, they find no half-initialized builder module.
import keras  # noqa: F401

from keras_gans.networks.biggan import biggan_discriminator, biggan_generator
from keras_gans.networks.cgan import cgan_discriminator, cgan_generator
from keras_gans.networks.cyclegan import cyclegan_discriminator, cyclegan_generator
from keras_gans.networks.dcgan import dcgan_discriminator, dcgan_generator, upsampling_plan
from keras_gans.networks.pix2pix import pix2pix_discriminator, pix2pix_generator
from keras_gans.networks.layers import BatchNormalization, InstanceNormalization, ReflectionPadding2D
from keras_gans.networks.spectral_norm import SpectralConv2D, SpectralDense
from keras_gans.networks.vaegan import vaegan_discriminator, vaegan_encoder

__all__ = [
    "cgan_generator",
    "cgan_discriminator",
    "dcgan_generator",
    "dcgan_discriminator",
    "upsampling_plan",
    "cyclegan_generator",
    "cyclegan_discriminator",
    "pix2pix_generator", "pix2pix_discriminator",
    "biggan_generator", "biggan_discriminator",
    "ReflectionPadding2D",
    "InstanceNormalization",
    "BatchNormalization",
    "SpectralConv2D",
    "SpectralDense",
]
