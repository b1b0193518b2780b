"""Truncation and latent interpolation over any family (``kg.sampling``, ``gan.generate``)."""

import numpy as np
import pytest
from PIL import Image

import keras_gans as kg
from keras_gans.cli import main


@pytest.fixture(scope="module")
def gan():
    return kg.models.DCGAN(latent_dim=16, width=8, seed=0)


def test_truncation_scales_the_latents_toward_the_mean(gan):
    z = gan.sample_latent(4, seed=5)
    np.testing.assert_array_equal(gan.generate(4, seed=5, truncation=0.5), gan.generate_from_latents(0.5 * z))
    np.testing.assert_array_equal(gan.generate(4, seed=5, truncation=1.0), gan.generate(4, seed=5))
    close = gan.generate(4, seed=5, truncation=0.05)
    mean_image = gan.generate_from_latents(np.zeros((1, 16), "float32"))
    assert np.abs(close - mean_image).max() < np.abs(gan.generate(4, seed=5) - mean_image).max()


@pytest.mark.parametrize("psi", [0, 0.0, -0.5, 1.5, True, "0.7"])
def test_truncation_outside_zero_one_raises_before_sampling(gan, psi, monkeypatch):
    monkeypatch.setattr(gan, "sample_latent", lambda *a, **k: pytest.fail("sampled before checking"))
    with pytest.raises(ValueError, match=r"truncation must be None or a number psi in \(0, 1\]"):
        gan.generate(2, seed=0, truncation=psi)
    with pytest.raises(ValueError, match="truncation must be"):
        kg.sampling.interpolate(gan, 0, 1, 4, truncation=psi)


def test_conditional_generate_takes_truncation():
    cgan = kg.models.ConditionalGAN(latent_dim=16, width=8)
    z = cgan.sample_latent(3, seed=2)
    np.testing.assert_array_equal(
        cgan.generate(3, labels=[0, 1, 2], seed=2, truncation=0.7),
        cgan.generate_from_latents(np.float32(0.7) * z, labels=[0, 1, 2]),
    )


@pytest.mark.parametrize("method", ["slerp", "linear"])
def test_interpolation_runs_from_one_seed_to_the_other(gan, method):
    images = kg.sampling.interpolate(gan, seed_a=3, seed_b=9, steps=6, method=method)
    assert images.shape == (6, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images[0], gan.generate(1, seed=3)[0], atol=1e-5)
    np.testing.assert_allclose(images[-1], gan.generate(1, seed=9)[0], atol=1e-5)
    assert not np.allclose(images[2], images[3])


def test_slerp_keeps_typical_norms_and_linear_is_the_straight_line():
    z_a = kg.sampling.latents(1, 128, 0)[0]
    z_b = kg.sampling.latents(1, 128, 1)[0]
    slerp = kg.sampling.latent_path(z_a, z_b, 5)
    linear = kg.sampling.latent_path(z_a, z_b, 5, method="linear")
    expected = np.linspace(np.linalg.norm(z_a), np.linalg.norm(z_b), 5)
    np.testing.assert_allclose(np.linalg.norm(slerp, axis=1), expected, rtol=1e-5)
    np.testing.assert_allclose(linear[2], (z_a + z_b) / 2, rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(linear[2]) < 0.8 * expected[2]  # the straight line cuts toward 0
    # slerp's middle is on the great circle: equal angles to both ends
    cos = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)  # noqa: E731
    np.testing.assert_allclose(cos(slerp[2], z_a), cos(slerp[2], z_b), rtol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 1}, "steps must be an int >= 2"),
    ({"steps": 4, "method": "cubic"}, "method must be one of"),
])
def test_bad_interpolation_arguments_raise(gan, kwargs, message):
    with pytest.raises(ValueError, match=message):
        kg.sampling.interpolate(gan, 0, 1, **kwargs)


def test_interpolating_a_cyclegan_points_to_translate():
    cyclegan = kg.models.CycleGAN(image_shape=(28, 28, 1), width=8, n_blocks=1, discriminator_layers=2)
    with pytest.raises(ValueError, match="no latent space.*translate"):
        kg.sampling.interpolate(cyclegan, 0, 1, 4)


def test_interpolation_uses_the_ema_generator_unless_told_not_to():
    ema = kg.models.DCGAN(latent_dim=16, width=8, ema_decay=0.5)
    ema.ema_generator.get_layer("up1").kernel.assign(ema.generator.get_layer("up1").kernel * 0.5)
    with_ema = kg.sampling.interpolate(ema, 0, 1, 3)
    without = kg.sampling.interpolate(ema, 0, 1, 3, use_ema=False)
    np.testing.assert_allclose(without[0], ema.generate(1, seed=0, use_ema=False)[0], atol=1e-5)
    np.testing.assert_allclose(with_ema[0], ema.generate(1, seed=0)[0], atol=1e-5)
    assert not np.allclose(with_ema, without)


def test_cli_sample_interpolate_writes_the_strip_and_a_gif(tmp_path, gan, capsys):
    path = str(tmp_path / "dcgan.keras")
    gan.compile()
    gan.save(path)
    out = tmp_path / "path.png"
    assert main(["sample", path, "--interpolate", "5", "--seed", "3", "--gif", "--out", str(out)]) == 0
    strip = np.asarray(Image.open(out))
    assert strip.shape[0] < strip.shape[1]  # one row of 5 images
    gif = Image.open(tmp_path / "path.gif")
    assert gif.n_frames == 5
    assert "5 images from seed 3 to 4" in capsys.readouterr().out


