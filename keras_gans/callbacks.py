"""Training callbacks: sample grids, atomic checkpoints, backups and a divergence stop.

``AtomicCheckpoint`` and ``GANBackupAndRestore`` write through a temporary
file and a rename, refuse to save non-finite weights, and record the training
position (epoch, batch, global step) together with the weights, so a run
killed at any moment resumes from its last complete save. ``StopOnNaN`` stops
training at the first step whose losses are NaN or inf and names it.
"""

import json
import os

import keras
import numpy as np

from keras_gans.saving import (
    STATE_ENTRY,
    atomic_path,
    remove_stale_temps,
    save_model_atomic,
    write_atomic,
    write_json_atomic,
)

#: Test hook: with ``KERAS_GANS_KILL_AT="point:n"`` in the environment, the
#: process sends itself SIGKILL the ``n``-th time it reaches ``point`` (see
#: ``kill_point``), so tests can kill a real run at an exact moment of a write.
KILL_ENV = "KERAS_GANS_KILL_AT"
#: The moments ``kill_point`` knows, in the order an epoch end reaches them.
KILL_POINTS = (
    "checkpoint-tmp", "checkpoint-renamed", "state-renamed",
    "grid-tmp", "grid-renamed", "history-tmp", "history-renamed",
)
_kill_counts = {}


def kill_point(name):
    """SIGKILL this process here if ``$KERAS_GANS_KILL_AT`` names this moment (tests only).

    ``KERAS_GANS_KILL_AT="grid-tmp:2"`` kills the process the second time a
    sample grid's temporary file is written and not yet renamed. Unset (the
    normal case), this does nothing.
    """
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    point, _, count = spec.partition(":")
    if point != name:
        return
    _kill_counts[name] = _kill_counts.get(name, 0) + 1
    if _kill_counts[name] == int(count or 1):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)

__all__ = [
    "image_grid",
    "save_grid",
    "SampleGrid",
    "AtomicCheckpoint",
    "GANBackupAndRestore",
    "StopOnNaN",
    "DivergenceError",
    "metric_state",
    "restore_metric_state",
    "model_iterations",
    "save_model_atomic",
    "write_json_atomic",
]


