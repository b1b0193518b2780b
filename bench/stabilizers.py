"""Ablation of the shared stabilizers on DCGAN: plain, +EMA, +SN, +R1, +DiffAugment.

Every variant trains the same DCGAN (latent 64, width 32, batch 64, the zoo
recipe's networks) on Fashion-MNIST train images for the same training time
(``--seconds``; the time inside train steps, summed over chunks of
``--chunk`` steps run in turn, A B C ... A B C, so machine load hits every
variant alike), then is scored by ``kg.metrics.evaluate`` (the zoo classifier
extractor, ``--n`` samples against the test split: FCD, KID, precision and
recall). ``img/s`` is real images per training second. A variant with an EMA
generator is scored with it (``generate`` uses it).

``--small-data`` is the data-efficiency check instead: 10% of the train split
(6,000 images, the first of a fixed permutation), no augmentation vs
DiffAugment vs ADA, each for the same number of steps (``--steps``);
``--policies`` lists the DiffAugment policies compared there (one row each),
``--score-at`` earlier step counts at which every variant is scored too,
``--spectral-norm`` gives every variant the spectral-norm discriminator
(``spectral_norm=True``: no batch norm), ``--d-width`` a discriminator of
that width (the generator keeps width 32), ``--no-ada`` leaves ADA out. Its
rows add the discriminator's ``E[sign(D(x))]`` (ADA's ``r_t``) on the 6,000
training images and on the next 6,000 of the permutation, which no variant
trains on: where the first is well above the second, the discriminator has
memorized its training set, the overfitting augmentation is meant to prevent.

    python bench/stabilizers.py --seconds 1800 --n 10000
    python bench/stabilizers.py --small-data --steps 6000 --n 10000
    python bench/stabilizers.py --small-data --steps 12000 --score-at 6000,9000 --policies translation
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: name -> constructor arguments of each ablation variant.
ABLATION = {
    "plain": {},
    "+EMA": {"ema_decay": 0.999},
    "+SN": {"spectral_norm": True},
    "+R1": {"r1_weight": 0.1},
    "+DiffAugment": {"augment": "translation,cutout,color"},
}
#: DiffAugment's policy in the small-data comparison unless ``--policies`` names others.
SMALL_DATA_POLICIES = ("translation,cutout,color",)


def small_data_variants(policies=SMALL_DATA_POLICIES, spectral_norm=False, ada=True):
    """name -> constructor arguments of the small-data comparison: none, each DiffAugment policy, ADA.

    ``spectral_norm=True`` gives every variant the spectral-norm discriminator;
    ``ada=False`` leaves ADA out.
    """
    variants = {"no augmentation": {}}
    for policy in policies:
        variants[f"DiffAugment ({policy})"] = {"augment": policy}
    if ada:
        variants["ADA"] = {"augment": "ada", "ada_kimg": 100}
    if spectral_norm:
        variants = {name: {**kw, "spectral_norm": True} for name, kw in variants.items()}
    return variants


BATCH = 64


def build(kwargs, precision="auto", d_width=None):
    """The variant's DCGAN, compiled; ``d_width`` widens (or narrows) its discriminator only."""
    import keras_gans as kg
    from bench.train_throughput import LATENT, WIDTH

    if d_width is not None:
        # the discriminator DCGAN builds at that width (its normalization, dtype and spectral norm)
        wide = kg.models.DCGAN(latent_dim=LATENT, width=d_width, seed=0, precision=precision, **kwargs)
        kwargs = {**kwargs, "discriminator": wide.discriminator}
    gan = kg.models.DCGAN(latent_dim=LATENT, width=WIDTH, seed=0, precision=precision, **kwargs)
    gan.compile()
    return gan


def score(gan, n, extractor):
    import keras_gans as kg

    report = kg.metrics.evaluate(gan, n=n, extractor=extractor)
    return [f"{report['frechet_distance']:.2f}", f"{report['kid_mean']:.4f}",
            f"{report['precision']:.3f}", f"{report['recall']:.3f}"]


def real_sign(gan, images, batch=BATCH):
    """``E[sign(D(x))]`` over ``images`` (uint8), unaugmented, in batches as training shows them.

    ADA's overfitting heuristic ``r_t``: near 1 when the discriminator calls
    nearly every image real. The discriminator runs in training mode (batch
    statistics, as in its updates); its non-trainable state (batch-norm
    moving statistics) is restored afterwards, so scoring leaves the model
    as it was.
    """
    import tensorflow as tf

    d = gan.discriminator
    saved = [v.numpy() for v in d.non_trainable_variables]
    x = images.astype("float32") / 127.5 - 1.0
    total = count = 0.0
    for i in range(0, len(x) - batch + 1, batch):
        out = d(tf.constant(x[i:i + batch]), training=True)
        total += float(tf.reduce_sum(tf.sign(tf.cast(out, "float32"))))
        count += batch
    for v, value in zip(d.non_trainable_variables, saved):
        v.assign(value)
    return total / count


