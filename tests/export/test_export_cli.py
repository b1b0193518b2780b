"""`keras-gans export`: writes, prints path/size/verify, and refuses bad input in one line."""

import os

import pytest

from keras_gans import cli


def test_export_saved_model_from_keras_file(tiny_gans, tmp_path, capsys):
    tiny_gans["cgan"].save(tmp_path / "cgan.keras")
    code = cli.main(["export", str(tmp_path / "cgan.keras"), "--format", "saved_model", "--out", str(tmp_path / "s")])
    out = capsys.readouterr().out
    assert code == 0
    path = os.path.join(tmp_path, "s", "cgan", "1")
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
    assert f"wrote {path} (saved_model, " in out and f"{size} bytes)" in out
    assert "signature serving_default(labels int32[None], z float32[None, 16])" in out
    assert "signature sample(batch_size int32[], seed int64[], truncation float32[]) -> images float32" in out
    assert "signature sample_labels(labels int32[None], seed int64[], truncation float32[]) -> images float32" in out
    assert out.strip().splitlines()[-1].endswith(": ok") and "verify (tensorflow" in out


def test_export_tflite_int8_from_zoo(tmp_path, capsys):
    code = cli.main(["export", "dcgan.fashion_mnist", "--format", "tflite", "--quantize", "int8", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    path = os.path.join(tmp_path, "dcgan.fashion_mnist-int8.tflite")
    assert f"wrote {path} (tflite, " in out and f"{os.path.getsize(path)} bytes)" in out
    assert "signature serving_default(z float32[-1, 64])" in out
    # Verified on 64 latents of seed 1 (the calibration drew seed 0's).
    assert "int8 64 inputs" in out and out.strip().endswith(": ok")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--format", "onnx"], "unknown --format 'onnx': use one of saved_model, tflite"),
        (["--format", "tflite", "--quantize", "int4"], "unknown --quantize 'int4'"),
        (["--format", "saved_model", "--quantize", "int8"], "--quantize applies to --format tflite only"),
        (["--format", "tflite", "--version", "2"], "--version applies to --format saved_model only"),
        (["--format", "saved_model", "--name", "a/b"], "invalid model name"),
    ],
)
def test_bad_flags_exit_2_in_one_line(tmp_path, capsys, argv, message):
    code = cli.main(["export", "dcgan.fashion_mnist", *argv, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0] and err[0].startswith("keras-gans export: error:")
    assert not (tmp_path / "o").exists()


def test_bad_models_and_existing_version(tiny_gans, tmp_path, capsys):
    for model, message in [
        (str(tmp_path / "missing.keras"), "missing.keras does not exist"),
        ("dcgan.cifar10", "has no pretrained weights"),
    ]:
        assert cli.main(["export", model, "--format", "saved_model", "--out", str(tmp_path / "o")]) == 2
        assert message in capsys.readouterr().err
    tiny_gans["dcgan"].save(tmp_path / "d.keras")
    argv = ["export", str(tmp_path / "d.keras"), "--format", "saved_model", "--version", "1", "--out", str(tmp_path / "o"),
            "--no-verify"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    assert cli.main(argv) == 2
    assert "dcgan/1 already exists" in capsys.readouterr().err
    assert os.listdir(tmp_path / "o" / "dcgan") == ["1"]


def test_export_cyclegan_int8_on_real_sneakers_and_refusals(tmp_path, capsys, monkeypatch):
    import numpy as np

    from keras_gans import export
    from tests.export.test_tflite import fashion_mnist_test

    sneakers = fashion_mnist_test(7)[:40]
    np.save(tmp_path / "sneakers.npy", sneakers)
    np.save(tmp_path / "pixels.npy", (sneakers + 1.0) * 127.5)
    base = ["export", "cyclegan.sneaker2boot", "--format", "tflite", "--quantize", "int8", "--out", str(tmp_path / "o")]
    assert cli.main([*base, "--calibration", str(tmp_path / "pixels.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must lie in [-1, 1], got values in [0, 255]" in err[0]
    assert cli.main([*base, "--calibration", str(tmp_path / "sneakers.npy")]) == 0
    out = capsys.readouterr().out
    assert "int8 8 inputs" in out and out.strip().endswith(": ok")  # every fifth sneaker held out
    # A file that fails verification is not put at its path.
    monkeypatch.setitem(export.THRESHOLDS, "int8", 1e-9)
    assert cli.main([*base, "--calibration", str(tmp_path / "sneakers.npy"), "--name", "strict"]) == 1
    captured = capsys.readouterr()
    assert captured.out.strip().endswith(": FAILED") and "strict-int8.failed.tflite" in captured.err
    assert sorted(os.listdir(tmp_path / "o")) == ["cyclegan.sneaker2boot-int8.tflite", "strict-int8.failed.tflite"]