def image_grid(images, ncols=None):
    """Tile images ``[n, h, w, c]`` in [-1, 1] into one uint8 array.

    Args:
        images: array of images in [-1, 1].
        ncols: int, images per row (default: the smallest square that fits).

    Returns:
        uint8 array ``[rows*h, cols*w]`` (gray) or ``[rows*h, cols*w, c]``.

    Example:
        >>> image_grid(np.zeros((4, 28, 28, 1))).shape
        (56, 56)
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"expected images [n, h, w, c] with n >= 1, got shape {images.shape}.")
    n, h, w, c = images.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    pixels = np.clip((images + 1.0) * 127.5, 0, 255).round().astype("uint8")
    grid = np.zeros((nrows * h, ncols * w, c), "uint8")
    for i in range(n):
        r, col = divmod(i, ncols)
        grid[r * h : (r + 1) * h, col * w : (col + 1) * w] = pixels[i]
    return grid[..., 0] if c == 1 else grid


def save_grid(images, path, ncols=None):
    """Save images in [-1, 1] as one PNG grid, written atomically.

    Args:
        images: array ``[n, h, w, c]`` in [-1, 1].
        path: str, the ``.png`` file to write.
        ncols: int, images per row.

    Returns:
        The path written.

    Example:
        >>> save_grid(gan.generate(16, seed=0), "grid.png")  # doctest: +SKIP
    """
    from matplotlib import image as mpimg

    grid = image_grid(images, ncols)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    cmap = "gray" if grid.ndim == 2 else None

    def write(tmp):
        mpimg.imsave(tmp, grid, cmap=cmap, vmin=0, vmax=255, format="png")
        kill_point("grid-tmp")

    write_atomic(path, write)
    kill_point("grid-renamed")
    return path


class SampleGrid(keras.callbacks.Callback):
    """Save a grid of samples from a fixed latent batch at the end of epochs.

    The same seed is used every epoch, so the grids show how the same latents
    evolve; files are ``epoch_001.png``, ``epoch_002.png``... in ``out_dir``.
    Grids are numbered by the model's own epoch, not by the epoch count of
    one ``fit`` call: a second ``fit`` on the same model (or on a model
    restored from a ``.keras`` file, whose optimizers' ``iterations`` tell
    how far it trained) continues the numbering instead of overwriting
    ``epoch_001.png``; ``fit(initial_epoch=k)`` numbers from ``k + 1``.

    Args:
        out_dir: str, folder for the PNG files.
        every: int, save every ``every`` epochs (the last epoch always when
            ``every`` divides it).
        n: int, images per grid.
        seed: int, seed of the fixed latent batch.
        inputs: array of images in [-1, 1] to translate: required for a
            CycleGAN (domain-A images; the grid pairs each with its
            translation) and a Pix2Pix (paired input images); checked when
            training begins, so a missing one fails before the first epoch.
        targets: Pix2Pix only, optional: the target images of ``inputs``
            (aligned, in [-1, 1]). The grid then shows ``input | output |
            target`` triples, two to a row; without them ``input | output``
            pairs.

    Example:
        >>> gan.fit(ds, epochs=10, callbacks=[kg.callbacks.SampleGrid("runs/dcgan")])  # doctest: +SKIP
        >>> edges, garments = next(iter(kg.data.load_paired("fashion_mnist", pair="edges", batch_size=8)))
        >>> grid = kg.callbacks.SampleGrid("runs/pix2pix", inputs=edges, targets=garments)  # doctest: +SKIP
    """

    #: Attribute of the model holding the number of epochs it has completed
    #: (set by every ``SampleGrid`` at each epoch end; survives across fits).
    EPOCHS_ATTR = "_keras_gans_epochs_done"

    def __init__(self, out_dir, every=1, n=64, seed=0, inputs=None, targets=None):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int, got {every!r}.")
        if targets is not None and inputs is None:
            raise ValueError("SampleGrid targets are the targets of inputs: pass inputs too.")
        self.out_dir = os.fspath(out_dir)
        self.every = every
        self.n = n
        self.seed = seed
        self.inputs = _as_numpy(inputs)
        self.targets = _as_numpy(targets)
        self.paths = []
        self._offset = None

    def on_train_begin(self, logs=None):
        self._offset = None
        # Fail now, not after the first epoch has trained.
        kind = getattr(self.model, "data_kind", None)
        if self.targets is not None and kind != "paired":
            raise ValueError(
                f"SampleGrid targets go beside the translations of a paired model (Pix2Pix); a "
                f"{type(self.model).__name__} has none: drop targets."
            )
        if kind not in ("unpaired", "paired"):
            return
        if self.inputs is None:
            what = (
                "inputs=a batch of paired input images in [-1, 1] (SampleGrid(out_dir, inputs=inputs, "
                "targets=targets), e.g. the first batch of kg.data.load_paired)"
                if kind == "paired"
                else "inputs=a batch of domain-A images in [-1, 1] (SampleGrid(out_dir, inputs=a_images))"
            )
            raise ValueError(f"SampleGrid on a {type(self.model).__name__} needs the images to translate: pass {what}.")
        if hasattr(self.model, "_check_inputs"):
            self.model._check_inputs(self.inputs, "SampleGrid inputs")
        if self.targets is not None:
            _check_targets(self.model, self.inputs, self.targets)

    def epochs_done(self):
        """Epochs the model has completed before this fit (its own count, not the fit's).

        The larger of the count a ``SampleGrid`` left on the model object and
        ``iterations // steps_per_epoch`` of its optimizers (which a ``.keras``
        file restores); 0 for a model that never trained.
        """
        done = int(getattr(self.model, self.EPOCHS_ATTR, 0) or 0)
        steps = (self.params or {}).get("steps")
        if steps:
            done = max(done, model_iterations(self.model) // int(steps))
        return done

    def on_epoch_begin(self, epoch, logs=None):
        if self._offset is None:
            # ``fit(initial_epoch=k)`` already counts from k; a plain second
            # ``fit`` starts again at 0 and is shifted past the epochs done.
            self._offset = max(0, self.epochs_done() - epoch)

    def render(self):
        """The images of this callback's grid for the model's current weights."""
        images = self.model.preview(self.n, seed=self.seed, inputs=self.inputs)
        if self.targets is not None and getattr(self.model, "data_kind", None) == "paired":
            images = with_targets(images, self.targets)
        return images

    def columns(self):
        """Images per row of the grid: 6 for paired triples (two to a row), else square."""
        if self.targets is not None and getattr(self.model, "data_kind", None) == "paired":
            shown = min(max(self.n // 2, 1), len(self.inputs))
            return 6 if shown > 1 else 3
        return None

    def path_for(self, number):
        """The file of the grid after the model's epoch ``number`` (1-based)."""
        return os.path.join(self.out_dir, f"epoch_{int(number):03d}.png")

    def write(self, number):
        """Render the grid now and save it as the grid of epoch ``number``; returns the path."""
        path = save_grid(self.render(), self.path_for(number), ncols=self.columns())
        self.paths.append(path)
        return path

    def on_epoch_end(self, epoch, logs=None):
        if self._offset is None:
            self.on_epoch_begin(epoch)
        number = epoch + 1 + self._offset
        setattr(self.model, self.EPOCHS_ATTR, number)
        if number % self.every:
            return
        self.write(number)


