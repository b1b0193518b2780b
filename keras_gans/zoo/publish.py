"""Publishing a trained zoo entry: its weights, sample grid and card, written together.

A maintainer step, from a checkout (``keras-gans zoo train NAME --publish``).
The entry is evaluated first (``kg.metrics.evaluate`` with the zoo's
extractor for its image shape), then its files are staged beside their
destinations and renamed into place, so a failure leaves the published
entry as it was.
"""

import os
import platform
import shutil
import tempfile

from keras_gans.zoo.recipe import repo_zoo_dir

def hardware():
    """A short description of this machine, for cards."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus]
        return f"{len(gpus)}x {names[0]}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()}-core CPU ({cpu})"


def _card_context(recipe, zoo_dir, time_s, epochs):
    """The card fields every published entry shares: recipe, license, training, versions."""
    import keras
    import tensorflow as tf

    return {
        "dataset": recipe["data"].get("dataset", "fashion_mnist"),
        "recipe": os.path.relpath(recipe["path"], os.path.dirname(zoo_dir)).replace(os.sep, "/"),
        "license": "Apache-2.0",
        "training": {"time_s": round(time_s, 1), "hardware": hardware(), "epochs": int(epochs)},
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
    }


def _commit_entry(name, zoo_dir, cards_dir, save_weights, grid, card_fields, grid_columns=None, pictures=None,
                  ship=False):
    """Write an entry's weights, grid and card so the old ones stay whole on failure.

    Everything is first written and measured in temporary folders beside its
    destination (the weights saved, the card built by ``kg.zoo.write_card``
    from that file, which also checks that it fits the config); only then are
    the three renamed into place, one after the other. ``pictures`` maps a
    suffix to ``(images, ncols)``: more grids, written as
    ``zoo/<name>.<suffix>.png`` with the main one. ``ship``: pack the
    entry's inference networks into the wheel's weights (``write_card``).
    """
    from keras_gans.callbacks import save_grid
    from keras_gans.zoo import registry

    weights_dir = os.path.join(zoo_dir, "weights")
    cards_dir = cards_dir or registry.CARDS_DIR
    os.makedirs(weights_dir, exist_ok=True)
    os.makedirs(cards_dir, exist_ok=True)
    stage_weights = tempfile.mkdtemp(prefix=".tmp-publish-", dir=weights_dir)
    stage_cards = tempfile.mkdtemp(prefix=".tmp-publish-", dir=cards_dir)
    # An entry that ships in the wheel is repacked into weights/ beside the
    # cards (the package's keras_gans/zoo/weights/), staged like the rest.
    packaged_dir = os.path.join(os.path.dirname(os.path.abspath(cards_dir)), "weights")
    os.makedirs(packaged_dir, exist_ok=True)
    stage_packaged = tempfile.mkdtemp(prefix=".tmp-publish-", dir=packaged_dir)
    # write_card registers the new card in this process: undo that on failure.
    previous = _copy_of_entry(name)
    try:
        weights_tmp = os.path.join(stage_weights, f"{name}.weights.h5")
        save_weights(weights_tmp)
        os.chmod(weights_tmp, 0o644)
        staged_pictures = {}
        if grid is not None:
            staged_pictures[f"{name}.png"] = save_grid(grid, os.path.join(stage_weights, f"{name}.png"),
                                                       ncols=grid_columns)
        for suffix, (images, ncols) in (pictures or {}).items():
            filename = f"{name}.{suffix}.png"
            staged_pictures[filename] = save_grid(images, os.path.join(stage_weights, filename), ncols=ncols)
        card = registry.write_card(name, weights_tmp, cards_dir=stage_cards, packaged_dir=stage_packaged,
                                   ship=ship, **card_fields)
        for record in (card.get("packaged") or {}).values():
            os.replace(os.path.join(stage_packaged, record["file"]), os.path.join(packaged_dir, record["file"]))
        os.replace(weights_tmp, os.path.join(weights_dir, f"{name}.weights.h5"))
        for filename, staged in staged_pictures.items():
            os.replace(staged, os.path.join(zoo_dir, filename))
        os.replace(os.path.join(stage_cards, f"{name}.json"), os.path.join(cards_dir, f"{name}.json"))
        return card
    except BaseException:
        _restore_entry(name, previous)
        raise
    finally:
        shutil.rmtree(stage_weights, ignore_errors=True)
        shutil.rmtree(stage_cards, ignore_errors=True)
        shutil.rmtree(stage_packaged, ignore_errors=True)


def _copy_of_entry(name):
    """The registered card of ``name`` (a copy), or None."""
    import copy

    from keras_gans.zoo import registry

    entry = registry._registry().get(name)
    return copy.deepcopy(entry) if entry is not None else None


def _restore_entry(name, previous):
    from keras_gans.zoo import registry

    if previous is None:
        registry._registry().pop(name, None)
    else:
        registry._registry()[name] = previous


def _publishing_dir(zoo_dir):
    """``zoo_dir``, or the checkout's ``zoo/`` folder; publishing needs one."""
    zoo_dir = zoo_dir or repo_zoo_dir()
    if zoo_dir is None:
        raise FileNotFoundError("publishing needs a checkout with a zoo/ folder.")
    return zoo_dir


