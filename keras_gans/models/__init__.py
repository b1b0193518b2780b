"""GAN families: each a thin subclass of `GAN` with default networks."""

from keras_gans.models.gan import GAN
from keras_gans.models.dcgan import DCGAN
from keras_gans.models.cgan import ConditionalGAN
from keras_gans.models.wgan_gp import WGANGP
from keras_gans.models.cyclegan import CycleGAN
from keras_gans.models.progan import ProGAN
from keras_gans.models.stylegan2 import StyleGAN2
from keras_gans.models.pix2pix import Pix2Pix
from keras_gans.models.vaegan import VAEGAN
from keras_gans.models.biggan import BigGAN
from keras_gans.models.linear_decay import LinearDecay

#: Family name (as used by the CLI and zoo names) -> class.
FAMILIES = {"dcgan": DCGAN, "cgan": ConditionalGAN, "wgan_gp": WGANGP, "cyclegan": CycleGAN,
            "progan": ProGAN, "stylegan2": StyleGAN2, "pix2pix": Pix2Pix, "vaegan": VAEGAN,
            "biggan": BigGAN}


def get_family(name):
    """Return the GAN class of family ``name`` (``"dcgan"``, ``"cgan"``, ...).

    Example:
        >>> get_family("dcgan").__name__
        'DCGAN'
    """
    if name not in FAMILIES:
        raise ValueError(f"unknown GAN family {name!r}: use one of {sorted(FAMILIES)}.")
    return FAMILIES[name]


__all__ = ["GAN", "DCGAN", "ConditionalGAN", "WGANGP", "CycleGAN", "ProGAN", "StyleGAN2", "Pix2Pix", "VAEGAN", "BigGAN", "LinearDecay", "FAMILIES", "get_family"]
