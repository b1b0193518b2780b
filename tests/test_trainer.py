"""kg.trainer: exact resume after kill -9, divergence stops, bad input fails before the run folder is touched."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keras_gans as kg
from keras_gans import trainer
from keras_gans.callbacks import DivergenceError
from keras_gans.saving import load_gan_file, read_checkpoint_state

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {"width": 8, "latent_dim": 16}


# Tiny networks of each family the kill -9 test runs.
KILL_CONFIGS = {
    "dcgan": ["width=8", "latent_dim=16"],
    "cyclegan": ["width=8", "n_blocks=1", "discriminator_layers=2", "pool_size=8"],
}


def train_command(out, resume=False, family="dcgan"):
    """A tiny deterministic `keras-gans train` run: 3 epochs of 8 steps, a checkpoint every 2 steps."""
    command = [
        sys.executable, "-m", "keras_gans.cli", "train", family, "--dataset", "fashion_mnist",
        "--epochs", "3", "--steps-per-epoch", "8", "--batch-size", "16", "--checkpoint-every", "2",
        "--deterministic", "--seed", "3", "--out", str(out), "--verbose", "0",
    ]
    if family == "cyclegan":
        command += ["--classes", "7,9"]
    if resume:
        return command + ["--resume"]
    return command + [arg for item in KILL_CONFIGS[family] for arg in ("--config", item)]


def all_state(path, family="dcgan"):
    """Every variable a checkpoint restores: weights (CycleGAN: and its pools), every optimizer, the noise seed state."""
    gan = load_gan_file(path, expected_family=family)
    values = {v.path: v.numpy() for v in gan.variables}
    for name, opt in gan.optimizers().items():
        values.update({f"{name}/{v.path}": v.numpy() for v in opt.variables})
    values["seed_state"] = gan.seed_generator.state.numpy()
    return values


def history_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# The default suite kills a DCGAN run at exact write moments in tests/test_run_folder.py;
# this one kills at a moment seen from outside (a checkpoint's temporary on disk).
@pytest.mark.slow
@pytest.mark.parametrize("family", ["dcgan", "cyclegan"])
def test_kill_9_during_a_checkpoint_write_then_resume_ends_with_the_uninterrupted_weights(tmp_path, family):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    ref_dir, run_dir = tmp_path / "reference", tmp_path / "killed"
    reference = subprocess.Popen(train_command(ref_dir, family=family), cwd=REPO, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    victim = subprocess.Popen(train_command(run_dir, family=family), cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill once a mid-epoch checkpoint exists and the next one is being written:
    # the half-written temporary file must not replace the last complete one.
    deadline = time.monotonic() + 600  # generous: it only bounds a hang
    killed_at = None
    while killed_at is None:
        assert victim.poll() is None, "the run finished before it could be killed: make it longer"
        assert time.monotonic() < deadline, "no checkpoint write was seen"
        try:
            step = json.loads((run_dir / "state.json").read_text())["step"]
            writing = [e for e in os.listdir(run_dir) if e.startswith(".tmp-") and e.endswith("model.keras")]
        except (OSError, ValueError, KeyError):
            step, writing = 0, []
        if step >= 4 and writing:
            victim.send_signal(signal.SIGKILL)
            killed_at = step
        else:
            time.sleep(0.002)
    assert victim.wait() == -signal.SIGKILL

    # The latest checkpoint is complete and its position is mid-run.
    leftovers = [e for e in os.listdir(run_dir) if e.startswith(".tmp-")]
    assert leftovers, "the kill was meant to land during a write"
    position = read_checkpoint_state(run_dir / "model.keras")
    assert position["step"] >= killed_at and position["step"] < 24 and position["step"] % 2 == 0
    assert position["steps_per_epoch"] == 8
    assert position["epoch"] * 8 + position["batch"] == position["step"]

    resumed = subprocess.run(train_command(run_dir, resume=True, family=family), cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert reference.wait(timeout=300) == 0, reference.stderr.read()[-2000:]

    assert not [e for e in os.listdir(run_dir) if e.startswith(".tmp-")]  # the stale temp was cleared
    assert read_checkpoint_state(run_dir / "model.keras")["step"] == 24
    expected, got = all_state(ref_dir / "model.keras", family), all_state(run_dir / "model.keras", family)
    assert sorted(expected) == sorted(got)
    optimizers = load_gan_file(run_dir / "model.keras", expected_family=family).optimizers()
    assert len(optimizers) == (4 if family == "cyclegan" else 2)
    for name in optimizers:
        assert any(k.startswith(f"{name}/") for k in got), name
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    # One row per epoch, each the uninterrupted run's: the resumed epoch's means
    # continue from the running sums stored in the checkpoint.
    ref_rows, rows = history_rows(ref_dir / "history.csv"), history_rows(run_dir / "history.csv")
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert rows == ref_rows
    assert sorted(os.listdir(run_dir / "samples")) == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]


# ------------------------------------------------------------------ in-process runs
@pytest.fixture(scope="module")
def images(fmnist_train):
    return fmnist_train[0][:256]


class PoisonAt(keras.callbacks.Callback):
    """Set ``variables()`` to NaN after global step ``step``: a divergence at a known step."""

    def __init__(self, step, variables):
        super().__init__()
        self.step, self.variables = step, variables
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            for v in self.variables(self.model):
                v.assign(np.full(v.shape, np.nan, v.dtype))


def test_a_nan_loss_stops_at_its_step_and_keeps_the_last_finite_checkpoint(images, tmp_path):
    out = tmp_path / "run"
    poison = PoisonAt(5, lambda gan: gan.generator.trainable_variables[:1])
    with pytest.raises(DivergenceError) as info:
        trainer.train("dcgan", dataset=images, epochs=2, steps_per_epoch=8, batch_size=16, config=TINY,
                      out=out, checkpoint_every=2, callbacks=[poison], verbose=0)
    message = str(info.value)
    assert "training diverged at epoch 1, batch 6: d_loss is nan" in message
    assert "keeps the last finite checkpoint" in message
    assert read_checkpoint_state(out / "model.keras")["step"] == 4
    assert json.loads((out / "state.json").read_text())["step"] == 4
    state = all_state(out / "model.keras")
    assert all(np.isfinite(v).all() for v in state.values() if np.issubdtype(v.dtype, np.floating))


def test_nan_weights_behind_finite_losses_are_never_saved(images, tmp_path):
    # Poisoned Adam moments: the losses of step 6 are still finite (computed
    # before the update) but the update makes the generator NaN.
    out = tmp_path / "run"
    poison = PoisonAt(5, lambda gan: [v for v in gan.g_optimizer.variables if "momentum" in v.path])
    with pytest.raises(DivergenceError, match="refusing to save a checkpoint at epoch 1, step 6: .*variables hold NaN"):
        trainer.train("dcgan", dataset=images, epochs=2, steps_per_epoch=8, batch_size=16, config=TINY,
                      out=out, checkpoint_every=2, callbacks=[poison], verbose=0)
    assert read_checkpoint_state(out / "model.keras")["step"] == 4


@pytest.fixture(scope="module")
def finished_run(images, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "done"
    trainer.train("dcgan", dataset=images, epochs=2, steps_per_epoch=1, batch_size=16, config=TINY,
                  out=out, verbose=0)
    return out


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder)) if (folder / name).is_file()}


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({}, FileExistsError, "already holds a run: resume it \\(--resume\\) or replace it \\(--overwrite\\)"),
        ({"resume": True, "epochs": 3, "batch_size": 32}, ValueError,
         "was trained with batch_size=16 \\(--batch-size\\), got 32"),
        ({"resume": True, "epochs": 1}, ValueError,
         "has trained 2 epochs, more than epochs=1: resume with --epochs 2 or more, or leave --epochs out"),
        ({"resume": True, "epochs": 3, "config": {"width": 4}}, ValueError,
         "takes its model config from its checkpoint"),
        ({"resume": True, "overwrite": True}, ValueError, "either resume or overwrite"),
    ],
)
def test_a_bad_restart_of_an_existing_run_changes_nothing(finished_run, kwargs, error, message):
    before = snapshot(finished_run)
    kwargs = {"family": "dcgan", "dataset": None, "epochs": 2, "out": finished_run, "verbose": 0, **kwargs}
    if not kwargs.get("resume"):
        kwargs["config"] = TINY
    with pytest.raises(error, match=message):
        trainer.train(**kwargs)
    assert snapshot(finished_run) == before


def test_resuming_with_another_family_names_both(finished_run):
    before = snapshot(finished_run)
    with pytest.raises(ValueError, match="holds a dcgan model, not wgan_gp"):
        trainer.train("wgan_gp", epochs=2, out=finished_run, resume=True, verbose=0)
    assert snapshot(finished_run) == before


@pytest.mark.parametrize(
    "family, dataset, kwargs, error, message",
    [
        ("dcgan", "images", {"config": {"width": 8, "latnt_dim": 16}}, ValueError,
         "unknown DCGAN config key 'latnt_dim' \\(did you mean 'latent_dim'\\?\\): known keys are .*width"),
        ("dcgan", "images", {"config": {"width": 8, "image_shape": [32, 32, 1]}}, ValueError,
         "images have shape \\(28, 28, 1\\) but this dcgan model takes \\(32, 32, 1\\): pass --config image_shape=\\[28, 28, 1\\]"),
        ("dcgan", "floats_255", {"config": TINY}, ValueError, "float images must lie in \\[-1, 1\\]"),
        ("cgan", "images", {"config": TINY}, ValueError, "has no labels but labels for a conditional GAN"),
        ("cgan", "labels_11", {"config": {**TINY, "num_classes": 10}}, ValueError,
         "labels must lie in \\[0, 10\\), got 11: this model has 10 classes"),
        ("dcgan", "images", {"config": TINY, "out": "/proc/keras-gans-test/run"}, PermissionError,
         "cannot create /proc/keras-gans-test/run"),
        ("dcgan", "images", {"config": TINY, "batch_size": 0}, ValueError, "batch_size must be a positive int"),
        ("dcgan", "images", {"config": TINY, "batch_size": 1000}, ValueError, "fewer than one batch of 1000"),
        ("dcgan", "images", {"config": TINY, "seed": -1}, ValueError, "seed must be an int in \\[0, 2\\*\\*32\\)"),
        ("dcgan", "images", {"config": TINY, "learning_rate": float("nan")}, ValueError, "finite number > 0"),
        ("pixelgan", "images", {}, ValueError, "unknown GAN family 'pixelgan'"),
    ],
)
def test_bad_input_fails_with_one_error_before_the_run_folder_exists(images, tmp_path, family, dataset, kwargs,
                                                                      error, message):
    data = {
        "images": images,
        "floats_255": images.astype("float32"),
        "labels_11": (images, np.full(len(images), 11, "int32")),
    }[dataset]
    kwargs = {"out": tmp_path / "run", **kwargs}
    with pytest.raises(error, match=message):
        trainer.train(family, dataset=data, epochs=1, steps_per_epoch=2, verbose=0, **kwargs)
    assert not os.path.exists(kwargs["out"])


# ------------------------------------------------------------------ data order
@settings(max_examples=12, deadline=None)
@given(
    n=st.integers(8, 40), batch_size=st.integers(1, 8), start=st.integers(0, 30),
    seed=st.integers(0, 2**32 - 1), labelled=st.booleans(),
)
def test_a_stream_started_at_step_s_yields_what_a_stream_from_0_yields_from_s(n, batch_size, start, seed, labelled):
    images = np.arange(n, dtype="float32").reshape(n, 1, 1, 1) / n
    arrays = (images, np.arange(n, dtype="int32")) if labelled else images
    full, per_pass = trainer.batch_stream(arrays, batch_size, seed=seed)
    assert per_pass == n // batch_size
    late, _ = trainer.batch_stream(arrays, batch_size, seed=seed, start_step=start)
    take = 3
    expected = [b for b in full.skip(start).take(take).as_numpy_iterator()]
    got = [b for b in late.take(take).as_numpy_iterator()]
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a[0] if labelled else a, b[0] if labelled else b)
    if labelled:  # labels stay with their images
        for b in got:
            np.testing.assert_array_equal(np.round(b[0].ravel() * n).astype("int32"), b[1])
    # Each pass visits distinct examples (a permutation, remainder dropped).
    first_pass = np.concatenate([(b[0] if labelled else b).ravel() for b in full.take(per_pass).as_numpy_iterator()])
    assert len(np.unique(first_pass)) == per_pass * batch_size


# ------------------------------------------------------------ default batch sizes
def test_default_batch_sizes_give_wgan_gp_64_images_per_critic_step(fmnist_train, tmp_path):
    assert trainer.default_batch_size("dcgan") == trainer.default_batch_size("cgan") == 128
    assert trainer.default_batch_size("cyclegan") == 16
    assert trainer.default_batch_size("wgan_gp") == 320  # 5 critic chunks of 64, none left out
    assert trainer.default_batch_size("wgan_gp", {"critic_steps": 3}) == 192
    result = trainer.train("wgan_gp", dataset=fmnist_train[0][:640], epochs=1, steps_per_epoch=1,
                           config={**TINY, "critic_steps": 2}, out=str(tmp_path / "run"), verbose=0)
    with open(tmp_path / "run" / "run.json") as f:
        assert json.load(f)["batch_size"] == 128  # 64 x critic_steps=2
    assert int(result["gan"].d_optimizer.iterations) == 2


# ------------------------------------------------------------ --learning-rate
def test_set_learning_rate_rescales_linear_decay_and_refuses_other_schedules():
    plain = keras.optimizers.Adam(2e-4)
    trainer.set_learning_rate(plain, 1e-3)
    assert float(plain.learning_rate) == pytest.approx(1e-3)

    for opt in (keras.optimizers.Adam(kg.models.LinearDecay(2e-4, 100)),
                keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(kg.models.LinearDecay(2e-4, 100)))):
        trainer.set_learning_rate(opt, 1e-3)
        inner = getattr(opt, "inner_optimizer", opt)
        rates = []
        for step in (0, 50, 75, 100):
            inner.iterations.assign(step)
            rates.append(float(inner.learning_rate))
        assert rates == pytest.approx([1e-3, 1e-3, 5e-4, 0.0])

    other = keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5))
    with pytest.raises(ValueError, match="ExponentialDecay schedule, whose rate cannot be set"):
        trainer.set_learning_rate(other, 1e-3, "generator")


def test_set_learning_rates_keeps_each_optimizer_s_ratio_to_the_generator_s():
    big = kg.models.BigGAN(image_shape=(16, 16, 1), num_classes=3, latent_dim=12, width=4, embedding_dim=8)
    big.compile()
    assert float(big.d_optimizer.learning_rate) == pytest.approx(4 * float(big.g_optimizer.learning_rate))
    for _ in range(2):  # idempotent: a resume applies the run's rate again
        rates = trainer.set_learning_rates(big, 5e-5)
        assert rates == pytest.approx({"g_optimizer": 5e-5, "d_optimizer": 2e-4})
        assert float(big.g_optimizer.learning_rate) == pytest.approx(5e-5)
        assert float(big.d_optimizer.learning_rate) == pytest.approx(2e-4)
    dcgan = kg.models.DCGAN(latent_dim=8, width=4)
    dcgan.compile()
    assert trainer.set_learning_rates(dcgan, 1e-3) == pytest.approx({"g_optimizer": 1e-3, "d_optimizer": 1e-3})


def test_train_cyclegan_with_decay_and_learning_rate(tmp_path, fmnist_train):
    result = trainer.train(
        "cyclegan", dataset="fashion_mnist", classes=(7, 9), batch_size=8, epochs=1,
        steps_per_epoch=2, config={"width": 8, "n_blocks": 1, "discriminator_layers": 1, "decay_steps": 4},
        learning_rate=1e-3, out=str(tmp_path / "run"), verbose=0,
    )
    gan = load_gan_file(result["model"])
    assert gan.decay_steps == 4  # the explicit value wins over epochs * steps_per_epoch = 2
    for opt in gan.optimizers().values():
        assert int(opt.iterations) == 2
        assert float(opt.learning_rate) == pytest.approx(1e-3)  # step 2 of 4: the last at the full rate


TINY_CYCLEGAN = {"width": 8, "n_blocks": 1, "discriminator_layers": 1, "pool_size": 4}


def _decay_of(gan):
    """The ``(total_steps, decay_start)`` of every optimizer's LinearDecay, or None for a constant rate."""
    out = set()
    for opt in gan.optimizers().values():
        rate = opt._learning_rate
        out.add((rate.total_steps, rate.decay_start) if isinstance(rate, kg.models.LinearDecay) else None)
    assert len(out) == 1, out
    return out.pop()


