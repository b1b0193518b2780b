"""`keras-gans evaluate --extractor`: the standard FID graph end to end, labels, and one-line errors.

The real 2015-12-05 graph is not on this machine, so a small GraphDef with its
tensor names stands in (``tests.metrics.test_inception.build_graph_def``);
the online download goes to a ``file://`` copy (``KERAS_GANS_INCEPTION_URL``).
"""

import hashlib
import io
import json
import os
import tarfile

import numpy as np
import pytest
import tensorflow as tf

import keras_gans as kg
from keras_gans import cli, metrics
from keras_gans.cli import main
from keras_gans.metrics import inception
from keras_gans.saving import load_gan_file
from tests.metrics.test_inception import build_graph_def

N = 24
# N <= 2048 features: frechet_distance rightly warns that the covariance is singular; these tests check the path.
pytestmark = pytest.mark.filterwarnings("ignore:Frechet distance from n=24 samples")


@pytest.fixture(scope="module")
def dcgan_file(tmp_path_factory):
    gan = kg.models.DCGAN(latent_dim=16, width=8, seed=0)
    path = str(tmp_path_factory.mktemp("evaluate_cli") / "dcgan.keras")
    gan.save(path)
    return path


@pytest.fixture(scope="module")
def graph_files(tmp_path_factory):
    """``(pb, tgz)``: the stand-in graph, and an archive holding it as the real one does."""
    folder = tmp_path_factory.mktemp("graph")
    data = build_graph_def().SerializeToString()
    pb = folder / inception.GRAPH_FILE
    pb.write_bytes(data)
    tgz = folder / "mirror" / "inception-2015-12-05.tgz"
    tgz.parent.mkdir()
    with tarfile.open(tgz, "w:gz") as tar:
        info = tarfile.TarInfo(f"inception-2015-12-05/{inception.GRAPH_FILE}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return str(pb), str(tgz)


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def evaluate(capsys, *argv):
    code = main(["evaluate", *argv, "--verbose", "0"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *needles):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-gans evaluate: error:"), err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_download_verified_then_fid_end_to_end_with_its_protocol(dcgan_file, graph_files, tmp_path, capsys,
                                                                   monkeypatch, fmnist_test):
    """One run through the whole path: the mirror download, its digest, the graph, the labels, the JSON.

    (One run only: a Frechet distance on 2048-d features takes seconds.)
    """
    pb, tgz = graph_files
    home = tmp_path / "home"
    monkeypatch.setenv("KERAS_GANS_HOME", str(home))
    monkeypatch.setenv("KERAS_GANS_INCEPTION_URL", tgz)  # a mirror copy, as a path
    monkeypatch.delenv("KERAS_GANS_INCEPTION_SHA256", raising=False)
    monkeypatch.delenv("KERAS_GANS_OFFLINE", raising=False)
    base = [dcgan_file, "--n", str(N), "--extractor", "inception", "--resize", "legacy_tensorflow"]

    # No digest: an unverified download is refused. A wrong one: the bytes are discarded.
    code, _, err = evaluate(capsys, *base)
    assert_one_line_error(code, err, "no sha256 is recorded for the Inception archive", "--inception-sha256")
    wrong = hashlib.sha256(b"another archive").hexdigest()
    code, _, err = evaluate(capsys, *base, "--inception-sha256", wrong)
    assert_one_line_error(code, err, "sha256 mismatch", f"expected {wrong}, got {sha256(tgz)}")
    left = [f for _, _, files in os.walk(home) for f in files]
    assert [f for f in left if not f.endswith(".lock")] == []  # no partial archive, no graph

    out = tmp_path / "report.json"
    code, printed, err = evaluate(capsys, *base, "--inception-sha256", sha256(tgz), "--json", str(out))
    assert code == 0, err
    assert sha256(home / "inception" / inception.GRAPH_FILE) == sha256(pb)  # cached for the next runs
    report = json.loads(out.read_text())
    protocol = report["protocol"]
    assert protocol["extractor"] == "inception_2015_12_05_legacy_tensorflow"
    assert protocol["frechet_label"] == "FID" and protocol["resize_mode"] == "legacy_tensorflow"
    assert protocol["graph_sha256"] == sha256(pb) and protocol["feature_dim"] == 2048
    assert protocol["n_real"] == protocol["n_fake"] == N and protocol["split"] == "test"
    assert protocol["dataset"] == "fashion_mnist" and protocol["real_subset"] == "random without replacement"
    assert "note" not in protocol and "class_counts" not in report  # pool_3 predicts no Fashion-MNIST classes
    lines = printed.splitlines()
    assert lines[1].startswith("FID (inception_2015_12_05_legacy_tensorflow)")
    assert lines[1].endswith(f"{report['frechet_distance']:.4f}")
    assert f"Inception graph: {sha256(pb)} (sha256 of the .pb)" in lines
    assert inception.KERAS_INCEPTION_NOTE not in printed

    # The features are the protocol's: the same real subset and samples through the same graph give the
    # same KID and precision (cheap to recompute, unlike the 2048-d Frechet distance).
    images = fmnist_test[0]
    keep = np.sort(np.random.default_rng(0).choice(len(images), N, replace=False))
    extractor = inception.standard_extractor(pb, mode="legacy_tensorflow")
    real, fake = extractor(images[keep]), extractor(load_gan_file(dcgan_file).generate(N, seed=0))
    kid = metrics.kernel_distance(real, fake, num_subsets=100, subset_size=N // 2, seed=0)
    assert report["kid_mean"] == pytest.approx(kid.mean, rel=1e-5)
    assert report["precision"] == metrics.precision_recall(real, fake, k=3).precision


def test_a_local_archive_is_checked_against_the_digest_given(graph_files, tmp_path, dcgan_file, capsys, monkeypatch):
    pb, tgz = graph_files
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    local = tmp_path / "inception-2015-12-05.tgz"
    local.write_bytes(open(tgz, "rb").read())
    wrong = "0" * 64
    code, _, err = evaluate(capsys, dcgan_file, "--n", str(N), "--extractor", "inception",
                            "--inception-graph", str(local), "--inception-sha256", wrong)
    assert_one_line_error(code, err, f"has sha256 {sha256(tgz)}, not the {wrong} given")
    assert sorted(os.listdir(tmp_path)) == ["inception-2015-12-05.tgz"]  # nothing extracted from it
    # The right digest (any case): the graph is extracted beside the archive, offline.
    path = inception.graph_path(str(local), sha256=sha256(tgz).upper())
    assert path == str(tmp_path / inception.GRAPH_FILE) and sha256(path) == sha256(pb)
    assert inception.graph_path(pb, sha256=sha256(pb)) == pb


@pytest.mark.slow
def test_the_resize_mode_changes_the_fid(dcgan_file, graph_files, tmp_path, capsys):
    pb, _ = graph_files
    numbers = {}
    for mode in inception.MODES:
        out = tmp_path / f"{mode}.json"
        code, printed, err = evaluate(capsys, dcgan_file, "--n", str(N), "--extractor", "inception",
                                      "--inception-graph", pb, "--resize", mode, "--json", str(out))
        assert code == 0, err
        report = json.loads(out.read_text())
        assert report["protocol"]["resize_mode"] == mode
        assert printed.splitlines()[1].startswith(f"FID (inception_2015_12_05_{mode})")
        numbers[mode] = report["frechet_distance"]
    assert numbers["clean"] != pytest.approx(numbers["legacy_tensorflow"], rel=1e-3)


def test_bad_graphs_exit_2_in_one_line(dcgan_file, tmp_path, capsys):
    base = [dcgan_file, "--n", str(N), "--extractor", "inception", "--inception-graph"]
    code, _, err = evaluate(capsys, *base, str(tmp_path / "missing.pb"))
    assert_one_line_error(code, err, f"--inception-graph {tmp_path / 'missing.pb'} does not exist")

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 299, 299, 3], name="input")
        tf.reduce_mean(x, axis=[1, 2], name="features")
    other = tmp_path / "other.pb"
    other.write_bytes(graph.as_graph_def().SerializeToString())
    code, _, err = evaluate(capsys, *base, str(other))
    assert_one_line_error(code, err, "has no ExpandDims:0 or pool_3:0 tensor",
                          "not the 2015-12-05 Inception graph", "inception-2015-12-05.tgz")

    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\xff" * 64)
    code, _, err = evaluate(capsys, *base, str(junk))
    assert_one_line_error(code, err, "junk.pb")

    small = tmp_path / "small.pb"
    small.write_bytes(build_graph_def(dim=16).SerializeToString())
    code, _, err = evaluate(capsys, *base, str(small))
    assert_one_line_error(code, err, "pool_3 is 16-d, not 2048")


