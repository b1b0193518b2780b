"""The zoo registry: entries by name, their cards, verified artifacts and models.

Entries come from the JSON cards in ``keras_gans/zoo/cards/`` (read on first
use) plus whatever ``register`` adds at run time. An artifact is looked up,
in order, in a checkout's ``zoo/weights/`` folder, in the weights packaged in
the wheel (``kg.zoo.packaged``), in the cache (``$KERAS_GANS_HOME``), then
downloaded from the mirror ``$KERAS_GANS_ZOO_URL`` names or the card's own
``url`` (there is no default host); every copy is checked against the card's
sha256 before use. ``load_gan``/``load_generator`` also take presets:
``hf://owner/repo[@revision]``, a folder or a ``file://`` URL (``kg.zoo.preset``).
Weights are loaded with ``load_weights`` into a model built from the card's
config, so nothing in a downloaded file is executed.
"""

import copy
import difflib
import json
import os
import warnings

from keras_gans.saving import write_json_atomic
from keras_gans.zoo import download, packaged
from keras_gans.zoo.schema import build_model, count_params, load_weights_checked, validate_card

#: Folder of the cards shipped with the package.
CARDS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cards")

# name -> card dict; None until the shipped cards are read.
_entries = None


def repo_root():
    """The checkout holding this package (two levels above ``keras_gans/zoo``)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def checkout_weights_dir():
    """A checkout's ``zoo/weights`` folder, or None in an installed package."""
    path = os.path.join(repo_root(), "zoo", "weights")
    return path if os.path.isdir(path) else None


def _read_cards(folder):
    cards = {}
    for file in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not file.endswith(".json") or file.startswith("."):
            continue
        path = os.path.join(folder, file)
        try:
            with open(path) as f:
                entry = json.load(f)
            entry = validate_card(entry)
        except ValueError as err:
            raise ValueError(f"zoo card {path} is invalid: {err}") from None
        if entry["name"] != file[: -len(".json")]:
            raise ValueError(f"zoo card {path} is named {entry['name']!r}: the file must be <name>.json.")
        cards[entry["name"]] = entry
    return cards


def _registry():
    global _entries
    if _entries is None:
        _entries = _read_cards(CARDS_DIR)
    return _entries


def _entry(name):
    entries = _registry()
    if not isinstance(name, str):
        raise ValueError(f"zoo names are strings like 'dcgan.fashion_mnist', got {type(name).__name__}.")
    if name not in entries:
        close = difflib.get_close_matches(name, list(entries), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(sorted(entries))}."
        raise ValueError(f"unknown zoo entry {name!r}: {hint} (kg.zoo.list_models() lists them)")
    return entries[name]


def list_models(family=None, pretrained=None):
    """Names of the zoo entries, sorted.

    Args:
        family: optional family to keep (``"dcgan"``, ``"cgan"``, ``"classifier"``...).
        pretrained: optional bool: True keeps entries with weights, False
            keeps recipe-only entries.

    Returns:
        list of str.

    Example:
        >>> import keras_gans as kg
        >>> "classifier.fashion_mnist" in kg.zoo.list_models(pretrained=True)
        True
    """
    return sorted(
        name
        for name, entry in _registry().items()
        if (family is None or entry["family"] == family)
        and (pretrained is None or entry["pretrained"] == bool(pretrained))
    )


def url_of(entry):
    """Where an entry's artifact is downloaded from (None for recipe-only entries).

    ``$KERAS_GANS_ZOO_URL`` (a mirror) wins over a card's own ``url``; with
    neither there is no remote (None): no default host is assumed.
    """
    if "file" not in entry:
        return None
    if not os.environ.get("KERAS_GANS_ZOO_URL") and entry.get("url"):
        return entry["url"]
    base = download.base_url()
    return None if base is None else f"{base}/{entry['file']}"


def card(name):
    """The card of a zoo entry: a copy, with ``url`` filled in.

    Args:
        name: str, zoo name (``"dcgan.fashion_mnist"``).

    Returns:
        dict (changing it changes nothing in the registry).

    Example:
        >>> import keras_gans as kg
        >>> kg.zoo.card("classifier.fashion_mnist")["task"]
        'feature_extractor'
    """
    entry = copy.deepcopy(_entry(name))
    url = url_of(entry)
    if url is not None:
        entry["url"] = url
    return entry


