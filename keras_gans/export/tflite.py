"""Export a generator as a TFLite (LiteRT) flatbuffer with builtin ops only.

The file has the signature ``serving_default``, with the SavedModel's input
and output names (``z`` / ``labels`` / ``images`` -> ``images``,
``images_uint8``) and a dynamic batch: a LiteRT signature runner resizes the
inputs to whatever batch it is given. A family with an encoder (VAE-GAN) also
has ``encode`` (``images`` -> ``z_mean``, ``z_log_var``, as in the
SavedModel, without its range check) in the float modes (``"none"``,
``"dynamic"``, ``"float16"``); the calibrated integer modes quantize
``serving_default`` alone (their calibration data are the generator's). The ``sample`` signatures of the
SavedModel are left out (LiteRT has no stateless random builtin): a phone
draws ``z`` itself (see ``export/MOBILE.md``).

Quantization modes (weights are what shrinks; inputs and outputs stay float32
and uint8 in every mode):

- ``"none"``: float32 weights and math.
- ``"dynamic"``: int8 weights, float activations (dynamic-range quantization).
- ``"float16"``: float16 weights, dequantized to float32 at load.
- ``"int8"``: int8 weights and activations (``TFLITE_BUILTINS_INT8``),
  calibrated on a representative dataset: the model's own latents
  (``kg.sampling.latents``, cycled labels) by default; image-to-image
  generators need real images. The layers that int8 activations ruin stay
  float32 (``float_layers``): per-example normalization (instance, layer,
  group norm: their mean/variance/rsqrt chain on an 8-bit grid moved
  cyclegan.sneaker2boot's pixels by up to 1.98 on real sneakers) and, for an
  image-to-image generator, the layers up to its first downsampling, where
  the input image enters (see ``bench/export_int8.py`` for the measurements).
  The network's int8 output is dequantized once into ``images``; the few
  ops that make ``images_uint8`` from it stay float32 (see
  ``_quantize_int8``), so ``images_uint8`` is ``images`` in uint8 within
  rounding, as in the other modes.
- ``"int16x8"``: int8 weights, int16 activations (LiteRT's 16x8 mode), same
  calibration; ops without an int16 kernel stay float32. It removes the
  speckle int8 leaves in flat areas of DCGAN samples for about 8% more bytes.
  LiteRT has no int16 ``SQUARED_DIFFERENCE`` kernel, which instance norm
  uses, so a CycleGAN in this mode cannot run: ``tflite`` refuses it (use
  ``"int8"``).

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
QUANTIZE_MODES = ("none", "dynamic", "float16", "int8", "int16x8")

#: Integer modes, calibrated on representative data.
CALIBRATED = ("int8", "int16x8")

# flatbuffer TensorType codes (tflite/schema/schema.fbs).
_FLOAT16 = 1
_INT16 = 7
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
        ``quantize`` (``"none"``, ``"dynamic"``, ``"float16"``, ``"int8"`` or
        ``"int16x8"``, read from the tensor types).

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
        quantize = "int16x8" if _INT16 in tensor_types else "int8"
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


def calibration_inputs(source, data, count=256, seed=0):
    """Validated int8 / int16x8 calibration inputs as ``{name: np.ndarray}``.

    Args:
        source: ``ExportSource``.
        data: None (``count`` of the model's own latents, ``kg.sampling.latents``
            with ``seed``, and cycled labels; refused for image-to-image
            generators), an array of latents or images, or a dict of arrays.
        count: int, how many default latents.
        seed: int, seed of the default latents.

    Returns:
        dict of float32 ``z`` / ``images`` and int32 ``labels``.

    Raises:
        ValueError: missing images for an image-to-image generator, wrong
            keys or shapes, non-finite values, or float images outside
            [-1, 1] (such as unscaled 0..255 pixels).
    """
    import numpy as np

    if data is None:
        if source.kind == IMAGE:
            raise ValueError(
                "int8 quantization of an image-to-image generator needs real images to "
                "calibrate: pass representative_data=images of domain A ([n, h, w, c] in [-1, 1], "
                "100-500 of them; CLI: --calibration images.npy)."
            )
        return source.example_inputs(count, seed=seed)
    if isinstance(data, dict):
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
    lengths = {len(v) if v.ndim else 0 for v in inputs.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"representative_data arrays must be non-empty and of one length, got {lengths}.")
    shape = (source.latent_dim,) if source.kind != IMAGE else source.input_shape
    key = "images" if source.kind == IMAGE else "z"
    if tuple(inputs[key].shape[1:]) != tuple(shape):
        raise ValueError(
            f"representative_data {key} have shape {inputs[key].shape[1:]} per example, "
            f"the generator takes {tuple(shape)}."
        )
    if not np.issubdtype(inputs[key].dtype, np.number) or not np.isfinite(inputs[key]).all():
        raise ValueError(f"representative_data {key} must be finite numbers.")
    if key == "images":
        low, high = float(inputs[key].min()), float(inputs[key].max())
        if low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
            raise ValueError(
                f"calibration images (representative_data) must lie in [-1, 1], got values in [{low:g}, {high:g}]: "
                "scale uint8 pixels with x / 127.5 - 1 (or pass them as a uint8 array)."
            )
    if "labels" in inputs:
        labels = inputs["labels"]
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= source.num_classes:
            raise ValueError(
                f"representative_data labels must be ints in [0, {source.num_classes})."
            )
    return {k: v.astype("int32") if k == "labels" else v.astype("float32") for k, v in inputs.items()}


def _representative(inputs):
    """A ``representative_dataset`` callable over ``{name: array}`` (or a user's callable)."""
    if callable(inputs):
        return inputs
    total = len(next(iter(inputs.values())))

    def dataset():
        for i in range(0, total, 8):
            yield {k: v[i : i + 8] for k, v in inputs.items()}

    return dataset


def float_layers_for(source):
    """Names of the generator's layers that ``"int8"`` keeps in float32.

    Per-example normalization layers (instance, layer and group norm: an
    8-bit grid cannot carry their mean / variance / rsqrt chain) and, for an
    image-to-image generator, every layer up to and including its first
    strided convolution: the full-resolution input side. Batch norm folds
    into the convolutions at inference and stays int8.

    Args:
        source: ``ExportSource``.

    Returns:
        list of layer names, in the network's order.
    """
    names, stack = [], list(source.generator.layers)
    normalizations = ("InstanceNormalization", "LayerNormalization", "GroupNormalization")
    input_side = source.kind == IMAGE
    for layer in stack:
        kind = type(layer).__name__
        if input_side and kind != "InputLayer":
            names.append(layer.name)
            strides = getattr(layer, "strides", (1,))
            if "Conv" in kind and max(strides) > 1:
                input_side = False
        elif kind in normalizations:
            names.append(layer.name)
    return names


def _layer_nodes(model_bytes, layers):
    """Output tensor names of the ops built by the Keras ``layers`` (by name scope)."""
    import re

    from ai_edge_litert.tools import flatbuffer_utils

    if not layers:
        return []
    # Keras names a layer's ops "<model>_1/<layer>_1/..."; fused ops join names with ";".
    pattern = re.compile(r"(^|[/;])(" + "|".join(re.escape(n) for n in layers) + r")(_\d+)?/")
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    nodes = set()
    for sub in model.subgraphs:
        for op in sub.operators:
            for index in op.outputs:
                name = sub.tensors[index].name
                name = name.decode() if isinstance(name, bytes) else str(name)
                if pattern.search(name):
                    nodes.add(name)
    return sorted(nodes)


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


def _quantize_int8(converter, float_layers=()):
    """Full int8 quantization that leaves the ``images_uint8`` tail (and ``float_layers``) in float32.

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
    float ``RELU_N1_TO_1``/``MUL``/``ADD``/``ROUND``/``CAST`` builtins. The ops
    of the Keras layers named in ``float_layers`` are denylisted the same way:
    LiteRT runs them in float32 between a ``DEQUANTIZE`` and a ``QUANTIZE``.
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
    nodes = sorted(set(nodes) | set(_layer_nodes(calibrated, list(float_layers))))
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


def _check_runs(flatbuffer, inputs, quantize, origin):
    """Run one example through LiteRT: a file whose kernels refuse their types fails here, not on a phone."""
    from ai_edge_litert.interpreter import Interpreter

    if callable(inputs):
        inputs = next(iter(inputs()))
    try:
        runner = Interpreter(model_content=bytes(flatbuffer)).get_signature_runner("serving_default")
        runner(**{k: v[:1] for k, v in inputs.items()})
    except (RuntimeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        hint = " (use quantize='int8')" if quantize == "int16x8" else ""
        raise ValueError(f"the {quantize} TFLite file of {origin} does not run in LiteRT: {first}{hint}") from None


def convert(source, quantize="none", representative_data=None, num_calibration=256, float_layers=None):
    """Convert an ``ExportSource`` to TFLite bytes (builtin ops only).

    Args:
        source: ``ExportSource``.
        quantize: a ``QUANTIZE_MODES`` entry.
        representative_data: calibration inputs (see ``calibration_inputs``),
            or a callable yielding input dicts.
        num_calibration: int, default latents to calibrate on.
        float_layers: int8 only: names of Keras layers kept in float32;
            None: ``float_layers_for(source)``; ``()`` quantizes every layer.
    """
    import tensorflow as tf

    from keras_gans.export.saved_model import write_saved_model

    quantize = check_quantize(quantize)
    # Mixed-precision generators convert as float32 copies (see as_float32).
    source = source.as_float32()
    calibration = None
    if quantize in CALIBRATED:
        calibration = (
            representative_data
            if callable(representative_data)
            else calibration_inputs(source, representative_data, num_calibration)
        )
    with tempfile.TemporaryDirectory(prefix="keras_gans_tflite_") as tmp:
        # From a SavedModel, the converter keeps the signature key and the
        # input/output names, so both artifacts answer to the same names.
        write_saved_model(source, tmp, checks=False, sample=False)
        keys = ["serving_default"]
        if source.encoder is not None and quantize not in CALIBRATED:
            keys.append("encode")
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=keys)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize in CALIBRATED:
            if quantize == "int8":
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            else:
                # Ops without an int16 kernel (the images_uint8 clip) stay float32.
                converter.target_spec.supported_ops = [
                    tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
                    tf.lite.OpsSet.TFLITE_BUILTINS,
                ]
            converter.representative_dataset = _representative(calibration)
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
                    layers = float_layers_for(source) if float_layers is None else list(float_layers)
                    flatbuffer = _quantize_int8(converter, layers)
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
    if calibration is not None:
        _check_runs(flatbuffer, calibration, quantize, source.origin)
    return flatbuffer


class VerificationError(ValueError):
    """An exported file differs from the Keras model beyond the thresholds.

    Attributes:
        report: the ``kg.export.verify`` report.
        failed_path: where the file that failed was kept (``NAME.failed.tflite``).
    """

    def __init__(self, message, report, failed_path):
        super().__init__(message)
        self.report = report
        self.failed_path = failed_path


def failed_path_of(path):
    """``out/dcgan-int8.tflite`` -> ``out/dcgan-int8.failed.tflite``."""
    return path[: -len(".tflite")] + ".failed.tflite"


def holdout_split(source, data, verify_data=None, seed=1, n=64):
    """Calibration inputs and the held-out inputs to verify an integer export on.

    Image-to-image generators verify on real images the calibration did not
    see: ``verify_data`` if given, else every fifth of ``data`` (the others
    calibrate). Latent generators verify on ``n`` of the model's own latents
    (``kg.sampling.latents`` with ``seed``, which the default calibration,
    seed 0, does not draw) and cycled labels, or on ``verify_data``.

    Returns:
        ``(calibration, held_out)``: dicts of arrays (``calibration`` may be
        the user's callable).
    """
    import numpy as np

    if callable(data):
        calibration = data
    else:
        calibration = calibration_inputs(source, data)
    if verify_data is not None:
        return calibration, calibration_inputs(source, verify_data)
    if source.kind != IMAGE:
        return calibration, source.example_inputs(n, seed=seed)
    if callable(calibration):
        raise ValueError(
            "verifying an image-to-image export needs held-out real images: pass verify_data "
            "(CLI: --verify-data images.npy) with a callable representative_data."
        )
    total = len(calibration["images"])
    if total < 20:
        raise ValueError(
            f"{total} calibration images are too few to hold some out for verification: pass 20 "
            "or more (100-500 calibrate well), or verify_data with other real images."
        )
    held = np.arange(total) % 5 == 4
    return {k: v[~held] for k, v in calibration.items()}, {k: v[held] for k, v in calibration.items()}


def export_tflite(model_or_name, path, quantize=None, representative_data=None, overwrite=False,
                  verify=True, verify_data=None, float_layers=None):
    """``tflite`` that also returns the verification report (None when ``verify`` is False)."""
    from keras_gans.export.verify import format_report
    from keras_gans.export.verify import verify as run_verify

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
    if verify_data is not None and not verify:
        raise ValueError("verify_data is used to verify: drop it or pass verify=True.")
    source = resolve(model_or_name)
    held_out = None
    if quantize in CALIBRATED and verify:
        representative_data, held_out = holdout_split(source, representative_data, verify_data)
    elif verify_data is not None:
        held_out = calibration_inputs(source, verify_data)
    flatbuffer = convert(source, quantize, representative_data, float_layers=float_layers)
    report = None
    with _atomic.atomic_file(path, overwrite=overwrite) as tmp:
        if verify:
            with tempfile.TemporaryDirectory(prefix="keras_gans_verify_") as folder:
                candidate = os.path.join(folder, os.path.basename(path))
                with open(candidate, "wb") as f:
                    f.write(flatbuffer)
                report = run_verify(candidate, source, inputs=held_out, seed=1)
            report["artifact"] = path
            if not report["passed"]:
                failed = failed_path_of(path)
                with open(failed, "wb") as f:
                    f.write(flatbuffer)
                report["artifact"] = failed
                raise VerificationError(
                    f"{format_report(report)}; the file was not written to {path} and is kept as "
                    f"{failed} for inspection.",
                    report, failed,
                )
        with open(tmp, "wb") as f:
            f.write(flatbuffer)
    return path, report


def tflite(model_or_name, path, quantize=None, representative_data=None, overwrite=False,
           verify=False, verify_data=None, float_layers=None):
    """Export a generator as a ``.tflite`` file for LiteRT, builtin ops only.

    The file is written beside ``path`` under a temporary name and moved into
    place once complete. Its ``serving_default`` signature has the inputs and
    outputs of the SavedModel export (see ``kg.export.saved_model``). With
    ``verify=True`` it reaches ``path`` only after LiteRT ran it within
    ``kg.export.verify``'s thresholds of the Keras model on held-out inputs
    (see ``holdout_split``); a file that fails is kept as
    ``NAME.failed.tflite`` and ``VerificationError`` says so.

    Args:
        model_or_name: a ``kg.models`` GAN, a generator ``keras.Model``, the
            path of a ``.keras`` file or a zoo name.
        path: str, the ``.tflite`` file to write.
        quantize: None or ``"none"``, ``"dynamic"``, ``"float16"``, ``"int8"``,
            ``"int16x8"`` (see the module docstring).
        representative_data: int8 / int16x8 calibration inputs: an array of
            latents ``[n, latent_dim]`` (labels then cycle through the
            classes) or of images ``[n, h, w, c]`` (float in [-1, 1] or uint8;
            other ranges are refused), a dict ``{"z": ..., "labels": ...}``,
            or a callable yielding such dicts. Default: 256 of the model's
            latents (``kg.sampling.latents``, seed 0); required for
            image-to-image generators.
        overwrite: bool, replace an existing file.
        verify: bool, run the file against the Keras model before it is put
            at ``path``. Integer modes hold out every fifth calibration image
            of an image-to-image generator for it (latent generators verify
            on latents of seed 1).
        verify_data: held-out inputs to verify on instead (same forms as
            ``representative_data``); the calibration then uses all of
            ``representative_data``.
        float_layers: int8 only: names of the generator's Keras layers kept
            in float32; None (default) ``float_layers_for``, ``()`` none.

    Returns:
        str, the path written.

    Raises:
        ValueError: unknown quantize mode, a path not ending in ``.tflite``,
            bad calibration data, or a model that cannot be converted with
            builtin ops (or, for int16x8, run by LiteRT).
        VerificationError: ``verify=True`` and the file failed (a ``ValueError``).
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        PermissionError: the folder is not writable.

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.DCGAN(latent_dim=16, width=8)
        >>> kg.export.tflite(gan, "/tmp/dcgan.tflite", quantize="float16")  # doctest: +SKIP
        '/tmp/dcgan.tflite'
    """
    return export_tflite(
        model_or_name, path, quantize=quantize, representative_data=representative_data,
        overwrite=overwrite, verify=verify, verify_data=verify_data, float_layers=float_layers,
    )[0]