def run(variants, images, n, seconds=None, steps=None, chunk=200, score_at=(), precision="auto",
        held_out=None, d_width=None):
    """Train every variant to the same budget (seconds, or steps) in turns; Markdown rows.

    With a step budget, ``score_at`` lists earlier step counts at which every
    variant is scored too (one row per variant and count, in step order), so
    one run shows how the comparison moves with the budget. With
    ``held_out`` images (never trained on), each row adds ``real_sign`` on
    the training images and on those: the gap between the two is how far
    the discriminator has memorized its training set. ``d_width`` gives
    every variant a discriminator of that width (the generator keeps width 32).
    """
    import keras_gans as kg
    from bench.train_throughput import pipeline, timed_fit

    runs = {name: {"gan": build(kw, precision, d_width), "seconds": 0.0, "steps": 0}
            for name, kw in variants.items()}
    for r in runs.values():
        r["ds"] = pipeline("images", BATCH, images, None)
    extractor = kg.zoo.classifier_extractor()
    budgets = [None] if steps is None else sorted({s for s in score_at if 0 < s < steps} | {steps})
    rows = []
    for budget in budgets:
        def done(r):
            return r["seconds"] >= seconds if budget is None else r["steps"] >= budget

        while not all(done(r) for r in runs.values()):
            for name, r in runs.items():
                if done(r):
                    continue
                todo = chunk if budget is None else min(chunk, budget - r["steps"])
                r["seconds"] += timed_fit(r["gan"], r["ds"], todo)
                r["steps"] += todo
                print(f"  {name}: {r['steps']} steps, {r['seconds']:.0f} s", flush=True)
        for name, r in runs.items():
            row = [name, r["steps"], f"{r['seconds']:.0f}"] + score(r["gan"], n, extractor)
            row.append(f"{r['steps'] * BATCH / max(r['seconds'], 1e-9):.0f}")
            if held_out is not None:
                row += [f"{real_sign(r['gan'], images):.3f}", f"{real_sign(r['gan'], held_out):.3f}"]
            rows.append(row)
            print("  scored " + " | ".join(str(v) for v in rows[-1]), flush=True)
    return rows


HEADER = ["variant", "steps", "train s", "FCD", "KID", "precision", "recall", "img/s"]
#: the small-data table's extra columns: ``real_sign`` on the training images and on held-out ones.
HELD_OUT_HEADER = ["sign D(train)", "sign D(held-out)"]


def main(argv=None):
    from bench.train_throughput import table

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=1800.0, help="training time of each ablation variant")
    p.add_argument("--chunk", type=int, default=200, help="steps per turn")
    p.add_argument("--n", type=int, default=10000, help="samples (and test images) per evaluation")
    p.add_argument("--small-data", action="store_true",
                   help="10%% of the train split: no augmentation vs DiffAugment vs ADA at equal steps")
    p.add_argument("--steps", type=int, default=6000, help="--small-data: train steps of each variant")
    p.add_argument("--policies", default=None,
                   help="--small-data: DiffAugment policies to compare, separated by ';' "
                        "(default 'translation,cutout,color')")
    p.add_argument("--score-at", default="",
                   help="--small-data: comma-separated earlier step counts at which every variant is scored too")
    p.add_argument("--spectral-norm", action="store_true",
                   help="--small-data: every variant's discriminator spectrally normalized (no batch norm)")
    p.add_argument("--no-ada", action="store_true", help="--small-data: leave the ADA variant out")
    p.add_argument("--d-width", type=int, default=None,
                   help="--small-data: every variant's discriminator width (default 32, the generator's)")
    p.add_argument("--precision", default="auto",
                   help="every variant's precision (default auto: what this machine computes fastest)")
    p.add_argument("--images", type=int, default=None, help="use only this many train images (tests)")
    args = p.parse_args(argv)
    import numpy as np

    import keras_gans as kg
    from keras_gans.models.gan import check_precision
    from keras_gans.networks.augment import check_augment

    precision = check_precision(args.precision)

    images, _ = kg.data.load_numpy("fashion_mnist", split="train")
    held_out = None
    if args.small_data:
        order = np.random.default_rng(0).permutation(len(images))
        tenth = len(images) // 10
        # the next tenth of the same permutation: train-split images the variants never see
        images, held_out = images[np.sort(order[:tenth])], images[np.sort(order[tenth:2 * tenth])]
    if args.images:
        images = images[: args.images]
        held_out = None if held_out is None else held_out[: args.images]
    if args.small_data:
        policies = args.policies.split(";") if args.policies else SMALL_DATA_POLICIES
        for policy in policies:
            check_augment(policy)
        score_at = [int(s) for s in args.score_at.split(",") if s.strip()]
        variants = small_data_variants(policies, args.spectral_norm, ada=not args.no_ada)
        rows = run(variants, images, args.n, steps=args.steps, chunk=args.chunk, score_at=score_at,
                   precision=precision, held_out=held_out, d_width=args.d_width)
        networks = "DCGAN, spectral-norm discriminator," if args.spectral_norm else "DCGAN"
        if args.d_width:
            networks += f" (discriminator width {args.d_width})"
        title = (f"{networks} on {len(images)} Fashion-MNIST images, {args.steps} steps of batch {BATCH} each, "
                 f"{precision} (FCD etc.: kg.metrics.evaluate, n={args.n}, zoo classifier features)")
        print(title)
        print(table(HEADER + HELD_OUT_HEADER, rows))
        print(f"sign D: E[sign(D(x))] of the discriminator on its {len(images)} training images and on "
              f"{len(held_out)} train-split images it never saw (ADA's r_t; the gap is memorization)")
        return
    rows = run(ABLATION, images, args.n, seconds=args.seconds, chunk=args.chunk, precision=precision)
    print(f"DCGAN stabilizer ablation, {args.seconds:.0f} s of training each, batch {BATCH}, "
          f"{precision} (kg.metrics.evaluate, n={args.n}, zoo classifier features)")
    print(table(HEADER, rows))


if __name__ == "__main__":
    main()