def register(card_dict):
    """Add an entry to the registry (for this process).

    Args:
        card_dict: a card dict (see ``kg.zoo.card``); it is validated and copied.

    Returns:
        str, the entry's name.

    Raises:
        ValueError: if the card is invalid or its name is already registered.

    Example:
        >>> kg.zoo.register({"name": "dcgan.mine", "family": "dcgan", "task": "generator",
        ...                  "config": {"latent_dim": 64}, "pretrained": False})  # doctest: +SKIP
        'dcgan.mine'
    """
    entry = validate_card(card_dict)
    entries = _registry()
    if entry["name"] in entries:
        raise ValueError(
            f"zoo entry {entry['name']!r} is already registered: pick another name "
            "(or kg.zoo.unregister it first)."
        )
    entries[entry["name"]] = entry
    return entry["name"]


def unregister(name):
    """Remove an entry from the registry (for this process); returns its card."""
    _entry(name)
    return _registry().pop(name)


def local_path(name):
    """The path of a local copy of an entry's artifact (checkout, then cache), or None.

    The copy is not verified here; ``fetch`` verifies.
    """
    entry = _entry(name)
    if "file" not in entry:
        return None
    candidates = []
    weights_dir = checkout_weights_dir()
    if weights_dir is not None:
        candidates.append(os.path.join(weights_dir, entry["file"]))
    candidates.append(os.path.join(download.cache_dir(), entry["file"]))
    return next((p for p in candidates if os.path.isfile(p)), None)


def _recipe_only_error(entry):
    return ValueError(
        f"zoo entry {entry['name']} has no pretrained weights (recipe only): train them with "
        f"`keras-gans zoo train {entry['name']}`."
    )


def fetch(name, verbose=None):
    """Return the local path of an entry's verified artifact, downloading it if needed.

    Looks in a checkout's ``zoo/weights/``, then the weights packaged in the
    wheel (feature extractors ship their whole artifact; GAN entries ship
    only their generators, which ``load_generator`` uses), then the cache
    (``$KERAS_GANS_HOME``), then downloads into the cache from the mirror
    ``$KERAS_GANS_ZOO_URL`` names or the card's own ``url``. There is no
    default host: with neither, a GAN entry's full artifact raises
    ``DownloadError`` saying so. Every copy must match the card's sha256; a
    corrupted cache entry is fetched again. With ``KERAS_GANS_OFFLINE=1``
    nothing is downloaded.

    Args:
        name: str, zoo name.
        verbose: None (progress bar for large downloads on a terminal), True or False.

    Returns:
        str, path of the verified file.

    Raises:
        ValueError: unknown or recipe-only entry.
        FileNotFoundError: offline and no verified local copy.
        kg.zoo.DownloadError: the download failed or did not verify.

    Example:
        >>> import keras_gans as kg
        >>> kg.zoo.fetch("classifier.fashion_mnist").endswith(".weights.h5")
        True
    """
    entry = _entry(name)
    if not entry["pretrained"] or "file" not in entry:
        raise _recipe_only_error(entry)
    file, sha256 = entry["file"], entry["sha256"]
    weights_dir = checkout_weights_dir()
    if weights_dir is not None:
        path = os.path.join(weights_dir, file)
        if download.verify(path, sha256):
            return path
        if os.path.isfile(path):
            warnings.warn(
                f"{path} does not match the sha256 of the {name} card (retrained without "
                "rewriting the card, or damaged); using the cache or a download instead.",
                stacklevel=2,
            )
    shipped = packaged.artifact_path(entry)
    if shipped is not None:
        return shipped
    path = os.path.join(download.cache_dir(), file)
    if download.verify(path, sha256):
        return path
    if download.offline():
        state = "is corrupted (wrong sha256)" if os.path.exists(path) else "is not cached"
        raise FileNotFoundError(
            f"KERAS_GANS_OFFLINE is set and {name} ({file}) {state} in {download.cache_dir()}: "
            "unset it to download, or copy the verified file there."
        )
    url = url_of(entry)
    if url is None:
        raise download.DownloadError(
            f"{name} ({file}) is not in the wheel, a checkout or the cache, and no remote is set: set "
            "KERAS_GANS_ZOO_URL to a mirror holding it (a checkout's zoo/weights/ is one), or load a "
            "published preset with kg.zoo.load_gan('hf://owner/repo')."
        )
    return download.download(url, path, sha256, size=entry.get("size"), verbose=verbose)


