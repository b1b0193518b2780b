"""Reliability callbacks for model.fit users: GANBackupAndRestore (kill -9 and resume), StopOnNaN."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

import keras_gans as kg
from keras_gans.callbacks import DivergenceError, GANBackupAndRestore, StopOnNaN
from tests.test_trainer import REPO, PoisonAt

# A user's script: plain model.fit with the documented backup callback.
SCRIPT = textwrap.dedent(
    """
    import sys

    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    import keras_gans as kg

    backup_dir, out = sys.argv[1], sys.argv[2]
    images = kg.data.load_numpy("fashion_mnist", split="test")[0][:512]
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=0)
    gan.compile()
    backup = kg.callbacks.GANBackupAndRestore(backup_dir, save_freq=2)
    ds, _ = kg.trainer.batch_stream(images, 16, seed=0, start_step=backup.initial_epoch * 8)
    gan.fit(ds, epochs=3, steps_per_epoch=8, callbacks=[backup], verbose=0, shuffle=False)
    values = {v.path: v.numpy() for v in gan.variables}
    for name, opt in gan.optimizers().items():
        values.update({name + "/" + v.path: v.numpy() for v in opt.variables})
    values["seed_state"] = gan.seed_generator.state.numpy()
    np.savez(out, **{k.replace("/", "|"): v for k, v in values.items()})
    """
)


def test_fit_with_the_backup_callback_survives_kill_9_and_ends_with_the_uninterrupted_weights(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}

    def command(name):
        return [sys.executable, str(script), str(tmp_path / f"backup_{name}"), str(tmp_path / f"{name}.npz")]

    reference = subprocess.Popen(command("reference"), cwd=REPO, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    victim = subprocess.Popen(command("run"), cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backup_dir = tmp_path / "backup_run"
    deadline = time.monotonic() + 240
    while True:
        assert victim.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline, "no backup write was seen"
        try:
            step = json.loads((backup_dir / "state.json").read_text())["step"]
            writing = [e for e in os.listdir(backup_dir) if e.startswith(".tmp-")]
        except (OSError, ValueError, KeyError):
            step, writing = 0, []
        if step >= 4 and writing:
            victim.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    assert victim.wait() == -signal.SIGKILL

    state = GANBackupAndRestore(str(backup_dir)).read_state()  # a complete, consistent backup
    assert 4 <= state["step"] < 24 and state["epoch"] * 8 + state["batch"] == state["step"]
    assert sorted(e for e in os.listdir(backup_dir) if not e.startswith(".tmp-")) == [state["weights"], "state.json"]

    resumed = subprocess.run(command("run"), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert reference.wait(timeout=300) == 0, reference.stderr.read()[-2000:]
    assert not backup_dir.exists()  # a completed fit deletes its backup
    with np.load(tmp_path / "reference.npz") as f:
        expected = dict(f)
    with np.load(tmp_path / "run.npz") as f:
        got = dict(f)
    assert sorted(got) == sorted(expected)
    assert any(k.startswith("g_optimizer|") for k in got) and any(k.startswith("d_optimizer|") for k in got)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


@pytest.fixture
def gan():
    gan = kg.models.DCGAN(latent_dim=16, image_shape=(28, 28, 1), width=8, seed=0)
    gan.compile()
    return gan


@pytest.fixture(scope="module")
def stream(fmnist_train):
    return kg.trainer.batch_stream(fmnist_train[0][:256], 16, seed=0)[0]


def test_stop_on_nan_names_the_epoch_batch_and_loss_in_plain_fit(gan, stream):
    poison = PoisonAt(3, lambda m: m.generator.trainable_variables[:1])
    with pytest.raises(DivergenceError, match="training diverged at epoch 2, batch 2: d_loss is nan"):
        gan.fit(stream, epochs=3, steps_per_epoch=2, callbacks=[poison, StopOnNaN()], verbose=0, shuffle=False)
    assert int(gan.g_optimizer.iterations.numpy()) == 4  # it stopped at the first bad step


def test_stop_on_nan_stops_on_an_infinite_loss_too(stream):
    """An inf loss (here a constant added to the critic loss, so the weights
    stay finite) stops training at its step, named as inf."""
    import tensorflow as tf

    offset = tf.Variable(0.0, trainable=False)

    def d_loss(real, fake):
        return kg.losses.minimax_discriminator_loss(real, fake) + offset

    class InfAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.d_optimizer.iterations.numpy()) == 3:
                offset.assign(float("inf"))

    gan = kg.models.DCGAN(latent_dim=16, image_shape=(28, 28, 1), width=8, seed=0)
    gan.compile(loss=(d_loss, kg.losses.modified_generator_loss))
    with pytest.raises(DivergenceError, match="training diverged at epoch 2, batch 2: d_loss is inf"):
        gan.fit(stream, epochs=3, steps_per_epoch=2, callbacks=[InfAt(), StopOnNaN()], verbose=0, shuffle=False)
    assert int(gan.d_optimizer.iterations.numpy()) == 4
    assert all(np.isfinite(v.numpy()).all() for v in gan.trainable_variables)


def test_the_backup_refuses_nan_and_the_last_good_backup_restores(gan, stream, tmp_path):
    backup_dir = tmp_path / "backup"
    poison = PoisonAt(5, lambda m: m.generator.trainable_variables[:1])
    backup = GANBackupAndRestore(str(backup_dir), save_freq=2)
    with pytest.raises(DivergenceError, match="refusing to save a checkpoint at epoch 2, step 6: d_loss is nan"):
        gan.fit(stream, epochs=3, steps_per_epoch=4, callbacks=[poison, backup], verbose=0, shuffle=False)
    assert backup.read_state()["step"] == 4
    # A fresh model restored from that backup holds finite weights and step 4's optimizer state.
    fresh = kg.models.DCGAN(latent_dim=16, image_shape=(28, 28, 1), width=8, seed=0)
    fresh.compile()
    restore = GANBackupAndRestore(str(backup_dir), save_freq=2)
    assert restore.initial_epoch == 1
    fresh.fit(stream, epochs=2, steps_per_epoch=4, callbacks=[restore], verbose=0, shuffle=False)
    assert int(fresh.g_optimizer.iterations.numpy()) == 8 and int(fresh.d_optimizer.iterations.numpy()) == 8
    assert all(np.isfinite(v.numpy()).all() for v in fresh.variables if "float" in v.dtype)


def test_a_backup_taken_mid_epoch_refuses_another_epoch_length_and_a_damaged_record(gan, stream, tmp_path):
    backup_dir = tmp_path / "backup"
    poison = PoisonAt(3, lambda m: m.generator.trainable_variables[:1])
    with pytest.raises(DivergenceError):
        gan.fit(stream, epochs=1, steps_per_epoch=4,
                callbacks=[poison, GANBackupAndRestore(str(backup_dir), save_freq=2)], verbose=0, shuffle=False)
    fresh = kg.models.DCGAN(latent_dim=16, image_shape=(28, 28, 1), width=8, seed=0)
    fresh.compile()
    with pytest.raises(ValueError, match="taken 2 steps into an epoch of 4 steps, but this fit has epochs of 5 steps"):
        fresh.fit(stream, epochs=1, steps_per_epoch=5, callbacks=[GANBackupAndRestore(str(backup_dir))], verbose=0, shuffle=False)
    (backup_dir / "state.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not a backup record .*delete .* to start over"):
        GANBackupAndRestore(str(backup_dir)).initial_epoch
    with pytest.raises(ValueError, match="save_freq must be 'epoch' or a positive int"):
        GANBackupAndRestore(str(backup_dir), save_freq=0)


# ------------------------------------------------------------------ SampleGrid
class KeepWeights(keras.callbacks.Callback):
    """Record the generator's weights at each epoch end (runs after SampleGrid)."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([w.copy() for w in self.model.generator.get_weights()])


