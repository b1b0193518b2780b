"""A loopback HTTP server speaking the Hugging Face Hub endpoints huggingface_hub calls.

Point ``HF_ENDPOINT`` at ``HubServer().url`` and the real ``huggingface_hub``
client talks to it: nothing of the client is mocked. What it serves, as
huggingface_hub (read in its ``file_download.py``, ``hf_api.py`` and
``_commit_api.py``) calls it:

- ``HEAD``/``GET /{repo}/resolve/{revision}/{path}``: file bytes, with
  ``X-Repo-Commit``, ``ETag`` and ``Content-Length``; 404s carry
  ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``).
- ``POST /api/repos/create``: a repository with an empty ``main``; 409 if it exists.
- ``POST /api/validate-yaml``: README front matter check (accepts all).
- ``POST /api/models/{repo}/preupload/{revision}``: every file ``regular``
  (content travels base64 in the commit, as the hub does for small files).
- ``POST /api/models/{repo}/commit/{revision}``: the NDJSON commit (header,
  ``file`` entries); makes a new commit on the branch and returns its oid.

Commits are kept, so old revisions stay loadable (revision pinning).
``tamper(repo, path, data)`` changes the bytes a file is served with (the
ETag follows), ``truncate(repo, path)`` serves half of them under the full
Content-Length; ``requests`` logs (method, path) of every request.
"""

import base64
import hashlib
import http.server
import json
import threading
import urllib.parse


class HubServer:
    """The hub on 127.0.0.1 (a random port). ``close()`` stops it."""

    def __init__(self):
        self.repos = {}  # repo_id -> {"branches": {name: oid}, "commits": {oid: {path: bytes}}}
        self.tampered = {}  # (repo_id, path) -> bytes served instead
        self.truncated = set()
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

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

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
                    data = hub.tampered.get((repo_id, file), files[file])
                    truncated = (repo_id, file) in hub.truncated
                headers = {
                    "Content-Type": "application/octet-stream",
                    "X-Repo-Commit": oid,
                    "ETag": '"' + hashlib.sha256(data).hexdigest() + '"',
                    "Content-Length": str(len(data)),
                    "Accept-Ranges": "bytes",
                }
                if truncated and not head:
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

            def do_POST(self):  # noqa: N802
                path = urllib.parse.urlsplit(self.path).path
                hub.requests.append(("POST", path))
                body = self._body()
                if path == "/api/repos/create":
                    payload = json.loads(body)
                    repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
                    with hub._lock:
                        if repo_id in hub.repos:
                            # The hub's 409 names the repository's URL too (create_repo(exist_ok=True) reads it).
                            self._json(409, {"error": "You already created this model repo",
                                             "url": f"{hub.url}/{repo_id}"})
                            return
                        hub.repos[repo_id] = {"branches": {"main": None}, "commits": {None: {}}}
                    self._json(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})
                    return
                if path == "/api/validate-yaml":
                    self._json(200, {"errors": [], "warnings": []})
                    return
                parts = path.strip("/").split("/")
                if len(parts) >= 6 and parts[0] == "api" and parts[1] == "models":
                    repo_id, action = "/".join(parts[2:4]), parts[4]
                    revision = urllib.parse.unquote("/".join(parts[5:]))
                    if repo_id not in hub.repos:
                        self._error(404, "RepoNotFound", f"repository {repo_id} not found")
                        return
                    if action == "preupload":
                        files = json.loads(body)["files"]
                        self._json(200, {"files": [
                            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                            for f in files
                        ]})
                        return
                    if action == "commit":
                        oid = hub._commit(repo_id, revision, body)
                        self._json(200, {"commitUrl": f"{hub.url}/{repo_id}/commit/{oid}", "commitOid": oid,
                                         "pullRequestUrl": None, "success": True})
                        return
                self._error(404, "NotFound", f"no route {path}")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _commit(self, repo_id, branch, body):
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        with self._lock:
            repo = self.repos[repo_id]
            parent = repo["branches"].get(branch)
            files = dict(repo["commits"].get(parent, {}))
            for line in lines:
                value = line["value"]
                if line["key"] == "file":
                    content = value["content"]
                    files[value["path"]] = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
                elif line["key"] == "deletedFile":
                    files.pop(value["path"], None)
                elif line["key"] != "header":
                    raise ValueError(f"unsupported commit entry {line['key']}")
            self._counter += 1
            oid = hashlib.sha1(f"{repo_id}:{self._counter}".encode()).hexdigest()
            repo["commits"][oid] = files
            repo["branches"][branch] = oid
        return oid

    def files(self, repo_id, revision="main"):
        """``{path: bytes}`` of a repository at a branch or commit."""
        repo = self.repos[repo_id]
        return dict(repo["commits"][repo["branches"].get(revision, revision)])

    def tamper(self, repo_id, path, data):
        """Serve ``data`` for ``path`` from now on (every revision)."""
        self.tampered[(repo_id, path)] = data

    def truncate(self, repo_id, path):
        """Send half of ``path``'s bytes under its full Content-Length, then close."""
        self.truncated.add((repo_id, path))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
