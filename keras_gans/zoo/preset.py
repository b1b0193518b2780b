"""Presets: a whole GAN as a folder, the keras-hub shape, loadable from hubs.

A preset folder holds::

    config.json        keras.saving.serialize_keras_object(gan): networks, constructor
                       arguments, compile config
    model.weights.h5   gan.save_weights(): both networks and both optimizers' state
    metadata.json      versions, parameter counts, the card (metrics, protocol, recipe,
                       license, training) and "files": the sha256 and size of every file
    README.md          the model card (front matter for the hub, metrics, how to load it)
    samples.png        a sample grid from a fixed seed

``save_preset`` writes it atomically (a temporary folder renamed into place);
``load_preset`` reads one from a folder, a ``file://`` URL or
``hf://owner/repo[@revision]`` (``kg.zoo.hub``), checks every file against
the manifest in ``metadata.json`` and refuses, in one line, a file that does
not match: a tampered or truncated copy never reaches ``load_weights``.
``kg.zoo.load_gan`` and ``kg.zoo.load_generator`` take the same sources.

The manifest proves the files agree with the ``metadata.json`` they came
with; that ``metadata.json`` is the one its author published is what the
hub's revision pinning (``hf://owner/repo@<commit>``) adds.

Example:
    >>> import keras_gans as kg
    >>> gan = kg.zoo.load_gan("dcgan.fashion_mnist")  # doctest: +SKIP
    >>> kg.zoo.save_preset(gan, "presets/dcgan_fmnist", name="dcgan.fashion_mnist")  # doctest: +SKIP
    >>> gan = kg.zoo.load_gan("presets/dcgan_fmnist")  # doctest: +SKIP
"""

import datetime
import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request

from keras_gans.zoo import download

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
README_FILE = "README.md"
SAMPLES_FILE = "samples.png"

#: Files every preset has (besides ``metadata.json``), all in its manifest.
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)

#: Version of the preset layout, in ``metadata.json``.
FORMAT_VERSION = 1

#: Card fields a preset carries (the artifact fields are the preset's own files).
CARD_FIELDS = (
    "name", "family", "task", "description", "dataset", "metrics", "protocol", "recipe",
    "license", "training", "versions",
)


def is_source(name):
    """True when ``name`` is a preset source: ``hf://``, ``file://`` or an existing folder."""
    if not isinstance(name, (str, os.PathLike)):
        return False
    text = os.fspath(name)
    return text.startswith(("hf://", "file://")) or os.path.isdir(text)


def _parse_file_url(url):
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"{url}: file:// URLs name a local folder (file:///path), not host {parts.netloc!r}.")
    return urllib.request.url2pathname(parts.path)


def resolve(source, revision=None):
    """The local folder of a preset source and how messages name it.

    ``hf://`` sources are fetched into ``huggingface_hub``'s cache
    (``kg.zoo.hub.snapshot``); folders and ``file://`` URLs are used in place.

    Args:
        source: ``hf://owner/repo[@rev]``, ``file:///path`` or a folder path.
        revision: optional hub revision (``hf://`` only).

    Returns:
        ``(folder, where)``.
    """
    text = os.fspath(source)
    if text.startswith("hf://"):
        from keras_gans.zoo import hub

        return hub.snapshot(text, revision=revision)
    if revision is not None:
        raise ValueError(f"revision= applies to hf:// presets, not to the folder {text}.")
    folder = _parse_file_url(text) if text.startswith("file://") else text
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"preset folder {folder} does not exist: write one with kg.zoo.save_preset.")
    return os.path.abspath(folder), text


def read_metadata(folder, where=None):
    """``metadata.json`` of a preset folder, with its manifest checked for shape.

    Raises:
        FileNotFoundError: no ``metadata.json``.
        ValueError: it is not a keras-gans preset's metadata.
    """
    where = where or folder
    path = os.path.join(folder, METADATA_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where} is not a keras-gans preset: it has no {METADATA_FILE}.")
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"{where}: {METADATA_FILE} is not valid JSON ({err}).") from None
    files = meta.get("files") if isinstance(meta, dict) else None
    if not isinstance(files, dict) or any(f not in files for f in REQUIRED_FILES):
        raise ValueError(
            f"{where}: {METADATA_FILE} has no sha256 manifest of {', '.join(REQUIRED_FILES)}: "
            "not a preset written by kg.zoo.save_preset."
        )
    for file, record in files.items():
        # Names are joined to folders and hub URLs: plain names only.
        if not isinstance(file, str) or not file or "/" in file or "\\" in file or file.startswith("."):
            raise ValueError(f"{where}: {METADATA_FILE} lists an unsafe file name {file!r}.")
        if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
            raise ValueError(f"{where}: {METADATA_FILE} has no sha256 for {file}.")
    return meta


