"""Export a generator as a TFLite (LiteRT) flatbuffer with builtin ops only.

The file has one signature, ``serving_default``, with the SavedModel's input
and output names (``z`` / ``labels`` / ``images`` -> ``images``,
``images_uint8``) and a dynamic batch: a LiteRT signature runner resizes the
inputs to whatever batch it is given. The ``sample`` signatures of the
SavedModel are left out (LiteRT has no stateless random builtin): a phone
draws ``z`` itself (see ``export/MOBILE.md``).

Quantization modes (weights are what shrinks; inputs and outputs stay float32
and uint8 in every mode):

- ``"none"``: float32 weights and math.
- ``"dynamic"``: int8 weights, float activations (dynamic-range quantization).
- ``"float16"``: float16 weights, dequantized to float32 at load.
- ``"int8"``: int8 weights and activations (``TFLITE_BUILTINS_INT8``),
  calibrated on a representative dataset: standard normal latents (and
  cycled labels) by default; image-to-image generators need real images.
  The network's int8 output is dequantized once into ``images``; the few
  ops that make ``images_uint8`` from it stay float32 (see
  ``_quantize_int8``), so ``images_uint8`` is ``images`` in uint8 within
  rounding, as in the other modes.

Every layer of the keras-gans networks maps to a builtin (``TRANSPOSE_CONV``,
``MIRROR_PAD``, ``MEAN``...), so no Flex (``SELECT_TF_OPS``) delegate is ever
needed; ``tflite`` refuses to write a file that would need one.
"""

import os
import tempfile
import warnings

from keras_gans.export import _atomic
from keras_gans.export._source import CONDITIONAL, IMAGE, resolve

#: The quantization modes ``tflite`` accepts (``None`` means ``"none"``).
QUANTIZE_MODES = ("none", "dynamic", "float16", "int8")

# flatbuffer TensorType codes (tflite/schema/schema.fbs).
_FLOAT16 = 1
_INT8 = 9


def check_quantize(quantize):
    """Validate a quantization mode; returns it (``None`` -> ``"none"``)."""
    if quantize is None:
        return "none"
    if quantize not in QUANTIZE_MODES:
        raise ValueError(
            f"unknown quantize mode {quantize!r}: use one of {', '.join(QUANTIZE_MODES)} (or None)."
        )
    return quantize


def describe(path_or_bytes):
    """What a ``.tflite`` file holds: operators, signatures and quantization.

    Reads the flatbuffer itself (no interpreter), so it also lists operators a
    runtime could not run, such as Flex ops.

    Args:
        path_or_bytes: str path of a ``.tflite`` file, or its bytes.

    Returns:
        dict with ``operators`` (sorted builtin names; a custom op appears as
        its custom code, e.g. ``"FlexConv2D"``), ``custom_operators``,
        ``signatures`` (``{key: {"inputs": [...], "outputs": [...]}}``) and
        ``quantize`` (``"none"``, ``"dynamic"``, ``"float16"`` or ``"int8"``,
        read from the tensor types).

    Example:
        >>> describe("dcgan.tflite")["signatures"]  # doctest: +SKIP
        {'serving_default': {'inputs': ['z'], 'outputs': ['images', 'images_uint8']}}
    """
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    if isinstance(path_or_bytes, (bytes, bytearray)):
        model = flatbuffer_utils.convert_bytearray_to_object(bytearray(path_or_bytes))
    else:
        model = flatbuffer_utils.read_model(os.fspath(path_or_bytes))
    builtin_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    operators, custom = set(), set()
    for code in model.operatorCodes:
        builtin = flatbuffer_utils.get_builtin_code_from_operator_code(code)
        if builtin == schema.BuiltinOperator.CUSTOM:
            name = code.customCode.decode() if isinstance(code.customCode, bytes) else str(code.customCode)
            custom.add(name)
            operators.add(name)
        else:
            operators.add(builtin_names.get(builtin, f"BUILTIN_{builtin}"))
    tensor_types = {t.type for sub in model.subgraphs for t in sub.tensors}
    if _FLOAT16 in tensor_types:
        quantize = "float16"
    elif "QUANTIZE" in operators:
        # Full integer models quantize their float inputs first.
        quantize = "int8"
    elif _INT8 in tensor_types:
        quantize = "dynamic"
    else:
        quantize = "none"

    def names(items):
        return [i.name.decode() if isinstance(i.name, bytes) else i.name for i in items]

    signatures = {}
    for sig in model.signatureDefs or []:
        key = sig.signatureKey.decode() if isinstance(sig.signatureKey, bytes) else sig.signatureKey
        signatures[key] = {"inputs": names(sig.inputs), "outputs": names(sig.outputs)}
    return {
        "operators": sorted(operators),
        "custom_operators": sorted(custom),
        "signatures": signatures,
        "quantize": quantize,
    }


