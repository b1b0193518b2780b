"""The shipped cards (keras_gans/zoo/cards) against their artifacts and recipes."""

import os
import tomllib

import pytest

from keras_gans import zoo
from keras_gans.zoo import schema
from keras_gans.zoo import download, registry

ROOT = registry.repo_root()
WEIGHTS = os.path.join(ROOT, "zoo", "weights")
SHIPPED = registry._read_cards(registry.CARDS_DIR)


PRETRAINED = sorted(n for n, e in SHIPPED.items() if e["pretrained"])


def test_the_published_entries_are_all_pretrained():
    assert {"classifier.fashion_mnist", "dcgan.fashion_mnist", "cgan.fashion_mnist",
            "wgan_gp.fashion_mnist", "cyclegan.sneaker2boot"} <= set(PRETRAINED)


def test_every_pretrained_card_matches_its_artifact():
    # Every published artifact is committed under zoo/weights/: none may be missing.
    checked = []
    for name in PRETRAINED:
        entry = SHIPPED[name]
        path = os.path.join(WEIGHTS, entry["file"])
        assert os.path.isfile(path), f"{name}: {path} is missing (a pretrained card needs its weights)"
        assert download.sha256_of(path) == entry["sha256"], f"{name}: sha256 of {path} differs from its card"
        assert os.path.getsize(path) == entry["size"], f"{name}: size differs from its card"
        model = schema.load_weights_checked(schema.build_model(entry), path, name)
        assert schema.count_params(model) == entry["num_params"], f"{name}: num_params differ"
        checked.append(name)
    assert checked == PRETRAINED


def _at(card, dotted):
    value = card
    for part in dotted.split("."):
        assert isinstance(value, dict) and part in value, f"{card['name']} has no {dotted}"
        value = value[part]
    return value


#: What the card of every published entry records (issue: card contents).
CARD_FIELDS = (
    "family", "config", "dataset", "file", "sha256", "size", "num_params", "recipe", "license",
    "training.time_s", "training.hardware", "training.epochs", "versions.keras", "versions.tensorflow",
    "protocol.split",
)

#: The protocol fields of each kind of metrics: generators (kg.metrics.evaluate),
#: translations (evaluate_translation: n per domain) and the classifier (accuracy).
PROTOCOL_FIELDS = {
    "generator": ("protocol.extractor", "protocol.n_fake", "protocol.n_real", "protocol.dataset"),
    "translation": ("protocol.extractor", "protocol.n_a", "protocol.n_b", "protocol.classes", "protocol.dataset"),
    "feature_extractor": ("protocol.n", "protocol.metric", "metrics.test_accuracy"),
}


@pytest.mark.parametrize("name", PRETRAINED)
def test_every_pretrained_card_carries_its_provenance_and_protocol(name):
    entry = SHIPPED[name]
    for field in CARD_FIELDS:
        value = _at(entry, field)
        assert value not in (None, "", {}, []), f"{name}: {field} is empty"
    assert _at(entry, "training.time_s") > 0 and isinstance(_at(entry, "training.hardware"), str)
    assert entry["metrics"], f"{name}: no metrics"
    assert all(isinstance(v, (int, float, list)) for v in entry["metrics"].values())
    if entry["task"] == "feature_extractor":
        kind = "feature_extractor"
    elif entry["family"] == "cyclegan":
        kind = "translation"
    else:
        kind = "generator"
    for field in PROTOCOL_FIELDS[kind]:
        assert _at(entry, field) is not None, f"{name}: {field} is null"
    if kind != "feature_extractor":
        assert entry["protocol"]["extractor"] == "classifier.fashion_mnist"
        assert entry["protocol"]["family"] == entry["family"]
    if kind == "generator":
        assert entry["protocol"]["n_fake"] == entry["protocol"]["n_real"] == 10000
    # No default host: what sampling needs ships in the wheel, and a card that needs a remote
    # for the rest (the full GAN) says so.
    assert "url" not in zoo.card(name)
    assert entry["packaged"], f"{name}: nothing ships in the wheel"
    if entry["task"] == "generator":
        assert "KERAS_GANS_ZOO_URL" in entry["remote"] and "hf://" in entry["remote"]


def test_every_card_has_its_recipe_and_recipe_only_cards_agree_with_it():
    for name, entry in sorted(SHIPPED.items()):
        assert entry["recipe"] == f"zoo/{name}.toml", name
        with open(os.path.join(ROOT, entry["recipe"]), "rb") as f:
            recipe = tomllib.load(f)
        assert (recipe["name"], recipe["family"]) == (name, entry["family"])
        assert recipe["data"]["dataset"] == entry["dataset"]
        assert entry["license"] == "Apache-2.0"
        if not entry["pretrained"]:
            assert recipe["model"] == entry["config"], name
            assert "file" not in entry and "sha256" not in entry


@pytest.mark.parametrize("name", sorted(n for n, e in SHIPPED.items() if not e["pretrained"]))
def test_recipe_only_cards_count_the_parameters_of_their_config(name):
    entry = SHIPPED[name]
    assert schema.count_params(schema.build_model(entry)) == entry["num_params"]


def test_the_recipe_only_setups_are_all_there():
    recipe_only = set(zoo.list_models(pretrained=False))
    assert {"dcgan.celeba64", "dcgan.cifar10", "wgan_gp.cifar10", "cgan.cifar10",
            "cyclegan.horse2zebra"} <= recipe_only
    assert zoo.card("cyclegan.horse2zebra")["config"]["image_shape"] == [256, 256, 3]
    assert zoo.card("dcgan.celeba64")["config"]["image_shape"] == [64, 64, 3]
