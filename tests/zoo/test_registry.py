"""The zoo registry: names, cards, errors, building and loading models, writing cards."""

import json
import os

import numpy as np
import pytest

import keras_gans as kg
from keras_gans import zoo
from keras_gans.zoo import download, registry

RECIPE_ONLY = ["cgan.cifar10", "cyclegan.horse2zebra", "dcgan.celeba64", "dcgan.cifar10", "wgan_gp.cifar10"]


@pytest.fixture
def mirror(tmp_path, monkeypatch, tiny_artifact):
    """A file:// mirror folder; ``put(card)`` places the tiny artifact under the card's file name."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", folder.as_uri())

    def put(card):
        (folder / card["file"]).write_bytes(tiny_artifact["bytes"])
        return card

    return put


def test_list_models_is_sorted_and_filters_by_family_and_pretrained():
    names = zoo.list_models()
    assert names == sorted(names)
    assert set(RECIPE_ONLY) | {"classifier.fashion_mnist"} <= set(names)
    assert set(RECIPE_ONLY) <= set(zoo.list_models(pretrained=False))
    pretrained = zoo.list_models(pretrained=True)
    assert "classifier.fashion_mnist" in pretrained and not set(RECIPE_ONLY) & set(pretrained)
    assert all(zoo.card(n)["family"] == "dcgan" for n in zoo.list_models(family="dcgan"))
    assert {"dcgan.cifar10", "dcgan.celeba64"} <= set(zoo.list_models(family="dcgan"))
    assert zoo.list_models(family="no_such_family") == []


def test_card_is_a_copy_with_the_url(monkeypatch):
    card = zoo.card("classifier.fashion_mnist")
    assert "url" not in card  # no default host: without a mirror there is no remote
    card["config"]["width"] = -1
    card["metrics"].clear()
    again = zoo.card("classifier.fashion_mnist")
    assert again["config"]["width"] == 32 and again["metrics"]
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", "https://mirror.example/zoo/")
    assert zoo.card("classifier.fashion_mnist")["url"] == (
        "https://mirror.example/zoo/classifier.fashion_mnist.weights.h5"
    )
    assert "url" not in zoo.card("dcgan.cifar10")  # recipe only: nothing to download


def test_unknown_names_suggest_close_ones():
    with pytest.raises(ValueError, match=r"unknown zoo entry 'dcgan\.cifar1'.*did you mean dcgan\.cifar10"):
        zoo.card("dcgan.cifar1")
    with pytest.raises(ValueError, match="did you mean classifier.fashion_mnist"):
        zoo.fetch("classifer.fashion_mnist")
    with pytest.raises(ValueError, match="known: "):
        zoo.get_model("zzzzzzzz")


def test_duplicate_and_invalid_registrations_raise(tiny_entry):
    card = tiny_entry()
    with pytest.raises(ValueError, match="already registered"):
        zoo.register(card)
    with pytest.raises(ValueError, match="already registered"):
        zoo.register({**card, "sha256": "0" * 64})
    base = {k: v for k, v in card.items()}
    base["name"] = card["name"] + "x"
    bad = [
        ({"file": "../evil.h5"}, "plain file name"),
        ({"sha256": "abc"}, "64 lowercase hex"),
        ({"size": -5}, "positive int"),
        ({"task": "discriminator"}, "task must be one of"),
        ({"name": "nodot"}, "family.dataset"),
        ({"pretrained": "yes"}, "true or false"),
        ({"colour": "red"}, "unknown fields"),
        ({"num_params": {"generator": 1.5}}, "num_params"),
    ]
    for change, message in bad:
        with pytest.raises(ValueError, match=message):
            zoo.register({**base, **change})
    missing = dict(base)
    del missing["sha256"]
    with pytest.raises(ValueError, match=r"pretrained but lacks \['sha256'\]"):
        zoo.register(missing)
    assert base["name"] not in zoo.list_models()


def test_get_model_builds_the_card_config_with_overrides_compiled_ready_to_fit(fmnist_train):
    gan = zoo.get_model("dcgan.cifar10", width=8)
    assert isinstance(gan, kg.models.DCGAN)
    assert gan.image_shape == (32, 32, 3) and gan.latent_dim == 128 and gan.width == 8
    assert gan.compiled and gan.g_optimizer is not None and gan.d_optimizer is not None
    assert zoo.card("dcgan.cifar10")["config"]["width"] == 64  # overrides change nothing stored

    # A short fit on real batches trains both networks with the compile("auto") defaults.
    gan = zoo.get_model("dcgan.fashion_mnist", width=8, latent_dim=8)
    assert gan.compiled and gan.reuse_fakes is False  # the card's config, not the class default
    before = [np.array(w) for w in gan.generator.trainable_weights + gan.discriminator.trainable_weights]
    images, labels = fmnist_train
    history = gan.fit(kg.data.to_pipeline(images[:64], batch_size=32), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["g_loss"][-1]) and np.isfinite(history.history["d_loss"][-1])
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    after = gan.generator.trainable_weights + gan.discriminator.trainable_weights
    assert any(not np.allclose(b, np.asarray(a)) for b, a in zip(before, after))

    # Feature extractors are the bare network, uncompiled (load_weights fills it silently).
    classifier = zoo.get_model("classifier.fashion_mnist")
    assert classifier.output_shape == (None, 10) and not classifier.compiled


def test_load_generator_returns_the_saved_generator(tiny_entry, mirror, tiny_artifact):
    card = mirror(tiny_entry())
    generator = zoo.load_generator(card["name"])
    np.testing.assert_allclose(np.asarray(generator(tiny_artifact["z"])), tiny_artifact["images"], atol=1e-6)
    fresh = kg.models.DCGAN(**tiny_artifact["config"], seed=99).generator
    assert not np.allclose(np.asarray(fresh(tiny_artifact["z"])), tiny_artifact["images"], atol=1e-3)


def test_load_gan_is_compiled_and_fine_tunes(tiny_entry, mirror, tiny_artifact, fmnist_train):
    card = mirror(tiny_entry())
    gan = zoo.load_gan(card["name"])
    assert gan.compiled and gan.g_optimizer is not None and gan.d_optimizer is not None
    np.testing.assert_allclose(np.asarray(gan(tiny_artifact["z"])), tiny_artifact["images"], atol=1e-6)
    before = [np.array(w) for w in gan.generator.trainable_weights]
    images = fmnist_train[0][:32].astype("float32") / 127.5 - 1.0
    # One eager step (no tracing) shows both optimizers are ready.
    logs = gan.train_step(images)
    assert np.isfinite(float(logs["d_loss"])) and np.isfinite(float(logs["g_loss"]))
    after = gan.generator.trainable_weights
    assert any(not np.allclose(b, np.asarray(a)) for b, a in zip(before, after))


def test_recipe_only_entries_name_the_train_command():
    for load in (zoo.load_generator, zoo.load_gan, zoo.fetch):
        with pytest.raises(ValueError, match=r"recipe only.*`keras-gans zoo train dcgan\.cifar10`"):
            load("dcgan.cifar10")
    assert zoo.local_path("dcgan.cifar10") is None


def test_feature_extractors_are_not_gans():
    with pytest.raises(ValueError, match="feature extractor, not a GAN"):
        zoo.load_generator("classifier.fashion_mnist")


def test_a_checkout_finds_zoo_weights_without_network(monkeypatch):
    # Offline, with a mirror that does not exist: only the checkout can answer.
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", "http://127.0.0.1:9/nothing")
    path = zoo.fetch("classifier.fashion_mnist")
    assert path == os.path.join(registry.repo_root(), "zoo", "weights", "classifier.fashion_mnist.weights.h5")
    assert download.sha256_of(path) == zoo.card("classifier.fashion_mnist")["sha256"]
    assert zoo.local_path("classifier.fashion_mnist") == path


def test_write_card_measures_the_artifact_and_registers_it(tiny_artifact, tmp_path):
    name = "dcgan.zootest_written"
    cards = tmp_path / "cards"
    try:
        written = zoo.write_card(
            name, tiny_artifact["path"], cards_dir=str(cards), family="dcgan",
            config=tiny_artifact["config"], dataset="fashion_mnist", metrics={"fcd": 1.5},
            license="Apache-2.0",
        )
        on_disk = json.loads((cards / f"{name}.json").read_text())
        assert on_disk == written
        assert written["sha256"] == tiny_artifact["sha256"]
        assert written["size"] == len(tiny_artifact["bytes"])
        assert written["num_params"] == tiny_artifact["num_params"]
        assert written["file"] == "tiny.weights.h5" and written["pretrained"] is True
        assert zoo.card(name)["metrics"] == {"fcd": 1.5}
        assert os.listdir(cards) == [f"{name}.json"]  # no temp file left
        # Writing again replaces the card (retraining), it is not a duplicate.
        zoo.write_card(name, tiny_artifact["path"], cards_dir=str(cards), family="dcgan",
                       config=tiny_artifact["config"], metrics={"fcd": 1.2})
        assert zoo.card(name)["metrics"] == {"fcd": 1.2}
    finally:
        zoo.unregister(name)


def test_write_card_refuses_a_file_that_does_not_fit_the_config(tiny_artifact, tmp_path):
    cards = tmp_path / "cards"
    with pytest.raises(ValueError, match="does not fit the model of the config given"):
        zoo.write_card("dcgan.zootest_misfit", tiny_artifact["path"], cards_dir=str(cards),
                       family="dcgan", config={**tiny_artifact["config"], "width": 16})
    with pytest.raises(FileNotFoundError, match="save the weights"):
        zoo.write_card("dcgan.zootest_misfit", str(tmp_path / "none.h5"), cards_dir=str(cards),
                       family="dcgan", config=tiny_artifact["config"])
    with pytest.raises(ValueError, match="measures sha256"):
        zoo.write_card("dcgan.zootest_misfit", tiny_artifact["path"], cards_dir=str(cards),
                       family="dcgan", config=tiny_artifact["config"], sha256="0" * 64)
    assert not cards.exists() or os.listdir(cards) == []
    assert "dcgan.zootest_misfit" not in zoo.list_models()


def test_write_card_without_weights_writes_a_recipe_only_card(tmp_path):
    name = "dcgan.zootest_recipe"
    try:
        written = zoo.write_card(name, None, cards_dir=str(tmp_path), family="dcgan",
                                 config={"latent_dim": 8, "image_shape": [28, 28, 1], "width": 8})
        assert written["pretrained"] is False and "sha256" not in written and "file" not in written
        gan = kg.models.DCGAN(latent_dim=8, image_shape=(28, 28, 1), width=8)
        assert written["num_params"] == {
            "generator": gan.generator.count_params(),
            "discriminator": gan.discriminator.count_params(),
        }
        assert name in zoo.list_models(pretrained=False)
    finally:
        zoo.unregister(name)
