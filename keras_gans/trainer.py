"""Training runs: the engine behind ``keras-gans train`` and the zoo recipes.

A run folder holds ``model.keras`` (the latest checkpoint, written atomically,
with the training position stored inside it), ``state.json`` (the same
position and the logs, for people), ``run.json`` (the run's settings: a
resume takes them unless given again), ``history.csv`` and
``samples/epoch_NNN.png``.

A run can be killed at any moment and resumed with ``resume=True``: the model
comes back with both optimizers' states and the noise seed state, and the
data stream restarts at the batch it had reached, because batch ``i`` of a
run is a pure function of ``(seed, i)`` (see ``batch_stream``). With
deterministic ops (``tf.config.experimental.enable_op_determinism()``, the
``--deterministic`` flag of the command) a resumed run ends with the same
weights as an uninterrupted one.

The checkpoint is the run's one commit point: it also holds the history rows
of the epochs it has seen and the running means of the epoch in progress.
Everything else is derived from it and repaired on resume: ``history.csv`` is
rewritten from the checkpoint's rows, ``state.json`` from its position, the
grid of the epoch it ended is drawn again from its weights when missing, and
every temporary file a killed writer left is removed. So after any kill and
resume the folder holds each epoch's row once (a resumed epoch's means cover
all its steps, as if never interrupted), a grid per epoch, no temporaries,
and a ``state.json`` that names the checkpoint's step; rerunning with
``resume=True`` until it succeeds is safe, whether the kill came before the
first checkpoint (the run starts from the beginning) or after the last (the
missing row and grid are completed).
"""

import csv
import io
import json
import os
import re
import shutil

import keras
import numpy as np

from keras_gans import callbacks as callbacks_lib

#: Per-family batch size used when none is given (others: 128). WGAN-GP's
#: is ``64 * critic_steps`` (320 for the default 5), so each critic step gets
#: the paper's 64 images and no image of a batch is left out.
DEFAULT_BATCH_SIZE = {"cyclegan": 16, "wgan_gp": 320}


def default_batch_size(family, config=None):
    """The batch size ``train`` uses for ``family`` when none is given.

    Example:
        >>> default_batch_size("wgan_gp"), default_batch_size("wgan_gp", {"critic_steps": 3})
        (320, 192)
    """
    steps = (config or {}).get("critic_steps")
    if family == "wgan_gp" and isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1:
        return 64 * steps
    return DEFAULT_BATCH_SIZE.get(family, 128)


#: Files of a run folder a resume reads.
RUN_FILE = "run.json"
#: Epochs of a new run when none are given (a resume: the run's own).
DEFAULT_EPOCHS = 5
#: Settings a resume must train with as recorded (a different value is refused).
FIXED_SETTINGS = (
    "dataset", "batch_size", "steps_per_epoch", "seed", "classes", "pair", "features", "edge_threshold",
)
#: Keyword arguments of ``kg.data.load_paired`` a run of a paired family (Pix2Pix) passes on.
PAIRED_OPTIONS = ("pair", "features", "edge_threshold")
#: Settings a resume takes from the run unless given again (the new value is then recorded).
ADJUSTABLE_SETTINGS = ("epochs", "checkpoint_every", "sample_every", "learning_rate", "deterministic")


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


def _paired_options(model_class, pair=None, features=None, edge_threshold=None):
    """The ``load_paired`` options of a run; refused for a family that does not train on pairs."""
    given = {"pair": pair, "features": features, "edge_threshold": edge_threshold}
    given = {k: v for k, v in given.items() if v is not None}
    if model_class.data_kind != "paired":
        if given:
            key = sorted(given)[0]
            raise ValueError(
                f"{key} makes or picks (input, target) pairs for paired families (pix2pix); "
                f"{model_class.family} does not train on pairs: drop {key}."
            )
        return {}
    if "edge_threshold" in given and given.get("pair") != "edges":
        raise ValueError(
            f"edge_threshold applies to pair='edges' (the edge maps it thresholds), got "
            f"pair={given.get('pair')!r}: drop edge_threshold or use pair='edges'."
        )
    if "features" in given:
        features = given["features"]
        if isinstance(features, str) or not isinstance(features, (tuple, list)):
            raise ValueError(
                f"features must be two names (input feature, target feature), got {features!r}."
            )
        given["features"] = tuple(features)
    return given


def make_dataset(model_class, dataset, batch_size, seed=0, classes=None, split="train", pair=None,
                 features=None, edge_threshold=None):
    """Load ``dataset`` in the form ``model_class.data_kind`` asks for (a ``kg.data`` pipeline).

    Paired families (Pix2Pix) get ``kg.data.load_paired`` batches ``(inputs,
    targets)``; ``pair``, ``features`` and ``edge_threshold`` are its
    arguments (refused for other families).
    """
    from keras_gans import data

    kind = model_class.data_kind
    options = _paired_options(model_class, pair, features, edge_threshold)
    if kind == "paired":
        return data.load_paired(
            dataset, split=split, batch_size=batch_size, classes=classes, seed=seed, **options
        )
    if kind == "unpaired":
        return data.load_unpaired(
            dataset, split=split, batch_size=batch_size, classes=classes, seed=seed
        )
    return data.load(
        dataset, split=split, batch_size=batch_size, labels=(kind == "labelled"),
        seed=seed, classes=classes,
    )