def publish_entry(recipe, gan, time_s, epochs=None, zoo_dir=None, cards_dir=None):
    """Evaluate a trained generator entry, then write its weights, grid and card.

    The sample grid and the metrics (``kg.metrics.evaluate``, or
    ``evaluate_translation`` for CycleGAN, with ``kg.zoo.get_extractor`` for
    the image shape, per ``[evaluate]``; ``n = 0``
    skips them; a paired family such as Pix2Pix is scored on the test pairs
    its ``[data]`` names: L1 to the targets, Frechet distance and label
    agreement, and its grid shows input | output | target for 8 test pairs;
    a family with an encoder, VAE-GAN, also writes
    ``zoo/<name>.reconstructions.png``: 32 test images, each beside its
    reconstruction) are computed from the in-memory GAN first, so a failing
    evaluation leaves the checkout's weights and card as they were; the new
    weights, grid and card are then staged and renamed into place together
    (see ``_commit_entry``).

    Args:
        recipe: the ``load_recipe`` dict.
        gan: the trained GAN.
        time_s: float, the training time to record.
        epochs: int, the epochs actually trained (default: the recipe's).
        zoo_dir: the checkout's ``zoo/`` folder (default ``repo_zoo_dir()``).
        cards_dir: where the card goes (default the package's cards folder).

    Returns:
        The card dict.
    """
    zoo_dir = _publishing_dir(zoo_dir)
    name = recipe["name"]
    if epochs is None:
        epochs = recipe["train"].get("epochs", 0)
    data = recipe["data"]
    dataset = data.get("dataset", "fashion_mnist")
    paired = {}
    if gan.data_kind == "paired":
        from keras_gans.zoo.runner import paired_options

        paired = paired_options(data)
    preview_inputs = preview_targets = None
    if gan.data_kind in ("unpaired", "paired"):
        from keras_gans import trainer

        ds = trainer.make_dataset(type(gan), dataset, 8, classes=data.get("classes"), split="test", **paired)
        batch = next(iter(ds))
        preview_inputs = batch[0].numpy()
        if gan.data_kind == "paired":
            preview_targets = batch[1].numpy()
    grid = gan.preview(64, seed=0, inputs=preview_inputs)
    grid_columns = None
    if preview_targets is not None:
        from keras_gans.callbacks import with_targets

        grid, grid_columns = with_targets(grid, preview_targets), 6
    pictures = {}
    if getattr(gan, "encoder", None) is not None and hasattr(gan, "reconstruct"):
        pictures["reconstructions"] = (_reconstruction_grid(gan, dataset, data.get("image_size")), 8)
    evaluation = recipe["evaluate"]
    metrics, protocol = {}, {}
    n = evaluation.get("n", 10000)
    if n:
        from keras_gans import metrics as metrics_lib
        from keras_gans.zoo.classifier import get_extractor

        split = evaluation.get("split", "test")
        extractor = get_extractor(tuple(gan.image_shape))
        if gan.data_kind == "unpaired":
            report = metrics_lib.evaluate_translation(
                gan, dataset=dataset, classes=data.get("classes"), split=split,
                n=int(evaluation["n"]) if "n" in evaluation else None, extractor=extractor,
            )
        elif gan.data_kind == "paired":
            report = metrics_lib.evaluate(
                gan, dataset=dataset, n=int(n), split=split, extractor=extractor,
                classes=data.get("classes"), image_size=data.get("image_size"), **paired,
            )
        else:
            # The real images at the size the recipe trained at ([data] image_size).
            report = metrics_lib.evaluate(gan, dataset=dataset, n=int(n), split=split, extractor=extractor,
                                          image_size=data.get("image_size"))
        metrics, protocol = report_metrics(report)
    skip = ("generator", "discriminator", "generator_ba", "discriminator_a", "encoder", "name", "trainable")
    config = {k: v for k, v in gan.get_config().items() if k not in skip}
    from keras_gans.zoo import packaged

    return _commit_entry(
        name, zoo_dir, cards_dir, gan.save_weights, grid,
        {
            "family": recipe["family"],
            "task": "generator",
            "config": config,
            "metrics": metrics,
            "protocol": protocol,
            "pretrained": True,
            **_card_context(recipe, zoo_dir, time_s, epochs),
        },
        grid_columns=grid_columns,
        pictures=pictures,
        # A small entry ships in the wheel (write_card packs it); one that ships keeps shipping.
        ship=packaged.ships(gan),
    )


