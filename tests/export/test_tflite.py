"""kg.export.tflite: builtin ops only, signatures named as the SavedModel's, quantization modes."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

# In the test extras: without ai_edge_litert these tests fail, they do not skip.
from ai_edge_litert import schema_py_generated as _schema
from ai_edge_litert.interpreter import Interpreter

import keras_gans as kg
from keras_gans.export import describe
from keras_gans.export.verify import _to_uint8

#: Every operator the TFLite builtin op set defines (flatbuffer schema names).
BUILTINS = {name for name in vars(_schema.BuiltinOperator) if not name.startswith("_")} - {"CUSTOM"}


def keras_images(generator, *inputs):
    return keras.ops.convert_to_numpy(generator(list(inputs) if len(inputs) > 1 else inputs[0], training=False))


def assert_builtin_only(path):
    info = describe(path)
    assert info["custom_operators"] == []
    assert not any(op.startswith("Flex") for op in info["operators"])
    assert set(info["operators"]) <= BUILTINS
    return info


@pytest.mark.parametrize("family", ["dcgan", "cgan", "wgan_gp"])
def test_latent_families_match_keras_and_savedmodel_names(family, tiny_gans, exported, tmp_path):
    gan = tiny_gans[family]
    path = kg.export.tflite(gan, tmp_path / f"{family}.tflite")
    info = assert_builtin_only(path)
    loaded = tf.saved_model.load(exported[family]).signatures["serving_default"]
    # Runner names are the SavedModel's: inputs, outputs and the signature key.
    assert set(info["signatures"]) == {"serving_default"}
    assert sorted(info["signatures"]["serving_default"]["inputs"]) == sorted(loaded.structured_input_signature[1])
    assert sorted(info["signatures"]["serving_default"]["outputs"]) == sorted(loaded.structured_outputs)
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    for batch in (1, 6):  # dynamic batch: the runner resizes
        feed = {"z": np.random.default_rng(batch).standard_normal((batch, 16)).astype("float32")}
        if family == "cgan":
            feed["labels"] = (np.arange(batch) * 7 % 10).astype("int32")
        out = runner(**feed)
        expected = keras_images(gan.generator, *feed.values())
        assert out["images"].shape == (batch, 28, 28, 1) and out["images"].dtype == np.float32
        assert out["images_uint8"].dtype == np.uint8
        np.testing.assert_allclose(out["images"], expected, atol=1e-4)


def test_cyclegan_int8_calibrated_on_images(tiny_gans, tmp_path):
    gan = tiny_gans["cyclegan"]
    with pytest.raises(ValueError, match="needs real images to calibrate"):
        kg.export.tflite(gan, tmp_path / "cg.tflite", quantize="int8")
    assert os.listdir(tmp_path) == []
    images = np.random.default_rng(0).uniform(-1, 1, (32, 16, 16, 3)).astype("float32")
    path = kg.export.tflite(gan, tmp_path / "cg.tflite", quantize="int8", representative_data=images)
    info = assert_builtin_only(path)
    assert info["quantize"] == "int8"
    assert info["signatures"]["serving_default"]["inputs"] == ["images"]
    report = kg.export.verify(path, gan, inputs={"images": images[:8]})
    assert report["passed"], report


def test_quantize_modes_on_the_trained_zoo_generator(zoo_generator, tmp_path):
    """Each mode passes verify's thresholds on real weights, and the files shrink as they should."""
    sizes, reports = {}, {}
    for mode in kg.export.QUANTIZE_MODES:
        path = kg.export.tflite(zoo_generator, tmp_path / f"{mode}.tflite", quantize=mode)
        info = assert_builtin_only(path)
        assert info["quantize"] == mode
        reports[mode] = kg.export.verify(path, zoo_generator, n=32)
        sizes[mode] = os.path.getsize(path)
        assert reports[mode]["passed"], reports[mode]
        assert reports[mode]["threshold"] == kg.export.THRESHOLDS[mode]
        # images_uint8 is the file's own images in uint8, in every mode (int8 included).
        own = reports[mode]["signatures"]["serving_default"]["uint8_own_max_abs_diff"]
        assert own <= kg.export.UINT8_TOLERANCE, (mode, own)
    params = zoo_generator.count_params()
    assert sizes["none"] > 4 * params * 0.95
    assert 0.45 < sizes["float16"] / sizes["none"] < 0.55
    assert sizes["dynamic"] < 0.3 * sizes["none"] and sizes["int8"] < 0.3 * sizes["none"]
    # The float file is exact to rounding; quantized ones are not, and are ordered as expected.
    assert reports["none"]["max_abs_diff"] < 1e-5
    assert reports["none"]["mean_abs_diff"] < reports["float16"]["mean_abs_diff"] < reports["dynamic"]["mean_abs_diff"]
    assert reports["dynamic"]["mean_abs_diff"] < reports["int8"]["mean_abs_diff"]


