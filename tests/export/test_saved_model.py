"""kg.export.saved_model: TF Serving layout, signatures per family, atomic writes, errors."""

import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.export.saved_model import TRUNCATION_MESSAGE, stateless_latent


def keras_images(generator, *inputs):
    return keras.ops.convert_to_numpy(generator(list(inputs) if len(inputs) > 1 else inputs[0], training=False))


def to_uint8(images):
    return np.round(np.clip(images, -1, 1) * 127.5 + 127.5).astype(np.uint8)


def seeded(seed, truncation=1.0):
    """The ``seed`` and ``truncation`` inputs of a ``sample`` / ``sample_labels`` call."""
    return {"seed": tf.constant(seed, tf.int64), "truncation": tf.constant(truncation, tf.float32)}


def spec(signature):
    """``({input: (dtype, shape)}, {output: (dtype, shape)})`` of a concrete signature."""
    inputs = {k: (v.dtype.name, tuple(v.shape)) for k, v in signature.structured_input_signature[1].items()}
    outputs = {k: (v.dtype.name, tuple(v.shape)) for k, v in signature.structured_outputs.items()}
    return inputs, outputs


# ---------------------------------------------------------------- layout and signatures
def test_layout_and_next_free_version(tiny_gans, tmp_path):
    gan = tiny_gans["dcgan"]
    first = kg.export.saved_model(gan, tmp_path)
    named = kg.export.saved_model(gan, tmp_path, name="faces", version=7)
    assert first == str(tmp_path / "dcgan" / "1")
    assert named == str(tmp_path / "faces" / "7")
    assert kg.export.saved_model(gan, tmp_path, name="faces") == str(tmp_path / "faces" / "8")
    for path in (first, named):
        assert os.path.isfile(os.path.join(path, "saved_model.pb"))
        assert os.path.isdir(os.path.join(path, "variables"))
    # No temporary folder is left beside the versions.
    assert sorted(os.listdir(tmp_path / "faces")) == ["7", "8"]


def test_dcgan_signatures(tiny_gans, exported):
    gan, loaded = tiny_gans["dcgan"], tf.saved_model.load(exported["dcgan"])
    assert set(loaded.signatures) == {"serving_default", "sample"}
    inputs, outputs = spec(loaded.signatures["serving_default"])
    assert inputs == {"z": ("float32", (None, 16))}
    assert outputs == {"images": ("float32", (None, 28, 28, 1)), "images_uint8": ("uint8", (None, 28, 28, 1))}
    assert spec(loaded.signatures["sample"])[0] == {
        "batch_size": ("int32", ()), "seed": ("int64", ()), "truncation": ("float32", ())}
    for batch in (1, 5):  # dynamic batch
        z = np.random.default_rng(batch).standard_normal((batch, 16)).astype("float32")
        out = loaded.signatures["serving_default"](z=tf.constant(z))
        expected = keras_images(gan.generator, z)
        np.testing.assert_allclose(out["images"].numpy(), expected, atol=1e-5)
        assert np.abs(out["images_uint8"].numpy().astype(int) - to_uint8(expected).astype(int)).max() <= 1


def test_sample_signature_draws_the_documented_latents(tiny_gans, exported):
    gan, loaded = tiny_gans["dcgan"], tf.saved_model.load(exported["dcgan"])
    sample = loaded.signatures["sample"]
    out = sample(batch_size=tf.constant(3), **seeded(42))
    expected = keras_images(gan.generator, stateless_latent(3, 42, 16))
    np.testing.assert_allclose(out["images"].numpy(), expected, atol=1e-5)
    again = sample(batch_size=tf.constant(3), **seeded(42))["images"].numpy()
    other = sample(batch_size=tf.constant(3), **seeded(43))["images"].numpy()
    np.testing.assert_array_equal(out["images"].numpy(), again)
    assert np.abs(other - again).max() > 1e-4
    with pytest.raises(tf.errors.InvalidArgumentError, match="batch_size must be >= 1"):
        sample(batch_size=tf.constant(0), **seeded(0))


# ---------------------------------------------------------------- truncation
def perturbed_ema_dcgan():
    """A DCGAN with ``ema_decay`` whose EMA generator differs from its generator."""
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=2, ema_decay=0.9)
    rng = np.random.default_rng(0)
    for weight in gan.ema_generator.weights:
        if "kernel" in weight.path:  # not batch-norm statistics (a variance must stay positive)
            weight.assign(weight.numpy() + rng.normal(0, 0.2, weight.shape).astype(weight.dtype))
    return gan


