"""Three families against a plain baseline at equal training time: BigGAN, Pix2Pix, VAE-GAN.

Pairs (``--pairs``), each model built with the settings of its zoo recipe
(``kg.zoo.load_recipe``: the ``[model]`` table and ``[data] batch_size``):

- ``biggan``: ``BigGAN`` (``zoo/biggan.fashion_mnist.toml``) vs the
  conditional DCGAN ``ConditionalGAN`` (``zoo/cgan.fashion_mnist.toml``), on
  labelled Fashion-MNIST train images. Scored by ``kg.metrics.evaluate``
  (conditional: the classes in turn): FCD, KID, precision, recall and label
  agreement (the share of samples the classifier puts in the requested class).
- ``pix2pix``: ``Pix2Pix`` (``zoo/pix2pix.edges2fashion.toml``: adversarial +
  100 x L1) vs an L1-only U-Net: the same ``kg.networks.pix2pix_generator``
  as a plain ``keras.Model``, ``compile(Adam(2e-4, beta_1=0.5), loss="mae")``
  and ``fit`` (Pix2Pix has no knob that turns its adversarial term off), both
  on the (edges, garment) pairs of ``kg.data.load_paired(images,
  pair="edges")``. Scored on the test pairs by ``kg.metrics.evaluate``'s
  paired protocol (the U-Net is wrapped in a ``Pix2Pix`` as its generator to
  be scored alike): L1 to the ground truth, FCD of the outputs against the
  real test targets, label agreement (outputs classified as the class of the
  garment their edges came from).
- ``vaegan``: ``VAEGAN`` (``zoo/vaegan.fashion_mnist.toml``) vs ``PlainVAE``
  (below): the same encoder and decoder builders (``kg.networks.vaegan_encoder``,
  ``kg.networks.dcgan_generator``), trained on a pixel-space Gaussian
  likelihood plus KL, with no discriminator (VAEGAN has no knob for that:
  ``gamma`` weighs its feature loss, which lives in the discriminator).
  Scored by the reconstruction error of ``n`` test images through the
  posterior mean (``reconstruct``; ``L1`` = mean ``|x - rec(x)|``, ``MSE`` =
  mean ``(x - rec(x))**2``, pixels in [-1, 1]) and ``kg.metrics.evaluate`` of
  prior samples (FCD, KID, precision, recall); the plain VAE is wrapped in a
  ``VAEGAN`` as its encoder and decoder so that both decode the same prior
  latents.

Timing: every model trains for ``--seconds`` of time inside its train steps
(``timed_fit``: fit's start-up and teardown excluded). Turns are interleaved
across every model of the chosen pairs: the model with the least training
time so far runs next, for ``--chunk`` steps at most (fewer when its budget
is nearly spent, by its measured step time), so machine load hits all alike
and their times stay within one chunk of each other. Each model's first step
(the trace) runs before its clock starts and is counted in ``steps``.
``img/s`` is real images per training second (the fit batch per step).

FCD is the Frechet distance in the zoo classifier's features
(``kg.zoo.classifier_extractor()``), ``--n`` samples (or test pairs) against
``--n`` test images; blank cells are metrics that do not apply to a row.

    python bench/baselines.py --seconds 600 --n 10000
    python bench/baselines.py --pairs pix2pix,vaegan --seconds 300
"""

import argparse
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

#: The pairs and the zoo recipes their models are built from: (family's, baseline's).
PAIRS = {
    "biggan": ("biggan.fashion_mnist", "cgan.fashion_mnist"),
    "pix2pix": ("pix2pix.edges2fashion", "pix2pix.edges2fashion"),
    "vaegan": ("vaegan.fashion_mnist", "vaegan.fashion_mnist"),
}
#: The plain VAE's pixel noise scale, in [-1, 1] units: a unit-variance
#: Gaussian over 784 pixels whose errors are ~0.1 would weigh reconstruction
#: far below the KL term (a posterior that ignores its image).
PIXEL_SIGMA = 0.1
SEED = 0
HEADER = ["pair", "model", "steps", "train s", "FCD", "KID", "precision", "recall",
          "label agreement", "L1", "MSE", "img/s"]


