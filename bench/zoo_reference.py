"""Train a keras.io-style reference for a wall-clock budget and score it like the zoo.

The reference loop (``bench/references/``) trains the same networks as the
zoo recipe ``zoo/<family>.fashion_mnist.toml`` (its latent_dim, width and
batch size) on the Fashion-MNIST train split for ``--seconds`` of wall-clock
time, then ``kg.metrics.evaluate`` scores it with the zoo cards' protocol
(``n`` samples against the test split, the shipped classifier as extractor)
and prints FCD, KID, precision and recall. Compare with the ``metrics`` and
``training`` time of the entry's card in ``keras_gans/zoo/cards/`` (CycleGAN:
``cyclegan.sneaker2boot``, scored with ``kg.metrics.evaluate_translation``).

    python bench/zoo_reference.py dcgan --seconds 3600          # the comparison run
    python bench/zoo_reference.py cgan --steps 5622             # a budget in steps
    python bench/zoo_reference.py dcgan --seconds 30 --n 1000   # a quick try

On a machine that other jobs share, wall-clock budgets give the reference
less compute than it would have alone; ``--steps`` with the entry's step count
times the reference's speed ratio (``bench/train_throughput.py``, measured in
one run against the loop that trained the entry) is the same budget, free of
load.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The zoo entry each family is compared with.
ENTRIES = {
    "dcgan": "dcgan.fashion_mnist",
    "cgan": "cgan.fashion_mnist",
    "wgan_gp": "wgan_gp.fashion_mnist",
    "cyclegan": "cyclegan.sneaker2boot",
}


def recipe(family):
    """The zoo recipe of ``family``.fashion_mnist as a dict."""
    import tomllib

    name = ENTRIES.get(family, f"{family}.fashion_mnist")
    path = os.path.join(ROOT, "zoo", f"{name}.toml")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no zoo recipe {path}: pick one of {', '.join(ENTRIES)}.")
    with open(path, "rb") as f:
        return tomllib.load(f)


def build_reference(family, model_cfg, seed=0):
    """``(reference model, keras-gans model sharing its networks, fit batch size factor)``."""
    import keras

    import keras_gans as kg
    from bench.references.cgan import ReferenceConditionalGAN
    from bench.references.cyclegan import ReferenceCycleGAN
    from bench.references.dcgan import ReferenceDCGAN
    from bench.references.wgan_gp import ReferenceWGANGP

    latent, width = model_cfg.get("latent_dim"), model_cfg["width"]
    adam = lambda r=2e-4, b1=0.5, b2=0.999: keras.optimizers.Adam(r, beta_1=b1, beta_2=b2)  # noqa: E731
    if family == "dcgan":
        g = kg.networks.dcgan_generator(latent, (28, 28, 1), width=width)
        d = kg.networks.dcgan_discriminator((28, 28, 1), width=width)
        ref = ReferenceDCGAN(d, g, latent, seed=seed)
        ref.compile(adam(), adam(), keras.losses.BinaryCrossentropy(from_logits=True))
        wrapper = kg.models.DCGAN(generator=g, discriminator=d, seed=seed)
    elif family == "cgan":
        g = kg.networks.cgan_generator(latent, (28, 28, 1), width=width)
        d = kg.networks.cgan_discriminator((28, 28, 1), width=width)
        ref = ReferenceConditionalGAN(d, g, latent, seed=seed)
        ref.compile(adam(), adam(), keras.losses.BinaryCrossentropy(from_logits=True))
        wrapper = kg.models.ConditionalGAN(generator=g, discriminator=d, seed=seed)
    elif family == "wgan_gp":
        steps = model_cfg.get("critic_steps", 5)
        g = kg.networks.dcgan_generator(latent, (28, 28, 1), width=width)
        d = kg.networks.dcgan_discriminator((28, 28, 1), width=width, normalization=None, name="critic")
        ref = ReferenceWGANGP(d, g, latent, discriminator_extra_steps=steps,
                              gp_weight=model_cfg.get("gp_weight", 10.0))
        ref.compile(adam(1e-4, 0.0, 0.9), adam(1e-4, 0.0, 0.9))
        wrapper = kg.models.WGANGP(generator=g, discriminator=d, critic_steps=steps, seed=seed)
    elif family == "cyclegan":
        # The recipe's networks; keras.io's loop trains them at a constant
        # rate with no image pool.
        wrapper = kg.models.CycleGAN(**{k: v for k, v in model_cfg.items() if k != "decay_steps"}, seed=seed)
        # keras.io's adversarial term is the plain squared error, twice
        # kg.losses.least_squares_generator_loss, so the recipe's cycle_weight
        # doubles in its units: both loops minimize the same objective.
        ref = ReferenceCycleGAN(wrapper.generator, wrapper.generator_ba, wrapper.discriminator_a,
                                wrapper.discriminator, lambda_cycle=2 * model_cfg.get("cycle_weight", 10.0),
                                lambda_identity=model_cfg.get("identity_weight", 0.5))
        ref.compile(adam(), adam(), adam(), adam())
    else:
        raise ValueError(f"family must be one of {', '.join(ENTRIES)}, got {family!r}.")
    return ref, wrapper


def train_for(ref, family, batch_size, seconds, images, labels, chunk=50, classes=None, max_steps=None):
    """Fit ``ref`` in chunks of ``chunk`` steps until ``seconds`` of wall time or
    ``max_steps`` steps (whichever is given); returns (steps, seconds)."""
    import tensorflow as tf

    from keras_gans.data.loader import prefetched

    x = images.astype("float32") / 127.5 - 1.0
    if family == "cyclegan":
        # keras.io's pairing: two independently shuffled domains zipped.
        domains = [tf.data.Dataset.from_tensor_slices(x[labels == c]).shuffle(6000, seed=i).repeat()
                   for i, c in enumerate(classes)]
        ds = tf.data.Dataset.zip(tuple(domains))
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, labels.astype("int32")) if family == "cgan" else x)
        ds = ds.shuffle(60000, seed=0).repeat()
    ds = prefetched(ds.batch(batch_size, drop_remainder=True))
    steps, start = 0, time.perf_counter()
    while (time.perf_counter() - start < seconds) if max_steps is None else (steps < max_steps):
        n = chunk if max_steps is None else min(chunk, max_steps - steps)
        ref.fit(ds, epochs=1, steps_per_epoch=n, verbose=0)
        steps += n
        if steps % (20 * chunk) == 0:
            print(f"  {steps} steps, {time.perf_counter() - start:.0f} s", flush=True)
    return steps, time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("family", choices=tuple(ENTRIES))
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--seconds", type=float, help="wall-clock training budget")
    budget.add_argument("--steps", type=int,
                        help="training steps instead (a budget that machine load does not change: "
                             "the entry's steps times the reference's measured speed ratio)")
    p.add_argument("--n", type=int, default=None, help="samples to score (default: the recipe's, 10000)")
    p.add_argument("--out", default=None, help="also write the report as JSON here")
    args = p.parse_args(argv)
    if (args.seconds is not None and args.seconds <= 0) or (args.steps is not None and args.steps < 1):
        p.error("the budget (--seconds or --steps) must be > 0")

    import keras_gans as kg

    cfg = recipe(args.family)
    ref, wrapper = build_reference(args.family, cfg["model"], seed=cfg["train"].get("seed", 0))
    batch = cfg["data"]["batch_size"]
    if args.family == "wgan_gp":
        # The recipe's fit batch feeds critic_steps chunks; keras.io's loop
        # reuses one batch of that chunk size for every critic step.
        batch //= cfg["model"].get("critic_steps", 5)
    images, labels = kg.data.load_numpy("fashion_mnist", split="train")
    classes = cfg["data"].get("classes")
    steps, took = train_for(ref, args.family, batch, args.seconds, images, labels, classes=classes,
                            max_steps=args.steps)
    ev = cfg.get("evaluate", {})
    n = args.n or ev.get("n", 10000)
    if args.family == "cyclegan":
        report = kg.metrics.evaluate_translation(wrapper, classes=classes, n=args.n, split=ev.get("split", "test"),
                                                 extractor=kg.zoo.classifier_extractor())
        text = kg.metrics.format_translation_report(report)
    else:
        report = kg.metrics.evaluate(wrapper, n=n, split=ev.get("split", "test"),
                                     extractor=kg.zoo.classifier_extractor())
        text = kg.metrics.format_report(report)
    report["reference"] = {"family": args.family, "steps": steps, "batch_size": batch,
                           "train_seconds": round(took, 1), "recipe": f"zoo/{ENTRIES[args.family]}.toml"}
    print(f"{args.family} keras.io-style reference: {steps} steps of batch {batch} in {took:.0f} s")
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1, default=str)


if __name__ == "__main__":
    main()
