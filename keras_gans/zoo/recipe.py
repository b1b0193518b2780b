"""Zoo recipes: ``zoo/<name>.toml`` files that retrain a zoo entry.

A recipe names the family, its constructor config, the data and the training
length::

    name = "dcgan.fashion_mnist"
    family = "dcgan"
    [model]
    latent_dim = 128
    [data]
    dataset = "fashion_mnist"
    batch_size = 128
    [train]
    epochs = 10
    seed = 0

Every key is checked when the recipe is read (``load_recipe``): a typo such
as ``epoch = 3`` is an error naming the key, its section and the known keys.

``keras-gans zoo train NAME`` runs it: GAN families through
``kg.trainer.train``, ``family = "classifier"`` (the FCD feature extractor)
through ``kg.metrics.train_classifier``. ``--publish`` (for maintainers, in a
checkout) also writes the weights to ``zoo/weights/``, a sample grid to
``zoo/<name>.png`` (generators) and the card with metrics from
``kg.metrics.evaluate``; the metrics are computed before any of those files
is replaced.
"""

import difflib
import json
import os
import platform
import shutil
import tempfile
import time

RECIPE_SECTIONS = {"name", "family", "description", "model", "data", "train", "compile", "evaluate"}

#: Keys of each section of a GAN recipe (``[model]`` takes the family's
#: constructor arguments and ``[compile]`` its ``compile`` arguments).
GAN_SECTION_KEYS = {
    "data": ("dataset", "batch_size", "classes", "split", "image_size"),
    "train": ("epochs", "seed", "steps_per_epoch", "learning_rate", "checkpoint_every", "sample_every"),
    "evaluate": ("n", "split"),
}

#: Keys of each section of a classifier (feature extractor) recipe.
CLASSIFIER_SECTION_KEYS = {
    "model": ("image_shape", "num_classes", "width", "feature_dim", "dropout", "dtype"),
    "data": ("dataset", "batch_size"),
    "train": ("epochs", "seed", "learning_rate"),
    "evaluate": ("split",),
    "compile": (),
}

#: ``keras.Model.compile`` arguments a GAN's ``compile`` passes on.
_MODEL_COMPILE_KEYS = ("jit_compile", "steps_per_execution", "run_eagerly")