@pytest.mark.parametrize("truncation", [1.0, 0.5])
def test_sample_with_truncation_is_generate(tiny_gans, exported, truncation):
    """sample(batch_size, seed, truncation=psi) gives gan.generate(n, seed=seed, truncation=psi)."""
    loaded = tf.saved_model.load(exported["dcgan"])
    out = loaded.signatures["sample"](batch_size=tf.constant(5), **seeded(7, truncation))
    expected = tiny_gans["dcgan"].generate(5, seed=7, truncation=truncation)
    np.testing.assert_allclose(out["images"].numpy(), expected, atol=1e-5)
    assert np.abs(out["images_uint8"].numpy().astype(int) - to_uint8(expected).astype(int)).max() <= 1
    # The latents the signature draws: psi * z, as stateless_latent(truncation=psi) computes them.
    np.testing.assert_allclose(
        out["images"].numpy(),
        keras_images(tiny_gans["dcgan"].generator, stateless_latent(5, 7, 16, truncation=truncation)),
        atol=1e-5,
    )


def test_truncation_changes_the_images_and_one_is_none(exported):
    sample = tf.saved_model.load(exported["dcgan"]).signatures["sample"]
    full = sample(batch_size=tf.constant(4), **seeded(3, 1.0))["images"].numpy()
    half = sample(batch_size=tf.constant(4), **seeded(3, 0.5))["images"].numpy()
    assert np.abs(full - half).max() > 1e-3  # the truncation input is wired to the latents
    np.testing.assert_array_equal(stateless_latent(4, 3, 16, truncation=1.0), stateless_latent(4, 3, 16))


@pytest.mark.parametrize("truncation", [1.0, 0.5])
def test_cgan_sample_and_sample_labels_with_truncation_are_generate(tiny_gans, exported, truncation):
    gan, loaded = tiny_gans["cgan"], tf.saved_model.load(exported["cgan"])
    cycled = loaded.signatures["sample"](batch_size=tf.constant(12), **seeded(5, truncation))
    np.testing.assert_allclose(cycled["images"].numpy(), gan.generate(12, seed=5, truncation=truncation), atol=1e-5)
    labels = np.array([7, 7, 2], "int32")
    chosen = loaded.signatures["sample_labels"](labels=tf.constant(labels), **seeded(5, truncation))
    np.testing.assert_allclose(
        chosen["images"].numpy(), gan.generate(3, labels=labels, seed=5, truncation=truncation), atol=1e-5
    )


def test_truncation_samples_with_the_ema_generator(tmp_path):
    gan = perturbed_ema_dcgan()
    assert np.isfinite(gan.generate(3, seed=1)).all()
    assert np.abs(gan.generate(3, seed=1) - gan.generate(3, seed=1, use_ema=False)).max() > 1e-3
    sample = tf.saved_model.load(kg.export.saved_model(gan, tmp_path)).signatures["sample"]
    for truncation in (1.0, 0.5):
        out = sample(batch_size=tf.constant(3), **seeded(1, truncation))["images"].numpy()
        np.testing.assert_allclose(out, gan.generate(3, seed=1, truncation=truncation), atol=1e-5)


@pytest.mark.parametrize("truncation", [0.0, 1.5, -0.5, float("nan")])
def test_truncation_outside_zero_one_is_refused_in_the_graph(exported, truncation):
    loaded = tf.saved_model.load(exported["cgan"])
    message = re.escape(TRUNCATION_MESSAGE)
    assert "(0, 1]" in TRUNCATION_MESSAGE  # the message names the valid range
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["sample"](batch_size=tf.constant(2), **seeded(0, truncation))
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["sample_labels"](labels=tf.constant([1, 2], tf.int32), **seeded(0, truncation))


def test_stateless_latent_checks_truncation():
    with pytest.raises(ValueError, match=r"truncation must be None or a number psi in \(0, 1\]"):
        stateless_latent(2, 0, 4, truncation=1.5)


