"""The built wheel, installed into a fresh venv outside the checkout, works offline.

Slow (``-m slow``): it builds the wheel and makes a venv. The venv gets the
wheel alone with ``pip install --no-index`` (nothing from the network); its
dependencies (TensorFlow, Keras...) come from this interpreter's
site-packages through a ``.pth`` file naming a folder of links to them, with
every keras_gans entry (the editable install of this checkout) left out, so
the only keras_gans the child can import is the wheel's. pip still resolves
the wheel's ``install_requires`` against what is visible, so a dependency the
wheel forgets to declare, or declares unsatisfiably, fails here too. The
child runs in a temporary folder with ``KERAS_GANS_OFFLINE=1``, an empty
``KERAS_GANS_HOME`` and no mirror, and loads, samples and exports every
pretrained entry's generator.
"""

import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = textwrap.dedent(
    """
    import os, sys, warnings
    import numpy as np
    import keras_gans as kg
    from keras_gans.zoo import registry, packaged

    venv = sys.argv[1]
    assert os.path.realpath(kg.__file__).startswith(os.path.realpath(venv)), kg.__file__
    assert registry.checkout_weights_dir() is None
    assert os.environ["KERAS_GANS_OFFLINE"] == "1"
    names = kg.zoo.list_models(pretrained=True)
    for name in names:
        card = kg.zoo.card(name)
        if card["task"] != "generator":
            path = kg.zoo.fetch(name)
            assert path.startswith(packaged.PACKAGED_DIR), path
            model = kg.zoo.get_model(name)
            model.load_weights(path)
            print("ok", name, "extractor", model(np.zeros((2, 28, 28, 1), "float32")).shape)
            continue
        g = kg.zoo.load_generator(name)
        if card["family"] == "cyclegan":
            out = np.asarray(g(np.zeros((2, 28, 28, 1), "float32")))
        elif card["family"] == "cgan":
            out = np.asarray(g([np.zeros((2, card["config"]["latent_dim"]), "float32"), np.array([0, 1])]))
        else:
            out = np.asarray(g(np.random.default_rng(0).normal(size=(2, card["config"]["latent_dim"])).astype("float32")))
        assert out.shape == (2, 28, 28, 1) and np.isfinite(out).all() and np.abs(out).max() <= 1.0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gan = kg.zoo.load_gan(name)
        assert any("packaged" in str(w.message) for w in caught)
        if card["family"] != "cyclegan":
            assert gan.generate(4, seed=0).shape == (4, 28, 28, 1)
        exported = kg.export.saved_model(name, os.path.join("serving"), version=1)
        print("ok", name, out.shape, exported)
    print("done", len(names))
    """
)


def _run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_the_wheel_alone_loads_samples_and_exports_every_pretrained_entry_offline(tmp_path):
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), ROOT])
    (wheel,) = [str(wheels / f) for f in os.listdir(wheels) if f.endswith(".whl")]
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    shipped = sorted(n for n in names if n.startswith("keras_gans/zoo/weights/"))
    from keras_gans.zoo import registry

    expected = sorted(f"keras_gans/zoo/weights/{record['file']}" for entry in registry._registry().values()
                      for record in (entry.get("packaged") or {}).values())
    assert shipped == expected and len(shipped) >= 6, shipped  # every card's packaged files, nothing else
    assert any(n.startswith("keras_gans/zoo/cards/") for n in names)
    assert not any(n.startswith(("tests/", "zoo/", "bench/")) for n in names)
    print(f"wheel {os.path.basename(wheel)}: {os.path.getsize(wheel)} bytes, {len(names)} files")

    # Dependencies: links to this interpreter's site-packages, keras_gans left out.
    deps = tmp_path / "deps"
    deps.mkdir()
    site = sysconfig.get_paths()["purelib"]
    for entry in os.listdir(site):
        if entry.startswith(("keras_gans", "__editable__", "keras-gans", "pip")) or entry.endswith(".pth"):
            continue
        os.symlink(os.path.join(site, entry), deps / entry)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    child_python = str(venv / "bin" / "python")
    child_site = _run([child_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    with open(os.path.join(child_site, "zz_deps.pth"), "w") as f:
        f.write(str(deps) + "\n")
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_GANS", "PYTHON", "HF_"))}
    env.update(KERAS_GANS_OFFLINE="1", KERAS_GANS_HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1",
               PYTHONNOUSERSITE="1", TF_CPP_MIN_LOG_LEVEL="2", PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    # --no-index: nothing is downloaded; pip still checks the wheel's requirements against what is visible.
    _run([child_python, "-m", "pip", "install", "--no-index", "-q", wheel], cwd=str(work), env=env)
    _run([child_python, "-m", "pip", "check"], cwd=str(work), env=env)
    proc = _run([child_python, "-c", CHILD, str(venv)], cwd=str(work), env=env, timeout=1200)
    print(proc.stdout)
    assert "done 5" in proc.stdout
    assert len(os.listdir(work / "serving")) == 4
    listing = _run([str(venv / "bin" / "keras-gans"), "zoo", "list", "--pretrained"], cwd=str(work), env=env)
    assert "dcgan.fashion_mnist" in listing.stdout
