"""Verified downloads into ``$KERAS_GANS_HOME``: zoo artifacts, and the Inception graph of the metrics.

It sits below every other part of the package (it imports none of them), so
the zoo and the metrics both use it without the metrics importing the zoo;
``keras_gans.zoo.download`` is this module under its older name.

A download is streamed to a temporary file in the destination folder, its
sha256 is checked, and only then is it renamed into place (``os.replace`` is
atomic within a folder), so the cache never holds a partial or unverified
file. A wrong hash, a truncated transfer, an HTTP error or a full disk remove
the temporary file and raise ``DownloadError`` saying what happened.
Transient failures (HTTP 5xx/408/429, connection resets, timeouts, short
bodies) are retried with exponential backoff; a 404 or a hash mismatch is not.

Two processes fetching the same file serialize on an ``fcntl.flock`` lock file
beside it: the second one waits, then finds the verified file.

Only ``https://`` and ``file://`` URLs are fetched; plain ``http://`` is
refused unless the host is loopback or the host of the ``KERAS_GANS_ZOO_URL``
mirror the user set. Redirects are held to the same rule.
"""

import contextlib
import errno
import hashlib
import http.client
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

#: Where zoo artifacts are downloaded from when nothing is configured: nowhere.
#: No public host is promised; ``KERAS_GANS_ZOO_URL`` names a mirror (an
#: ``https://`` server or a ``file://``/plain folder holding the files of a
#: checkout's ``zoo/weights/``), and presets load from ``hf://owner/repo``.
DEFAULT_BASE_URL = None

#: Files larger than this show a progress bar when stderr is a terminal.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024

_CHUNK = 1 << 16
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
# (realpath, size, mtime_ns, ctime_ns, inode) -> sha256 of files verified in this process.
_VERIFIED = {}


class DownloadError(OSError):
    """A zoo artifact could not be fetched or did not verify.

    Args:
        message: str, what happened and what to do.
        transient: bool, whether retrying may succeed.
    """

    def __init__(self, message, transient=False):
        super().__init__(message)
        self.transient = bool(transient)

    def __str__(self):
        return self.args[0]


def offline():
    """True when ``KERAS_GANS_OFFLINE`` is set (to anything but ``""`` or ``"0"``)."""
    return os.environ.get("KERAS_GANS_OFFLINE", "") not in ("", "0")


def cache_dir():
    """The download cache: ``$KERAS_GANS_HOME`` or ``~/.keras/keras_gans``."""
    home = os.environ.get("KERAS_GANS_HOME") or os.path.join("~", ".keras", "keras_gans")
    return os.path.abspath(os.path.expanduser(home))


def base_url():
    """The zoo's base URL: ``$KERAS_GANS_ZOO_URL`` (a mirror), or None when unset.

    The mirror holds zoo artifacts by file name (``<base>/<name>.weights.h5``,
    the files of a checkout's ``zoo/weights/``): an ``https://`` URL, a
    loopback ``http://`` one, a ``file://`` URL, or a plain folder path (turned
    into a ``file://`` URL). There is no default host: without a mirror, only
    the weights packaged in the wheel, a checkout and the cache are used.

    Example:
        >>> import os
        >>> os.environ["KERAS_GANS_ZOO_URL"] = "https://mirror.example.org/zoo/"  # doctest: +SKIP
        >>> base_url()  # doctest: +SKIP
        'https://mirror.example.org/zoo'
    """
    mirror = os.environ.get("KERAS_GANS_ZOO_URL", "").strip()
    if not mirror:
        return DEFAULT_BASE_URL
    if "://" not in mirror:
        mirror = urllib.parse.urljoin("file:", urllib.request.pathname2url(os.path.abspath(mirror)))
    return mirror.rstrip("/")