# ------------------------------------------------------------------ data
def training_arrays(model_class, dataset, classes=None, split="train", pair=None, features=None,
                    edge_threshold=None):
    """Load ``dataset`` into memory in the form ``model_class.data_kind`` trains on.

    Args:
        model_class: a ``kg.models`` GAN class.
        dataset: a ``kg.data.load_numpy`` source (paired families: a
            ``kg.data.load_paired`` source).
        classes: optional class ids to keep (CycleGAN: the pair of domains).
        split: the split to read.
        pair: paired families: the ``load_paired`` transform (``"edges"``,
            ``"ab"``, ``"ba"``) or None for a source that holds pairs.
        features: paired families: ``(input_key, target_key)`` of an
            ``.npz`` or TFDS source.
        edge_threshold: paired families: the threshold of ``pair="edges"``.

    Returns:
        A tuple of arrays: ``(images,)``, ``(images, labels)`` (``"labelled"``),
        ``(domain_a, domain_b)`` (``"unpaired"``) or ``(inputs, targets)``
        (``"paired"``, aligned: the i-th input belongs to the i-th target);
        images uint8 or float32 in [-1, 1], NHWC.
    """
    from keras_gans import data

    kind = model_class.data_kind
    options = _paired_options(model_class, pair, features, edge_threshold)
    if kind == "paired":
        from keras_gans.data.paired import paired_numpy

        return tuple(paired_numpy(dataset, split=split, classes=classes, **options))
    if kind == "unpaired":
        from keras_gans.data.unpaired import _domains

        return tuple(_domains(dataset, None, split, classes, None))
    images, labels = data.load_numpy(dataset, split=split)
    what = dataset if isinstance(dataset, (str, os.PathLike)) else "the given arrays"
    if (kind == "labelled" or classes is not None) and labels is None:
        need = "labels for a conditional GAN" if kind == "labelled" else "labels to select classes"
        raise ValueError(f"{what} has no labels but {need}: pass a labelled source (e.g. a .npz with 'labels').")
    if classes is not None:
        keep = np.isin(labels, np.asarray(list(classes)))
        if not keep.any():
            raise ValueError(f"no images of classes {list(classes)} in {what}.")
        images, labels = images[keep], labels[keep]
    return (images, labels) if kind == "labelled" else (images,)


def _scaled(images):
    """uint8 images -> float32 in [-1, 1]; floats are taken as they are."""
    images = np.asarray(images)
    return images.astype("float32") / 127.5 - 1.0 if images.dtype == np.uint8 else images.astype("float32")


def _stream_key(seed, index):
    # One independent stream per array, derived from the run's seed.
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, index]).generate_state(1)[0])


def batch_stream(arrays, batch_size, seed=0, start_step=0, independent=False):
    """An endless ``tf.data`` stream of batches whose ``i``-th batch depends only on ``(seed, i)``.

    Each pass over the data is a fresh permutation drawn from ``(seed, pass)``
    with stateless random ops; the last partial batch of a pass is dropped.
    Nothing depends on earlier iterations, so a stream started at
    ``start_step=s`` yields exactly what a stream started at 0 yields from its
    ``s``-th batch on: a resumed run sees the batches an uninterrupted one
    would have seen. (A ``shuffle(seed=..., reshuffle_each_iteration=True)``
    pipeline cannot do that: its order for epoch ``k`` comes from the ``k``
    iterations before it.) uint8 images are scaled to float32 in [-1, 1].

    Args:
        arrays: an array ``[n, ...]`` or a tuple of arrays.
        batch_size: int, examples per batch.
        seed: int, the seed of every order.
        start_step: int, the index of the first batch to yield.
        independent: bool. False: the arrays are aligned (images and labels)
            and share one order. True: each array is its own domain with its
            own order and length (CycleGAN's unpaired domains).

    Returns:
        ``(dataset, batches_per_pass)``: the stream (a tensor per batch for one
        array, else a tuple) and the number of batches in one pass over the
        (largest) array.

    Example:
        >>> images = np.zeros((100, 28, 28, 1), "uint8")
        >>> ds, per_pass = batch_stream(images, 32, seed=0, start_step=5)
        >>> per_pass, next(iter(ds)).shape
        (3, TensorShape([32, 28, 28, 1]))
    """
    import tensorflow as tf

    from keras_gans.data.loader import prefetched

    single = not isinstance(arrays, (tuple, list))
    arrays = [np.asarray(a) for a in ((arrays,) if single else arrays)]
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if isinstance(start_step, bool) or not isinstance(start_step, (int, np.integer)) or start_step < 0:
        raise ValueError(f"start_step must be an int >= 0, got {start_step!r}.")
    lengths = [len(a) for a in arrays]
    if not independent and len(set(lengths)) > 1:
        raise ValueError(f"aligned arrays must have the same length, got {lengths}.")
    per_pass = batches_per_pass(lengths, batch_size)

    def orders(n, key):
        per_pass = n // batch_size
        first, offset = divmod(int(start_step), per_pass)

        def one_pass(p):
            noise = tf.random.stateless_uniform([n], seed=tf.stack([tf.constant(key, tf.int64), p]))
            order = tf.argsort(noise, stable=True)[: per_pass * batch_size]
            return tf.data.Dataset.from_tensor_slices(tf.reshape(order, [per_pass, batch_size]))

        return tf.data.Dataset.counter(first).flat_map(one_pass).skip(offset)

    tensors = [tf.constant(a) for a in arrays]

    def take(tensor, idx):
        x = tf.gather(tensor, idx)
        if x.dtype == tf.uint8:
            x = tf.cast(x, tf.float32) / 127.5 - 1.0
        return x

    def batch(*idx):
        if not independent:
            idx = idx * len(tensors)
        out = tuple(take(t, i) for t, i in zip(tensors, idx))
        return out[0] if single else out

    if independent:
        indices = tf.data.Dataset.zip(
            tuple(orders(n, _stream_key(seed, i)) for i, n in enumerate(lengths))
        )
    else:
        indices = orders(lengths[0], _stream_key(seed, 0))
    ds = indices.map(batch, num_parallel_calls=tf.data.AUTOTUNE)
    return prefetched(ds), per_pass


