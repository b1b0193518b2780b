"""A loopback HTTP server speaking the Hugging Face Hub endpoints huggingface_hub calls.

Point ``HF_ENDPOINT`` at ``HubServer().url`` and the real ``huggingface_hub``
client talks to it: nothing of the client is mocked. What it serves, as
huggingface_hub (read in its ``file_download.py``, ``hf_api.py``,
``_commit_api.py`` and ``lfs.py``) calls it:

- ``HEAD``/``GET /{repo}/resolve/{revision}/{path}``: a regular file's bytes,
  with ``X-Repo-Commit``, ``ETag`` and ``Content-Length``; an LFS file is a
  302 to the storage host (another port, so another origin, as the hub's CDN
  is) carrying ``X-Linked-Etag`` (its sha256) and ``X-Linked-Size``. 404s
  carry ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``,
  ``EntryNotFound``).
- ``POST /api/repos/create``: a repository whose ``main`` holds the initial
  commit the hub makes, the hub's default ``.gitattributes``; 409 if it exists.
- ``POST /api/validate-yaml``: README front matter check (accepts all).
- ``POST /api/models/{repo}/preupload/{revision}``: each file ``lfs`` or
  ``regular`` as the hub decides (``upload_mode``): ``lfs`` when the path
  matches a ``filter=lfs`` pattern of the branch's ``.gitattributes`` (``*.h5``
  among the defaults), when it is 10 MiB or more, or when its 512-byte sample
  holds a NUL byte (binary) and it is 1 MiB or more.
- ``POST /{repo}.git/info/lfs/objects/batch`` (the LFS batch API, ``basic``
  transfer): an ``upload`` action (a ``PUT`` to the storage host) and a
  ``verify`` action per object the repository lacks; no actions for one it holds.
- ``PUT`` on the storage host: the object's bytes; ``POST
  /{repo}.git/info/lfs/objects/verify``: checks their sha256 and size, and
  only then is the object stored.
- ``POST /api/models/{repo}/commit/{revision}``: the NDJSON commit (header,
  ``file`` entries with base64 content, ``lfsFile`` entries by sha256);
  refused (422) for an ``lfsFile`` whose object was not uploaded and verified,
  and (400) for inline content the hub wants in LFS. Makes a new commit on the
  branch and returns its oid.

Commits are kept, so old revisions stay loadable (revision pinning).
``tamper(repo, path, data)`` changes the bytes a file is served with (the
ETag of a regular file follows; an LFS file keeps its recorded sha256, as a
damaged CDN copy would), ``truncate(repo, path)`` serves half of them under
the full Content-Length, ``storage_refuses = 403`` makes the storage host
refuse every PUT (an expired signed URL); ``requests`` logs (method, path) of every request,
the storage host's paths under ``/lfs-storage/``.
"""

import base64
import fnmatch
import hashlib
import http.server
import json
import threading
import urllib.parse

#: The filter=lfs patterns of the .gitattributes the hub puts in a new model repository's initial commit.
DEFAULT_LFS_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*", "*.mlmodel",
    "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt",
    "*.pth", "*.rar", "*.safetensors", "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm",
    "*.xz", "*.zip", "*.zst", "*tfevents*",
)
DEFAULT_GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in DEFAULT_LFS_PATTERNS).encode()
#: Sizes from which the hub wants a file in LFS: any file, and a binary one.
LFS_SIZE = 10 * 1024 * 1024
LFS_BINARY_SIZE = 1024 * 1024


def lfs_patterns(gitattributes):
    """The ``filter=lfs`` patterns of a ``.gitattributes`` (bytes)."""
    patterns = []
    for line in gitattributes.decode("utf-8", "replace").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and "filter=lfs" in fields[1:]:
            patterns.append(fields[0])
    return patterns


def upload_mode(path, size, sample, patterns):
    """``"lfs"`` or ``"regular"``: what the hub answers for a file in its preupload call."""
    name = path.rsplit("/", 1)[-1]
    if any(fnmatch.fnmatchcase(path if "/" in p else name, p) for p in patterns):
        return "lfs"
    if size >= LFS_SIZE or (b"\0" in sample and size >= LFS_BINARY_SIZE):
        return "lfs"
    return "regular"


