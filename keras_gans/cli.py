"""The ``keras-gans`` command: one verb per job.

    keras-gans train dcgan --dataset fashion_mnist --epochs 5 --out runs/dcgan
    keras-gans sample runs/dcgan/model.keras --n 64 --out grid.png
    keras-gans evaluate runs/dcgan/model.keras --dataset fashion_mnist --n 10000
    keras-gans export dcgan.fashion_mnist --format saved_model --out serving
    keras-gans zoo list

Bad input exits with code 2 and a one-line reason on stderr.
"""

import argparse
import os
import sys


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit code 2."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


# ---------------------------------------------------------------- train
def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _add_train(sub):
    p = sub.add_parser(
        "train",
        help="train a GAN family on a dataset",
        description=(
            "Train a GAN with model.fit: an atomic .keras checkpoint and a sample grid each epoch. "
            "A killed run continues exactly where its last checkpoint left off with --resume."
        ),
    )
    p.add_argument("family", help="GAN family, e.g. dcgan, cgan, wgan_gp, cyclegan, progan, stylegan2 "
                   "(an unknown name lists every family)")
    p.add_argument("--dataset", default=None,
                   help="TFDS name, IDX/image folder or .npz (default: fashion_mnist; --resume: the run's)")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="total epochs (default: 5; --resume: the run's, and a larger value continues it)")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help="images per batch (default: 128; cyclegan 16; wgan_gp 64 x critic_steps = 320; "
                        "--resume: the run's)")
    p.add_argument("--steps-per-epoch", type=_positive_int, default=None,
                   help="batches per epoch (default: one pass over the data; --resume: the run's)")
    p.add_argument("--out", required=True, help="run folder: checkpoints, sample grids, history")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/model.keras with its optimizers, noise state, data position and "
                        "settings (OUT/run.json); a run killed before its first checkpoint starts again, a "
                        "finished one gets its missing history row and grid: safe to rerun until it exits 0 "
                        "(default: off)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="constructor argument of the family, e.g. --config latent_dim=64 (repeatable); "
                        "cyclegan's decay_steps defaults to the run's epochs x steps per epoch (the "
                        "paper's decay over the second half; decay_steps=null: a constant rate; default: the family's; --resume: the run's)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the training noise and data order (default 0; --resume: the run's)")
    p.add_argument("--learning-rate", type=_positive_float, default=None,
                   help="the generator's learning rate; the other optimizers keep their ratio to it "
                        "(BigGAN's discriminator: 4x) (default: the family's; --resume: the run's)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="STEPS",
                   help="also checkpoint every STEPS steps inside epochs (default: at epoch ends only; "
                        "--resume: the run's)")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=None,
                   help="seed the initial weights from --seed and make TF ops deterministic (slower): "
                        "the same command gives the same weights, killed and resumed or not "
                        "(default: off; --resume: the run's)")
    p.add_argument("--strategy", choices=("default", "mirrored", "multi_worker"), default="default",
                   help="tf.distribute strategy (multi_worker reads TF_CONFIG; default: default)")
    p.add_argument("--classes", default=None,
                   help="comma-separated class ids to keep (cyclegan: the two domains, e.g. 7,9; "
                        "default: all; --resume: the run's)")
    p.add_argument("--pair", choices=PAIR_CHOICES, default=None,
                   help="pix2pix: how --dataset makes (input, target) pairs: edges (each image's edge map -> "
                        "the image), ab / ba (side-by-side [A | B] images: A -> B / B -> A) (default: none, a "
                        "source of pairs such as an .npz with inputs and targets; --resume: the run's)")
    p.add_argument("--features", default=None, metavar="INPUT,TARGET",
                   help="pix2pix: the input and target arrays of an .npz, or image features of a TFDS "
                        "dataset, holding the pairs (default: none; --resume: the run's)")
    p.add_argument("--edge-threshold", type=_positive_float, default=None, metavar="T",
                   help="pix2pix with --pair edges: Sobel magnitude above which a pixel is an edge, in "
                        "(0, 1] (default: 0.4; --resume: the run's)")
    p.add_argument("--ema-decay", type=float, default=None, metavar="DECAY",
                   help="keep an EMA generator with this decay in (0, 1), e.g. 0.999; it samples and "
                        "exports (the family's ema_decay; default: off)")
    p.add_argument("--spectral-norm", action="store_true", default=None,
                   help="spectrally normalize the default discriminator (spectral_norm; default: off)")
    p.add_argument("--r1", type=float, default=None, metavar="GAMMA",
                   help="R1 penalty weight on real images, lazy every 16 discriminator steps "
                        "(r1_weight; not for wgan_gp; default: 0)")
    p.add_argument("--augment", default=None, metavar="POLICY",
                   help="DiffAugment of every discriminator input: 'translation,cutout,color' (any "
                        "subset) or 'ada' (adaptive probability) (augment; default: none)")
    p.add_argument("--precision", choices=("auto",) + PRECISION_CHOICES, default=None,
                   help="dtype policy of the networks: auto is mixed_bfloat16 on a CPU with AMX or "
                        "AVX512-BF16 and on GPUs of compute capability 8.0+, float32 elsewhere "
                        "(precision; default: auto; --resume: the run's)")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="0 silent, 1 progress bar, 2 one line per epoch")
    p.set_defaults(run=_cmd_train)


#: ``--precision`` choices besides ``auto`` (``kg.models.gan.PRECISIONS``).
PRECISION_CHOICES = ("float32", "mixed_bfloat16", "mixed_float16")


#: ``--pair`` choices (``kg.data.load_paired``'s pair transforms).
PAIR_CHOICES = ("edges", "ab", "ba")


