"""Pix2Pix end to end: train (API, CLI, recipe) on pairs, the input | output | target grid,
`keras-gans sample` and `evaluate` on test pairs, and the paired report's values."""

import json
import os
import shutil

import numpy as np
import pytest
from matplotlib import image as mpimg

import keras_gans as kg
from keras_gans import trainer
from keras_gans.cli import main
from keras_gans.data.paired import edge_map, paired_numpy
from keras_gans.saving import load_gan_file
from keras_gans.zoo import recipe as recipe_lib
from keras_gans.zoo import runner

# n=100 pairs of 128-d features on purpose (the Frechet distance warns about n <= d).
pytestmark = pytest.mark.filterwarnings("ignore:Frechet distance from n=:UserWarning")

TINY = ["--config", "width=4", "--config", "discriminator_layers=1"]
TRAIN_N, TEST_N = 320, 200


def _write_idx(path, array):
    array = np.ascontiguousarray(array, "uint8")
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, array.ndim]))
        for size in array.shape:
            f.write(int(size).to_bytes(4, "big"))
        f.write(array.tobytes())


@pytest.fixture(scope="module")
def fmnist_slice(tmp_path_factory, fmnist_train, fmnist_test):
    """An IDX folder with the first 320 train and 200 test images of real Fashion-MNIST."""
    folder = tmp_path_factory.mktemp("fmnist-slice")
    for (images, labels), prefix, n in ((fmnist_train, "train", TRAIN_N), (fmnist_test, "t10k", TEST_N)):
        _write_idx(folder / f"{prefix}-images-idx3-ubyte", images[:n, ..., 0])
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels[:n])
    return str(folder)


@pytest.fixture(scope="module")
def run(fmnist_slice, tmp_path_factory):
    """A tiny pix2pix trained with `keras-gans train pix2pix --pair edges` (1 epoch of 4 steps)."""
    out = str(tmp_path_factory.mktemp("p2p") / "run")
    code = main(["train", "pix2pix", "--dataset", fmnist_slice, "--pair", "edges", "--epochs", "1",
                 "--steps-per-epoch", "4", "--batch-size", "8", "--out", out, "--verbose", "0", *TINY])
    assert code == 0
    return out


def png_gray(path):
    return np.round(mpimg.imread(str(path))[..., 0] * 255).astype(int)


def cells(grid, rows, cols):
    return [grid[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28] for r in range(rows) for c in range(cols)]


def near(a, b):
    return np.abs(np.asarray(a, int) - np.asarray(b, int)).max() <= 1


# ---------------------------------------------------------------- training
def test_train_cli_records_the_pair_and_the_grid_shows_input_output_target(run, fmnist_train):
    with open(os.path.join(run, "run.json")) as f:
        record = json.load(f)
    assert record["family"] == "pix2pix" and record["pair"] == "edges" and record["steps_per_epoch"] == 4
    with open(os.path.join(run, "history.csv")) as f:
        header = f.readline().strip().split(",")
    assert {"d_loss", "g_loss", "l1_loss"} <= set(header)
    # 8 triples (the first 8 train pairs), two to a row: 4 rows of 6 cells.
    grid = png_gray(os.path.join(run, "samples", "epoch_001.png"))
    assert grid.shape == (4 * 28, 6 * 28)
    garments = fmnist_train[0][:8, ..., 0]
    edges = edge_map(fmnist_train[0][:8])[..., 0]
    shown = cells(grid, 4, 6)
    for i in range(8):
        assert near(shown[3 * i], edges[i]), f"cell {3 * i} is not input {i}"
        assert near(shown[3 * i + 2], garments[i]), f"cell {3 * i + 2} is not target {i}"
    gan = load_gan_file(os.path.join(run, "model.keras"), expected_family="pix2pix")
    translated = gan.translate(edges[:1, ..., None].astype("float32") / 127.5 - 1.0)
    assert near(shown[1], np.round((translated[0, ..., 0] + 1) * 127.5))


def test_a_resume_takes_the_pair_from_the_run_and_refuses_another(run, tmp_path, fmnist_slice):
    copy = str(tmp_path / "run")
    shutil.copytree(run, copy)
    with pytest.raises(ValueError, match=r"trained with pair='edges' \(--pair\), got 'ab'"):
        trainer.train("pix2pix", dataset=fmnist_slice, pair="ab", resume=True, epochs=2, out=copy, verbose=0)
    result = trainer.train("pix2pix", resume=True, epochs=2, out=copy, verbose=0)
    assert result["settings"]["pair"] == "edges" and result["settings"]["dataset"] == fmnist_slice
    assert result["resumed_at"] == 4 and os.path.isfile(os.path.join(copy, "samples", "epoch_002.png"))


