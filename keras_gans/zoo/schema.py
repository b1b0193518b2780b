"""Zoo card schema: checking cards, and building the model a card describes.

A card is a plain dict (stored as ``keras_gans/zoo/cards/<name>.json``)::

    {"name": "dcgan.fashion_mnist", "family": "dcgan", "task": "generator",
     "config": {...constructor arguments...},
     "file": "dcgan.fashion_mnist.weights.h5", "sha256": "...", "size": 1234,
     "num_params": {"generator": n, "discriminator": m},
     "dataset": "fashion_mnist", "metrics": {...}, "protocol": {...},
     "recipe": "zoo/dcgan.fashion_mnist.toml", "license": "Apache-2.0",
     "training": {...}, "versions": {...}, "pretrained": true}

Recipe-only entries (``"pretrained": false``) have no ``file``/``sha256``:
``keras-gans zoo train NAME`` makes their weights.
"""

import copy
import re
import warnings

#: Tasks a zoo entry can have.
TASKS = ("generator", "feature_extractor")

#: Fields every card has.
REQUIRED_FIELDS = ("name", "family", "task", "config", "pretrained")

#: Extra fields a pretrained card has (the artifact and what it holds).
ARTIFACT_FIELDS = ("file", "sha256", "size", "num_params")

#: Fields a card may have besides the above.
OPTIONAL_FIELDS = (
    "dataset", "metrics", "protocol", "recipe", "license", "training", "versions",
    "url", "description", "packaged", "remote",
)

#: The order fields are written in, so cards read the same way.
FIELD_ORDER = (
    "name", "family", "task", "description", "config", "file", "url", "remote", "sha256", "size",
    "num_params", "packaged", "dataset", "metrics", "protocol", "recipe", "license", "training",
    "versions", "pretrained",
)

_NAME = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _extractor_builders():
    # Feature-extractor families are plain networks, not GAN classes.
    from keras_gans.networks.classifier import image_classifier

    return {"classifier": image_classifier}


