"""Training throughput of keras-gans against keras.io-style training loops.

For each family (dcgan, cgan, wgan_gp, cyclegan) the keras-gans model with
its defaults (``compile()``, float32, Keras' default jit) and the
keras.io-style reference in ``bench/references/`` train the SAME networks.

Train steps: both fit one in-memory Fashion-MNIST pipeline. Timing
alternates A B A B: a warm-up ``fit`` per model (tracing), then ``--rounds``
timed ``fit`` calls of ``--steps`` steps each, interleaved, so machine load
hits both alike. A callback sums the time inside the train steps, so fit's
start-up and the teardown of its iterator are not counted. The table gives
the median images/s and ours / reference.

End to end (``--epochs N``): each loop runs ``fit(ds, epochs=N)`` on its own
finite pipeline of ``--batches`` steps an epoch, ours on what ``kg.data.load``
builds, the reference on the pipeline keras.io's examples build; the time is
the wall clock of the whole fit, as a user waits for it.

Levers (``--variants``), each a row timed in the same interleaved rounds, with
its ratio to the reference and to ours with the defaults:

- ``two_calls``: ours with the discriminator called once per batch (real, then
  fake) where the default calls it once on both (families whose discriminator
  has no batch norm: WGAN-GP's critic); ``sn`` / ``sn_two_calls``: ours with
  ``spectral_norm=True`` (no batch norm, so one fused call) and the same with
  two calls; these train a different discriminator than the reference.
- ``bf16``: ``precision="mixed_bfloat16"``; ``auto``: ``precision="auto"``
  (what it resolves to here is printed above the table).
- ``steps``: ``compile(steps_per_execution=5)``; ``jit``: ``jit_compile=True``;
  ``reuse_fakes``: one generator pass per step.
- ``keras_bn`` / ``ref_keras_bn``: ours / the reference on the same networks
  with ``keras.layers.BatchNormalization`` in place of
  ``kg.networks.BatchNormalization`` (same layer, unfused training pass):
  what the fused kernel is worth to each loop (families without batch norm
  skip the rows).

The CPU model and the flags that decide ``precision="auto"`` are printed
above the table: per-step figures depend on them.

Images per step: the fit batch for dcgan, cgan and cyclegan (each side of an
unpaired pair counts once); for wgan_gp the real images the critic steps
consume (ours splits a batch of 5 x 64 into five critic steps, the keras.io
loop reuses one batch of 64 five times: both are 320 critic images a step).

It also counts the FLOPs of one DCGAN train step with TF's profiler (float
operations of the traced graph: convolutions, their gradients, matmuls) and
measures this machine's float32 and bfloat16 matmul peaks with large
``tf.matmul`` products; the DCGAN's share is of the peak of the dtype our
default precision computes in.

Run (one command, prints the tables):

    python bench/train_throughput.py [--rounds 3] [--steps 20] [--families dcgan,cgan]
    python bench/train_throughput.py --variants two_calls,sn,sn_two_calls,bf16,steps   # the levers
    python bench/train_throughput.py --variants f32   # our default precision ("auto") against float32
    python bench/train_throughput.py --epochs 3 --batches 50   # + the end-to-end table
    python bench/train_throughput.py --quality   # + time to FCD on DCGAN (minutes)
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_gans as kg  # noqa: E402
from bench.references.cgan import ReferenceConditionalGAN  # noqa: E402
from bench.references.cyclegan import ReferenceCycleGAN  # noqa: E402
from bench.references.dcgan import ReferenceDCGAN  # noqa: E402
from bench.references.wgan_gp import ReferenceWGANGP  # noqa: E402

LATENT, WIDTH = 64, 32  # the Fashion-MNIST zoo recipes' sizes
#: matmul FLOP/s per dtype ("float32", "bfloat16"), measured beside the DCGAN timings
PEAKS = {"float32": [], "bfloat16": []}
LEVERS = {  # flag name: (row name, constructor overrides, compile arguments or None)
    "two_calls": ("ours two D calls", {"unfused": True}, {}),
    "sn": ("ours spectral_norm (1 D call)", {"spectral_norm": True}, {}),
    "sn_two_calls": ("ours spectral_norm, two D calls", {"spectral_norm": True, "unfused": True}, {}),
    "reuse_fakes": ("ours reuse_fakes=True", {"reuse_fakes": True}, {}),
    "jit": ("ours jit_compile=True", {}, {"jit_compile": True}),
    "steps": ("ours steps_per_execution=5", {}, {"steps_per_execution": 5}),
    "bf16": ("ours mixed_bfloat16", {"precision": "mixed_bfloat16"}, {}),
    "f32": ("ours float32", {"precision": "float32"}, {}),
    "auto": ("ours precision='auto'", {"precision": "auto"}, {}),
    "keras_bn": ("ours, Keras batch norm", {"keras_bn": True}, {}),
    "ref_keras_bn": ("reference, Keras batch norm", {"reference_keras_bn": True}, None),
}


def _adam(rate=2e-4, b1=0.5, b2=0.999):
    return keras.optimizers.Adam(rate, beta_1=b1, beta_2=b2)


def two_calls(cls):
    """``cls`` with its discriminator called once per batch, whatever its layers (the unfused step)."""
    return type(f"{cls.__name__}TwoCalls", (cls,), {"fuses_discriminator": lambda self, network=None: False})


def keras_batch_norm(network):
    """A copy of ``network`` (same weights) with ``keras.layers.BatchNormalization``
    wherever it has ``kg.networks.BatchNormalization``; ``None`` if it has none."""
    if not any(isinstance(layer, kg.networks.BatchNormalization) for layer in network.layers):
        return None

    def swap(layer):
        cls = type(layer)
        if isinstance(layer, kg.networks.BatchNormalization):
            cls = keras.layers.BatchNormalization
        return cls.from_config(layer.get_config())

    clone = keras.models.clone_model(network, clone_function=swap)
    clone.set_weights(network.get_weights())
    return clone


def make_pair(family, seed=0, unfused=False, keras_bn=False, reference_keras_bn=False, _nets=None, **overrides):
    """``(ours, reference, batch_size, images_per_step, data_kind)`` on the same networks.

    ``overrides`` (constructor arguments such as ``precision`` or
    ``reuse_fakes``) rebuild ours with fresh default networks and no
    reference; ``unfused=True`` rebuilds it with two discriminator calls.
    ``keras_bn=True`` gives ours, and ``reference_keras_bn=True`` the
    reference (in the first place), on the same networks with Keras' own batch
    norm layer; ``None`` where the networks have no batch norm. ``_nets``
    maps each network before the reference gets it.
    """
    _nets = _nets or (lambda net: net)
    if keras_bn or reference_keras_bn:
        ours = make_pair(family, seed)[0]
        copies = {key: keras_batch_norm(getattr(ours, key)) for key in ours.network_keys}
        if all(copy is None for copy in copies.values()):
            return None, None, None, None, None
        if reference_keras_bn:
            return make_pair(family, seed, _nets=lambda net: keras_batch_norm(net) or net)[1], None, None, None, None
        swapped = {key: copy or getattr(ours, key) for key, copy in copies.items()}
        config = {**ours.get_config(), **{k: keras.saving.serialize_keras_object(v) for k, v in swapped.items()}}
        model = type(ours).from_config(config)
        for key, net in swapped.items():  # a config carries no weights
            getattr(model, key).set_weights(net.get_weights())
        return model, None, None, None, None
    if overrides or unfused:
        ours = make_pair(family, seed)[0]
        config = {**ours.get_config(), **overrides}
        for key in ours.network_keys:
            config[key] = None
        cls = two_calls(type(ours)) if unfused else type(ours)
        return cls.from_config(config), None, None, None, None
    if family == "dcgan":
        ours = kg.models.DCGAN(latent_dim=LATENT, width=WIDTH, seed=seed)
        ref = ReferenceDCGAN(
            _nets(kg.networks.dcgan_discriminator((28, 28, 1), width=WIDTH)),
            _nets(kg.networks.dcgan_generator(LATENT, (28, 28, 1), width=WIDTH)), LATENT,
        )
        ref.compile(_adam(), _adam(), keras.losses.BinaryCrossentropy(from_logits=True))
        return ours, ref, 64, 64, "images"
    if family == "cgan":
        ours = kg.models.ConditionalGAN(latent_dim=LATENT, width=WIDTH, seed=seed)
        ref = ReferenceConditionalGAN(
            _nets(kg.networks.cgan_discriminator((28, 28, 1), width=WIDTH)),
            _nets(kg.networks.cgan_generator(LATENT, (28, 28, 1), width=WIDTH)), LATENT,
        )
        ref.compile(_adam(), _adam(), keras.losses.BinaryCrossentropy(from_logits=True))
        return ours, ref, 64, 64, "labelled"
    if family == "wgan_gp":
        ours = kg.models.WGANGP(latent_dim=LATENT, width=WIDTH, critic_steps=5, seed=seed)
        ref = ReferenceWGANGP(
            _nets(kg.networks.dcgan_discriminator((28, 28, 1), width=WIDTH, normalization=None)),
            _nets(kg.networks.dcgan_generator(LATENT, (28, 28, 1), width=WIDTH)), LATENT,
            discriminator_extra_steps=5,
        )
        ref.compile(_adam(1e-4, 0.0, 0.9), _adam(1e-4, 0.0, 0.9))
        return ours, ref, (320, 64), 320, "images"
    if family == "cyclegan":
        kw = dict(image_shape=(28, 28, 1), width=16, n_blocks=3, seed=seed)
        ours = kg.models.CycleGAN(**kw)
        nets = kg.models.CycleGAN(**kw)
        ref = ReferenceCycleGAN(*map(_nets, (nets.generator, nets.generator_ba, nets.discriminator_a, nets.discriminator)))
        ref.compile(*[_adam() for _ in range(4)])
        return ours, ref, 16, 32, "unpaired"
    raise ValueError(f"unknown family {family!r}")


def pipeline(kind, batch_size, images, labels):
    """An endless, batched, prefetched in-memory pipeline of Fashion-MNIST train images."""
    x = images.astype("float32") / 127.5 - 1.0
    if kind == "labelled":
        ds = tf.data.Dataset.from_tensor_slices((x, labels.astype("int32")))
    elif kind == "unpaired":
        a, b = x[labels == 7], x[labels == 9]
        n = min(len(a), len(b))
        ds = tf.data.Dataset.from_tensor_slices((a[:n], b[:n]))
    else:
        ds = tf.data.Dataset.from_tensor_slices(x)
    ds = ds.shuffle(10000, seed=0).repeat().batch(batch_size, drop_remainder=True)
    return kg.data.prefetched(ds)


def keras_io_pipeline(kind, batch_size, x, labels):
    """A finite pipeline the way the keras.io GAN examples build one.

    ``from_tensor_slices`` of arrays scaled beforehand, ``shuffle(1024)``,
    ``batch``, ``prefetch(AUTOTUNE)``, under tf.data's default options
    (autotuning on); CycleGAN zips two independently shuffled domains.
    """
    x = x.astype("float32") / 127.5 - 1.0
    if kind == "unpaired":
        a, b = x
        domains = [tf.data.Dataset.from_tensor_slices(d).shuffle(1024, seed=i).batch(batch_size, drop_remainder=True)
                   for i, d in enumerate((a, b))]
        return tf.data.Dataset.zip(tuple(domains)).prefetch(tf.data.AUTOTUNE)
    elements = (x, labels.astype("int32")) if kind == "labelled" else x
    ds = tf.data.Dataset.from_tensor_slices(elements).shuffle(1024, seed=0)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def epoch_data(kind, batch_size, batches, images, labels):
    """The first ``batches x batch_size`` training images (CycleGAN: of each domain) and labels."""
    n = batches * batch_size
    if kind == "unpaired":
        return np.stack([images[labels == 7][:n], images[labels == 9][:n]]), None
    return images[:n], labels[:n]


def epoch_throughput(families, rounds, epochs, batches, images, labels):
    """End to end: ``fit(ds, epochs=...)`` on each loop's own finite pipeline, wall clock.

    Ours trains on ``kg.data.to_pipeline`` / ``kg.data.load_unpaired`` (what
    ``kg.data.load`` builds), the reference on :func:`keras_io_pipeline`;
    every epoch is ``batches`` steps for both. Images/s counts the same
    images per step as the step table; the time is the whole ``fit``.
    """
    rows = []
    for family in families:
        ours, ref, batch, per_step, kind = make_pair(family)
        ours.compile()
        b_ours, b_ref = batch if isinstance(batch, tuple) else (batch, batch)
        x, y = epoch_data(kind, b_ours, batches, images, labels)
        if kind == "unpaired":
            ours_ds = kg.data.load_unpaired(x[0], x[1], batch_size=b_ours, seed=0)
        else:
            ours_ds = kg.data.to_pipeline(x, y if kind == "labelled" else None, batch_size=b_ours, seed=0)
        x, y = epoch_data(kind, b_ref, batches, images, labels)
        models = {"ours": (ours, ours_ds), "reference": (ref, keras_io_pipeline(kind, b_ref, x, y))}
        for model, ds in models.values():  # warm-up: trace and build
            model.fit(ds.take(2), epochs=1, verbose=0)
        times = {k: [] for k in models}
        for _ in range(rounds):
            for k, (model, ds) in models.items():
                start = time.perf_counter()
                model.fit(ds, epochs=epochs, verbose=0)
                times[k].append(time.perf_counter() - start)
        speed = {k: per_step * batches * epochs / statistics.median(t) for k, t in times.items()}
        for k in models:
            rows.append((family, k, speed[k], speed[k] / speed["reference"],
                         statistics.median(times[k]) / epochs))
        print(f"  {family} end to end: " + ", ".join(f"{k} {v:.0f} img/s" for k, v in speed.items()), flush=True)
    return rows


class StepTimer(keras.callbacks.Callback):
    """Seconds spent inside train steps (batch begin to batch end), summed: wall clock and process CPU.

    The process CPU time (all threads, ``time.process_time``) is what the
    steps cost this process; on a machine shared with other work it moves
    less with their load than the wall clock does.
    """

    def on_train_begin(self, logs=None):
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds += time.perf_counter() - self.start
        self.cpu_seconds += time.process_time() - self.cpu_start


def timed_fit(model, ds, steps, cpu=False):
    """Seconds the ``steps`` train steps of one ``fit`` took, start-up and teardown excluded.

    With ``steps_per_execution=k`` Keras calls the batch callbacks once per
    ``k`` steps, so the timer still covers every step; the generator
    optimizer's iterations confirm that ``steps`` steps ran. ``cpu=True``
    returns ``(wall seconds, process CPU seconds)``.
    """
    timer = StepTimer()
    counter = getattr(model, "g_optimizer", None)
    before = int(counter.iterations.numpy()) if counter is not None else None
    model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer])
    if counter is not None and int(counter.iterations.numpy()) - before != steps:
        raise RuntimeError(f"fit ran {int(counter.iterations.numpy()) - before} steps, not {steps}")
    return (timer.seconds, timer.cpu_seconds) if cpu else timer.seconds


def throughput(families, rounds, steps, images, labels, variants=()):
    rows = []
    for family in families:
        ours, ref, batch, per_step, kind = make_pair(family)
        ours.compile()
        b_ours, b_ref = batch if isinstance(batch, tuple) else (batch, batch)
        models = {"ours": (ours, pipeline(kind, b_ours, images, labels))}
        models["reference"] = (ref, pipeline(kind, b_ref, images, labels))
        for name, init, compile_kwargs in variants:
            if family == "cyclegan" and "reuse_fakes" in init:
                continue  # CycleGAN always reuses its translations
            extra = make_pair(family, **init)[0]
            if extra is None:
                continue  # no batch norm in these networks: the row would repeat another
            if init.get("unfused") and not kg.models.GAN.fuses_discriminator(extra):
                continue  # two calls by default already: the row would repeat another
            if compile_kwargs is not None:  # None: a reference, compiled already
                extra.compile(**compile_kwargs)
            b_extra = b_ref if init.get("reference_keras_bn") else b_ours
            models[name] = (extra, pipeline(kind, b_extra, images, labels))
        for model, ds in models.values():  # warm-up: trace and build
            timed_fit(model, ds, max(2, steps // 4))
        times = {k: [] for k in models}
        cpu = {k: [] for k in models}
        for _ in range(rounds):  # A B A B ...
            for k, (model, ds) in models.items():
                wall, used = timed_fit(model, ds, steps, cpu=True)
                times[k].append(wall)
                cpu[k].append(used)
                if family == "dcgan" and k == "ours":
                    # The ceiling is measured right after each timed fit, so
                    # machine load hits the step and the ceiling alike.
                    for dtype, peaks in PEAKS.items():
                        peaks.append(matmul_peak(reps=5, dtype=dtype))
        speed = {k: per_step * steps / statistics.median(t) for k, t in times.items()}
        for k in models:
            rows.append((family, k, speed[k], speed[k] / speed["reference"], speed[k] / speed["ours"],
                         1000 * statistics.median(times[k]) / steps, 1000 * statistics.median(cpu[k]) / steps))
        print(f"  {family}: " + ", ".join(f"{k} {v:.0f} img/s" for k, v in speed.items()), flush=True)
    return rows


def machine():
    """Lines naming the CPU, the flags that matter for bfloat16, and what precision='auto' picks."""
    from keras_gans.models.gan import auto_precision, cpu_flags

    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.partition(":")[2].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    flags = set(cpu_flags().split())
    shown = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "avx512_fp16")
    listed = " ".join(f"{f}={'yes' if f in flags else 'no'}" for f in shown)
    gpus = tf.config.list_physical_devices("GPU")
    device = f"GPU x{len(gpus)}" if gpus else "CPU"
    return [
        f"device: {device} ({os.cpu_count()} CPU cores); tensorflow {tf.__version__}, keras {keras.__version__}",
        f"cpu: {model}; {listed}",
        f"precision='auto' resolves to {auto_precision()} here",
    ]


def dcgan_step_flops(batch=64):
    """Float operations of one DCGAN train step on ``batch`` images, by TF's profiler."""
    gan = kg.models.DCGAN(latent_dim=LATENT, width=WIDTH, seed=0)
    gan.compile()
    gan.build_optimizers()
    fn = tf.function(gan.train_step).get_concrete_function(
        tf.TensorSpec([batch, 28, 28, 1], tf.float32)
    )
    from tensorflow.python.profiler import model_analyzer, option_builder

    opts = option_builder.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    return model_analyzer.profile(fn.graph, options=opts).total_float_ops