def test_train_cyclegan_decays_over_the_whole_run_by_default_and_a_resume_keeps_it(tmp_path, fmnist_train):
    run = dict(dataset="fashion_mnist", classes=(7, 9), batch_size=8, steps_per_epoch=2,
               out=str(tmp_path / "run"), verbose=0)
    result = trainer.train("cyclegan", epochs=2, config=TINY_CYCLEGAN, **run)
    assert result["gan"].decay_steps == 4  # 2 epochs x 2 steps
    gan = load_gan_file(result["model"])
    assert gan.decay_steps == 4 and _decay_of(gan) == (4, 2)  # constant for 2 steps, then to 0 at 4
    # A resume keeps the checkpoint's schedule (the config comes from it): a longer run
    # would train at learning rate 0, so it is refused before the folder changes.
    before = snapshot(tmp_path / "run")
    with pytest.raises(ValueError, match="reached learning rate 0 at step 4"):
        trainer.train("cyclegan", epochs=3, resume=True, **{**run, "classes": None})
    assert snapshot(tmp_path / "run") == before
    resumed = trainer.train("cyclegan", resume=True, **{**run, "classes": None})
    assert resumed["trained"] is False and _decay_of(resumed["gan"]) == (4, 2)


def test_train_cyclegan_with_decay_steps_none_keeps_a_constant_rate(tmp_path, fmnist_train):
    result = trainer.train(
        "cyclegan", dataset="fashion_mnist", classes=(7, 9), batch_size=8, epochs=2, steps_per_epoch=2,
        config={**TINY_CYCLEGAN, "decay_steps": None}, out=str(tmp_path / "run"), verbose=0,
    )
    assert result["gan"].decay_steps is None and _decay_of(result["gan"]) is None