def test_cli_gif_without_interpolate_exits_2(tmp_path, capsys):
    code = main(["sample", "missing.keras", "--gif", "--out", str(tmp_path / "x.png")])
    assert code == 2
    assert "--gif goes with --interpolate" in capsys.readouterr().err


# ---------------------------------------------------------------- truncation strips and style mixing
def test_a_truncation_strip_holds_each_seed_at_each_psi(gan):
    images, psis = kg.sampling.truncation_strip(gan, [2, 5], steps=4)
    assert psis.tolist() == [1.0, 0.75, 0.5, 0.25]  # z-space: psi in (0, 1]
    assert images.shape == (8, 28, 28, 1)
    for row, seed in enumerate([2, 5]):
        for col, psi in enumerate(psis):
            np.testing.assert_allclose(images[row * 4 + col], gan.generate(1, seed=seed, truncation=psi)[0],
                                       atol=1e-5)
    with pytest.raises(ValueError, match="steps must be an int >= 2"):
        kg.sampling.truncation_strip(gan, [0], steps=1)
    with pytest.raises(ValueError, match="seeds must be an int or a non-empty list of ints"):
        kg.sampling.truncation_strip(gan, [], steps=3)


@pytest.fixture(scope="module")
def stylegan():
    return kg.models.StyleGAN2(latent_dim=8, w_dim=8, seed=0)


def test_a_w_space_strip_ends_at_the_mean_w_image_and_the_mixing_grid_has_its_parents(stylegan):
    images, psis = kg.sampling.truncation_strip(stylegan, [0, 1], steps=3)
    assert psis.tolist() == [1.0, 0.5, 0.0]
    np.testing.assert_allclose(images[2], images[5], atol=1e-5)  # psi 0: every seed is the mean-w image
    assert not np.allclose(images[0], images[3])
    grid = kg.sampling.style_mix_grid(stylegan, [0, 1], [2, 3, 4], cutoff=2)
    assert grid.shape == (12, 28, 28, 1)  # (2 + 1) rows of (3 + 1)
    assert (grid[0] == -1).all()  # the blank corner
    top = np.concatenate([stylegan.generate(1, seed=s) for s in (2, 3, 4)])
    np.testing.assert_allclose(grid[1:4], top, atol=1e-5)  # the column seeds across the top
    np.testing.assert_allclose(grid[8], stylegan.generate(1, seed=1)[0], atol=1e-5)
    np.testing.assert_allclose(grid[1 * 4 + 2], stylegan.style_mix([0], [3], 2)[0], atol=1e-5)
    with pytest.raises(ValueError, match="no styles to mix"):
        kg.sampling.style_mix_grid(kg.models.DCGAN(latent_dim=8, width=8), [0], [1], 1)


def test_cli_sample_writes_truncation_strips_and_style_mixing_grids(tmp_path, gan, stylegan, capsys):
    paths = {}
    for name, model in (("dcgan", gan), ("stylegan2", stylegan)):
        model.compile()
        paths[name] = str(tmp_path / f"{name}.keras")
        model.save(paths[name])
    out = tmp_path / "strip.png"
    assert main(["sample", paths["dcgan"], "--truncation-strip", "4", "--n", "8", "--out", str(out)]) == 0
    assert np.asarray(Image.open(out)).shape[:2] == (2 * 28, 4 * 28)  # 8 // 4 seeds, 4 psis each
    assert "psi 1.00, 0.75, 0.50, 0.25" in capsys.readouterr().out
    assert main(["sample", paths["stylegan2"], "--style-mix", "2", "--n", "9", "--out", str(out)]) == 0
    assert np.asarray(Image.open(out)).shape[:2] == (3 * 28, 3 * 28)  # K = 2: 2 + 1 rows and columns
    assert "seeds 0..1 down the side" in capsys.readouterr().out
    out = tmp_path / "grid.png"
    assert main(["sample", paths["dcgan"], "--truncation", "0.5", "--n", "4", "--out", str(out)]) == 0
    grid = np.asarray(Image.open(out))[..., 0]
    expected = np.clip((gan.generate(4, seed=0, truncation=0.5)[..., 0] + 1) * 127.5, 0, 255).round()
    np.testing.assert_allclose(grid[:28, :28], expected[0], atol=1)


@pytest.mark.parametrize("argv, message", [
    (["--truncation-strip", "3", "--interpolate", "4"], "each write their own picture"),
    (["--truncation-strip", "3", "--truncation", "0.5"], "drop --truncation"),
    (["--truncation-strip", "1"], "STEPS >= 2"),
    (["--truncation", "1.5"], "--truncation must be a psi"),
    (["--truncation", "0"], "a dcgan takes psi in (0, 1]"),
    (["--style-mix", "2"], "--style-mix needs a StyleGAN2"),
])
def test_cli_bad_picture_flags_exit_2_in_one_line(tmp_path, gan, capsys, argv, message):
    path = str(tmp_path / "dcgan.keras")
    gan.compile()
    gan.save(path)
    out = tmp_path / "x.png"
    assert main(["sample", path, *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0, err
    assert not out.exists()
