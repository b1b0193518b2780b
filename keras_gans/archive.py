"""Extracting zip and tar archives without letting them write outside their folder."""

import os
import shutil
import stat
import tarfile
import tempfile
import zipfile


def _check_name(name, archive):
    """Return the safe relative path of member ``name``, or raise ``ValueError``."""
    text = name.replace("\\", "/")
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":") or "\x00" in text:
        raise ValueError(f"refusing to extract {archive}: member {name!r} has an absolute path.")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"refusing to extract {archive}: member {name!r} points outside the folder ('..').")
    return os.path.join(*parts) if parts else ""


def _members(archive):
    """Yield ``(relative path, kind, opener)`` for each member; kind is 'dir' or 'file'."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise ValueError(f"refusing to extract {archive}: member {info.filename!r} is a link.")
                rel = _check_name(info.filename, archive)
                kind = "dir" if info.is_dir() else "file"
                yield rel, kind, (lambda info=info: zf.open(info))
        return
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                if not (member.isfile() or member.isdir()):
                    raise ValueError(
                        f"refusing to extract {archive}: member {member.name!r} is a link or a device, "
                        "not a file or folder."
                    )
                rel = _check_name(member.name, archive)
                kind = "dir" if member.isdir() else "file"
                yield rel, kind, (lambda member=member: tf.extractfile(member))
        return
    raise ValueError(f"{archive} is not a zip or tar archive (or it is truncated).")


def safe_extract(archive, dest):
    """Extract a zip or tar archive into the new folder ``dest``, all or nothing.

    Every member is checked before anything is written: absolute paths, ``..``
    components, links and device files are refused with ``ValueError`` (a
    "zip slip" cannot write outside ``dest``). Files are extracted into a
    temporary folder beside ``dest`` that is renamed to ``dest`` only once
    everything is out, so a failure leaves no partial folder. Nothing from
    the archive is executed, and file modes are not copied.

    Args:
        archive: str, path of a ``.zip`` or ``.tar[.gz|.bz2|.xz]`` file.
        dest: str, the folder to create (it must not exist).

    Returns:
        ``dest``.

    Example:
        >>> safe_extract("weights.zip", "/tmp/weights")  # doctest: +SKIP
        '/tmp/weights'
    """
    archive, dest = os.fspath(archive), os.fspath(dest)
    if not os.path.isfile(archive):
        raise FileNotFoundError(f"{archive} does not exist.")
    if os.path.exists(dest):
        raise FileExistsError(f"{dest} already exists: extract into a new folder.")
    # Validate every name first, so a bad member late in the archive writes nothing.
    for _ in _members(archive):
        pass
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-extract-", dir=parent)
    try:
        for rel, kind, opener in _members(archive):
            if not rel and kind == "file":
                raise ValueError(f"refusing to extract {archive}: a file member has an empty name.")
            target = os.path.join(tmp, rel)
            if kind == "dir":
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with opener() as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    return dest