# ------------------------------------------------------------ the run folder on resume
def test_a_resume_takes_the_runs_settings_and_a_finished_run_trains_nothing(images, tmp_path):
    out = tmp_path / "run"
    trainer.train("dcgan", dataset=images, epochs=1, steps_per_epoch=2, batch_size=16, config=TINY,
                  out=out, checkpoint_every=1, sample_every=1, verbose=0)
    recorded = json.loads((out / "run.json").read_text())
    assert (recorded["epochs"], recorded["checkpoint_every"], recorded["config"]["width"]) == (1, 1, 8)
    # No epochs given: the run's 1, not the default 5; finished, so nothing trains.
    again = trainer.train("dcgan", dataset=images, out=out, resume=True, verbose=0)
    assert again["trained"] is False and again["settings"]["epochs"] == 1
    assert int(again["gan"].g_optimizer.iterations) == 2
    # A larger epochs continues, and becomes the run's.
    longer = trainer.train("dcgan", dataset=images, epochs=2, out=out, resume=True, verbose=0)
    assert longer["trained"] is True and int(longer["gan"].g_optimizer.iterations) == 4
    assert json.loads((out / "run.json").read_text())["epochs"] == 2
    assert trainer.train("dcgan", dataset=images, out=out, resume=True, verbose=0)["trained"] is False
    assert [r["epoch"] for r in history_rows(out / "history.csv")] == ["0", "1"]
    assert sorted(os.listdir(out / "samples")) == ["epoch_001.png", "epoch_002.png"]