@pytest.mark.parametrize("extra, message", [
    (["--resize", "clean"], "--resize applies to --extractor inception"),
    (["--extractor", "classifier", "--inception-graph", "x.pb"], "--inception-graph applies to --extractor inception"),
    (["--inception-sha256", "ab" * 32], "--inception-sha256 applies to --extractor inception"),
    (["--extractor", "inception", "--inception-sha256", "abc"], "--inception-sha256 must be 64 hex digits"),
    (["--extractor", "inception", "--inception-sha256", "g" * 64], "--inception-sha256 must be 64 hex digits"),
])
def test_inception_options_without_their_extractor_or_malformed_exit_2(dcgan_file, capsys, extra, message):
    code, _, err = evaluate(capsys, dcgan_file, *extra)
    assert_one_line_error(code, err, message)


def test_choices_are_checked_by_the_parser(dcgan_file, capsys):
    assert main(["evaluate", dcgan_file, "--extractor", "fid"]) == 2
    assert "invalid choice: 'fid'" in capsys.readouterr().err
    assert main(["evaluate", dcgan_file, "--extractor", "inception", "--resize", "bicubic"]) == 2
    assert "invalid choice: 'bicubic'" in capsys.readouterr().err
    assert cli.RESIZE_MODES == inception.MODES