def png_pixels(path):
    """A grid PNG as uint8 gray values (SampleGrid writes gray images as RGBA)."""
    from matplotlib import image as mpimg

    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    np.testing.assert_array_equal(pixels[..., 0], pixels[..., 1])  # gray
    return np.round(pixels[..., 0] * 255).astype("uint8")


def test_sample_grid_saves_one_png_per_epoch_from_fixed_latents(gan, stream, tmp_path):
    grid = kg.callbacks.SampleGrid(tmp_path / "samples", every=1, n=10, seed=3)
    kept = KeepWeights()
    gan.fit(stream, epochs=2, steps_per_epoch=3, callbacks=[grid, kept], verbose=0, shuffle=False)
    paths = [str(tmp_path / "samples" / f"epoch_00{e}.png") for e in (1, 2)]
    assert grid.paths == paths and sorted(os.listdir(tmp_path / "samples")) == ["epoch_001.png", "epoch_002.png"]
    first, second = png_pixels(paths[0]), png_pixels(paths[1])
    # 10 images of 28x28 in ceil(sqrt(10)) = 4 columns and 3 rows.
    assert first.shape == second.shape == (3 * 28, 4 * 28)
    assert not np.array_equal(first, second)  # the weights moved between the epochs
    # Each grid is what the same latents (the callback's seed) give with that
    # epoch's weights: re-rendering with them reproduces the file exactly.
    for epoch, (weights, pixels) in enumerate(zip(kept.weights, (first, second)), 1):
        gan.generator.set_weights(weights)
        images = gan.preview(10, seed=3)
        np.testing.assert_array_equal(images, gan.generate(10, seed=3))
        again = kg.callbacks.save_grid(images, str(tmp_path / f"again_{epoch}.png"))
        np.testing.assert_array_equal(png_pixels(again), pixels)
        # (matplotlib's gray colormap may round a level by one)
        assert np.abs(kg.callbacks.image_grid(images).astype(int) - pixels).max() <= 1
    # The slots past the 10th image stay black.
    assert (second[2 * 28 :, 2 * 28 :] == 0).all()


