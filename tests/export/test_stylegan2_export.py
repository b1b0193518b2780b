"""StyleGAN2 exports: truncation in w space, the mapping / synthesis signatures, TFLite and verify."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert import schema_py_generated as _schema
from ai_edge_litert.interpreter import Interpreter

import keras_gans as kg
from keras_gans.export._source import resolve
from keras_gans.export.saved_model import signature_functions
from keras_gans.export.tflite import export_tflite
from keras_gans.models.stylegan2 import WSpaceSampling

BUILTINS = {name for name in vars(_schema.BuiltinOperator) if not name.startswith("_")} - {"CUSTOM"}


def seeded(seed, truncation):
    return {"seed": tf.constant(seed, tf.int64), "truncation": tf.constant(truncation, tf.float32)}


def to_uint8(images):
    return np.round(np.clip(images, -1, 1) * 127.5 + 127.5).astype(np.uint8)


def spec(signature):
    inputs = {k: (v.dtype.name, tuple(v.shape)) for k, v in signature.structured_input_signature[1].items()}
    outputs = {k: (v.dtype.name, tuple(v.shape)) for k, v in signature.structured_outputs.items()}
    return inputs, outputs


@pytest.fixture(scope="module")
def gan(tiny_gans):
    return tiny_gans["stylegan2"]


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(exported["stylegan2"])


# ---------------------------------------------------------------- signatures
def test_signatures_and_their_shapes(gan, loaded):
    assert set(loaded.signatures) == {"serving_default", "sample", "mapping", "synthesis"}
    images = {"images": ("float32", (None, 28, 28, 1)), "images_uint8": ("uint8", (None, 28, 28, 1))}
    assert spec(loaded.signatures["serving_default"]) == ({"z": ("float32", (None, 16))}, images)
    assert spec(loaded.signatures["sample"]) == (
        {"batch_size": ("int32", ()), "seed": ("int64", ()), "truncation": ("float32", ())}, images)
    assert gan.num_ws == 8
    assert spec(loaded.signatures["mapping"]) == (
        {"z": ("float32", (None, 16)), "truncation": ("float32", ())}, {"ws": ("float32", (None, 8, 16))})
    assert spec(loaded.signatures["synthesis"]) == ({"ws": ("float32", (None, 8, 16))}, images)


def test_serving_default_is_gan_z(gan, loaded):
    for batch in (1, 5):  # dynamic batch
        z = kg.sampling.latents(batch, 16, seed=batch)
        out = loaded.signatures["serving_default"](z=tf.constant(z))
        np.testing.assert_allclose(out["images"].numpy(), gan.generate(batch, seed=batch), atol=1e-5)


@pytest.mark.parametrize("truncation", [1.0, 0.5, 0.0])
def test_sample_is_generate_with_w_space_truncation(gan, loaded, truncation):
    out = loaded.signatures["sample"](batch_size=tf.constant(5), **seeded(7, truncation))
    expected = gan.generate(5, seed=7, truncation=truncation)
    np.testing.assert_allclose(out["images"].numpy(), expected, atol=1e-5)
    assert np.abs(out["images_uint8"].numpy().astype(int) - to_uint8(expected).astype(int)).max() <= 1
    if truncation == 1.0:
        np.testing.assert_allclose(out["images"].numpy(), gan.generate(5, seed=7), atol=1e-5)
    elif truncation == 0.0:
        # Every w is the mean w: one image, whatever the latent.
        np.testing.assert_allclose(out["images"].numpy(), np.repeat(expected[:1], 5, axis=0), atol=1e-5)
    if truncation < 1.0:
        z = kg.sampling.latents(5, 16, seed=7)
        # Not psi * z (z-space truncation), and the EMA generator's w_avg, not the trained one's.
        z_space = keras.ops.convert_to_numpy(gan(z * np.float32(truncation)))
        assert np.abs(out["images"].numpy() - z_space).max() > 1e-2
        other_mean = gan.generate(5, seed=7, truncation=truncation, use_ema=False)
        assert np.abs(out["images"].numpy() - other_mean).max() > 1e-2


def test_mapping_is_w_from_latents_and_synthesis_mixes_styles_like_style_mix(gan, loaded):
    z = kg.sampling.latents(4, 16, seed=2)
    for truncation in (1.0, 0.5):
        ws = loaded.signatures["mapping"](z=tf.constant(z), truncation=tf.constant(truncation))["ws"].numpy()
        expected = gan.w_from_latents(z, truncation=truncation)
        np.testing.assert_allclose(ws, np.repeat(expected[:, None, :], 8, axis=1), atol=1e-5)
    # One w for every style input: the image of serving_default.
    ws = loaded.signatures["mapping"](z=tf.constant(z), truncation=tf.constant(1.0))["ws"]
    np.testing.assert_allclose(
        loaded.signatures["synthesis"](ws=ws)["images"].numpy(), gan.generate_from_latents(z), atol=1e-5
    )
    # A client's style mix: coarse styles of seeds a, fine ones of seeds b.
    seeds_a, seeds_b, cutoff, psi = [0, 1], [2, 3], 3, 0.7
    mapping = loaded.signatures["mapping"]
    ws_a = np.concatenate([mapping(z=tf.constant(kg.sampling.latents(1, 16, s)), truncation=tf.constant(psi))["ws"]
                           for s in seeds_a])
    ws_b = np.concatenate([mapping(z=tf.constant(kg.sampling.latents(1, 16, s)), truncation=tf.constant(psi))["ws"]
                           for s in seeds_b])
    mixed = np.where((np.arange(8) < cutoff)[None, :, None], ws_a, ws_b)
    out = loaded.signatures["synthesis"](ws=tf.constant(mixed))
    expected = gan.style_mix(seeds_a, seeds_b, cutoff, truncation=psi)
    np.testing.assert_allclose(out["images"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(out["images"].numpy(), gan.generate_from_ws(mixed), atol=1e-5)
    assert np.abs(out["images"].numpy() - gan.style_mix(seeds_a, seeds_b, 0, truncation=psi)).max() > 1e-3


@pytest.mark.parametrize("truncation", [1.5, -0.5, float("nan")])
def test_truncation_outside_zero_one_is_refused_in_the_graph(loaded, truncation):
    message = re.escape(WSpaceSampling.truncation_message)
    assert "[0, 1]" in WSpaceSampling.truncation_message
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["sample"](batch_size=tf.constant(2), **seeded(0, truncation))
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["mapping"](z=tf.constant(kg.sampling.latents(2, 16, 0)), truncation=tf.constant(truncation))
    with pytest.raises(tf.errors.InvalidArgumentError, match="batch_size must be >= 1"):
        loaded.signatures["sample"](batch_size=tf.constant(0), **seeded(0, 1.0))


def test_the_hook_and_a_bare_generator(gan, tiny_gans):
    """The GAN says how it samples; a bare generator with the layout is recognized; others are z space."""
    assert isinstance(resolve(gan).sampling, WSpaceSampling)
    assert resolve(gan).sampling.generator is gan.ema_generator
    for family in ("dcgan", "cgan", "wgan_gp", "cyclegan"):
        assert resolve(tiny_gans[family]).sampling is None
    assert resolve(tiny_gans["dcgan"].generator).sampling is None
    bare = resolve(gan.ema_generator)
    assert isinstance(bare.sampling, WSpaceSampling)
    functions = signature_functions(bare)
    assert set(functions) == {"serving_default", "sample", "mapping", "synthesis"}
    out = functions["sample"](tf.constant(3), tf.constant(4, tf.int64), tf.constant(0.5))
    np.testing.assert_allclose(out["images"].numpy(), gan.generate(3, seed=4, truncation=0.5), atol=1e-5)


# ---------------------------------------------------------------- verify
def test_verify_checks_every_signature_against_the_model(gan, exported):
    report = kg.export.verify(exported["stylegan2"], gan, n=6, seed=3)
    assert report["passed"], kg.export.format_report(report)
    assert set(report["signatures"]) == {"serving_default", "sample", "mapping", "synthesis"}
    assert report["max_abs_diff"] <= 1e-5
    assert "sample, mapping, synthesis" in kg.export.format_report(report)


def test_verify_tells_w_space_truncation_from_z_space(gan, exported):
    """Checked against a reference that truncates z (psi * z), the export's sample fails at psi 0.5."""
    z_space = resolve(gan)
    z_space.sampling = None
    report = kg.export.verify(exported["stylegan2"], z_space, n=4)
    assert not report["passed"] and report["signatures"]["sample"]["max_abs_diff"] > 1e-2
    assert report["signatures"]["serving_default"]["max_abs_diff"] <= 1e-5


