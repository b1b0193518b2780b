"""``hf://owner/repo`` presets, through ``huggingface_hub``, with our sha256 manifest on top.

Downloads use ``huggingface_hub.hf_hub_download``: its cache (``HF_HUB_CACHE``,
or ``$HF_HOME/hub``), its file locking between processes, and its endpoint,
``HF_ENDPOINT`` (read when each call is made, so a mirror or a private hub set
after import is honoured). A source resolves to one commit first (the
``X-Repo-Commit`` of ``metadata.json`` at the requested revision), and every
file comes from that commit, so a push landing halfway through a download
cannot mix two versions. Each file is then checked against the sha256
manifest in ``metadata.json`` (``kg.zoo.preset``): a tampered or truncated
file is refused in one line. ``KERAS_GANS_OFFLINE=1`` (or ``HF_HUB_OFFLINE``)
uses the cache only (a branch resolves to the commit it had when last fetched).

Revisions: ``hf://owner/repo`` (branch ``main``), ``hf://owner/repo@v1`` (a
tag or branch), ``hf://owner/repo@<40-hex commit>`` (pinned: the bytes can
never change under you), or ``revision=`` instead of ``@``.

Install with ``pip install keras-gans[hub]``.

Example:
    >>> import keras_gans as kg
    >>> kg.zoo.save_preset(gan, "presets/mine")  # doctest: +SKIP
    >>> kg.zoo.upload("presets/mine", "hf://me/dcgan-fmnist")  # doctest: +SKIP
    'hf://me/dcgan-fmnist@5f1c...'
    >>> gan = kg.zoo.load_gan("hf://me/dcgan-fmnist@5f1c...")  # doctest: +SKIP
"""

import os
import re

from keras_gans.zoo import download

_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def parse(uri, revision=None):
    """Split ``hf://owner/repo[@rev]`` into ``(repo_id, revision)``.

    Args:
        uri: str.
        revision: optional revision given apart (must agree with ``@rev``).

    Returns:
        ``(repo_id, revision or None)``.

    Example:
        >>> parse("hf://me/dcgan@v1")
        ('me/dcgan', 'v1')
    """
    if not isinstance(uri, str) or not uri.startswith("hf://"):
        raise ValueError(f"hub presets are named hf://owner/repo, got {uri!r}.")
    rest = uri[len("hf://"):].rstrip("/")
    repo_id, _, at = rest.partition("@")
    if not _REPO.match(repo_id):
        raise ValueError(f"{uri}: expected hf://owner/repo or hf://owner/repo@revision.")
    if at and revision and at != revision:
        raise ValueError(f"{uri} pins revision {at!r} but revision={revision!r} was also given.")
    return repo_id, (revision or at or None)


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise ImportError(
            "hf:// presets need huggingface_hub: pip install 'keras-gans[hub]'."
        ) from None
    return huggingface_hub


def endpoint():
    """The hub endpoint: ``$HF_ENDPOINT`` when set, else None (huggingface_hub's default)."""
    value = os.environ.get("HF_ENDPOINT", "").strip()
    return value.rstrip("/") or None