def _as_numpy(images):
    if images is None:
        return None
    if hasattr(images, "numpy"):
        images = images.numpy()
    return np.asarray(images)


def _check_targets(model, inputs, targets):
    shape = tuple(int(s) for s in model.image_shape)
    if targets.ndim != 4 or tuple(targets.shape[1:]) != shape or len(targets) != len(inputs):
        raise ValueError(
            f"SampleGrid targets must be the {len(inputs)} target images of inputs, shape "
            f"[{len(inputs)}, {', '.join(map(str, shape))}], got {targets.shape}."
        )
    if not np.issubdtype(targets.dtype, np.floating):
        raise ValueError(
            f"SampleGrid targets must be floats in [-1, 1], got dtype {targets.dtype}: scale uint8 "
            "images with x / 127.5 - 1."
        )


def with_targets(pairs, targets):
    """Insert each target after its ``input, output`` pair: ``[x0, G(x0), y0, x1, ...]``.

    Args:
        pairs: a paired model's ``preview``: ``[x0, G(x0), x1, G(x1), ...]``.
        targets: the target images of the shown inputs, in the same order
            (at least ``len(pairs) // 2``; the first are used).

    Returns:
        float32 array ``[3 * k, h, w, c]`` for ``k = len(pairs) // 2`` pairs.

    Example:
        >>> x, g, y = (np.full((2, 4, 4, 1), v, "float32") for v in (-1.0, 0.0, 1.0))
        >>> triples = with_targets(np.stack([x, g], axis=1).reshape(4, 4, 4, 1), y)
        >>> triples[:, 0, 0, 0].tolist()
        [-1.0, 0.0, 1.0, -1.0, 0.0, 1.0]
    """
    pairs = np.asarray(pairs, "float32")
    k = len(pairs) // 2
    targets = np.asarray(targets, "float32")[:k]
    if len(targets) < k or targets.shape[1:] != pairs.shape[1:]:
        raise ValueError(
            f"with_targets needs {k} targets of shape {pairs.shape[1:]}, got {targets.shape}."
        )
    return np.stack([pairs[0::2][:k], pairs[1::2][:k], targets], axis=1).reshape((-1, *pairs.shape[1:]))


def model_iterations(model):
    """Training steps a model has taken, read from its optimizers' ``iterations``.

    The smallest count over a GAN's optimizers (a WGAN-GP critic's optimizer
    steps several times per training step); 0 when nothing is built.
    """
    optimizers = model.optimizers() if hasattr(model, "optimizers") else {"optimizer": model.optimizer}
    counts = []
    for opt in optimizers.values():
        if opt is not None and getattr(opt, "built", True):
            counts.append(int(keras.ops.convert_to_numpy(opt.iterations)))
    return min(counts) if counts else 0


