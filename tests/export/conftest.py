"""Tiny untrained GANs of every family, shared by the export tests (module-built once)."""

import pytest


def tiny_stylegan2():
    """A tiny 28x28x1 StyleGAN2 whose mean ``w`` is away from 0 and differs between its two generators.

    The EMA generator (the one that samples and exports) gets another
    ``w_avg`` than the trained generator, so a truncated sample made with the
    wrong one is told apart.
    """
    import numpy as np

    import keras_gans as kg

    gan = kg.models.StyleGAN2(latent_dim=16, w_dim=16, mapping_layers=2, width=8, max_width=16, seed=1)
    rng = np.random.default_rng(0)
    for generator in (gan.generator, gan.ema_generator):
        layer = generator.get_layer("mapping").get_layer("mean_w")
        layer.w_avg.assign(rng.normal(size=16).astype("float32"))
    return gan


@pytest.fixture(scope="session")
def tiny_gans():
    """``{family: GAN}`` with tiny widths; weights are random but fixed per session."""
    import keras_gans as kg

    return {
        "dcgan": kg.models.DCGAN(latent_dim=16, width=8, seed=1),
        "cgan": kg.models.ConditionalGAN(latent_dim=16, width=8, num_classes=10, embedding_dim=4, seed=1),
        "wgan_gp": kg.models.WGANGP(latent_dim=16, width=8, seed=1),
        "cyclegan": kg.models.CycleGAN(image_shape=(16, 16, 3), width=8, n_blocks=1, seed=1),
        "stylegan2": tiny_stylegan2(),
    }


class _Exports(dict):
    """``{family: SavedModel version folder}``, each exported the first time it is asked for."""

    def __init__(self, gans, base):
        super().__init__()
        self.gans, self.base = gans, base

    def __missing__(self, family):
        import keras_gans as kg

        self[family] = kg.export.saved_model(self.gans[family], self.base)
        return self[family]


@pytest.fixture(scope="session")
def exported(tiny_gans, tmp_path_factory):
    """``{family: SavedModel version folder}`` of ``tiny_gans``, under one serving base.

    A family is exported when a test first reads it, so a file pays only for
    the families it uses.
    """
    return _Exports(tiny_gans, tmp_path_factory.mktemp("serving"))


@pytest.fixture(scope="session")
def zoo_generator():
    """The trained zoo generator dcgan.fashion_mnist (from the checkout's zoo/weights)."""
    import keras_gans as kg

    return kg.zoo.load_generator("dcgan.fashion_mnist")
