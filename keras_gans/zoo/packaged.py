"""Weights that travel inside the wheel: the generators of the small zoo entries.

A pip user has no checkout and, by default, no remote: the full artifact of a
GAN entry (generator, discriminator and both optimizers' state, what
fine-tuning needs) is several times larger than what sampling needs. So each
small generator entry also ships its generator network(s) alone, float32 and
without optimizer slots, in ``keras_gans/zoo/weights/`` (package data), and
feature extractors whose artifact is already lean (the Fashion-MNIST
classifier) ship that artifact itself. A card lists what ships under
``packaged``::

    "packaged": {"generator": {"file": "dcgan.fashion_mnist.generator.weights.h5",
                               "sha256": "...", "size": 2150000}}

(keys are the GAN's network attributes: ``generator``, ``generator_ba`` for
CycleGAN, the EMA copies, ``encoder`` for a VAE-GAN; ``model`` for a feature
extractor, whose file is the entry's ``file``). Every packaged file is checked
against its sha256 before use, like a download. A published entry ships when
those networks hold at most ``PACKAGE_LIMIT_PARAMS`` parameters (``ships``);
one that ships keeps shipping when it is republished.

Example:
    >>> from keras_gans.zoo import packaged
    >>> packaged.networks_of(kg.zoo.card("dcgan.fashion_mnist"))  # doctest: +SKIP
    ['generator']
"""

import json
import os

from keras_gans.saving import write_json_atomic
from keras_gans.zoo import download

#: Folder of the weights shipped with the package.
PACKAGED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")

#: The ``packaged`` key of a feature extractor's own artifact.
MODEL_KEY = "model"

#: The most parameters (float32: 4 bytes each) an entry's inference networks
#: may hold to ship in the wheel: the small Fashion-MNIST entries, not the
#: 64x64 and larger ones, which download.
PACKAGE_LIMIT_PARAMS = 5_000_000


def inference_keys(model):
    """Network attributes of a GAN that inference needs: the generator(s), their EMA copies, an encoder.

    ``generator`` (and ``generator_ba`` for CycleGAN), the EMA copies that
    ``generate`` and ``translate`` use when the GAN keeps them, and the
    ``encoder`` of a VAE-GAN (``encode``, ``reconstruct``). Never the
    discriminators or the optimizers: those are for training.
    """
    keys = [k for k in model.network_keys if k.startswith("generator") or k == "encoder"]
    # The EMA copies (ema_generator; CycleGAN's ema_generator_ba too) are what
    # generate() and translate() sample with when the GAN keeps them.
    for key in ("ema_generator", "ema_generator_ba"):
        if getattr(model, key, None) is not None:
            keys.append(key)
    return keys


def ships(gan):
    """Whether a published ``gan`` is small enough to ship in the wheel (``PACKAGE_LIMIT_PARAMS``)."""
    return sum(int(getattr(gan, key).count_params()) for key in inference_keys(gan)) <= PACKAGE_LIMIT_PARAMS


def networks_of(entry):
    """The packaged network keys of a card (``[]`` when nothing ships in the wheel)."""
    return sorted((entry.get("packaged") or {}).keys())


def path_of(record, folder=None):
    """The verified path of one packaged file record, or None if absent or damaged.

    Args:
        record: dict with ``file`` and ``sha256``.
        folder: where to look (default ``PACKAGED_DIR``).
    """
    path = os.path.join(folder or PACKAGED_DIR, record["file"])
    return path if download.verify(path, record["sha256"]) else None


def artifact_path(entry, folder=None):
    """The verified packaged copy of an entry's own ``file`` (feature extractors), or None."""
    record = (entry.get("packaged") or {}).get(MODEL_KEY)
    if record is None or record.get("sha256") != entry.get("sha256"):
        return None
    return path_of(record, folder)


def load_networks(gan, entry, folder=None):
    """Fill a GAN's generator network(s) from the entry's packaged files; return ``gan``.

    Raises:
        FileNotFoundError: a packaged file is missing or does not match its sha256.
        ValueError: a file does not fit the network built from the card.
    """
    from keras_gans.zoo.schema import load_weights_checked

    records = entry.get("packaged") or {}
    keys = [k for k in inference_keys(gan) if k in records]
    if not keys:
        raise FileNotFoundError(f"zoo entry {entry['name']} ships no weights in the package.")
    for key in keys:
        path = path_of(records[key], folder)
        if path is None:
            where = os.path.join(folder or PACKAGED_DIR, records[key]["file"])
            state = "does not match its sha256" if os.path.exists(where) else "is missing"
            raise FileNotFoundError(
                f"the packaged {key} weights of {entry['name']} ({where}) {state}: reinstall keras-gans."
            )
        load_weights_checked(getattr(gan, key), path, f"the {key} of zoo entry {entry['name']}")
    return gan


