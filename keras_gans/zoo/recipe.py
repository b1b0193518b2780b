"""Zoo recipes: ``zoo/<name>.toml`` files that retrain a zoo entry, read and checked.

A recipe names the family, its constructor config, the data and the training
length::

    name = "dcgan.fashion_mnist"
    family = "dcgan"
    [model]
    latent_dim = 128
    [data]
    dataset = "fashion_mnist"
    batch_size = 128
    [train]
    epochs = 10
    seed = 0

A paired family (Pix2Pix) names how its pairs are made in ``[data]``:
``pair = "edges"`` (or ``"ab"`` / ``"ba"``), ``features = ["input", "target"]``
for an ``.npz`` or TFDS source of pairs, ``edge_threshold`` (see
``kg.data.load_paired``); the runner trains and evaluates on those pairs.

Every key is checked when the recipe is read (``load_recipe``): a typo such
as ``epoch = 3`` is an error naming the key, its section and the known keys.
``kg.zoo.runner.run_recipe`` trains from it (``keras-gans zoo train NAME``);
``kg.zoo.publish`` writes a trained entry's weights, grid and card.
"""

import difflib
import os

RECIPE_SECTIONS = {"name", "family", "description", "model", "data", "train", "compile", "evaluate"}

#: Keys of each section of a GAN recipe (``[model]`` takes the family's
#: constructor arguments and ``[compile]`` its ``compile`` arguments).
GAN_SECTION_KEYS = {
    "data": ("dataset", "batch_size", "classes", "split", "image_size"),
    "train": ("epochs", "seed", "steps_per_epoch", "learning_rate", "checkpoint_every", "sample_every"),
    "evaluate": ("n", "split"),
}

#: ``[data]`` keys of a recipe of a paired family (Pix2Pix) beside ``GAN_SECTION_KEYS``:
#: the ``kg.data.load_paired`` arguments that make or pick the (input, target) pairs.
PAIRED_DATA_KEYS = ("pair", "features", "edge_threshold")

#: Keys of each section of a classifier (feature extractor) recipe.
CLASSIFIER_SECTION_KEYS = {
    "model": ("image_shape", "num_classes", "width", "feature_dim", "dropout", "dtype"),
    "data": ("dataset", "batch_size"),
    "train": ("epochs", "seed", "learning_rate"),
    "evaluate": ("split",),
    "compile": (),
}

#: ``keras.Model.compile`` arguments a GAN's ``compile`` passes on.
_MODEL_COMPILE_KEYS = ("jit_compile", "steps_per_execution", "run_eagerly")


def repo_zoo_dir():
    """The checkout's ``zoo/`` folder (beside the ``keras_gans`` package), or None."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "zoo")
    return path if os.path.isdir(path) else None


def find_recipe(name_or_path):
    """Return the path of a recipe given a zoo name or a ``.toml`` path."""
    if os.path.isfile(name_or_path):
        return name_or_path
    if name_or_path.endswith(".toml"):
        raise FileNotFoundError(f"recipe {name_or_path} does not exist.")
    zoo_dir = repo_zoo_dir()
    if zoo_dir is not None:
        path = os.path.join(zoo_dir, f"{name_or_path}.toml")
        if os.path.isfile(path):
            return path
        known = sorted(f[:-5] for f in os.listdir(zoo_dir) if f.endswith(".toml"))
        close = difflib.get_close_matches(name_or_path, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else f" Known: {', '.join(known)}."
        raise ValueError(f"no recipe named {name_or_path!r} in {zoo_dir}.{hint}")
    raise FileNotFoundError(
        f"no recipe {name_or_path!r}: recipes live in the repository's zoo/ folder; pass the .toml path."
    )


def _check_keys(path, section, given, known):
    """Raise one ``ValueError`` naming the first key of ``given`` not in ``known``."""
    unknown = sorted(str(k) for k in given if k not in known)
    if not unknown:
        return
    close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    where = "at the top level" if section is None else f"in [{section}]"
    listed = ", ".join(sorted(known)) if known else "none (leave the section out)"
    raise ValueError(
        f"recipe {path}: unknown key {unknown[0]!r} {where}{hint}: known keys are {listed}."
    )


def section_keys(family):
    """``{section: known keys}`` of a recipe of ``family`` (a GAN family or ``"classifier"``).

    Raises:
        ValueError: for an unknown family.
    """
    import inspect

    if family == "classifier":
        return {k: set(v) for k, v in CLASSIFIER_SECTION_KEYS.items()}
    from keras_gans.models import FAMILIES, get_family

    if family not in FAMILIES:
        known = sorted([*FAMILIES, "classifier"])
        close = difflib.get_close_matches(str(family), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown family {family!r}{hint}: use one of {', '.join(known)}.")
    cls = get_family(family)
    data_keys = set(GAN_SECTION_KEYS["data"])
    if cls.data_kind == "paired":
        data_keys |= set(PAIRED_DATA_KEYS)
    compile_keys = {
        p.name for p in inspect.signature(cls.compile).parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    return {
        "model": set(cls.config_keys()),
        "compile": compile_keys | set(_MODEL_COMPILE_KEYS),
        **{k: set(v) for k, v in GAN_SECTION_KEYS.items()},
        "data": data_keys,
    }


def load_recipe(name_or_path):
    """Parse and check a recipe; returns a dict with every section present.

    Every key is checked: an unknown section, or an unknown key inside
    ``[model]``, ``[data]``, ``[train]``, ``[compile]`` or ``[evaluate]`` (a
    typo such as ``epoch = 3``) is a ``ValueError`` naming the key, its
    section, the known keys and the closest one, never silently dropped.
    The known keys are ``GAN_SECTION_KEYS`` (plus the family's constructor
    and ``compile`` arguments, and ``PAIRED_DATA_KEYS`` in ``[data]`` for
    paired families such as Pix2Pix) for GAN families and
    ``CLASSIFIER_SECTION_KEYS`` for ``family = "classifier"``.

    Args:
        name_or_path: a zoo name (``"dcgan.fashion_mnist"``) or a ``.toml`` path.

    Returns:
        dict with keys name, family, model, data, train, compile, evaluate, path.

    Example:
        >>> load_recipe("dcgan.fashion_mnist")["family"]  # doctest: +SKIP
        'dcgan'
    """
    import tomllib

    path = find_recipe(name_or_path)
    with open(path, "rb") as f:
        try:
            recipe = tomllib.load(f)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"recipe {path} is not valid TOML: {err}") from None
    _check_keys(path, None, recipe, RECIPE_SECTIONS)
    for key in ("name", "family"):
        if key not in recipe:
            raise ValueError(f"recipe {path} has no {key!r}.")
    try:
        known = section_keys(recipe["family"])
    except ValueError as err:
        raise ValueError(f"recipe {path}: {err}") from None
    for key in ("model", "data", "train", "compile", "evaluate"):
        recipe.setdefault(key, {})
        if not isinstance(recipe[key], dict):
            raise ValueError(f"recipe {path}: {key} must be a [{key}] table, got {recipe[key]!r}.")
        _check_keys(path, key, recipe[key], known[key])
    split = recipe["data"].get("split", "train")
    if split != "train":
        raise ValueError(
            f"recipe {path}: [data] split = {split!r}: recipes train on the 'train' split "
            "(evaluation reads [evaluate] split)."
        )
    recipe["path"] = path
    return recipe
