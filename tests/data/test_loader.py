"""kg.data: real Fashion-MNIST, other sources, and clear errors."""

import gzip
import os

import numpy as np
import pytest

import keras_gans as kg
from keras_gans.data import idx


def test_fashion_mnist_pipeline_is_batched_scaled_and_shuffled(fmnist_train):
    images, _ = fmnist_train
    ds = kg.data.load("fashion_mnist", split="train", batch_size=128, seed=1)
    first = next(iter(ds)).numpy()
    assert first.shape == (128, 28, 28, 1) and first.dtype == np.float32
    assert first.min() == -1.0 and first.max() == 1.0
    assert int(ds.cardinality()) == 60000 // 128
    # Each batch is made of real images, scaled exactly.
    pixels = {img.tobytes() for img in images[:60000:1]}
    restored = np.round((first + 1.0) * 127.5).astype("uint8")
    assert all(img.tobytes() in pixels for img in restored[:8])
    # A new epoch reshuffles.
    second_epoch = next(iter(ds)).numpy()
    assert not np.array_equal(first, second_epoch)


def test_labels_stay_aligned_with_their_images(fmnist_test):
    images, labels = fmnist_test
    lookup = {img.tobytes(): lab for img, lab in zip(images, labels)}
    ds = kg.data.load("fashion_mnist", split="test", batch_size=64, labels=True, seed=0)
    x, y = next(iter(ds))
    restored = np.round((x.numpy() + 1.0) * 127.5).astype("uint8")
    assert [lookup[img.tobytes()] for img in restored] == list(y.numpy())
    assert y.dtype.name == "int32"


def test_classes_filter(fmnist_test):
    ds = kg.data.load("fashion_mnist", split="test", batch_size=100, labels=True, classes=[7, 9])
    seen = set()
    for _, y in ds:
        seen |= set(y.numpy().tolist())
    assert seen == {7, 9}
    assert int(ds.cardinality()) == 2000 // 100


def test_idx_reader_matches_the_known_first_test_labels():
    labels = idx.read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,)
    assert labels[:5].tolist() == [9, 2, 1, 1, 6]
    assert np.bincount(labels).tolist() == [1000] * 10


def test_truncated_idx_file_is_reported(tmp_path):
    raw = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
    for name, data in [("train-images-idx3-ubyte", raw[:5000]), ("train-labels-idx1-ubyte", b"junk")]:
        (tmp_path / name).write_bytes(data)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        kg.data.load(str(tmp_path))


def test_keras_gans_data_points_elsewhere(tmp_path, monkeypatch):
    folder = tmp_path / "fashion_mnist"
    folder.mkdir()
    src = "/usr/share/datasets/fashion-mnist"
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        os.symlink(os.path.join(src, name), folder / name)
    monkeypatch.setenv("KERAS_GANS_DATA", str(tmp_path))
    images, labels = kg.data.load_numpy("fashion_mnist", split="test")
    assert images.shape == (10000, 28, 28, 1) and labels[0] == 9