def test_a_resume_repairs_what_a_kill_left_behind(images, tmp_path):
    out = tmp_path / "run"
    trainer.train("dcgan", dataset=images, epochs=2, steps_per_epoch=2, batch_size=16, config=TINY,
                  out=out, checkpoint_every=1, verbose=0)
    whole = snapshot(out)
    grids = snapshot(out / "samples")
    # What kills leave: the last row and grid missing, state.json a save behind,
    # temporaries of a grid, of history.csv and of the checkpoint.
    rows = (out / "history.csv").read_text().splitlines()
    (out / "history.csv").write_text("\n".join(rows[:-1]) + "\n")
    (out / "samples" / "epoch_002.png").unlink()
    state = json.loads((out / "state.json").read_text())
    (out / "state.json").write_text(json.dumps({**state, "epoch": 1, "batch": 1, "step": 3}))
    for name in ("samples/.tmp-abcepoch_002.png", ".tmp-defhistory.csv", ".tmp-ghimodel.keras"):
        (out / name).write_bytes(b"half")

    result = trainer.train("dcgan", dataset=images, out=out, resume=True, verbose=0)
    assert result["trained"] is False
    assert snapshot(out) == whole  # history.csv, state.json, run.json, model.keras as they were
    # The grid is drawn again from the checkpoint's weights: the same image.
    assert snapshot(out / "samples") == grids
    assert not [e for e in os.listdir(out) + os.listdir(out / "samples") if e.startswith(".tmp-")]


