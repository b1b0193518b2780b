"""Latency and throughput of a generator: Keras vs SavedModel vs TFLite (each quantize mode).

    python bench/export_latency.py dcgan.fashion_mnist --repeats 20

For each runtime and batch size (1 and 64 by default) it times ``repeats``
calls after ``warmup`` calls on the same standard normal latents, and prints
the median latency, images per second, the size on disk and the largest
``|keras - artifact|`` from ``kg.export.verify`` (64 latents).
"""

import argparse
import os
import statistics
import tempfile
import time

import numpy as np


def _time(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?", default="dcgan.fashion_mnist", help="zoo name or .keras file")
    parser.add_argument("--batch-sizes", default="1,64")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    import keras_gans as kg
    from keras_gans.export._atomic import disk_size
    from keras_gans.export._source import resolve

    source = resolve(args.model)
    batches = [int(b) for b in args.batch_sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = sum(int(np.prod(v.shape)) * 4 for v in source.generator.weights)
        artifacts = [("keras predict", None, weights)]
        path = kg.export.saved_model(source, tmp, name="bench")
        artifacts.append(("SavedModel", path, disk_size(path)))
        for mode in kg.export.QUANTIZE_MODES:
            file = kg.export.tflite(source, os.path.join(tmp, f"{mode}.tflite"), quantize=mode)
            artifacts.append((f"TFLite {mode}", file, disk_size(file)))
        for label, artifact, size in artifacts:
            diff = "-" if artifact is None else f"{kg.export.verify(artifact, source, n=64)['max_abs_diff']:.2g}"
            if artifact is not None and artifact.endswith(".tflite"):
                interpreter = Interpreter(model_path=artifact, num_threads=os.cpu_count())
                runner = interpreter.get_signature_runner("serving_default")
            elif artifact is not None:
                signature = tf.saved_model.load(artifact).signatures["serving_default"]
            cells = []
            for batch in batches:
                feed = source.example_inputs(batch, seed=0)
                if artifact is None:
                    arrays = list(feed.values())
                    x = arrays if len(arrays) > 1 else arrays[0]
                    fn = lambda: source.generator.predict(x, batch_size=batch, verbose=0)  # noqa: E731
                elif artifact.endswith(".tflite"):
                    fn = lambda: runner(**feed)  # noqa: E731
                else:
                    tensors = {k: tf.constant(v) for k, v in feed.items()}
                    fn = lambda: signature(**tensors)  # noqa: E731
                seconds = _time(fn, args.warmup, args.repeats)
                cells.append((seconds * 1000, batch / seconds))
            rows.append((label, size, diff, cells))
    head = "| runtime | size on disk | max abs diff |" + "".join(
        f" batch {b}: ms | batch {b}: images/s |" for b in batches
    )
    print(f"{args.model}: {source.generator.count_params()} generator parameters; median of {args.repeats} "
          f"calls after {args.warmup} warm-up, {os.cpu_count()} CPU threads")
    print(head)
    print("|" + "---|" * (3 + 2 * len(batches)))
    for label, size, diff, cells in rows:
        line = f"| {label} | {size / 1e6:.2f} MB | {diff} |"
        line += "".join(f" {ms:.2f} | {ips:,.0f} |" for ms, ips in cells)
        print(line)
    print("keras predict size: float32 weights in memory (no file).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