def _reconstruction_grid(gan, dataset, image_size=None, count=32, seed=0):
    """``count`` test images (drawn with ``seed``), each beside its reconstruction: 4 pairs a row."""
    import numpy as np

    from keras_gans.data import load_numpy
    from keras_gans.metrics.extractors import as_model_images

    images, _ = load_numpy(dataset, split="test", image_size=image_size)
    keep = np.sort(np.random.default_rng(seed).choice(len(images), min(count, len(images)), replace=False))
    return gan.preview(2 * len(keep), inputs=as_model_images(images[keep], "test images"))


def publish_classifier_entry(recipe, model, info, time_s, epochs=None, zoo_dir=None, cards_dir=None):
    """Write a trained classifier's weights and card (its accuracy is already measured).

    Only the network's weights are written (an uncompiled copy: no optimizer
    state), staged and renamed like ``publish_entry``.

    Args:
        recipe: the ``load_recipe`` dict of a ``family = "classifier"`` recipe.
        model: the trained ``keras.Model``.
        info: the ``kg.zoo.train_classifier`` info dict.
        time_s: float, the training time to record.
        epochs: int, the epochs actually trained (default ``info["epochs"]``).
        zoo_dir: the checkout's ``zoo/`` folder (default ``repo_zoo_dir()``).
        cards_dir: where the card goes (default the package's cards folder).

    Returns:
        The card dict.
    """
    from keras_gans.networks.classifier import image_classifier

    zoo_dir = _publishing_dir(zoo_dir)
    bare = image_classifier(**info["config"])
    bare.set_weights(model.get_weights())
    return _commit_entry(
        recipe["name"], zoo_dir, cards_dir, bare.save_weights, None,
        {
            "family": "classifier",
            "task": "feature_extractor",
            "config": info["config"],
            "metrics": {"test_accuracy": round(info["test_accuracy"], 4)},
            "protocol": {"split": "test", "n": info["test_n"], "metric": "top-1 accuracy of argmax logits"},
            "pretrained": True,
            **_card_context(recipe, zoo_dir, time_s, info["epochs"] if epochs is None else epochs),
        },
    )


def report_metrics(report):
    """Split a ``kg.metrics.evaluate`` report into card metrics and protocol."""
    protocol = dict(report.get("protocol", {}))
    metrics = {k: v for k, v in report.items() if k != "protocol"}
    return metrics, protocol