def verify_files(folder, meta, where=None):
    """Check every file of the manifest; raise ``DownloadError`` in one line at the first mismatch."""
    where = where or folder
    for file, record in sorted(meta["files"].items()):
        path = os.path.join(folder, file)
        if not os.path.isfile(path):
            raise download.DownloadError(f"{where}: {file} is missing from the preset.")
        size = os.path.getsize(path)
        if "size" in record and size != record["size"]:
            raise download.DownloadError(
                f"{where}: {file} is {size} bytes but {METADATA_FILE} says {record['size']}: refused "
                "(a truncated or tampered copy)."
            )
        if not download.verify(path, record["sha256"]):
            raise download.DownloadError(
                f"{where}: {file} does not match the sha256 in {METADATA_FILE} (expected "
                f"{record['sha256'][:16]}..., got {download.sha256_of(path)[:16]}...): refused "
                "(a tampered or corrupted copy)."
            )


def load_preset(source, revision=None, compile_model=True):
    """Load the GAN of a preset, verified, ready to sample or to continue training.

    Args:
        source: ``hf://owner/repo`` (``@rev`` pins a branch, tag or commit),
            a ``file://`` URL or a folder written by ``save_preset``.
        revision: optional hub revision (instead of ``@rev``).
        compile_model: bool; True compiles (from the saved compile config, or
            ``"auto"``) and restores both optimizers' state.

    Returns:
        The ``kg.models`` GAN.

    Raises:
        kg.zoo.DownloadError: a file does not match the manifest, or the hub
            could not be reached.
        ValueError: the folder is not a keras-gans preset.

    Example:
        >>> gan = load_preset("hf://owner/dcgan-fmnist@v1")  # doctest: +SKIP
        >>> gan.fit(kg.data.load("fashion_mnist", batch_size=64), epochs=1)  # doctest: +SKIP
    """
    import keras

    from keras_gans.models import GAN
    from keras_gans.zoo.schema import load_weights_checked

    folder, where = resolve(source, revision)
    meta = read_metadata(folder, where)
    verify_files(folder, meta, where)
    with open(os.path.join(folder, CONFIG_FILE)) as f:
        config = json.load(f)
    try:
        # safe_mode (the default) refuses Python code stored in the config.
        gan = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{where}: {CONFIG_FILE} does not build a model: {first}") from None
    if not isinstance(gan, GAN):
        raise ValueError(f"{where} holds a {type(gan).__name__}, not a keras-gans GAN.")
    if compile_model:
        if not gan.compiled:
            gan.compile()
        gan.build_optimizers()
    return load_weights_checked(gan, os.path.join(folder, WEIGHTS_FILE), f"the preset {where}")


def _card_of(gan, card, name):
    if card is None and name is not None:
        from keras_gans.zoo import registry

        card = registry.card(name)
    card = dict(card or {})
    out = {k: card[k] for k in CARD_FIELDS if k in card}
    out.setdefault("family", gan.family)
    out.setdefault("task", "generator")
    if name is not None:
        out.setdefault("name", name)
    return out


def _count_params(gan):
    return {key: int(getattr(gan, key).count_params()) for key in gan.network_keys}


