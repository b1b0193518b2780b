"""Zoo recipes: key checking (zoo.recipe), real (tiny) runs of the recipe runner (zoo.runner)
and the publisher (zoo.publish)."""

import glob
import json
import os
import uuid

import numpy as np
import pytest

import keras_gans as kg
from keras_gans import cli, zoo
from keras_gans.saving import load_gan_file
from keras_gans.zoo import download, publish, recipe as recipe_lib, registry, runner

SHIPPED_RECIPES = sorted(glob.glob(os.path.join(registry.repo_root(), "zoo", "*.toml")))

TINY_DCGAN = """\
name = "{name}"
family = "dcgan"

[model]
latent_dim = 8
image_shape = [28, 28, 1]
width = 8

[data]
dataset = "fashion_mnist"
batch_size = 16

[train]
epochs = 1
steps_per_epoch = 2
seed = 0

[evaluate]
n = {n}
"""


def write_recipe(tmp_path, text, file="recipe.toml"):
    path = tmp_path / file
    path.write_text(text)
    return str(path)


def tiny_name():
    return f"dcgan.zootest_recipe_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unregister_after():
    names = []
    yield names.append
    for name in names:
        if name in zoo.list_models():
            zoo.unregister(name)


# ------------------------------------------------------------------ keys
def test_the_shipped_recipes_are_all_there():
    names = {os.path.basename(p)[: -len(".toml")] for p in SHIPPED_RECIPES}
    assert set(zoo.list_models()) <= names


@pytest.mark.parametrize("path", SHIPPED_RECIPES, ids=os.path.basename)
def test_every_shipped_recipe_loads(path):
    loaded = recipe_lib.load_recipe(path)
    assert loaded["name"] == os.path.basename(path)[: -len(".toml")]
    known = recipe_lib.section_keys(loaded["family"])
    for section in ("model", "data", "train", "compile", "evaluate"):
        assert set(loaded[section]) <= known[section], (path, section)


@pytest.mark.parametrize(
    "family, section, key, close",
    [
        ("dcgan", "train", "epoch", "epochs"),
        ("dcgan", "train", "learningrate", "learning_rate"),
        ("dcgan", "data", "batchsize", "batch_size"),
        ("dcgan", "data", "datset", "dataset"),
        ("dcgan", "evaluate", "splt", "split"),
        ("dcgan", "model", "widht", "width"),
        ("dcgan", "compile", "g_optimiser", "g_optimizer"),
        ("cyclegan", "model", "cycle_wieght", "cycle_weight"),
        ("classifier", "model", "widht", "width"),
        ("classifier", "train", "epoch", "epochs"),
        ("classifier", "data", "batchsize", "batch_size"),
        ("classifier", "train", "steps_per_epoch", None),  # a GAN key the classifier does not take
    ],
)
def test_an_unknown_key_names_the_key_its_section_and_the_known_keys(tmp_path, family, section, key, close):
    path = write_recipe(tmp_path, f'name = "{family}.x"\nfamily = "{family}"\n[{section}]\n{key} = 3\n')
    with pytest.raises(ValueError) as info:
        recipe_lib.load_recipe(path)
    message = str(info.value)
    assert message.count("\n") == 0
    assert f"recipe {path}: unknown key {key!r} in [{section}]" in message
    known = sorted(recipe_lib.section_keys(family)[section])
    assert message.endswith(f"known keys are {', '.join(known)}.")
    if close is not None:
        assert f"(did you mean {close!r}?)" in message


def test_unknown_sections_and_families_are_named(tmp_path):
    path = write_recipe(tmp_path, 'name = "dcgan.x"\nfamily = "dcgan"\n[trian]\nepochs = 3\n')
    with pytest.raises(ValueError, match=r"unknown key 'trian' at the top level \(did you mean 'train'\?\)"):
        recipe_lib.load_recipe(path)
    path = write_recipe(tmp_path, 'name = "dcgan.x"\nfamily = "dcgna"\n')
    with pytest.raises(ValueError, match=r"unknown family 'dcgna' \(did you mean 'dcgan'\?\).*classifier"):
        recipe_lib.load_recipe(path)
    path = write_recipe(tmp_path, 'name = "dcgan.x"\nfamily = "dcgan"\n[data]\nsplit = "test"\n')
    with pytest.raises(ValueError, match=r"\[data\] split = 'test': recipes train on the 'train' split"):
        recipe_lib.load_recipe(path)