def batches_per_pass(lengths, batch_size):
    """Batches in one pass over the largest of arrays of ``lengths``; checks each holds a batch."""
    for n in lengths:
        if n < batch_size:
            raise ValueError(
                f"the dataset has {n} examples, fewer than one batch of {batch_size}: "
                "use a smaller batch_size."
            )
    return max(lengths) // batch_size


# ------------------------------------------------------------------ run folder
def _check_positive(name, value, kind=int):
    if value is None:
        return None
    if kind is int:
        ok = not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= 1
    else:
        ok = (
            not isinstance(value, bool) and isinstance(value, (int, float, np.number))
            and np.isfinite(value) and value > 0
        )
    if not ok:
        what = "a positive int" if kind is int else "a finite number > 0"
        raise ValueError(f"{name} must be {what}, got {value!r}.")
    return value


def check_out(out, resume, overwrite):
    """Check the run folder before anything is written; raises with the fix."""
    out = os.fspath(out)
    if resume and overwrite:
        raise ValueError("pass either resume or overwrite, not both.")
    if os.path.exists(out) and not os.path.isdir(out):
        raise FileExistsError(f"{out} is a file: pass a folder for the run.")
    parent = os.path.dirname(os.path.abspath(out))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise NotADirectoryError(f"cannot create {out}: {parent} is a file, not a folder.")
    entries = _run_entries(out)
    has_run = bool(entries)
    if resume:
        # Nothing there yet, or a run killed before its first checkpoint: the
        # resume starts it from the beginning (so "rerun with --resume until
        # it succeeds" is safe from the very first kill on).
        if has_run and not {"model.keras", RUN_FILE} & set(entries):
            raise FileExistsError(
                f"nothing to resume: {out} holds files but no run (no model.keras or {RUN_FILE}): "
                "pick another folder, or replace it (--overwrite)."
            )
    elif has_run and not overwrite:
        raise FileExistsError(
            f"{out} already holds a run: resume it (--resume) or replace it (--overwrite)."
        )
    return out


def _run_entries(out):
    """The names in a run folder, without the temporaries a killed writer left."""
    from keras_gans.saving import TEMP_PREFIX

    if not os.path.isdir(out):
        return []
    return [e for e in os.listdir(out) if not e.startswith(TEMP_PREFIX)]


