"""Verified downloads against a real loopback HTTP server and file:// mirrors."""

import hashlib
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from keras_gans import zoo
from keras_gans.zoo import download
from tests.zoo.conftest import leftovers

BODY = os.urandom(200_000)
BODY_SHA = hashlib.sha256(BODY).hexdigest()


def unique(stem="f"):
    return f"/{stem}-{uuid.uuid4().hex[:8]}.bin"


def test_good_file_is_downloaded_verified_and_then_served_from_cache(http_server, zoo_env):
    url = http_server.add(unique(), BODY)
    dest = str(zoo_env / "a.bin")
    assert download.download(url, dest, BODY_SHA, size=len(BODY)) == dest
    with open(dest, "rb") as f:
        assert f.read() == BODY
    assert oct(os.stat(dest).st_mode & 0o777) == "0o644"
    # A verified file is not fetched again.
    download.download(url, dest, BODY_SHA, size=len(BODY))
    assert http_server.hits[url[len(http_server.url):]] == 1
    assert leftovers(zoo_env) == ["a.bin"]


def test_wrong_hash_leaves_no_file_and_is_not_retried(http_server, zoo_env):
    corrupted = bytearray(BODY)
    corrupted[1234] ^= 0xFF
    path = unique()
    url = http_server.add(path, bytes(corrupted))
    with pytest.raises(download.DownloadError, match="sha256 mismatch") as info:
        download.download(url, str(zoo_env / "a.bin"), BODY_SHA, retries=3, backoff=0.01)
    assert not info.value.transient
    assert http_server.hits[path] == 1
    assert leftovers(zoo_env) == []


def test_truncated_transfer_is_retried_then_reported_and_leaves_no_file(http_server, zoo_env):
    path = unique()
    url = http_server.add(path, BODY, mode="truncated")
    with pytest.raises(download.DownloadError, match=r"cut off.*gave up after 3 attempts"):
        download.download(url, str(zoo_env / "a.bin"), BODY_SHA, retries=2, backoff=0.01)
    assert http_server.hits[path] == 3
    assert leftovers(zoo_env) == []


def test_404_is_not_retried_and_leaves_no_file(http_server, zoo_env):
    path = unique()
    url = http_server.add(path, b"", mode="missing")
    with pytest.raises(download.DownloadError, match="HTTP error 404"):
        download.download(url, str(zoo_env / "a.bin"), BODY_SHA, retries=3, backoff=0.01)
    assert http_server.hits[path] == 1
    assert leftovers(zoo_env) == []