def read_body(handler):
    """A request's body: by Content-Length, or chunk by chunk (Transfer-Encoding: chunked)."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()  # the CRLF after each chunk
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class HubServer:
    """The hub on 127.0.0.1 (a random port), and its LFS storage on another. ``close()`` stops both."""

    def __init__(self):
        # repo_id -> {"branches": {name: oid}, "commits": {oid: {path: bytes}}, "lfs": {oid: {paths in LFS}}}
        self.repos = {}
        # LFS objects by (repo_id, sha256), each repository its own store as on the hub.
        self.objects = {}  # verified
        self.pending = {}  # PUT, not yet verified
        self.tampered = {}  # (repo_id, path) -> bytes served instead
        self.truncated = set()
        self.storage_refuses = None  # an HTTP status the storage host answers every PUT with
        self.requests = []
        self._lock = threading.Lock()
        self._counter = 0
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code, body=b"", headers=None, head=False):
                self.send_response(code)
                headers = dict(headers or {})
                headers.setdefault("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if not head and body:
                    self.wfile.write(body)

            def _json(self, code, data, headers=None):
                self._send(code, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

            def _error(self, code, error_code, message, head=False, headers=None):
                headers = {"X-Error-Code": error_code, "X-Error-Message": message, **(headers or {})}
                body = b"" if head else json.dumps({"error": message}).encode()
                self._send(code, body, {"Content-Type": "application/json", **headers}, head=head)

            def _serve(self, repo_id, file, data, headers, head):
                """Send ``data`` (as tampered or truncated for ``file`` of ``repo_id``)."""
                data = hub.tampered.get((repo_id, file), data)
                headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes",
                           **headers, "Content-Length": str(len(data))}
                if (repo_id, file) in hub.truncated and not head:
                    headers["Connection"] = "close"
                    self.close_connection = True
                    self.send_response(200)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    return
                self._send(200, data, headers, head=head)

            def do_HEAD(self):  # noqa: N802 (http.server's naming)
                self._resolve(head=True)

            def do_GET(self):  # noqa: N802
                self._resolve(head=False)

            def _resolve(self, head):
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                hub.requests.append((self.command, path))
                parts = path.strip("/").split("/")
                if len(parts) < 5 or parts[2] != "resolve":
                    self._error(404, "EntryNotFound", f"no route {path}", head)
                    return
                repo_id, revision, file = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
                with hub._lock:
                    repo = hub.repos.get(repo_id)
                    if repo is None:
                        self._error(404, "RepoNotFound", f"repository {repo_id} not found", head)
                        return
                    oid = repo["branches"].get(revision, revision if revision in repo["commits"] else None)
                    if oid is None:
                        self._error(404, "RevisionNotFound", f"revision {revision} not found", head)
                        return
                    files = repo["commits"][oid]
                    if file not in files:
                        self._error(404, "EntryNotFound", f"{file} not found", head, {"X-Repo-Commit": oid})
                        return
                    data, in_lfs = files[file], file in repo["lfs"][oid]
                if in_lfs:
                    # The hub redirects an LFS file to its storage host; the metadata rides on the redirect.
                    sha = hashlib.sha256(data).hexdigest()
                    query = urllib.parse.urlencode({"repo": repo_id, "file": file})
                    self._send(302, b"", {
                        "Location": f"{hub.storage_url}/lfs-storage/objects/{sha}?{query}",
                        "X-Repo-Commit": oid,
                        "X-Linked-Etag": f'"{sha}"',
                        "X-Linked-Size": str(len(data)),
                        "ETag": '"' + hashlib.sha1(_pointer(sha, len(data))).hexdigest() + '"',
                    }, head=head)
                    return
                etag = '"' + hashlib.sha256(hub.tampered.get((repo_id, file), data)).hexdigest() + '"'
                self._serve(repo_id, file, data, {"X-Repo-Commit": oid, "ETag": etag}, head)

            def do_POST(self):  # noqa: N802
                path = urllib.parse.urlsplit(self.path).path
                hub.requests.append(("POST", path))
                body = read_body(self)
                if path == "/api/repos/create":
                    payload = json.loads(body)
                    repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
                    with hub._lock:
                        if repo_id in hub.repos:
                            # The hub's 409 names the repository's URL too (create_repo(exist_ok=True) reads it).
                            self._json(409, {"error": "You already created this model repo",
                                             "url": f"{hub.url}/{repo_id}"})
                            return
                        hub.repos[repo_id] = {"branches": {}, "commits": {}, "lfs": {}}
                        # The hub's initial commit: its default .gitattributes.
                        hub._new_commit(hub.repos[repo_id], repo_id, "main",
                                        {".gitattributes": DEFAULT_GITATTRIBUTES}, set())
                    self._json(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})
                    return
                if path == "/api/validate-yaml":
                    self._json(200, {"errors": [], "warnings": []})
                    return
                if path.endswith(".git/info/lfs/objects/batch") or path.endswith(".git/info/lfs/objects/verify"):
                    repo_id = path.strip("/").split(".git/")[0]
                    if repo_id not in hub.repos:
                        self._error(404, "RepoNotFound", f"repository {repo_id} not found")
                        return
                    if path.endswith("/batch"):
                        self._lfs_batch(repo_id, json.loads(body))
                    else:
                        self._lfs_verify(repo_id, json.loads(body))
                    return
                parts = path.strip("/").split("/")
                if len(parts) >= 6 and parts[0] == "api" and parts[1] == "models":
                    repo_id, action = "/".join(parts[2:4]), parts[4]
                    revision = urllib.parse.unquote("/".join(parts[5:]))
                    if repo_id not in hub.repos:
                        self._error(404, "RepoNotFound", f"repository {repo_id} not found")
                        return
                    if action == "preupload":
                        patterns = hub._lfs_patterns(repo_id, revision)
                        self._json(200, {"files": [
                            {"path": f["path"], "shouldIgnore": False, "oid": None,
                             "uploadMode": upload_mode(f["path"], f["size"], base64.b64decode(f["sample"]), patterns)}
                            for f in json.loads(body)["files"]
                        ]})
                        return
                    if action == "commit":
                        try:
                            oid = hub._commit(repo_id, revision, body)
                        except _Refused as err:
                            self._error(err.code, "BadRequest", str(err))
                            return
                        self._json(200, {"commitUrl": f"{hub.url}/{repo_id}/commit/{oid}", "commitOid": oid,
                                         "pullRequestUrl": None, "success": True})
                        return
                self._error(404, "NotFound", f"no route {path}")

            def _lfs_batch(self, repo_id, payload):
                if payload.get("operation") != "upload" or payload.get("hash_algo", "sha256") != "sha256":
                    self._error(422, "BadRequest", "only sha256 uploads are supported")
                    return
                if "basic" not in payload.get("transfers", ["basic"]):
                    self._error(422, "BadRequest", "only the basic transfer is supported")
                    return
                objects = []
                for obj in payload["objects"]:
                    entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                    with hub._lock:
                        present = (repo_id, obj["oid"]) in hub.objects
                    if not present:
                        entry["actions"] = {
                            "upload": {"href": f"{hub.storage_url}/lfs-storage/upload/{repo_id}/{obj['oid']}",
                                       "header": {}},
                            "verify": {"href": f"{hub.url}/{repo_id}.git/info/lfs/objects/verify", "header": {}},
                        }
                    objects.append(entry)
                self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(),
                           {"Content-Type": "application/vnd.git-lfs+json"})

            def _lfs_verify(self, repo_id, payload):
                oid, size = payload["oid"], payload["size"]
                with hub._lock:
                    data = hub.pending.get((repo_id, oid))
                    if data is None or len(data) != size or hashlib.sha256(data).hexdigest() != oid:
                        got = "nothing" if data is None else f"{len(data)} bytes of sha256 {hashlib.sha256(data).hexdigest()}"
                        self._error(422, "BadRequest", f"object {oid} ({size} bytes) does not verify: got {got}")
                        return
                    hub.objects[(repo_id, oid)] = hub.pending.pop((repo_id, oid))
                self._json(200, {"success": True})

        class StorageHandler(Handler):
            """The storage host (S3/CDN): PUT of LFS objects, GET of stored ones."""

            def do_PUT(self):  # noqa: N802
                path = urllib.parse.urlsplit(self.path).path
                hub.requests.append(("PUT", path))
                body = read_body(self)
                prefix = "/lfs-storage/upload/"
                if not path.startswith(prefix):
                    self._error(404, "NotFound", f"no route {path}")
                    return
                if hub.storage_refuses:
                    self._error(hub.storage_refuses, "AccessDenied", "Request has expired")
                    return
                repo_id, _, oid = path[len(prefix):].rpartition("/")
                with hub._lock:
                    hub.pending[(repo_id, oid)] = body
                self._send(200, b"", {"ETag": '"' + hashlib.md5(body).hexdigest() + '"'})

            def _resolve(self, head):
                url = urllib.parse.urlsplit(self.path)
                hub.requests.append((self.command, url.path))
                prefix = "/lfs-storage/objects/"
                query = urllib.parse.parse_qs(url.query)
                repo_id, file = query.get("repo", [""])[0], query.get("file", [""])[0]
                with hub._lock:
                    data = hub.objects.get((repo_id, url.path[len(prefix):])) if url.path.startswith(prefix) else None
                if data is None:
                    self._error(404, "NotFound", f"no object {url.path}", head)
                    return
                self._serve(repo_id, file, data, {}, head)

            def do_POST(self):  # noqa: N802
                self._error(404, "NotFound", "the storage host takes PUT and GET only")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.storage = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StorageHandler)
        self.storage.daemon_threads = True
        self.storage_url = f"http://127.0.0.1:{self.storage.server_address[1]}"
        self.threads = [threading.Thread(target=server.serve_forever, daemon=True)
                        for server in (self.httpd, self.storage)]
        for thread in self.threads:
            thread.start()

    def _lfs_patterns(self, repo_id, branch):
        with self._lock:
            repo = self.repos[repo_id]
            files = repo["commits"].get(repo["branches"].get(branch), {})
            return lfs_patterns(files.get(".gitattributes", b""))

    def _new_commit(self, repo, repo_id, branch, files, lfs):
        self._counter += 1
        oid = hashlib.sha1(f"{repo_id}:{self._counter}".encode()).hexdigest()
        repo["commits"][oid] = files
        repo["lfs"][oid] = lfs
        repo["branches"][branch] = oid
        return oid

    def _commit(self, repo_id, branch, body):
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        patterns = self._lfs_patterns(repo_id, branch)
        with self._lock:
            repo = self.repos[repo_id]
            parent = repo["branches"].get(branch)
            files = dict(repo["commits"].get(parent, {}))
            lfs = set(repo["lfs"].get(parent, set()))
            for line in lines:
                value = line["value"]
                if line["key"] == "file":
                    content = value["content"]
                    data = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
                    if upload_mode(value["path"], len(data), data[:512], patterns) == "lfs":
                        raise _Refused(400, f"{value['path']} must be stored with LFS, not in the commit")
                    files[value["path"]] = data
                    lfs.discard(value["path"])
                elif line["key"] == "lfsFile":
                    data = self.objects.get((repo_id, value["oid"]))
                    if value.get("algo", "sha256") != "sha256" or data is None or len(data) != value.get("size", len(data)):
                        raise _Refused(422, f"LFS object {value['oid']} of {value['path']} was not uploaded")
                    files[value["path"]] = data
                    lfs.add(value["path"])
                elif line["key"] == "deletedFile":
                    files.pop(value["path"], None)
                    lfs.discard(value["path"])
                elif line["key"] != "header":
                    raise _Refused(400, f"unsupported commit entry {line['key']}")
            return self._new_commit(repo, repo_id, branch, files, lfs)

    def files(self, repo_id, revision="main"):
        """``{path: bytes}`` of a repository at a branch or commit."""
        repo = self.repos[repo_id]
        return dict(repo["commits"][repo["branches"].get(revision, revision)])

    def lfs_files(self, repo_id, revision="main"):
        """The paths stored in LFS at a branch or commit."""
        repo = self.repos[repo_id]
        return set(repo["lfs"][repo["branches"].get(revision, revision)])

    def tamper(self, repo_id, path, data):
        """Serve ``data`` for ``path`` from now on (every revision)."""
        self.tampered[(repo_id, path)] = data

    def truncate(self, repo_id, path):
        """Send half of ``path``'s bytes under its full Content-Length, then close."""
        self.truncated.add((repo_id, path))

    def close(self):
        for server in (self.httpd, self.storage):
            server.shutdown()
            server.server_close()


class _Refused(Exception):
    """A commit the hub refuses: ``code`` is the HTTP status."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _pointer(sha, size):
    """The git-lfs pointer file git stores for an LFS object."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n".encode()
