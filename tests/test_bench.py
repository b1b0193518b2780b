"""The benchmarks run end to end on tiny settings and print consistent tables."""

import re

import keras_gans as kg
from bench import data_pipeline, train_throughput


def table_rows(text, header_start):
    """The rows (lists of cells) of the Markdown table whose header starts with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header_start}"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_train_throughput_prints_step_and_end_to_end_tables_and_the_ceiling(capsys):
    train_throughput.main(["--families", "dcgan", "--rounds", "1", "--steps", "2",
                           "--epochs", "1", "--batches", "3"])
    out = capsys.readouterr().out
    step_table = table_rows(out, "family")
    end_to_end = table_rows(out.split("End to end")[1], "family")
    for rows, width in ((step_table, 4), (end_to_end, 5)):
        assert [r[:2] for r in rows] == [["dcgan", "ours"], ["dcgan", "reference"]]
        assert all(len(r) == width for r in rows)
        ours, ref = (float(r[2]) for r in rows)
        assert ours > 0 and ref > 0
        assert rows[1][3] == "1.00x"
        assert abs(float(rows[0][3].rstrip("x")) - ours / ref) < 0.02 * ours / ref + 0.01
    flops = float(re.search(r"DCGAN train step .*: ([0-9.]+) GFLOP", out).group(1))
    assert 1.0 < flops < 20.0
    peaks = dict(re.findall(r"^(float32|bfloat16) matmul peak .*: ([0-9.]+) GFLOP/s$", out, re.M))
    assert sorted(peaks) == ["bfloat16", "float32"] and all(float(v) > 0 for v in peaks.values())
    precision, share, dtype = re.search(
        r"DCGAN achieved \(ours, precision (\w+)\): [0-9.]+ GFLOP/s = ([0-9.]+)% of the (\w+) matmul peak", out
    ).groups()
    assert precision == kg.models.gan.auto_precision()
    assert dtype == {"float32": "float32", "mixed_bfloat16": "bfloat16"}[precision]
    assert 0 < float(share) <= 100


def _norm_types(model, keys):
    return {type(layer) for key in keys for layer in getattr(model, key).layers if "Normalization" in type(layer).__name__}


def test_keras_bn_levers_swap_only_the_batch_norm_layer():
    import keras
    import numpy as np

    ours, ref = train_throughput.make_pair("wgan_gp")[:2]
    swapped = train_throughput.make_pair("wgan_gp", keras_bn=True)[0]
    ref_swapped = train_throughput.make_pair("wgan_gp", reference_keras_bn=True)[0]
    keys = ("generator", "discriminator")
    assert _norm_types(ours, keys) == _norm_types(ref, keys) == {kg.networks.BatchNormalization}
    assert _norm_types(swapped, keys) == _norm_types(ref_swapped, keys) == {keras.layers.BatchNormalization}
    assert type(ref_swapped) is type(ref) and ref_swapped.compiled
    for key in keys:
        for model in (swapped, ref_swapped):
            a, b = getattr(ours, key), getattr(model, key)
            assert [type(x).__name__ for x in a.layers] == [type(x).__name__ for x in b.layers]
    # The copy keeps the weights: same outputs, in inference and in training.
    copy = train_throughput.keras_batch_norm(ours.generator)
    for wa, wb in zip(ours.generator.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    z = np.random.default_rng(0).normal(size=(8, ours.latent_dim)).astype("float32")
    for training in (False, True):
        np.testing.assert_allclose(copy(z, training=training).numpy(), ours.generator(z, training=training).numpy(),
                                   atol=1e-5)
    # CycleGAN's networks have no batch norm: no row.
    assert train_throughput.make_pair("cyclegan", keras_bn=True)[0] is None


def test_data_pipeline_compares_autotune_on_and_off(capsys):
    data_pipeline.main(["--batches", "3", "--epochs", "2", "--rounds", "1", "--teardown", "0.3"])
    out = capsys.readouterr().out
    (busy, deletion, ended), = table_rows(out, "busy s")
    assert float(busy) >= 0.3 and float(deletion) >= 0
    assert abs(float(busy) + float(deletion) - float(ended)) < 0.011
    rows = table_rows(out, "batches/epoch")
    assert [r[1] for r in rows] == ["autotune on (tf.data default)", "kg.data.prefetched (autotune off)"]
    for row in rows:
        assert row[0] == "3" and row[2] == "1"  # one epoch kept of each two-epoch fit
        wall, lost, worst = map(float, row[3:])
        assert 0 <= lost <= worst <= wall + 0.005


def test_stabilizers_bench_prints_the_ablation_and_the_small_data_tables(capsys):
    from bench import stabilizers

    stabilizers.main(["--seconds", "0.01", "--chunk", "2", "--n", "40", "--images", "256"])
    out = capsys.readouterr().out
    rows = table_rows(out, "variant")
    assert [r[0] for r in rows] == ["plain", "+EMA", "+SN", "+R1", "+DiffAugment"]
    for row in rows:
        assert len(row) == 8 and int(row[1]) >= 2
        fcd, kid, precision, recall, speed = map(float, row[3:])
        assert fcd > 0 and 0 <= precision <= 1 and 0 <= recall <= 1 and speed > 0
    stabilizers.main(["--small-data", "--steps", "4", "--score-at", "2", "--chunk", "2", "--n", "40",
                      "--images", "256", "--policies", "translation;translation,cutout,color"])
    out = capsys.readouterr().out
    assert "on 256 Fashion-MNIST images, 4 steps" in out
    rows = table_rows(out, "variant")
    names = ["no augmentation", "DiffAugment (translation)", "DiffAugment (translation,cutout,color)", "ADA"]
    assert [r[0] for r in rows] == names * 2
    assert [int(r[1]) for r in rows] == [2] * 4 + [4] * 4
    # the same models trained on: each variant's train seconds grow from its first score to its second
    assert all(float(b[2]) >= float(a[2]) for a, b in zip(rows[:4], rows[4:]))
    for row in rows:  # the discriminator's E[sign(D(x))] on its training images and on held-out ones
        assert len(row) == 10 and all(-1 <= float(v) <= 1 for v in row[8:])
    assert "on its 256 training images and on 256 train-split images it never saw" in out
    stabilizers.main(["--small-data", "--spectral-norm", "--steps", "2", "--chunk", "2", "--n", "40",
                      "--images", "256", "--policies", "translation"])
    out = capsys.readouterr().out
    assert "DCGAN, spectral-norm discriminator, on 256 Fashion-MNIST images, 2 steps" in out
    assert [r[0] for r in table_rows(out, "variant")] == ["no augmentation", "DiffAugment (translation)", "ADA"]
    stabilizers.main(["--small-data", "--d-width", "64", "--steps", "2", "--chunk", "2", "--n", "40",
                      "--images", "256", "--policies", "translation", "--no-ada"])
    out = capsys.readouterr().out
    assert "DCGAN (discriminator width 64) on 256 Fashion-MNIST images" in out
    assert [r[0] for r in table_rows(out, "variant")] == ["no augmentation", "DiffAugment (translation)"]


def test_the_small_data_variants_differ_in_augmentation_only():
    from bench import stabilizers
    from keras_gans.networks.spectral_norm import SpectralConv2D

    for spectral_norm in (False, True):
        variants = stabilizers.small_data_variants(("translation",), spectral_norm=spectral_norm)
        gans = {name: stabilizers.build(kw, precision="float32") for name, kw in variants.items()}
        assert [g.augment for g in gans.values()] == [None, "translation", "ada"]
        # --d-width: a wider discriminator of the same kind, the generator as it was
        wide = {name: stabilizers.build(kw, precision="float32", d_width=64) for name, kw in variants.items()}
        for name, gan in wide.items():
            narrow = gans[name]
            assert gan.augment == narrow.augment
            assert gan.generator.count_params() == narrow.generator.count_params()
            assert gan.discriminator.trainable_variables[0].shape[-1] == 64  # the first conv's filters
            assert gan.discriminator.count_params() > 3 * narrow.discriminator.count_params()
        for gan in [*gans.values(), *wide.values()]:
            layers = [type(layer) for layer in gan.discriminator.layers]
            assert (SpectralConv2D in layers) == spectral_norm
            assert any("BatchNormalization" in t.__name__ for t in layers) != spectral_norm


def test_real_sign_scores_the_discriminator_and_leaves_its_state_as_it_was():
    import numpy as np

    from bench import stabilizers

    gan = stabilizers.build({}, precision="float32")
    images = np.random.default_rng(0).integers(0, 256, (128, 28, 28, 1), dtype=np.uint8)
    before = [v.numpy().copy() for v in gan.discriminator.variables]
    sign = stabilizers.real_sign(gan, images)
    assert -1 <= sign <= 1 and sign * 128 == round(sign * 128)  # a mean of 128 signs
    for v, value in zip(gan.discriminator.variables, before):
        np.testing.assert_array_equal(v.numpy(), value)
    # training mode (batch statistics): the same batch scores alike whatever the moving averages hold
    for v in gan.discriminator.non_trainable_variables:
        v.assign(v.numpy() + 5.0)
    assert stabilizers.real_sign(gan, images) == sign


def test_baselines_bench_scores_each_family_beside_its_baseline_at_equal_time(capsys):
    import math

    from bench import baselines

    baselines.main(["--pairs", "pix2pix,vaegan", "--seconds", "2", "--n", "64", "--images", "256"])
    out = capsys.readouterr().out
    rows = table_rows(out, "pair")
    assert [r[:2] for r in rows] == [["pix2pix", "Pix2Pix"], ["pix2pix", "L1-only U-Net"],
                                     ["vaegan", "VAE-GAN"], ["vaegan", "plain VAE"]]
    columns = baselines.HEADER
    filled = {"pix2pix": {"FCD", "label agreement", "L1"},
              "vaegan": {"FCD", "KID", "precision", "recall", "L1", "MSE"}}
    for row in rows:
        assert len(row) == len(columns)
        cells = dict(zip(columns, row))
        assert int(cells["steps"]) >= 2 and float(cells["train s"]) >= 1.5  # the 2 s budget, spent
        assert float(cells["img/s"]) > 0
        metrics = set(columns[4:-1])
        assert {c for c in metrics if cells[c]} == filled[cells["pair"]]
        values = {c: float(cells[c]) for c in filled[cells["pair"]]}
        assert all(math.isfinite(v) for v in values.values())
        assert values["FCD"] > 0 and 0 < values["L1"] <= 2
        for share in ("label agreement", "precision", "recall"):
            assert 0 <= values.get(share, 0) <= 1
        if "MSE" in values:
            assert 0 < values["MSE"] <= 4
