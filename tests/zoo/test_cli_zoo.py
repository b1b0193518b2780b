"""`keras-gans zoo list|card|fetch|train` through the real argument parser."""

import json

import pytest

from keras_gans import cli, zoo
from tests.zoo.conftest import leftovers


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_a_row_per_entry_with_its_local_state(capsys):
    code, out, _ = run(capsys, "zoo", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "FAMILY", "DATASET", "PARAMS", "METRICS", "LOCAL"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert sorted(rows) == zoo.list_models()
    assert rows["dcgan.cifar10"].endswith("recipe only")
    assert "test_accuracy=0.9122" in rows["classifier.fashion_mnist"]
    assert rows["classifier.fashion_mnist"].endswith("checkout")
    assert "421.64k" in rows["classifier.fashion_mnist"]
    for name in zoo.list_models(pretrained=True):
        metrics = zoo.card(name)["metrics"]
        if "precision" in metrics:  # the headline scores, not every metric
            assert f"FCD={metrics['frechet_distance']:.4g} P={metrics['precision']:.4g}" in rows[name]
            assert "kid_std" not in rows[name]
        if "l1" in metrics:  # a paired translator: its FCD, label agreement and L1
            assert (f"FCD={metrics['frechet_distance']:.4g} labels={metrics['label_agreement']:.4g} "
                    f"L1={metrics['l1']:.4g}") in rows[name]
        if "reconstruction_l1" in metrics:
            assert f"recon_L1={metrics['reconstruction_l1']:.4g}" in rows[name]
        if "frechet_distance_a2b" in metrics:
            assert f"to_target={metrics['target_fraction_a2b']:.4g}" in rows[name]
    code, out, _ = run(capsys, "zoo", "list", "--pretrained", "--family", "classifier")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["classifier.fashion_mnist"]


def test_list_outside_a_checkout_names_what_the_package_carries(capsys, monkeypatch, tmp_path):
    from keras_gans.zoo import registry

    monkeypatch.setattr(registry, "checkout_weights_dir", lambda: None)
    monkeypatch.setenv("KERAS_GANS_HOME", str(tmp_path))  # an empty cache
    code, out, _ = run(capsys, "zoo", "list")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert rows["dcgan.fashion_mnist"].endswith("package (generator)")
    assert rows["cyclegan.sneaker2boot"].endswith("package (generator)")
    assert rows["classifier.fashion_mnist"].endswith("package")
    assert rows["dcgan.cifar10"].endswith("recipe only")


def test_card_prints_the_card_as_json(capsys):
    code, out, _ = run(capsys, "zoo", "card", "dcgan.cifar10")
    assert code == 0 and json.loads(out) == zoo.card("dcgan.cifar10")


def test_unknown_name_exits_2_with_one_line(capsys):
    code, out, err = run(capsys, "zoo", "card", "dcgan.cifar")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "did you mean dcgan.cifar10" in err


def test_fetch_prints_the_verified_path(capsys, tiny_entry, tiny_artifact, tmp_path, monkeypatch, zoo_env):
    card = tiny_entry()
    (tmp_path / card["file"]).write_bytes(tiny_artifact["bytes"])
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", tmp_path.as_uri())
    code, out, _ = run(capsys, "zoo", "fetch", card["name"], "--quiet")
    assert code == 0 and out.strip() == str(zoo_env / card["file"])
    code, out, _ = run(capsys, "zoo", "list")
    assert next(line for line in out.splitlines() if line.startswith(card["name"])).endswith("cache")


def test_fetch_failure_exits_1_with_one_line_and_no_file(capsys, http_server, tiny_entry, tiny_artifact,
                                                         monkeypatch, zoo_env):
    card = tiny_entry()
    http_server.add(f"/broken/{card['file']}", tiny_artifact["bytes"][:-1] + b"x")
    monkeypatch.setenv("KERAS_GANS_ZOO_URL", http_server.url + "/broken")
    code, out, err = run(capsys, "zoo", "fetch", card["name"])
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "sha256 mismatch" in err
    assert leftovers(zoo_env) == []


def test_train_parses_into_the_recipe_runner():
    args = cli.build_parser().parse_args(
        ["zoo", "train", "dcgan.fashion_mnist", "--epochs", "2", "--out", "runs/x", "--publish"]
    )
    assert args.run is cli._cmd_zoo_train
    assert (args.name, args.epochs, args.out, args.publish, args.resume) == (
        "dcgan.fashion_mnist", 2, "runs/x", True, False
    )
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["zoo", "train", "dcgan.fashion_mnist", "--epochs", "0"])


def _png_size(path):
    """(width, height) from a PNG's IHDR chunk; asserts the file is a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_sample_a_zoo_name_offline_from_the_checkout(tmp_path):
    # A fresh process in another folder, empty cache, no network: the checkout's
    # zoo/weights/ is found by the package itself.
    import os
    import subprocess
    import sys

    import numpy as np

    from keras_gans.callbacks import image_grid
    from keras_gans.zoo import registry

    home = tmp_path / "home"
    env = {**os.environ, "KERAS_GANS_OFFLINE": "1", "KERAS_GANS_HOME": str(home),
           "KERAS_GANS_ZOO_URL": "http://127.0.0.1:9/unreachable", "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join(filter(None, [registry.repo_root(), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "keras_gans.cli", "sample", "dcgan.fashion_mnist", "--n", "16",
         "--out", "grid.png"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "wrote grid.png (16 images from dcgan.fashion_mnist)" in done.stdout
    grid = tmp_path / "grid.png"
    # 16 tiles of 28x28 in the smallest square: 4 x 4 tiles, 112 x 112 pixels.
    height, width = image_grid(np.zeros((16, 28, 28, 1))).shape[:2]
    assert (height, width) == (112, 112)
    assert _png_size(grid) == (width, height)
    assert not home.exists() or os.listdir(home) == []  # nothing was downloaded or cached
