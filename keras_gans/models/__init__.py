"""GAN families: each a thin subclass of `GAN` with default networks."""

from keras_gans.models.gan import GAN
from keras_gans.models.dcgan import DCGAN

__all__ = ["GAN", "DCGAN"]
