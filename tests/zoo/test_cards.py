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


def test_every_pretrained_card_matches_its_artifact():
    checked = []
    for name, entry in sorted(SHIPPED.items()):
        if not entry["pretrained"]:
            continue
        path = os.path.join(WEIGHTS, entry["file"])
        if not os.path.isfile(path):
            continue  # published by a training run that has not happened in this checkout yet
        assert download.sha256_of(path) == entry["sha256"], f"{name}: sha256 of {path} differs from its card"
        assert os.path.getsize(path) == entry["size"], f"{name}: size differs from its card"
        model = schema.load_weights_checked(schema.build_model(entry), path, name)
        assert schema.count_params(model) == entry["num_params"], f"{name}: num_params differ"
        checked.append(name)
    assert "classifier.fashion_mnist" in checked


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