def get_model(name, **overrides):
    """An untrained model with an entry's config, ready to ``fit``.

    Generator entries give a ``kg.models`` GAN compiled with the family's
    ``compile("auto")`` defaults (the optimizers and loss the zoo's recipes
    train with), so ``gan.fit(kg.data.load(...))`` starts training at once;
    call ``compile(...)`` again to train differently. Feature-extractor
    entries (``classifier.*``) give the bare network (images -> logits),
    not compiled, so that ``load_weights(kg.zoo.fetch(name))`` fills it
    without optimizer-state warnings; compile it with your own optimizer and
    ``SparseCategoricalCrossentropy(from_logits=True)`` (what
    ``kg.zoo.train_classifier`` does) before fitting it.

    Nothing is downloaded: for the pretrained weights use ``load_gan`` or
    ``load_generator``.

    Args:
        name: str, zoo name.
        **overrides: constructor arguments replacing the card's (the card
            itself is not changed).

    Returns:
        A compiled ``kg.models`` GAN (generator entries) or an uncompiled
        ``keras.Model`` (feature extractors).

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.zoo.get_model("dcgan.cifar10", width=16)
        >>> gan.image_shape, gan.compiled
        ((32, 32, 3), True)
        >>> gan.fit(kg.data.load("cifar10", batch_size=128), epochs=1)  # doctest: +SKIP
    """
    entry = _entry(name)
    model = build_model(entry, **overrides)
    if entry["task"] == "generator":
        model.compile()
    return model


def _with_weights(name, compile_model, generator_only=False):
    entry = _entry(name)
    if entry["task"] != "generator":
        raise ValueError(
            f"zoo entry {name} is a {entry['task'].replace('_', ' ')}, not a GAN: "
            "use kg.zoo.get_model(name) and load_weights(kg.zoo.fetch(name))."
        )
    if not entry["pretrained"]:
        raise _recipe_only_error(entry)
    if generator_only is not False and packaged.networks_of(entry):
        path = None
        if generator_only is None:
            try:
                path = fetch(name)
            except (FileNotFoundError, download.DownloadError) as err:
                warnings.warn(
                    f"{err} Using the generator packaged in keras-gans, with an untrained "
                    "discriminator and fresh optimizers: fine for sampling and export, not for fine-tuning.",
                    stacklevel=3,
                )
        if path is None:
            gan = build_model(entry)
            if compile_model:
                gan.compile()
            return packaged.load_networks(gan, entry)
    path = fetch(name)
    gan = build_model(entry)
    if compile_model:
        gan.compile()
        gan.build_optimizers()
    return load_weights_checked(gan, path, f"zoo entry {name} (stale card or file?)")


def load_generator(name, revision=None):
    """The pretrained generator of an entry or a preset, ready to sample.

    A zoo entry's generator comes from the weights packaged in the wheel
    when it ships them (no network needed), else from its full artifact
    (see ``fetch``). A preset (``hf://owner/repo``, ``hf://owner/repo@rev``,
    a folder or ``file://`` URL written by ``kg.zoo.save_preset``) is
    loaded whole and its generator returned.

    Args:
        name: str, zoo name of a generator entry, or a preset source.
        revision: optional str, the hub revision (branch, tag or commit) of
            an ``hf://`` preset.

    Returns:
        ``keras.Model``: latent vectors (and labels, for conditional entries)
        to images in [-1, 1]; for CycleGAN entries, images A to images B.

    Example:
        >>> import keras_gans as kg, numpy as np
        >>> g = kg.zoo.load_generator("dcgan.fashion_mnist")  # doctest: +SKIP
        >>> g(np.zeros((1, g.input_shape[-1]), "float32")).shape  # doctest: +SKIP
        TensorShape([1, 28, 28, 1])
    """
    if _is_preset(name):
        from keras_gans.zoo import preset

        # The EMA generator when the GAN keeps one: the network that samples.
        return preset.load_preset(name, revision=revision, compile_model=False).sampling_generator()
    if revision is not None:
        raise ValueError(f"revision= applies to hf:// presets, not to the zoo entry {name!r}.")
    return _with_weights(name, compile_model=False, generator_only=True).sampling_generator()


def load_gan(name, revision=None, generator_only=None):
    """The whole pretrained GAN of an entry or a preset, compiled to fine-tune.

    Sources: a zoo name (its full artifact, see ``fetch``), or a preset
    written by ``kg.zoo.save_preset``: ``hf://owner/repo`` (through
    ``huggingface_hub``: its cache, locking and ``HF_ENDPOINT``; pin a
    revision with ``hf://owner/repo@rev`` or ``revision=``), a folder, or a
    ``file://`` URL. Every preset file is checked against the sha256
    manifest in its ``metadata.json``.

    A zoo entry whose full artifact cannot be reached (a pip install with no
    ``KERAS_GANS_ZOO_URL`` mirror, or offline) falls back, with a warning, to
    the generator packaged in the wheel: the discriminator is untrained and
    the optimizers fresh, fine for ``generate`` and export only.

    Args:
        name: str, zoo name of a generator entry, or a preset source.
        revision: optional str, hub revision of an ``hf://`` preset.
        generator_only: None (full artifact, else the packaged generator with
            a warning), True (the packaged generator, no download), or False
            (the full artifact or an error).

    Returns:
        A compiled ``kg.models`` GAN with the entry's weights (and optimizer
        state, when the artifact has it).

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.zoo.load_gan("dcgan.fashion_mnist")  # doctest: +SKIP
        >>> gan.fit(kg.data.load("fashion_mnist", batch_size=64), epochs=1)  # doctest: +SKIP
        >>> gan = kg.zoo.load_gan("hf://owner/repo@v1")  # doctest: +SKIP
    """
    if _is_preset(name):
        from keras_gans.zoo import preset

        if generator_only:
            raise ValueError("generator_only applies to zoo entries; a preset holds the whole GAN.")
        return preset.load_preset(name, revision=revision)
    if revision is not None:
        raise ValueError(f"revision= applies to hf:// presets, not to the zoo entry {name!r}.")
    return _with_weights(name, compile_model=True, generator_only=generator_only)