def _parse_features(text):
    """``--features INPUT,TARGET`` -> ``("INPUT", "TARGET")`` (None stays None)."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise UsageError(f"--features takes two different names INPUT,TARGET, got {text!r}")
    return tuple(names)


def _parse_config(pairs):
    import json

    config = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(f"--config expects KEY=VALUE with a name as KEY, got {pair!r}")
        if key in config:
            raise UsageError(f"--config sets {key!r} twice: give each key once")
        try:
            config[key] = json.loads(value)
        except ValueError:
            config[key] = value
    return config


def _parse_ints(text, flag):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{flag} expects comma-separated ints, got {text!r}") from None
    if any(abs(v) > 2**31 - 1 for v in values):
        raise UsageError(f"{flag} expects class ids, got {text!r}")
    return values


def _cmd_train(args):
    config = _parse_config(args.config)
    for flag, key, value in (
        ("--ema-decay", "ema_decay", args.ema_decay), ("--spectral-norm", "spectral_norm", args.spectral_norm),
        ("--r1", "r1_weight", args.r1), ("--augment", "augment", args.augment),
        ("--precision", "precision", args.precision),
    ):
        if value is not None:
            if key in config:
                raise UsageError(f"{flag} and --config {key}=... both set {key}: give one")
            config[key] = value
    classes = _parse_ints(args.classes, "--classes") if args.classes is not None else None
    from keras_gans import trainer

    # A resume takes what it is not given from the run (run.json), the
    # determinism and seed of the process too: a resumed deterministic run
    # must stay deterministic to end with the uninterrupted run's weights.
    recorded = trainer.read_run(args.out) if args.resume and os.path.isdir(args.out) else {}
    deterministic = args.deterministic if args.deterministic is not None else bool(recorded.get("deterministic"))
    seed = args.seed if args.seed is not None else recorded.get("seed")
    if deterministic:
        import keras
        import tensorflow as tf

        # Asked for on the command line, for this process only: the seed then
        # fixes the initial weights too, and every op gives the same result.
        keras.utils.set_random_seed(int(seed or 0) % 2**32)
        tf.config.experimental.enable_op_determinism()
    result = trainer.train(
        args.family,
        dataset=args.dataset,
        epochs=args.epochs,
        out=args.out,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        config=config,
        seed=args.seed,
        resume=args.resume,
        overwrite=args.overwrite,
        strategy=args.strategy,
        classes=classes,
        verbose=args.verbose,
        checkpoint_every=args.checkpoint_every,
        learning_rate=args.learning_rate,
        deterministic=args.deterministic,
        pair=args.pair,
        features=_parse_features(args.features),
        edge_threshold=args.edge_threshold,
    )
    if args.resume and result["resumed_at"] is None:
        print(f"{args.out} had no checkpoint yet: the run was started from the beginning")
    if not result["trained"]:
        epochs = result["settings"]["epochs"]
        print(f"{args.out} already finished epoch {epochs} of {epochs}: its history, grids and state are complete")
    print(f"model:   {result['model']}")
    print(f"samples: {result['samples']}")
    print(f"history: {result['history']}")
    return 0


# ---------------------------------------------------------------- sample
#: Largest --n of `keras-gans sample` (a 100 x 100 grid).
MAX_SAMPLES = 10000


def _add_sample(sub):
    p = sub.add_parser(
        "sample",
        help="write a grid of samples from a .keras file or a zoo name",
        description=(
            "Generate images from a trained GAN (.keras path) or a zoo entry and save a PNG grid. "
            "A CycleGAN translates real domain-A images instead: N // 2 images drawn (by --seed) from "
            "the test split, each followed by its A -> B translation. Their source is --dataset and "
            "--classes when given; else the zoo entry's evaluation protocol, or run.json beside a "
            "run's model.keras; else fashion_mnist with classes 7,9 (sneakers -> ankle boots). "
            "A Pix2Pix translates test pairs: N // 3 inputs drawn (by --seed) from the test split, each "
            "shown as input | translation | target. Their source is --dataset, --pair, --features and "
            "--classes when given; else run.json beside a run's model.keras, or the zoo entry's "
            "evaluation protocol."
        ),
    )
    p.add_argument("model", help="path to a .keras file, or a zoo name such as dcgan.fashion_mnist")
    p.add_argument("--n", type=_positive_int, default=64,
                   help=f"number of images (at most {MAX_SAMPLES}); CycleGAN: N // 2 input/translation pairs; "
                        "pix2pix: N // 3 input/translation/target triples")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the latents (CycleGAN: of which test images are translated)")
    p.add_argument("--labels", default=None,
                   help="conditional GANs: comma-separated class ids (default: cycle through classes)")
    p.add_argument("--dataset", default=None,
                   help="CycleGAN: source of the domain-A test images; pix2pix: source of the test pairs "
                        "(default: the model's training data when known, else fashion_mnist)")
    p.add_argument("--classes", default=None, metavar="A,B",
                   help="CycleGAN: class ids of domains A and B in --dataset (default: the model's when "
                        "known; 7,9 for fashion_mnist; none for cycle_gan/* or folders with testA/testB); "
                        "pix2pix: comma-separated class ids to make pairs from (default: the model's)")
    _add_pair_flags(p)
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--interpolate", type=_positive_int, default=None, metavar="STEPS",
                   help="instead of a grid, one strip of STEPS images along the latent path (slerp) "
                        "from the latent of --seed to that of --seed + 1")
    p.add_argument("--gif", action="store_true",
                   help="with --interpolate: also write the path as an animated GIF beside OUT (.gif)")
    p.add_argument("--truncation", type=float, default=None, metavar="PSI",
                   help="the truncation trick: latents (StyleGAN2: w) moved toward the mean by PSI, in (0, 1] "
                        "([0, 1] for StyleGAN2); for the grid, --interpolate and --style-mix")
    p.add_argument("--truncation-strip", type=_positive_int, default=None, metavar="STEPS",
                   help="instead of a grid, N // STEPS rows (seeds from --seed), each one seed at STEPS "
                        "truncations from psi 1.0 down (to 0.0 for StyleGAN2, to 1 / STEPS for z-space GANs)")
    p.add_argument("--style-mix", type=int, default=None, metavar="CUTOFF",
                   help="StyleGAN2: instead of a grid, the style-mixing figure: K = isqrt(N) - 1 seeds down "
                        "the side (from --seed; styles below CUTOFF), K across the top (the fine styles), "
                        "their mixes inside")
    p.add_argument("--growth-strip", action="store_true",
                   help="ProGAN: instead of a grid, N // stages samples of --seed, each shown at every "
                        "stage of the growth (alpha 1, upsampled to full size)")
    p.set_defaults(run=_cmd_sample)


def _add_pair_flags(p):
    """``--pair`` and ``--features`` of ``sample`` and ``evaluate``: a pix2pix model's test pairs."""
    p.add_argument("--pair", choices=PAIR_CHOICES, default=None,
                   help="pix2pix: how --dataset makes (input, target) pairs (edges, ab, ba; default: the "
                        "model's when known)")
    p.add_argument("--features", default=None, metavar="INPUT,TARGET",
                   help="pix2pix: input and target arrays (.npz) or image features (TFDS) of the pairs "
                        "(default: the model's when known)")