def output_types(path):
    """``[(builtin name, output tensor type names)]`` of every operator of a ``.tflite`` file."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(path)
    op_names = {v: k for k, v in vars(_schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(_schema.TensorType).items() if not k.startswith("_")}
    sub = model.subgraphs[0]
    return [
        (
            op_names[flatbuffer_utils.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])],
            tuple(type_names[sub.tensors[i].type] for i in op.outputs),
        )
        for op in sub.operators
    ]


def test_int8_images_uint8_is_computed_in_float_from_images(zoo_generator, tmp_path):
    """int8: the network is int8, only the images -> images_uint8 tail is float, and they agree."""
    path = kg.export.tflite(zoo_generator, tmp_path / "int8.tflite", quantize="int8")
    ops = output_types(str(path))
    float_ops = [name for name, types in ops if "FLOAT32" in types]
    # One DEQUANTIZE makes `images`; clip, scale, shift and round stay float32 for images_uint8.
    assert sorted(float_ops) == ["ADD", "DEQUANTIZE", "MUL", "RELU_N1_TO_1", "ROUND"], ops
    assert ("CAST", ("UINT8",)) in ops
    layers = [types for name, types in ops if name in ("FULLY_CONNECTED", "TRANSPOSE_CONV", "CONV_2D", "TANH")]
    assert layers and all(types == ("INT8",) for types in layers), ops
    runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    out = runner(z=np.random.default_rng(0).standard_normal((64, 64)).astype("float32"))
    own = np.abs(out["images_uint8"].astype(int) - _to_uint8(out["images"]).astype(int))
    assert own.max() <= kg.export.UINT8_TOLERANCE  # measured 0 (55 before the tail stayed float)


def test_verify_fails_an_int8_file_whose_uint8_output_is_requantized(zoo_generator, tmp_path, monkeypatch):
    """The uint8 check is not vacuous: the converter's plain int8 output (tail quantized) fails it."""
    import sys

    module = sys.modules["keras_gans.export.tflite"]
    monkeypatch.setattr(module, "_quantize_int8", lambda converter, float_layers=(): converter.convert())
    path = kg.export.tflite(zoo_generator, tmp_path / "plain.tflite", quantize="int8")
    report = kg.export.verify(path, zoo_generator, n=32)
    result = report["signatures"]["serving_default"]
    # The float images are as good as in the fixed file; images_uint8 is posterized.
    assert report["max_abs_diff"] <= kg.export.THRESHOLDS["int8"]
    assert result["uint8_own_max_abs_diff"] > 10 and not result["uint8_consistent"]  # measured 55
    assert not report["passed"]


def test_mixed_bfloat16_tflite_stays_float32(tmp_path):
    gan = kg.models.DCGAN(latent_dim=16, width=8, precision="mixed_bfloat16")
    path = kg.export.tflite(gan, tmp_path / "bf16.tflite")
    interpreter = Interpreter(model_path=path)
    runner = interpreter.get_signature_runner("serving_default")
    assert runner.get_input_details()["z"]["dtype"] == np.float32
    outputs = runner.get_output_details()
    assert outputs["images"]["dtype"] == np.float32 and outputs["images_uint8"]["dtype"] == np.uint8
    # bfloat16 math in Keras, float32 in the file: close, not equal.
    report = kg.export.verify(path, gan, threshold=2e-2, mean_threshold=2e-3)
    assert report["passed"], report
    assert gan.generator.layers[1].compute_dtype == "bfloat16"  # the model itself is unchanged


def test_describe_sees_flex_ops_and_tflite_refuses_them(tmp_path):
    """The builtin-only check can fail: a Flex op is visible to describe, and refused by tflite."""

    class Erf(keras.layers.Layer):
        def call(self, x):
            # Erf has no TFLite builtin: it needs the Flex delegate.
            return tf.math.erf(x)

    z = keras.Input((4,), name="z")
    x = keras.layers.Dense(16, activation="tanh")(Erf()(z))
    generator = keras.Model(z, keras.layers.Reshape((4, 4, 1))(x), name="flexy")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def fn(z):
        return generator(z)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], generator)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    flex_file = converter.convert()
    assert any(op.startswith("Flex") for op in describe(flex_file)["custom_operators"])
    with pytest.raises(ValueError, match="builtin ops only"):
        kg.export.tflite(generator, tmp_path / "flexy.tflite")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "path, kwargs, error, message",
    [
        ("a.tflite", {"quantize": "int4"}, ValueError, "unknown quantize mode 'int4'"),
        ("a.tflite", {"quantize": "INT8"}, ValueError, "unknown quantize mode"),
        ("a.onnx", {}, ValueError, "ending in .tflite"),
    ],
)
def test_bad_arguments(tiny_gans, tmp_path, path, kwargs, error, message):
    with pytest.raises(error, match=message):
        kg.export.tflite(tiny_gans["dcgan"], tmp_path / path, **kwargs)
    assert os.listdir(tmp_path) == []