def test_training_arrays_and_make_dataset_keep_inputs_and_targets_aligned(fmnist_slice, fmnist_train):
    cls = kg.models.Pix2Pix
    inputs, targets = trainer.training_arrays(cls, fmnist_slice, pair="edges", classes=[7, 9])
    keep = np.isin(fmnist_train[1][:TRAIN_N], [7, 9])
    np.testing.assert_array_equal(targets, fmnist_train[0][:TRAIN_N][keep])
    np.testing.assert_array_equal(inputs, edge_map(targets))
    # The batch stream draws the same indices from both arrays.
    ds, _ = trainer.batch_stream((inputs, targets), 8, seed=3)
    x, y = (a.numpy() for a in next(iter(ds)))
    np.testing.assert_array_equal(x, edge_map(y) / 127.5 - 1.0)
    x, y = (a.numpy() for a in next(iter(trainer.make_dataset(cls, fmnist_slice, 8, pair="edges"))))
    np.testing.assert_array_equal(x, edge_map(y) / 127.5 - 1.0)


def test_shapes_are_checked_before_the_run_folder_is_touched(tmp_path, fmnist_train):
    images = fmnist_train[0][:16]
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=r"target images have shape \(28, 28, 1\) but this pix2pix model makes \(32, 32, 1\)"):
        trainer.train("pix2pix", dataset=images, pair="edges", out=str(out), verbose=0, batch_size=8,
                      config={"width": 4, "discriminator_layers": 1, "image_shape": [32, 32, 1]})
    rgb_inputs = np.repeat(images, 3, axis=-1)
    with pytest.raises(ValueError, match=r"input images have shape \(28, 28, 3\).*input_channels=3"):
        trainer.train("pix2pix", dataset=(rgb_inputs, images), out=str(out), verbose=0, batch_size=8,
                      config={"width": 4, "discriminator_layers": 1})
    assert not out.exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pair": "edges"}, "pair makes or picks .* dcgan does not train on pairs: drop pair"),
        ({"features": ("a", "b")}, "features makes or picks .* drop features"),
    ],
)
def test_pair_options_are_refused_for_families_that_do_not_train_on_pairs(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        trainer.train("dcgan", out=str(tmp_path / "run"), verbose=0, **kwargs)
    assert not (tmp_path / "run").exists()


def test_edge_threshold_goes_with_pair_edges_only(tmp_path, fmnist_train):
    with pytest.raises(ValueError, match="edge_threshold applies to pair='edges'"):
        trainer.train("pix2pix", dataset=fmnist_train[0][:16], pair="ab", edge_threshold=0.3,
                      out=str(tmp_path / "run"), verbose=0)
    inputs, targets = trainer.training_arrays(kg.models.Pix2Pix, fmnist_train[0][:16], pair="edges",
                                              edge_threshold=0.2)
    np.testing.assert_array_equal(inputs, edge_map(targets, 0.2))
    assert (inputs != edge_map(targets)).any()  # the threshold reached the edge maps


def test_sample_grid_needs_paired_inputs_and_checks_targets():
    gan = kg.models.Pix2Pix(image_shape=(16, 16, 1), width=4, discriminator_layers=1)
    grid = kg.callbacks.SampleGrid("unused")
    grid.set_model(gan)
    with pytest.raises(ValueError, match="paired input images") as info:
        grid.on_train_begin()
    assert "domain" not in str(info.value)
    x = np.zeros((2, 16, 16, 1), "float32")
    bad = kg.callbacks.SampleGrid("unused", inputs=x, targets=np.zeros((3, 16, 16, 1), "float32"))
    bad.set_model(gan)
    with pytest.raises(ValueError, match="targets must be the 2 target images"):
        bad.on_train_begin()
    good = kg.callbacks.SampleGrid("unused", inputs=x, targets=np.ones((2, 16, 16, 1), "float32"))
    good.set_model(gan)
    good.on_train_begin()
    images = good.render()
    assert images.shape == (6, 16, 16, 1) and good.columns() == 6
    assert (images[2] == 1).all() and (images[5] == 1).all() and (images[0] == 0).all()


# ---------------------------------------------------------------- evaluate
def _subset(fmnist_slice, n, seed=0):
    inputs, targets = paired_numpy(fmnist_slice, split="test", pair="edges")
    keep = np.sort(np.random.default_rng(seed).choice(len(targets), n, replace=False))
    return inputs[keep], targets[keep], keep


def test_the_paired_report_measures_the_outputs_of_the_test_pairs(run, fmnist_slice, fmnist_test):
    gan = load_gan_file(os.path.join(run, "model.keras"))
    extractor = kg.zoo.classifier_extractor()
    report = kg.metrics.evaluate(gan, fmnist_slice, n=100, pair="edges", extractor=extractor)
    inputs, targets, keep = _subset(fmnist_slice, 100)
    outputs = gan.translate(inputs.astype("float32") / 127.5 - 1.0)
    real = targets.astype("float32") / 127.5 - 1.0
    assert report["l1"] == pytest.approx(float(np.mean(np.abs(outputs.astype("float64") - real))), rel=1e-6)
    fake_features, fake_classes = extractor.extract(outputs, 500)
    real_features, real_classes = extractor.extract(real, 500)
    labels = fmnist_test[1][:TEST_N][keep]
    assert 0.0 <= report["label_agreement"] <= 1.0
    assert report["label_agreement"] == pytest.approx(float(np.mean(fake_classes == labels)))
    assert report["real_label_agreement"] == pytest.approx(float(np.mean(real_classes == labels)))
    assert report["real_label_agreement"] > 0.7  # the classifier knows real garments
    assert report["frechet_distance"] == pytest.approx(kg.metrics.frechet_distance(real_features, fake_features), rel=1e-5)
    assert sum(report["class_counts"]) == sum(report["real_class_counts"]) == 100
    protocol = report["protocol"]
    assert protocol["kind"] == "paired" and protocol["pair"] == "edges" and protocol["n_pairs"] == 100
    assert protocol["split_size"] == TEST_N and protocol["real_subset"] == "random without replacement"
    assert protocol["frechet_label"] == "FCD" and "dataset's labels" in protocol["label_source"]
    text = kg.metrics.format_report(report)
    assert "L1 to target" in text and "label agreement" in text and "100 test pairs" in text
    json.dumps(report)


def test_pairs_without_labels_agree_with_the_classifier_on_the_targets(run, fmnist_test):
    gan = load_gan_file(os.path.join(run, "model.keras"))
    targets = fmnist_test[0][:50]
    pairs = (edge_map(targets), targets)
    report = kg.metrics.evaluate(gan, pairs, n=50, extractor=kg.zoo.classifier_extractor())
    assert 0.0 <= report["label_agreement"] <= 1.0 and "real_label_agreement" not in report
    assert "classifier's class" in report["protocol"]["label_source"]
    assert report["protocol"]["real_subset"] == "all" and report["protocol"]["dataset"] == "arrays"
    with pytest.raises(ValueError, match="pair picks the pairs of a paired translator"):
        kg.metrics.evaluate(kg.models.DCGAN(latent_dim=8, width=8), pair="edges")


def test_cli_evaluate_reads_the_pairs_from_the_run(run, tmp_path, capsys):
    capsys.readouterr()
    out = str(tmp_path / "report.json")
    model = os.path.join(run, "model.keras")
    assert main(["evaluate", model, "--n", "100", "--json", out, "--verbose", "0"]) == 0
    text = capsys.readouterr().out
    assert "(pix2pix) against" in text and "pair edges" in text and "L1 to target" in text
    with open(out) as f:
        report = json.load(f)
    assert report["protocol"]["pair"] == "edges" and report["protocol"]["model"] == model
    assert {"l1", "frechet_distance", "label_agreement"} <= set(report)


# ---------------------------------------------------------------- sample
def test_cli_sample_translates_test_pairs(run, tmp_path, capsys, fmnist_slice):
    capsys.readouterr()
    out = tmp_path / "pairs.png"
    assert main(["sample", os.path.join(run, "model.keras"), "--n", "6", "--out", str(out)]) == 0
    assert "2 test inputs of" in capsys.readouterr().out
    grid = png_gray(out)
    assert grid.shape == (28, 6 * 28)
    inputs, targets = paired_numpy(fmnist_slice, split="test", pair="edges")
    pick = np.sort(np.random.default_rng(0).permutation(TEST_N)[:2])
    shown = cells(grid, 1, 6)
    for j, i in enumerate(pick):
        assert near(shown[3 * j], inputs[i, ..., 0]) and near(shown[3 * j + 2], targets[i, ..., 0])


def test_cli_sample_without_known_pairs_exits_2_naming_the_flags(run, tmp_path, capsys):
    lonely = tmp_path / "lonely.keras"
    shutil.copy(os.path.join(run, "model.keras"), lonely)
    capsys.readouterr()
    out = tmp_path / "grid.png"
    assert main(["sample", str(lonely), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--dataset fashion_mnist --pair edges" in err
    assert not out.exists()
    # Named on the command line, Fashion-MNIST's own test split works.
    assert main(["sample", str(lonely), "--pair", "edges", "--n", "3", "--out", str(out)]) == 0
    assert png_gray(out).shape == (28, 3 * 28)


# ---------------------------------------------------------------- recipes
def _recipe(tmp_path, family, data, model="width = 4\ndiscriminator_layers = 1", extra=""):
    path = tmp_path / f"{family}.test.toml"
    path.write_text(
        f'name = "{family}.test"\nfamily = "{family}"\n[model]\n{model}\n[data]\n{data}\n'
        f"[train]\nepochs = 1\nsteps_per_epoch = 2\n{extra}"
    )
    return str(path)


def test_a_recipe_with_pair_trains_and_publishes_on_its_pairs(tmp_path, fmnist_slice):
    path = _recipe(tmp_path, "pix2pix", f'dataset = "{fmnist_slice}"\npair = "edges"\nbatch_size = 8',
                   extra="[evaluate]\nn = 100\n")
    loaded = recipe_lib.load_recipe(path)
    assert loaded["data"]["pair"] == "edges"
    result = runner.run_recipe(path, out=str(tmp_path / "run"), verbose=0)
    with open(tmp_path / "run" / "run.json") as f:
        assert json.load(f)["pair"] == "edges"
    assert result["settings"]["pair"] == "edges"
    from keras_gans.zoo.publish import publish_entry

    zoo_dir, cards = tmp_path / "zoo", tmp_path / "cards"
    zoo_dir.mkdir()
    try:
        card = publish_entry(loaded, result["gan"], 1.0, zoo_dir=str(zoo_dir), cards_dir=str(cards))
    finally:
        from keras_gans.zoo import registry

        registry._registry().pop("pix2pix.test", None)
    assert {"l1", "frechet_distance", "label_agreement"} <= set(card["metrics"])
    assert card["protocol"]["pair"] == "edges" and card["protocol"]["n_pairs"] == 100
    assert png_gray(zoo_dir / "pix2pix.test.png").shape == (4 * 28, 6 * 28)  # 8 test triples


def test_recipe_pair_options_reach_the_trainer(tmp_path, monkeypatch):
    seen = {}

    def fake_train(family, **kwargs):
        seen.update(kwargs, family=family)
        os.makedirs(kwargs["out"], exist_ok=True)
        return {"gan": None}

    monkeypatch.setattr(trainer, "train", fake_train)
    path = _recipe(tmp_path, "pix2pix", 'dataset = "pairs.npz"\nfeatures = ["sketch", "photo"]')
    runner.run_recipe(path, out=str(tmp_path / "a"), verbose=0)
    assert seen["features"] == ("sketch", "photo") and seen["dataset"] == "pairs.npz"
    path = _recipe(tmp_path, "pix2pix", 'dataset = "fashion_mnist"\npair = "edges"\nedge_threshold = 0.3\n'
                                        "classes = [7, 9]")
    runner.run_recipe(path, out=str(tmp_path / "b"), verbose=0)
    assert (seen["pair"], seen["edge_threshold"], seen["classes"]) == ("edges", 0.3, [7, 9])


def test_pair_is_an_unknown_data_key_for_families_that_do_not_train_on_pairs(tmp_path):
    path = _recipe(tmp_path, "dcgan", 'dataset = "fashion_mnist"\npair = "edges"', model="width = 8")
    with pytest.raises(ValueError, match=r"unknown key 'pair' in \[data\]"):
        recipe_lib.load_recipe(path)
    assert "pair" in recipe_lib.section_keys("pix2pix")["data"]