class PlainVAE(keras.Model):
    """A VAE: an encoder to ``q(z | x)`` and a decoder, on pixel reconstruction + KL, no discriminator.

    Per batch ``x``, with ``z = mean + exp(log_var / 2) * eps``, it minimizes

        ``feature_reconstruction_loss(x, Dec(z)) / pixel_sigma**2 + kl_weight * kl_divergence``

    (the negative log-likelihood of ``x`` under ``N(Dec(z), pixel_sigma**2 I)``,
    constants dropped, plus ``L_prior``; both in nats, as in ``kg.models.VAEGAN``)
    with one optimizer over both networks.

    Args:
        encoder: ``keras.Model`` from images to ``[mean, log_var]``.
        decoder: ``keras.Model`` from ``z`` to images in [-1, 1].
        kl_weight: float, weight of the KL term (1: the evidence bound).
        pixel_sigma: float, the standard deviation of the pixel likelihood.
        seed: int, seed of the posterior noise.

    Example:
        >>> import keras_gans as kg
        >>> vae = PlainVAE(kg.networks.vaegan_encoder((28, 28, 1), 16, width=8),
        ...                kg.networks.dcgan_generator(16, (28, 28, 1), width=8))
        >>> vae.compile(keras.optimizers.Adam(2e-4, beta_1=0.5))
        >>> vae.fit(np.zeros((64, 28, 28, 1), "float32"), epochs=1, verbose=0)  # doctest: +SKIP
    """

    def __init__(self, encoder, decoder, kl_weight=1.0, pixel_sigma=PIXEL_SIGMA, seed=SEED, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.kl_weight = float(kl_weight)
        self.pixel_sigma = float(pixel_sigma)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, z, training=False):
        return self.decoder(z, training=training)

    def train_step(self, data):
        from keras_gans.models.vaegan import feature_reconstruction_loss, kl_divergence

        x = tf.cast(data[0] if isinstance(data, (tuple, list)) else data, "float32")
        variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        with tf.GradientTape() as tape:
            mean, log_var = self.encoder(x, training=True)
            eps = keras.random.normal(tf.shape(mean), seed=self.seed_generator)
            z = mean + tf.exp(0.5 * log_var) * eps
            reconstruction = feature_reconstruction_loss(x, self.decoder(z, training=True)) / self.pixel_sigma**2
            kl = kl_divergence(mean, log_var)
            loss = reconstruction + self.kl_weight * kl
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}


def _adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def _recipe(name):
    import keras_gans as kg

    recipe = kg.zoo.load_recipe(name)
    return dict(recipe["model"]), int(recipe["data"]["batch_size"])