def metric_state(model):
    """The values of every metric tracker's variables, JSON-able: ``{name: [values]}``.

    Saved inside checkpoints so a run resumed mid-epoch continues the epoch's
    running means exactly (``restore_metric_state``).
    """
    strategy = model.distribute_strategy
    return {m.name: [_local_sum(strategy, v).tolist() for v in m.variables] for m in model.metrics}


def _local_sum(strategy, variable):
    """A metric variable's value summed over this worker's replicas, with no collective.

    Reading a distributed metric variable the usual way all-reduces it across
    workers, which blocks when only the chief reads it (the chief alone writes
    the run's checkpoints). The trackers' variables are sums, so adding the
    local replicas' copies is exact on one machine; under several workers it
    is the chief's share (the resumed epoch's mean is then the chief's).
    """
    value = getattr(variable, "_value", variable)
    parts = strategy.experimental_local_results(value)
    return np.sum([np.asarray(keras.ops.convert_to_numpy(p)) for p in parts], axis=0)


def restore_metric_state(model, state):
    """Assign what ``metric_state`` returned back to the model's metric trackers."""
    for m in model.metrics:
        values = (state or {}).get(m.name)
        if values is None or len(values) != len(m.variables):
            continue
        for v, value in zip(m.variables, values):
            v.assign(np.asarray(value, dtype=v.dtype))


# ------------------------------------------------------------------ divergence
class DivergenceError(RuntimeError):
    """Training produced a NaN or infinite loss or weight."""


def nonfinite_logs(logs):
    """Return ``"name is value"`` for every scalar log that is NaN or inf."""
    bad = []
    for name, value in (logs or {}).items():
        try:
            value = np.asarray(value, dtype="float64")
        except (TypeError, ValueError):
            continue
        if value.ndim == 0 and not np.isfinite(value):
            bad.append(f"{name} is {float(value)}")
    return bad


def nonfinite_variables(model):
    """Return the paths of the model's and its optimizers' variables holding NaN or inf."""
    variables = list(model.variables)
    optimizers = model.optimizers() if hasattr(model, "optimizers") else {"optimizer": model.optimizer}
    for opt in optimizers.values():
        if opt is not None:
            variables.extend(opt.variables)
    bad = []
    for v in variables:
        value = np.asarray(keras.ops.convert_to_numpy(v))
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            bad.append(v.path)
    return bad


def _check_finite(model, logs, where):
    bad = nonfinite_logs(logs)
    if bad:
        raise DivergenceError(
            f"refusing to save a checkpoint at {where}: {', '.join(bad)}; the previous "
            "checkpoint is kept (lower the learning rate or check the data)."
        )
    bad = nonfinite_variables(model)
    if bad:
        raise DivergenceError(
            f"refusing to save a checkpoint at {where}: {len(bad)} variables hold NaN or inf "
            f"(first: {bad[0]}); the previous checkpoint is kept (lower the learning rate)."
        )