def _paired_source(model, dataset, pair, features, classes):
    """Where a pix2pix model's test pairs come from: ``{dataset, pair, features, classes, edge_threshold}``.

    Explicit flags first; then ``run.json`` beside a run's ``model.keras``,
    or a zoo entry's evaluation protocol (both kept only when ``--dataset``
    is not given or names the same source); ``--pair`` or ``--features``
    alone read Fashion-MNIST. Nothing known and nothing given is a
    ``UsageError`` saying which flags to pass.
    """
    import json

    known, origin = {}, None
    if os.path.exists(model):
        run = os.path.join(os.path.dirname(os.path.abspath(model)), "run.json")
        if os.path.isfile(run):
            try:
                with open(run) as f:
                    record = json.load(f)
            except (OSError, ValueError):
                record = {}
            if isinstance(record, dict):
                known, origin = record, run
    else:
        from keras_gans import zoo

        card = zoo.card(model)
        known = {**{"dataset": card.get("dataset")}, **(card.get("protocol") or {})}
        origin = f"the zoo card of {model}"
    if dataset is not None and known.get("dataset") not in (None, dataset):
        known = {}  # another source: its own pairs
    source = {key: known.get(key) for key in ("dataset", "pair", "features", "classes", "edge_threshold")}
    for key, value in (("dataset", dataset), ("pair", pair), ("features", features), ("classes", classes)):
        if value is not None:
            source[key] = value
    if source["dataset"] is None:
        if pair is None and features is None:
            why = (f"{origin} names no dataset (it was trained on arrays)" if origin
                   else "no run.json beside it names them")
            raise UsageError(
                f"{model} is a pix2pix model and {why}: name its test pairs, e.g. --dataset fashion_mnist "
                "--pair edges"
            )
        source["dataset"] = "fashion_mnist"
    if source["pair"] != "edges":
        source["edge_threshold"] = None
    if source["features"] is not None:
        source["features"] = tuple(source["features"])
    return source


def _describe_pairs(source):
    extra = [f"{key} {value if not isinstance(value, (list, tuple)) else ','.join(map(str, value))}"
             for key, value in source.items() if key != "dataset" and value is not None]
    return f"{source['dataset']}" + (f" ({'; '.join(extra)})" if extra else "")