def build_models(pair, images, labels):
    """``[(model name, model, fit batch, endless pipeline, scorer)]`` of one pair, family first."""
    import keras_gans as kg
    from bench.train_throughput import pipeline

    family_recipe, baseline_recipe = PAIRS[pair]
    settings, batch = _recipe(family_recipe)
    if pair == "biggan":
        biggan = kg.models.BigGAN(**settings, seed=SEED)
        biggan.compile()
        cgan_settings, cgan_batch = _recipe(baseline_recipe)
        cgan = kg.models.ConditionalGAN(**cgan_settings, seed=SEED)
        cgan.compile()
        return [
            ("BigGAN", biggan, batch, pipeline("labelled", batch, images, labels), score_sampler),
            ("cGAN", cgan, cgan_batch, pipeline("labelled", cgan_batch, images, labels), score_sampler),
        ]
    if pair == "pix2pix":
        pix2pix = kg.models.Pix2Pix(**settings, seed=SEED)
        pix2pix.compile()
        unet = kg.networks.pix2pix_generator(
            tuple(settings["image_shape"]), width=settings["width"], dropout=settings["dropout"],
            seed=SEED, name="unet",
        )
        unet.compile(optimizer=_adam(), loss="mae")

        def pairs():
            return kg.data.load_paired(images, pair="edges", batch_size=batch, seed=SEED).repeat()

        def score_unet(model, n, extractor):
            # As a Pix2Pix's generator, the U-Net is scored by the same paired protocol.
            return score_translator(kg.models.Pix2Pix(**settings, generator=model, seed=SEED), n, extractor)

        return [
            ("Pix2Pix", pix2pix, batch, pairs(), score_translator),
            ("L1-only U-Net", unet, batch, pairs(), score_unet),
        ]
    if pair == "vaegan":
        vaegan = kg.models.VAEGAN(**settings, seed=SEED)
        vaegan.compile()
        shape, latent, width = tuple(settings["image_shape"]), settings["latent_dim"], settings["width"]
        vae = PlainVAE(
            kg.networks.vaegan_encoder(shape, latent, width=width),
            kg.networks.dcgan_generator(latent, shape, width=width),
            kl_weight=settings.get("kl_weight", 1.0), seed=SEED,
        )
        vae.compile(optimizer=_adam())

        def score_vae(model, n, extractor):
            # As a VAEGAN's encoder and decoder: the same reconstruct and the same prior latents.
            shell = kg.models.VAEGAN(**settings, encoder=model.encoder, generator=model.decoder, seed=SEED)
            return score_autoencoder(shell, n, extractor)

        return [
            ("VAE-GAN", vaegan, batch, pipeline("images", batch, images, None), score_autoencoder),
            ("plain VAE", vae, batch, pipeline("images", batch, images, None), score_vae),
        ]
    raise ValueError(f"unknown pair {pair!r}: choose from {', '.join(PAIRS)}")


def score_sampler(gan, n, extractor):
    """FCD, KID, precision, recall (and label agreement for conditional GANs) of ``gan``'s samples."""
    import keras_gans as kg

    report = kg.metrics.evaluate(gan, n=n, extractor=extractor, seed=SEED)
    cells = {"FCD": f"{report['frechet_distance']:.2f}", "KID": f"{report['kid_mean']:.4f}",
             "precision": f"{report['precision']:.3f}", "recall": f"{report['recall']:.3f}"}
    if "label_agreement" in report:
        cells["label agreement"] = f"{report['label_agreement']:.3f}"
    return cells, report


def score_translator(pix2pix, n, extractor):
    """L1 to the targets, FCD and label agreement on ``n`` Fashion-MNIST test (edges, garment) pairs."""
    import keras_gans as kg

    report = kg.metrics.evaluate(pix2pix, dataset="fashion_mnist", pair="edges", n=n, extractor=extractor,
                                 seed=SEED)
    return {"FCD": f"{report['frechet_distance']:.2f}", "L1": f"{report['l1']:.4f}",
            "label agreement": f"{report['label_agreement']:.3f}"}, report


def score_autoencoder(vaegan, n, extractor):
    """Reconstruction L1 / MSE of ``n`` test images and FCD, KID, precision, recall of prior samples."""
    import keras_gans as kg

    images, _ = kg.data.load_numpy("fashion_mnist", split="test")
    m = min(n, len(images))
    # The test images evaluate compares the samples with (its subset draw for this seed).
    if m < len(images):
        images = images[np.sort(np.random.default_rng(SEED).choice(len(images), m, replace=False))]
    x = images.astype("float32") / 127.5 - 1.0
    error = vaegan.reconstruct(x, batch_size=500).astype("float64") - x
    cells, report = score_sampler(vaegan, n, extractor)
    cells["L1"] = f"{np.mean(np.abs(error)):.4f}"
    cells["MSE"] = f"{np.mean(np.square(error)):.4f}"
    return cells, report


