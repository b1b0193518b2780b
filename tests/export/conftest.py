"""Tiny untrained GANs of every family, shared by the export tests (module-built once)."""

import pytest


@pytest.fixture(scope="session")
def tiny_gans():
    """``{family: GAN}`` with tiny widths; weights are random but fixed per session."""
    import keras_gans as kg

    return {
        "dcgan": kg.models.DCGAN(latent_dim=16, width=8, seed=1),
        "cgan": kg.models.ConditionalGAN(latent_dim=16, width=8, num_classes=10, embedding_dim=4, seed=1),
        "wgan_gp": kg.models.WGANGP(latent_dim=16, width=8, seed=1),
        "cyclegan": kg.models.CycleGAN(image_shape=(16, 16, 3), width=8, n_blocks=1, seed=1),
    }


@pytest.fixture(scope="session")
def exported(tiny_gans, tmp_path_factory):
    """``{family: SavedModel version folder}`` of ``tiny_gans``, under one serving base."""
    import keras_gans as kg

    base = tmp_path_factory.mktemp("serving")
    return {family: kg.export.saved_model(gan, base) for family, gan in tiny_gans.items()}


@pytest.fixture(scope="session")
def zoo_generator():
    """The trained zoo generator dcgan.fashion_mnist (from the checkout's zoo/weights)."""
    import keras_gans as kg

    return kg.zoo.load_generator("dcgan.fashion_mnist")
