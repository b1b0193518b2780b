"""CycleGAN networks: shapes, parameter counts of the documented settings, padding, errors."""

import numpy as np
import pytest

from keras_gans.networks import (
    InstanceNormalization,
    ReflectionPadding2D,
    cyclegan_discriminator,
    cyclegan_generator,
)


@pytest.mark.parametrize(
    "image_shape, width, n_blocks, n_layers, generator_params, discriminator_params",
    [
        ((28, 28, 1), 32, 6, 3, 1_956_929, 692_769),  # the defaults
        ((32, 32, 1), 32, 6, 3, 1_956_929, 692_769),
        ((28, 28, 1), 8, 2, 2, 49_169, 10_889),
        ((256, 256, 3), 64, 9, 3, 11_372_931, 2_763_841),  # the paper's setting
    ],
)
def test_parameter_counts_match_the_docstring(
    image_shape, width, n_blocks, n_layers, generator_params, discriminator_params
):
    g = cyclegan_generator(image_shape, width=width, n_blocks=n_blocks)
    d = cyclegan_discriminator(image_shape, width=width, n_layers=n_layers)
    assert g.count_params() == generator_params
    assert d.count_params() == discriminator_params
    assert g.output_shape == (None, *image_shape)


def test_discriminator_scores_a_map_of_patches():
    assert cyclegan_discriminator((256, 256, 3), width=4).output_shape == (None, 32, 32, 1)
    assert cyclegan_discriminator((28, 28, 1), width=4, n_layers=2).output_shape == (None, 7, 7, 1)
    assert cyclegan_discriminator((28, 28, 1), width=4, n_layers=1).output_shape == (None, 14, 14, 1)


def test_generator_pads_by_reflection_and_normalizes_per_image():
    g = cyclegan_generator((16, 16, 1), width=4, n_blocks=3)
    pads = [layer for layer in g.layers if isinstance(layer, ReflectionPadding2D)]
    assert len(pads) == 2 + 2 * 3  # stem, head, two per residual block
    norms = [layer for layer in g.layers if isinstance(layer, InstanceNormalization)]
    assert len(norms) == 1 + 2 + 2 * 3 + 2  # stem, downs, blocks, ups
    x = np.random.default_rng(0).uniform(-1, 1, (3, 16, 16, 1)).astype("float32")
    together = g(x).numpy()
    assert np.abs(together).max() <= 1.0
    # Instance normalization never mixes the examples of a batch.
    alone = np.concatenate([g(x[i : i + 1]).numpy() for i in range(3)])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


def test_mixed_precision_networks_return_float32():
    g = cyclegan_generator((8, 8, 1), width=4, n_blocks=1, n_downsamplings=1, dtype="mixed_bfloat16")
    d = cyclegan_discriminator((8, 8, 1), width=4, n_layers=1, dtype="mixed_bfloat16")
    x = np.zeros((2, 8, 8, 1), "float32")
    assert g(x).dtype.name == "float32" and d(x).dtype.name == "float32"
    assert g.get_layer("stem_conv").compute_dtype == "bfloat16"


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: cyclegan_generator((30, 30, 1)), "not divisible by 2\\*\\*n_downsamplings = 4"),
        (lambda: cyclegan_generator((28, 28)), "image_shape must be"),
        (lambda: cyclegan_generator(width=0), "width must be an int >= 1"),
        (lambda: cyclegan_generator(n_blocks=-1), "n_blocks must be an int >= 0"),
        (lambda: cyclegan_discriminator(n_layers=0), "n_layers must be an int >= 1"),
    ],
)
def test_bad_arguments_raise_one_clear_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()