def run(pairs, images, labels, n, seconds, chunk=200):
    """Train every model of ``pairs`` for ``seconds`` of train steps, in interleaved turns; Markdown rows."""
    import keras_gans as kg
    from bench.train_throughput import timed_fit

    runs = []
    for pair in pairs:
        for name, model, batch, ds, scorer in build_models(pair, images, labels):
            timed_fit(model, ds, 1)  # the trace, off the clock
            runs.append({"pair": pair, "name": name, "model": model, "batch": batch, "ds": ds,
                         "scorer": scorer, "steps": 1, "timed": 0, "seconds": 0.0})
    while True:
        waiting = [r for r in runs if r["seconds"] < seconds]
        if not waiting:
            break
        r = min(waiting, key=lambda r: r["seconds"])
        if r["timed"]:  # no more steps than the rest of the budget needs, at the measured pace
            todo = min(chunk, max(1, math.ceil((seconds - r["seconds"]) * r["timed"] / r["seconds"])))
        else:
            todo = 1  # a first timed step measures the pace
        r["seconds"] += timed_fit(r["model"], r["ds"], todo)
        r["steps"] += todo
        r["timed"] += todo
        print(f"  {r['pair']}/{r['name']}: {r['steps']} steps, {r['seconds']:.0f} s", flush=True)
    extractor = kg.zoo.classifier_extractor()
    rows, ceilings = [], {}
    for r in runs:
        cells, report = r["scorer"](r["model"], n, extractor)
        if "real_label_agreement" in report:
            ceilings[r["pair"]] = report["real_label_agreement"]
        speed = r["steps"] * r["batch"] / max(r["seconds"], 1e-9)
        rows.append([r["pair"], r["name"], r["steps"], f"{r['seconds']:.0f}"]
                    + [cells.get(column, "") for column in HEADER[4:-1]] + [f"{speed:.0f}"])
    return rows, ceilings


def main(argv=None):
    from bench.train_throughput import machine, table

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=600.0, help="training time of each model")
    p.add_argument("--pairs", default=",".join(PAIRS), help=f"comma list of {', '.join(PAIRS)}")
    p.add_argument("--n", type=int, default=10000, help="samples (and test images or pairs) per evaluation")
    p.add_argument("--images", type=int, default=None, help="use only this many train images (tests)")
    p.add_argument("--chunk", type=int, default=200, help="the most steps per turn")
    args = p.parse_args(argv)
    pairs = [name for name in args.pairs.split(",") if name]
    unknown = [name for name in pairs if name not in PAIRS]
    if unknown or not pairs:
        p.error(f"unknown pair {unknown[0]!r}: choose from {', '.join(PAIRS)}" if unknown else "--pairs is empty")
    if args.chunk < 1:
        p.error("--chunk must be at least 1")
    import keras_gans as kg

    images, labels = kg.data.load_numpy("fashion_mnist", split="train")
    if args.images:
        images, labels = images[: args.images], labels[: args.images]
    print("\n".join(machine()))
    rows, ceilings = run(pairs, images, labels, args.n, args.seconds, args.chunk)
    print()
    print(f"Families vs plain baselines, {args.seconds:g} s of train steps each (interleaved turns), "
          f"{len(images)} Fashion-MNIST train images; kg.metrics.evaluate, n={args.n}, "
          "zoo classifier features (FCD)")
    print(table(HEADER, rows))
    print()
    print("L1: pix2pix, mean |output - target| on the test pairs; vaegan, mean |x - reconstruct(x)| on the "
          f"test images (MSE likewise); pixels in [-1, 1]. The plain VAE's pixel sigma is {PIXEL_SIGMA:g}.")
    for pair, value in ceilings.items():
        print(f"label agreement ceiling ({pair}): the classifier on the real test images, {value:.3f}")


if __name__ == "__main__":
    main()