def test_cgan_signatures_and_label_checks(tiny_gans, exported):
    gan, loaded = tiny_gans["cgan"], tf.saved_model.load(exported["cgan"])
    assert set(loaded.signatures) == {"serving_default", "sample", "sample_labels"}
    inputs, outputs = spec(loaded.signatures["serving_default"])
    assert inputs == {"z": ("float32", (None, 16)), "labels": ("int32", (None,))}
    assert outputs["images"] == ("float32", (None, 28, 28, 1))
    z = np.repeat(np.random.default_rng(0).standard_normal((1, 16)).astype("float32"), 4, axis=0)
    labels = np.array([0, 3, 9, 3], "int32")
    out = loaded.signatures["serving_default"](z=tf.constant(z), labels=tf.constant(labels))
    np.testing.assert_allclose(out["images"].numpy(), keras_images(gan.generator, z, labels), atol=1e-5)
    # The label changes the image: the labels input is wired to the generator.
    assert np.abs(out["images"].numpy()[1] - out["images"].numpy()[3]).max() < 1e-6
    assert np.abs(out["images"].numpy()[0] - out["images"].numpy()[1]).max() > 0
    cycled = loaded.signatures["sample"](batch_size=tf.constant(12), **seeded(5))
    expected = keras_images(gan.generator, stateless_latent(12, 5, 16), np.arange(12, dtype="int32") % 10)
    np.testing.assert_allclose(cycled["images"].numpy(), expected, atol=1e-5)
    assert spec(loaded.signatures["sample_labels"])[0] == {
        "labels": ("int32", (None,)), "seed": ("int64", ()), "truncation": ("float32", ())}
    chosen = loaded.signatures["sample_labels"](labels=tf.constant([7, 7], tf.int32), **seeded(5))
    expected = keras_images(gan.generator, stateless_latent(2, 5, 16), np.array([7, 7], "int32"))
    np.testing.assert_allclose(chosen["images"].numpy(), expected, atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes = 10"):
        loaded.signatures["serving_default"](z=tf.constant(z[:1]), labels=tf.constant([10], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be >= 0"):
        loaded.signatures["sample_labels"](labels=tf.constant([-1], tf.int32), **seeded(0))


def test_wgan_gp_signature(tiny_gans, exported):
    loaded = tf.saved_model.load(exported["wgan_gp"])
    assert os.path.basename(os.path.dirname(exported["wgan_gp"])) == "wgan_gp"
    assert spec(loaded.signatures["serving_default"])[0] == {"z": ("float32", (None, 16))}
    z = np.random.default_rng(3).standard_normal((2, 16)).astype("float32")
    out = loaded.signatures["serving_default"](z=tf.constant(z))
    np.testing.assert_allclose(out["images"].numpy(), keras_images(tiny_gans["wgan_gp"].generator, z), atol=1e-5)


def test_cyclegan_signature_translates_images(tiny_gans, exported):
    gan, loaded = tiny_gans["cyclegan"], tf.saved_model.load(exported["cyclegan"])
    # A translator has nothing to sample: serving_default only.
    assert set(loaded.signatures) == {"serving_default"}
    inputs, outputs = spec(loaded.signatures["serving_default"])
    assert inputs == {"images": ("float32", (None, 16, 16, 3))}
    assert outputs["images_uint8"] == ("uint8", (None, 16, 16, 3))
    images = np.random.default_rng(0).uniform(-1, 1, (3, 16, 16, 3)).astype("float32")
    out = loaded.signatures["serving_default"](images=tf.constant(images))
    np.testing.assert_allclose(out["images"].numpy(), keras_images(gan.generator, images), atol=1e-5)


def test_sources_generator_keras_file_and_zoo_name(tiny_gans, zoo_generator, tmp_path):
    gan = tiny_gans["dcgan"]
    gan.save(tmp_path / "dcgan.keras")
    from_file = kg.export.saved_model(str(tmp_path / "dcgan.keras"), tmp_path / "serving")
    from_generator = kg.export.saved_model(gan.generator, tmp_path / "serving", name="bare")
    from_zoo = kg.export.saved_model("dcgan.fashion_mnist", tmp_path / "serving")
    assert from_zoo == str(tmp_path / "serving" / "dcgan.fashion_mnist" / "1")
    z = np.random.default_rng(1).standard_normal((2, 16)).astype("float32")
    expected = keras_images(gan.generator, z)
    for path in (from_file, from_generator):
        out = tf.saved_model.load(path).signatures["serving_default"](z=tf.constant(z))
        np.testing.assert_allclose(out["images"].numpy(), expected, atol=1e-5)
    z = np.random.default_rng(1).standard_normal((2, zoo_generator.inputs[0].shape[-1])).astype("float32")
    out = tf.saved_model.load(from_zoo).signatures["serving_default"](z=tf.constant(z))
    np.testing.assert_allclose(out["images"].numpy(), keras_images(zoo_generator, z), atol=1e-5)


def test_mixed_bfloat16_exports_float32_signatures(tmp_path):
    gan = kg.models.DCGAN(latent_dim=16, width=8, precision="mixed_bfloat16")
    assert any(layer.compute_dtype == "bfloat16" for layer in gan.generator.layers)
    policy = keras.config.dtype_policy().name
    path = kg.export.saved_model(gan, tmp_path)
    assert keras.config.dtype_policy().name == policy  # no global change
    loaded = tf.saved_model.load(path)
    for name in ("serving_default", "sample"):
        inputs, outputs = spec(loaded.signatures[name])
        assert outputs == {"images": ("float32", (None, 28, 28, 1)), "images_uint8": ("uint8", (None, 28, 28, 1))}
    assert spec(loaded.signatures["serving_default"])[0] == {"z": ("float32", (None, 16))}
    report = kg.export.verify(path, gan)
    assert report["passed"], report


# ---------------------------------------------------------------- saved_model_cli
def test_saved_model_cli_show_and_run(tiny_gans, exported, tmp_path):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    shown = subprocess.run(
        [cli, "show", "--dir", exported["cgan"], "--all"], capture_output=True, text=True, env=env, check=True
    ).stdout
    default = shown.split("signature_def['serving_default']")[1].split("signature_def[")[0]
    assert re.search(r"inputs\['labels'\] tensor_info:\s+dtype: DT_INT32\s+shape: \(-1\)", default)
    assert re.search(r"inputs\['z'\] tensor_info:\s+dtype: DT_FLOAT\s+shape: \(-1, 16\)", default)
    assert re.search(r"outputs\['images_uint8'\] tensor_info:\s+dtype: DT_UINT8\s+shape: \(-1, 28, 28, 1\)", default)
    sample = shown.split("signature_def['sample']")[1].split("signature_def[")[0]
    assert re.search(r"inputs\['batch_size'\] tensor_info:\s+dtype: DT_INT32\s+shape: \(\)", sample)
    assert re.search(r"inputs\['seed'\] tensor_info:\s+dtype: DT_INT64\s+shape: \(\)", sample)
    assert re.search(r"inputs\['truncation'\] tensor_info:\s+dtype: DT_FLOAT\s+shape: \(\)", sample)
    assert re.search(r"outputs\['images_uint8'\] tensor_info:\s+dtype: DT_UINT8\s+shape: \(-1, 28, 28, 1\)", sample)
    by_labels = shown.split("signature_def['sample_labels']")[1].split("signature_def[")[0]
    assert re.search(r"inputs\['labels'\] tensor_info:\s+dtype: DT_INT32\s+shape: \(-1\)", by_labels)
    assert re.search(r"inputs\['seed'\] tensor_info:\s+dtype: DT_INT64\s+shape: \(\)", by_labels)
    assert re.search(r"inputs\['truncation'\] tensor_info:\s+dtype: DT_FLOAT\s+shape: \(\)", by_labels)

    np.save(tmp_path / "batch_size.npy", np.int32(3))
    np.save(tmp_path / "seed.npy", np.int64(9))
    np.save(tmp_path / "truncation.npy", np.float32(0.5))
    feed = ";".join(f"{k}={tmp_path / (k + '.npy')}" for k in ("batch_size", "seed", "truncation"))
    subprocess.run(
        [cli, "run", "--dir", exported["cgan"], "--tag_set", "serve", "--signature_def", "sample",
         "--inputs", feed, "--outdir", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, check=True,
    )
    images = np.load(tmp_path / "out" / "images.npy")
    images_uint8 = np.load(tmp_path / "out" / "images_uint8.npy")
    expected = keras_images(
        tiny_gans["cgan"].generator, stateless_latent(3, 9, 16, truncation=0.5), np.arange(3, dtype="int32")
    )
    np.testing.assert_allclose(images, expected, atol=1e-5)
    np.testing.assert_allclose(images, tiny_gans["cgan"].generate(3, seed=9, truncation=0.5), atol=1e-5)
    assert images_uint8.dtype == np.uint8 and np.abs(images_uint8.astype(int) - to_uint8(expected)).max() <= 1


# ---------------------------------------------------------------- bad input
def _tree(path):
    return sorted(os.path.relpath(os.path.join(root, f), path) for root, dirs, files in os.walk(path) for f in dirs + files)


def test_existing_version_is_refused_untouched(tiny_gans, tmp_path):
    gan = tiny_gans["dcgan"]
    target = kg.export.saved_model(gan, tmp_path, version=3)
    before = _tree(tmp_path)
    stamp = os.path.getmtime(os.path.join(target, "saved_model.pb"))
    with pytest.raises(FileExistsError, match=r"dcgan/3 already exists: pass another version .*\(4\)"):
        kg.export.saved_model(gan, tmp_path, version=3)
    assert _tree(tmp_path) == before
    assert os.path.getmtime(os.path.join(target, "saved_model.pb")) == stamp


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"name": "../up"}, ValueError, "invalid model name"),
        ({"name": "a b"}, ValueError, "invalid model name"),
        ({"version": 0}, ValueError, "version must be a positive int"),
        ({"version": "v1"}, ValueError, "version must be a positive int"),
    ],
)
def test_bad_name_or_version(tiny_gans, tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        kg.export.saved_model(tiny_gans["dcgan"], tmp_path, **kwargs)
    assert os.listdir(tmp_path) == []


def test_models_without_weights_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dcgan.cifar10 has no pretrained weights"):
        kg.export.saved_model("dcgan.cifar10", tmp_path)
    with pytest.raises(ValueError, match="unknown zoo entry 'dcgan.nope'"):
        kg.export.saved_model("dcgan.nope", tmp_path)
    with pytest.raises(FileNotFoundError):
        kg.export.saved_model(str(tmp_path / "missing.keras"), tmp_path)
    with pytest.raises(ValueError, match="holds weights only"):
        kg.export.saved_model(str(tmp_path / "g.weights.h5"), tmp_path)

    class Unbuilt(keras.Model):
        def call(self, z):
            return z

    with pytest.raises(ValueError, match="not a built functional model"):
        kg.export.saved_model(Unbuilt(), tmp_path)
    assert os.listdir(tmp_path) == []


def unwritable_folder(tmp_path):
    """A folder this process cannot create entries in (root ignores modes: use /sys)."""
    if os.geteuid() == 0:
        return "/sys"
    base = tmp_path / "ro"
    base.mkdir()
    base.chmod(0o555)
    return str(base)


def test_unwritable_base_leaves_nothing(tiny_gans, tmp_path):
    base = unwritable_folder(tmp_path)
    before = os.listdir(base)
    with pytest.raises(PermissionError, match="(not writable|not permitted|denied).*pick a writable"):
        kg.export.saved_model(tiny_gans["dcgan"], os.path.join(base, "keras_gans_serving"))
    assert os.listdir(base) == before


class FailsWhenArmed(keras.layers.Layer):
    """Identity until ``armed``; then tracing it raises (an export that breaks midway)."""

    armed = False

    def call(self, x):
        if self.armed:
            raise RuntimeError("broken layer")
        return x


def test_failure_midway_leaves_no_partial_version(tmp_path):
    z = keras.Input((4,), name="z")
    layer = FailsWhenArmed()
    x = keras.layers.Dense(4 * 4, activation="tanh")(layer(z))
    generator = keras.Model(z, keras.layers.Reshape((4, 4, 1))(x), name="gen")
    kg.export.saved_model(generator, tmp_path, name="gen")  # version 1 works
    layer.armed = True
    with pytest.raises(RuntimeError, match="broken layer"):
        kg.export.saved_model(generator, tmp_path / "deeper" / "base", name="gen")
    with pytest.raises(RuntimeError, match="broken layer"):
        kg.export.saved_model(generator, tmp_path, name="gen")
    # Neither the temporary folder nor the folders made for the export remain.
    assert sorted(os.listdir(tmp_path)) == ["gen"]
    assert os.listdir(tmp_path / "gen") == ["1"]