def save_preset(gan, folder, name=None, card=None, overwrite=False, n_samples=64, seed=0, inputs=None):
    """Write a GAN as a preset folder, atomically; return the folder.

    Writes ``config.json``, ``model.weights.h5`` (both networks and, when
    built, both optimizers' state), ``metadata.json`` (versions, parameter
    counts, the card and the sha256 manifest), ``samples.png`` and a model
    card ``README.md`` into a temporary folder beside ``folder``, then
    renames it into place: a crash leaves the old preset or the new one.

    Args:
        gan: a ``kg.models`` GAN.
        folder: str, the preset folder.
        name: optional zoo name; its card fills ``card`` when that is None.
        card: optional dict of card fields (``metrics``, ``protocol``,
            ``recipe``, ``dataset``, ``license``, ``training``, ``description``).
        overwrite: bool; replace an existing preset at ``folder``.
        n_samples: int, images in ``samples.png`` (0: no grid).
        seed: int, seed of the sample grid.
        inputs: domain-A images in [-1, 1] (CycleGAN's grid translates them).

    Returns:
        str, ``folder``.

    Example:
        >>> kg.zoo.save_preset(gan, "presets/mine", card={"dataset": "fashion_mnist"})  # doctest: +SKIP
        'presets/mine'
    """
    import keras

    from keras_gans.models import GAN

    if not isinstance(gan, GAN):
        raise ValueError(f"save_preset takes a kg.models GAN, got {type(gan).__name__}.")
    folder = os.fspath(folder)
    target = os.path.abspath(folder)
    if os.path.exists(target):
        if not overwrite:
            raise FileExistsError(f"{folder} exists: pass overwrite=True to replace it.")
        if not os.path.isdir(target) or (os.listdir(target) and not os.path.isfile(os.path.join(target, METADATA_FILE))):
            raise FileExistsError(f"{folder} exists and is not a preset: refusing to replace it.")
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".tmp-{os.path.basename(target)}-", dir=parent)
    try:
        with open(os.path.join(tmp, CONFIG_FILE), "w") as f:
            json.dump(keras.saving.serialize_keras_object(gan), f, indent=2)
            f.write("\n")
        gan.save_weights(os.path.join(tmp, WEIGHTS_FILE))
        if n_samples:
            from keras_gans.callbacks import save_grid

            save_grid(gan.preview(n_samples, seed=seed, inputs=inputs), os.path.join(tmp, SAMPLES_FILE))
        entry = _card_of(gan, card, name)
        meta = {
            "format": "keras_gans.preset",
            "format_version": FORMAT_VERSION,
            "class_name": type(gan).__name__,
            "family": gan.family,
            "keras_version": keras.__version__,
            "keras_gans_version": _version(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "parameter_count": _count_params(gan),
            "optimizer_state": _optimizers_built(gan),
            "card": entry,
        }
        with open(os.path.join(tmp, README_FILE), "w") as f:
            f.write(model_card(meta, has_samples=bool(n_samples)))
        meta["files"] = {
            file: {"sha256": download.sha256_of(os.path.join(tmp, file)),
                   "size": os.path.getsize(os.path.join(tmp, file))}
            for file in sorted(os.listdir(tmp))
        }
        with open(os.path.join(tmp, METADATA_FILE), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        for file in os.listdir(tmp):
            os.chmod(os.path.join(tmp, file), 0o644)
        os.chmod(tmp, 0o755)
        _swap_in(tmp, target)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _optimizers_built(gan):
    # Every family's optimizers (CycleGAN has four), by role.
    return bool(gan.compiled) and any(getattr(o, "built", False) for o in gan.optimizers().values())


def _swap_in(tmp, target):
    # rename() cannot replace a non-empty folder: move the old one aside first, then drop it.
    if not os.path.exists(target):
        os.replace(tmp, target)
        return
    old = tempfile.mkdtemp(prefix=f".old-{os.path.basename(target)}-", dir=os.path.dirname(target))
    os.rmdir(old)
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _version():
    try:
        from importlib.metadata import version

        return version("keras-gans")
    except Exception:  # a checkout used without installing
        return "unknown"


def _format_metric(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def model_card(meta, has_samples=True):
    """The ``README.md`` of a preset: hub front matter, what it is, metrics, how to load it.

    Args:
        meta: the preset's metadata (``card``, ``parameter_count``, versions).
        has_samples: bool, whether ``samples.png`` is there to show.

    Returns:
        str, Markdown.
    """
    card = meta["card"]
    title = card.get("name") or f"{meta['class_name']} ({card.get('dataset', 'custom data')})"
    lines = ["---", "library_name: keras-gans", "tags:", "- keras", "- gan", f"- {meta['family']}"]
    if card.get("license"):
        lines.append(f"license: {card['license'].lower()}")
    if card.get("dataset"):
        lines += ["datasets:", f"- {card['dataset']}"]
    lines += ["---", "", f"# {title}", ""]
    if card.get("description"):
        lines += [card["description"], ""]
    counts = ", ".join(f"{k} {v:,}" for k, v in meta["parameter_count"].items())
    lines += [
        f"A keras-gans `{meta['class_name']}` preset: the whole GAN (networks"
        + (" and both optimizers' state" if meta.get("optimizer_state") else "")
        + f"), to sample or to continue training. Parameters: {counts}.",
        "",
    ]
    if has_samples:
        lines += [f"![samples]({SAMPLES_FILE})", ""]
    metrics = card.get("metrics") or {}
    if metrics:
        lines += ["## Metrics", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {_format_metric(v)} |" for k, v in metrics.items()]
        lines.append("")
    protocol = card.get("protocol") or {}
    if protocol:
        lines += ["How they were measured:", ""]
        lines += [f"- {k}: {_format_metric(v)}" for k, v in protocol.items()]
        lines.append("")
    if card.get("recipe"):
        lines += [f"Recipe: `{card['recipe']}` in the keras-gans repository (`keras-gans zoo train`).", ""]
    if card.get("training"):
        lines += ["Training: " + ", ".join(f"{k} {_format_metric(v)}" for k, v in card["training"].items()), ""]
    lines += [
        "## Use",
        "",
        "```python",
        "import keras_gans as kg",
        'gan = kg.zoo.load_gan("hf://OWNER/REPO")        # every file checked against metadata.json',
        'generator = kg.zoo.load_generator("hf://OWNER/REPO")',
        "```",
        "",
        f"Written with keras-gans {meta['keras_gans_version']} and Keras {meta['keras_version']} "
        f"on {meta['date']}. `metadata.json` holds the card and the sha256 of every file.",
        "",
    ]
    return "\n".join(lines)