class StopOnNaN(keras.callbacks.Callback):
    """Stop training at the first step whose losses are NaN or inf, naming it.

    Unlike ``keras.callbacks.TerminateOnNaN``, which only sets a flag, this
    raises ``kg.callbacks.DivergenceError`` with the epoch, the batch and the
    losses, so a script or the ``keras-gans`` command fails loudly and no later
    callback (a checkpoint) runs on the diverged model. The logs are running
    means over the epoch, so the first NaN step is caught at once; with
    ``steps_per_execution > 1`` it is reported at the end of its execution.

    Example:
        >>> gan.fit(ds, epochs=5, callbacks=[kg.callbacks.StopOnNaN()])  # doctest: +SKIP
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = nonfinite_logs(logs)
        if bad:
            raise DivergenceError(
                f"training diverged at epoch {self._epoch + 1}, batch {batch + 1}: {', '.join(bad)}; "
                "lower the learning rate or check the data."
            )

    def on_epoch_end(self, epoch, logs=None):
        bad = nonfinite_logs(logs)
        if bad:
            raise DivergenceError(
                f"training diverged in epoch {epoch + 1}: {', '.join(bad)}; lower the learning rate "
                "or check the data."
            )


# ------------------------------------------------------------------ resuming
def skip_train_steps(model, steps, metrics=None):
    """Make the next ``steps`` training steps of ``fit`` draw their batch and do nothing else.

    Used when a run resumes inside an epoch: Keras starts the epoch at its
    first batch, and the batches the restored model already trained on must
    be consumed without training on them again. Call it from a callback's
    ``on_train_begin`` (``fit`` builds its train function just before).

    Args:
        model: the ``keras.Model`` being fit.
        steps: int, steps to skip; a multiple of ``model.steps_per_execution``.
        metrics: optional ``metric_state(model)`` saved with the checkpoint:
            assigned to the trackers at the first skipped step (after ``fit``
            reset them for the epoch), so the epoch's means cover its steps
            before the restart too, exactly as in an uninterrupted run.
    """
    import tensorflow as tf

    per_call = int(getattr(model, "steps_per_execution", 1) or 1)
    if steps % per_call:
        raise ValueError(
            f"cannot resume {steps} steps into an epoch with steps_per_execution={per_call}: "
            "save checkpoints at multiples of steps_per_execution."
        )
    original = model.train_function
    remaining = [steps // per_call]
    pending = [metrics]

    def skipping(iterator):
        if pending[0] is not None:
            restore_metric_state(model, pending[0])
            pending[0] = None
        if remaining[0] == 0:
            model.train_function = original
            return original(iterator)
        remaining[0] -= 1
        for _ in range(per_call):
            try:
                next(iterator)
            except tf.errors.OutOfRangeError:
                raise StopIteration from None
        if remaining[0] == 0:
            model.train_function = original
        return {m.name: m.result() for m in model.metrics}

    if remaining[0]:
        model.train_function = skipping


def _check_save_freq(save_freq):
    if save_freq == "epoch":
        return save_freq
    if isinstance(save_freq, bool) or not isinstance(save_freq, (int, np.integer)) or save_freq < 1:
        raise ValueError(f"save_freq must be 'epoch' or a positive int (steps), got {save_freq!r}.")
    return int(save_freq)


class _Positioned:
    """Mixin: follows the training position (epoch, batches done in it, global
    step) and calls ``_save(position, logs)`` on the ``save_freq`` schedule.

    Step saves fall on multiples of the global step, so an interrupted and a
    resumed run save at the same steps as an uninterrupted one.
    """

    _epoch = 0
    _restored_step = 0

    def _steps_per_epoch(self):
        steps = (self.params or {}).get("steps")
        if self.save_freq != "epoch" and not steps:
            raise ValueError(
                f"save_freq={self.save_freq} (steps) needs a known epoch length: pass "
                "steps_per_epoch to fit or a dataset of known length."
            )
        return steps

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        steps = self._steps_per_epoch()
        done = batch + 1
        step = self._epoch * steps + done
        # Steps at or before the restored position were skipped, not trained;
        # the epoch's last step is saved by on_epoch_end with the epoch's logs.
        if step <= self._restored_step or done >= steps or step % self.save_freq:
            return
        self._save({"epoch": self._epoch, "batch": done, "step": step, "steps_per_epoch": steps}, logs)

    def on_epoch_end(self, epoch, logs=None):
        if not self._should_save_epoch(epoch):
            return
        steps = (self.params or {}).get("steps")
        step = (epoch + 1) * steps if steps else None
        self._save({"epoch": epoch + 1, "batch": 0, "step": step, "steps_per_epoch": steps}, logs)

    def _should_save_epoch(self, epoch):
        return True

    def _save(self, position, logs):
        raise NotImplementedError


class AtomicCheckpoint(_Positioned, keras.callbacks.Callback):
    """Save the whole model to one ``.keras`` file, atomically, with its training position.

    The model is written to a temporary file beside ``path``, flushed and
    renamed over it, so a crash at any moment (``kill -9`` included) leaves
    the previous checkpoint intact. The position (completed epochs, batches
    done in the next epoch, global step) is stored inside the same archive,
    so weights and position are always replaced together
    (``kg.saving.read_checkpoint_state`` reads it); ``state.json`` beside it
    repeats it with the logs, for people. A save whose logs or variables
    (optimizers included) hold NaN or inf is refused with
    ``kg.callbacks.DivergenceError`` and the previous checkpoint is kept.

    Args:
        path: str, the ``.keras`` file.
        every: int, save every ``every`` epochs.
        save_freq: ``"epoch"``, or an int: also save every ``save_freq``
            global steps inside epochs (needs a known epoch length).
        initial_step: int, the global step the model was restored at (the
            trainer passes it on resume); batches up to it are not saved again.
        extra_state: optional function ``(position, logs) -> dict`` whose
            JSON-able result is stored inside the archive with the position
            (the trainer stores the run's history rows and the metric
            trackers there: one commit point for all of them).

    Example:
        >>> gan.fit(ds, epochs=5, callbacks=[AtomicCheckpoint("runs/x/model.keras")])  # doctest: +SKIP
    """

    def __init__(self, path, every=1, save_freq="epoch", initial_step=0, extra_state=None):
        super().__init__()
        self.save_freq = _check_save_freq(save_freq)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int, got {every!r}.")
        self.path = os.fspath(path)
        self.every = every
        self._restored_step = int(initial_step)
        self.extra_state = extra_state
        self.saved = []

    @property
    def state_path(self):
        return os.path.join(os.path.dirname(os.path.abspath(self.path)), "state.json")

    def on_train_begin(self, logs=None):
        self._steps_per_epoch()
        remove_stale_temps(self.path)
        remove_stale_temps(self.state_path)

    def _should_save_epoch(self, epoch):
        return (epoch + 1) % self.every == 0

    def _save(self, position, logs):
        where = f"epoch {position['epoch'] + (1 if position['batch'] else 0)}, step {position['step']}"
        _check_finite(self.model, logs, where)
        record = {**position, "logs": _plain(logs)}
        extra = self.extra_state(position, logs) if self.extra_state is not None else {}
        # The archive is the commit point; state.json repeats it for people
        # (a kill between the two leaves it one save behind: the trainer
        # rewrites it from the archive on resume).
        self._write_archive({**extra, **record})
        kill_point("checkpoint-renamed")
        write_json_atomic(self.state_path, record)
        kill_point("state-renamed")
        self.saved.append(position)

    def _write_archive(self, state):
        # kg.saving.save_model_atomic, with the test hook between the write and the rename.
        import zipfile

        def write(tmp):
            self.model.save(tmp)
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(STATE_ENTRY, json.dumps(state, sort_keys=True))
            kill_point("checkpoint-tmp")

        write_atomic(self.path, write)


def _plain(logs):
    plain = {}
    for k, v in (logs or {}).items():
        try:
            value = np.asarray(v, dtype="float64")
        except (TypeError, ValueError):
            continue
        if value.ndim == 0:
            plain[k] = float(value)
    return plain


class GANBackupAndRestore(_Positioned, keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` for GANs: every optimizer, the noise state, atomic.

    Keras' callback assumes one ``model.optimizer`` and writes its backup in
    place (a kill during the write corrupts it, and the weights and the
    epoch are written as two files at two moments). This one, for
    ``kg.models`` GANs:

    - builds every optimizer (``gan.build_optimizers()``) before restoring,
      so both (CycleGAN: all four) optimizers' states come back, and the
      noise seed state (saved by the GAN) too;
    - writes the weights to a new file, renames it, then atomically replaces
      ``state.json`` naming that file: the commit point, so a kill at any
      moment leaves a consistent pair;
    - with ``save_freq=N`` saves every ``N`` global steps and at epoch ends,
      and resumes inside the epoch: the batches the restored model already
      trained on are drawn again and skipped, so the resumed run continues
      on the batch the interrupted one would have used next;
    - refuses to back up NaN or inf weights or logs (``DivergenceError``).

    The data position is exact when the dataset yields the same batches for
    an epoch whatever ran before: with ``steps_per_epoch``, a stream that
    starts at the restored epoch, e.g. ``kg.trainer.batch_stream(images,
    batch_size, seed=0, start_step=backup.initial_epoch * steps_per_epoch)``.
    A ``tf.data`` pipeline that reshuffles each epoch from one seed does not:
    its order for epoch ``k`` depends on the ``k - 1`` orders drawn before it.

    Args:
        backup_dir: str, a folder used only by this callback.
        save_freq: ``"epoch"`` or a positive int (steps).
        delete_checkpoint: bool, remove the backup when ``fit`` completes.

    Example:
        >>> backup = kg.callbacks.GANBackupAndRestore("runs/x/backup", save_freq=100)
        >>> ds = kg.trainer.batch_stream(images, 64, seed=0, start_step=backup.initial_epoch * 500)  # doctest: +SKIP
        >>> gan.fit(ds, epochs=10, steps_per_epoch=500, callbacks=[backup])  # doctest: +SKIP
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        save_freq = _check_save_freq(save_freq)
        super().__init__(os.fspath(backup_dir), save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        self._state_path = os.path.join(self.backup_dir, "state.json")
        self._epoch = 0
        self._restored = None
        self._restored_step = 0

    # ------------------------------------------------------------ state on disk
    def read_state(self):
        """Return the committed backup's position dict, or None when there is none."""
        if not os.path.isfile(self._state_path):
            return None
        try:
            with open(self._state_path) as f:
                state = json.load(f)
            weights = os.path.join(self.backup_dir, state["weights"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"{self._state_path} is not a backup record ({err}): delete {self.backup_dir} to start over."
            ) from None
        if not os.path.isfile(weights):
            raise FileNotFoundError(
                f"{self._state_path} names {weights}, which is missing: delete {self.backup_dir} to start over."
            )
        return state

    @property
    def initial_epoch(self):
        """The epoch ``fit`` resumes at: 0 without a backup, else the backed-up epoch."""
        state = self.read_state()
        return 0 if state is None else int(state["epoch"])

    # ------------------------------------------------------------ keras hooks
    def on_train_begin(self, logs=None):
        self._restored = None
        self._restored_step = 0
        if self.save_freq != "epoch" and not (self.params or {}).get("steps"):
            raise ValueError(
                f"save_freq={self.save_freq} (steps) needs a known epoch length: pass "
                "steps_per_epoch to fit or a dataset of known length."
            )
        if os.path.isdir(self.backup_dir):
            for entry in os.listdir(self.backup_dir):
                if entry.startswith(".tmp-"):
                    os.remove(os.path.join(self.backup_dir, entry))
        self._load_model()

    def _load_model(self):
        state = self.read_state()
        if state is None:
            return
        model = self.model
        if hasattr(model, "build_optimizers"):
            model.build_optimizers()
        elif model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(self.backup_dir, state["weights"]))
        epoch, batch = int(state["epoch"]), int(state["batch"])
        steps = (self.params or {}).get("steps")
        if batch and state.get("steps_per_epoch") != steps:
            raise ValueError(
                f"the backup in {self.backup_dir} was taken {batch} steps into an epoch of "
                f"{state.get('steps_per_epoch')} steps, but this fit has epochs of {steps} steps: "
                "resume with the same steps_per_epoch."
            )
        model._initial_epoch = epoch  # how keras.callbacks.BackupAndRestore resumes
        self._restored = state
        self._restored_step = epoch * steps + batch if steps else 0
        skip_train_steps(model, batch)

    def _save(self, position, logs):
        where = f"epoch {position['epoch'] + (1 if position['batch'] else 0)}, step {position['step']}"
        _check_finite(self.model, logs, where)
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"backup-e{position['epoch']:05d}-b{position['batch']:07d}.weights.h5"
        path = os.path.join(self.backup_dir, name)
        write_atomic(path, lambda tmp: self.model.save_weights(tmp, overwrite=True))
        write_json_atomic(self._state_path, {**position, "weights": name})
        for entry in os.listdir(self.backup_dir):
            if entry.startswith("backup-") and entry.endswith(".weights.h5") and entry != name:
                os.remove(os.path.join(self.backup_dir, entry))

    def on_train_end(self, logs=None):
        if self.model is not None:
            self.model._initial_epoch = None  # a later fit must not start at this epoch
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            import shutil

            shutil.rmtree(self.backup_dir)


# Keep the name used before the move to kg.saving.
_atomic_path = atomic_path
