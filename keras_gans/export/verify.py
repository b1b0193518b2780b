"""Run an exported artifact in its own runtime and compare it with the Keras model."""

import os

import numpy as np

from keras_gans.export._source import CONDITIONAL, IMAGE, resolve

#: Largest ``|keras - artifact|`` on [-1, 1] images that ``verify`` accepts,
#: per artifact kind, and the largest mean. Set from the trained zoo
#: generator dcgan.fashion_mnist (64 latents, bench/export_latency.py and
#: tests/export/test_tflite.py) with a margin of about 1.5x to 10x over the
#: worst value measured there: float32 artifacts differ by float rounding only
#: (fused kernels, other summation orders); float16 weights move a pixel by a
#: few 1e-3; int8 weights (``dynamic``) by up to 0.15 on saturated tanh pixels;
#: a full int8 model by up to 0.42 on a few pixels while the mean stays 0.04;
#: int8 weights with int16 activations (``int16x8``) by up to 0.07 (mean
#: 0.003). cyclegan.sneaker2boot's int8 file (float normalization and input
#: side, ``kg.export.tflite``) stays within the int8 bounds on 800 real test
#: sneakers: max 0.38, mean 0.011 (bench/export_int8.py). The republished
#: dcgan.fashion_mnist (30 epochs, EMA generator) quantizes worse: full int8
#: up to 0.72 on 32 samples and 0.81 on 256 (mean 0.10), int16x8 up to 0.25
#: (mean 0.006); the bounds below hold it with a margin.
THRESHOLDS = {
    "saved_model": 1e-4,
    "none": 1e-4,
    "float16": 2e-2,
    # dcgan.fashion_mnist, kg.sampling.latents of seeds 0-3, 256 each: up to 0.35 (mean 0.005).
    "dynamic": 0.5,
    "int8": 0.9,
    "int16x8": 0.3,
}
MEAN_THRESHOLDS = {
    "saved_model": 1e-5,
    "none": 1e-5,
    "float16": 1e-3,
    "dynamic": 2e-2,
    "int8": 0.12,
    "int16x8": 1e-2,
}

#: Largest ``|images_uint8 - uint8(images)|`` accepted within one artifact
#: (the ``uint8_consistent`` check): the artifact's own float ``images``
#: rounded as ``images_uint8`` is defined, in every mode (int8 included). One
#: level leaves room for a fused multiply-add rounding a .5 the other way.
UINT8_TOLERANCE = 1


def _to_uint8(images):
    # The exported images_uint8 output in numpy (np.round is half-to-even like tf.round).
    return np.round(np.clip(images, -1.0, 1.0) * np.float32(127.5) + np.float32(127.5)).astype(np.uint8)


def _artifact_format(artifact):
    path = os.fspath(artifact)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return "saved_model"
        numeric = sorted((d for d in os.listdir(path) if d.isdigit()), key=int)
        hint = f" (its versions: {', '.join(numeric)}; pass {os.path.join(path, numeric[-1])})" if numeric else ""
        raise ValueError(f"{path} is not a SavedModel folder (no saved_model.pb){hint}.")
    if path.endswith(".tflite"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} does not exist: pass a file written by kg.export.tflite.")
        return "tflite"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: pass a SavedModel version folder or a .tflite file.")
    raise ValueError(f"{path} is neither a SavedModel folder nor a .tflite file.")


def _compare(images, images_uint8, reference, uint8_tolerance=UINT8_TOLERANCE):
    images = np.asarray(images, "float32")
    diff = np.abs(images - reference)
    own = np.abs(np.asarray(images_uint8).astype(int) - _to_uint8(images).astype(int))
    return {
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "uint8_max_abs_diff": int(np.abs(np.asarray(images_uint8).astype(int) - _to_uint8(reference).astype(int)).max()),
        # images_uint8 must be the artifact's own images in uint8, to
        # rounding, in every format and quantization mode.
        "uint8_own_max_abs_diff": int(own.max()),
        "uint8_consistent": bool(own.max() <= uint8_tolerance),
    }


def _check_inputs(found, expected, artifact):
    if sorted(found) != sorted(expected):
        raise ValueError(
            f"{artifact} takes inputs {sorted(found)} but the reference generator takes "
            f"{sorted(expected)}: compare an artifact with the model it was exported from."
        )