def test_classifier_and_keras_inception_keep_their_labels(dcgan_file, tmp_path, capsys, monkeypatch):
    out = tmp_path / "fcd.json"
    code, printed, err = evaluate(capsys, dcgan_file, "--n", str(N), "--extractor", "classifier", "--json", str(out))
    assert code == 0, err
    assert printed.splitlines()[1].startswith("FCD (classifier.fashion_mnist)")
    protocol = json.loads(out.read_text())["protocol"]
    assert protocol["frechet_label"] == "FCD" and "resize_mode" not in protocol and "graph_sha256" not in protocol

    # Keras' InceptionV3 needs its ImageNet weights: offline without them, one line naming the fix.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("KERAS_GANS_OFFLINE", "1")
    code, _, err = evaluate(capsys, dcgan_file, "--n", str(N), "--extractor", "keras-inception")
    assert_one_line_error(code, err, "InceptionV3 ImageNet weights are not on this machine")


def test_keras_inception_reports_say_they_are_not_published_fids():
    extractor = metrics.FeatureExtractor(lambda x: x.reshape(len(x), -1)[:, :8], name="inception_v3")
    fields = inception.protocol_fields(extractor)
    assert fields == {"frechet_label": "FID (Keras InceptionV3)", "note": inception.KERAS_INCEPTION_NOTE}
    report = {"frechet_distance": 3.0, "kid_mean": 0.0, "kid_std": 0.0, "precision": 1.0, "recall": 1.0,
              "protocol": {"extractor": "inception_v3", **fields}}
    lines = metrics.format_report(report).splitlines()
    assert lines[0].startswith("FID (Keras InceptionV3)")
    assert lines.count(inception.KERAS_INCEPTION_NOTE) == 1
    assert "not comparable to published FIDs" in inception.KERAS_INCEPTION_NOTE
