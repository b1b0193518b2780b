"""Wall-clock time for DCGAN to reach a Frechet classifier distance, ours vs reference.

Both train the same networks (latent 64, width 32, batch 64, the zoo recipe's)
in alternating chunks of ``chunk`` steps, A B A B, so load hits both alike.
After each chunk FCD is measured with ``kg.metrics.evaluate`` (the shipped
classifier extractor, ``n`` samples against the test split); evaluation time
is not counted, nor is ``fit``'s start-up and teardown (the time inside
train steps is summed). A loop stops when its FCD reaches ``target`` or its training
time passes ``budget`` seconds. Called by ``train_throughput.py --quality``, or alone:

    python bench/time_to_quality.py --fcd 40 --seconds 600

``--precisions float32,mixed_bfloat16 --steps 2000`` instead trains ours once
per precision (same seed, same networks' sizes, same data order), in
alternating chunks, and prints the FCD each reaches at equal steps with the
training seconds: whether a faster policy costs quality.

    python bench/time_to_quality.py --precisions float32,mixed_bfloat16 --steps 2000 --n 5000
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def time_to_fcd(images, target=40.0, budget=600.0, chunk=200, n=2000, variants=()):
    """Return a Markdown table: training seconds and steps to reach ``target`` FCD.

    ``variants`` may hold ``"reuse_fakes"``: also train ours with
    ``reuse_fakes=True`` (one generator pass per step), so what the single
    pass costs in quality, if anything, shows.
    """
    import keras

    import keras_gans as kg
    from bench.references.dcgan import ReferenceDCGAN
    from bench.train_throughput import LATENT, WIDTH, pipeline, table, timed_fit

    ours = kg.models.DCGAN(latent_dim=LATENT, width=WIDTH, seed=0)
    ours.compile()
    g = kg.networks.dcgan_generator(LATENT, (28, 28, 1), width=WIDTH)
    d = kg.networks.dcgan_discriminator((28, 28, 1), width=WIDTH)
    ref = ReferenceDCGAN(d, g, LATENT, seed=0)
    adam = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
    ref.compile(adam(), adam(), keras.losses.BinaryCrossentropy(from_logits=True))
    runs = {
        "ours": {"fit": ours, "score": ours},
        "reference": {"fit": ref, "score": kg.models.DCGAN(generator=g, discriminator=d, seed=0)},
    }
    if "reuse_fakes" in variants:
        second = kg.models.DCGAN(latent_dim=LATENT, width=WIDTH, seed=0, reuse_fakes=True)
        second.compile()
        runs["ours reuse_fakes=True"] = {"fit": second, "score": second}
    for run in runs.values():
        run.update(ds=pipeline("images", 64, images, None), seconds=0.0, steps=0, fcd=None, done=False)
    extractor = kg.zoo.classifier_extractor()  # the FCD features, loaded once for every evaluation
    while not all(r["done"] for r in runs.values()):
        for name, run in runs.items():
            if run["done"]:
                continue
            run["seconds"] += timed_fit(run["fit"], run["ds"], chunk)
            run["steps"] += chunk
            run["fcd"] = kg.metrics.evaluate(run["score"], n=n, extractor=extractor)["frechet_distance"]
            print(f"  {name}: {run['steps']} steps, {run['seconds']:.0f} s, FCD {run['fcd']:.1f}", flush=True)
            run["done"] = run["fcd"] <= target or run["seconds"] >= budget
    rows = [
        (name, run["steps"], f"{run['seconds']:.0f}" if run["fcd"] <= target else f">{run['seconds']:.0f}",
         f"{run['fcd']:.1f}")
        for name, run in runs.items()
    ]
    return (f"DCGAN time to FCD <= {target} (n={n}, chunks of {chunk} steps of batch 64, budget {budget:.0f} s)\n"
            + table(["loop", "steps", "train seconds", "last FCD"], rows))


def fcd_at_steps(images, precisions, steps=2000, chunk=500, n=5000, seed=0):
    """Return a Markdown table: FCD and training seconds of ours after ``steps`` steps per precision.

    Each precision trains a DCGAN with the zoo recipe's sizes from ``seed``
    (the same initial weights: the float32 model's are copied into the
    others) on the same pipeline order, in alternating chunks of ``chunk``
    steps (the first two, which trace, untimed); FCD is measured once at the end with ``n`` samples against the
    test split and the shipped classifier extractor.
    """
    import keras_gans as kg
    from bench.train_throughput import LATENT, WIDTH, pipeline, table, timed_fit

    runs = {}
    for precision in precisions:
        gan = kg.models.DCGAN(latent_dim=LATENT, width=WIDTH, seed=seed, precision=precision)
        if runs:
            first = next(iter(runs.values()))["gan"]
            gan.generator.set_weights(first.generator.get_weights())
            gan.discriminator.set_weights(first.discriminator.get_weights())
        gan.compile()
        runs[precision] = {"gan": gan, "ds": pipeline("images", 64, images, None), "seconds": 0.0}
    warm_up = 2  # untimed: the first steps trace the train function
    for run in runs.values():
        timed_fit(run["gan"], run["ds"], warm_up)
    for start in range(warm_up, steps, chunk):
        for run in runs.values():
            run["seconds"] += timed_fit(run["gan"], run["ds"], min(chunk, steps - start))
    extractor = kg.zoo.classifier_extractor()
    rows = []
    for precision, run in runs.items():
        fcd = kg.metrics.evaluate(run["gan"], n=n, extractor=extractor)["frechet_distance"]
        rows.append((precision, steps, f"{run['seconds']:.0f}", f"{1000 * run['seconds'] / (steps - warm_up):.1f}", f"{fcd:.2f}"))
        print(f"  {precision}: {steps} steps, {run['seconds']:.0f} s, FCD {fcd:.2f}", flush=True)
    return (f"DCGAN FCD at {steps} steps per precision (n={n}, batch 64, seed {seed}, chunks of {chunk} interleaved)\n"
            + table(["precision", "steps", "train seconds", "ms/step", "FCD"], rows))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fcd", type=float, default=40.0, help="target Frechet classifier distance")
    p.add_argument("--seconds", type=float, default=600.0, help="training budget of each loop")
    p.add_argument("--chunk", type=int, default=200, help="steps between evaluations")
    p.add_argument("--n", type=int, default=2000, help="samples per evaluation")
    p.add_argument("--variants", default="", help="'reuse_fakes': also ours with reuse_fakes=True")
    p.add_argument("--precisions", default="",
                   help="instead: FCD at --steps steps for each of these precisions (comma list)")
    p.add_argument("--steps", type=int, default=2000, help="steps per precision with --precisions")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.precisions:
        import keras_gans as kg

        images, _ = kg.data.load_numpy("fashion_mnist", split="train")
        chosen = [v for v in args.precisions.split(",") if v]
        print(fcd_at_steps(images, chosen, steps=args.steps, chunk=min(args.chunk, args.steps), n=args.n,
                           seed=args.seed))
        return
    variants = [v for v in args.variants.split(",") if v]
    if any(v != "reuse_fakes" for v in variants):
        p.error(f"unknown variant in {args.variants!r}: the one variant is reuse_fakes")
    import keras_gans as kg

    images, _ = kg.data.load_numpy("fashion_mnist", split="train")
    print(time_to_fcd(images, args.fcd, args.seconds, chunk=args.chunk, n=args.n, variants=variants))


if __name__ == "__main__":
    main()
