"""The recipe runner: train a zoo entry from its ``zoo/<name>.toml`` recipe.

``keras-gans zoo train NAME`` runs it: GAN families through
``kg.trainer.train``, ``family = "classifier"`` (the FCD feature extractor)
through ``kg.zoo.train_classifier``. ``--publish`` (for maintainers, in a
checkout) then hands the trained entry to ``kg.zoo.publish``, which writes
the weights to ``zoo/weights/``, a sample grid to ``zoo/<name>.png``
(generators) and the card with metrics from ``kg.metrics.evaluate``; the
metrics are computed before any of those files is replaced.
"""

import json
import os
import time

from keras_gans.zoo.recipe import load_recipe

def run_recipe(name_or_path, out=None, epochs=None, publish=False, verbose=1, overwrite=False, resume=False):
    """Train a zoo entry from its recipe.

    GAN families go through ``kg.trainer.train`` (checkpoints, sample grids,
    history and resume in ``out``); ``family = "classifier"`` recipes go
    through ``kg.zoo.train_classifier`` (the feature extractor: one
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
    kind = get_family(recipe["family"]).data_kind
    classes = data.get("classes")
    paired = paired_options(data) if kind == "paired" else {}
    if data.get("image_size") is not None:
        if kind == "unpaired":
            raise ValueError(
                f"recipe {recipe['path']}: [data] image_size is not supported for {recipe['family']} "
                "recipes: give the domains at the model's image size."
            )
        trainer.check_out(out, resume, overwrite)  # before the (long) resize
        if kind == "paired":
            # Both images of each pair, resized as load_paired does (halves split first).
            from keras_gans.data.paired import paired_numpy

            dataset = paired_numpy(dataset, split="train", image_size=data["image_size"], classes=classes,
                                   **paired)
            classes, paired = None, {}
        else:
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
        classes=classes,
        **paired,
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
        callbacks=[_training_time(time_file, before, start)],
    )
    result["epochs"] = epochs
    result["time_s"] = before + time.time() - start
    write_json_atomic(time_file, {"time_s": round(result["time_s"], 1)})
    if publish:
        from keras_gans.zoo.publish import publish_entry

        result["card"] = publish_entry(recipe, result["gan"], result["time_s"], epochs=epochs)
    return result


def _training_time(path, before, start):
    """A callback that rewrites ``time.json`` at each epoch end (after the checkpoint).

    A run killed later still counts the epochs it finished, so ``--resume``
    and the card add up the whole training time.
    """
    import keras

    from keras_gans.saving import write_json_atomic

    class TrainingTime(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            write_json_atomic(path, {"time_s": round(before + time.time() - start, 1)})

    return TrainingTime()


def paired_options(data):
    """The ``kg.data.load_paired`` options of a recipe's ``[data]`` (``pair``, ``features``...)."""
    from keras_gans.zoo.recipe import PAIRED_DATA_KEYS

    options = {k: data[k] for k in PAIRED_DATA_KEYS if data.get(k) is not None}
    if "features" in options:
        options["features"] = tuple(options["features"])
    return options


def _resized(dataset, image_size):
    """The train split of ``dataset`` resized to ``image_size`` (``[h, w]``), as arrays."""
    from keras_gans.data import load_numpy

    images, labels = load_numpy(dataset, split="train", image_size=[int(v) for v in image_size])
    return images if labels is None else (images, labels)


def _run_classifier(recipe, out, epochs, publish, verbose, overwrite, resume):
    """``run_recipe`` for ``family = "classifier"`` (``kg.zoo.train_classifier``)."""
    from keras_gans import trainer
    from keras_gans.saving import save_model_atomic, write_json_atomic
    from keras_gans.zoo.classifier import train_classifier

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
        from keras_gans.zoo.publish import publish_classifier_entry

        result["card"] = publish_classifier_entry(recipe, model, info, time_s, epochs=epochs)
    return result


def publish_classifier(recipe="classifier.fashion_mnist", verbose=1):
    """Train the classifier of a recipe and write its weights and card (maintainers).

    The same as ``keras-gans zoo train classifier.fashion_mnist --publish``:
    ``run_recipe`` trains it with ``kg.zoo.train_classifier`` from the
    recipe's ``[model]``, ``[data]`` and ``[train]`` keys, then writes
    ``zoo/weights/<name>.weights.h5`` and ``keras_gans/zoo/cards/<name>.json``
    together. Run it from a checkout.

    Args:
        recipe: zoo name or path of a ``family = "classifier"`` recipe.
        verbose: Keras verbosity.

    Returns:
        The card dict.

    Example:
        >>> import keras_gans as kg
        >>> kg.zoo.publish_classifier()  # doctest: +SKIP
    """
    spec = load_recipe(recipe)
    if spec["family"] != "classifier":
        raise ValueError(f"recipe {spec['path']} is for a {spec['family']}, not a classifier.")
    return run_recipe(spec["path"], publish=True, verbose=verbose, overwrite=True)["card"]