def sha256_of(path):
    """Return the hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path, sha256):
    """Return True when the file at ``path`` exists and its sha256 is ``sha256``.

    The hash is recomputed from the bytes on disk. Zoo artifacts are a few MB,
    which hash in milliseconds, so a cached file is re-verified on every first
    use in a process rather than trusted from a size/mtime record: that also
    catches a file damaged in place with its size and mtime unchanged. Within
    one process the result is remembered for the same (path, size, mtime,
    ctime, inode), so repeated loads do not re-read the file; any write to the
    file (even one that restores its mtime) changes its ctime and forces a
    new hash.

    Args:
        path: str, file to check.
        sha256: str, expected hex digest.
    """
    try:
        st = os.stat(path)
    except OSError:
        return False
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if key not in _VERIFIED:
        _VERIFIED[key] = sha256_of(path)
    return _VERIFIED[key] == sha256.lower()


def check_url(url, mirror=None):
    """Raise ``DownloadError`` unless ``url`` may be fetched.

    Args:
        url: str.
        mirror: the ``KERAS_GANS_ZOO_URL`` mirror (whose host is trusted over
            plain http because the user named it), or None to read it.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("https", "file"):
        return
    if parts.scheme == "http":
        host = (parts.hostname or "").lower()
        if mirror is None:
            mirror = os.environ.get("KERAS_GANS_ZOO_URL", "")
        mirror_host = (urllib.parse.urlsplit(mirror).hostname or "").lower() if mirror else ""
        if host in _LOOPBACK or (mirror_host and host == mirror_host):
            return
        raise DownloadError(
            f"refusing plain http download from {host or url}: use https, or set "
            f"KERAS_GANS_ZOO_URL to this mirror to trust it."
        )
    raise DownloadError(f"unsupported URL scheme {parts.scheme!r} in {url}: use https:// or file://.")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    # An https download must not be redirected to plain http (or elsewhere unsafe).
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(url, timeout):
    opener = urllib.request.build_opener(_CheckedRedirects())
    request = urllib.request.Request(url, headers={"User-Agent": "keras-gans"})
    return opener.open(request, timeout=timeout)


