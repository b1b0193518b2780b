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

``keras-gans zoo train NAME`` runs it; ``--publish`` (for maintainers, in a
checkout) also writes the weights to ``zoo/weights/``, a sample grid to
``zoo/<name>.png`` and the card with metrics from ``kg.metrics.evaluate``.
"""

import json
import os
import platform
import time

RECIPE_SECTIONS = {"name", "family", "description", "model", "data", "train", "compile", "evaluate"}


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
        import difflib

        close = difflib.get_close_matches(name_or_path, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else f" Known: {', '.join(known)}."
        raise ValueError(f"no recipe named {name_or_path!r} in {zoo_dir}.{hint}")
    raise FileNotFoundError(
        f"no recipe {name_or_path!r}: recipes live in the repository's zoo/ folder; pass the .toml path."
    )


def load_recipe(name_or_path):
    """Parse and check a recipe; returns a dict with every section present.

    Args:
        name_or_path: a zoo name (``"dcgan.fashion_mnist"``) or a ``.toml`` path.

    Returns:
        dict with keys name, family, model, data, train, compile, evaluate.

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
    unknown = set(recipe) - RECIPE_SECTIONS
    if unknown:
        raise ValueError(
            f"recipe {path} has unknown keys {sorted(unknown)}: known keys are {sorted(RECIPE_SECTIONS)}."
        )
    for key in ("name", "family"):
        if key not in recipe:
            raise ValueError(f"recipe {path} has no {key!r}.")
    for key in ("model", "data", "train", "compile", "evaluate"):
        recipe.setdefault(key, {})
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

    Args:
        name_or_path: a zoo name or a recipe path.
        out: run folder (default ``runs/zoo/<name>``).
        epochs: override of the recipe's epochs.
        publish: also write ``zoo/weights/<name>.weights.h5``, ``zoo/<name>.png``
            and the card (a maintainer step, from a checkout).
        verbose: Keras verbosity.
        overwrite: replace an existing run folder.
        resume: continue the run in ``out``.

    Returns:
        The ``trainer.train`` result dict, plus ``time_s``.
    """
    from keras_gans import trainer

    recipe = load_recipe(name_or_path)
    name = recipe["name"]
    data, train_cfg = dict(recipe["data"]), dict(recipe["train"])
    out = out or os.path.join("runs", "zoo", name)
    # Training time adds up over resumed sessions (the card reports the total).
    time_file = os.path.join(out, "time.json")
    before = 0.0
    if resume and os.path.exists(time_file):
        with open(time_file) as f:
            before = float(json.load(f)["time_s"])
    start = time.time()
    result = trainer.train(
        recipe["family"],
        dataset=data.pop("dataset", "fashion_mnist"),
        batch_size=data.pop("batch_size", None),
        classes=data.pop("classes", None),
        epochs=int(epochs or train_cfg.get("epochs", 5)),
        steps_per_epoch=train_cfg.get("steps_per_epoch"),
        seed=int(train_cfg.get("seed", 0)),
        # A resumed run takes both configs from its checkpoint.
        config=None if resume else recipe["model"],
        compile_config=None if resume else (recipe["compile"] or None),
        out=out,
        verbose=verbose,
        overwrite=overwrite,
        resume=resume,
    )
    result["time_s"] = before + time.time() - start
    from keras_gans.saving import write_json_atomic

    write_json_atomic(time_file, {"time_s": round(result["time_s"], 1)})
    if publish:
        result["card"] = publish_entry(recipe, result["gan"], result["time_s"])
    return result


def publish_entry(recipe, gan, time_s):
    """Write a trained entry's weights, sample grid and card into the checkout."""
    import keras
    import tensorflow as tf

    from keras_gans import zoo
    from keras_gans.callbacks import save_grid

    zoo_dir = repo_zoo_dir()
    if zoo_dir is None:
        raise FileNotFoundError("publishing needs a checkout with a zoo/ folder.")
    name = recipe["name"]
    weights_dir = os.path.join(zoo_dir, "weights")
    os.makedirs(weights_dir, exist_ok=True)
    weights = os.path.join(weights_dir, f"{name}.weights.h5")
    tmp = os.path.join(weights_dir, f".tmp-{name}.weights.h5")
    gan.save_weights(tmp)
    os.replace(tmp, weights)
    preview_inputs = None
    if gan.data_kind == "unpaired":
        from keras_gans import trainer

        data = dict(recipe["data"])
        ds = trainer.make_dataset(
            type(gan), data.get("dataset", "fashion_mnist"), 8, classes=data.get("classes"), split="test"
        )
        preview_inputs = next(iter(ds))[0].numpy()
    save_grid(gan.preview(64, seed=0, inputs=preview_inputs), os.path.join(zoo_dir, f"{name}.png"))
    evaluation = dict(recipe["evaluate"])
    metrics, protocol = {}, {}
    if evaluation.get("n", 10000):
        from keras_gans import metrics as metrics_lib

        dataset = recipe["data"].get("dataset", "fashion_mnist")
        if gan.data_kind == "unpaired":
            report = metrics_lib.evaluate_translation(
                gan, dataset=dataset, classes=recipe["data"].get("classes"),
                split=evaluation.get("split", "test"),
            )
        else:
            report = metrics_lib.evaluate(
                gan, dataset=dataset, n=int(evaluation.get("n", 10000)), split=evaluation.get("split", "test"),
            )
        metrics, protocol = report_metrics(report)
    config = {k: v for k, v in gan.get_config().items() if k not in ("generator", "discriminator", "generator_ba", "discriminator_a", "name", "trainable")}
    return zoo.write_card(
        name,
        weights,
        family=recipe["family"],
        task="generator",
        config=config,
        dataset=recipe["data"].get("dataset", "fashion_mnist"),
        metrics=metrics,
        protocol=protocol,
        recipe=os.path.relpath(recipe["path"], os.path.dirname(zoo_dir)),
        license="Apache-2.0",
        training={
            "time_s": round(time_s, 1),
            "hardware": hardware(),
            "epochs": int(recipe["train"].get("epochs", 0)),
        },
        versions={"keras": keras.__version__, "tensorflow": tf.__version__},
        pretrained=True,
    )


def report_metrics(report):
    """Split a ``kg.metrics.evaluate`` report into card metrics and protocol."""
    protocol = dict(report.get("protocol", {}))
    metrics = {k: v for k, v in report.items() if k != "protocol"}
    return metrics, protocol
