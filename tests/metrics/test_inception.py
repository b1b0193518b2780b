"""The standard FID extractor: loading a GraphDef by the Inception graph's tensor names, the two resizes.

The real 2015-12-05 graph is not on this machine (no network), so its feature
values are not checked here; a small GraphDef with the same tensor names and
the same front end (ExpandDims -> ResizeBilinear to 299 -> (x - 128) / 128)
stands in for it.
"""

import io
import os
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from keras_gans.metrics import inception

PIL = pytest.importorskip("PIL.Image")


def build_graph_def(dim=inception.FEATURE_DIM, seed=0):
    """A GraphDef shaped like classify_image_graph_def.pb's path from the decoded image to pool_3."""
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(1, 1, 3, dim)).astype("float32")
    graph = tf.Graph()
    with graph.as_default():
        decoded = tf.compat.v1.placeholder(tf.float32, [None, None, 3], name="Cast")
        x = tf.expand_dims(decoded, 0, name="ExpandDims")
        x = tf.compat.v1.image.resize_bilinear(x, tf.constant([299, 299], name="ResizeBilinear/size"),
                                               align_corners=False, name="ResizeBilinear")
        x = tf.multiply(tf.subtract(x, 128.0, name="Sub"), 1.0 / 128.0, name="Mul")
        x = tf.nn.avg_pool2d(x, 37, 37, "VALID")  # 299 -> 8
        x = tf.nn.conv2d(x, tf.constant(kernel), 1, "VALID")
        x = tf.nn.avg_pool2d(x, 8, 8, "VALID", name="pool_3")  # [1, 1, 1, dim]
        tf.reshape(x, [1, dim], name="pool_3/_reshape")
    return graph.as_graph_def()


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / inception.GRAPH_FILE
    path.write_bytes(build_graph_def().SerializeToString())
    return str(path)


def reference_features(graph_file, images_uint8):
    """One image at a time through the graph's own input route (Cast -> ExpandDims), in a TF1 session."""
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(open(graph_file, "rb").read())
    out = []
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as sess:
            for image in images_uint8:
                out.append(sess.run("pool_3:0", {"Cast:0": image.astype("float32")}).reshape(-1))
    return np.stack(out)


IMAGES = np.random.default_rng(1).uniform(-1, 1, (5, 28, 28, 1)).astype("float32")


def test_legacy_mode_feeds_the_graph_batched_as_its_own_input_route_does(graph_file):
    extractor = inception.standard_extractor(graph_file, mode="legacy_tensorflow", batch_size=2)
    assert extractor.name == "inception_2015_12_05_legacy_tensorflow"
    features = extractor(IMAGES)
    assert features.shape == (5, 2048)
    expected = reference_features(graph_file, inception.to_uint8(IMAGES))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)


def test_clean_mode_resizes_with_pil_bicubic_before_the_graph(graph_file):
    extractor = inception.standard_extractor(graph_file, mode="clean")
    assert extractor.name == "inception_2015_12_05_clean"
    features = extractor(IMAGES)
    pixels = inception.to_uint8(IMAGES)
    # The reference: PIL bicubic per channel on float images, then the graph (whose resize is the identity at 299).
    resized = np.stack([
        np.stack([np.asarray(PIL.fromarray(p[..., c].astype("float32"), mode="F").resize(
            (299, 299), resample=PIL.Resampling.BICUBIC)) for c in range(3)], axis=-1)
        for p in pixels
    ])
    expected = reference_features(graph_file, np.clip(resized, 0, 255))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)
    # The resize mode changes the features: it is part of the protocol.
    legacy = inception.standard_extractor(graph_file, mode="legacy_tensorflow")(IMAGES)
    assert np.abs(features - legacy).max() > 1e-3