def _representative(source, data, count, seed=0):
    """A ``representative_dataset`` callable for int8 calibration."""
    import numpy as np

    if data is None:
        if source.kind == IMAGE:
            raise ValueError(
                "int8 quantization of an image-to-image generator needs real images to "
                "calibrate: pass representative_data=images of domain A ([n, h, w, c] in [-1, 1], "
                "100-500 of them; CLI: --calibration images.npy)."
            )
        inputs = source.example_inputs(count, seed=seed)
    elif callable(data):
        return data
    elif isinstance(data, dict):
        inputs = {k: np.asarray(v) for k, v in data.items()}
    else:
        key = "images" if source.kind == IMAGE else "z"
        inputs = {key: np.asarray(data)}
        if source.kind == CONDITIONAL:
            inputs["labels"] = (np.arange(len(inputs["z"])) % source.num_classes).astype("int32")
    expected = set(source.example_inputs(1))
    if set(inputs) != expected:
        raise ValueError(
            f"representative_data has inputs {sorted(inputs)} but the generator takes "
            f"{sorted(expected)}: pass an array or a dict with those keys."
        )
    if "images" in inputs and inputs["images"].dtype == np.uint8:
        inputs["images"] = inputs["images"].astype("float32") / 127.5 - 1.0
    lengths = {len(v) for v in inputs.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"representative_data arrays must be non-empty and of one length, got {lengths}.")
    shape = (source.latent_dim,) if source.kind != IMAGE else source.image_shape
    key = "images" if source.kind == IMAGE else "z"
    if tuple(inputs[key].shape[1:]) != tuple(shape):
        raise ValueError(
            f"representative_data {key} have shape {inputs[key].shape[1:]} per example, "
            f"the generator takes {tuple(shape)}."
        )
    inputs = {
        k: v.astype("int32") if k == "labels" else v.astype("float32") for k, v in inputs.items()
    }
    total = lengths.pop()

    def dataset():
        for i in range(0, total, 8):
            yield {k: v[i : i + 8] for k, v in inputs.items()}

    return dataset


def _uint8_nodes(model_bytes):
    """Output tensor names of the ops that make ``images_uint8`` (under ``UINT8_SCOPE``)."""
    from ai_edge_litert.tools import flatbuffer_utils

    from keras_gans.export.saved_model import UINT8_SCOPE

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    nodes = []
    for sub in model.subgraphs:
        for op in sub.operators:
            for index in op.outputs:
                name = sub.tensors[index].name
                name = name.decode() if isinstance(name, bytes) else str(name)
                if f"{UINT8_SCOPE}/" in name:
                    nodes.append(name)
    return sorted(set(nodes))


def _quantize_int8(converter):
    """Full int8 quantization that leaves the ``images_uint8`` tail in float32.

    Quantized like the rest, the clip/scale/shift ops that turn ``images``
    into ``images_uint8`` each requantize to an int8 grid fitted to their
    calibration range: the clipped [-1, 1] tensor got a step of about 1.0
    (three levels) and ``images_uint8`` was up to 55 grey levels off the
    file's own float ``images`` (dcgan.fashion_mnist, 64 latents, mean 15).
    So the converter only calibrates (``_experimental_calibrate_only``, the
    switch ``tf.lite.experimental.QuantizationDebugger`` uses) and the
    quantizer (``tensorflow.lite.python.convert.mlir_quantize``) is then
    called as ``convert()`` calls it, plus a denylist of those ops: the
    network stays int8, its tanh output is dequantized once for ``images``
    (as before), and ``images_uint8`` is computed from that float tensor with
    float ``RELU_N1_TO_1``/``MUL``/``ADD``/``ROUND``/``CAST`` builtins.
    """
    import tensorflow as tf

    try:
        from tensorflow.lite.python.convert import mlir_quantize
    except ImportError as err:  # pragma: no cover - present in every TF >= 2.4
        raise ValueError(f"this TensorFlow has no TFLite MLIR quantizer ({err})") from None

    converter._experimental_calibrate_only = True
    calibrated = converter.convert()
    nodes = _uint8_nodes(calibrated)
    if not nodes:
        raise ValueError("the images_uint8 ops were not found in the converted graph")
    return mlir_quantize(
        calibrated,
        disable_per_channel=converter._experimental_disable_per_channel,
        disable_per_channel_for_dense_layers=(
            converter._experimental_disable_per_channel_quantization_for_dense_layers
        ),
        fully_quantize=False,
        input_data_type=tf.float32,
        output_data_type=tf.float32,
        denylisted_nodes=nodes,
    )


