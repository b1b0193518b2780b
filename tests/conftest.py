"""Shared fixtures: real Fashion-MNIST from the Debian package (or KERAS_GANS_DATA)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# precision="auto" (every family's default) resolves to float32 on every
# machine under test, in this process and in the command-line runs it starts,
# so no test depends on whether the CPU has AVX512-BF16 or AMX. Tests of the
# hardware detection unset it; tests of mixed precision ask for it by name.
os.environ["KERAS_GANS_PRECISION"] = "float32"

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def fmnist_train():
    """Fashion-MNIST train split: ``(images uint8 [60000, 28, 28, 1], labels int32)``."""
    from keras_gans.data import load_numpy

    return load_numpy("fashion_mnist", split="train")


@pytest.fixture(scope="session")
def fmnist_test():
    """Fashion-MNIST test split: ``(images uint8 [10000, 28, 28, 1], labels int32)``."""
    from keras_gans.data import load_numpy

    return load_numpy("fashion_mnist", split="test")


def scaled(images):
    """uint8 images -> float32 in [-1, 1]."""
    return images.astype("float32") / 127.5 - 1.0


def weights_of(model):
    """Copy of every variable of ``model`` as ``{path: ndarray}``."""
    return {v.path: np.array(v.numpy()) for v in model.variables}


def changed(before, after, atol=0.0):
    """Paths whose values differ between two ``weights_of`` snapshots."""
    return {k for k in before if not np.allclose(before[k], after[k], atol=atol, rtol=0)}


def model_state(gan):
    """Everything training may change: both networks' variables (batch-norm
    statistics included), every optimizer variable (iterations included) and
    the noise state."""
    state = {f"g/{k}": v for k, v in weights_of(gan.generator).items()}
    state.update({f"d/{k}": v for k, v in weights_of(gan.discriminator).items()})
    for name, opt in gan.optimizers().items():
        state.update({f"{name}/{v.path}": np.array(v.numpy()) for v in opt.variables})
    state["seed"] = gan.seed_generator.state.numpy().copy()
    return state