def test_clean_resize_is_pil_bicubic_on_float_channels():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (2, 13, 17, 3), dtype="uint8")
    out = inception.resize(images, "clean", size=31)
    assert out.shape == (2, 31, 31, 3) and out.dtype == np.float32
    for i in range(2):
        for c in range(3):
            ref = PIL.fromarray(images[i, ..., c].astype("float32"), mode="F").resize((31, 31), PIL.Resampling.BICUBIC)
            np.testing.assert_array_equal(out[i, ..., c], np.clip(np.asarray(ref), 0, 255))
    # Bicubic overshoots, and the clip keeps [0, 255]; a uint8 PIL resize would round instead.
    assert out.min() >= 0 and out.max() <= 255
    assert not np.array_equal(out, np.rint(out))


def test_legacy_resize_is_tf1_bilinear_without_half_pixel_centers_unlike_pil():
    image = np.array([[0, 100], [200, 250]], "uint8")[None, :, :, None].repeat(3, axis=-1)
    out = inception.resize(image, "legacy_tensorflow", size=4)[0, ..., 0]
    # Source coordinate = output index * (2 / 4), clamped at the last pixel: the TF1 sampling.
    np.testing.assert_allclose(out[0], [0, 50, 100, 100])
    np.testing.assert_allclose(out[:, 0], [0, 100, 200, 200])
    np.testing.assert_allclose(out[1, 1], 137.5)
    pil = np.asarray(PIL.fromarray(image[0, ..., 0].astype("float32"), mode="F").resize((4, 4), PIL.Resampling.BILINEAR))
    assert np.abs(pil - out).max() > 10  # PIL samples pixel centers: another image


def test_the_graph_comes_from_the_archive_and_wrong_files_are_refused(tmp_path, graph_file, monkeypatch):
    archive = tmp_path / "inception-2015-12-05.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        data = open(graph_file, "rb").read()
        info = tarfile.TarInfo(inception.GRAPH_FILE)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path = inception.graph_path(str(archive))
    assert path == str(tmp_path / inception.GRAPH_FILE) and open(path, "rb").read() == data
    assert inception.standard_extractor(str(archive))(IMAGES[:1]).shape == (1, 2048)

    small = tmp_path / "small.pb"
    small.write_bytes(build_graph_def(dim=16).SerializeToString())
    with pytest.raises(ValueError, match="pool_3 is 16-d, not 2048"):
        inception.load_graph(str(small))
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\xff" * 100)
    with pytest.raises(ValueError, match="not a TensorFlow GraphDef|no ExpandDims:0"):
        inception.load_graph(str(junk))

    # No path, nothing cached: offline says so; online refuses an unverified download.
    monkeypatch.setenv("KERAS_GANS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="KERAS_GANS_OFFLINE is set"):
        inception.graph_path()
    monkeypatch.delenv("KERAS_GANS_OFFLINE")
    monkeypatch.delenv("KERAS_GANS_INCEPTION_SHA256", raising=False)
    with pytest.raises(FileNotFoundError, match="unverified download is refused"):
        inception.graph_path()
    assert not os.path.exists(tmp_path / "home" / "inception" / "inception-2015-12-05.tgz")


def test_labels_say_fid_only_for_the_standard_graph():
    assert inception.label("inception_2015_12_05_clean") == "FID"
    assert inception.label("inception_2015_12_05_legacy_tensorflow") == "FID"
    assert inception.label("inception_v3") == "FID (Keras InceptionV3)"
    assert "not comparable to published FIDs" in inception.KERAS_INCEPTION_NOTE


@pytest.mark.parametrize("extractor, label, note", [
    ("inception_v3", "FID (Keras InceptionV3) (inception_v3)", True),
    ("inception_2015_12_05_clean", "FID (inception_2015_12_05_clean)", False),
])
def test_reports_label_the_distance_by_its_extractor(extractor, label, note):
    from keras_gans.metrics.evaluate import format_report

    report = {"frechet_distance": 10.0, "kid_mean": 0.01, "kid_std": 0.001, "precision": 0.5, "recall": 0.5,
              "protocol": {"extractor": extractor, "n_fake": 100, "n_real": 100}}
    text = format_report(report)
    assert text.splitlines()[0].startswith(label)
    assert (inception.KERAS_INCEPTION_NOTE in text) is note