def test_server_errors_are_retried_with_backoff_until_the_file_comes(http_server, zoo_env):
    path = unique()
    url = http_server.add(path, BODY, mode="flaky", failures=2)
    dest = download.download(url, str(zoo_env / "a.bin"), BODY_SHA, retries=3, backoff=0.01)
    assert http_server.hits[path] == 3
    with open(dest, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == BODY_SHA


def test_server_announcing_another_size_is_refused_before_the_transfer(http_server, zoo_env):
    url = http_server.add(unique(), BODY + b"extra")
    with pytest.raises(download.DownloadError, match="expects 200000"):
        download.download(url, str(zoo_env / "a.bin"), BODY_SHA, size=len(BODY))
    assert leftovers(zoo_env) == []


def test_plain_http_is_refused_except_loopback_and_the_chosen_mirror(monkeypatch):
    with pytest.raises(download.DownloadError, match="refusing plain http"):
        download.check_url("http://example.org/zoo/a.weights.h5")
    with pytest.raises(download.DownloadError, match="unsupported URL scheme 'ftp'"):
        download.check_url("ftp://example.org/a.weights.h5")
    download.check_url("http://127.0.0.1:8000/a.weights.h5")
    download.check_url("http://localhost/a.weights.h5")
    download.check_url("https://example.org/a.weights.h5")
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", "http://mirror.lan:8080/zoo")
    download.check_url("http://mirror.lan:8080/zoo/a.weights.h5")
    with pytest.raises(download.DownloadError, match="refusing plain http"):
        download.check_url("http://elsewhere.lan/a.weights.h5")


def test_redirect_to_plain_http_elsewhere_is_refused(http_server, zoo_env):
    url = http_server.add(unique(), "http://downgrade.invalid/a.bin", mode="redirect")
    with pytest.raises(download.DownloadError, match="refusing plain http download from downgrade.invalid"):
        download.download(url, str(zoo_env / "a.bin"), BODY_SHA, retries=0)
    assert leftovers(zoo_env) == []


def test_progress_bar_only_when_asked_or_large_on_a_terminal(http_server, zoo_env, capsys):
    url = http_server.add(unique(), BODY)
    download.download(url, str(zoo_env / "quiet.bin"), BODY_SHA, verbose=None)
    assert capsys.readouterr().out == ""  # small file, stderr is not a terminal
    download.download(url, str(zoo_env / "loud.bin"), BODY_SHA, verbose=True)
    assert "200000/200000" in capsys.readouterr().out


# A standalone copy of download.py runs in fresh processes: it imports only the
# standard library, so the children start in milliseconds instead of loading TF.
_CHILD = textwrap.dedent(
    """
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("kg_download", {module!r})
    download = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(download)
    {setup}
    try:
        print("ok", download.download({url!r}, {dest!r}, {sha!r}, retries=0))
    except download.DownloadError as err:
        print("error", err)
    """
)


def _child(url, dest, setup=""):
    code = _CHILD.format(module=download.__file__, url=url, dest=dest, sha=BODY_SHA, setup=setup)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_processes_fetching_the_same_file_download_it_once(http_server, zoo_env):
    path = unique()
    # The delay keeps the first transfer in flight while the second process starts.
    url = http_server.add(path, BODY, delay=0.6)
    dest = str(zoo_env / "shared.bin")
    os.makedirs(zoo_env)
    procs = [_child(url, dest) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0, err
        assert out.strip() == f"ok {dest}"
    # The second process waited on the lock and found the verified file.
    assert http_server.hits[path] == 1
    with open(dest, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == BODY_SHA
    assert leftovers(zoo_env) == ["shared.bin"]


def test_a_disk_that_cannot_take_the_file_leaves_nothing_and_says_so(http_server, zoo_env):
    # RLIMIT_FSIZE makes writes past 64 KB fail like a full disk (EFBIG instead of ENOSPC).
    url = http_server.add(unique(), BODY)
    dest = str(zoo_env / "big.bin")
    os.makedirs(zoo_env)
    setup = "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); " \
            "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))"
    out, err = _child(url, dest, setup=setup).communicate(timeout=60)
    assert out.startswith(f"error could not write to {zoo_env}"), (out, err)
    assert "File too large" in out
    assert leftovers(zoo_env) == []


# ------------------------------------------------------------ through kg.zoo.fetch
def test_fetch_downloads_from_an_http_mirror_into_the_cache(http_server, tiny_entry, tiny_artifact,
                                                            zoo_env, monkeypatch):
    card = tiny_entry()
    http_server.add(f"/mirror/{card['file']}", tiny_artifact["bytes"])
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", http_server.url + "/mirror/")
    assert zoo.card(card["name"])["url"] == f"{http_server.url}/mirror/{card['file']}"
    path = zoo.fetch(card["name"])
    assert path == str(zoo_env / card["file"])
    assert download.sha256_of(path) == tiny_artifact["sha256"]
    assert zoo.local_path(card["name"]) == path


def test_file_mirror_works_as_url_and_as_plain_folder(tiny_entry, tiny_artifact, tmp_path, monkeypatch):
    card = tiny_entry()
    mirror = tmp_path / "mirror dir"
    mirror.mkdir()
    (mirror / card["file"]).write_bytes(tiny_artifact["bytes"])
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", mirror.as_uri())
    path = zoo.fetch(card["name"])
    assert download.sha256_of(path) == tiny_artifact["sha256"]
    os.remove(path)
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", str(mirror))
    assert zoo.card(card["name"])["url"].startswith("file://")
    assert download.sha256_of(zoo.fetch(card["name"])) == tiny_artifact["sha256"]


def test_missing_file_on_a_file_mirror_is_reported(tiny_entry, tmp_path, monkeypatch, zoo_env):
    card = tiny_entry()
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", tmp_path.as_uri())
    with pytest.raises(download.DownloadError, match="does not exist on the mirror"):
        zoo.fetch(card["name"])
    assert leftovers(zoo_env) == []


def test_offline_mode_uses_the_cache_only(http_server, tiny_entry, tiny_artifact, zoo_env, monkeypatch):
    card = tiny_entry()
    path = f"/offline/{card['file']}"
    http_server.add(path, tiny_artifact["bytes"])
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", http_server.url + "/offline")
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="KERAS_GANS_OFFLINE is set .* is not cached"):
        zoo.fetch(card["name"])
    assert http_server.hits.get(path, 0) == 0
    os.makedirs(zoo_env)
    (zoo_env / card["file"]).write_bytes(tiny_artifact["bytes"])
    assert zoo.fetch(card["name"]) == str(zoo_env / card["file"])
    assert http_server.hits.get(path, 0) == 0


def test_a_corrupted_cache_entry_is_detected_and_fetched_again(http_server, tiny_entry, tiny_artifact,
                                                                monkeypatch):
    card = tiny_entry()
    path = f"/recache/{card['file']}"
    http_server.add(path, tiny_artifact["bytes"])
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", http_server.url + "/recache")
    cached = zoo.fetch(card["name"])
    # Damage it in place, keeping its size and mtime: only the hash can tell.
    stat = os.stat(cached)
    data = bytearray(tiny_artifact["bytes"])
    data[-100] ^= 0x01
    with open(cached, "r+b") as f:
        f.write(data)
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.path.getsize(cached) == stat.st_size
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="is corrupted"):
        zoo.fetch(card["name"])
    monkeypatch.delenv("KERAS_GANS_OFFLINE")
    assert zoo.fetch(card["name"]) == cached
    assert http_server.hits[path] == 2
    assert download.sha256_of(cached) == tiny_artifact["sha256"]


# ------------------------------------------------------------ weights packaged in the wheel
import h5py  # noqa: E402
import numpy as np  # noqa: E402

from keras_gans.zoo import packaged, registry  # noqa: E402

GAN_ENTRIES = sorted(n for n in zoo.list_models(pretrained=True) if zoo.card(n)["task"] == "generator")


def _datasets(group, prefix=""):
    for key, item in group.items():
        if isinstance(item, h5py.Dataset):
            yield f"{prefix}{key}", item
        else:
            yield from _datasets(item, f"{prefix}{key}/")


@pytest.mark.parametrize("name", zoo.list_models(pretrained=True))
def test_packaged_files_verify_and_are_lean(name):
    entry = zoo.card(name)
    assert entry["packaged"], name
    total = 0
    for key, record in entry["packaged"].items():
        path = packaged.path_of(record)
        assert path is not None, f"{name}: {record['file']} missing or not matching its sha256"
        assert os.path.getsize(path) == record["size"]
        total += record["size"]
        with h5py.File(path) as f:
            assert set(f) <= {"layers", "vars"}, f"{name}: {sorted(f)}"  # no optimizer groups
            datasets = {k: d.dtype for k, d in _datasets(f)}
        # Weights are float32 (a bf16 copy would be lossy); the only other state is
        # spectral norm's integer count of power iterations.
        floats = {k: dtype for k, dtype in datasets.items() if not np.issubdtype(dtype, np.integer)}
        assert floats and all(dtype == np.float32 for dtype in floats.values()), f"{name}: {floats}"
        assert all(k.endswith("/sn_power_iterations") for k in set(datasets) - set(floats)), name
        assert not any("optimizer" in k for k in datasets)
    if entry["task"] == "generator":
        # Generator-only: well under the full artifact, which holds D and both optimizers' slots.
        assert set(entry["packaged"]) == set(packaged.inference_keys(registry.build_model(registry._entry(name))))
        assert total < entry["size"] / 2
        assert "KERAS_GANS_ZOO_URL" in entry["remote"]


@pytest.mark.parametrize("name", GAN_ENTRIES)
def test_packaged_generators_equal_the_full_artifacts(name):
    full = zoo.load_gan(name, generator_only=False)
    shipped = zoo.load_gan(name, generator_only=True)
    for key in zoo.card(name)["packaged"]:
        for a, b in zip(getattr(full, key).weights, getattr(shipped, key).weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.fixture
def installed(monkeypatch):
    """As a pip install sees it: no checkout zoo/weights/, an empty cache, no mirror."""
    monkeypatch.setattr(registry, "checkout_weights_dir", lambda: None)


def test_without_checkout_or_remote_the_generator_loads_and_the_full_gan_says_what_is_missing(installed, recwarn):
    name = "dcgan.fashion_mnist"
    assert "url" not in zoo.card(name)
    with pytest.raises(download.DownloadError, match="no remote is set: set KERAS_GANS_ZOO_URL"):
        zoo.fetch(name)
    generator = zoo.load_generator(name)
    assert not [w for w in recwarn if "packaged" in str(w.message)]
    z = np.random.default_rng(0).normal(size=(2, 64)).astype("float32")
    images = np.asarray(generator(z, training=False))
    assert images.shape == (2, 28, 28, 1) and np.abs(images).max() <= 1
    with pytest.warns(UserWarning, match="Using the generator packaged in keras-gans"):
        gan = zoo.load_gan(name)
    np.testing.assert_array_equal(np.asarray(gan.sampling_generator()(z, training=False)), images)
    assert gan.generate(3, seed=0).shape == (3, 28, 28, 1)
    with pytest.raises(download.DownloadError, match="no remote is set"):
        zoo.load_gan(name, generator_only=False)
    # The classifier the metrics use is itself in the wheel.
    assert zoo.fetch("classifier.fashion_mnist") == os.path.join(packaged.PACKAGED_DIR,
                                                                 "classifier.fashion_mnist.weights.h5")


def test_offline_pip_install_uses_the_packaged_generator(installed, monkeypatch):
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    g = zoo.load_generator("cyclegan.sneaker2boot")
    assert g(np.zeros((1, 28, 28, 1), "float32")).shape == (1, 28, 28, 1)
    with pytest.warns(UserWarning, match="KERAS_GANS_OFFLINE is set"):
        gan = zoo.load_gan("cyclegan.sneaker2boot")
    full_card = zoo.card("cyclegan.sneaker2boot")["packaged"]
    assert set(full_card) == {"generator", "generator_ba"}
    assert gan.translate(np.zeros((1, 28, 28, 1), "float32"), direction="b2a").shape == (1, 28, 28, 1)


def test_a_damaged_packaged_file_is_refused(installed, tmp_path, monkeypatch):
    name = "dcgan.fashion_mnist"
    record = zoo.card(name)["packaged"]["generator"]
    data = bytearray(open(os.path.join(packaged.PACKAGED_DIR, record["file"]), "rb").read())
    data[len(data) // 2] ^= 0x01
    (tmp_path / record["file"]).write_bytes(bytes(data))
    monkeypatch.setattr(packaged, "PACKAGED_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not match its sha256: reinstall keras-gans"):
        zoo.load_generator(name)


def test_write_card_repacks_an_entry_that_ships_in_the_wheel(tiny_entry, tiny_artifact, tmp_path):
    old = tiny_entry(packaged={"generator": {"file": "old.generator.weights.h5", "sha256": "0" * 64, "size": 1}})
    card = zoo.write_card(old["name"], tiny_artifact["path"], cards_dir=str(tmp_path / "cards"),
                          family="dcgan", config=old["config"], dataset="fashion_mnist")
    record = card["packaged"]["generator"]
    path = tmp_path / "weights" / record["file"]
    assert record["file"] == f"{old['name']}.generator.weights.h5" and path.is_file()
    assert download.sha256_of(str(path)) == record["sha256"] and "KERAS_GANS_ZOO_URL" in card["remote"]
