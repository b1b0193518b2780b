"""kg.saving: atomic writes, checkpoint state, and loading that refuses unsafe or wrong files."""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

import keras_gans as kg
from keras_gans.saving import (
    load_gan_file,
    read_checkpoint_state,
    remove_stale_temps,
    save_model_atomic,
    write_atomic,
    write_json_atomic,
)


def tiny(family="dcgan", **kwargs):
    cls = kg.models.get_family(family)
    gan = cls(latent_dim=16, image_shape=(28, 28, 1), width=8, seed=0, **kwargs)
    gan.compile()
    return gan


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny compiled DCGAN saved with a training position inside."""
    path = str(tmp_path_factory.mktemp("saved") / "model.keras")
    gan = tiny()
    images = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype("float32")
    gan.fit(images, batch_size=16, epochs=1, verbose=0)  # builds and moves both optimizers
    save_model_atomic(gan, path, state={"epoch": 2, "batch": 3, "step": 23, "steps_per_epoch": 10})
    return gan, path


def test_checkpoint_round_trip_keeps_weights_optimizers_seed_state_and_position(saved):
    gan, path = saved
    assert read_checkpoint_state(path) == {"epoch": 2, "batch": 3, "step": 23, "steps_per_epoch": 10}
    loaded = load_gan_file(path, expected_family="dcgan")
    assert type(loaded) is kg.models.DCGAN and loaded.compiled
    for a, b in zip(gan.variables, loaded.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), loaded.seed_generator.state.numpy())
    for name, opt in gan.optimizers().items():
        restored = loaded.optimizers()[name]
        assert int(restored.iterations.numpy()) == 2
        assert len(restored.variables) == len(opt.variables) > 2
        for a, b in zip(opt.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    # A plain gan.save() holds no position.
    plain = os.path.join(os.path.dirname(path), "plain.keras")
    gan.save(plain)
    assert read_checkpoint_state(plain) is None


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "state.json"
    write_json_atomic(target, {"step": 1})

    def half_then_crash(tmp):
        with open(tmp, "w") as f:
            f.write('{"step": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, half_then_crash)
    assert json.loads(target.read_text()) == {"step": 1}
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_failed_model_save_keeps_the_previous_checkpoint(saved, tmp_path):
    gan, path = saved
    target = str(tmp_path / "model.keras")
    save_model_atomic(gan, target, state={"step": 1})
    before = open(target, "rb").read()
    with pytest.raises(TypeError):
        save_model_atomic(gan, target, state={"step": object()})  # not JSON: fails after model.save
    assert open(target, "rb").read() == before
    assert os.listdir(tmp_path) == ["model.keras"]


def test_stale_temps_of_a_killed_writer_are_removed_and_nothing_else(tmp_path):
    for name in (".tmp-abc123model.keras", ".tmp-zzstate.json", "model.keras", "notes.tmp-model.keras"):
        (tmp_path / name).write_text("x")
    removed = remove_stale_temps(tmp_path / "model.keras")
    assert removed == [".tmp-abc123model.keras"]
    assert sorted(os.listdir(tmp_path)) == [".tmp-zzstate.json", "model.keras", "notes.tmp-model.keras"]


def test_a_lambda_layer_is_refused_by_safe_mode_and_its_code_never_runs(tmp_path):
    canary = tmp_path / "ran.txt"

    def side_effect(x):
        # Any code stored in the file could do this (or worse) when loaded unsafely.
        open(canary, "w").close()
        return x

    z = keras.Input((16,))
    x = keras.layers.Dense(7 * 7 * 8)(z)
    x = keras.layers.Lambda(lambda t, f=side_effect: f(t))(x)
    x = keras.layers.Reshape((7, 7, 8))(x)
    x = keras.layers.Conv2DTranspose(1, 4, strides=4, padding="same", activation="tanh")(x)
    generator = keras.Model(z, x)
    gan = kg.models.DCGAN(generator=generator, discriminator=kg.networks.dcgan_discriminator((28, 28, 1), width=8))
    path = tmp_path / "lambda.keras"
    gan.save(path)
    canary.unlink()
    with pytest.raises(ValueError, match="holds Python code .*Lambda.*safe mode does not load it"):
        load_gan_file(path)
    assert not canary.exists()


def test_truncated_garbage_wrong_kind_and_wrong_family_files_each_raise_one_clear_error(saved, tmp_path):
    _, path = saved
    data = open(path, "rb").read()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a .keras archive \\(truncated or another format\\)"):
        load_gan_file(cut)
    text = tmp_path / "text.keras"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a .keras archive"):
        load_gan_file(text)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_gan_file(tmp_path / "missing.keras")
    # A zip that is not a Keras archive.
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(ValueError, match="cannot load .*other.keras"):
        load_gan_file(tmp_path / "other.keras")
    # Damaged weights inside a well-formed zip (e.g. a bad copy).
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "bad.keras", "w") as dst:
        for item in src.infolist():
            payload = src.read(item)
            dst.writestr(item, payload[:100] if item.filename.endswith(".h5") else payload)
    with pytest.raises(ValueError, match="cannot load .*bad.keras"):
        load_gan_file(tmp_path / "bad.keras")
    with pytest.raises(ValueError, match="holds a dcgan model, not wgan_gp: pass a wgan_gp checkpoint"):
        load_gan_file(path, expected_family="wgan_gp")
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    plain.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="holds a Sequential, not a keras-gans GAN"):
        load_gan_file(tmp_path / "plain.keras")


def test_a_config_with_an_unknown_key_names_it_and_the_known_ones(saved):
    gan, _ = saved
    config = gan.get_config()
    config["widht"] = 8
    with pytest.raises(ValueError, match=r"unknown DCGAN config key 'widht' \(did you mean 'width'\?\): known keys are .*latent_dim"):
        kg.models.DCGAN.from_config(config)
