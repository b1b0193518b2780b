"""Distributed training checks, run as a subprocess by the tests of this folder.

Logical devices and ``TF_CONFIG`` must be set before TensorFlow starts, so each
check runs in a fresh interpreter:

    python -m tests.distribute.distributed_check mirrored dcgan OUT.json
    python -m tests.distribute.distributed_check worker dcgan OUT.npz   # with TF_CONFIG
    python -m tests.distribute.distributed_check noise cyclegan OUT.json

``mirrored``: one step of a family on a global batch of 8 Fashion-MNIST test
images under ``MirroredStrategy`` over two logical CPUs, and one step of an
identical copy (same initial weights, same seed) on one device with the same
global batch; writes the largest weight difference between the two, the size
of the update, and both runs' logged losses.

``worker``: one worker of a ``MultiWorkerMirroredStrategy`` cluster (read from
``TF_CONFIG``): three steps, then every variable saved to ``OUT.npz``.

The networks are tiny. Generators use ``BatchNormalization(synchronized=True)``
so that a two-replica step normalizes with the statistics of the global batch,
as the single device does; per-replica batch norm (the Keras default) would
make the two runs differ by design, not by a bug of ``train_step``.
"""

import json
import os
import sys

FAMILIES = ("dcgan", "cgan", "wgan_gp", "cyclegan")
GLOBAL_BATCH = 8
LATENT = 16


def _logical_cpus(n):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    )


def _generator(conditional=False):
    import keras
    from keras import layers

    z = keras.Input((LATENT,), name="z")
    inputs, x = z, z
    if conditional:
        labels = keras.Input((), dtype="int32", name="labels")
        e = layers.Embedding(10, 4, name="embed")(labels)
        x = layers.Concatenate()([z, e])
        inputs = [z, labels]
    x = layers.Dense(7 * 7 * 8, use_bias=False)(x)
    x = layers.Reshape((7, 7, 8))(x)
    x = layers.BatchNormalization(synchronized=True)(x)
    x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(1, 4, strides=4, padding="same")(x)
    images = layers.Activation("tanh", dtype="float32")(x)
    return keras.Model(inputs, images, name="generator")


def _discriminator(name="discriminator"):
    import keras
    from keras import layers

    images = keras.Input((28, 28, 1))
    x = layers.Conv2D(8, 4, strides=2, padding="same")(images)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    return keras.Model(images, layers.Dense(1)(x), name=name)


def build(family, seed=3):
    """A compiled tiny GAN of ``family`` with SGD optimizers (updates linear in the gradients)."""
    import keras

    import keras_gans as kg

    sgd = lambda: keras.optimizers.SGD(0.05)  # noqa: E731
    if family == "dcgan":
        gan = kg.models.DCGAN(generator=_generator(), discriminator=_discriminator(), seed=seed)
    elif family == "wgan_gp":
        gan = kg.models.WGANGP(
            generator=_generator(), discriminator=_discriminator("critic"), critic_steps=2, seed=seed
        )
    elif family == "cgan":
        gan = kg.models.ConditionalGAN(
            generator=_generator(conditional=True),
            discriminator=kg.networks.cgan_discriminator(
                (28, 28, 1), num_classes=10, width=8, normalization=None
            ),
            seed=seed,
        )
    elif family == "cyclegan":
        # Instance norm (per example) and a pool larger than the batch: the
        # first step passes every fake through the pool unchanged.
        gan = kg.models.CycleGAN(
            image_shape=(28, 28, 1), width=4, n_blocks=1, n_downsamplings=2,
            discriminator_layers=2, pool_size=16, seed=seed,
        )
        gan.compile(g_optimizer=sgd(), d_optimizer=sgd(), g_ba_optimizer=sgd(), d_a_optimizer=sgd())
        return gan
    else:
        raise ValueError(f"unknown family {family!r}")
    gan.compile(g_optimizer=sgd(), d_optimizer=sgd())
    return gan


def batch(family, reorder_chunks=1, replicas=2):
    """The global batch as a tuple of arrays, Fashion-MNIST test images in [-1, 1].

    ``reorder_chunks``: WGAN-GP's critic step ``i`` takes chunk ``i`` of each
    replica's slice; the single device must see those chunks side by side.
    """
    import numpy as np

    from keras_gans.data import load_numpy

    images, labels = load_numpy("fashion_mnist", split="test")
    n = GLOBAL_BATCH
    if family == "cyclegan":
        a = images[labels == 7][:n]
        b = images[labels == 9][:n]
        arrays = (a, b)
    elif family == "cgan":
        arrays = (images[:n], labels[:n].astype("int32"))
    else:
        arrays = (images[:n],)
    arrays = tuple(
        x.astype("float32") / 127.5 - 1.0 if x.dtype == np.uint8 else x for x in arrays
    )
    if reorder_chunks > 1:
        local, chunk = n // replicas, n // replicas // reorder_chunks
        order = [
            r * local + c * chunk + k
            for c in range(reorder_chunks) for r in range(replicas) for k in range(chunk)
        ]
        arrays = tuple(x[order] for x in arrays)
    return arrays