#: The ``truncation`` values the ``sample`` / ``sample_labels`` signatures are
#: verified at: 1.0 (no truncation) and one psi < 1, so a signature that
#: ignored its ``truncation`` input would fail.
VERIFY_TRUNCATIONS = (1.0, 0.5)


def _run_sample(signature, source, feed, n, seed, **inputs):
    """Compare a ``sample`` / ``sample_labels`` signature with the Keras generator.

    It runs at each of ``VERIFY_TRUNCATIONS`` (a SavedModel exported before
    ``truncation`` existed takes none: it runs untruncated) and the report
    covers the images of every run.
    """
    import tensorflow as tf

    from keras_gans.export.saved_model import stateless_latent

    takes = signature.structured_input_signature[1]
    truncations = VERIFY_TRUNCATIONS if "truncation" in takes else (None,)
    images, images_uint8, reference = [], [], []
    for psi in truncations:
        call = dict(inputs, seed=tf.constant(seed, tf.int64))
        if psi is not None:
            call["truncation"] = tf.constant(psi, tf.float32)
        out = signature(**call)
        images.append(out["images"].numpy())
        images_uint8.append(out["images_uint8"].numpy())
        if source.sampling is not None:
            # w-space truncation: the model's own sampling of the signature's z.
            z = stateless_latent(n, seed, source.latent_dim)
            reference.append(source.sampling.images_from_latents(z, truncation=psi))
        else:
            reference.append(
                source.run_keras(dict(feed, z=stateless_latent(n, seed, source.latent_dim, truncation=psi)))
            )
    return _compare(np.concatenate(images), np.concatenate(images_uint8), np.concatenate(reference))


