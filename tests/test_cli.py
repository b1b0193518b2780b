"""`keras-gans train` argument validation: exit 2 with one line and nothing written; divergence exits 1."""

import argparse
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import keras_gans as kg
from keras_gans.cli import build_parser, main
from tests.test_trainer import REPO

TINY = ["--config", "width=8", "--config", "latent_dim=16"]
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err


def assert_one_line_usage_error(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-gans"), err
    for needle in needles:
        assert needle in lines[0], lines[0]


def not_a_positive_int(text):
    try:
        return int(text) < 1
    except ValueError:
        return True


@SETTINGS
@given(
    flag=st.sampled_from(["--epochs", "--batch-size", "--steps-per-epoch", "--checkpoint-every"]),
    value=st.one_of(
        st.integers(max_value=0).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(alphabet="abc1.-e +_", min_size=0, max_size=6),
    ),
)
@example(flag="--epochs", value="--")  # argparse alone drops a "--" value and passes [] on
def test_a_non_positive_or_non_integer_count_exits_2_naming_the_flag(capsys, tmp_path, flag, value):
    assume(not_a_positive_int(value))
    out = tmp_path / "run"
    code, err = run(capsys, ["train", "dcgan", "--out", str(out), f"{flag}={value}"])
    assert_one_line_usage_error(code, err, f"argument {flag}", "expected a positive integer")
    assert not out.exists()


@SETTINGS
@given(value=st.one_of(
    st.floats(max_value=0).map(repr), st.sampled_from(["nan", "inf", "-inf", "1e999", "", "fast"]),
))
def test_a_bad_learning_rate_exits_2(capsys, tmp_path, value):
    out = tmp_path / "run"
    code, err = run(capsys, ["train", "dcgan", "--out", str(out), f"--learning-rate={value}"])
    assert_one_line_usage_error(code, err, "argument --learning-rate")
    assert not out.exists()


@SETTINGS
@given(
    epochs=st.integers(1, 10**6), batch=st.integers(1, 4096), lr=st.floats(1e-8, 10.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_valid_values_parse_to_themselves(epochs, batch, lr, seed):
    args = build_parser().parse_args([
        "train", "cgan", "--out", "x", "--epochs", str(epochs), "--batch-size", str(batch),
        "--learning-rate", repr(lr), "--seed", str(seed), "--checkpoint-every", str(batch),
    ])
    assert (args.epochs, args.batch_size, args.learning_rate, args.seed, args.checkpoint_every) == (
        epochs, batch, lr, seed, batch)
    assert args.resume is False and args.overwrite is False
    assert args.deterministic is None and args.epochs == epochs  # None: off, or the run's on --resume


@SETTINGS
@given(key=st.from_regex(r"\A[a-z][a-z_]{0,11}\Z"), value=st.integers(-5, 5))
def test_an_unknown_config_key_exits_2_naming_it_and_the_known_keys(capsys, tmp_path, key, value):
    assume(key not in kg.models.DCGAN.config_keys())
    out = tmp_path / "run"
    code, err = run(capsys, ["train", "dcgan", "--out", str(out), "--config", f"{key}={value}"])
    assert_one_line_usage_error(code, err, f"unknown DCGAN config key '{key}'", "known keys are",
                                "latent_dim", "width")
    assert not out.exists()


@pytest.mark.parametrize(
    "config, message",
    [
        (["noequals"], "--config expects KEY=VALUE with a name as KEY, got 'noequals'"),
        (["=3"], "--config expects KEY=VALUE"),
        (["1x=3"], "--config expects KEY=VALUE"),
        (["width=8", "width=16"], "--config sets 'width' twice"),
        (["width=\"wide\""], "invalid dcgan config"),
    ],
)
def test_malformed_config_exits_2(capsys, tmp_path, config, message):
    argv = ["train", "dcgan", "--out", str(tmp_path / "run")]
    for pair in config:
        argv += ["--config", pair]
    code, err = run(capsys, argv)
    assert_one_line_usage_error(code, err, message)
    assert not (tmp_path / "run").exists()


def test_run_folder_problems_exit_2_and_touch_nothing(capsys, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "model.keras").write_bytes(b"mine")
    code, err = run(capsys, ["train", "dcgan", "--out", str(taken)] + TINY)
    assert_one_line_usage_error(code, err, "already holds a run: resume it (--resume) or replace it (--overwrite)")
    assert os.listdir(taken) == ["model.keras"] and (taken / "model.keras").read_bytes() == b"mine"
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    code, err = run(capsys, ["train", "dcgan", "--out", str(notes), "--resume"])
    assert_one_line_usage_error(code, err, "nothing to resume", "holds files but no run")
    assert os.listdir(notes) == ["todo.txt"]
    (tmp_path / "file").write_text("x")
    code, err = run(capsys, ["train", "dcgan", "--out", str(tmp_path / "file")] + TINY)
    assert_one_line_usage_error(code, err, "is a file: pass a folder")
    code, err = run(capsys, ["train", "dcgan", "--out", str(tmp_path / "file" / "run")] + TINY)
    assert_one_line_usage_error(code, err, "is a file, not a folder")
    code, err = run(capsys, ["train", "dcgan", "--out", str(taken), "--resume", "--overwrite"])
    assert_one_line_usage_error(code, err, "either resume or overwrite")
    assert (tmp_path / "file").read_text() == "x"


def test_a_diverging_run_exits_1_naming_the_step_and_loss(capsys, tmp_path, fmnist_test):
    data = tmp_path / "data.npz"
    np.savez(data, images=fmnist_test[0][:64])
    out = tmp_path / "run"
    code, err = run(capsys, ["train", "dcgan", "--dataset", str(data), "--epochs", "2", "--steps-per-epoch", "4",
                             "--batch-size", "16", "--learning-rate", "1e30", "--checkpoint-every", "1",
                             "--out", str(out), "--verbose", "0"] + TINY)
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert "keras-gans train: error: training diverged at epoch 1, batch" in line
    assert " is nan" in line and "lower the learning rate" in line
    assert not (out / "model.keras").exists() or all(
        np.isfinite(v.numpy()).all() for v in kg.saving.load_gan_file(out / "model.keras").variables
        if "float" in v.dtype
    )


# ---------------------------------------------------------------- sample
def png_gray(path):
    from matplotlib import image as mpimg

    return np.round(mpimg.imread(str(path))[..., 0] * 255).astype("uint8")


@pytest.fixture
def offline_zoo(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    monkeypatch.setenv("KERAS_GANS_HOME", str(tmp_path / "home"))


def test_sample_a_zoo_cyclegan_translates_test_images_of_its_domains(capsys, tmp_path, offline_zoo, fmnist_test):
    out = tmp_path / "pairs.png"
    code = main(["sample", "cyclegan.sneaker2boot", "--n", "8", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "4 domain-A test images of fashion_mnist (classes 7,9)" in captured.out
    grid = png_gray(out)
    assert grid.shape == (3 * 28, 3 * 28)  # 4 pairs = 8 images in a 3x3 grid
    # Cells 0, 2, 4, 6 are the inputs: sneakers of the test split, in [-1, 1] -> gray levels.
    sneakers = fmnist_test[0][fmnist_test[1] == 7][..., 0]
    first = grid[:28, :28].astype(int)
    assert np.abs(sneakers.astype(int) - first).max(axis=(1, 2)).min() <= 1
    # Other flags pick other images; --classes reverses the domains' source.
    code = main(["sample", "cyclegan.sneaker2boot", "--n", "2", "--seed", "1", "--classes", "9,7",
                 "--out", str(tmp_path / "boots.png")])
    assert code == 0, capsys.readouterr().err
    assert png_gray(tmp_path / "boots.png").shape == (28, 2 * 28)


def test_sample_a_cyclegan_run_uses_the_classes_it_was_trained_on(capsys, tmp_path, fmnist_test):
    result = kg.trainer.train(
        "cyclegan", dataset="fashion_mnist", classes=(5, 7), batch_size=2, epochs=1, steps_per_epoch=1,
        config={"width": 8, "n_blocks": 1, "discriminator_layers": 1, "pool_size": 0},
        out=str(tmp_path / "run"), verbose=0,
    )
    capsys.readouterr()
    code = main(["sample", result["model"], "--n", "4", "--out", str(tmp_path / "grid.png")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "2 domain-A test images of fashion_mnist (classes 5,7)" in captured.out
    sandals = fmnist_test[0][fmnist_test[1] == 5][..., 0].astype(int)
    first = png_gray(tmp_path / "grid.png")[:28, :28].astype(int)
    assert np.abs(sandals - first).max(axis=(1, 2)).min() <= 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["dcgan.fashion_mnist", "--classes", "7"], "--classes takes two class ids A,B"),
        (["dcgan.fashion_mnist", "--classes", "7,9"], "--dataset and --classes apply to cyclegan models"),
        (["dcgan.fashion_mnist", "--dataset", "mnist"], "--dataset and --classes apply to cyclegan models"),
    ],
)
def test_sample_translation_flags_on_a_wrong_model_exit_2(capsys, tmp_path, offline_zoo, argv, message):
    out = tmp_path / "grid.png"
    code, err = run(capsys, ["sample", *argv, "--out", str(out)])
    assert_one_line_usage_error(code, err, message)
    assert not out.exists()


# ---------------------------------------------------------------- help and start-up
def _parsers(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_help_shows_every_options_default_and_which_come_from_the_run():
    parser = build_parser()
    for p in _parsers(parser):
        text = p.format_help()
        formatter = p._get_formatter()
        for action in p._actions:
            if not action.option_strings or action.required or action.dest == "help":
                continue
            help_text = formatter._get_help_string(action) or ""
            assert "default" in help_text, f"{p.prog} {action.option_strings[0]}: {help_text!r}"
        assert "%(" not in text
    train = next(p for p in _parsers(parser) if p.prog.endswith(" train"))
    helps = {a.option_strings[0]: train._get_formatter()._get_help_string(a)
             for a in train._actions if a.option_strings}
    for flag in ("--epochs", "--dataset", "--batch-size", "--steps-per-epoch", "--seed", "--checkpoint-every",
                 "--deterministic", "--learning-rate", "--classes"):
        assert "--resume: the run's" in helps[flag], flag
    assert "default: 5" in helps["--epochs"] and "(default: off)" in helps["--overwrite"]
    assert "(default: 1)" in train.format_help()


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["zoo", "list"]])
def test_help_and_zoo_list_import_no_tensorflow(argv, offline_zoo):
    # What makes `keras-gans --help` take seconds is importing TensorFlow (and Keras).
    code = (
        "import sys\n"
        "from keras_gans.cli import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as done:\n"
        "    code = done.code\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules)\n"
        "print('HEAVY', heavy, 'CODE', code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "HEAVY [] CODE 0"
    if argv == ["zoo", "list"]:
        assert "dcgan.fashion_mnist" in result.stdout


def test_keras_finds_the_gan_classes_after_a_light_import(tmp_path):
    # `import keras_gans` loads no TensorFlow, yet keras.saving.load_model still
    # finds the GAN classes: they load together with Keras.
    code = (
        "import sys\n"
        "import keras_gans\n"
        "assert 'keras' not in sys.modules and 'keras_gans.models' not in sys.modules\n"
        "import keras\n"
        "print(keras.saving.get_registered_object('keras_gans>DCGAN').__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "DCGAN"
