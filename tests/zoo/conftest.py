"""Zoo test fixtures: a real loopback HTTP server, a tiny trained-shape artifact, isolation."""

import hashlib
import http.server
import os
import threading
import time
import uuid

import numpy as np
import pytest


class ArtifactServer:
    """An ``http.server`` on 127.0.0.1 serving byte strings under chosen failure modes.

    Routes are added with ``add(path, body, mode=...)``:

    - ``"good"``: 200 with a correct Content-Length.
    - ``"truncated"``: announces the full Content-Length, sends half, closes.
    - ``"missing"``: 404.
    - ``"flaky"``: 500 for the first ``failures`` requests, then good.
    - ``"redirect"``: 302 to ``body`` (a URL string).

    ``hits[path]`` counts the GET requests each path received.
    """

    def __init__(self):
        self.routes = {}
        self.hits = {}
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                with server._lock:
                    server.hits[self.path] = server.hits.get(self.path, 0) + 1
                    hit = server.hits[self.path]
                route = server.routes.get(self.path)
                if route is None or route["mode"] == "missing":
                    self.send_error(404, "Not Found")
                    return
                if route["mode"] == "redirect":
                    self.send_response(302)
                    self.send_header("Location", route["body"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route["mode"] == "flaky" and hit <= route["failures"]:
                    self.send_error(500, "Internal Server Error")
                    return
                body = route["body"]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(route.get("length", len(body))))
                self.end_headers()
                if route["delay"]:
                    time.sleep(route["delay"])
                if route["mode"] == "truncated":
                    body = body[: len(body) // 2]
                self.wfile.write(body)
                self.wfile.flush()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path, body, mode="good", failures=0, delay=0.0, length=None):
        """Serve ``body`` at ``path``; returns the full URL."""
        route = {"body": body, "mode": mode, "failures": failures, "delay": delay}
        if length is not None:
            route["length"] = length
        self.routes[path] = route
        return self.url + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def http_server():
    server = ArtifactServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def zoo_env(tmp_path, monkeypatch):
    """Each test gets its own empty cache and no mirror/offline settings from outside."""
    home = tmp_path / "kg_home"
    monkeypatch.setenv("KERAS_GANS_HOME", str(home))
    monkeypatch.delenv("KERAS_GANS_ZOO_URL", raising=False)
    monkeypatch.delenv("KERAS_GANS_OFFLINE", raising=False)
    return home


TINY_CONFIG = {"latent_dim": 8, "image_shape": [28, 28, 1], "width": 8}


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory):
    """A tiny DCGAN's ``save_weights`` file and what it should load back to.

    Returns a dict: ``path``, ``bytes``, ``sha256``, ``config``, ``num_params``,
    ``z`` (fixed latents) and ``images`` (the saved generator's output on ``z``).
    """
    import keras_gans as kg

    gan = kg.models.DCGAN(**TINY_CONFIG, seed=3)
    path = tmp_path_factory.mktemp("artifact") / "tiny.weights.h5"
    gan.save_weights(str(path))
    data = path.read_bytes()
    z = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    return {
        "path": str(path),
        "bytes": data,
        "sha256": hashlib.sha256(data).hexdigest(),
        "config": dict(TINY_CONFIG),
        "num_params": {
            "generator": gan.generator.count_params(),
            "discriminator": gan.discriminator.count_params(),
        },
        "z": z,
        "images": np.asarray(gan.generator(z, training=False)),
    }


@pytest.fixture
def tiny_entry(tiny_artifact):
    """Register a pretrained zoo entry for the tiny artifact (unique name); unregister after.

    Returns a function ``make(**fields) -> card dict`` (fields override the card).
    """
    from keras_gans import zoo

    names = []

    def make(**fields):
        name = f"dcgan.zootest_{uuid.uuid4().hex[:8]}"
        card = {
            "name": name,
            "family": "dcgan",
            "task": "generator",
            "config": dict(tiny_artifact["config"]),
            "file": f"{name}.weights.h5",
            "sha256": tiny_artifact["sha256"],
            "size": len(tiny_artifact["bytes"]),
            "num_params": dict(tiny_artifact["num_params"]),
            "dataset": "fashion_mnist",
            "pretrained": True,
            **fields,
        }
        zoo.register(card)
        names.append(name)
        return card

    yield make
    for name in names:
        zoo.unregister(name)


def leftovers(folder):
    """Files in ``folder`` other than lock files (a failed download must leave none)."""
    if not os.path.isdir(folder):
        return []
    return sorted(f for f in os.listdir(folder) if not f.endswith(".lock"))