def _paired_inputs(gan, model, args, classes):
    """``max(n // 3, 1)`` test pairs in [-1, 1] picked by ``--seed``: ``(inputs, targets, where)``."""
    import numpy as np

    from keras_gans import trainer

    source = _paired_source(model, args.dataset, args.pair, _parse_features(args.features), classes)
    inputs, targets = trainer.training_arrays(
        type(gan), source["dataset"], classes=source["classes"], split="test",
        **{k: source[k] for k in ("pair", "features", "edge_threshold") if source[k] is not None},
    )
    where = _describe_pairs(source)
    for what, images, shape in (("input", inputs, gan.input_image_shape), ("target", targets, gan.image_shape)):
        if tuple(images.shape[1:]) != tuple(shape):
            raise UsageError(
                f"the test pairs of {where} have {what} images of shape {tuple(images.shape[1:])} but "
                f"{model} takes {tuple(shape)}: name the pairs it was trained on (--dataset, --pair)"
            )
    pick = np.sort(np.random.default_rng(args.seed).permutation(len(inputs))[: max(args.n // 3, 1)])
    scale = [np.asarray(a)[pick] for a in (inputs, targets)]
    scale = [a.astype("float32") / 127.5 - 1.0 if a.dtype == np.uint8 else a.astype("float32") for a in scale]
    return scale[0], scale[1], where


def _translation_source(model, dataset, classes):
    """``(dataset, classes)`` of a CycleGAN's domain-A images for ``keras-gans sample``.

    Explicit flags first; then a zoo entry's evaluation protocol or the
    ``run.json`` beside a run's ``model.keras``; then Fashion-MNIST 7 -> 9.
    A given ``--dataset`` without ``--classes`` uses no classes (its own
    domains), unless it is the known source, whose classes are kept.
    """
    import json

    known = None
    if os.path.exists(model):
        run = os.path.join(os.path.dirname(os.path.abspath(model)), "run.json")
        if os.path.isfile(run):
            try:
                with open(run) as f:
                    record = json.load(f)
                if record.get("family") == "cyclegan" and record.get("dataset"):
                    known = (record["dataset"], record.get("classes"))
            except (OSError, ValueError, AttributeError):
                known = None
    else:
        from keras_gans import zoo

        card = zoo.card(model)
        protocol = card.get("protocol", {})
        if protocol.get("dataset") or card.get("dataset"):
            known = (protocol.get("dataset") or card.get("dataset"), protocol.get("classes"))
    if known is None:
        known = ("fashion_mnist", [7, 9])
    if dataset is None:
        return known[0], classes if classes is not None else known[1]
    if classes is None and dataset == known[0]:
        classes = known[1]
    return dataset, classes


def _translation_inputs(gan, model, dataset, classes, n, seed):
    """``n // 2`` (at least 1) domain-A test images in [-1, 1], picked by ``seed``."""
    import numpy as np

    from keras_gans import trainer

    dataset, classes = _translation_source(model, dataset, classes)
    images = trainer.training_arrays(type(gan), dataset, classes=classes, split="test")[0]
    pick = np.random.default_rng(seed).permutation(len(images))[: max(n // 2, 1)]
    images = np.asarray(images)[np.sort(pick)]
    if images.dtype == np.uint8:
        images = images.astype("float32") / 127.5 - 1.0
    where = f"{dataset}" + (f" (classes {','.join(map(str, classes))})" if classes else "")
    return images, where


def load_any(model):
    """Load a GAN from a ``.keras`` path or the zoo (``family.dataset`` names)."""
    if os.path.exists(model):
        from keras_gans.saving import load_gan_file

        return load_gan_file(model)
    if model.endswith(".keras") or os.sep in model:
        raise UsageError(f"{model} does not exist: pass a .keras file or a zoo name (keras-gans zoo list)")
    from keras_gans import zoo

    return zoo.load_gan(model)


def _cmd_sample(args):
    import numpy as np

    if not args.out.lower().endswith(".png"):
        raise UsageError(f"--out must be a .png file, got {args.out}")
    if args.n > MAX_SAMPLES:
        raise UsageError(f"--n is at most {MAX_SAMPLES}, got {args.n}: write several grids")
    if not 0 <= args.seed < 2**63:
        raise UsageError(f"--seed must be an int in [0, 2**63), got {args.seed}")
    labels = None
    if args.labels is not None:
        labels = np.resize(np.array(_parse_ints(args.labels, "--labels"), "int32"), args.n)
    classes = _parse_ints(args.classes, "--classes") if args.classes is not None else None
    _parse_features(args.features)  # malformed: exit 2 before the model loads
    from keras_gans.callbacks import save_grid

    if args.gif and args.interpolate is None:
        raise UsageError("--gif goes with --interpolate STEPS")
    pictures = [flag for flag, value in (("--interpolate", args.interpolate), ("--truncation-strip",
                args.truncation_strip), ("--style-mix", args.style_mix),
                ("--growth-strip", args.growth_strip or None)) if value is not None]
    if len(pictures) > 1:
        raise UsageError(f"{pictures[0]} and {pictures[1]} each write their own picture: pick one")
    if args.truncation_strip is not None and args.truncation is not None:
        raise UsageError("--truncation-strip shows psi from 1.0 down itself: drop --truncation")
    if args.truncation_strip is not None and args.truncation_strip < 2:
        raise UsageError(f"--truncation-strip needs STEPS >= 2, got {args.truncation_strip}")
    if args.truncation is not None and not 0.0 <= args.truncation <= 1.0:
        raise UsageError(f"--truncation must be a psi in (0, 1] ([0, 1] for StyleGAN2), got {args.truncation}")
    if args.interpolate is not None and (args.interpolate < 2 or args.seed >= 2**63 - 1):
        raise UsageError(f"--interpolate needs STEPS >= 2 and --seed < 2**63 - 1, got {args.interpolate}, {args.seed}")
    gan = load_any(args.model)
    if classes is not None and len(classes) != 2 and gan.data_kind != "paired":
        raise UsageError(f"--classes takes two class ids A,B, got {args.classes}")
    if gan.data_kind not in ("unpaired", "paired") and (args.dataset is not None or classes is not None):
        raise UsageError(f"--dataset and --classes apply to cyclegan models and pix2pix models; "
                         f"{args.model} is a {gan.family}")
    if gan.data_kind != "paired" and (args.pair is not None or args.features is not None):
        flag = "--pair" if args.pair is not None else "--features"
        raise UsageError(f"{flag} names the test pairs of a pix2pix model; {args.model} is a {gan.family}")
    if pictures and getattr(gan, "latent_dim", None) is None:
        raise UsageError(f"{pictures[0]} needs a latent space; {args.model} is a {gan.family} model")
    if args.truncation is not None and gan.data_kind in ("unpaired", "paired"):
        raise UsageError(f"--truncation applies to GANs that sample; {args.model} is a {gan.family} model")
    if args.truncation == 0.0 and not hasattr(gan, "w_from_latents"):
        raise UsageError(f"--truncation 0 is the mean-w image of StyleGAN2; a {gan.family} takes psi in (0, 1]")
    if pictures and args.seed > 2**63 - 1 - 2 * args.n:
        raise UsageError(f"{pictures[0]} takes seeds from --seed on: --seed must be below 2**63 - {2 * args.n}")
    if args.truncation_strip is not None:
        return _sample_truncation_strip(gan, args, labels)
    if args.style_mix is not None:
        return _sample_style_mix(gan, args)
    if args.growth_strip:
        if not hasattr(gan, "growth_strip"):
            raise UsageError(f"--growth-strip needs a ProGAN (it grows by stages); {args.model} is a "
                             f"{gan.family} model")
        rows = max(args.n // gan.num_stages, 1)
        save_grid(gan.growth_strip(rows, seed=args.seed, truncation=args.truncation), args.out,
                  ncols=gan.num_stages)
        print(f"wrote {args.out} ({rows} samples of seed {args.seed}, each at the "
              f"{' -> '.join(str(r) for r in gan.resolutions)} stages, of {args.model})")
        return 0
    if args.interpolate is not None:
        from keras_gans import sampling
        from keras_gans.callbacks import image_grid

        steps = args.interpolate
        conditions = {} if labels is None else {"labels": np.resize(labels, steps)}
        images = sampling.interpolate(gan, args.seed, args.seed + 1, steps, truncation=args.truncation,
                                      **conditions)
        save_grid(images, args.out, ncols=steps)
        written = args.out
        if args.gif:
            from PIL import Image

            frames = [Image.fromarray(np.squeeze(image_grid(images[i : i + 1], ncols=1))) for i in range(steps)]
            gif = os.path.splitext(args.out)[0] + ".gif"
            frames[0].save(gif, save_all=True, append_images=frames[1:], duration=150, loop=0)
            written += f" and {gif}"
        print(f"wrote {written} ({steps} images from seed {args.seed} to {args.seed + 1} of {args.model})")
        return 0
    if labels is not None:
        if not hasattr(gan, "num_classes"):
            raise UsageError(f"--labels needs a conditional GAN, but {args.model} is a {gan.family} model")
        images = gan.generate(args.n, labels=labels, seed=args.seed, truncation=args.truncation)
        what = f"{args.n} images"
    elif gan.data_kind == "unpaired":
        inputs, where = _translation_inputs(gan, args.model, args.dataset, classes, args.n, args.seed)
        images = gan.preview(2 * len(inputs), seed=args.seed, inputs=inputs)
        what = f"{len(inputs)} domain-A test images of {where}, each beside its translation,"
    elif gan.data_kind == "paired":
        from keras_gans.callbacks import with_targets

        inputs, targets, where = _paired_inputs(gan, args.model, args, classes)
        images = with_targets(gan.preview(2 * len(inputs), seed=args.seed, inputs=inputs), targets)
        save_grid(images, args.out, ncols=6 if len(inputs) > 1 else 3)
        print(f"wrote {args.out} ({len(inputs)} test inputs of {where}, each beside its translation and "
              f"its target, from {args.model})")
        return 0
    elif args.truncation is not None:
        images = gan.generate(args.n, seed=args.seed, truncation=args.truncation)
        what = f"{args.n} images at truncation {args.truncation:g}"
    else:
        images = gan.preview(args.n, seed=args.seed)
        what = f"{args.n} images"
    save_grid(images, args.out)
    print(f"wrote {args.out} ({what} from {args.model})")
    return 0


def _sample_truncation_strip(gan, args, labels):
    """``sample --truncation-strip STEPS``: N // STEPS seeds, each at STEPS truncations."""
    from keras_gans import sampling
    from keras_gans.callbacks import save_grid

    steps = args.truncation_strip
    seeds = list(range(args.seed, args.seed + max(args.n // steps, 1)))
    conditions = {} if labels is None else {"labels": labels[: len(seeds)]}
    images, psis = sampling.truncation_strip(gan, seeds, steps, **conditions)
    save_grid(images, args.out, ncols=steps)
    print(f"wrote {args.out} ({len(seeds)} seeds from {args.seed}, each at psi "
          f"{', '.join(f'{p:.2f}' for p in psis)}, of {args.model})")
    return 0


def _sample_style_mix(gan, args):
    """``sample --style-mix CUTOFF``: the style-mixing figure of K x K seeds."""
    import math

    from keras_gans import sampling
    from keras_gans.callbacks import save_grid

    if not hasattr(gan, "style_mix"):
        raise UsageError(f"--style-mix needs a StyleGAN2 (per-layer styles); {args.model} is a {gan.family} model")
    if not 0 <= args.style_mix <= gan.num_ws:
        raise UsageError(f"--style-mix CUTOFF must be in [0, {gan.num_ws}] (the style inputs of "
                         f"{args.model}), got {args.style_mix}")
    k = max(math.isqrt(args.n) - 1, 1)
    rows = list(range(args.seed, args.seed + k))
    cols = list(range(args.seed + k, args.seed + 2 * k))
    images = sampling.style_mix_grid(gan, rows, cols, args.style_mix, truncation=args.truncation)
    save_grid(images, args.out, ncols=k + 1)
    print(f"wrote {args.out} (styles below {args.style_mix} from seeds {rows[0]}..{rows[-1]} down the side, "
          f"the rest from seeds {cols[0]}..{cols[-1]} across the top, of {args.model})")
    return 0


# ---------------------------------------------------------------- evaluate
def _add_evaluate(sub):
    p = sub.add_parser(
        "evaluate",
        help="score a GAN's samples: FCD/FID, KID, precision/recall, class coverage",
        description=(
            "Generate N samples and compare them with N real images of a dataset split in the "
            "features of an extractor: the zoo classifier (FCD; the default for 28x28x1), Keras' "
            "InceptionV3 ('FID (Keras InceptionV3)', not comparable to published FIDs; the default "
            "for other shapes) or the standard 2015-12-05 Inception graph ('FID', as published: "
            "--extractor inception). A Pix2Pix is scored on the test pairs instead: L1 to the targets, "
            "the Frechet distance of its outputs to the real targets, and label agreement (the share "
            "of outputs the classifier puts in the class of the image their pair was made from). "
            "See kg.metrics.evaluate for the protocol."
        ),
    )
    p.add_argument("model", help="path to a .keras file, or a zoo name such as dcgan.fashion_mnist")
    p.add_argument("--dataset", default=None,
                   help="real images: TFDS name, IDX/image folder or .npz (default: fashion_mnist; pix2pix: "
                        "the source of its test pairs, the model's when known)")
    p.add_argument("--n", type=_positive_int, default=10000,
                   help="samples and real images (default: 10000; fewer when the split is smaller); CycleGAN: images per domain")
    p.add_argument("--split", default="test", help="split of the real images (default: test)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and the real subset")
    p.add_argument("--batch-size", type=_positive_int, default=500, help="images per forward pass")
    p.add_argument("--classes", default=None, metavar="A,B",
                   help="CycleGAN: the class ids of domains A and B in --dataset (a zoo entry's by default); "
                        "pix2pix: comma-separated class ids to make pairs from (the model's by default)")
    _add_pair_flags(p)
    p.add_argument("--image-size", default=None, metavar="H,W",
                   help="resize the real images (pix2pix: both images of each pair) to H,W first, as a "
                        "recipe's [data] image_size trains (default: a zoo entry's, else none)")
    p.add_argument("--extractor", choices=EXTRACTORS, default=None,
                   help="features: classifier (the zoo's Fashion-MNIST classifier, FCD), inception (the "
                        "2015-12-05 Inception graph, FID comparable to published numbers) or keras-inception "
                        "(Keras' InceptionV3 weights) (default: classifier for 28x28x1, keras-inception otherwise)")
    p.add_argument("--inception-graph", default=None, metavar="PATH",
                   help="--extractor inception: classify_image_graph_def.pb or inception-2015-12-05.tgz, read "
                        "offline (default: the cached graph, else the archive is downloaded: needs --inception-sha256)")
    p.add_argument("--inception-sha256", default=None, metavar="HEX",
                   help="--extractor inception: sha256 of the archive to download (or of --inception-graph, which "
                        "is then checked); no digest is recorded in keras-gans (default: $KERAS_GANS_INCEPTION_SHA256)")
    p.add_argument("--resize", choices=RESIZE_MODES, default=None,
                   help="--extractor inception: clean-fid's resize to 299x299, clean (PIL bicubic) or "
                        "legacy_tensorflow (the graph's bilinear resize, as the TTUR code) (default: clean)")
    p.add_argument("--json", default=None, metavar="OUT.json", help="also write the report as JSON")
    p.add_argument("--verbose", type=int, choices=(0, 1), default=1, help="1 shows a progress bar")
    p.set_defaults(run=_cmd_evaluate)


#: ``keras-gans evaluate --extractor`` choices and ``--resize`` modes (kg.metrics.inception.MODES).
EXTRACTORS = ("classifier", "inception", "keras-inception")
RESIZE_MODES = ("clean", "legacy_tensorflow")


def _check_extractor_args(args):
    """Refuse --inception-* and --resize without --extractor inception, and a malformed digest (before any work)."""
    given = [flag for flag, value in (("--inception-graph", args.inception_graph),
                                      ("--inception-sha256", args.inception_sha256),
                                      ("--resize", args.resize)) if value is not None]
    if given and args.extractor != "inception":
        raise UsageError(f"{given[0]} applies to --extractor inception (the standard FID graph): add it or drop "
                         f"{given[0]}")
    if args.inception_sha256 is not None:
        text = args.inception_sha256.strip().lower()
        if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
            raise UsageError(f"--inception-sha256 must be 64 hex digits, got {args.inception_sha256!r}")
    if args.inception_graph is not None and not os.path.isfile(args.inception_graph):
        raise UsageError(f"--inception-graph {args.inception_graph} does not exist: pass "
                         "classify_image_graph_def.pb or the inception-2015-12-05.tgz archive")


def _evaluate_extractor(args, image_shape):
    """The feature extractor ``--extractor`` names for images of ``image_shape``."""
    from keras_gans import zoo

    if args.extractor is None:
        # The zoo hands the metrics its classifier (28x28x1) or Keras' InceptionV3 as the extractor.
        return zoo.get_extractor(image_shape)
    if args.extractor == "classifier":
        if tuple(image_shape) != (28, 28, 1):
            raise UsageError(f"--extractor classifier takes 28x28x1 images (Fashion-MNIST); {args.model} makes "
                             f"{'x'.join(map(str, image_shape))}: use --extractor inception")
        return zoo.classifier_extractor()
    if args.extractor == "keras-inception":
        from keras_gans.metrics import inception_extractor

        return inception_extractor(image_shape)
    from keras_gans.metrics import inception

    return inception.standard_extractor(args.inception_graph, mode=args.resize or "clean", sha256=args.inception_sha256)


def _cmd_evaluate(args):
    from keras_gans import metrics
    from keras_gans.saving import write_json_atomic

    if args.json is not None and not args.json.lower().endswith(".json"):
        raise UsageError(f"--json must name a .json file, got {args.json}")
    if args.json is not None and os.path.dirname(os.path.abspath(args.json)) and not os.path.isdir(
        os.path.dirname(os.path.abspath(args.json))
    ):
        raise UsageError(f"the folder of --json {args.json} does not exist")
    classes = _parse_ints(args.classes, "--classes") if args.classes is not None else None
    image_size = _parse_ints(args.image_size, "--image-size") if args.image_size is not None else None
    if image_size is not None and (len(image_size) != 2 or min(image_size) < 1):
        raise UsageError(f"--image-size takes H,W (two positive ints), got {args.image_size}")
    _parse_features(args.features)  # malformed: exit 2 before the model loads
    _check_extractor_args(args)
    gan = load_any(args.model)
    if classes is not None and len(classes) != 2 and gan.data_kind != "paired":
        raise UsageError(f"--classes takes two class ids A,B, got {args.classes}")
    if gan.data_kind != "paired" and (args.pair is not None or args.features is not None):
        flag = "--pair" if args.pair is not None else "--features"
        raise UsageError(f"{flag} names the test pairs of a pix2pix model; {args.model} is a {gan.family}")
    source = None
    if gan.data_kind == "paired":
        source = _paired_source(args.model, args.dataset, args.pair, _parse_features(args.features), classes)
    dataset = source["dataset"] if source else (args.dataset or "fashion_mnist")
    if image_size is None and args.dataset is None and not os.path.exists(args.model):
        from keras_gans import zoo

        # A zoo entry scores against its own data at the size it was scored at.
        image_size = zoo.card(args.model).get("protocol", {}).get("image_size")
    if image_size is not None and gan.data_kind == "unpaired":
        raise UsageError("--image-size resizes the real images of sampling GANs and pix2pix pairs; a CycleGAN's "
                         "domains are scored at the model's size")
    extractor = _evaluate_extractor(args, tuple(gan.image_shape))
    if source is not None:
        report = metrics.evaluate(
            gan, dataset=dataset, n=args.n, split=args.split, seed=args.seed, batch_size=args.batch_size,
            verbose=args.verbose, extractor=extractor, image_size=image_size,
            **{k: source[k] for k in ("pair", "features", "classes", "edge_threshold")},
        )
        text = metrics.format_report(report)
    elif gan.data_kind == "unpaired":
        if classes is None and not os.path.exists(args.model):
            from keras_gans import zoo

            classes = zoo.card(args.model).get("protocol", {}).get("classes")
        report = metrics.evaluate_translation(
            gan, dataset=dataset, classes=classes, split=args.split,
            n=args.n, batch_size=args.batch_size, extractor=extractor,
        )
        text = metrics.format_translation_report(report)
    else:
        if classes is not None:
            raise UsageError(f"--classes names CycleGAN domains; {args.model} is a {gan.family}")
        report = metrics.evaluate(
            gan, dataset=dataset, n=args.n, split=args.split, seed=args.seed,
            batch_size=args.batch_size, verbose=args.verbose, extractor=extractor, image_size=image_size,
        )
        text = metrics.format_report(report)
    report["protocol"]["model"] = args.model
    where = _describe_pairs(source) if source else dataset
    print(f"{args.model} ({gan.family}) against {where} [{args.split}]")
    print(text)
    if args.json is not None:
        write_json_atomic(args.json, report, sort_keys=False)
        print(f"wrote {args.json}")
    return 0


# ---------------------------------------------------------------- export
def _add_export(sub):
    p = sub.add_parser(
        "export",
        help="export a generator as a TF Serving SavedModel or a TFLite file, and verify it",
        description=(
            "Export the generator of a .keras file or a zoo entry: --format saved_model writes "
            "OUT/NAME/VERSION/ (the TF Serving layout), --format tflite writes OUT/NAME[-QUANTIZE].tflite "
            "(builtin ops only). The artifact is then run in its own runtime against the Keras model; "
            "an int8/int16x8 file is checked on held-out inputs before it is put at its path (a file "
            "that fails is kept as NAME.failed.tflite and the command exits 1)."
        ),
    )
    p.add_argument("model", metavar="NAME_OR_PATH", help="zoo name (dcgan.fashion_mnist) or .keras file")
    p.add_argument("--format", dest="export_format", required=True, metavar="FORMAT",
                   help="saved_model or tflite")
    p.add_argument("--quantize", default=None, metavar="MODE",
                   help="tflite only: none (default), dynamic, float16, int8 or int16x8 "
                        "(int8 weights, int16 activations; not for cyclegan)")
    p.add_argument("--out", required=True, help="folder: the TF Serving base folder, or where the .tflite goes")
    p.add_argument("--name", default=None, help="serving name (default: the zoo name or the GAN family)")
    p.add_argument("--version", type=_positive_int, default=None,
                   help="saved_model only: version folder (default: the next free one)")
    p.add_argument("--calibration", default=None, metavar="DATA.npy",
                   help="int8/int16x8 only: calibration inputs, latents [n, latent_dim] or images "
                        "[n, h, w, c] in [-1, 1] (or uint8); required for cyclegan, whose every fifth "
                        "image is held out to verify on unless --verify-data is given")
    p.add_argument("--verify-data", default=None, metavar="DATA.npy",
                   help="tflite only: held-out inputs to verify on (default: held-out calibration "
                        "images, or the model's own latents of seed 1)")
    p.add_argument("--overwrite", action="store_true", help="tflite only: replace an existing file")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip running the artifact against the Keras model")
    p.set_defaults(run=_cmd_export)


def _cmd_export(args):
    from keras_gans import export

    if args.export_format not in export.FORMATS:
        raise UsageError(f"unknown --format {args.export_format!r}: use one of {', '.join(export.FORMATS)}")
    if args.quantize is not None and args.quantize not in export.QUANTIZE_MODES:
        raise UsageError(f"unknown --quantize {args.quantize!r}: use one of {', '.join(export.QUANTIZE_MODES)}")
    if args.export_format == "saved_model":
        for flag, value in (("--quantize", args.quantize), ("--calibration", args.calibration)):
            if value is not None:
                raise UsageError(f"{flag} applies to --format tflite only (a SavedModel keeps float32 weights)")
        if args.verify_data is not None:
            raise UsageError("--verify-data applies to --format tflite only")
        if args.overwrite:
            raise UsageError("--overwrite applies to --format tflite only: pass --version or let it pick the next")
    else:
        if args.version is not None:
            raise UsageError("--version applies to --format saved_model only")
        if args.calibration is not None and args.quantize not in ("int8", "int16x8"):
            raise UsageError("--calibration applies to --quantize int8 or int16x8 only")
        if args.verify_data is not None and not args.verify:
            raise UsageError("--verify-data is what the artifact is verified on: drop it or --no-verify")
    if args.name is not None:
        export._source.check_name(args.name)
    def load_array(flag, path):
        import numpy as np

        if not os.path.isfile(path):
            raise UsageError(f"{flag} {path} does not exist: pass a .npy array")
        try:
            return np.load(path, allow_pickle=False)
        except ValueError as err:
            raise UsageError(f"{flag} {path} is not a plain .npy array ({err})") from None

    calibration = None if args.calibration is None else load_array("--calibration", args.calibration)
    verify_data = None if args.verify_data is None else load_array("--verify-data", args.verify_data)
    if not os.path.exists(args.model) and (args.model.endswith(".keras") or os.sep in args.model):
        raise UsageError(f"{args.model} does not exist: pass a .keras file or a zoo name (keras-gans zoo list)")
    source = export._source.resolve(args.model)
    name = args.name or source.name
    if args.export_format == "saved_model":
        path = export.saved_model(source, args.out, name=name, version=args.version)
        report = export.verify(path, source) if args.verify else None
    else:
        from keras_gans.export.tflite import export_tflite

        suffix = "" if args.quantize in (None, "none") else f"-{args.quantize}"
        try:
            # Verified before it is put at its path: a failed file never sits there.
            path, report = export_tflite(
                source, os.path.join(args.out, f"{name}{suffix}.tflite"), quantize=args.quantize,
                representative_data=calibration, overwrite=args.overwrite, verify=args.verify,
                verify_data=verify_data,
            )
        except export.VerificationError as err:
            print(export.format_report(err.report))
            print(f"keras-gans export: the artifact differs from the Keras model beyond the threshold; "
                  f"not written, kept for inspection as {err.failed_path}", file=sys.stderr)
            return 1
    size = export._atomic.disk_size(path)
    print(f"wrote {path} ({args.export_format}, {export._atomic.human_size(size)}, {size} bytes)")
    _print_signatures(path, args.export_format)
    if report is None:
        return 0
    print(export.format_report(report))
    if not report["passed"]:
        print(f"keras-gans export: the artifact differs from the Keras model beyond the threshold: {path}",
              file=sys.stderr)
        return 1
    return 0


def _print_signatures(path, export_format):
    """One line per signature: ``name(inputs) -> outputs`` with dtypes and shapes."""
    if export_format == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=path)
        for key in interpreter.get_signature_list():
            runner = interpreter.get_signature_runner(key)

            def fmt(details):
                return ", ".join(
                    f"{k} {np_dtype(v['dtype'])}{[int(d) for d in v['shape_signature']]}" for k, v in sorted(details.items())
                )

            print(f"signature {key}({fmt(runner.get_input_details())}) -> {fmt(runner.get_output_details())}")
        return
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    for key, fn in loaded.signatures.items():
        ins = ", ".join(
            f"{k} {v.dtype.name}{v.shape.as_list()}" for k, v in sorted(fn.structured_input_signature[1].items())
        )
        outs = ", ".join(f"{k} {v.dtype.name}{v.shape.as_list()}" for k, v in sorted(fn.structured_outputs.items()))
        print(f"signature {key}({ins}) -> {outs}")


def np_dtype(dtype):
    import numpy as np

    return np.dtype(dtype).name


# ---------------------------------------------------------------- zoo
def _add_zoo(sub):
    p = sub.add_parser(
        "zoo",
        help="browse, fetch and retrain the model zoo",
        description="List zoo entries, print a card, download and verify weights, or retrain an entry.",
    )
    zsub = p.add_subparsers(dest="zoo_command", required=True, metavar="ACTION")
    lp = zsub.add_parser("list", help="table of zoo entries",
                         description="Print the zoo entries: name, family, dataset, params, metrics, local copy.")
    lp.add_argument("--family", default=None, help="keep one family (a GAN family such as dcgan, or classifier)")
    lp.add_argument("--pretrained", action="store_true", help="only entries with published weights")
    lp.set_defaults(run=_cmd_zoo_list)
    cp = zsub.add_parser("card", help="print an entry's card (JSON)",
                         description="Print a zoo entry's card: config, url, sha256, metrics, recipe, license.")
    cp.add_argument("name", help="zoo name, e.g. dcgan.fashion_mnist")
    cp.set_defaults(run=_cmd_zoo_card)
    fp = zsub.add_parser("fetch", help="download and verify an entry's weights; print the path",
                         description="Download (or find locally) an entry's artifact, check its sha256, print its path.")
    fp.add_argument("name", help="zoo name, e.g. dcgan.fashion_mnist")
    fp.add_argument("--quiet", action="store_true", help="no progress bar")
    fp.set_defaults(run=_cmd_zoo_fetch)
    tp = zsub.add_parser("train", help="retrain an entry from its recipe (zoo/<name>.toml)",
                         description="Train a zoo entry from its recipe: keras-gans zoo train dcgan.fashion_mnist "
                                     "(GAN families) or classifier.fashion_mnist (the feature extractor).")
    tp.add_argument("name", help="zoo name or path of a recipe .toml")
    tp.add_argument("--out", default=None, help="run folder (default: runs/zoo/<name>)")
    tp.add_argument("--epochs", type=_positive_int, default=None,
                    help="override the recipe's epochs (default: the recipe's; --resume: the run's)")
    tp.add_argument("--publish", action="store_true",
                    help="maintainers, in a checkout: write zoo/weights/<name>.weights.h5, the grid and the card")
    tp.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    tp.add_argument("--resume", action="store_true", help="continue the run in --out (GAN recipes)")
    tp.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    tp.set_defaults(run=_cmd_zoo_train)
    pp = zsub.add_parser("publish", help="write a run or entry as a preset and push it to a hub",
                         description="Save a GAN (a run folder, a .keras file or a zoo name) as a preset "
                                     "(config.json, model.weights.h5, metadata.json with the card and sha256 "
                                     "manifest, samples.png, README.md) and upload it: "
                                     "keras-gans zoo publish runs/dcgan --to hf://me/dcgan-fmnist. "
                                     "HF_ENDPOINT and HF_TOKEN are honoured.")
    pp.add_argument("source", metavar="RUN_OR_NAME", help="run folder, .keras file or zoo name")
    pp.add_argument("--to", required=True, help="hf://owner/repo (@branch to pick a branch)")
    pp.add_argument("--out", default=None, help="keep the preset folder here (default: a temporary folder)")
    pp.add_argument("--message", default=None, help="commit message")
    pp.set_defaults(run=_cmd_zoo_publish)


def _format_count(n):
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


# The headline scores `zoo list` shows (`zoo card NAME` prints them all).
_HEADLINE_METRICS = (
    ("frechet_distance", "FCD"), ("precision", "P"), ("recall", "R"), ("label_agreement", "labels"),
    ("l1", "L1"), ("reconstruction_l1", "recon_L1"),
    ("frechet_distance_a2b", "FCD_a2b"), ("target_fraction_a2b", "to_target"),
    ("test_accuracy", "test_accuracy"),
)


def _format_metrics(metrics):
    parts = []
    for key, label in _HEADLINE_METRICS:
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{label}={value:.4g}")
    return " ".join(parts) or "-"


def _cmd_zoo_list(args):
    from keras_gans import zoo

    names = zoo.list_models(family=args.family, pretrained=True if args.pretrained else None)
    if not names:
        raise UsageError(f"no zoo entries match (family={args.family!r}): see keras-gans zoo list")
    rows = [("NAME", "FAMILY", "DATASET", "PARAMS", "METRICS", "LOCAL")]
    for name in names:
        card = zoo.card(name)
        counts = card.get("num_params", {})
        total = sum(counts.values()) if isinstance(counts, dict) else counts
        if not card["pretrained"]:
            local = "recipe only"
        else:
            local = _local_state(zoo, name, card)
        rows.append((name, card["family"], card.get("dataset", "-"),
                     _format_count(total) if total else "-", _format_metrics(card["metrics"]), local))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _local_state(zoo, name, card):
    """Where ``zoo list`` finds an entry: checkout, cache, the installed package, or no."""
    path = zoo.local_path(name)
    if path is not None:
        return "cache" if path.startswith(zoo.cache_dir()) else "checkout"
    from keras_gans.zoo import packaged

    records = list((card.get("packaged") or {}).values())
    if records and all(packaged.path_of(r) for r in records):
        # The wheel carries the generator (the whole model for extractors).
        return "package" if packaged.MODEL_KEY in card["packaged"] else "package (generator)"
    return "no"


def _cmd_zoo_card(args):
    import json

    from keras_gans import zoo

    print(json.dumps(zoo.card(args.name), indent=2))
    return 0


def _cmd_zoo_fetch(args):
    from keras_gans import zoo

    try:
        path = zoo.fetch(args.name, verbose=False if args.quiet else None)
    except zoo.DownloadError as err:
        # A network or disk failure, not bad input: exit 1, still in one line.
        print(f"keras-gans zoo fetch: error: {err}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _cmd_zoo_train(args):
    from keras_gans.zoo.runner import run_recipe

    result = run_recipe(args.name, out=args.out, epochs=args.epochs, publish=args.publish,
                        verbose=args.verbose, overwrite=args.overwrite, resume=args.resume)
    for key in ("model", "samples", "history"):
        if key in result:
            print(f"{key + ':':9}{result[key]}")
    if "test_accuracy" in result:  # a classifier recipe
        print(f"test accuracy: {result['test_accuracy']:.4f} ({result['test_n']} images)")
    if "card" in result:
        print(f"card:    {result['card']['name']} (sha256 {result['card']['sha256'][:12]}...)")
    return 0


def _cmd_zoo_publish(args):
    import json
    import shutil
    import tempfile

    from keras_gans import zoo
    from keras_gans.zoo import hub

    try:
        hub.parse(args.to)  # a malformed --to is bad input: exit 2 before any work
    except ValueError as err:
        raise UsageError(f"--to: {err}") from None
    source, card, name = args.source, None, None
    if os.path.isdir(source):
        run_file = os.path.join(source, "run.json")
        model = os.path.join(source, "model.keras")
        if not os.path.isfile(model):
            raise UsageError(f"{source} holds no model.keras: pass a run folder, a .keras file or a zoo name")
        if os.path.isfile(run_file):
            with open(run_file) as f:
                record = json.load(f)
            card = {"dataset": record.get("dataset"), "training": {
                k: record[k] for k in ("epochs", "batch_size") if isinstance(record.get(k), int)}}
            card = {k: v for k, v in card.items() if v}
        source = model
    if os.path.isfile(source) or source.endswith(".keras"):
        gan = load_any(source)
    else:
        name = source
        # The whole GAN (discriminator and optimizer state): a preset is for fine-tuning too.
        gan = zoo.load_gan(name, generator_only=False)
    inputs = None
    if getattr(gan, "data_kind", None) == "unpaired":
        inputs = _translation_inputs(gan, args.source, None, None, 32, 0)[0]
    scratch = None if args.out else tempfile.mkdtemp(prefix="keras-gans-preset-")
    folder = args.out or os.path.join(scratch, "preset")
    try:
        zoo.save_preset(gan, folder, name=name, card=card, overwrite=bool(args.out), inputs=inputs)
        pushed = zoo.upload(folder, args.to, commit_message=args.message)
    except zoo.DownloadError as err:
        # A network failure, not bad input: exit 1, still in one line.
        print(f"keras-gans zoo publish: error: {err}", file=sys.stderr)
        return 1
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(pushed)
    return 0


# ---------------------------------------------------------------- main
def _one_line(text):
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows every option's default.

    An option whose help already says its default (``default: 5; --resume:
    the run's``) keeps its words; the others get argparse's ``(default: X)``,
    with ``off``/``on`` for flags and ``none`` for an unset value.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if (not action.option_strings or action.required or action.default is argparse.SUPPRESS
                or "default" in text):
            return text
        if action.default is None:
            return text + " (default: none)"
        if isinstance(action.default, bool):
            return text + (" (default: on)" if action.default else " (default: off)")
        return text + " (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit code 2), no usage dump."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")

    def _get_values(self, action, arg_strings):
        # argparse drops a "--" given as an option's one value (--epochs=--) and
        # returns [] unchecked; convert it like any other value, so the option's
        # type refuses it with its own message.
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)


def build_parser():
    parser = _Parser(
        prog="keras-gans",
        description="Train, sample, evaluate and export Keras GANs; browse the model zoo.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_sample(sub)
    _add_evaluate(sub)
    _add_export(sub)
    _add_zoo(sub)
    return parser


def main(argv=None):
    """Entry point of the ``keras-gans`` console script; returns the exit code.

    Exit codes: 0 done, 2 bad input (one line on stderr, nothing written),
    1 training diverged (NaN or inf; the last finite checkpoint is kept),
    130 interrupted.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a one-line usage error
        return done.code if isinstance(done.code, int) else 2
    try:
        return args.run(args)
    except (UsageError, ValueError, OSError, KeyError) as err:
        message = _one_line(err) or type(err).__name__
        print(f"keras-gans {args.command}: error: {message}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        from keras_gans.callbacks import DivergenceError

        if not isinstance(err, DivergenceError):
            raise
        print(f"keras-gans {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"keras-gans {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
