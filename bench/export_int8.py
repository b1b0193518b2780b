"""Integer TFLite options on the zoo generators: error against Keras on held-out inputs, and file size.

    python bench/export_int8.py                 # cyclegan.sneaker2boot and dcgan.fashion_mnist
    python bench/export_int8.py --models dcgan.fashion_mnist --heldout 256

CycleGAN calibrates on the first ``--calibration`` real test sneakers
(Fashion-MNIST class 7, test split) and is measured on the test sneakers
after them (``--heldout``); latent generators calibrate on the default 256
latents of seed 0 (``kg.sampling.latents``) and are measured on ``--heldout``
latents of seed 1. Each row is one ``kg.export.tflite`` file run by
ai_edge_litert: max and mean ``|keras - artifact|`` on [-1, 1] images, the
share of pixels off by more than 0.25 (what reads as speckle), the bytes, and
whether ``kg.export.verify``'s thresholds for the mode hold.
"""

import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras_gans as kg  # noqa: E402

#: (label, quantize, float_layers): None is the default of kg.export.tflite.
CANDIDATES = [
    ("none", "none", None),
    ("float16", "float16", None),
    ("dynamic", "dynamic", None),
    ("int8, every layer int8", "int8", ()),
    ("int8, float normalization", "int8", "norm"),
    ("int8 (default: float norm + input side)", "int8", None),
    ("int16x8", "int16x8", None),
]


def sneakers(calibration, heldout):
    from keras_gans.data import idx

    folder = next(d for d in idx.idx_dirs("fashion_mnist") if idx.has_idx(d, "test"))
    images, labels = idx.load_idx_split(folder, "test")
    images = images[labels == 7].astype("float32") / 127.5 - 1.0
    return images[:calibration], images[calibration : calibration + heldout]


def measure(name, calibration=200, heldout=800):
    from keras_gans.export._source import IMAGE, resolve
    from keras_gans.export.tflite import float_layers_for

    source = resolve(name)
    if source.kind == IMAGE:
        calib, held = sneakers(calibration, heldout)
        feed = {"images": held}
    else:
        calib, feed = None, source.example_inputs(heldout, seed=1)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, quantize, layers in CANDIDATES:
            if layers == "norm":
                layers = [n for n in float_layers_for(source) if n.endswith("_norm")] if source.kind == IMAGE else None
                if layers is None:
                    continue  # batch norm folds into the convolutions: the same file as the default
            path = os.path.join(folder, f"{label.split()[0].strip(',')}-{len(rows)}.tflite")
            try:
                kg.export.tflite(
                    source, path, quantize=quantize,
                    representative_data=calib if quantize in ("int8", "int16x8") else None,
                    float_layers=layers,
                )
            except ValueError as err:
                rows.append((name, label, None, None, None, None, str(err).split(": ", 1)[-1][:70]))
                continue
            report = kg.export.verify(path, source, inputs=feed)
            runner = __import__("ai_edge_litert.interpreter", fromlist=["Interpreter"]).Interpreter(
                model_path=path
            ).get_signature_runner("serving_default")
            diff = np.abs(runner(**feed)["images"] - source.run_keras(feed))
            rows.append((
                name, label, report["max_abs_diff"], report["mean_abs_diff"],
                float(np.mean(diff > 0.25) * 100), os.path.getsize(path),
                "ok" if report["passed"] else "FAILED",
            ))
    return rows, len(next(iter(feed.values())))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="cyclegan.sneaker2boot,dcgan.fashion_mnist")
    parser.add_argument("--calibration", type=int, default=200, help="CycleGAN calibration sneakers")
    parser.add_argument("--heldout", type=int, default=800, help="held-out inputs measured on")
    args = parser.parse_args(argv)
    print("| model | mode | max abs diff | mean abs diff | pixels > 0.25 | size | verify |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        rows, n = measure(name, args.calibration, args.heldout)
        for model, label, worst, mean, speckle, size, verdict in rows:
            if worst is None:
                print(f"| {model} | {label} | - | - | - | - | refused: {verdict} |")
                continue
            print(f"| {model} ({n} held out) | {label} | {worst:.3f} | {mean:.4f} | {speckle:.2f}% | "
                  f"{size / 1000:.0f} kB | {verdict} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