def convert(source, quantize="none", representative_data=None, num_calibration=256):
    """Convert an ``ExportSource`` to TFLite bytes (builtin ops only)."""
    import tensorflow as tf

    from keras_gans.export.saved_model import write_saved_model

    quantize = check_quantize(quantize)
    # Mixed-precision generators convert as float32 copies (see as_float32).
    source = source.as_float32()
    with tempfile.TemporaryDirectory(prefix="keras_gans_tflite_") as tmp:
        # From a SavedModel, the converter keeps the signature key and the
        # input/output names, so both artifacts answer to the same names.
        write_saved_model(source, tmp, checks=False, sample=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serving_default"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.representative_dataset = _representative(
                source, representative_data, num_calibration
            )
            # Inputs and outputs stay float32 / uint8: clients feed the same
            # tensors to every mode.
            converter.inference_input_type = tf.float32
            converter.inference_output_type = tf.float32
        with warnings.catch_warnings():
            # Calibration runs the old tf.lite interpreter, which warns about
            # its own deprecation; the files are run with ai_edge_litert.
            warnings.filterwarnings("ignore", message=r"[\s\S]*tf.lite.Interpreter is deprecated")
            try:
                if quantize == "int8":
                    flatbuffer = _quantize_int8(converter)
                else:
                    flatbuffer = converter.convert()
            except Exception as err:  # the converter raises several error types
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise ValueError(
                    f"TFLite conversion ({quantize}) of {source.origin} failed with builtin ops only: {first}"
                ) from None
    flex = [op for op in describe(flatbuffer)["custom_operators"]]
    if flex:
        raise ValueError(
            f"{source.origin} needs operators that are not TFLite builtins ({', '.join(flex)}): "
            "replace the layers that use them."
        )
    return flatbuffer


def tflite(model_or_name, path, quantize=None, representative_data=None, overwrite=False):
    """Export a generator as a ``.tflite`` file for LiteRT, builtin ops only.

    The file is written beside ``path`` under a temporary name and moved into
    place once complete. Its ``serving_default`` signature has the inputs and
    outputs of the SavedModel export (see ``kg.export.saved_model``).

    Args:
        model_or_name: a ``kg.models`` GAN, a generator ``keras.Model``, the
            path of a ``.keras`` file or a zoo name.
        path: str, the ``.tflite`` file to write.
        quantize: None or ``"none"``, ``"dynamic"``, ``"float16"``, ``"int8"``
            (see the module docstring).
        representative_data: int8 calibration inputs: an array of latents
            ``[n, latent_dim]`` (labels then cycle through the classes) or of
            images ``[n, h, w, c]`` (float in [-1, 1] or uint8), a dict
            ``{"z": ..., "labels": ...}``, or a callable yielding such dicts.
            Default: 256 standard normal latents (required for image-to-image
            generators).
        overwrite: bool, replace an existing file.

    Returns:
        str, the path written.

    Raises:
        ValueError: unknown quantize mode, a path not ending in ``.tflite``,
            or a model that cannot be converted with builtin ops.
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        PermissionError: the folder is not writable.

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.DCGAN(latent_dim=16, width=8)
        >>> kg.export.tflite(gan, "/tmp/dcgan.tflite", quantize="float16")  # doctest: +SKIP
        '/tmp/dcgan.tflite'
    """
    quantize = check_quantize(quantize)
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path).endswith(".tflite"):
        raise ValueError(f"path must be a file name ending in .tflite, got {path!r}.")
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists: remove it, pick another path or pass overwrite=True.")
    probe = _atomic._first_existing(os.path.dirname(path))
    if not os.path.isdir(probe):
        raise ValueError(f"cannot write {path}: {probe} is a file, not a folder; pick another folder.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: {probe} is not writable (permission denied).")
    source = resolve(model_or_name)
    flatbuffer = convert(source, quantize, representative_data)
    with _atomic.atomic_file(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as f:
            f.write(flatbuffer)
    return path
