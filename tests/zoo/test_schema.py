"""Card validation and reading card folders."""

import pytest

from keras_gans.zoo import registry
from keras_gans.zoo import schema


def test_validate_card_normalizes_and_copies():
    raw = {"pretrained": False, "config": {"latent_dim": 8}, "task": "generator",
           "family": "dcgan", "name": "dcgan.x"}
    card = schema.validate_card(raw)
    assert list(card) == ["name", "family", "task", "config", "metrics", "protocol", "training",
                          "versions", "pretrained"]
    card["config"]["latent_dim"] = 9
    assert raw["config"]["latent_dim"] == 8
    with pytest.raises(ValueError, match=r"lacks \['task'\]"):
        schema.validate_card({k: v for k, v in raw.items() if k != "task"})
    with pytest.raises(ValueError, match="must be a dict"):
        schema.validate_card(["dcgan.x"])
    with pytest.raises(ValueError, match="metrics must be a dict"):
        schema.validate_card({**raw, "metrics": [1]})


def test_a_card_file_must_be_named_after_its_entry(tmp_path):
    (tmp_path / "dcgan.a.json").write_text(
        '{"name": "dcgan.b", "family": "dcgan", "task": "generator", "config": {}, "pretrained": false}'
    )
    with pytest.raises(ValueError, match="the file must be <name>.json"):
        registry._read_cards(str(tmp_path))
    (tmp_path / "dcgan.a.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"dcgan\.a\.json is invalid"):
        registry._read_cards(str(tmp_path))