def test_existing_file_and_unwritable_folder(tiny_gans, tmp_path):
    target = tmp_path / "g.tflite"
    target.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="already exists"):
        kg.export.tflite(tiny_gans["dcgan"], target)
    assert target.read_bytes() == b"keep me"
    kg.export.tflite(tiny_gans["dcgan"], target, overwrite=True)
    assert describe(str(target))["signatures"]["serving_default"]["inputs"] == ["z"]
    assert sorted(os.listdir(tmp_path)) == ["g.tflite"]  # no temporary file left
    from tests.export.test_saved_model import unwritable_folder

    folder = unwritable_folder(tmp_path)
    before = os.listdir(folder)
    with pytest.raises(PermissionError):
        kg.export.tflite(tiny_gans["dcgan"], os.path.join(folder, "out", "g.tflite"))
    assert os.listdir(folder) == before


def fashion_mnist_test(label):
    """Real Fashion-MNIST test images of one class in [-1, 1] (the Debian package's IDX files)."""
    from keras_gans.data import idx

    folder = next(d for d in idx.idx_dirs("fashion_mnist") if idx.has_idx(d, "test"))
    images, labels = idx.load_idx_split(folder, "test")
    return images[labels == label].astype("float32") / 127.5 - 1.0


@pytest.fixture(scope="module")
def cyclegan_zoo():
    return kg.export._source.resolve("cyclegan.sneaker2boot")


def test_zoo_cyclegan_int8_passes_on_real_held_out_sneakers(cyclegan_zoo, tmp_path):
    """The documented route: calibrate on real sneakers, verify on others; every layer int8 fails it."""
    sneakers = fashion_mnist_test(7)
    from keras_gans.export.tflite import export_tflite

    path, report = export_tflite(
        cyclegan_zoo, tmp_path / "cg.tflite", "int8", sneakers[:40], verify=True
    )
    assert report["passed"] and report["n"] == 8, report  # every fifth of the 40 held out
    # On sneakers neither calibration nor that check saw: measured max 0.38, mean 0.011 on 800.
    other = kg.export.verify(path, cyclegan_zoo, inputs={"images": sneakers[100:132]})
    assert other["passed"] and other["max_abs_diff"] < 0.5 and other["mean_abs_diff"] < 0.02, other
    ops = output_types(str(path))
    assert any(name == "TRANSPOSE_CONV" and types == ("INT8",) for name, types in ops)  # still an int8 net
    assert any(name == "RSQRT" and types == ("FLOAT32",) for name, types in ops)  # instance norm in float
    # Every layer int8 (the export before): refused, and not left at the final path.
    with pytest.raises(kg.export.VerificationError, match="FAILED") as failed:
        kg.export.tflite(cyclegan_zoo, tmp_path / "all.tflite", quantize="int8",
                         representative_data=sneakers[:40], float_layers=(), verify=True,
                         verify_data=sneakers[100:132])
    assert failed.value.report["max_abs_diff"] > 0.6  # measured 1.55 (1.98 on 800 sneakers)
    assert not (tmp_path / "all.tflite").exists()
    assert failed.value.failed_path == str(tmp_path / "all.failed.tflite") and os.path.isfile(failed.value.failed_path)
    assert sorted(os.listdir(tmp_path)) == ["all.failed.tflite", "cg.tflite"]  # no temporary file either


def test_out_of_range_calibration_is_refused(cyclegan_zoo, tmp_path):
    pixels = (fashion_mnist_test(7)[:40] + 1.0) * 127.5  # unscaled 0..255 floats
    with pytest.raises(ValueError, match=r"must lie in \[-1, 1\], got values in \[0, 255\]"):
        kg.export.tflite(cyclegan_zoo, tmp_path / "cg.tflite", quantize="int8", representative_data=pixels)
    with pytest.raises(ValueError, match="finite"):
        kg.export.tflite(cyclegan_zoo, tmp_path / "cg.tflite", quantize="int8",
                         representative_data=np.full((20, 28, 28, 1), np.nan, "float32"))
    with pytest.raises(ValueError, match="too few"):
        kg.export.tflite(cyclegan_zoo, tmp_path / "cg.tflite", quantize="int8",
                         representative_data=pixels[:10] / 127.5 - 1.0, verify=True)
    assert os.listdir(tmp_path) == []


def test_verify_true_never_leaves_a_failed_file_at_the_path(tiny_gans, tmp_path, monkeypatch):
    monkeypatch.setitem(kg.export.THRESHOLDS, "dynamic", 1e-9)
    with pytest.raises(kg.export.VerificationError, match="kept as .*d.failed.tflite"):
        kg.export.tflite(tiny_gans["dcgan"], tmp_path / "d.tflite", quantize="dynamic", verify=True)
    assert sorted(os.listdir(tmp_path)) == ["d.failed.tflite"]
    monkeypatch.undo()
    assert kg.export.tflite(tiny_gans["dcgan"], tmp_path / "d.tflite", quantize="dynamic", verify=True)
    assert describe(str(tmp_path / "d.tflite"))["quantize"] == "dynamic"


def test_int16x8_refused_where_litert_cannot_run_it(tiny_gans, tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    with pytest.raises(ValueError, match="does not run in LiteRT: SquaredDifference.*use quantize='int8'"):
        kg.export.tflite(tiny_gans["cyclegan"], tmp_path / "c.tflite", quantize="int16x8", representative_data=images)
    assert os.listdir(tmp_path) == []