def _dataset(arrays):
    import tensorflow as tf

    data = arrays[0] if len(arrays) == 1 else arrays
    return tf.data.Dataset.from_tensor_slices(data).batch(GLOBAL_BATCH, drop_remainder=True)


def _weights(gan):
    # Keyed by position: two copies built in one process get different
    # auto-generated layer names, but the same variable order.
    import numpy as np

    return {f"{i}:{v.path}": np.array(v.numpy()) for i, v in enumerate(gan.trainable_variables)}


def mirrored(family, out):
    _logical_cpus(2)
    import numpy as np
    import tensorflow as tf

    single = build(family)
    start = _weights(single)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        dist = build(family)
    for a, b in zip(single.trainable_variables, dist.trainable_variables):
        b.assign(a.numpy())
    chunks = 2 if family == "wgan_gp" else 1
    h_single = single.fit(_dataset(batch(family, reorder_chunks=chunks)), epochs=1, verbose=0)
    h_dist = dist.fit(_dataset(batch(family)), epochs=1, verbose=0)
    w_single, w_dist = _weights(single), list(_weights(dist).values())
    result = {
        "replicas": strategy.num_replicas_in_sync,
        "max_diff": max(
            float(np.max(np.abs(a - b))) for a, b in zip(w_single.values(), w_dist)
        ),
        "max_update": max(float(np.max(np.abs(w_single[k] - start[k]))) for k in w_single),
        "moved": sorted(k for k in w_single if not np.array_equal(w_single[k], start[k])),
        "n_variables": len(w_single),
        "logs_single": {k: float(v[-1]) for k, v in h_single.history.items()},
        "logs_dist": {k: float(v[-1]) for k, v in h_dist.history.items()},
    }
    with open(out, "w") as f:
        json.dump(result, f)


def noise(family, out):
    """Per-replica draws outside the latents: CycleGAN's pool coins, WGAN-GP's eval ``eps``.

    Under two replicas, each replica's draws of a local batch of 4 must be its
    rows of the draw a single device (same seed) makes for the global batch
    of 8. For WGAN-GP also ``evaluate`` (whose penalty uses those ``eps``)
    must log what a single device logs.
    """
    _logical_cpus(2)
    import numpy as np
    import tensorflow as tf

    local = GLOBAL_BATCH // 2
    single = build(family)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        dist = build(family)
    for a, b in zip(single.variables, dist.variables):
        b.assign(a.numpy())

    if family == "cyclegan":
        def draws(gan, n):
            return gan.pool_draws(n)
    elif family == "wgan_gp":
        def draws(gan, n):
            return (gan.penalty_eps(n, gan.eval_seed_generator),)
    else:
        raise ValueError(f"no per-replica draws to check for {family!r}")

    expected = [np.asarray(x) for x in tf.function(lambda: draws(single, GLOBAL_BATCH))()]
    per_replica = strategy.run(tf.function(lambda: draws(dist, local)))
    got = [
        [np.asarray(v) for v in strategy.experimental_local_results(x)] for x in per_replica
    ]
    result = {
        "replicas": strategy.num_replicas_in_sync,
        "expected": [x.ravel().astype("float64").tolist() for x in expected],
        "got": [[r.ravel().astype("float64").tolist() for r in x] for x in got],
    }
    if family == "wgan_gp":
        dist.reset_eval_noise()
        single.reset_eval_noise()
        ds = _dataset(batch(family))
        result["logs_single"] = single.evaluate(ds, verbose=0, return_dict=True)
        result["logs_dist"] = dist.evaluate(ds, verbose=0, return_dict=True)
    with open(out, "w") as f:
        json.dump(result, f)


def worker(family, out, steps=3):
    import numpy as np
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        gan = build(family)
    # Every worker reads the same batches; the strategy shards them by data.
    ds = _dataset(batch(family)).repeat()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    history = gan.fit(ds.with_options(options), epochs=1, steps_per_epoch=steps, verbose=0)
    arrays = {v.path.replace("/", "__"): np.array(v.numpy()) for v in gan.trainable_variables}
    arrays["__iterations"] = np.array(int(gan.g_optimizer.iterations.numpy()))
    arrays["__d_loss"] = np.array(history.history["d_loss"][-1])
    np.savez(out, **arrays)


if __name__ == "__main__":
    mode, family, out = sys.argv[1:4]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    {"mirrored": mirrored, "worker": worker, "noise": noise}[mode](family, out)