def repo_zoo_dir():
    """The checkout's ``zoo/`` folder (beside the ``keras_gans`` package), or None."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "zoo")
    return path if os.path.isdir(path) else None


def find_recipe(name_or_path):
    """Return the path of a recipe given a zoo name or a ``.toml`` path."""
    if os.path.isfile(name_or_path):
        return name_or_path
    if name_or_path.endswith(".toml"):
        raise FileNotFoundError(f"recipe {name_or_path} does not exist.")
    zoo_dir = repo_zoo_dir()
    if zoo_dir is not None:
        path = os.path.join(zoo_dir, f"{name_or_path}.toml")
        if os.path.isfile(path):
            return path
        known = sorted(f[:-5] for f in os.listdir(zoo_dir) if f.endswith(".toml"))
        close = difflib.get_close_matches(name_or_path, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else f" Known: {', '.join(known)}."
        raise ValueError(f"no recipe named {name_or_path!r} in {zoo_dir}.{hint}")
    raise FileNotFoundError(
        f"no recipe {name_or_path!r}: recipes live in the repository's zoo/ folder; pass the .toml path."
    )


def _check_keys(path, section, given, known):
    """Raise one ``ValueError`` naming the first key of ``given`` not in ``known``."""
    unknown = sorted(str(k) for k in given if k not in known)
    if not unknown:
        return
    close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    where = "at the top level" if section is None else f"in [{section}]"
    listed = ", ".join(sorted(known)) if known else "none (leave the section out)"
    raise ValueError(
        f"recipe {path}: unknown key {unknown[0]!r} {where}{hint}: known keys are {listed}."
    )


def section_keys(family):
    """``{section: known keys}`` of a recipe of ``family`` (a GAN family or ``"classifier"``).

    Raises:
        ValueError: for an unknown family.
    """
    import inspect

    if family == "classifier":
        return {k: set(v) for k, v in CLASSIFIER_SECTION_KEYS.items()}
    from keras_gans.models import FAMILIES, get_family

    if family not in FAMILIES:
        known = sorted([*FAMILIES, "classifier"])
        close = difflib.get_close_matches(str(family), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown family {family!r}{hint}: use one of {', '.join(known)}.")
    cls = get_family(family)
    compile_keys = {
        p.name for p in inspect.signature(cls.compile).parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    return {
        "model": set(cls.config_keys()),
        "compile": compile_keys | set(_MODEL_COMPILE_KEYS),
        **{k: set(v) for k, v in GAN_SECTION_KEYS.items()},
    }


def load_recipe(name_or_path):
    """Parse and check a recipe; returns a dict with every section present.

    Every key is checked: an unknown section, or an unknown key inside
    ``[model]``, ``[data]``, ``[train]``, ``[compile]`` or ``[evaluate]`` (a
    typo such as ``epoch = 3``) is a ``ValueError`` naming the key, its
    section, the known keys and the closest one, never silently dropped.
    The known keys are ``GAN_SECTION_KEYS`` (plus the family's constructor
    and ``compile`` arguments) for GAN families and
    ``CLASSIFIER_SECTION_KEYS`` for ``family = "classifier"``.

    Args:
        name_or_path: a zoo name (``"dcgan.fashion_mnist"``) or a ``.toml`` path.

    Returns:
        dict with keys name, family, model, data, train, compile, evaluate, path.

    Example:
        >>> load_recipe("dcgan.fashion_mnist")["family"]  # doctest: +SKIP
        'dcgan'
    """
    import tomllib

    path = find_recipe(name_or_path)
    with open(path, "rb") as f:
        try:
            recipe = tomllib.load(f)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"recipe {path} is not valid TOML: {err}") from None
    _check_keys(path, None, recipe, RECIPE_SECTIONS)
    for key in ("name", "family"):
        if key not in recipe:
            raise ValueError(f"recipe {path} has no {key!r}.")
    try:
        known = section_keys(recipe["family"])
    except ValueError as err:
        raise ValueError(f"recipe {path}: {err}") from None
    for key in ("model", "data", "train", "compile", "evaluate"):
        recipe.setdefault(key, {})
        if not isinstance(recipe[key], dict):
            raise ValueError(f"recipe {path}: {key} must be a [{key}] table, got {recipe[key]!r}.")
        _check_keys(path, key, recipe[key], known[key])
    split = recipe["data"].get("split", "train")
    if split != "train":
        raise ValueError(
            f"recipe {path}: [data] split = {split!r}: recipes train on the 'train' split "
            "(evaluation reads [evaluate] split)."
        )
    recipe["path"] = path
    return recipe


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


def run_recipe(name_or_path, out=None, epochs=None, publish=False, verbose=1, overwrite=False, resume=False):
    """Train a zoo entry from its recipe.

    GAN families go through ``kg.trainer.train`` (checkpoints, sample grids,
    history and resume in ``out``); ``family = "classifier"`` recipes go
    through ``kg.metrics.train_classifier`` (the feature extractor: one
    uninterrupted run, saved to ``out/model.keras``, no resume).

    Args:
        name_or_path: a zoo name or a recipe path.
        out: run folder (default ``runs/zoo/<name>``).
        epochs: override of the recipe's epochs.
        publish: also write ``zoo/weights/<name>.weights.h5``, the card (and,
            for generators, ``zoo/<name>.png``): a maintainer step, from a
            checkout. The entry is evaluated before anything in the checkout
            is replaced.
        verbose: Keras verbosity.
        overwrite: replace an existing run folder.
        resume: continue the run in ``out`` (GAN recipes only).

    Returns:
        dict. GANs: the ``trainer.train`` result (``model``, ``samples``,
        ``history``, ``gan``). Classifiers: ``model`` (the ``.keras`` path),
        ``classifier`` (the trained ``keras.Model``), ``test_accuracy``,
        ``test_n`` and ``config``. Both: ``epochs`` (the epochs actually
        trained, ``--epochs`` or the recipe's), ``time_s``, and ``card``
        when publishing.
    """
    recipe = load_recipe(name_or_path)
    name = recipe["name"]
    train_cfg = recipe["train"]
    epochs = int(epochs or train_cfg.get("epochs", 5))
    out = out or os.path.join("runs", "zoo", name)
    if recipe["family"] == "classifier":
        return _run_classifier(recipe, out, epochs, publish, verbose, overwrite, resume)
    from keras_gans import trainer
    from keras_gans.models import get_family
    from keras_gans.saving import write_json_atomic

    data = recipe["data"]
    dataset = data.get("dataset", "fashion_mnist")
    if data.get("image_size") is not None:
        if get_family(recipe["family"]).data_kind == "unpaired":
            raise ValueError(
                f"recipe {recipe['path']}: [data] image_size is not supported for {recipe['family']} "
                "recipes: give the domains at the model's image size."
            )
        trainer.check_out(out, resume, overwrite)  # before the (long) resize
        dataset = _resized(dataset, data["image_size"])
    # Training time adds up over resumed sessions (the card reports the total).
    time_file = os.path.join(out, "time.json")
    before = 0.0
    if resume and os.path.exists(time_file):
        with open(time_file) as f:
            before = float(json.load(f)["time_s"])
    start = time.time()
    result = trainer.train(
        recipe["family"],
        dataset=dataset,
        batch_size=data.get("batch_size"),
        classes=data.get("classes"),
        epochs=epochs,
        steps_per_epoch=train_cfg.get("steps_per_epoch"),
        seed=int(train_cfg.get("seed", 0)),
        learning_rate=train_cfg.get("learning_rate"),
        checkpoint_every=train_cfg.get("checkpoint_every"),
        sample_every=train_cfg.get("sample_every", 1),
        # A resumed run takes both configs from its checkpoint.
        config=None if resume else recipe["model"],
        compile_config=None if resume else (recipe["compile"] or None),
        out=out,
        verbose=verbose,
        overwrite=overwrite,
        resume=resume,
    )
    result["epochs"] = epochs
    result["time_s"] = before + time.time() - start
    write_json_atomic(time_file, {"time_s": round(result["time_s"], 1)})
    if publish:
        result["card"] = publish_entry(recipe, result["gan"], result["time_s"], epochs=epochs)
    return result


def _resized(dataset, image_size):
    """The train split of ``dataset`` resized to ``image_size`` (``[h, w]``), as arrays.

    ``load_numpy`` resizes image folders, archives and TFDS datasets as it
    reads them (a photo dataset is never held at full size); what it takes as
    it is (IDX files, ``.npz``) is resized here, in chunks.
    """
    import numpy as np
    import tensorflow as tf

    from keras_gans.data import load_numpy
    from keras_gans.data.loader import resize_uint8

    size = [int(v) for v in image_size]
    images, labels = load_numpy(dataset, split="train", image_size=size)
    if tuple(images.shape[1:3]) == tuple(size):
        return images if labels is None else (images, labels)
    chunks = []
    for i in range(0, len(images), 1024):
        chunk = images[i : i + 1024]
        if images.dtype == np.uint8:
            chunks.append(resize_uint8(chunk, size).numpy())
        else:
            chunks.append(tf.image.resize(chunk, size, antialias=True).numpy().astype(images.dtype, copy=False))
    images = np.concatenate(chunks)
    return images if labels is None else (images, labels)


def _run_classifier(recipe, out, epochs, publish, verbose, overwrite, resume):
    """``run_recipe`` for ``family = "classifier"`` (``kg.metrics.train_classifier``)."""
    from keras_gans import trainer
    from keras_gans.metrics.extractors import train_classifier
    from keras_gans.saving import save_model_atomic, write_json_atomic

    if resume:
        raise ValueError(
            f"recipe {recipe['path']}: a classifier trains in one run, there is nothing to resume: "
            "train again without --resume (--overwrite replaces the folder)."
        )
    split = recipe["evaluate"].get("split", "test")
    if split != "test":
        raise ValueError(
            f"recipe {recipe['path']}: [evaluate] split = {split!r}: the classifier is scored on the "
            "'test' split."
        )
    trainer.check_out(out, False, overwrite)
    data, train_cfg = recipe["data"], recipe["train"]
    start = time.time()
    model, info = train_classifier(
        dataset=data.get("dataset", "fashion_mnist"),
        epochs=epochs,
        batch_size=int(data.get("batch_size", 128)),
        seed=int(train_cfg.get("seed", 0)),
        learning_rate=float(train_cfg.get("learning_rate", 1e-3)),
        verbose=verbose,
        **recipe["model"],
    )
    time_s = time.time() - start
    out = trainer.prepare_out(out, False, overwrite)
    model_path = save_model_atomic(model, os.path.join(out, "model.keras"))
    write_json_atomic(os.path.join(out, "time.json"), {"time_s": round(time_s, 1)})
    write_json_atomic(
        os.path.join(out, "metrics.json"),
        {"test_accuracy": info["test_accuracy"], "test_n": info["test_n"]},
    )
    result = {
        "model": model_path,
        "classifier": model,
        "test_accuracy": info["test_accuracy"],
        "test_n": info["test_n"],
        "config": info["config"],
        "epochs": epochs,
        "time_s": time_s,
    }
    if publish:
        result["card"] = publish_classifier_entry(recipe, model, info, time_s, epochs=epochs)
    return result


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


def _commit_entry(name, zoo_dir, cards_dir, save_weights, grid, card_fields):
    """Write an entry's weights, grid and card so the old ones stay whole on failure.

    Everything is first written and measured in temporary folders beside its
    destination (the weights saved, the card built by ``kg.zoo.write_card``
    from that file, which also checks that it fits the config); only then are
    the three renamed into place, one after the other.
    """
    from keras_gans.callbacks import save_grid
    from keras_gans.zoo import registry

    weights_dir = os.path.join(zoo_dir, "weights")
    cards_dir = cards_dir or registry.CARDS_DIR
    os.makedirs(weights_dir, exist_ok=True)
    os.makedirs(cards_dir, exist_ok=True)
    stage_weights = tempfile.mkdtemp(prefix=".tmp-publish-", dir=weights_dir)
    stage_cards = tempfile.mkdtemp(prefix=".tmp-publish-", dir=cards_dir)
    # write_card registers the new card in this process: undo that on failure.
    previous = _copy_of_entry(name)
    try:
        weights_tmp = os.path.join(stage_weights, f"{name}.weights.h5")
        save_weights(weights_tmp)
        os.chmod(weights_tmp, 0o644)
        grid_tmp = None
        if grid is not None:
            grid_tmp = save_grid(grid, os.path.join(stage_weights, f"{name}.png"))
        card = registry.write_card(name, weights_tmp, cards_dir=stage_cards, **card_fields)
        os.replace(weights_tmp, os.path.join(weights_dir, f"{name}.weights.h5"))
        if grid_tmp is not None:
            os.replace(grid_tmp, os.path.join(zoo_dir, f"{name}.png"))
        os.replace(os.path.join(stage_cards, f"{name}.json"), os.path.join(cards_dir, f"{name}.json"))
        return card
    except BaseException:
        _restore_entry(name, previous)
        raise
    finally:
        shutil.rmtree(stage_weights, ignore_errors=True)
        shutil.rmtree(stage_cards, ignore_errors=True)


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
    ``evaluate_translation`` for CycleGAN, per ``[evaluate]``; ``n = 0``
    skips them) are computed from the in-memory GAN first, so a failing
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
    preview_inputs = None
    if gan.data_kind == "unpaired":
        from keras_gans import trainer

        ds = trainer.make_dataset(type(gan), dataset, 8, classes=data.get("classes"), split="test")
        preview_inputs = next(iter(ds))[0].numpy()
    grid = gan.preview(64, seed=0, inputs=preview_inputs)
    evaluation = recipe["evaluate"]
    metrics, protocol = {}, {}
    n = evaluation.get("n", 10000)
    if n:
        from keras_gans import metrics as metrics_lib

        split = evaluation.get("split", "test")
        if gan.data_kind == "unpaired":
            report = metrics_lib.evaluate_translation(
                gan, dataset=dataset, classes=data.get("classes"), split=split,
                n=int(evaluation["n"]) if "n" in evaluation else None,
            )
        else:
            report = metrics_lib.evaluate(gan, dataset=dataset, n=int(n), split=split)
        metrics, protocol = report_metrics(report)
    skip = ("generator", "discriminator", "generator_ba", "discriminator_a", "name", "trainable")
    config = {k: v for k, v in gan.get_config().items() if k not in skip}
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
    )


def publish_classifier_entry(recipe, model, info, time_s, epochs=None, zoo_dir=None, cards_dir=None):
    """Write a trained classifier's weights and card (its accuracy is already measured).

    Only the network's weights are written (an uncompiled copy: no optimizer
    state), staged and renamed like ``publish_entry``.

    Args:
        recipe: the ``load_recipe`` dict of a ``family = "classifier"`` recipe.
        model: the trained ``keras.Model``.
        info: the ``kg.metrics.train_classifier`` info dict.
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