class InterruptAt(keras.callbacks.Callback):
    """Raise KeyboardInterrupt after global step ``step`` (a run stopped at a known moment)."""

    def __init__(self, step):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            raise KeyboardInterrupt


def test_a_resume_before_the_first_checkpoint_starts_the_run_from_the_beginning(images, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        trainer.train("dcgan", dataset=images, epochs=2, steps_per_epoch=2, batch_size=16,
                      config={"width": 8, "latent_dim": 12}, out=out, callbacks=[InterruptAt(1)], verbose=0)
    assert sorted(os.listdir(out)) == ["run.json"]  # no checkpoint yet
    # Training without --resume refuses the folder; --resume starts it with its own settings.
    with pytest.raises(FileExistsError, match="already holds a run: resume it"):
        trainer.train("dcgan", dataset=images, epochs=2, out=out, config=TINY, verbose=0)
    result = trainer.train("dcgan", dataset=images, out=out, resume=True, verbose=0)
    assert result["trained"] is True and result["resumed_at"] is None
    assert result["gan"].latent_dim == 12 and int(result["gan"].g_optimizer.iterations) == 4
    assert read_checkpoint_state(out / "model.keras")["step"] == 4
    assert [r["epoch"] for r in history_rows(out / "history.csv")] == ["0", "1"]
    # A resume into a folder that does not exist yet starts a run too (a loop's first try).
    fresh = trainer.train("dcgan", dataset=images, epochs=1, steps_per_epoch=1, batch_size=16, config=TINY,
                          out=tmp_path / "new", resume=True, verbose=0)
    assert fresh["trained"] is True and os.path.isfile(tmp_path / "new" / "model.keras")


def test_a_resume_of_a_folder_holding_no_run_is_refused(images, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="nothing to resume: .* holds files but no run"):
        trainer.train("dcgan", dataset=images, epochs=1, out=out, resume=True, verbose=0)
    assert os.listdir(out) == ["notes.txt"]


class CopyCheckpointAt(keras.callbacks.Callback):
    """After global step ``step``, copy the run folder's checkpoint and run.json to ``dest``."""

    def __init__(self, step, source, dest):
        super().__init__()
        self.step, self.source, self.dest, self.seen = step, source, dest, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            os.makedirs(self.dest)
            for name in ("model.keras", "run.json"):
                with open(os.path.join(self.source, name), "rb") as f, open(os.path.join(self.dest, name), "wb") as g:
                    g.write(f.read())


def test_a_resumed_epochs_history_row_averages_all_its_steps(images, tmp_path):
    # An uninterrupted epoch of 4 steps; its checkpoint after step 2 is copied out as
    # the folder a kill at step 3 would leave. Resumed there, the epoch's row must
    # be the 4-step mean, not the mean of steps 3 and 4 alone.
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    trainer.train("dcgan", dataset=images, epochs=1, steps_per_epoch=4, batch_size=16, config=TINY,
                  out=whole, checkpoint_every=2, callbacks=[CopyCheckpointAt(2, str(whole), str(cut))], verbose=0)
    stored = read_checkpoint_state(cut / "model.keras")
    assert stored["step"] == 2 and stored["metrics"]["d_loss"][1] == 2.0  # the running sums of 2 steps
    trainer.train("dcgan", dataset=images, out=cut, resume=True, verbose=0)
    expected, got = history_rows(whole / "history.csv"), history_rows(cut / "history.csv")
    assert [r["epoch"] for r in got] == ["0"]
    for key in ("d_loss", "g_loss"):
        assert float(got[0][key]) == pytest.approx(float(expected[0][key]), rel=1e-5), key


# ------------------------------------------------------------ --precision
def test_the_precision_flag_reaches_the_model_and_run_json_records_the_resolved_policy(tmp_path, capsys,
                                                                                        monkeypatch):
    from keras_gans.cli import PRECISION_CHOICES, main

    assert PRECISION_CHOICES == kg.models.gan.PRECISIONS
    argv = ["train", "dcgan", "--epochs", "1", "--steps-per-epoch", "1", "--verbose", "0",
            "--config", "width=8", "--config", "latent_dim=16"]
    # No flag: the family default, precision="auto", resolved (here: as the environment says).
    monkeypatch.setenv("KERAS_GANS_PRECISION", "mixed_bfloat16")
    assert main(argv + ["--out", str(tmp_path / "auto")]) == 0
    assert json.loads((tmp_path / "auto" / "run.json").read_text())["precision"] == "mixed_bfloat16"
    gan = load_gan_file(str(tmp_path / "auto" / "model.keras"))
    assert gan.precision == "mixed_bfloat16" and gan.generator.get_layer("project").dtype_policy.name == "mixed_bfloat16"

    assert main(argv + ["--out", str(tmp_path / "f32"), "--precision", "float32"]) == 0
    recorded = json.loads((tmp_path / "f32" / "run.json").read_text())
    assert recorded["precision"] == recorded["config"]["precision"] == "float32"
    gan = load_gan_file(str(tmp_path / "f32" / "model.keras"))
    assert gan.precision == "float32" and gan.generator.get_layer("project").dtype_policy.name == "float32"

    capsys.readouterr()
    assert main(argv + ["--out", str(tmp_path / "bad"), "--precision", "bfloat16"]) == 2
    assert "invalid choice: 'bfloat16'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("resolved", ["float32", "mixed_bfloat16"])
def test_the_default_precision_is_auto_in_every_family(monkeypatch, resolved):
    monkeypatch.setenv("KERAS_GANS_PRECISION", resolved)  # what "auto" resolves to here
    for cls in (kg.models.DCGAN, kg.models.WGANGP, kg.models.ConditionalGAN):
        gan = cls(latent_dim=16, width=8)
        assert gan.precision == resolved and gan.get_config()["precision"] == resolved