def matmul_peak(sizes=(1024, 2048), reps=10, dtype="float32"):
    """Measured ``dtype`` matmul FLOP/s of this machine: the best of ``reps`` products of each ``n x n`` size."""
    best = 0.0
    for n in sizes:
        a = tf.cast(tf.random.normal([n, n]), dtype)
        b = tf.cast(tf.random.normal([n, n]), dtype)

        @tf.function(autograph=False)
        def mm():
            return tf.reduce_sum(tf.matmul(a, b))

        mm()
        for _ in range(reps):
            t = time.perf_counter()
            mm().numpy()
            best = max(best, 2 * n**3 / (time.perf_counter() - t))
    return best


def table(header, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default="dcgan,cgan,wgan_gp,cyclegan")
    p.add_argument("--rounds", type=int, default=3, help="timed fits per model, alternating")
    p.add_argument("--steps", type=int, default=20, help="train steps per timed fit")
    p.add_argument("--variants", nargs="?", const="all", default="",
                   help="also time ours with other settings: 'all' (the default when the flag "
                        "has no value) or a comma list of " + ", ".join(LEVERS))
    p.add_argument("--epochs", type=int, default=0,
                   help="also time whole fits of this many epochs, each loop on its own pipeline")
    p.add_argument("--batches", type=int, default=100, help="steps per epoch of those fits")
    p.add_argument("--quality", action="store_true", help="also time-to-FCD for DCGAN (long)")
    p.add_argument("--quality-seconds", type=float, default=600)
    p.add_argument("--quality-fcd", type=float, default=40.0)
    args = p.parse_args(argv)

    images, labels = kg.data.load_numpy("fashion_mnist", split="train")
    print("\n".join(machine()))
    known = LEVERS
    chosen = list(known) if args.variants == "all" else [v for v in args.variants.split(",") if v]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        p.error(f"unknown variant {unknown[0]!r}: choose from {', '.join(known)} or all")
    variants = [known[v] for v in chosen]
    rows = throughput(args.families.split(","), args.rounds, args.steps, images, labels, variants)
    print()
    print(f"Train steps: median of {args.rounds} interleaved fits of {args.steps} steps each")
    header = ["family", "loop", "images/s", "vs reference"]
    cells = [[f, k, f"{s:.0f}", f"{r:.2f}x"] for f, k, s, r, *_ in rows]
    if variants:  # each lever against ours with the defaults, timed in the same rounds
        header += ["vs ours", "ms/step", "CPU ms/step"]
        cells = [c + [f"{o:.2f}x", f"{ms:.1f}", f"{used:.1f}"] for c, (*_, o, ms, used) in zip(cells, rows)]
    print(table(header, cells))

    if args.epochs:
        epoch_rows = epoch_throughput(args.families.split(","), args.rounds, args.epochs, args.batches, images, labels)
        print()
        print(f"End to end: fit(ds, epochs={args.epochs}), {args.batches} steps an epoch, median of "
              f"{args.rounds} fits; ours on kg.data's pipeline, the reference on keras.io's")
        print(table(["family", "loop", "images/s", "vs reference", "s per epoch"],
                    [(f, k, f"{s:.0f}", f"{r:.2f}x", f"{e:.2f}") for f, k, s, r, e in epoch_rows]))

    flops = dcgan_step_flops(64)
    beside = bool(PEAKS["float32"])
    peaks = {d: max(v) if v else matmul_peak(dtype=d) for d, v in PEAKS.items()}
    dcgan = [s for f, k, s, *_ in rows if f == "dcgan" and k == "ours"]
    precision = kg.models.gan.auto_precision()  # what "ours" (precision="auto") trains in
    print()
    print(f"DCGAN train step (batch 64, width {WIDTH}, latent {LATENT}): {flops / 1e9:.3f} GFLOP "
          "(TF profiler, float_operation of the traced step)")
    for dtype, peak in peaks.items():
        print(f"{dtype} matmul peak (1024x1024 and 2048x2048 tf.matmul, best of {5 * len(PEAKS[dtype]) or 10} each"
              f"{', beside the DCGAN timings' if beside else ''}): {peak / 1e9:.1f} GFLOP/s")
    if dcgan:
        achieved = flops * dcgan[0] / 64
        compute = keras.DTypePolicy(precision).compute_dtype  # the dtype the ceiling is taken in
        ceiling = peaks.get(compute, peaks["float32"])
        print(f"DCGAN achieved (ours, precision {precision}): {achieved / 1e9:.1f} GFLOP/s = "
              f"{100 * achieved / ceiling:.1f}% of the {compute if compute in peaks else 'float32'} matmul peak"
              + ("" if compute == "float32" else f", {100 * achieved / peaks['float32']:.1f}% of the float32 one"))

    if args.quality:
        from bench.time_to_quality import time_to_fcd

        print()
        print(time_to_fcd(images, args.quality_fcd, args.quality_seconds))


if __name__ == "__main__":
    main()