def test_sample_grid_on_a_cyclegan_without_inputs_fails_before_training(tmp_path):
    cyclegan = kg.models.CycleGAN(image_shape=(28, 28, 1), width=8, n_blocks=1, discriminator_layers=1)
    cyclegan.compile()
    a = np.zeros((4, 28, 28, 1), "float32")
    data = kg.trainer.batch_stream((a, a), 2, independent=True)[0]
    with pytest.raises(ValueError, match=r"SampleGrid on a CycleGAN needs the images to translate: pass inputs="):
        cyclegan.fit(data, epochs=1, steps_per_epoch=1, verbose=0,
                     callbacks=[kg.callbacks.SampleGrid(tmp_path / "samples")])
    assert int(cyclegan.g_optimizer.iterations.numpy()) == 0  # nothing trained
    assert not (tmp_path / "samples").exists()
    with pytest.raises(ValueError, match=r"SampleGrid inputs must have shape \[n >= 1, 28, 28, 1\]"):
        cyclegan.fit(data, epochs=1, steps_per_epoch=1, verbose=0,
                     callbacks=[kg.callbacks.SampleGrid(tmp_path / "samples", inputs=np.zeros((2, 8, 8, 1)))])


def test_sample_grid_numbers_by_the_models_own_epoch_so_a_second_fit_adds_files(gan, stream, tmp_path):
    samples = tmp_path / "samples"
    gan.fit(stream, epochs=2, steps_per_epoch=3, callbacks=[kg.callbacks.SampleGrid(samples, n=4)],
            verbose=0, shuffle=False)
    first = {name: (samples / name).read_bytes() for name in os.listdir(samples)}
    assert sorted(first) == ["epoch_001.png", "epoch_002.png"]
    # A second fit of the same model (a new callback, epochs counted from 0 by Keras).
    grid = kg.callbacks.SampleGrid(samples, n=4)
    gan.fit(stream, epochs=1, steps_per_epoch=3, callbacks=[grid], verbose=0, shuffle=False)
    assert grid.paths == [str(samples / "epoch_003.png")]
    # A model restored from a file knows its progress from its optimizers' iterations (9 = 3 epochs of 3).
    path = tmp_path / "gan.keras"
    gan.save(path)
    restored = keras.saving.load_model(path)
    assert kg.callbacks.model_iterations(restored) == 9
    restored.fit(stream, epochs=1, steps_per_epoch=3, callbacks=[kg.callbacks.SampleGrid(samples, n=4)],
                 verbose=0, shuffle=False)
    assert sorted(os.listdir(samples)) == [f"epoch_00{e}.png" for e in (1, 2, 3, 4)]
    # Nothing earlier was overwritten; fit(initial_epoch=k) numbers from k + 1 as before.
    assert {name: (samples / name).read_bytes() for name in first} == first
    fresh = kg.models.DCGAN(latent_dim=16, image_shape=(28, 28, 1), width=8, seed=0)
    fresh.compile()
    grid = kg.callbacks.SampleGrid(tmp_path / "other", n=4)
    fresh.fit(stream, epochs=6, initial_epoch=5, steps_per_epoch=3, callbacks=[grid], verbose=0, shuffle=False)
    assert grid.paths == [str(tmp_path / "other" / "epoch_006.png")]