def prepare_out(out, resume, overwrite):
    """Check the run folder and create it; refuse to clobber a run unless asked."""
    out = check_out(out, resume, overwrite)
    if overwrite and os.path.isdir(out):
        shutil.rmtree(out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise PermissionError(f"cannot create {out}: {err.strerror}; choose a writable folder.") from None
    if not os.access(out, os.W_OK):
        raise PermissionError(f"cannot write to {out}: choose a writable folder.")
    return out


def read_run(out):
    """The settings recorded in ``out/run.json`` (``{}`` when there is no run).

    Example:
        >>> read_run("runs/dcgan").get("epochs")  # doctest: +SKIP
        3
    """
    return _read_run(os.fspath(out))


def _read_run(out):
    path = os.path.join(out, RUN_FILE)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError:
        raise ValueError(f"{path} is not valid JSON: restore it, or start over with --overwrite.") from None


def _merge_run(recorded, given, out):
    """Settings of a resumed run: the recorded ones; a different given value is an error."""
    settings = dict(given)
    for key, value in given.items():
        if key not in recorded:
            continue
        if value is None:
            settings[key] = recorded[key]
        elif recorded[key] is not None and value != recorded[key]:
            flag = "--" + key.replace("_", "-")
            raise ValueError(
                f"{out} was trained with {key}={recorded[key]!r} ({flag}), got {value!r}: resume "
                "with the same value or leave it out."
            )
    return settings


def _trim_history(path, epoch):
    """Drop the rows of epochs at or after ``epoch`` (0-based) that a killed run logged."""
    if not os.path.isfile(path):
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or "epoch" not in rows[0]:
        return
    col = rows[0].index("epoch")
    kept = [rows[0]] + [r for r in rows[1:] if r and r[col].isdigit() and int(r[col]) < epoch]
    if len(kept) == len(rows):
        return
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(kept)
    from keras_gans.saving import write_atomic

    write_atomic(path, lambda tmp: open(tmp, "w").write(text.getvalue()))


def _history_row(epoch, logs):
    """One ``history.csv`` row: the 0-based epoch (as Keras' CSVLogger writes it) and the logs."""
    row = {"epoch": int(epoch)}
    for key, value in (logs or {}).items():
        try:
            array = np.asarray(value, dtype="float64")
            row[key] = float(array) if array.ndim == 0 else str(value)
        except (TypeError, ValueError):
            row[key] = str(value)
    return row


def _write_history(path, rows):
    """Write ``rows`` as the whole ``history.csv``, atomically (no file for no rows)."""
    from keras_gans.saving import write_atomic

    if not rows:
        if os.path.exists(path):
            os.remove(path)
        return
    keys = sorted({k for row in rows for k in row if k != "epoch"})
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["epoch"] + keys, restval="NA", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            f.write(text.getvalue())
        callbacks_lib.kill_point("history-tmp")

    write_atomic(path, write)
    callbacks_lib.kill_point("history-renamed")


_GRID = re.compile(r"^epoch_(\d+)\.png$")


def _remove_temporaries(folder):
    """Delete every temporary file a killed writer left in ``folder``; returns their names."""
    from keras_gans.saving import TEMP_PREFIX

    removed = []
    if os.path.isdir(folder):
        for entry in sorted(os.listdir(folder)):
            path = os.path.join(folder, entry)
            if entry.startswith(TEMP_PREFIX) and os.path.isfile(path):
                os.remove(path)
                removed.append(entry)
    return removed


def _repair_run(out, state, grid, sample_every):
    """Make the files of a run folder agree with its checkpoint (``state``; None: none yet).

    ``history.csv`` becomes the checkpoint's rows, ``state.json`` its
    position, grids of epochs after it go, the grid of the epoch it ended is
    drawn from its weights (already loaded in ``grid.model``) when missing,
    and temporaries go. Every step is idempotent: a kill during the repair
    is repaired by the next resume.
    """
    from keras_gans.saving import write_json_atomic

    samples = grid.out_dir
    _remove_temporaries(out)
    _remove_temporaries(samples)
    history_path = os.path.join(out, "history.csv")
    epoch = int(state["epoch"]) if state else 0
    batch = int(state.get("batch") or 0) if state else 0
    if state is not None and "history" not in state:
        _trim_history(history_path, epoch)  # a checkpoint of an older version: no rows inside
    else:
        _write_history(history_path, (state or {}).get("history") or [])
    state_path = os.path.join(out, "state.json")
    if state is None:
        if os.path.exists(state_path):
            os.remove(state_path)
    else:
        record = {k: state[k] for k in ("epoch", "batch", "step", "steps_per_epoch", "logs") if k in state}
        write_json_atomic(state_path, record)
    if os.path.isdir(samples):
        for entry in os.listdir(samples):
            match = _GRID.match(entry)
            if match and int(match.group(1)) > epoch:
                os.remove(os.path.join(samples, entry))
    if epoch >= 1 and batch == 0 and epoch % sample_every == 0 and not os.path.exists(grid.path_for(epoch)):
        grid.write(epoch)


class _RunHistory(keras.callbacks.Callback):
    """The run's history rows: stored in every checkpoint, then written to ``history.csv``.

    ``state`` is the checkpoint's ``extra_state``: the rows of the epochs the
    checkpoint has seen (an epoch-end save includes its own row) and the
    metric trackers' running sums. ``history.csv`` is rewritten after the
    checkpoint and the grid, so it never holds a row the checkpoint lacks.
    """

    def __init__(self, path, rows=()):
        super().__init__()
        self.path = path
        self.rows = [dict(r) for r in rows]

    def _with(self, epoch, logs):
        return [r for r in self.rows if int(r["epoch"]) < epoch] + [_history_row(epoch, logs)]

    def state(self, position, logs):
        rows = self.rows
        if not position.get("batch"):  # an epoch end: its row is committed with it
            rows = self._with(int(position["epoch"]) - 1, logs)
        return {"history": rows, "metrics": callbacks_lib.metric_state(self.model)}

    def on_epoch_end(self, epoch, logs=None):
        self.rows = self._with(epoch, logs)
        _write_history(self.path, self.rows)


def _check_image_shapes(gan, kind, arrays):
    """Refuse images the model cannot take now, before the run folder is touched.

    ``fit`` would also refuse them, but only after the run folder and its
    ``run.json`` exist, which would then block a corrected rerun. Paired
    data: the targets are checked against ``image_shape``, the inputs against
    the model's input image shape.
    """
    expected = tuple(int(s) for s in gan.image_shape)
    if kind == "paired":
        inputs, targets = arrays
        want_in = tuple(int(s) for s in gan.input_image_shape)
        got_out = tuple(int(s) for s in targets.shape[1:])
        got_in = tuple(int(s) for s in inputs.shape[1:])
        if got_out != expected:
            raise ValueError(
                f"the dataset's target images have shape {got_out} but this {gan.family} model makes "
                f"{expected}: pass --config image_shape={list(got_out)} "
                f"(config={{'image_shape': {list(got_out)}}}) or resize the data."
            )
        if got_in != want_in:
            fix = (f"pass --config input_channels={got_in[-1]} (config={{'input_channels': {got_in[-1]}}})"
                   if got_in[:2] == want_in[:2] else "resize the inputs to the targets' size")
            raise ValueError(
                f"the dataset's input images have shape {got_in} but this {gan.family} model takes "
                f"{want_in}: {fix}."
            )
        return
    for images in arrays if kind == "unpaired" else arrays[:1]:
        got = tuple(int(s) for s in images.shape[1:])
        if got != expected:
            raise ValueError(
                f"the dataset's images have shape {got} but this {gan.family} model takes {expected}: "
                f"pass --config image_shape={list(got)} (config={{'image_shape': {list(got)}}}) "
                "or resize the data."
            )


def _one_line_tf_error(err):
    """The assertion text of a ``tf.errors.InvalidArgumentError``, on one line."""
    text = err.message if hasattr(err, "message") else str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "assertion failed" in line.lower():
            return line.split(":", 1)[1].strip().replace("] [", " ").strip("[] ")
    return lines[0] if lines else type(err).__name__


def _json_or_none(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------ training
def set_learning_rate(optimizer, rate, role="optimizer"):
    """Set an optimizer's base learning rate, keeping a ``LinearDecay`` schedule's shape.

    A float rate is assigned; a ``kg.models.LinearDecay`` (CycleGAN's
    schedule) is replaced by the same schedule starting from ``rate``. Other
    schedules cannot be rescaled and are refused.
    """
    from keras_gans.models.linear_decay import LinearDecay

    inner = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
    current = getattr(inner, "_learning_rate", None)
    if isinstance(current, LinearDecay):
        inner.learning_rate = LinearDecay(rate, current.total_steps, current.decay_start, name=current.name)
    elif isinstance(current, keras.optimizers.schedules.LearningRateSchedule) or callable(current):
        raise ValueError(
            f"the {role} optimizer follows a {type(current).__name__} schedule, whose rate cannot be set: "
            "drop --learning-rate, or compile with a float learning rate."
        )
    else:
        inner.learning_rate = rate


def base_learning_rate(optimizer):
    """An optimizer's base learning rate as a float (a ``LinearDecay``'s initial rate), or None."""
    from keras_gans.models.linear_decay import LinearDecay

    inner = getattr(optimizer, "inner_optimizer", optimizer)
    current = getattr(inner, "_learning_rate", None)
    if isinstance(current, LinearDecay):
        return current.initial_learning_rate
    if isinstance(current, keras.optimizers.schedules.LearningRateSchedule) or callable(current):
        return None
    return float(keras.ops.convert_to_numpy(inner.learning_rate))


def set_learning_rates(gan, rate):
    """Set the generator's learning rate to ``rate``; every other optimizer keeps its ratio to it.

    A family whose networks train at different rates (BigGAN: Adam 1e-4 for
    the generator, 4e-4 for the discriminator) keeps them apart: the
    discriminator gets ``4 * rate``. Where the rates are equal (DCGAN,
    CycleGAN...) every optimizer gets ``rate``. Applying it twice with the
    same ``rate`` changes nothing (a resume re-applies the run's).

    Returns:
        ``{optimizer name: the rate it was given}``.
    """
    optimizers = gan.optimizers()
    reference = base_learning_rate(optimizers["g_optimizer"])
    rates = {}
    for role, opt in optimizers.items():
        base = base_learning_rate(opt)
        ratio = base / reference if base is not None and reference else 1.0
        rates[role] = float(rate) * ratio
        set_learning_rate(opt, rates[role], role)
    return rates


def train(
    family,
    dataset=None,
    epochs=None,
    out="runs/gan",
    batch_size=None,
    steps_per_epoch=None,
    config=None,
    compile_config=None,
    seed=None,
    resume=False,
    overwrite=False,
    strategy="default",
    classes=None,
    callbacks=(),
    sample_every=None,
    verbose=1,
    checkpoint_every=None,
    learning_rate=None,
    deterministic=None,
    pair=None,
    features=None,
    edge_threshold=None,
):
    """Train a GAN family with ``model.fit``; checkpoint atomically; resume exactly.

    Everything is checked and the data is loaded before the run folder is
    touched, so bad input fails with one ``ValueError`` (or
    ``FileNotFoundError``...) and changes nothing. A loss that turns NaN or
    inf stops the run with ``kg.callbacks.DivergenceError`` naming the epoch,
    batch and loss; ``model.keras`` keeps the last finite checkpoint.

    A resume takes every setting it is not given from ``run.json`` (the
    epochs too); given again, ``dataset``, ``batch_size``,
    ``steps_per_epoch``, ``seed``, ``classes`` and the pair options
    (``pair``, ``features``, ``edge_threshold``) must match, while
    ``epochs``, ``checkpoint_every``, ``sample_every`` and ``learning_rate``
    replace the recorded ones. A resume of a folder without a checkpoint
    (killed before the first, or not started) starts the run from the
    beginning with its recorded model config; a resume of a finished run
    completes its history row, grid and ``state.json`` and trains nothing.

    Args:
        family: str, a family name (``"dcgan"``, ``"cgan"``, ``"wgan_gp"``, ``"cyclegan"``,
            ``"pix2pix"``...).
        dataset: a ``kg.data.load_numpy`` source (default ``"fashion_mnist"``;
            a resume reuses the run's); for Pix2Pix a ``kg.data.load_paired``
            source (with ``pair=`` for one image source, an ``(inputs,
            targets)`` tuple of arrays, an ``.npz`` of pairs...).
        epochs: int, the total number of epochs (default 5; a resume: the
            run's, and a larger value continues it).
        out: str, the run folder.
        batch_size: int or None for the family default: 16 for CycleGAN,
            ``64 * critic_steps`` (320) for WGAN-GP, else 128 (a resume reuses the run's).
        steps_per_epoch: int or None for one pass over the data (a resume reuses the run's).
        config: dict of constructor arguments of the family (unknown keys are an error).
            A CycleGAN config without ``decay_steps`` gets ``epochs * steps_per_epoch``
            (the paper's schedule: constant for the first half, then linear to 0);
            pass ``decay_steps=None`` for a constant rate. A resume keeps the
            checkpoint's value.
        compile_config: dict of ``compile`` arguments.
        seed: int, seed of the training noise and of the data order (default 0;
            a resume reuses the run's).
        resume: bool, continue the run in ``out`` from its checkpoint.
        overwrite: bool, replace an existing run in ``out``.
        strategy: ``"default"``, ``"mirrored"`` or ``"multi_worker"``.
        classes: optional class ids to keep (CycleGAN: the two domains;
            Pix2Pix with a ``pair`` transform: the images pairs are made from).
        callbacks: extra ``keras.callbacks.Callback`` objects.
        sample_every: int, save a sample grid every this many epochs (default 1;
            a resume: the run's).
        verbose: 0, 1 (progress bar) or 2 (one line per epoch).
        checkpoint_every: int or None: also checkpoint every this many steps
            inside epochs (a kill then loses at most that many steps; a resume: the run's).
        learning_rate: float or None: the generator's learning rate; the
            other optimizers keep their ratio to it (``set_learning_rates``;
            a resume: the run's).
        deterministic: bool or None, recorded in ``run.json`` only: whether
            the caller made ops deterministic (``keras-gans train
            --deterministic`` does), so a resume can do the same. None: False,
            or the run's on resume.
        pair: paired families (Pix2Pix) only: the ``kg.data.load_paired``
            transform making pairs from one image source (``"edges"``: each
            image's edge map -> the image; ``"ab"`` / ``"ba"``: side-by-side
            images), or None for a source that holds pairs (a resume: the run's).
        features: paired families only: ``(input_key, target_key)`` of an
            ``.npz`` or TFDS source (a resume: the run's).
        edge_threshold: ``pair="edges"`` only: the edge threshold (default
            0.4; a resume: the run's).

    Returns:
        dict with the paths of ``model`` (.keras), ``samples`` (folder),
        ``history`` (CSV), the trained ``gan``, the run's ``settings`` and
        ``trained`` (False when a resumed run was already finished).

    Example:
        >>> result = train("dcgan", epochs=1, steps_per_epoch=10, out="runs/try")  # doctest: +SKIP
        >>> result = train("pix2pix", pair="edges", epochs=1, out="runs/edges")  # doctest: +SKIP
    """
    import keras
    import tensorflow as tf

    from keras_gans.models import get_family
    from keras_gans.saving import load_gan_file, read_checkpoint_state, write_json_atomic

    cls = get_family(family)
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1):
        raise ValueError(f"epochs must be a positive int, got {epochs!r}.")
    _check_positive("batch_size", batch_size)
    _check_positive("steps_per_epoch", steps_per_epoch)
    _check_positive("checkpoint_every", checkpoint_every)
    _check_positive("sample_every", sample_every)
    _check_positive("learning_rate", learning_rate, float)
    config = dict(config or {})
    cls.check_config_keys(config)
    paired = _paired_options(cls, pair, features, edge_threshold)
    chief = is_chief()
    out = os.fspath(out)
    if chief:
        check_out(out, resume, overwrite)
    model_path = os.path.join(out, "model.keras")
    has_checkpoint = bool(resume) and os.path.isfile(model_path)
    if has_checkpoint and config:
        raise ValueError(
            f"a resumed run takes its model config from its checkpoint: drop the config ({sorted(config)})."
        )

    recorded = _read_run(out) if resume else {}
    if recorded.get("family") not in (None, family):
        raise ValueError(
            f"{out} holds a {recorded['family']} model, not {family}: resume it as {recorded['family']}."
        )
    given = {
        "dataset": dataset if isinstance(dataset, (str, os.PathLike)) else None,
        "batch_size": batch_size, "steps_per_epoch": steps_per_epoch, "seed": seed,
        "classes": list(classes) if classes is not None else None,
    }
    if cls.data_kind == "paired":
        given.update(
            pair=paired.get("pair"), edge_threshold=paired.get("edge_threshold"),
            features=list(paired["features"]) if "features" in paired else None,
        )
    settings = _merge_run(recorded, given, out) if resume else dict(given)
    adjustable = {"epochs": epochs, "checkpoint_every": checkpoint_every, "sample_every": sample_every,
                  "learning_rate": learning_rate, "deterministic": deterministic}
    for key, value in adjustable.items():
        settings[key] = value if value is not None else recorded.get(key)
    epochs = int(settings["epochs"] or DEFAULT_EPOCHS)
    checkpoint_every = settings["checkpoint_every"]
    sample_every = int(settings["sample_every"] or 1)
    learning_rate = settings["learning_rate"]
    settings.update(epochs=epochs, sample_every=sample_every, deterministic=bool(settings["deterministic"]))
    if dataset is None or isinstance(dataset, (str, os.PathLike)):
        dataset = settings["dataset"] or "fashion_mnist"
        settings["dataset"] = os.fspath(dataset)
    classes = settings["classes"]
    seed = 0 if settings["seed"] is None else settings["seed"]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32), got {seed!r}.")
    seed = int(seed)

    if resume and not has_checkpoint and "config" in recorded:
        # Killed before the first checkpoint: start again with the run's own config.
        if recorded["config"] is None:
            raise ValueError(
                f"{out} has no checkpoint yet and its model config could not be recorded (not JSON): "
                "start it again with --overwrite."
            )
        differ = sorted(k for k, v in config.items() if recorded["config"].get(k, v) != v)
        if differ:
            raise ValueError(
                f"{out} was started with {differ[0]}={recorded['config'].get(differ[0])!r}, got "
                f"{config[differ[0]]!r}: resume with the same config or leave it out."
            )
        config = {**recorded["config"], **config}
        if compile_config is None:
            compile_config = recorded.get("compile_config")
    batch_size = settings["batch_size"] or default_batch_size(family, config)
    settings.update(seed=seed, batch_size=batch_size)

    if cls.data_kind == "paired":
        paired = {k: settings[k] for k in PAIRED_OPTIONS if settings.get(k) is not None}
    arrays = training_arrays(cls, dataset, classes=classes, **paired)
    per_pass = batches_per_pass([len(a) for a in arrays], batch_size)
    spe = int(settings["steps_per_epoch"] or per_pass)
    settings["steps_per_epoch"] = spe

    strat = make_strategy(strategy)
    with strat.scope():
        if has_checkpoint:
            # The checkpoint's config (decay_steps included) is kept as saved.
            gan = load_gan_file(model_path, expected_family=family)
            if not gan.compiled:
                gan.compile(**(compile_config or {}))
        else:
            config.setdefault("seed", seed)
            if "decay_steps" in cls.config_keys():
                # CycleGAN: the paper's schedule by default, the rate held for
                # the first half of the run and decayed linearly to 0 over the
                # second; an explicit decay_steps (None: constant) wins.
                config.setdefault("decay_steps", int(epochs) * spe)
            try:
                gan = cls(**config)
            except (TypeError, ValueError, OverflowError) as err:
                raise ValueError(f"invalid {family} config {config}: {err}") from None
            gan.compile(**(compile_config or {}))
        if learning_rate is not None:
            set_learning_rates(gan, float(learning_rate))

    if cls.data_kind == "labelled" and hasattr(gan, "check_labels"):
        gan.check_labels(arrays[1], len(arrays[1]))
    _check_image_shapes(gan, cls.data_kind, arrays)

    step, state = 0, None
    if has_checkpoint:
        state = read_checkpoint_state(model_path)
        if state is None and os.path.isfile(os.path.join(out, "state.json")):
            with open(os.path.join(out, "state.json")) as f:
                state = {"epoch": int(json.load(f)["epoch"]), "batch": 0, "steps_per_epoch": spe}
        if state is not None:
            if state.get("steps_per_epoch") not in (None, spe):
                raise ValueError(
                    f"{model_path} was trained with {state['steps_per_epoch']} steps per epoch, got {spe}: "
                    "resume with the same --steps-per-epoch and --batch-size."
                )
            step = int(state["epoch"]) * spe + int(state.get("batch") or 0)
    initial_epoch, skip = divmod(step, spe)
    finished = initial_epoch == epochs and not skip
    if initial_epoch + (1 if skip else 0) > epochs:
        raise ValueError(
            f"{out} has trained {initial_epoch} epochs" + (f" and {skip} steps" if skip else "")
            + f", more than epochs={epochs}: resume with --epochs {initial_epoch + (1 if skip else 0)} "
            "or more, or leave --epochs out."
        )

    if has_checkpoint and not finished:
        # Before the folder is touched (run.json would record the refused epochs).
        from keras_gans.models.linear_decay import check_schedules

        check_schedules(gan.optimizers())
    out = prepare_out(out, resume, overwrite) if chief else _worker_dir(out)
    history_path = os.path.join(out, "history.csv")
    if chief:
        record = {"family": family, **{k: _json_or_none(v) for k, v in settings.items()}}
        # What precision="auto" resolved to on this machine (or what was asked for).
        record["precision"] = gan.precision
        if has_checkpoint:
            record["config"] = recorded.get("config")
            record["compile_config"] = recorded.get("compile_config")
        else:
            record["config"] = _json_or_none(config)
            record["compile_config"] = _json_or_none(compile_config)
        write_json_atomic(os.path.join(out, RUN_FILE), record)

    inputs = targets = None
    if cls.data_kind in ("unpaired", "paired"):
        # The grid translates the first 8 inputs (domain A, or paired inputs
        # shown beside their outputs and, for pairs, their targets).
        inputs = _scaled(arrays[0][:8])
        if cls.data_kind == "paired":
            targets = _scaled(arrays[1][:8])
    samples = os.path.join(out, "samples")
    grid = callbacks_lib.SampleGrid(samples, every=sample_every, inputs=inputs, targets=targets)
    if chief and resume:
        grid.set_model(gan)
        _repair_run(out, state, grid, sample_every)
    result = {"model": model_path, "samples": samples, "history": history_path, "gan": gan,
              "settings": settings, "trained": not finished, "resumed_at": step if has_checkpoint else None}
    if finished:
        return result

    ds, _ = batch_stream(
        arrays, batch_size, seed=seed, start_step=initial_epoch * spe,
        independent=cls.data_kind == "unpaired",
    )
    if isinstance(strat, tf.distribute.MultiWorkerMirroredStrategy):
        # Every worker builds the same stream; each keeps its share of every
        # global batch (sharding by files has no files to split here).
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        ds = ds.with_options(options)
    history = _RunHistory(history_path, (state or {}).get("history") or [])
    cbs = [callbacks_lib.StopOnNaN()]
    if skip:
        cbs.append(_SkipOnResume(skip, (state or {}).get("metrics")))
    if chief:
        cbs.append(callbacks_lib.AtomicCheckpoint(
            model_path, save_freq=checkpoint_every or "epoch", initial_step=step, extra_state=history.state,
        ))
    # After the checkpoint (the commit point): the grid, then the history rows.
    cbs += [grid, history]
    cbs.extend(callbacks)
    try:
        gan.fit(
            ds, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=spe,
            callbacks=cbs, verbose=verbose, shuffle=False,  # the stream fixes the order
        )
    except tf.errors.InvalidArgumentError as err:
        raise ValueError(
            f"bad training batch: {_one_line_tf_error(err)} ({model_path} keeps the last checkpoint)."
        ) from None
    except callbacks_lib.DivergenceError as err:
        kept = f"{model_path} keeps the last finite checkpoint" if os.path.isfile(model_path) else "no checkpoint was written"
        raise callbacks_lib.DivergenceError(f"{err} ({kept}).") from None
    return result


class _SkipOnResume(keras.callbacks.Callback):
    """Skips the steps of the resumed epoch that the checkpoint already holds, restoring its running means."""

    def __init__(self, steps, metrics=None):
        super().__init__()
        self.steps = steps
        self.metrics = metrics

    def on_train_begin(self, logs=None):
        callbacks_lib.skip_train_steps(self.model, self.steps, self.metrics)


def _worker_dir(out):
    # Non-chief workers of a multi-worker run must not race the chief's files.
    import tempfile

    return tempfile.mkdtemp(prefix="keras-gans-worker-")
