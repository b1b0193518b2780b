"""Time lost per epoch to tf.data's autotuning thread, with and without ``kg.data.prefetched``.

A DCGAN trains with ``fit`` on a finite Fashion-MNIST pipeline (``--batches``
batches an epoch), once built the way tf.data's defaults have it (autotuning
on) and once as ``kg.data.to_pipeline`` builds it (``prefetched``: autotuning
off), alternating. A callback times every step; what an epoch takes beyond its
steps is the pipeline's overhead, most of it the deletion of the previous
epoch's iterator, which with autotuning on can wait for the model thread's
next wake-up (5.1 s, 10.2 s, 20.5 s ... after the iterator was made).

Run (prints a table):

    python bench/data_pipeline.py [--batches 30,60] [--epochs 4] [--rounds 2] [--teardown 3,4.5,9]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

import keras_gans as kg  # noqa: E402
from bench.train_throughput import StepTimer, table  # noqa: E402


class EpochOverhead(StepTimer):
    """Per epoch: wall seconds, and seconds spent outside train steps."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start, self.seconds = time.perf_counter(), 0.0

    def on_epoch_end(self, epoch, logs=None):
        wall = time.perf_counter() - self.epoch_start
        self.epochs.append((wall, wall - self.seconds))


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


def teardown_waits(seconds_list, images):
    """``[(busy seconds, seconds the deletion took)]`` for an autotuned iterator.

    Each iterator is made, read while both cores run float32 matmuls for the
    given seconds, then deleted; the deletion's time is the wait for the
    autotuning thread (0 when it returns at once).
    """
    a = tf.random.normal([1024, 1024])

    @tf.function
    def busy():
        y = a
        for _ in range(5):
            y = tf.matmul(y, a) * 1e-3
        return tf.reduce_sum(y)

    waits = []
    for seconds in seconds_list:
        ds = kg.data.to_pipeline(images, batch_size=64, seed=0).repeat().with_options(_autotune(True))
        start = time.perf_counter()
        iterator = iter(ds)
        while time.perf_counter() - start < seconds:
            next(iterator)
            busy().numpy()
        ran = time.perf_counter() - start
        del iterator
        waits.append((ran, time.perf_counter() - start - ran))
        print(f"  busy {ran:.2f} s, deletion {waits[-1][1]:.3f} s", flush=True)
    return waits


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", default="30,60", help="comma list of batches per epoch")
    p.add_argument("--epochs", type=int, default=4, help="epochs per fit")
    p.add_argument("--rounds", type=int, default=2, help="fits per pipeline, alternating")
    p.add_argument("--teardown", default="",
                   help="comma list of seconds: also time deleting an autotuned iterator after that long")
    args = p.parse_args(argv)
    images, _ = kg.data.load_numpy("fashion_mnist", split="train")
    if args.teardown:
        waits = teardown_waits([float(v) for v in args.teardown.split(",")], images[:6400])
        print(table(["busy s", "deletion s", "ended at s"],
                    [(f"{r:.2f}", f"{w:.3f}", f"{r + w:.2f}") for r, w in waits]))
        print()
    gan = kg.models.DCGAN(latent_dim=64, width=32, seed=0)
    gan.compile()
    rows = []
    for batches in (int(b) for b in args.batches.split(",") if b):
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
    if not rows:
        return
    print()
    header = ["batches/epoch", "pipeline", "epochs", "mean epoch s", "mean s outside steps", "max s outside steps"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
