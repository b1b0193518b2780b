"""Presets and hf:// hubs: save_preset -> upload -> load_gan against a loopback hub.

The hub is ``tests.zoo.hub_server.HubServer``, a real HTTP server on 127.0.0.1
that speaks the endpoints huggingface_hub calls (resolve, HEAD metadata,
create, preupload, the LFS batch API and its storage host, commit);
``HF_ENDPOINT`` points the real client at it. It answers preupload as the hub
does, so a preset's ``model.weights.h5`` goes through LFS (``*.h5`` is in a
new repository's ``.gitattributes``).

huggingface_hub uploads LFS files through Xet when ``hf_xet`` is installed
(it is a dependency on x86-64 and arm64); the loopback hub speaks the LFS
batch API, not Xet's content-addressed storage, so these tests set
``HF_HUB_DISABLE_XET``, the client's own switch, and its classic LFS path
runs: preupload -> LFS batch -> PUT -> verify -> commit. The Xet path is not
exercised here.
"""

import base64
import hashlib
import json
import os
import uuid

import numpy as np
import pytest

import keras_gans as kg
from keras_gans import cli, zoo
from keras_gans.zoo import hub, preset
from tests.zoo.hub_server import HubServer

pytest.importorskip("huggingface_hub")

IMAGES = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")


