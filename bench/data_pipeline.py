"""Time lost per epoch to tf.data's autotuning thread, with and without ``kg.data.prefetched``.

A DCGAN trains with ``fit`` on a finite Fashion-MNIST pipeline (``--batches``
batches an epoch), once built the way tf.data's defaults have it (autotuning
on) and once as ``kg.data.to_pipeline`` builds it (``prefetched``: autotuning
off), alternating. A callback times every step; what an epoch takes beyond its
steps is the pipeline's overhead, most of it the deletion of the previous
epoch's iterator, which with autotuning on can wait for the model thread's
next wake-up (5.1 s, 10.2 s, 20.5 s ... after the iterator was made).

Run (prints a table):

    python bench/data_pipeline.py [--batches 30,60] [--epochs 4] [--rounds 2]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_gans as kg  # noqa: E402
from bench.train_throughput import table  # noqa: E402


class EpochOverhead(keras.callbacks.Callback):
    """Per epoch: wall seconds, and seconds spent outside train steps."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.in_steps = time.perf_counter(), 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self.step_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.in_steps += time.perf_counter() - self.step_start

    def on_epoch_end(self, epoch, logs=None):
        wall = time.perf_counter() - self.start
        self.epochs.append((wall, wall - self.in_steps))


def pipelines(images, batches):
    """``{name: dataset}``: the same finite pipeline with autotuning on and off."""
    x = images[: 64 * batches]
    ours = kg.data.to_pipeline(x, batch_size=64, seed=0)
    autotuned = ours.with_options(_autotune(True))
    return {"autotune on (tf.data default)": autotuned, "kg.data.prefetched (autotune off)": ours}


def _autotune(enabled):
    options = tf.data.Options()
    options.autotune.enabled = enabled
    return options


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", default="30,60", help="comma list of batches per epoch")
    p.add_argument("--epochs", type=int, default=4, help="epochs per fit")
    p.add_argument("--rounds", type=int, default=2, help="fits per pipeline, alternating")
    args = p.parse_args(argv)
    images, _ = kg.data.load_numpy("fashion_mnist", split="train")
    gan = kg.models.DCGAN(latent_dim=64, width=32, seed=0)
    gan.compile()
    rows = []
    for batches in (int(b) for b in args.batches.split(",")):
        sets = pipelines(images, batches)
        gan.fit(next(iter(sets.values())).take(2), epochs=1, verbose=0)  # trace
        results = {name: [] for name in sets}
        for _ in range(args.rounds):
            for name, ds in sets.items():
                cb = EpochOverhead()
                gan.fit(ds, epochs=args.epochs, verbose=0, callbacks=[cb])
                results[name] += cb.epochs[1:]  # an epoch's overhead shows in the next one
        for name, epochs in results.items():
            walls, lost = zip(*epochs)
            rows.append((batches, name, len(epochs), f"{statistics.mean(walls):.2f}",
                         f"{statistics.mean(lost):.2f}", f"{max(lost):.2f}"))
            print(f"  {batches} batches, {name}: lost {statistics.mean(lost):.2f} s/epoch", flush=True)
    print()
    header = ["batches/epoch", "pipeline", "epochs", "mean epoch s", "mean s outside steps", "max s outside steps"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