# ---------------------------------------------------------------- TFLite
def test_tflite_is_builtin_only_and_matches_keras(gan, tmp_path):
    path, report = export_tflite(gan, str(tmp_path / "stylegan2.tflite"), verify=True)
    assert report["passed"] and report["max_abs_diff"] <= 1e-4
    info = kg.export.describe(path)
    assert info["custom_operators"] == [] and set(info["operators"]) <= BUILTINS
    assert info["signatures"] == {"serving_default": {"inputs": ["z"], "outputs": ["images", "images_uint8"]}}
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    z = kg.sampling.latents(5, 16, seed=3)
    out = runner(z=z)
    np.testing.assert_allclose(out["images"], gan.generate(5, seed=3), atol=1e-4)
    assert np.abs(out["images_uint8"].astype(int) - to_uint8(gan.generate(5, seed=3)).astype(int)).max() <= 1


@pytest.mark.slow
def test_mixed_bfloat16_tflite_is_float32_all_the_way_down(tmp_path):
    """A bfloat16 synthesis network (nested in the generator) converts as a float32 copy."""
    gan = kg.models.StyleGAN2(latent_dim=16, w_dim=16, mapping_layers=2, width=8, max_width=16, seed=1,
                              precision="mixed_bfloat16")
    synthesis = gan.ema_generator.get_layer("synthesis")
    assert any(layer.compute_dtype == "bfloat16" for layer in synthesis.layers)
    copy = resolve(gan).as_float32()
    assert all(layer.compute_dtype == "float32" for layer in copy.generator.get_layer("synthesis").layers)
    assert isinstance(copy.sampling, WSpaceSampling) and copy.sampling.generator is copy.generator
    path = kg.export.tflite(gan, str(tmp_path / "bf16.tflite"))
    assert kg.export.describe(path)["quantize"] == "none"
    z = kg.sampling.latents(4, 16, seed=0)
    out = Interpreter(model_path=path).get_signature_runner("serving_default")(z=z)["images"]
    # float32 math in the file equals the float32 copy; bfloat16 Keras is close, not equal.
    np.testing.assert_allclose(out, copy.run_keras({"z": z}), atol=1e-4)
    assert np.abs(out - gan.generate(4, seed=0)).max() < 0.2
    # The model itself is unchanged.
    assert any(layer.compute_dtype == "bfloat16" for layer in synthesis.layers)
