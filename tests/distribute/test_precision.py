"""Mixed precision: one training step of every family under each policy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from tests.conftest import scaled

FAMILIES = {
    "dcgan": lambda p: kg.models.DCGAN(latent_dim=16, width=8, precision=p, seed=0),
    "cgan": lambda p: kg.models.ConditionalGAN(latent_dim=16, width=8, embedding_dim=4, precision=p, seed=0),
    "wgan_gp": lambda p: kg.models.WGANGP(latent_dim=16, width=8, critic_steps=2, precision=p, seed=0),
    "cyclegan": lambda p: kg.models.CycleGAN(
        image_shape=(28, 28, 1), width=4, n_blocks=1, discriminator_layers=2, pool_size=4,
        precision=p, seed=0,
    ),
}


def _batch(family, fmnist_test):
    images, labels = fmnist_test
    if family == "cyclegan":
        return scaled(images[labels == 7][:8]), scaled(images[labels == 9][:8])
    if family == "cgan":
        return scaled(images[:8]), labels[:8].astype("int32")
    return scaled(images[:8])


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_one_step_under_mixed_precision(family, precision, fmnist_test):
    policy = keras.config.dtype_policy().name
    gan = FAMILIES[family](precision)
    gan.compile()
    # Loss scaling on every optimizer where float16 needs it, and only there.
    for name, opt in gan.optimizers().items():
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16"), name
    hidden = [layer for layer in gan.generator.layers if layer.weights]
    assert hidden and all(layer.dtype_policy.name == precision for layer in hidden[:-1])
    before = [np.array(v.numpy()) for v in gan.trainable_variables]
    data = _batch(family, fmnist_test)
    # A few steps: under mixed_float16 the first ones may overflow at the
    # initial loss scale (2**15) and are skipped while the scale halves.
    ds = tf.data.Dataset.from_tensor_slices(data).batch(8).repeat()
    history = gan.fit(ds, epochs=1, steps_per_epoch=4, verbose=0)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert logs and all(np.isfinite(v) for v in logs.values()), logs
    # Weights stay float32 variables (computation is in half precision) and moved.
    assert all(v.dtype == "float32" for v in gan.trainable_variables)
    moved = [not np.array_equal(b, v.numpy()) for b, v in zip(before, gan.trainable_variables)]
    assert np.mean(moved) > 0.9
    out = gan.generator(_generator_inputs(gan, data), training=False)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))
    # Nothing global changed.
    assert keras.config.dtype_policy().name == policy


def _generator_inputs(gan, data):
    if gan.family == "cyclegan":
        return data[0][:2]
    z = gan.sample_latent(2, seed=0)
    return [z, np.array([1, 2], "int32")] if gan.family == "cgan" else z


# ---------------------------------------------------------------- precision="auto"
@pytest.mark.parametrize("flags, gpus, expected", [
    ("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni", [], "mixed_bfloat16"),  # AVX512-BF16 (Zen 4, Cooper Lake)
    ("fpu sse2 avx512f amx_tile amx_bf16 amx_int8", [], "mixed_bfloat16"),  # AMX (Sapphire Rapids)
    ("fpu sse2 avx2 avx512f avx512_vnni", [], "float32"),  # AVX-512 without bfloat16
    ("fpu sse2 xavx512_bf16 amx_bf16x", [], "float32"),  # whole flags only
    ("", [], "float32"),  # nothing known (no /proc/cpuinfo)
    ("fpu sse2 avx2", [(8, 0)], "mixed_bfloat16"),  # an Ampere-or-later GPU trains
    ("fpu avx512_bf16", [(7, 0)], "float32"),  # a V100 emulates bfloat16
])
def test_auto_precision_reads_the_hardware_flags(flags, gpus, expected):
    assert kg.models.gan.auto_precision(flags, gpu_capabilities=gpus) == expected
    assert kg.models.gan.check_precision("auto", flags, gpus) == expected


def test_check_precision_passes_explicit_policies_and_refuses_others():
    for name in ("float32", "mixed_bfloat16", "mixed_float16"):
        assert kg.models.gan.check_precision(name, "avx512_bf16", []) == name
    with pytest.raises(ValueError, match="precision must be 'auto' or one of"):
        kg.models.gan.check_precision("bfloat16")


def test_cpu_flags_reads_the_flags_line_of_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx512f avx512_bf16\nbugs\t\t: none\n")
    assert kg.models.gan.cpu_flags(str(info)) == "fpu avx512f avx512_bf16"
    assert kg.models.gan.cpu_flags(str(tmp_path / "missing")) == ""


def test_auto_reads_this_machine_unless_the_environment_names_a_policy(monkeypatch):
    monkeypatch.delenv("KERAS_GANS_PRECISION", raising=False)
    bf16 = set(kg.models.gan.cpu_flags().split()) & {"amx_bf16", "avx512_bf16"}
    detected = "mixed_bfloat16" if bf16 else "float32"  # no GPU under test
    assert kg.models.gan.auto_precision() == detected
    assert kg.models.DCGAN(latent_dim=16, width=8).precision == detected  # the default is "auto"
    for name in ("float32", "mixed_bfloat16"):
        monkeypatch.setenv("KERAS_GANS_PRECISION", name)
        assert kg.models.DCGAN(latent_dim=16, width=8).precision == name
        # Explicit flags are a question about those flags, not about this machine.
        assert kg.models.gan.auto_precision("fpu avx2", gpu_capabilities=[]) == "float32"
    monkeypatch.setenv("KERAS_GANS_PRECISION", "bfloat16")
    with pytest.raises(ValueError, match="KERAS_GANS_PRECISION='bfloat16' is not a precision: set it to one of"):
        kg.models.DCGAN(latent_dim=16, width=8)
    assert kg.models.DCGAN(latent_dim=16, width=8, precision="float32").precision == "float32"


def test_auto_builds_and_records_the_resolved_policy():
    resolved = kg.models.gan.auto_precision()
    gan = kg.models.DCGAN(latent_dim=16, width=8, precision="auto")
    assert gan.precision == resolved and gan.get_config()["precision"] == resolved
    assert gan.generator.get_layer("project").dtype_policy.name == resolved
    again = kg.models.DCGAN.from_config(gan.get_config())
    assert again.precision == resolved


# ---------------------------------------------------------------- R1 under mixed_float16
def _small_gradient_critic(dtype):
    """D(x) = w2 . lrelu(W1 flat(x)) with small weights: input gradients of order 1e-8."""
    images = keras.Input((28, 28, 1), name="images")
    x = keras.layers.Flatten(dtype=dtype)(images)
    x = keras.layers.Dense(32, dtype=dtype, name="hidden")(x)
    x = keras.layers.LeakyReLU(0.2, dtype=dtype)(x)
    logits = keras.layers.Dense(1, dtype="float32", name="logits")(x)
    model = keras.Model(images, logits, name="discriminator")
    rng = np.random.default_rng(0)
    model.get_layer("hidden").set_weights([rng.normal(0, 5e-5, (784, 32)).astype("float32"), np.zeros(32, "float32")])
    model.get_layer("logits").set_weights([rng.normal(0, 5e-5, (32, 1)).astype("float32"), np.zeros(1, "float32")])
    return model


@pytest.mark.parametrize("r1_every", [1, 2])
def test_r1_under_mixed_float16_matches_float32(r1_every, fmnist_test):
    real = tf.constant(scaled(fmnist_test[0][:8]))
    penalties = {}
    for precision, dtype in (("float32", None), ("mixed_float16", "mixed_float16")):
        gan = kg.models.DCGAN(latent_dim=8, width=4, precision=precision, seed=0, r1_weight=1.0,
                              r1_every=r1_every, discriminator=_small_gradient_critic(dtype))
        gan.compile()
        _, _, penalty = gan.discriminator_outputs(real, real[::-1])
        penalties[precision] = float(penalty)
    # float16's smallest normal number is 6e-5: unscaled, these gradients (1e-8) vanish.
    assert 0 < penalties["float32"] < 1e-10
    np.testing.assert_allclose(penalties["mixed_float16"], penalties["float32"], rtol=2e-2)