def pack(entry, weights_path, folder=None):
    """Write the packaged files of an entry from its full artifact; return the ``packaged`` dict.

    For a GAN entry, the model is built from the card, the full artifact
    loaded into it, and each generator network saved alone
    (``network.save_weights``: layer weights only, no optimizer slots) as
    ``<name>.<key>.weights.h5``, float32 as trained. For a feature extractor
    the artifact itself is copied. Files are written to a temporary name and
    renamed, so a crash leaves the old file or the new one.

    Args:
        entry: a validated card (with ``file`` and ``sha256``).
        weights_path: str, the entry's full artifact.
        folder: destination (default ``PACKAGED_DIR``).

    Returns:
        dict, the card's ``packaged`` field.

    Example:
        >>> card = kg.zoo.card("dcgan.fashion_mnist")
        >>> pack(card, "zoo/weights/dcgan.fashion_mnist.weights.h5")  # doctest: +SKIP
        {'generator': {'file': 'dcgan.fashion_mnist.generator.weights.h5', ...}}
    """
    import shutil

    from keras_gans.saving import atomic_path, commit
    from keras_gans.zoo.schema import build_model, load_weights_checked

    folder = folder or PACKAGED_DIR
    os.makedirs(folder, exist_ok=True)
    if entry["task"] != "generator":
        target = os.path.join(folder, entry["file"])
        if os.path.abspath(target) != os.path.abspath(weights_path):
            tmp = atomic_path(target)
            shutil.copyfile(weights_path, tmp)
            commit(tmp, target)
        return {MODEL_KEY: _record(target)}
    gan = load_weights_checked(build_model(entry), weights_path, f"zoo entry {entry['name']}")
    records = {}
    for key in inference_keys(gan):
        target = os.path.join(folder, f"{entry['name']}.{key}.weights.h5")
        tmp = atomic_path(target)
        try:
            getattr(gan, key).save_weights(tmp)
            commit(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        records[key] = _record(target)
    return records


def _record(path):
    return {"file": os.path.basename(path), "sha256": download.sha256_of(path), "size": os.path.getsize(path)}


#: What a GAN card says about its remote (the full artifact is not in the wheel).
REMOTE_NOTE = (
    "The generator ships in the wheel (packaged); the full GAN file (discriminator and optimizer "
    "state, for kg.zoo.load_gan and fine-tuning) is not hosted publicly: it is found in a checkout's "
    "zoo/weights/, in the cache, or on the mirror KERAS_GANS_ZOO_URL names; a published preset "
    "loads with kg.zoo.load_gan('hf://owner/repo')."
)


def update_card_file(card_path, packaged, remote=None):
    """Set ``packaged`` (and ``remote``) in a card JSON file, atomically; return the card."""
    from keras_gans.zoo.schema import validate_card

    with open(card_path) as f:
        card = json.load(f)
    card["packaged"] = packaged
    if remote:
        card["remote"] = remote
    else:
        card.pop("remote", None)
    card = validate_card(card)
    write_json_atomic(card_path, card, sort_keys=False)
    return card


def main(names=None):
    """Repack the wheel's weights from a checkout's ``zoo/weights/`` and update the cards.

    ``python -m keras_gans.zoo.packaged [NAME ...]`` (default: every pretrained
    entry whose dataset is Fashion-MNIST).
    """
    from keras_gans.zoo import registry

    weights_dir = registry.checkout_weights_dir()
    if weights_dir is None:
        raise SystemExit("run this from a checkout: it reads zoo/weights/")
    names = names or [
        n for n in registry.list_models(pretrained=True) if registry.card(n).get("dataset") == "fashion_mnist"
    ]
    for name in names:
        entry = registry._entry(name)
        source = os.path.join(weights_dir, entry["file"])
        if not download.verify(source, entry["sha256"]):
            raise SystemExit(f"{source} does not match the {name} card")
        records = pack(entry, source)
        remote = REMOTE_NOTE if entry["task"] == "generator" else None
        card = update_card_file(os.path.join(registry.CARDS_DIR, f"{name}.json"), records, remote)
        registry._registry()[name] = card
        sizes = ", ".join(f"{k} {r['size']} B" for k, r in records.items())
        print(f"{name}: {sizes} (full artifact {entry['size']} B)")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