@pytest.fixture(scope="module")
def hub_server():
    server = HubServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def hub_env(hub_server, tmp_path, monkeypatch):
    """HF_ENDPOINT on the loopback hub, an empty hub cache per test, a dummy token, no Xet."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    # huggingface_hub reads HF_HUB_DISABLE_XET when it is imported: set both the variable and its constant.
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_TOKEN", "hf_loopback_test_token")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def tiny_gan(seed=0):
    gan = kg.models.DCGAN(latent_dim=8, image_shape=(28, 28, 1), width=8, seed=seed)
    gan.compile()
    gan.fit(IMAGES, batch_size=8, epochs=1, verbose=0)  # builds both optimizers, moves them
    return gan


@pytest.fixture(scope="module")
def trained():
    return tiny_gan()


def repo():
    return f"me/tiny-{uuid.uuid4().hex[:8]}"


def assert_same_state(a, b):
    for x, y in zip(a.variables, b.variables, strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    for name, opt in a.optimizers().items():
        restored = b.optimizers()[name]
        assert int(restored.iterations.numpy()) == int(opt.iterations.numpy()) > 0
        for x, y in zip(opt.variables, restored.variables, strict=True):
            np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_save_preset_writes_the_keras_hub_shape_with_card_and_manifest(trained, tmp_path):
    card = {"dataset": "fashion_mnist", "metrics": {"frechet_distance": 12.5},
            "protocol": {"extractor": "classifier.fashion_mnist", "n_fake": 10000}, "recipe": "zoo/x.toml",
            "license": "Apache-2.0"}
    folder = preset.save_preset(trained, str(tmp_path / "p"), card=card, n_samples=4)
    assert sorted(os.listdir(folder)) == ["README.md", "config.json", "metadata.json", "model.weights.h5",
                                          "samples.png"]
    meta = json.loads((tmp_path / "p" / "metadata.json").read_text())
    assert meta["card"]["metrics"] == {"frechet_distance": 12.5}
    assert meta["card"]["protocol"]["extractor"] == "classifier.fashion_mnist"
    assert meta["card"]["recipe"] == "zoo/x.toml" and meta["family"] == "dcgan"
    assert meta["optimizer_state"] is True
    assert sorted(meta["files"]) == ["README.md", "config.json", "model.weights.h5", "samples.png"]
    for file, record in meta["files"].items():
        assert record["size"] == os.path.getsize(tmp_path / "p" / file)
    readme = (tmp_path / "p" / "README.md").read_text()
    assert readme.startswith("---\nlibrary_name: keras-gans\n")
    assert "| frechet_distance | 12.5 |" in readme and "![samples](samples.png)" in readme
    config = json.loads((tmp_path / "p" / "config.json").read_text())
    assert config["class_name"] == "DCGAN" and "compile_config" in config
    # No temporary folder is left beside it.
    assert sorted(os.listdir(tmp_path)) == ["p"]


def test_save_preset_is_atomic_and_does_not_replace_without_overwrite(trained, tmp_path, monkeypatch):
    folder = str(tmp_path / "p")
    preset.save_preset(trained, folder, n_samples=0)
    before = json.loads((tmp_path / "p" / "metadata.json").read_text())["files"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        preset.save_preset(trained, folder, n_samples=0)
    # A failure halfway through a replacement leaves the old preset whole and no temporary folder.
    monkeypatch.setattr(type(trained), "preview", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        preset.save_preset(trained, folder, overwrite=True, n_samples=4)
    assert sorted(os.listdir(tmp_path)) == ["p"]
    assert json.loads((tmp_path / "p" / "metadata.json").read_text())["files"] == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a preset"):
        preset.save_preset(trained, str(tmp_path / "other"), overwrite=True, n_samples=0)


def test_round_trip_through_the_hub_restores_everything_and_continues_training(hub_server, tmp_path):
    trained = tiny_gan()
    repo_id = repo()
    folder = preset.save_preset(trained, str(tmp_path / "p"), card={"dataset": "fashion_mnist"}, n_samples=4)
    pushed = zoo.upload(folder, f"hf://{repo_id}")
    oid = hub_server.repos[repo_id]["branches"]["main"]
    assert pushed == f"hf://{repo_id}@{oid}"
    # Beside the hub's own .gitattributes (its initial commit), the preset's files; the weights in LFS.
    assert set(hub_server.files(repo_id)) == set(os.listdir(folder)) | {".gitattributes"}
    assert hub_server.lfs_files(repo_id) == {"model.weights.h5"}
    calls = [c for c in hub_server.requests if c[0] in ("POST", "PUT") and (repo_id in c[1] or "lfs-storage" in c[1])]
    sha = hashlib.sha256(open(os.path.join(folder, "model.weights.h5"), "rb").read()).hexdigest()
    assert calls == [
        ("POST", f"/api/models/{repo_id}/preupload/main"),
        ("POST", f"/{repo_id}.git/info/lfs/objects/batch"),
        ("PUT", f"/lfs-storage/upload/{repo_id}/{sha}"),
        ("POST", f"/{repo_id}.git/info/lfs/objects/verify"),
        ("POST", f"/api/models/{repo_id}/commit/main"),
    ]

    loaded = zoo.load_gan(f"hf://{repo_id}")
    assert type(loaded) is kg.models.DCGAN and loaded.compiled
    assert_same_state(trained, loaded)
    np.testing.assert_array_equal(trained.seed_generator.state.numpy(), loaded.seed_generator.state.numpy())
    # Files came from the hub cache under HF_HOME, all from the resolved commit.
    resolves = [(m, p) for m, p in hub_server.requests if repo_id in p and "/resolve/" in p]
    assert resolves[0] == ("HEAD", f"/{repo_id}/resolve/main/metadata.json")
    later = [p for m, p in resolves if not p.endswith("/metadata.json")]
    # HEAD + GET of 3 regular files; HEAD of the weights, whose redirect names the storage host it is read from.
    assert len(later) == 7 and all(f"/resolve/{oid}/" in p for p in later)
    assert ("GET", f"/lfs-storage/objects/{sha}") in hub_server.requests

    generator = zoo.load_generator(f"hf://{repo_id}")
    z = np.random.default_rng(1).normal(size=(3, 8)).astype("float32")
    np.testing.assert_array_equal(np.asarray(generator(z, training=False)),
                                  np.asarray(trained.generator(z, training=False)))

    # It continues training as the original does: one more identical step on both.
    before = [w.numpy() for w in loaded.generator.weights]
    trained.fit(IMAGES[:8], batch_size=8, epochs=1, verbose=0)
    loaded.fit(IMAGES[:8], batch_size=8, epochs=1, verbose=0)
    assert int(loaded.optimizers()["g_optimizer"].iterations.numpy()) == 3
    for x, y in zip(trained.variables, loaded.variables, strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, loaded.generator.weights))


def test_revision_pinning_by_at_and_by_argument(hub_server, tmp_path):
    repo_id = repo()
    first, second = tiny_gan(seed=1), tiny_gan(seed=2)
    v1 = zoo.upload(preset.save_preset(first, str(tmp_path / "v1"), n_samples=0), f"hf://{repo_id}")
    v2 = zoo.upload(preset.save_preset(second, str(tmp_path / "v2"), n_samples=0), f"hf://{repo_id}")
    assert v1 != v2
    oid1 = v1.split("@")[1]
    z = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")

    def out(g):
        return np.asarray(g(z, training=False))

    np.testing.assert_array_equal(out(zoo.load_generator(f"hf://{repo_id}")), out(second.generator))
    np.testing.assert_array_equal(out(zoo.load_generator(v1)), out(first.generator))
    np.testing.assert_array_equal(out(zoo.load_generator(f"hf://{repo_id}", revision=oid1)), out(first.generator))
    with pytest.raises(ValueError, match="also given"):
        zoo.load_gan(v1, revision="main")


def test_a_tampered_hub_file_is_refused_in_one_line(trained, hub_server, tmp_path):
    repo_id = repo()
    folder = preset.save_preset(trained, str(tmp_path / "p"), n_samples=0)
    zoo.upload(folder, f"hf://{repo_id}")
    data = bytearray(hub_server.files(repo_id)["model.weights.h5"])
    data[len(data) // 2] ^= 0x01
    hub_server.tamper(repo_id, "model.weights.h5", bytes(data))
    with pytest.raises(zoo.DownloadError) as info:
        zoo.load_gan(f"hf://{repo_id}")
    message = str(info.value)
    assert "\n" not in message
    assert "model.weights.h5 does not match the sha256 in metadata.json" in message
    assert message.startswith(f"hf://{repo_id}@")


def test_a_truncated_hub_file_is_refused_in_one_line(trained, hub_server, tmp_path):
    repo_id = repo()
    zoo.upload(preset.save_preset(trained, str(tmp_path / "p"), n_samples=0), f"hf://{repo_id}")
    hub_server.truncate(repo_id, "model.weights.h5")
    with pytest.raises(zoo.DownloadError) as info:
        zoo.load_gan(f"hf://{repo_id}")
    assert "\n" not in str(info.value) and repo_id in str(info.value)


def test_offline_loads_from_the_hub_cache_without_a_request(trained, hub_server, tmp_path, monkeypatch):
    repo_id = repo()
    pushed = zoo.upload(preset.save_preset(trained, str(tmp_path / "p"), n_samples=0), f"hf://{repo_id}")
    zoo.load_gan(f"hf://{repo_id}")
    seen = len(hub_server.requests)
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    assert_same_state(trained, zoo.load_gan(f"hf://{repo_id}"))  # main -> the commit cached for it
    assert_same_state(trained, zoo.load_gan(pushed))
    assert len(hub_server.requests) == seen
    with pytest.raises(zoo.DownloadError, match="KERAS_GANS_OFFLINE is set"):
        zoo.load_gan(f"hf://{repo()}")


def test_unknown_repo_and_revision_are_one_line_errors(trained, tmp_path):
    with pytest.raises(zoo.DownloadError, match=r"cannot fetch hf://me/nothing-here@main: RepositoryNotFound"):
        zoo.load_gan("hf://me/nothing-here")
    repo_id = repo()
    zoo.upload(preset.save_preset(trained, str(tmp_path / "p"), n_samples=0), f"hf://{repo_id}")
    with pytest.raises(zoo.DownloadError, match="RevisionNotFound"):
        zoo.load_gan(f"hf://{repo_id}@v9")
    with pytest.raises(ValueError, match="hf://owner/repo"):
        hub.parse("hf://just-a-name")


def test_folders_and_file_urls_load_and_a_damaged_local_file_is_refused(trained, tmp_path):
    folder = preset.save_preset(trained, str(tmp_path / "my preset"), n_samples=0)
    assert_same_state(trained, zoo.load_gan(folder))
    assert_same_state(trained, zoo.load_gan((tmp_path / "my preset").as_uri()))
    with open(os.path.join(folder, "model.weights.h5"), "r+b") as f:
        f.truncate(1000)
    with pytest.raises(zoo.DownloadError, match="model.weights.h5 is 1000 bytes but metadata.json says"):
        zoo.load_gan(folder)
    # A damaged preset is not uploaded either.
    with pytest.raises(zoo.DownloadError, match="1000 bytes"):
        zoo.upload(folder, f"hf://{repo()}")


def test_cli_zoo_publish_pushes_a_run_and_prints_the_pinned_source(trained, hub_server, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    trained.save(str(run / "model.keras"))
    (run / "run.json").write_text(json.dumps({"family": "dcgan", "dataset": "fashion_mnist", "epochs": 1}))
    repo_id = repo()
    assert cli.main(["zoo", "publish", str(run), "--to", f"hf://{repo_id}"]) == 0
    pushed = capsys.readouterr().out.strip()
    assert pushed == f"hf://{repo_id}@{hub_server.repos[repo_id]['branches']['main']}"
    meta = json.loads(hub_server.files(repo_id)["metadata.json"])
    assert meta["card"]["dataset"] == "fashion_mnist" and meta["card"]["training"] == {"epochs": 1}
    assert_same_state(trained, zoo.load_gan(pushed))
    assert cli.main(["zoo", "publish", str(run), "--to", "hf://bad"]) == 2
    assert "--to: hf://bad: expected hf://owner/repo" in capsys.readouterr().err


def test_cli_zoo_publish_of_a_zoo_name_carries_its_card(hub_server, tiny_entry, tiny_artifact, tmp_path,
                                                        monkeypatch, capsys):
    card = tiny_entry(metrics={"frechet_distance": 3.5}, protocol={"extractor": "classifier.fashion_mnist"},
                      recipe="zoo/x.toml", license="Apache-2.0")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / card["file"]).write_bytes(tiny_artifact["bytes"])
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", mirror.as_uri())
    repo_id = repo()
    out = tmp_path / "kept"
    assert cli.main(["zoo", "publish", card["name"], "--to", f"hf://{repo_id}", "--out", str(out)]) == 0
    pushed = capsys.readouterr().out.strip()
    meta = json.loads(hub_server.files(repo_id)["metadata.json"])
    assert meta["card"]["name"] == card["name"] and meta["card"]["metrics"] == {"frechet_distance": 3.5}
    assert meta["card"]["recipe"] == "zoo/x.toml" and (out / "README.md").is_file()
    generator = zoo.load_generator(pushed)
    np.testing.assert_allclose(np.asarray(generator(tiny_artifact["z"], training=False)), tiny_artifact["images"],
                               rtol=1e-6, atol=1e-6)


def test_a_cyclegan_preset_keeps_all_four_networks_and_optimizers(tmp_path):
    gan = kg.models.CycleGAN(image_shape=(28, 28, 1), width=4, n_blocks=1, n_downsamplings=1,
                             discriminator_layers=1, seed=0)
    gan.compile()
    gan.build_optimizers()
    inputs = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    folder = preset.save_preset(gan, str(tmp_path / "cyc"), inputs=inputs, n_samples=8)
    loaded = zoo.load_gan(folder)
    assert type(loaded) is kg.models.CycleGAN and sorted(loaded.optimizers()) == sorted(gan.optimizers())
    for x, y in zip(gan.variables, loaded.variables, strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    for name, opt in gan.optimizers().items():
        for x, y in zip(opt.variables, loaded.optimizers()[name].variables, strict=True):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
    np.testing.assert_array_equal(np.asarray(zoo.load_generator(folder)(inputs)), np.asarray(gan.translate(inputs)))
    with pytest.raises(ValueError, match="inputs="):
        preset.save_preset(gan, str(tmp_path / "no_inputs"))
    assert not os.path.exists(tmp_path / "no_inputs")
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]


def test_weights_over_the_size_threshold_go_through_lfs_and_come_back_byte_identical(hub_server, tmp_path):
    """A repository whose .gitattributes does not name *.h5: the hub still wants a 10 MiB file in LFS."""
    import huggingface_hub

    from tests.zoo.hub_server import LFS_SIZE

    gan = kg.models.DCGAN(latent_dim=64, image_shape=(28, 28, 1), width=96, seed=3)
    folder = preset.save_preset(gan, str(tmp_path / "big"), n_samples=0)
    weights = os.path.join(folder, "model.weights.h5")
    assert os.path.getsize(weights) >= LFS_SIZE
    repo_id = repo()
    api = huggingface_hub.HfApi(endpoint=hub_server.url)
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"*.bin filter=lfs diff=lfs merge=lfs -text\n", path_in_repo=".gitattributes",
                    repo_id=repo_id)
    puts = sum(1 for method, _ in hub_server.requests if method == "PUT")

    pushed = zoo.upload(folder, f"hf://{repo_id}")
    assert hub_server.lfs_files(repo_id) == {"model.weights.h5"}  # by its size alone
    assert sum(1 for method, _ in hub_server.requests if method == "PUT") == puts + 1

    # Back from the hub: every file byte for byte, each matching the manifest's sha256.
    fetched, where = hub.snapshot(pushed)
    assert where == pushed
    manifest = json.loads(open(os.path.join(folder, "metadata.json")).read())["files"]
    for file, record in manifest.items():
        data = open(os.path.join(fetched, file), "rb").read()
        assert data == open(os.path.join(folder, file), "rb").read(), file
        assert hashlib.sha256(data).hexdigest() == record["sha256"], file
    preset.verify_files(fetched, json.loads(open(os.path.join(fetched, "metadata.json")).read()), where)

    # The same weights again: the LFS batch answers that the hub holds them, and nothing is sent.
    again = zoo.upload(folder, f"hf://{repo_id}", commit_message="same weights")
    assert again != pushed and sum(1 for method, _ in hub_server.requests if method == "PUT") == puts + 1
    assert hub_server.files(repo_id)["model.weights.h5"] == open(weights, "rb").read()


def test_the_loopback_hub_refuses_commits_the_hub_refuses(hub_server):
    """An lfsFile whose object was never uploaded, or weights inlined in the commit: refused, nothing committed.

    So the tests above would fail if the client skipped the LFS upload or sent the weights inline.
    """
    import urllib.error
    import urllib.request

    import huggingface_hub

    repo_id = repo()
    huggingface_hub.HfApi(endpoint=hub_server.url).create_repo(repo_id)

    def commit(entry):
        header = {"key": "header", "value": {"summary": "x", "description": ""}}
        body = "\n".join(json.dumps(line) for line in (header, entry)).encode()
        request = urllib.request.Request(f"{hub_server.url}/api/models/{repo_id}/commit/main", data=body,
                                         headers={"Content-Type": "application/x-ndjson"})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        return info.value.code, json.loads(info.value.read())["error"]

    missing = hashlib.sha256(b"never uploaded").hexdigest()
    code, error = commit({"key": "lfsFile", "value": {"path": "model.weights.h5", "algo": "sha256",
                                                      "oid": missing, "size": 14}})
    assert code == 422 and f"LFS object {missing} of model.weights.h5 was not uploaded" in error
    inline = base64.b64encode(b"\x89HDF\r\n" + b"\0" * 64).decode()
    code, error = commit({"key": "file", "value": {"path": "model.weights.h5", "content": inline,
                                                   "encoding": "base64"}})
    assert code == 400 and "must be stored with LFS" in error
    assert set(hub_server.files(repo_id)) == {".gitattributes"}


def test_a_refused_lfs_transfer_is_one_line_and_commits_nothing(trained, hub_server, tmp_path):
    repo_id = repo()
    folder = preset.save_preset(trained, str(tmp_path / "p"), n_samples=0)
    hub_server.storage_refuses = 403
    try:
        with pytest.raises(zoo.DownloadError) as info:
            zoo.upload(folder, f"hf://{repo_id}")
    finally:
        hub_server.storage_refuses = None
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"cannot upload {folder} to hf://{repo_id}:")
    assert "model.weights.h5" in message and "403" in message and message.endswith("nothing was committed")
    assert set(hub_server.files(repo_id)) == {".gitattributes"}
    # The hub back to normal: the same folder uploads.
    assert zoo.upload(folder, f"hf://{repo_id}").startswith(f"hf://{repo_id}@")
    assert hub_server.lfs_files(repo_id) == {"model.weights.h5"}
