"""File-system helpers for exports: write beside the target, rename at the end.

An export is either complete at its final path or absent: every artifact is
written into a temporary sibling of its target (same folder, so the final
``os.rename`` never crosses a file system) and renamed only once it is whole.
On any error the temporary path and the folders the export created are
removed. Temporary names start with a dot, so TF Serving, which only loads
numeric version folders, never sees a half-written version.
"""

import contextlib
import os
import shutil
import tempfile


def _first_existing(path):
    """The closest existing ancestor of ``path`` (``path`` itself if it exists)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def make_folder(path, what="folder"):
    """Create ``path`` (and its parents) if needed; return the folders created.

    Args:
        path: str, the folder to create.
        what: str, how the error messages name the folder.

    Returns:
        List of the folders created, deepest last (remove them in reverse on
        failure with ``remove_created``).

    Raises:
        ValueError: a part of ``path`` is a file.
        PermissionError: a folder on the way is not writable.
    """
    path = os.path.abspath(path)
    existing = _first_existing(path)
    if not os.path.isdir(existing):
        raise ValueError(
            f"cannot write the {what} {path}: {existing} is a file, not a folder; "
            "pick another output folder."
        )
    if existing == path:
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(
                f"cannot write into the {what} {path}: permission denied; pick a writable folder."
            )
        return []
    missing = []
    probe = path
    while probe != existing:
        missing.append(probe)
        probe = os.path.dirname(probe)
    missing.reverse()
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(
            f"cannot create the {what} {path}: {existing} is not writable (permission "
            "denied); pick a writable folder."
        )
    created = []
    try:
        for folder in missing:
            os.mkdir(folder)
            created.append(folder)
    except OSError as err:
        remove_created(created)
        raise PermissionError(
            f"cannot create the {what} {path}: {err.strerror or err}; pick a writable folder."
        ) from None
    return created


def remove_created(folders):
    """Remove folders made by ``make_folder`` (deepest first) if they are empty."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


@contextlib.contextmanager
def atomic_folder(target):
    """Yield a temporary folder next to ``target``; rename it to ``target`` on success.

    Args:
        target: str, the final folder; must not exist (a folder that appears
            meanwhile makes the rename fail instead of being replaced).

    Yields:
        str, the temporary folder to fill.

    Example:
        >>> with atomic_folder("serving/dcgan/3") as tmp:  # doctest: +SKIP
        ...     write_everything_into(tmp)
    """
    target = os.path.abspath(target)
    created = make_folder(os.path.dirname(target), "export folder")
    try:
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.tmp-", dir=os.path.dirname(target))
    except OSError as err:
        remove_created(created)
        raise PermissionError(f"cannot write {target}: {err.strerror or err}; pick a writable folder.") from None
    try:
        yield tmp
        # mkdtemp makes 0700 folders; a server in another account (the TF
        # Serving container) must read the export, like any folder we create.
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, target)
        except OSError:
            if os.path.exists(target):
                raise FileExistsError(
                    f"{target} appeared while exporting: export again to the next version."
                ) from None
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_created(created)
        raise


@contextlib.contextmanager
def atomic_file(target, overwrite=False):
    """Yield a temporary file path next to ``target``; move it to ``target`` on success.

    Args:
        target: str, the final file.
        overwrite: bool, replace an existing ``target`` (atomically).

    Yields:
        str, the temporary file path to write.
    """
    target = os.path.abspath(target)
    if os.path.isdir(target):
        raise ValueError(f"{target} is a folder: pass a file path ending in the file's extension.")
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(f"{target} already exists: remove it, pick another path or pass overwrite=True.")
    created = make_folder(os.path.dirname(target), "output folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.tmp-", dir=os.path.dirname(target))
    except OSError as err:
        remove_created(created)
        raise PermissionError(f"cannot write {target}: {err.strerror or err}; pick a writable folder.") from None
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        if overwrite:
            os.replace(tmp, target)
        else:
            # A hard link fails when the target exists, so a file written
            # meanwhile by someone else is never replaced.
            try:
                os.link(tmp, target)
                os.unlink(tmp)
            except FileExistsError:
                raise FileExistsError(f"{target} appeared while exporting: pick another path.") from None
            except OSError:
                # File systems without hard links: a plain rename.
                os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        remove_created(created)
        raise


def disk_size(path):
    """Bytes on disk of a file, or of every file under a folder."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def human_size(num_bytes):
    """``1234567`` -> ``"1.2 MB"`` (decimal units, as file managers show)."""
    size = float(num_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
