"""kg.export.verify: runs artifacts in their runtimes and catches artifacts that differ."""

import os

import numpy as np
import pytest

import keras_gans as kg


def test_saved_model_matches_its_model_and_report_fields(tiny_gans, exported):
    report = kg.export.verify(exported["cgan"], tiny_gans["cgan"], n=8, seed=3)
    assert report["passed"] and report["format"] == "saved_model"
    assert report["runtime"].startswith("tensorflow ")
    assert set(report["signatures"]) == {"serving_default", "sample", "sample_labels"}
    assert report["max_abs_diff"] <= 1e-5 and report["n"] == 8
    assert all(r["uint8_consistent"] for r in report["signatures"].values())
    line = kg.export.format_report(report)
    assert line.startswith("verify (tensorflow") and line.endswith(": ok") and "serving_default, sample" in line


def test_another_model_of_the_same_shape_fails(tiny_gans, exported, tmp_path):
    """verify is not vacuous: a DCGAN with other weights differs from the export."""
    other = kg.models.DCGAN(latent_dim=16, width=8)
    report = kg.export.verify(exported["dcgan"], other)
    assert not report["passed"] and report["max_abs_diff"] > 1e-3
    assert kg.export.format_report(report).endswith("FAILED")
    path = kg.export.tflite(tiny_gans["dcgan"], tmp_path / "d.tflite", quantize="float16")
    assert kg.export.verify(path, tiny_gans["dcgan"])["passed"]
    assert not kg.export.verify(path, other)["passed"]


def test_inputs_are_given_or_checked(tiny_gans, exported):
    z = np.random.default_rng(0).standard_normal((3, 16)).astype("float32")
    report = kg.export.verify(exported["dcgan"], tiny_gans["dcgan"], inputs={"z": z})
    assert report["n"] == 3 and report["passed"]
    with pytest.raises(ValueError, match=r"takes inputs \['labels', 'z'\] but the reference generator takes \['z'\]"):
        kg.export.verify(exported["cgan"], tiny_gans["dcgan"])
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3)).astype("uint8")
    assert kg.export.verify(exported["cyclegan"], tiny_gans["cyclegan"], inputs=images)["n"] == 2


def test_bad_artifacts(tiny_gans, exported, tmp_path):
    model_dir = os.path.dirname(exported["dcgan"])
    with pytest.raises(ValueError, match=r"not a SavedModel folder .*pass .*dcgan/1"):
        kg.export.verify(model_dir, tiny_gans["dcgan"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kg.export.verify(tmp_path / "none.tflite", tiny_gans["dcgan"])
    (tmp_path / "x.onnx").write_bytes(b"")
    with pytest.raises(ValueError, match="neither a SavedModel folder nor a .tflite file"):
        kg.export.verify(tmp_path / "x.onnx", tiny_gans["dcgan"])
    with pytest.raises(ValueError, match="n must be a positive int"):
        kg.export.verify(exported["dcgan"], tiny_gans["dcgan"], n=0)


def write_with_sample(gan, path, sample):
    """A SavedModel with the real ``serving_default`` and the given ``sample`` function."""
    import keras

    from keras_gans.export._source import resolve
    from keras_gans.export.saved_model import signature_functions

    source = resolve(gan)
    archive = keras.export.ExportArchive()
    archive.track(source.generator)
    archive.add_endpoint("serving_default", signature_functions(source, sample=False)["serving_default"])
    archive.add_endpoint("sample", sample(source.generator))
    archive.write_out(str(path), verbose=False)
    return str(path)


def test_sample_is_verified_with_and_without_truncation(tiny_gans, tmp_path):
    """verify runs sample at truncation 1.0 and 0.5: a sample that ignores its truncation fails;
    a SavedModel exported before the truncation input existed still verifies (untruncated)."""
    import tensorflow as tf

    from keras_gans.export.saved_model import to_uint8

    gan = tiny_gans["dcgan"]
    size_spec = tf.TensorSpec([], tf.int32, name="batch_size")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")
    truncation_spec = tf.TensorSpec([], tf.float32, name="truncation")

    def draw(batch_size, seed):
        return tf.random.stateless_normal(tf.stack([batch_size, 16]), seed=tf.stack([seed, tf.constant(0, tf.int64)]),
                                          alg="philox")

    def images(generator, z):
        out = generator(z, training=False)
        return {"images": out, "images_uint8": to_uint8(out)}

    def ignoring(generator):
        return tf.function(lambda batch_size, seed, truncation: images(generator, draw(batch_size, seed)),
                           input_signature=[size_spec, seed_spec, truncation_spec])

    def legacy(generator):
        return tf.function(lambda batch_size, seed: images(generator, draw(batch_size, seed)),
                           input_signature=[size_spec, seed_spec])

    report = kg.export.verify(write_with_sample(gan, tmp_path / "ignoring", ignoring), gan)
    assert not report["passed"] and report["signatures"]["sample"]["max_abs_diff"] > 1e-3
    assert report["signatures"]["serving_default"]["max_abs_diff"] <= 1e-5
    report = kg.export.verify(write_with_sample(gan, tmp_path / "legacy", legacy), gan)
    assert report["passed"] and set(report["signatures"]) == {"serving_default", "sample"}
    # The real export passes at both truncations.
    assert kg.export.verify(kg.export.saved_model(gan, tmp_path / "serving"), gan)["passed"]