def test_the_cli_reports_a_recipe_typo_in_one_line(tmp_path, capsys):
    path = write_recipe(tmp_path, TINY_DCGAN.format(name="dcgan.x", n=0).replace("epochs = 1", "epoch = 1"))
    code = cli.main(["zoo", "train", path, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "unknown key 'epoch' in [train] (did you mean 'epochs'?)" in err
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ runs
def _fresh_weights(config):
    gan = kg.models.DCGAN(**config)
    return {w.path: np.array(w) for w in gan.generator.weights + gan.discriminator.weights}


def test_a_tiny_dcgan_recipe_trains_through_the_cli(tmp_path, capsys):
    path = write_recipe(tmp_path, TINY_DCGAN.format(name=tiny_name(), n=0))
    out = tmp_path / "run"
    code = cli.main(["zoo", "train", path, "--out", str(out), "--verbose", "0"])
    printed = capsys.readouterr().out
    assert code == 0
    checkpoint = out / "model.keras"
    assert checkpoint.is_file() and f"model:   {checkpoint}" in printed
    gan = load_gan_file(str(checkpoint))
    assert isinstance(gan, kg.models.DCGAN) and (gan.latent_dim, gan.width) == (8, 8)
    # 1 epoch of steps_per_epoch = 2: two updates of each network.
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    assert int(gan.d_optimizer.iterations.numpy()) == 2
    # Kernels start random, but biases and normalization variables start at
    # constants: those of the checkpoint must have left them, in both networks.
    config = {"latent_dim": 8, "image_shape": (28, 28, 1), "width": 8}
    initial, again = _fresh_weights(config), _fresh_weights(config)
    constant = {p for p in initial if np.array_equal(initial[p], again[p])}
    trained = {w.path: np.asarray(w) for w in gan.generator.weights + gan.discriminator.weights}
    assert set(trained) == set(initial)
    moved = {p for p in constant if not np.allclose(trained[p], initial[p])}
    assert {"up1/bias", "project_bn/beta", "logits/bias", "down0/bias"} <= moved, sorted(moved)
    assert json.loads((out / "time.json").read_text())["time_s"] > 0
    assert os.path.isfile(out / "history.csv")


def test_epochs_override_is_what_the_published_card_records(tmp_path, unregister_after):
    name = tiny_name()
    path = write_recipe(tmp_path, TINY_DCGAN.format(name=name, n=0))
    result = runner.run_recipe(path, out=str(tmp_path / "run"), epochs=2, verbose=0)
    assert result["epochs"] == 2
    assert int(result["gan"].g_optimizer.iterations.numpy()) == 4
    zoo_dir, cards = tmp_path / "zoo", tmp_path / "cards"
    unregister_after(name)
    card = publish.publish_entry(
        recipe_lib.load_recipe(path), result["gan"], result["time_s"], epochs=result["epochs"],
        zoo_dir=str(zoo_dir), cards_dir=str(cards),
    )
    assert card["training"]["epochs"] == 2  # the recipe says 1: --epochs 2 ran
    weights = zoo_dir / "weights" / f"{name}.weights.h5"
    assert card["file"] == weights.name and card["sha256"] == download.sha256_of(str(weights))
    assert json.loads((cards / f"{name}.json").read_text()) == card
    assert (zoo_dir / f"{name}.png").is_file()
    assert sorted(os.listdir(zoo_dir / "weights")) == [weights.name]  # no staging left
    assert sorted(os.listdir(cards)) == [f"{name}.json"]
    for key in ("time_s", "hardware", "epochs"):
        assert key in card["training"]
    assert set(card["versions"]) == {"keras", "tensorflow"}
    assert zoo.card(name)["sha256"] == card["sha256"]


def test_a_failing_evaluation_leaves_the_published_entry_as_it_was(tmp_path, monkeypatch, unregister_after):
    name = tiny_name()
    first = write_recipe(tmp_path, TINY_DCGAN.format(name=name, n=0), "first.toml")
    result = runner.run_recipe(first, out=str(tmp_path / "run"), verbose=0)
    zoo_dir, cards = tmp_path / "zoo", tmp_path / "cards"
    unregister_after(name)
    publish.publish_entry(recipe_lib.load_recipe(first), result["gan"], 1.0,
                             zoo_dir=str(zoo_dir), cards_dir=str(cards))
    files = [zoo_dir / "weights" / f"{name}.weights.h5", zoo_dir / f"{name}.png", cards / f"{name}.json"]
    before = [f.read_bytes() for f in files]
    registered = zoo.card(name)

    # Change the weights (as retraining would), then fail in the evaluation.
    gan = result["gan"]
    kernel = gan.generator.trainable_weights[0]
    kernel.assign(kernel + 0.5)

    def broken(*args, **kwargs):
        raise RuntimeError("evaluation failed")

    monkeypatch.setattr(kg.metrics, "evaluate", broken)
    second = write_recipe(tmp_path, TINY_DCGAN.format(name=name, n=16), "second.toml")
    with pytest.raises(RuntimeError, match="evaluation failed"):
        publish.publish_entry(recipe_lib.load_recipe(second), gan, 2.0,
                                 zoo_dir=str(zoo_dir), cards_dir=str(cards))
    assert [f.read_bytes() for f in files] == before
    assert zoo.card(name) == registered
    assert sorted(os.listdir(zoo_dir / "weights")) == [f"{name}.weights.h5"]
    assert sorted(os.listdir(cards)) == [f"{name}.json"]


def test_a_card_that_does_not_fit_is_not_published(tmp_path, monkeypatch, unregister_after):
    # write_card checks the staged file against the config before anything is renamed.
    name = tiny_name()
    path = write_recipe(tmp_path, TINY_DCGAN.format(name=name, n=0))
    result = runner.run_recipe(path, out=str(tmp_path / "run"), verbose=0)
    unregister_after(name)
    real_get_config = type(result["gan"]).get_config
    monkeypatch.setattr(type(result["gan"]), "get_config",
                        lambda self: {**real_get_config(self), "width": 16})
    with pytest.raises(ValueError, match="does not fit"):
        publish.publish_entry(recipe_lib.load_recipe(path), result["gan"], 1.0,
                                 zoo_dir=str(tmp_path / "zoo"), cards_dir=str(tmp_path / "cards"))
    assert os.listdir(tmp_path / "zoo" / "weights") == [] and os.listdir(tmp_path / "cards") == []
    assert name not in zoo.list_models()


def test_a_classifier_recipe_trains_the_classifier_with_its_keys(tmp_path, fmnist_train, unregister_after):
    images, labels = fmnist_train
    data = tmp_path / "small.npz"
    np.savez(data, images=images[:128], labels=labels[:128])  # 2 batches of 64
    name = f"classifier.zootest_{uuid.uuid4().hex[:8]}"
    path = write_recipe(tmp_path, f"""\
name = "{name}"
family = "classifier"

[model]
width = 4
feature_dim = 8
dropout = 0.1

[data]
dataset = "{data}"
batch_size = 64

[train]
epochs = 1
seed = 3
learning_rate = 0.01

[evaluate]
split = "test"
""")
    out = tmp_path / "run"
    result = runner.run_recipe(path, out=str(out), verbose=0)
    model = result["classifier"]
    assert result["model"] == str(out / "model.keras") and os.path.isfile(result["model"])
    assert int(model.optimizer.iterations.numpy()) == 2
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    assert result["config"] == {"image_shape": [28, 28, 1], "num_classes": 10, "width": 4,
                                "feature_dim": 8, "dropout": 0.1}
    assert model.get_layer("features").output.shape[-1] == 8
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["test_n"] == 128
    assert result["epochs"] == 1
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] == result["test_accuracy"]

    with pytest.raises(ValueError, match="nothing to resume"):
        runner.run_recipe(path, out=str(out), resume=True)
    with pytest.raises(FileExistsError, match="already holds a run"):
        runner.run_recipe(path, out=str(out), verbose=0)

    unregister_after(name)
    card = publish.publish_classifier_entry(
        recipe_lib.load_recipe(path), model,
        {"config": result["config"], "test_accuracy": result["test_accuracy"],
         "test_n": result["test_n"], "epochs": 1},
        result["time_s"], zoo_dir=str(tmp_path / "zoo"), cards_dir=str(tmp_path / "cards"),
    )
    assert card["task"] == "feature_extractor" and card["family"] == "classifier"
    assert card["metrics"] == {"test_accuracy": round(result["test_accuracy"], 4)}
    assert card["training"]["epochs"] == 1 and card["license"] == "Apache-2.0"
    assert card["num_params"] == model.count_params()
    loaded = zoo.get_model(name)
    loaded.load_weights(str(tmp_path / "zoo" / "weights" / card["file"]))
    probe = images[:4].astype("float32") / 127.5 - 1.0
    np.testing.assert_allclose(np.asarray(loaded(probe)), np.asarray(model(probe)), atol=1e-5)


def test_the_shipped_classifier_recipe_routes_to_the_classifier_trainer(monkeypatch, tmp_path):
    # The real recipe (5 epochs on 60k images) is too long for a test: check what it asks for.
    seen = {}

    def fake_train_classifier(**kwargs):
        seen.update(kwargs)
        from keras_gans.networks.classifier import image_classifier

        model = image_classifier(**{k: kwargs[k] for k in ("width", "feature_dim")})
        return model, {"test_accuracy": 0.5, "test_n": 10, "config": {}, "epochs": kwargs["epochs"]}

    from keras_gans.zoo import classifier

    monkeypatch.setattr(classifier, "train_classifier", fake_train_classifier)
    result = runner.run_recipe("classifier.fashion_mnist", out=str(tmp_path / "run"), epochs=2, verbose=0)
    assert seen == {"dataset": "fashion_mnist", "epochs": 2, "batch_size": 128, "seed": 0,
                    "learning_rate": 0.001, "verbose": 0, "image_shape": [28, 28, 1],
                    "num_classes": 10, "width": 32, "feature_dim": 128, "dropout": 0.3}
    assert result["epochs"] == 2 and result["test_accuracy"] == 0.5


def test_image_size_resizes_the_training_images():
    images = np.zeros((3, 8, 8, 1), "uint8")
    images[:, :4] = 255
    resized = runner._resized((images, np.arange(3)), [4, 4])
    assert resized[0].shape == (3, 4, 4, 1) and resized[0].dtype == np.uint8
    assert (resized[0][:, 0] == 255).all() and (resized[0][:, 3] == 0).all()  # top white, bottom black
    assert list(resized[1]) == [0, 1, 2]



def test_republishing_an_entry_that_ships_in_the_wheel_repacks_beside_the_cards(tmp_path, unregister_after):
    from keras_gans.zoo import packaged

    name = tiny_name()
    path = write_recipe(tmp_path, TINY_DCGAN.format(name=name, n=0))
    result = runner.run_recipe(path, out=str(tmp_path / "run"), verbose=0)
    zoo_dir, cards = tmp_path / "zoo", tmp_path / "pkg" / "cards"
    unregister_after(name)
    publish.publish_entry(recipe_lib.load_recipe(path), result["gan"], 1.0, zoo_dir=str(zoo_dir), cards_dir=str(cards))
    registry._registry()[name]["packaged"] = {}  # as an entry that ships in the wheel
    card = publish.publish_entry(recipe_lib.load_recipe(path), result["gan"], 1.0,
                                 zoo_dir=str(zoo_dir), cards_dir=str(cards))
    shipped = tmp_path / "pkg" / "weights"
    assert sorted(card["packaged"]) == ["generator"]
    assert sorted(os.listdir(shipped)) == [card["packaged"]["generator"]["file"]]  # no staging left
    assert sorted(os.listdir(cards)) == [f"{name}.json"]  # nothing packed into the cards folder
    record = card["packaged"]["generator"]
    assert download.sha256_of(packaged.path_of(record, str(shipped))) == record["sha256"]


def test_a_run_killed_after_an_epoch_keeps_its_time_and_resume_adds_to_it(tmp_path):
    import signal
    import subprocess
    import sys

    from keras_gans.callbacks import KILL_ENV

    path = write_recipe(tmp_path, TINY_DCGAN.format(name=tiny_name(), n=0).replace("epochs = 1", "epochs = 3"))
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "keras_gans.cli", "zoo", "train", path, "--out", str(out), "--verbose", "0"]
    env = {**os.environ, KILL_ENV: "history-renamed:2", "TF_CPP_MIN_LOG_LEVEL": "2"}
    killed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # Killed at the end of epoch 2, before its time was written: epoch 1's time is on disk.
    first = json.loads((out / "time.json").read_text())["time_s"]
    assert first > 0
    env.pop(KILL_ENV)
    resumed = subprocess.run(argv + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((out / "time.json").read_text())["time_s"] > first
