"""load_unpaired: two independently shuffled domains, epoch length, sources, errors."""

import collections

import numpy as np
import pytest

import keras_gans as kg


def with_ids(n, first_id=0, shape=(6, 6, 1)):
    """uint8 images whose pixel [0, 0, 0] is a unique id (and the rest noise)."""
    images = np.random.default_rng(first_id).integers(0, 256, (n, *shape), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(first_id, first_id + n)
    return images


def ids_of(batch):
    """Recover the ids of a scaled batch."""
    return np.rint((np.asarray(batch)[:, 0, 0, 0] + 1.0) * 127.5).astype(int).tolist()


def epoch_ids(ds):
    a_ids, b_ids = [], []
    for a, b in ds:
        a_ids += ids_of(a)
        b_ids += ids_of(b)
    return a_ids, b_ids


def test_classes_split_one_labelled_source_into_two_domains(fmnist_train):
    images, labels = fmnist_train
    images, labels = images[:20000], labels[:20000]
    ds = kg.data.load_unpaired((images, labels), classes=(7, 9), batch_size=32, seed=0)
    n7, n9 = int((labels == 7).sum()), int((labels == 9).sum())
    assert len(ds) == max(n7, n9) // 32
    sneakers = {im.tobytes() for im in images[labels == 7]}
    boots = {im.tobytes() for im in images[labels == 9]}
    a, b = next(iter(ds))
    assert a.shape == b.shape == (32, 28, 28, 1)
    assert a.dtype.name == b.dtype.name == "float32"
    assert -1.0 <= float(np.min(a)) and float(np.max(a)) <= 1.0
    to_uint8 = lambda x: np.rint((x.numpy() + 1.0) * 127.5).astype(np.uint8)  # noqa: E731
    assert all(im.tobytes() in sneakers for im in to_uint8(a))
    assert all(im.tobytes() in boots for im in to_uint8(b))


def test_epoch_is_one_pass_over_the_larger_domain_and_repeats_the_smaller():
    a, b = with_ids(50, 0), with_ids(20, 100)
    ds = kg.data.load_unpaired(a, b, batch_size=5, seed=1)
    assert len(ds) == 10
    a_ids, b_ids = epoch_ids(ds)
    assert sorted(a_ids) == list(range(50))  # every A image exactly once
    counts = collections.Counter(b_ids)
    assert set(counts) == set(range(100, 120))  # every B image seen
    assert set(counts.values()) <= {2, 3} and sum(counts.values()) == 50
    # The smaller domain is reshuffled on each pass.
    assert b_ids[:20] != b_ids[20:40]


def test_domains_are_shuffled_independently_and_reproducibly():
    # A[i] and B[i] share an id, so any pairing by position would show.
    images = with_ids(64)
    ds = kg.data.load_unpaired(images, images.copy(), batch_size=8, seed=3)
    a_ids, b_ids = epoch_ids(ds)
    assert sorted(a_ids) == sorted(b_ids) == list(range(64))
    same_position = sum(x == y for x, y in zip(a_ids, b_ids))
    assert same_position < 10  # about 1 expected by chance; 64 if paired
    # Same seed, same order; each epoch a new order.
    again = epoch_ids(kg.data.load_unpaired(images, images.copy(), batch_size=8, seed=3))
    assert again == (a_ids, b_ids)
    second_epoch = epoch_ids(ds)
    assert second_epoch[0] != a_ids


def test_fashion_mnist_by_name_with_classes(fmnist_test):
    ds = kg.data.load_unpaired("fashion_mnist", split="test", classes=(7, 9), batch_size=50)
    assert len(ds) == 1000 // 50  # 1000 sneakers and 1000 ankle boots in the test split
    a, b = next(iter(ds))
    assert a.shape == (50, 28, 28, 1)
    assert not np.allclose(a.numpy().mean(axis=0), b.numpy().mean(axis=0), atol=0.1)


def write_pngs(folder, images):
    import tensorflow as tf

    folder.mkdir(parents=True)
    for i, im in enumerate(images):
        (folder / f"{i:03d}.png").write_bytes(tf.io.encode_png(im).numpy())


def test_folder_with_split_subfolders(tmp_path):
    write_pngs(tmp_path / "trainA", with_ids(12, 0, (8, 8, 3)))
    write_pngs(tmp_path / "trainB", with_ids(7, 50, (8, 8, 3)))
    write_pngs(tmp_path / "testA", with_ids(4, 0, (8, 8, 3)))
    write_pngs(tmp_path / "testB", with_ids(4, 50, (8, 8, 3)))
    ds = kg.data.load_unpaired(str(tmp_path), batch_size=3, seed=0)
    a_ids, b_ids = epoch_ids(ds)
    assert sorted(a_ids) == list(range(12)) and set(b_ids) <= set(range(50, 57))
    test = kg.data.load_unpaired(tmp_path, split="test", batch_size=2, image_size=(16, 16))
    a, b = next(iter(test))
    assert a.shape == b.shape == (2, 16, 16, 3)


def test_two_sources_with_a_class_each(fmnist_test):
    images, labels = fmnist_test
    first = (images[:3000], labels[:3000])
    ds = kg.data.load_unpaired(first, (images, labels), classes=(0, 9), batch_size=10, seed=0)
    assert int((labels[:3000] == 0).sum()) < 1000
    assert len(ds) == 1000 // 10  # the 1000 ankle boots of the full split
    shirts = {im.tobytes() for im in images[:3000][labels[:3000] == 0]}
    boots = {im.tobytes() for im in images[labels == 9]}
    a, b = next(iter(ds))
    to_uint8 = lambda x: np.rint((x.numpy() + 1.0) * 127.5).astype(np.uint8)  # noqa: E731
    assert all(im.tobytes() in shirts for im in to_uint8(a))
    assert all(im.tobytes() in boots for im in to_uint8(b))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(classes=(7, 11)), ValueError, "no images of class 11 .*classes are \\[0, 1, 2"),
        (dict(classes=(7, 7)), ValueError, "two\\s+different classes"),
        (dict(classes=(7,)), ValueError, "pair of class ids"),
        (dict(), ValueError, "pass classes=\\(class_a, class_b\\)"),
        (dict(classes=(7, 9), batch_size=0), ValueError, "batch_size must be a positive int"),
        (dict(classes=(7, 9), batch_size=2000), ValueError, "domain A has 1000 images, fewer than one batch"),
    ],
)
def test_errors_with_one_labelled_source(fmnist_test, kwargs, error, message):
    with pytest.raises(error, match=message):
        kg.data.load_unpaired(fmnist_test, **kwargs)


def test_errors_with_two_sources():
    a = with_ids(10, 0, (8, 8, 1))
    with pytest.raises(ValueError, match="domain B: the dataset is empty"):
        kg.data.load_unpaired(a, np.zeros((0, 8, 8, 1), np.uint8))
    with pytest.raises(ValueError, match=r"domain A images have shape \(8, 8, 1\) but domain B images \(8, 8, 3\)"):
        kg.data.load_unpaired(a, with_ids(10, 0, (8, 8, 3)))
    with pytest.raises(ValueError, match="has no labels, so classes= cannot select domain A"):
        kg.data.load_unpaired(a, a, classes=(1, 2))


def test_empty_split_folder_names_the_domain(tmp_path):
    write_pngs(tmp_path / "trainA", with_ids(3, 0, (8, 8, 1)))
    (tmp_path / "trainB").mkdir()
    with pytest.raises(ValueError, match="domain B: no images"):
        kg.data.load_unpaired(tmp_path)


def test_cycle_gan_tfds_names_fail_clearly_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="cycle_gan/horse2zebra"):
        kg.data.load_unpaired("cycle_gan/horse2zebra")