def validate_card(card):
    """Check a card dict and return a normalized deep copy.

    Args:
        card: dict with the fields of a zoo card.

    Returns:
        dict, a copy with optional dict fields defaulted (``metrics``,
        ``protocol``, ``training``, ``versions``).

    Raises:
        ValueError: naming the first problem found.

    Example:
        >>> validate_card({"name": "dcgan.mnist", "family": "dcgan", "task": "generator",
        ...                "config": {"latent_dim": 64}, "pretrained": False})["metrics"]
        {}
    """
    if not isinstance(card, dict):
        raise ValueError(f"a zoo card must be a dict, got {type(card).__name__}.")
    card = copy.deepcopy(card)
    name = card.get("name")
    where = f"zoo card {name!r}" if isinstance(name, str) else "zoo card"
    missing = [k for k in REQUIRED_FIELDS if k not in card]
    if missing:
        raise ValueError(f"{where} lacks {missing}: every card needs {list(REQUIRED_FIELDS)}.")
    unknown = sorted(set(card) - set(REQUIRED_FIELDS) - set(ARTIFACT_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise ValueError(f"{where} has unknown fields {unknown}: check their spelling.")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"zoo card name must look like 'family.dataset' (letters, digits, _ and -), got {name!r}."
        )
    if not isinstance(card["family"], str) or not card["family"]:
        raise ValueError(f"{where}: family must be a non-empty string, got {card['family']!r}.")
    if card["task"] not in TASKS:
        raise ValueError(f"{where}: task must be one of {TASKS}, got {card['task']!r}.")
    if not isinstance(card["config"], dict):
        raise ValueError(f"{where}: config must be a dict of constructor arguments.")
    if not isinstance(card["pretrained"], bool):
        raise ValueError(f"{where}: pretrained must be true or false, got {card['pretrained']!r}.")
    if card["pretrained"]:
        missing = [k for k in ARTIFACT_FIELDS if k not in card]
        if missing:
            raise ValueError(
                f"{where} is pretrained but lacks {missing}: write it with kg.zoo.write_card."
            )
    if "file" in card:
        file = card["file"]
        # The file name is joined to cache folders and URLs: no paths, no hidden files.
        if not isinstance(file, str) or not file or "/" in file or "\\" in file or file.startswith("."):
            raise ValueError(f"{where}: file must be a plain file name, got {file!r}.")
    if "sha256" in card:
        if not isinstance(card["sha256"], str) or not _SHA256.match(card["sha256"]):
            raise ValueError(f"{where}: sha256 must be 64 lowercase hex digits, got {card['sha256']!r}.")
    if "size" in card:
        size = card["size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"{where}: size must be a positive int (bytes), got {size!r}.")
    if "num_params" in card:
        counts = card["num_params"]
        values = list(counts.values()) if isinstance(counts, dict) else [counts]
        if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
            raise ValueError(
                f"{where}: num_params must be an int or a dict of ints per network, got {counts!r}."
            )
    if "packaged" in card:
        _check_packaged(card["packaged"], where)
    if "remote" in card and not isinstance(card["remote"], str):
        raise ValueError(f"{where}: remote must be a string saying where the full artifact comes from.")
    for key in ("metrics", "protocol", "training", "versions"):
        card.setdefault(key, {})
        if not isinstance(card[key], dict):
            raise ValueError(f"{where}: {key} must be a dict, got {type(card[key]).__name__}.")
    return {key: card[key] for key in FIELD_ORDER if key in card}


def _check_packaged(packaged, where):
    # {network key: {"file", "sha256", "size"}}: the weights shipped inside the wheel.
    if not isinstance(packaged, dict) or not packaged:
        raise ValueError(f"{where}: packaged must be a non-empty dict of network -> file record.")
    for key, record in packaged.items():
        if not isinstance(record, dict) or sorted(record) != ["file", "sha256", "size"]:
            raise ValueError(f"{where}: packaged[{key!r}] must have exactly file, sha256 and size.")
        file = record["file"]
        if not isinstance(file, str) or not file or "/" in file or "\\" in file or file.startswith("."):
            raise ValueError(f"{where}: packaged[{key!r}] file must be a plain file name, got {file!r}.")
        if not isinstance(record["sha256"], str) or not _SHA256.match(record["sha256"]):
            raise ValueError(f"{where}: packaged[{key!r}] sha256 must be 64 lowercase hex digits.")
        if isinstance(record["size"], bool) or not isinstance(record["size"], int) or record["size"] < 1:
            raise ValueError(f"{where}: packaged[{key!r}] size must be a positive int (bytes).")


def build_model(card, **overrides):
    """Build the untrained model a card describes (no weights, not compiled).

    Args:
        card: a validated card dict.
        **overrides: constructor arguments replacing the card's config.

    Returns:
        A ``kg.models`` GAN for generator entries; the network (``keras.Model``)
        for feature-extractor entries.
    """
    config = {**copy.deepcopy(card["config"]), **overrides}
    if card["task"] == "feature_extractor":
        builders = _extractor_builders()
        if card["family"] not in builders:
            raise ValueError(
                f"zoo entry {card['name']}: unknown feature-extractor family {card['family']!r}; "
                f"known: {sorted(builders)}."
            )
        return builders[card["family"]](**config)
    from keras_gans.models import get_family

    return get_family(card["family"])(**config)


def count_params(model):
    """Parameters of a card's model: ``{network: n}`` for a GAN, an int otherwise.

    Args:
        model: what ``build_model`` returns.
    """
    keys = getattr(model, "network_keys", None)
    if keys is None:
        return int(model.count_params())
    return {key: int(getattr(model, key).count_params()) for key in keys}


def load_weights_checked(model, path, what):
    """``model.load_weights(path)``, raising if the file does not fill the model.

    Keras loads a mismatched file partly and only warns ("freshly-initialized
    weights"); a zoo model must be all-or-nothing, so those warnings become a
    ``ValueError``. A file without optimizer state still loads (the
    optimizers start fresh).

    Args:
        model: the model built from the card's config.
        path: str, a ``.weights.h5`` file.
        what: str, how errors name the entry.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(path)
        except ValueError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"{path} does not fit the model of {what}: {first}") from None
    for warning in caught:
        message = str(warning.message)
        if message.startswith("Skipping variable loading for optimizer"):
            continue
        if "freshly-initialized" in message or "could not be loaded" in message:
            raise ValueError(
                f"{path} does not fit the model of {what}: {message.splitlines()[0]}"
            )
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return model