def cache_dir():
    """The hub cache: ``$HF_HUB_CACHE``, ``$HF_HOME/hub``, or None (huggingface_hub's default)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return None


def _offline():
    return download.offline() or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")


def _one_line(err):
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:300]}" if text else type(err).__name__


def _hub_errors(hf):
    errors = [OSError, ValueError]
    for name in ("HfHubHTTPError", "EntryNotFoundError", "RepositoryNotFoundError", "RevisionNotFoundError",
                 "LocalEntryNotFoundError", "OfflineModeIsEnabled"):
        cls = getattr(hf.errors if hasattr(hf, "errors") else hf.utils, name, None)
        if isinstance(cls, type):
            errors.append(cls)
    # The HTTP client's own errors (connection refused, timeouts): huggingface_hub has used
    # requests, httpx and httpx2 across releases.
    import importlib

    for module, name in (("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException")):
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def snapshot(uri, revision=None):
    """Fetch a preset's files at one commit into the hub cache; return ``(folder, where)``.

    Only the files in the manifest of ``metadata.json`` are fetched, all
    from the commit ``metadata.json`` resolved to; each is verified against
    its sha256 by ``kg.zoo.preset.verify_files`` (``load_preset`` calls it).

    Args:
        uri: ``hf://owner/repo[@rev]``.
        revision: optional branch, tag or commit.

    Returns:
        ``(folder, where)``: the cache folder of that commit, and
        ``hf://owner/repo@<commit>`` for messages.

    Raises:
        kg.zoo.DownloadError: the hub, the repository, the revision or a
            file could not be reached (one line, with the reason).
    """
    from keras_gans.zoo import preset

    repo_id, rev = parse(uri, revision)
    rev = rev or "main"
    hf = _hub()
    offline = _offline()
    common = {"repo_id": repo_id, "repo_type": "model", "cache_dir": cache_dir(), "local_files_only": offline}
    if endpoint() is not None:
        common["endpoint"] = endpoint()
    shown = f"hf://{repo_id}@{rev}"
    try:
        # metadata.json at the revision asked for: huggingface_hub stores it under
        # snapshots/<commit>/ and records the branch -> commit ref (for offline use later).
        meta_path = hf.hf_hub_download(filename=preset.METADATA_FILE, revision=rev, **common)
        folder = os.path.dirname(meta_path)
        commit = os.path.basename(folder)
        if not _COMMIT.match(commit):
            raise download.DownloadError(f"{shown}: the hub cache put {meta_path} outside a commit snapshot.")
        where = f"hf://{repo_id}@{commit}"
        meta = preset.read_metadata(folder, where)
        for file in sorted(meta["files"]):
            path = hf.hf_hub_download(filename=file, revision=commit, **common)
            if os.path.dirname(path) != folder:
                raise download.DownloadError(f"{where}: {file} landed outside the snapshot folder.")
    except download.DownloadError:
        raise
    except _hub_errors(hf) as err:
        hint = " (KERAS_GANS_OFFLINE is set: only the hub cache is used)" if offline else ""
        raise download.DownloadError(f"cannot fetch {shown}: {_one_line(err)}{hint}") from None
    return folder, where


def upload(folder, uri, revision=None, commit_message=None, private=None, token=None):
    """Push a preset folder to ``hf://owner/repo``; return the pinned source of the commit.

    The folder is verified against its own manifest first, so a damaged
    preset is never published. The repository is created if it does not
    exist (``private`` applies then), and the folder is committed with
    ``huggingface_hub.HfApi.upload_folder`` to ``revision`` (default
    ``main``), in one commit. The hub says which files are large (the
    weights: ``*.h5`` is in a new repository's ``.gitattributes``; any file
    of 10 MiB or more): those travel through Xet when ``hf_xet`` is installed
    (huggingface_hub's default on x86-64 and arm64), else through the LFS
    batch API, before the commit names them; weights the hub already holds
    are not sent again. The token is ``token`` or huggingface_hub's
    (``HF_TOKEN`` or ``huggingface-cli login``).

    Args:
        folder: str, a folder written by ``kg.zoo.save_preset``.
        uri: ``hf://owner/repo`` (``@branch`` picks the branch).
        revision: optional branch instead of ``@branch``.
        commit_message: str (default: ``"Upload keras-gans preset"``).
        private: optional bool, for a repository created here.
        token: optional hub token.

    Returns:
        str, ``hf://owner/repo@<commit>``: load exactly this upload with it.

    Example:
        >>> kg.zoo.upload("presets/mine", "hf://me/dcgan-fmnist")  # doctest: +SKIP
        'hf://me/dcgan-fmnist@0123456789abcdef0123456789abcdef01234567'
    """
    from keras_gans.zoo import preset

    repo_id, rev = parse(uri, revision)
    folder = os.fspath(folder)
    meta = preset.read_metadata(folder)
    preset.verify_files(folder, meta)
    hf = _hub()
    api = hf.HfApi(endpoint=endpoint(), token=token)
    try:
        api.create_repo(repo_id, repo_type="model", exist_ok=True, private=private)
        info = api.upload_folder(
            repo_id=repo_id,
            repo_type="model",
            folder_path=folder,
            revision=rev,
            commit_message=commit_message or "Upload keras-gans preset",
            allow_patterns=sorted(meta["files"]) + [preset.METADATA_FILE],
        )
    except _hub_errors(hf) as err:
        raise download.DownloadError(f"cannot upload {folder} to hf://{repo_id}: {_one_line(err)}") from None
    except RuntimeError as err:
        # huggingface_hub wraps a failed LFS transfer ("Error while uploading 'model.weights.h5'") around
        # the hub's error: report both, in one line. Nothing was committed.
        if not isinstance(err.__cause__, _hub_errors(hf)):
            raise
        raise download.DownloadError(
            f"cannot upload {folder} to hf://{repo_id}: {_one_line(err)} ({_one_line(err.__cause__)}); "
            "nothing was committed"
        ) from None
    return f"hf://{repo_id}@{info.oid}"