def test_numpy_arrays_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50, 16, 16, 3), dtype=np.uint8)
    y = np.arange(50) % 5
    ds = kg.data.load((x, y), batch_size=10, labels=True, shuffle=False)
    bx, by = next(iter(ds))
    np.testing.assert_allclose(bx.numpy(), x[:10] / 127.5 - 1.0, atol=1e-6)
    assert by.numpy().tolist() == y[:10].tolist()
    np.savez(tmp_path / "d.npz", images=x, labels=y)
    images, labels = kg.data.load_numpy(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(images, x)
    # Float images already in [-1, 1] pass through unchanged.
    f = rng.uniform(-1, 1, (20, 8, 8, 1)).astype("float32")
    np.testing.assert_array_equal(next(iter(kg.data.load(f, batch_size=20, shuffle=False))).numpy(), f)


def test_load_numpy_takes_images_and_labels_as_fit_does(fmnist_test):
    x, y = fmnist_test[0][:32, ..., 0], fmnist_test[1][:32].astype("int64")  # no channel axis
    images, labels = kg.data.load_numpy(x, y)
    assert images.shape == (32, 28, 28, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[..., 0], x)
    assert labels.dtype == np.int32 and labels.tolist() == y.tolist()
    same = kg.data.load_numpy((x, y))
    np.testing.assert_array_equal(same[0], images)
    np.testing.assert_array_equal(same[1], labels)
    assert kg.data.load_numpy(x)[1] is None
    with pytest.raises(ValueError, match="one label per image"):
        kg.data.load_numpy(x, y[:31])
    # kg.data.load passes them on: labelled batches, aligned with their images.
    bx, by = next(iter(kg.data.load(x, y, batch_size=8, labels=True, shuffle=False)))
    np.testing.assert_allclose(bx.numpy()[..., 0], x[:8] / 127.5 - 1.0, atol=1e-6)
    assert by.numpy().tolist() == y[:8].tolist()
    # Labels given with a named source would be dropped: refused in one line.
    with pytest.raises(ValueError, match="split must be a split name .* load_numpy\\(images, labels\\)"):
        kg.data.load_numpy("fashion_mnist", y)


IDX_ONLY_SCRIPT = """
import json, sys
import keras_gans as kg
images, labels = kg.data.load_numpy("fashion_mnist", split="test")
print(json.dumps({"shape": list(images.shape), "tfds_imported": "tensorflow_datasets" in sys.modules}))
"""


def test_idx_data_loads_without_tfds_or_its_warning(tmp_path):
    """No prepared TFDS copy here: the IDX files are read without importing TFDS,
    so no warning about a TFDS dataset folder that does not exist (a fresh
    process, to see its log and modules)."""
    import json
    import subprocess
    import sys

    env = {**os.environ, "TFDS_DATA_DIR": str(tmp_path / "tfds"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("KERAS_GANS_DATA", None)
    done = subprocess.run([sys.executable, "-c", IDX_ONLY_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"shape": [10000, 28, 28, 1], "tfds_imported": False}
    assert "dataset_info.json" not in done.stderr and "Variant folder" not in done.stderr, done.stderr[-2000:]


def test_image_folder_with_class_subfolders(tmp_path):
    from matplotlib import image as mpimg

    rng = np.random.default_rng(0)
    for c in ("cats", "dogs"):
        (tmp_path / c).mkdir()
        for i in range(3):
            mpimg.imsave(tmp_path / c / f"{i}.png", rng.integers(0, 255, (12, 12, 3)).astype("uint8"))
    images, labels = kg.data.load_numpy(str(tmp_path))
    assert images.shape == (6, 12, 12, 3) and images.dtype == np.uint8
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize(
    "source, error, message",
    [
        ("no_such_dataset_xyz", ValueError, "unknown dataset 'no_such_dataset_xyz'"),
        ("./missing/folder", FileNotFoundError, "does not exist"),
        (np.zeros((0, 28, 28, 1), "uint8"), ValueError, "empty"),
        (np.zeros((4, 28), "uint8"), ValueError, "shape"),
        (np.zeros((4, 28, 28, 1), "int64"), ValueError, "dtype"),
        (np.full((4, 28, 28, 1), 255.0, "float32"), ValueError, "\\[-1, 1\\]"),
        ((np.zeros((4, 8, 8, 1), "uint8"), np.zeros(3, "int32")), ValueError, "one label per image"),
        ((np.zeros((4, 8, 8, 1), "uint8"), np.zeros(4, "float32")), ValueError, "integers"),
    ],
)
def test_bad_sources_raise_one_clear_error(source, error, message):
    with pytest.raises(error, match=message):
        kg.data.load(source, batch_size=2)


def test_a_tfds_name_with_a_config_is_a_dataset_not_a_path(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GANS_DATA", str(tmp_path))
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    # "name/config" goes to TFDS (here: offline, so it says how to get it) ...
    with pytest.raises(FileNotFoundError, match="cycle_gan/horse2zebra is not on this machine and KERAS_GANS_OFFLINE"):
        kg.data.load_numpy("cycle_gan/horse2zebra")
    # ... while a name whose first part is a folder here is a missing path.
    (tmp_path / "cycle_gan").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="data folder cycle_gan/horse2zebra does not exist"):
        kg.data.load_numpy("cycle_gan/horse2zebra")


def test_missing_data_folder_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GANS_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="KERAS_GANS_DATA=.* is not a folder"):
        kg.data.load("fashion_mnist")
    # With nothing local and downloads off, the error names every way to get it.
    monkeypatch.setenv("KERAS_GANS_DATA", str(tmp_path))
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    monkeypatch.setattr(idx, "SYSTEM_DIRS", {"fashion_mnist": str(tmp_path / "none")})
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        kg.data.load("fashion_mnist")


def test_batch_larger_than_dataset_and_labels_on_unlabelled_data():
    with pytest.raises(ValueError, match="fewer than one batch"):
        kg.data.load(np.zeros((3, 8, 8, 1), "uint8"), batch_size=4)
    with pytest.raises(ValueError, match="has no labels"):
        kg.data.load(np.zeros((8, 8, 8, 1), "uint8"), batch_size=4, labels=True)
    with pytest.raises(ValueError, match="positive int"):
        kg.data.load(np.zeros((8, 8, 8, 1), "uint8"), batch_size=0)


TFDS_SCRIPT = '''
import json, sys
import numpy as np
import tensorflow_datasets as tfds
import keras_gans as kg


class KgTinyPhotos(tfds.core.GeneratorBasedBuilder):
    """Six photos of two sizes, as a TFDS dataset prepared on disk."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "label": tfds.features.ClassLabel(num_classes=2)}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        rng = np.random.default_rng(0)
        for i in range(6):
            shape = (20, 16, 3) if i % 2 else (24, 30, 3)
            yield i, {"image": rng.integers(0, 256, shape, dtype=np.uint8), "label": i % 2}


KgTinyPhotos().download_and_prepare()
out = {}
try:
    kg.data.load_numpy("kg_tiny_photos")
except ValueError as err:
    out["error"] = str(err)
images, labels = kg.data.load_numpy("kg_tiny_photos", image_size=(8, 8))
batch = next(iter(kg.data.load("kg_tiny_photos", batch_size=4, image_size=(8, 8), labels=True)))
out.update(shape=list(images.shape), dtype=str(images.dtype), labels=sorted(labels.tolist()),
           batch=[list(batch[0].shape), float(batch[0].numpy().min()), float(batch[0].numpy().max())])
print(json.dumps(out))
'''


def test_a_prepared_tfds_dataset_is_read_and_resized_per_image(tmp_path):
    """A real TFDS builder prepared in a temporary TFDS_DATA_DIR (in a fresh
    process, since TFDS reads that variable when it is imported): images of
    two sizes need image_size, and with it every image comes out resized."""
    import json
    import subprocess
    import sys

    script = tmp_path / "tiny_tfds.py"
    script.write_text(TFDS_SCRIPT)
    env = {**os.environ, "TFDS_DATA_DIR": str(tmp_path / "tfds"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "different shapes" in out["error"] and "image_size=(h, w)" in out["error"]
    assert out["shape"] == [6, 8, 8, 3] and out["dtype"] == "uint8"
    assert out["labels"] == [0, 0, 0, 1, 1, 1]
    shape, low, high = out["batch"]
    assert shape == [4, 8, 8, 3] and -1.0 <= low < high <= 1.0


def _autotuned(ds):
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = True
    return ds.with_options(options)


def test_pipelines_run_without_the_autotuning_thread_and_yield_the_same_batches():
    # tf.data's autotuning thread can hold up the deletion of every epoch's
    # iterator for seconds (bench/data_pipeline.py); every pipeline the
    # library builds turns it off, and that changes no element or order.
    import tensorflow as tf

    from keras_gans.trainer import batch_stream

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (200, 8, 8, 1), dtype=np.uint8)
    labels = rng.integers(0, 10, 200).astype("int32")
    builders = {
        "to_pipeline": lambda: kg.data.to_pipeline(images, labels, batch_size=32, seed=3),
        "load_unpaired": lambda: kg.data.load_unpaired(images[:120], images[120:], batch_size=16, seed=3),
        "batch_stream": lambda: batch_stream((images, labels), 32, seed=3)[0].take(7),
    }

    def batches(ds):
        return [np.concatenate([np.ravel(t) for t in tf.nest.flatten(b)]) for b in ds.as_numpy_iterator()]

    for name, build in builders.items():
        ds = build()
        assert ds.options().autotune.enabled is False, name
        ours, tuned = batches(ds), batches(_autotuned(build()))
        assert len(ours) == len(tuned) > 1, name
        assert all(np.array_equal(a, b) for a, b in zip(ours, tuned)), name
