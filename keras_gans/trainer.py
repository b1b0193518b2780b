"""Training runs: the engine behind ``keras-gans train`` and the zoo recipes.

A run folder holds ``model.keras`` (the latest complete epoch, written
atomically), ``state.json`` (the epoch it holds), ``history.csv`` and
``samples/epoch_NNN.png``. ``resume=True`` reloads ``model.keras`` with its
optimizers' and noise state and continues from the recorded epoch.
"""

import json
import os
import shutil

from keras_gans import callbacks as callbacks_lib

#: Per-family batch size used when none is given.
DEFAULT_BATCH_SIZE = {"cyclegan": 16}


def make_strategy(name):
    """Return the ``tf.distribute`` strategy called ``name``.

    Args:
        name: ``"default"`` (no distribution), ``"mirrored"`` (all local
            devices) or ``"multi_worker"`` (reads ``TF_CONFIG``).

    Returns:
        A ``tf.distribute.Strategy``.
    """
    import tensorflow as tf

    if name in (None, "default"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "strategy 'multi_worker' needs TF_CONFIG describing the cluster: see the README "
                "section on several machines."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy must be 'default', 'mirrored' or 'multi_worker', got {name!r}.")


def is_chief():
    """True unless ``TF_CONFIG`` names this process a non-chief worker."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    kind, index = task.get("type", "chief"), task.get("index", 0)
    has_chief = "chief" in config.get("cluster", {})
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief)


def make_dataset(model_class, dataset, batch_size, seed=0, classes=None, split="train"):
    """Load ``dataset`` in the form ``model_class.data_kind`` asks for."""
    from keras_gans import data

    kind = model_class.data_kind
    if kind == "unpaired":
        return data.load_unpaired(
            dataset, split=split, batch_size=batch_size, classes=classes, seed=seed
        )
    return data.load(
        dataset, split=split, batch_size=batch_size, labels=(kind == "labelled"),
        seed=seed, classes=classes,
    )


def prepare_out(out, resume, overwrite):
    """Check the run folder: refuse to clobber a run unless asked."""
    out = os.fspath(out)
    if resume and overwrite:
        raise ValueError("pass either resume or overwrite, not both.")
    if os.path.exists(out) and not os.path.isdir(out):
        raise FileExistsError(f"{out} is a file: pass a folder for the run.")
    has_run = os.path.isdir(out) and bool(os.listdir(out))
    if resume:
        if not os.path.isfile(os.path.join(out, "model.keras")):
            raise FileNotFoundError(
                f"nothing to resume: {out}/model.keras does not exist (train without resume first)."
            )
    elif has_run:
        if not overwrite:
            raise FileExistsError(
                f"{out} already holds a run: resume it (--resume) or replace it (--overwrite)."
            )
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise PermissionError(f"cannot write to {out}: choose a writable folder.")
    return out


def train(
    family,
    dataset="fashion_mnist",
    epochs=5,
    out="runs/gan",
    batch_size=None,
    steps_per_epoch=None,
    config=None,
    compile_config=None,
    seed=0,
    resume=False,
    overwrite=False,
    strategy="default",
    classes=None,
    callbacks=(),
    sample_every=1,
    verbose=1,
):
    """Train a GAN family on a dataset with ``model.fit``, checkpointing every epoch.

    Args:
        family: str, a family name (``"dcgan"``, ``"cgan"``, ``"wgan_gp"``, ``"cyclegan"``).
        dataset: a ``kg.data.load`` source.
        epochs: int, the total number of epochs (a resumed run continues up to it).
        out: str, the run folder.
        batch_size: int or None for the family default.
        steps_per_epoch: int or None (the whole dataset per epoch).
        config: dict of constructor arguments of the family.
        compile_config: dict of ``compile`` arguments.
        seed: int, seed of the training noise and of the shuffling.
        resume: bool, continue the run in ``out``.
        overwrite: bool, replace an existing run in ``out``.
        strategy: ``"default"``, ``"mirrored"`` or ``"multi_worker"``.
        classes: optional class ids to keep (CycleGAN: the two domains).
        callbacks: extra ``keras.callbacks.Callback`` objects.
        sample_every: int, save a sample grid every this many epochs.
        verbose: 0, 1 (progress bar) or 2 (one line per epoch).

    Returns:
        dict with the paths of ``model`` (.keras), ``samples`` (folder),
        ``history`` (CSV) and the trained ``gan``.

    Example:
        >>> result = train("dcgan", epochs=1, steps_per_epoch=10, out="runs/try")  # doctest: +SKIP
    """
    import keras

    from keras_gans.models import get_family
    from keras_gans.saving import load_gan_file

    cls = get_family(family)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}.")
    chief = is_chief()
    out = prepare_out(out, resume, overwrite) if chief else _worker_dir(out)
    model_path = os.path.join(out, "model.keras")
    batch_size = batch_size or DEFAULT_BATCH_SIZE.get(family, 128)
    strat = make_strategy(strategy)

    initial_epoch = 0
    with strat.scope():
        if resume:
            gan = load_gan_file(model_path, expected_family=family)
            state_path = os.path.join(out, "state.json")
            if os.path.isfile(state_path):
                with open(state_path) as f:
                    initial_epoch = int(json.load(f)["epoch"])
            if not gan.compiled:
                gan.compile(**(compile_config or {}))
        else:
            gan = cls(seed=seed, **(config or {}))
            gan.compile(**(compile_config or {}))
    if initial_epoch >= epochs:
        raise ValueError(
            f"{out} already finished epoch {initial_epoch} of {epochs}: pass a larger --epochs to go on."
        )

    ds = make_dataset(cls, dataset, batch_size, seed=seed, classes=classes)
    if steps_per_epoch:
        ds = ds.repeat()
    inputs = None
    if cls.data_kind == "unpaired":
        inputs = next(iter(ds))[0].numpy()[:8]
    samples = os.path.join(out, "samples")
    cbs = [
        callbacks_lib.SampleGrid(samples, every=sample_every, inputs=inputs),
        keras.callbacks.CSVLogger(os.path.join(out, "history.csv"), append=resume),
    ]
    if chief:
        cbs.append(callbacks_lib.AtomicCheckpoint(model_path))
    cbs.extend(callbacks)
    gan.fit(
        ds, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
        callbacks=cbs, verbose=verbose, shuffle=False,  # the pipeline shuffles already
    )
    return {"model": model_path, "samples": samples, "history": os.path.join(out, "history.csv"), "gan": gan}


def _worker_dir(out):
    # Non-chief workers of a multi-worker run must not race the chief's files.
    import tempfile

    return tempfile.mkdtemp(prefix="keras-gans-worker-")
