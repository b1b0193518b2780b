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