def _compare_values(values, reference):
    """``_compare`` for outputs that are not images (the ``ws`` of ``mapping``)."""
    diff = np.abs(np.asarray(values, "float32") - np.asarray(reference, "float32"))
    return {"max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean())}


def mixed_styles(sampling, n, seed):
    """Styles ``[n, num_ws, w_dim]`` that are not one repeated ``w``: the ``verify`` input of ``synthesis``.

    Rows below ``num_ws // 2`` are the ``ws`` of ``kg.sampling.latents(n,
    latent_dim, seed)`` truncated by 0.5, the others those of ``seed + 1``
    untruncated: a style mix with a truncated coarse half.
    """
    from keras_gans.sampling import latents

    coarse = sampling.ws_from_latents(latents(n, sampling.latent_dim, seed), truncation=0.5)
    fine = sampling.ws_from_latents(latents(n, sampling.latent_dim, seed + 1))
    rows = (np.arange(sampling.num_ws) < sampling.num_ws // 2)[None, :, None]
    return np.where(rows, coarse, fine).astype("float32")


def _run_styles(loaded, source, feed, n, seed):
    """Compare ``mapping`` (at ``VERIFY_TRUNCATIONS``) and ``synthesis`` (on mixed styles) with Keras."""
    import tensorflow as tf

    sampling, results = source.sampling, {}
    if "mapping" in loaded.signatures:
        ws, reference = [], []
        for psi in VERIFY_TRUNCATIONS:
            out = loaded.signatures["mapping"](z=tf.constant(feed["z"]), truncation=tf.constant(psi, tf.float32))
            ws.append(out["ws"].numpy())
            reference.append(sampling.ws_from_latents(feed["z"], truncation=psi))
        results["mapping"] = _compare_values(np.concatenate(ws), np.concatenate(reference))
    if "synthesis" in loaded.signatures:
        styles = mixed_styles(sampling, n, seed)
        out = loaded.signatures["synthesis"](ws=tf.constant(styles))
        results["synthesis"] = _compare(
            out["images"].numpy(), out["images_uint8"].numpy(), sampling.images_from_ws(styles)
        )
    return results


def encode_inputs(source, feed):
    """The images ``encode`` is verified on: the generator's own images of ``feed``, in [-1, 1]."""
    return np.clip(source.run_keras(feed), -1.0, 1.0).astype("float32")


def _compare_encode(out, source, images):
    """``encode``'s ``z_mean`` and ``z_log_var`` against the Keras encoder on the same images."""
    mean, log_var = source.run_encoder(images)
    return _compare_values(
        np.concatenate([np.asarray(out["z_mean"]), np.asarray(out["z_log_var"])]),
        np.concatenate([mean, log_var]),
    )


def _run_saved_model(path, source, inputs, n, seed):
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    signature = loaded.signatures["serving_default"]
    _check_inputs(signature.structured_input_signature[1], inputs, path)
    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    out = signature(**tensors)
    results = {"serving_default": _compare(out["images"].numpy(), out["images_uint8"].numpy(), source.run_keras(inputs))}
    if source.kind != IMAGE and "sample" in loaded.signatures:
        feed = {}
        if source.kind == CONDITIONAL:
            feed["labels"] = (np.arange(n) % source.num_classes).astype("int32")
        results["sample"] = _run_sample(
            loaded.signatures["sample"], source, feed, n, seed, batch_size=tf.constant(n, tf.int32)
        )
        if source.kind == CONDITIONAL and "sample_labels" in loaded.signatures:
            feed["labels"] = ((np.arange(n) * 3 + 1) % source.num_classes).astype("int32")
            results["sample_labels"] = _run_sample(
                loaded.signatures["sample_labels"], source, feed, n, seed, labels=tf.constant(feed["labels"])
            )
    if source.sampling is not None:
        results.update(_run_styles(loaded, source, inputs, n, seed))
    if source.encoder is not None and "encode" in loaded.signatures:
        images = encode_inputs(source, inputs)
        results["encode"] = _compare_encode(
            loaded.signatures["encode"](images=tf.constant(images)), source, images
        )
    return results, f"tensorflow {tf.__version__}", "saved_model"


def _run_tflite(path, source, inputs):
    import ai_edge_litert
    from ai_edge_litert.interpreter import Interpreter

    from keras_gans.export.tflite import describe

    quantize = describe(path)["quantize"]
    interpreter = Interpreter(model_path=path)
    signatures = interpreter.get_signature_list()
    if "serving_default" not in signatures:
        raise ValueError(f"{path} has no serving_default signature (it has {sorted(signatures)}).")
    _check_inputs(signatures["serving_default"]["inputs"], inputs, path)
    runner = interpreter.get_signature_runner("serving_default")
    out = runner(**inputs)
    version = getattr(ai_edge_litert, "__version__", None)
    runtime = "ai_edge_litert" + (f" {version}" if version else "")
    # Every mode, int8 included, computes images_uint8 from the float images
    # output with float ops (kg.export.tflite keeps that tail out of int8
    # quantization), so the two agree within rounding: 1 level.
    results = {"serving_default": _compare(out["images"], out["images_uint8"], source.run_keras(inputs))}
    if source.encoder is not None and "encode" in signatures:
        images = encode_inputs(source, inputs)
        results["encode"] = _compare_encode(interpreter.get_signature_runner("encode")(images=images), source, images)
    return results, runtime, quantize


def verify(artifact, reference, n=16, seed=0, inputs=None, threshold=None, mean_threshold=None):
    """Run an exported artifact and the Keras model on the same inputs; report the difference.

    The artifact runs in its real runtime: a SavedModel through
    ``tf.saved_model.load`` (``serving_default``, and ``sample`` /
    ``sample_labels`` at each ``truncation`` of ``VERIFY_TRUNCATIONS``, 1.0
    and 0.5, against the Keras generator fed the latents they draw, times
    ``psi``), a ``.tflite`` file through ``ai_edge_litert``'s signature runner.
    A family that truncates in ``w`` space (``source.sampling``, StyleGAN2)
    has ``sample`` compared with the model's own ``w``-space sampling of
    those latents (``gan.generate_from_latents(z, truncation=psi)``),
    ``mapping`` with ``gan.w_from_latents`` at both truncations and
    ``synthesis`` with ``gan.generate_from_ws`` on mixed styles
    (``mixed_styles``); the ``ws`` of ``mapping`` count toward the same
    thresholds as images. A family with an encoder has ``encode`` (in both
    runtimes) compared with the Keras encoder on the generator's own images
    of the inputs (``encode_inputs``); its ``z_mean`` and ``z_log_var``
    count toward the thresholds too.

    Args:
        artifact: a SavedModel version folder or a ``.tflite`` file.
        reference: the model it was exported from: a GAN, a generator
            ``keras.Model``, a ``.keras`` path or a zoo name.
        n: int, examples to compare.
        seed: int, seed of the latents (``kg.sampling.latents``, the
            model's own) and of the ``sample`` signature.
        inputs: optional ``{"z": ..., "labels": ...}`` or ``{"images": ...}``
            to compare on (the default for image-to-image generators is uniform
            noise; pass real held-out images for a meaningful int8 figure, as
            ``kg.export.tflite(..., verify=True)`` and ``keras-gans export`` do).
        threshold: float, the largest accepted ``|keras - artifact|``; default
            ``THRESHOLDS`` for the artifact's kind and quantization.
        mean_threshold: float, the largest accepted mean ``|keras - artifact|``;
            default ``MEAN_THRESHOLDS``.

    Returns:
        dict: ``artifact``, ``format`` (``"saved_model"``/``"tflite"``),
        ``runtime``, ``quantize`` (read from the file for TFLite), ``n``,
        ``signatures`` (per signature: ``max_abs_diff``, ``mean_abs_diff``,
        ``uint8_max_abs_diff`` against the Keras images in uint8,
        ``uint8_own_max_abs_diff`` against the artifact's own float images,
        ``uint8_consistent``), the worst ``max_abs_diff`` and the mean
        ``mean_abs_diff`` over them, ``threshold``, ``mean_threshold`` and
        ``passed`` (both bounds hold and ``images_uint8`` is the artifact's
        own ``images`` in uint8 within 1 level, in every mode).

    Example:
        >>> report = kg.export.verify("serving/dcgan/1", gan)  # doctest: +SKIP
        >>> report["passed"], report["max_abs_diff"] < 1e-4  # doctest: +SKIP
        (True, True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}.")
    artifact = os.path.abspath(os.fspath(artifact))
    kind = _artifact_format(artifact)
    source = resolve(reference)
    if inputs is None:
        feed = source.example_inputs(int(n), seed)
    elif isinstance(inputs, dict):
        feed = {k: np.asarray(v) for k, v in inputs.items()}
        if "images" in feed and feed["images"].dtype == np.uint8:
            feed["images"] = feed["images"].astype("float32") / 127.5 - 1.0
        feed = {k: v.astype("int32") if k == "labels" else v.astype("float32") for k, v in feed.items()}
    elif source.kind == IMAGE:
        feed = source.example_inputs(len(inputs), seed, images=inputs)
        if np.asarray(inputs).dtype == np.uint8:
            feed["images"] = np.asarray(inputs).astype("float32") / 127.5 - 1.0
    else:
        raise ValueError("inputs must be a dict {'z': ..., 'labels': ...} for latent generators.")
    _check_inputs(feed, source.example_inputs(1), "inputs")
    n = len(next(iter(feed.values())))
    if kind == "saved_model":
        results, runtime, quantize = _run_saved_model(artifact, source, feed, n, seed)
        mode = "saved_model"
    else:
        results, runtime, quantize = _run_tflite(artifact, source, feed)
        mode = quantize
    limit = THRESHOLDS[mode] if threshold is None else float(threshold)
    mean_limit = MEAN_THRESHOLDS[mode] if mean_threshold is None else float(mean_threshold)
    worst = max(r["max_abs_diff"] for r in results.values())
    mean = float(np.mean([r["mean_abs_diff"] for r in results.values()]))
    return {
        "artifact": artifact,
        "format": kind,
        "runtime": runtime,
        "quantize": quantize,
        "n": n,
        "signatures": results,
        "max_abs_diff": worst,
        "mean_abs_diff": mean,
        "threshold": limit,
        "mean_threshold": mean_limit,
        "passed": bool(
            worst <= limit and mean <= mean_limit
            and all(r.get("uint8_consistent", True) for r in results.values())
        ),
    }


def format_report(report):
    """One line for humans: ``max |keras - artifact| = ... (mean ...), threshold ...: ok``."""
    names = ", ".join(report["signatures"])
    verdict = "ok" if report["passed"] else "FAILED"
    mode = f" {report['quantize']}" if report["format"] == "tflite" else ""
    return (
        f"verify ({report['runtime']},{mode} {report['n']} inputs, {names}): "
        f"max |keras - artifact| = {report['max_abs_diff']:.3g} "
        f"(mean {report['mean_abs_diff']:.3g}), thresholds {report['threshold']:g} "
        f"(mean {report['mean_threshold']:g}): {verdict}"
    )