@contextlib.contextmanager
def file_lock(path):
    """Hold an exclusive ``flock`` on ``path + ".lock"`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; downloads still rename atomically.
        yield
        return
    with open(path + ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _describe_os_error(err, folder):
    if err.errno == errno.ENOSPC:
        return f"no space left on the device of {folder}: free some space or set KERAS_GANS_HOME elsewhere"
    return f"could not write to {folder} ({err.strerror or err}): check permissions and free space, or set KERAS_GANS_HOME"


def _write(tmp, chunk, folder):
    # Disk errors get their own message; a network OSError must not read as one.
    try:
        if chunk is None:
            tmp.flush()
            os.fsync(tmp.fileno())
        else:
            tmp.write(chunk)
    except OSError as err:
        raise DownloadError(_describe_os_error(err, folder)) from None


def _transfer(url, tmp, folder, size, timeout, verbose):
    """Stream ``url`` into the open temp file ``tmp``; return the sha256."""
    try:
        response = _open(url, timeout)
    except urllib.error.HTTPError as err:
        transient = err.code >= 500 or err.code in (408, 429)
        hint = "" if transient else " (the artifact is not on this server: check KERAS_GANS_ZOO_URL)"
        raise DownloadError(f"HTTP error {err.code} {err.reason} fetching {url}{hint}", transient) from None
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, socket.gaierror):
            raise DownloadError(
                f"cannot resolve the host of {url} ({reason}): check the network, or set "
                "KERAS_GANS_OFFLINE=1 to use the cache or KERAS_GANS_ZOO_URL to use a mirror"
            ) from None
        if isinstance(reason, FileNotFoundError) or (
            isinstance(reason, OSError) and reason.errno == errno.ENOENT
        ):
            raise DownloadError(f"{url} does not exist on the mirror") from None
        transient = isinstance(reason, (TimeoutError, ConnectionError, socket.timeout))
        raise DownloadError(f"cannot fetch {url}: {reason}", transient) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as err:
        raise DownloadError(f"cannot fetch {url}: {type(err).__name__} {err}", True) from None
    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if length is not None and size is not None and length != size:
            raise DownloadError(
                f"{url} is {length} bytes but the zoo card expects {size}: the server holds another "
                "file (a different release?)"
            )
        expected = length if length is not None else size
        progress = None
        if verbose or (verbose is None and (expected or 0) > PROGRESS_MIN_BYTES and sys.stderr.isatty()):
            import keras

            progress = keras.utils.Progbar(expected, unit_name="B")
        digest, received = hashlib.sha256(), 0
        while True:
            try:
                chunk = response.read(_CHUNK)
            except http.client.IncompleteRead as err:
                chunk = err.partial
                received += len(chunk)
                raise DownloadError(
                    f"transfer of {url} was cut off after {received} of {expected} bytes", True
                ) from None
            except OSError as err:  # resets, timeouts, TLS errors mid-transfer
                raise DownloadError(
                    f"transfer of {url} was interrupted after {received} bytes ({type(err).__name__})", True
                ) from None
            if not chunk:
                break
            received += len(chunk)
            if size is not None and received > size:
                raise DownloadError(f"{url} sent more than the {size} bytes the zoo card expects")
            digest.update(chunk)
            _write(tmp, chunk, folder)
            if progress is not None:
                progress.update(received)
        _write(tmp, None, folder)
        if expected is not None and received != expected:
            raise DownloadError(
                f"transfer of {url} was cut off: got {received} of {expected} bytes", True
            )
    return digest.hexdigest()


def download(url, path, sha256, size=None, retries=3, backoff=1.0, timeout=30.0, verbose=None):
    """Fetch ``url`` to ``path``, verified against ``sha256``; return ``path``.

    If ``path`` already holds a file with this hash nothing is fetched. The
    bytes go to a temporary file beside ``path`` that is renamed into place
    only after the hash matches; on any failure no file is left behind.
    Another process downloading the same ``path`` is waited for.

    Args:
        url: str, ``https://``, ``file://`` or loopback/mirror ``http://`` URL.
        path: str, destination file.
        sha256: str, expected hex digest.
        size: optional int, expected bytes (a server announcing another size is
            refused before the transfer).
        retries: int, extra attempts after a transient failure.
        backoff: float, seconds before the first retry; doubled each time.
        timeout: float, seconds a connection may stay silent.
        verbose: None (progress bar for large files when stderr is a terminal),
            True or False.

    Returns:
        str, ``path``.

    Example:
        >>> download("https://example.org/g.weights.h5", "/tmp/g.weights.h5", sha256="...")  # doctest: +SKIP
        '/tmp/g.weights.h5'
    """
    check_url(url)
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise DownloadError(_describe_os_error(err, folder)) from None
    with file_lock(path):
        # Whoever held the lock before us may have fetched the file already.
        if verify(path, sha256):
            return path
        attempt = 0
        while True:
            try:
                _download_once(url, path, sha256, size, timeout, verbose)
                return path
            except DownloadError as err:
                if not err.transient or attempt >= retries:
                    if err.transient and retries:
                        raise DownloadError(f"{err} (gave up after {attempt + 1} attempts)") from None
                    raise
                time.sleep(backoff * (2 ** attempt))
                attempt += 1


def _download_once(url, path, sha256, size, timeout, verbose):
    folder = os.path.dirname(path)
    try:
        fd, tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=folder)
    except OSError as err:
        raise DownloadError(_describe_os_error(err, folder)) from None
    try:
        try:
            with os.fdopen(fd, "wb") as tmp:
                actual = _transfer(url, tmp, folder, size, timeout, verbose)
        except DownloadError:
            raise
        except OSError as err:  # a write (or the flush on close) failed: disk full, quota...
            raise DownloadError(_describe_os_error(err, folder)) from None
        if actual != sha256.lower():
            raise DownloadError(
                f"sha256 mismatch for {url}: expected {sha256}, got {actual}; the file was discarded "
                "(a corrupted transfer or a tampered mirror)"
            )
        os.chmod(tmp_path, 0o644)  # mkstemp makes owner-only files; the cache may be shared
        os.replace(tmp_path, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
