"""keras.callbacks.TensorBoard works from a plain install and logs the GAN's losses."""

import glob
import os

import numpy as np

import keras_gans as kg


def scalars(folder):
    """``{tag: [(step, value), ...]}`` of every scalar in the event files under ``folder``."""
    import tensorflow as tf

    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.HasField("tensor"):
                    number = float(tf.make_ndarray(value.tensor))
                elif value.HasField("simple_value"):
                    number = float(value.simple_value)
                else:
                    continue
                found.setdefault(value.tag, []).append((int(event.step), number))
    return found


def test_tensorboard_callback_writes_d_loss_and_g_loss(tmp_path, fmnist_train):
    import keras

    import tensorboard  # noqa: F401  (a dependency: keras.callbacks.TensorBoard needs it)

    images = fmnist_train[0][:64]
    gan = kg.models.DCGAN(latent_dim=8, width=8, seed=0)
    gan.compile()
    log_dir = str(tmp_path / "tb")
    history = gan.fit(
        kg.data.load(images, batch_size=16, seed=0), epochs=2,
        callbacks=[keras.callbacks.TensorBoard(log_dir)], verbose=0,
    )
    logged = scalars(os.path.join(log_dir, "train"))
    for name in ("d_loss", "g_loss"):
        steps, values = zip(*logged[f"epoch_{name}"])
        assert list(steps) == [0, 1]  # one point per epoch
        np.testing.assert_allclose(values, history.history[name], rtol=1e-6)
        assert np.all(np.isfinite(values))


def test_tensorboard_is_a_dependency_of_a_plain_install():
    import configparser

    setup_cfg = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.cfg")
    parser = configparser.ConfigParser()
    parser.read(setup_cfg)
    required = [line.strip() for line in parser["options"]["install_requires"].splitlines()]
    names = {line.split(">")[0].split("=")[0].split("<")[0].strip() for line in required if line and not line.startswith("#")}
    assert "tensorboard" in names, "keras.callbacks.TensorBoard raises TBNotInstalledError without it"
