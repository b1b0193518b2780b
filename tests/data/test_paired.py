"""load_paired: aligned folders, .npz, arrays, TFDS, the edges and side-by-side transforms, errors."""

import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans.data.paired import edge_map


def with_ids(n, first_id=0, shape=(6, 6, 1)):
    """uint8 images whose pixel [0, 0, 0] is a unique id (and the rest noise)."""
    images = np.random.default_rng(first_id).integers(0, 256, (n, *shape), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(first_id, first_id + n)
    return images


def ids_of(batch):
    return np.rint((np.asarray(batch)[:, 0, 0, 0] + 1.0) * 127.5).astype(int).tolist()


def pairs_of(ds):
    """``[(input id, target id), ...]`` over one epoch."""
    found = []
    for a, b in ds:
        found += list(zip(ids_of(a), ids_of(b)))
    return found


def write_pngs(folder, images, names):
    folder.mkdir(parents=True, exist_ok=True)
    for image, name in zip(images, names):
        tf.io.write_file(str(folder / name), tf.io.encode_png(image))


# ---------------------------------------------------------------- sources
def test_arrays_stay_paired_through_the_shuffle():
    a, b = with_ids(20, 0), with_ids(20, 100, shape=(6, 6, 3))
    ds = kg.data.load_paired(a, b, batch_size=4, seed=0)
    assert len(ds) == 5
    x, y = next(iter(ds))
    assert x.shape == (4, 6, 6, 1) and y.shape == (4, 6, 6, 3)  # channels may differ
    assert x.dtype == y.dtype == tf.float32 and -1 <= float(np.min(x)) and float(np.max(y)) <= 1
    first, second = pairs_of(ds), pairs_of(ds)
    assert sorted(first) == [(i, 100 + i) for i in range(20)]  # each pair once, together
    assert first != second  # reshuffled each epoch
    assert sorted(pairs_of(kg.data.load_paired((a, b), batch_size=4, seed=0))) == sorted(first)
    unshuffled = kg.data.load_paired(a[:5], b[:5], batch_size=2, shuffle=False, drop_remainder=False)
    assert pairs_of(unshuffled) == [(i, 100 + i) for i in range(5)]


def test_two_folders_of_pngs_pair_files_by_name(tmp_path):
    a, b = with_ids(6, 0), with_ids(6, 50)
    names = [f"{i:03d}.png" for i in range(6)]
    write_pngs(tmp_path / "edges" / "train", a, names)
    write_pngs(tmp_path / "photos" / "train", b, names)
    write_pngs(tmp_path / "edges" / "test", a[:2], names[:2])
    write_pngs(tmp_path / "photos" / "test", b[:2], names[:2])
    ds = kg.data.load_paired(str(tmp_path / "edges"), str(tmp_path / "photos"), batch_size=2, seed=0)
    assert sorted(pairs_of(ds)) == [(i, 50 + i) for i in range(6)]  # the train/ subfolders
    test = kg.data.load_paired(tmp_path / "edges", tmp_path / "photos", split="test", batch_size=1)
    assert sorted(pairs_of(test)) == [(0, 50), (1, 51)]
    resized = kg.data.load_paired(tmp_path / "edges", tmp_path / "photos", image_size=(4, 4), batch_size=6)
    assert next(iter(resized))[1].shape == (6, 4, 4, 1)


def test_folders_that_do_not_pair_are_refused(tmp_path):
    a = with_ids(4, 0)
    write_pngs(tmp_path / "a", a, ["1.png", "2.png", "3.png", "4.png"])
    write_pngs(tmp_path / "b", a[:3], ["1.png", "2.png", "3.png"])
    write_pngs(tmp_path / "c", a, ["1.png", "2.png", "3.png", "5.png"])
    with pytest.raises(ValueError, match=r"a has 4 images but .*b has 3: paired folders need one target per input"):
        kg.data.load_paired(tmp_path / "a", tmp_path / "b")
    with pytest.raises(ValueError, match=r"4\.\* has no image of the same name in .*c"):
        kg.data.load_paired(tmp_path / "a", tmp_path / "c")


def test_npz_with_two_arrays(tmp_path):
    a, b = with_ids(8, 0), with_ids(8, 30)
    np.savez(tmp_path / "named.npz", inputs=a, targets=b)
    np.savez(tmp_path / "positional.npz", a, b)
    np.savez(tmp_path / "other.npz", sketch=a, photo=b)
    want = [(i, 30 + i) for i in range(8)]
    for path, features in (("named.npz", None), ("positional.npz", None), ("other.npz", ("sketch", "photo"))):
        ds = kg.data.load_paired(str(tmp_path / path), features=features, batch_size=4, seed=1)
        assert sorted(pairs_of(ds)) == want, path
    reversed_ = kg.data.load_paired(str(tmp_path / "other.npz"), features=("photo", "sketch"), batch_size=8)
    assert sorted(pairs_of(reversed_)) == [(30 + i, i) for i in range(8)]
    with pytest.raises(ValueError, match=r"has arrays \['sketch', 'photo'\]: name the input and target arrays with features="):
        kg.data.load_paired(str(tmp_path / "other.npz"))
    with pytest.raises(ValueError, match=r"has no array 'edges'"):
        kg.data.load_paired(str(tmp_path / "other.npz"), features=("edges", "photo"))


def test_a_tfds_dataset_with_two_image_features(tmp_path, monkeypatch):
    # TFDS builders need etils' epath extra (importlib_resources) to locate their code.
    pytest.importorskip("importlib_resources", reason="TFDS builders need importlib_resources (etils[epath])")
    import tensorflow_datasets as tfds

    a, b = with_ids(6, 0, shape=(8, 8, 1)), with_ids(6, 40, shape=(8, 8, 3))

    class KgTestPairs(tfds.core.GeneratorBasedBuilder):
        """A local dataset of (sketch, photo) pairs, prepared without any download."""

        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return self.dataset_info_from_configs(features=tfds.features.FeaturesDict({
                "sketch": tfds.features.Image(shape=(8, 8, 1)),
                "photo": tfds.features.Image(shape=(8, 8, 3)),
                "label": tfds.features.ClassLabel(num_classes=2),
            }))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            for i in range(len(a)):
                yield i, {"sketch": a[i], "photo": b[i], "label": i % 2}

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    name = "kg_test_pairs"
    with pytest.raises(FileNotFoundError, match="not on this machine and KERAS_GANS_OFFLINE is set"):
        kg.data.load_paired(name, features=("sketch", "photo"))
    KgTestPairs(data_dir=str(tmp_path)).download_and_prepare()
    ds = kg.data.load_paired(name, features=("sketch", "photo"), batch_size=3, seed=0)
    x, y = next(iter(ds))
    assert x.shape == (3, 8, 8, 1) and y.shape == (3, 8, 8, 3)
    assert sorted(pairs_of(ds)) == [(i, 40 + i) for i in range(6)]
    with pytest.raises(ValueError, match=r"has image features \['photo', 'sketch'\]|has image features \['sketch', 'photo'\]"):
        kg.data.load_paired(name)
    with pytest.raises(ValueError, match=r"has no image feature 'label'"):
        kg.data.load_paired(name, features=("sketch", "label"))


# ---------------------------------------------------------------- transforms
def test_edge_map_of_a_fixed_image():
    image = np.zeros((1, 8, 8, 1), "uint8")
    image[0, 2:6, 2:6] = 255  # a white square on black
    edges = edge_map(image)[0, :, :, 0]
    lines = (edges == 0).astype(int)
    # Both sides of each step are edges (magnitude 1.0 or more); the pixels diagonal to the
    # square's corners see one white neighbour (magnitude sqrt(2) / 4 = 0.35): no edge at 0.4.
    assert lines.tolist() == [
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 1, 1, 1, 0, 0],
        [0, 1, 1, 1, 1, 1, 1, 0],
        [0, 1, 1, 0, 0, 1, 1, 0],
        [0, 1, 1, 0, 0, 1, 1, 0],
        [0, 1, 1, 1, 1, 1, 1, 0],
        [0, 0, 1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ]
    assert set(np.unique(edges)) == {0, 255}
    lower = (edge_map(image, threshold=0.3)[0, :, :, 0] == 0).astype(int)
    assert lower[1].tolist() == lower[6].tolist() == [0, 1, 1, 1, 1, 1, 1, 0]
    np.testing.assert_array_equal(np.delete(lower, [1, 6], axis=0), np.delete(lines, [1, 6], axis=0))
    # RGB: one edge map in every channel, from the luma; floats in [-1, 1] give the same map.
    rgb = np.repeat(image, 3, axis=-1)
    np.testing.assert_array_equal(edge_map(rgb), np.repeat(edge_map(image), 3, axis=-1))
    np.testing.assert_array_equal(edge_map(image.astype("float32") / 127.5 - 1), edge_map(image))
    with pytest.raises(ValueError, match="edge_threshold must be a number in \\(0, 1\\]"):
        edge_map(image, threshold=0)


def test_pair_edges_draws_each_input_from_its_target():
    images = with_ids(10, 0, shape=(8, 8, 1))
    labels = np.arange(10) % 2
    ds = kg.data.load_paired((images, labels), pair="edges", batch_size=5, shuffle=False, classes=[1])
    edges, targets = (t.numpy() for t in next(iter(ds)))
    want = images[labels == 1]
    np.testing.assert_array_equal(np.rint((targets + 1) * 127.5).astype("uint8"), want)
    np.testing.assert_array_equal(np.rint((edges + 1) * 127.5).astype("uint8"), edge_map(want))
    assert set(np.unique(edges)) <= {-1.0, 1.0}


def test_pair_ab_and_ba_split_side_by_side_images(tmp_path):
    left, right = with_ids(4, 0), with_ids(4, 20)
    write_pngs(tmp_path / "facades" / "train", np.concatenate([left, right], axis=2), [f"{i}.jpg.png" for i in range(4)])
    ab = kg.data.load_paired(str(tmp_path / "facades"), pair="ab", batch_size=4, seed=0)
    x, y = next(iter(ab))
    assert x.shape == y.shape == (4, 6, 6, 1)
    assert sorted(pairs_of(ab)) == [(i, 20 + i) for i in range(4)]
    ba = kg.data.load_paired(str(tmp_path / "facades"), pair="ba", batch_size=4, seed=0)
    assert sorted(pairs_of(ba)) == [(20 + i, i) for i in range(4)]
    with pytest.raises(ValueError, match="are 5 pixels wide \\(odd\\)"):
        kg.data.load_paired(with_ids(2, 0, shape=(4, 5, 1)), pair="ab")


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((with_ids(5), with_ids(4)), {}, ValueError,
         r"got 5 input images but 4 target images: every input needs its target at the same index"),
        (((with_ids(5), with_ids(4)),), {}, ValueError, r"got 5 input images but 4 target images"),
        ((with_ids(4), with_ids(4, shape=(8, 8, 1))), {}, ValueError,
         r"input images are 6x6 but target images 8x8: pairs need the same height and width"),
        ((with_ids(4),), {"pair": "canny"}, ValueError,
         r"unknown pair transform 'canny': use 'edges' \(an edge map of each image as its input\), 'ab' / 'ba'"),
        ((with_ids(4),), {}, ValueError, r"is one image source and no pair was named: pass targets="),
        ((with_ids(4), with_ids(4)), {"pair": "edges"}, ValueError, r"pair='edges' makes pairs from one source"),
        ((with_ids(4), with_ids(4)), {"classes": [1]}, ValueError, r"classes= selects the images of one labelled source"),
        ((with_ids(4),), {"pair": "edges", "batch_size": 5}, ValueError, r"4 pairs, fewer than one batch of 5"),
        ((with_ids(4),), {"pair": "edges", "batch_size": 0}, ValueError, r"batch_size must be a positive int"),
        (("no/such/folder",), {"pair": "edges"}, FileNotFoundError, r"does not exist"),
    ],
)
def test_bad_input_is_one_line_naming_the_fix(args, kwargs, error, message):
    with pytest.raises(error, match=message) as info:
        kg.data.load_paired(*args, **kwargs)
    assert "\n" not in str(info.value)