def _is_preset(name):
    # A registered zoo name wins over a folder of the same name in the working directory.
    if not isinstance(name, (str, os.PathLike)):
        return False
    text = os.fspath(name)
    if "://" in text:
        return True
    if text in _registry():
        return False
    return os.path.isdir(text)


def write_card(name, weights_path, cards_dir=None, packaged_dir=None, ship=False, **fields):
    """Write the card of an entry, measuring its artifact.

    Computes ``sha256``, ``size`` and ``num_params`` (by building the model
    from ``fields["config"]`` and loading ``weights_path`` into it, which also
    checks that the file fits the config), writes
    ``<cards_dir>/<name>.json`` atomically, and registers (or replaces) the
    entry in this process. With ``weights_path=None`` it writes a recipe-only
    card (``pretrained: false``, ``num_params`` of the untrained model).

    Args:
        name: str, zoo name.
        weights_path: str, the artifact (``gan.save_weights`` output, or the
            network's weights for feature extractors); None for a recipe-only
            entry.
        cards_dir: folder of the card (default: the package's cards folder).
        packaged_dir: where an entry that ships in the wheel gets its repacked
            generator weights (default: ``weights/`` beside ``cards_dir``).
        ship: bool, pack the entry into ``packaged_dir`` even if it did not
            ship before (an entry that ships keeps shipping either way).
        **fields: the other card fields: ``family``, ``task``, ``config``,
            ``dataset``, ``metrics``, ``protocol``, ``recipe``, ``license``,
            ``training``, ``versions``, ``pretrained`` (default True).

    Returns:
        dict, the card written.

    Example:
        >>> kg.zoo.write_card("dcgan.fashion_mnist", "zoo/weights/dcgan.fashion_mnist.weights.h5",
        ...                   family="dcgan", task="generator",
        ...                   config={"latent_dim": 64, "image_shape": [28, 28, 1], "width": 32},
        ...                   dataset="fashion_mnist")  # doctest: +SKIP
    """
    if fields.get("name", name) != name:
        raise ValueError(f"write_card got name {name!r} and fields name {fields['name']!r}.")
    for key in ("file", "sha256", "size", "num_params"):
        if key in fields:
            raise ValueError(f"write_card measures {key} from the artifact: do not pass it.")
    if weights_path is None:
        entry = validate_card({"name": name, "task": "generator", **fields, "pretrained": False})
        entry["num_params"] = count_params(build_model(entry))
    else:
        if not os.path.isfile(weights_path):
            raise FileNotFoundError(
                f"{weights_path} does not exist: save the weights before writing the card."
            )
        entry = {"name": name, "task": "generator", "pretrained": True, **fields}
        entry["file"] = os.path.basename(weights_path)
        entry["sha256"] = download.sha256_of(weights_path)
        entry["size"] = os.path.getsize(weights_path)
        entry["num_params"] = 0  # placeholder so validation passes before the model is built
        entry = validate_card(entry)
        model = load_weights_checked(build_model(entry), weights_path, f"the config given for {name}")
        entry["num_params"] = count_params(model)
        if ship or "packaged" in _registry().get(name, {}) or "packaged" in fields:
            # An entry that ships in the wheel keeps shipping: repack from the new artifact.
            folder = packaged_dir or os.path.join(os.path.dirname(os.path.abspath(cards_dir or CARDS_DIR)), "weights")
            entry["packaged"] = packaged.pack(entry, weights_path, folder)
            if entry["task"] == "generator":
                entry["remote"] = packaged.REMOTE_NOTE
            entry = validate_card(entry)
    cards_dir = cards_dir or CARDS_DIR
    os.makedirs(cards_dir, exist_ok=True)
    write_json_atomic(os.path.join(cards_dir, f"{name}.json"), entry, sort_keys=False)
    _registry()[name] = entry
    return copy.deepcopy(entry)
