"""The deployment kit's REST and gRPC clients against the exported SavedModel's signatures.

TF Serving itself cannot be installed here, so each test runs a loopback
server that implements the piece of TF Serving the client talks to (the REST
predict endpoint, the gRPC PredictionService) by running the exported
SavedModel's signature with TensorFlow.
"""

import importlib.util
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc  # tensorflow-serving-api's dependency, installed by the test extras: missing fails, not skips
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

KIT = os.path.join(os.path.dirname(__file__), "..", "..", "export")


def kit_module(name):
    spec = importlib.util.spec_from_file_location(f"kit_{name}", os.path.join(KIT, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seeded(seed, truncation=1.0):
    """The ``seed`` and ``truncation`` inputs of a ``sample`` / ``sample_labels`` call."""
    return {"seed": tf.constant(seed, tf.int64), "truncation": tf.constant(truncation, tf.float32)}


def read_pngs(paths):
    return np.stack([np.asarray(Image.open(p)) for p in paths])


def run_signature(signature, inputs):
    """Feed ``{name: value}`` to a concrete signature with its own dtypes (as TF Serving does)."""
    specs = signature.structured_input_signature[1]
    if set(inputs) != set(specs):
        raise ValueError(f"signature takes {sorted(specs)}, got {sorted(inputs)}")
    return {k: v.numpy() for k, v in signature(**{k: tf.constant(v, specs[k].dtype) for k, v in inputs.items()}).items()}


class Serving:
    """A loopback REST server answering ``POST /v1/models/NAME:predict`` like TF Serving."""

    def __init__(self, models):
        self.models = {name: tf.saved_model.load(path) for name, path in models.items()}
        serving = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                name = self.path.removeprefix("/v1/models/").removesuffix(":predict")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    answer = serving.predict(name, body)
                    status = 200
                except (KeyError, ValueError, tf.errors.InvalidArgumentError) as err:
                    answer, status = {"error": str(err)}, 400
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def predict(self, name, body):
        signature = self.models[name].signatures[body.get("signature_name", "serving_default")]
        if "instances" in body:  # row format: a list of {input: value}, answered as rows
            rows = body["instances"]
            inputs = {k: np.array([row[k] for row in rows]) for k in rows[0]}
            out = run_signature(signature, inputs)
            return {"predictions": [{k: v[i].tolist() for k, v in out.items()} for i in range(len(rows))]}
        out = run_signature(signature, {k: np.array(v) for k, v in body["inputs"].items()})
        return {"outputs": {k: v.tolist() for k, v in out.items()}}


@pytest.fixture(scope="module")
def serving(exported):
    server = Serving({"dcgan": exported["dcgan"], "cgan": exported["cgan"]})
    yield server
    server.server.shutdown()


def test_rest_sample_writes_the_models_pngs(serving, exported, tmp_path):
    rest = kit_module("rest_client")
    assert rest.main(["--url", serving.url, "--model", "dcgan", "--n", "3", "--seed", "4", "--out", str(tmp_path)]) == 0
    paths = sorted(str(p) for p in tmp_path.glob("*.png"))
    assert len(paths) == 3
    expected = tf.saved_model.load(exported["dcgan"]).signatures["sample"](
        batch_size=tf.constant(3), **seeded(4))["images_uint8"].numpy()
    np.testing.assert_array_equal(read_pngs(paths), expected[..., 0])  # grayscale PNGs
    assert rest.sample_request(3, 4) == {
        "signature_name": "sample", "inputs": {"batch_size": 3, "seed": 4, "truncation": 1.0}}


def test_rest_truncation_is_generates_and_bad_values_are_refused(serving, exported, tiny_gans, tmp_path, capsys):
    from keras_gans.export.verify import _to_uint8

    rest = kit_module("rest_client")
    gan = tiny_gans["dcgan"]
    argv = ["--url", serving.url, "--model", "dcgan", "--n", "3", "--seed", "4"]
    assert rest.main([*argv, "--truncation", "0.5", "--out", str(tmp_path / "sample")]) == 0
    served = read_pngs(sorted(str(p) for p in (tmp_path / "sample").glob("*.png")))
    expected = tf.saved_model.load(exported["dcgan"]).signatures["sample"](
        batch_size=tf.constant(3), **seeded(4, 0.5))["images_uint8"].numpy()
    np.testing.assert_array_equal(served, expected[..., 0])
    generated = _to_uint8(gan.generate(3, seed=4, truncation=0.5))[..., 0]
    assert np.abs(served.astype(int) - generated.astype(int)).max() <= 1
    untruncated = _to_uint8(gan.generate(3, seed=4))[..., 0]
    assert np.abs(served.astype(int) - untruncated.astype(int)).max() > 1
    # The latents computed here, scaled by psi, sent to serving_default: the same images.
    assert rest.main([*argv, "--truncation", "0.5", "--latent-dim", "16", "--out", str(tmp_path / "own")]) == 0
    own = read_pngs(sorted(str(p) for p in (tmp_path / "own").glob("*.png")))
    assert np.abs(own.astype(int) - served.astype(int)).max() <= 1
    # The client refuses psi outside [0, 1] before any request; the server refuses it too.
    for bad in ("-0.1", "1.5", "nan", "x"):
        with pytest.raises(SystemExit) as exit_info:
            rest.main([*argv, "--truncation", bad, "--out", str(tmp_path / "bad")])
        assert exit_info.value.code == 2 and "[0, 1]" in capsys.readouterr().err
    # 0 is the served model's to refuse (a z-space GAN does; StyleGAN2 takes it) ...
    with pytest.raises(RuntimeError, match=r"TF Serving answered 400.*truncation must be a float psi in \(0, 1\]"):
        rest.main([*argv, "--truncation", "0", "--out", str(tmp_path / "bad")])
    # ... but latents scaled here by 0 would be all zeros.
    with pytest.raises(SystemExit):
        rest.main([*argv, "--truncation", "0", "--latent-dim", "16", "--out", str(tmp_path / "bad")])
    assert "take psi in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    for bad in (0.0, 1.5):
        with pytest.raises(RuntimeError, match=r"TF Serving answered 400.*truncation must be a float psi in \(0, 1\]"):
            rest.predict(serving.url, "dcgan", rest.sample_request(2, 0, bad))


def test_rest_instances_and_labels(serving, exported, tiny_gans, tmp_path):
    rest = kit_module("rest_client")
    z = np.random.default_rng(0).standard_normal((2, 16)).astype("float32")
    body = rest.instances_request(z, labels=[3, 8])
    assert body["instances"][1] == {"z": [float(v) for v in z[1]], "labels": 8}
    pngs = rest.write_pngs(rest.predict(serving.url, "cgan", body), str(tmp_path / "a"))
    gen = tiny_gans["cgan"].generator
    images = gen([z, np.array([3, 8], "int32")], training=False).numpy()
    expected = np.round(np.clip(images, -1, 1) * 127.5 + 127.5).astype(np.uint8)
    assert np.abs(read_pngs(pngs).astype(int) - expected[..., 0]).max() <= 1
    assert rest.main(["--url", serving.url, "--model", "cgan", "--labels", "7,7", "--out", str(tmp_path / "b")]) == 0
    got = read_pngs(sorted(str(p) for p in (tmp_path / "b").glob("*.png")))
    expected = tf.saved_model.load(exported["cgan"]).signatures["sample_labels"](
        labels=tf.constant([7, 7]), **seeded(0))["images_uint8"].numpy()
    np.testing.assert_array_equal(got, expected[..., 0])
    assert rest.main(["--url", serving.url, "--model", "cgan", "--labels", "7,2", "--truncation", "0.5",
                      "--out", str(tmp_path / "c")]) == 0
    got = read_pngs(sorted(str(p) for p in (tmp_path / "c").glob("*.png")))
    expected = tf.saved_model.load(exported["cgan"]).signatures["sample_labels"](
        labels=tf.constant([7, 2]), **seeded(0, 0.5))["images_uint8"].numpy()
    np.testing.assert_array_equal(got, expected[..., 0])
    from keras_gans.export.verify import _to_uint8

    generated = _to_uint8(tiny_gans["cgan"].generate(2, labels=[7, 2], seed=0, truncation=0.5))[..., 0]
    assert np.abs(got.astype(int) - generated.astype(int)).max() <= 1
    with pytest.raises(RuntimeError, match="TF Serving answered 400"):
        rest.predict(serving.url, "cgan", rest.sample_labels_request([10], 0))  # label out of range
    with pytest.raises(RuntimeError, match=r"TF Serving answered 400.*truncation must be a float psi in \(0, 1\]"):
        rest.predict(serving.url, "cgan", rest.sample_labels_request([1], 0, truncation=0.0))


def test_grpc_request_matches_signature_and_response_decodes(exported, tmp_path):
    from concurrent import futures

    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    client = kit_module("grpc_client")
    loaded = tf.saved_model.load(exported["cgan"])
    assert client.sample_inputs(4, 2)["truncation"] == np.float32(1.0)  # the default: no truncation
    for signature, inputs in [
        ("sample", client.sample_inputs(4, 2)),
        ("sample", client.sample_inputs(4, 2, 0.5)),
        ("sample_labels", client.sample_labels_inputs([1, 5], 2)),
        ("sample_labels", client.sample_labels_inputs([1, 5], 2, truncation=0.5)),
    ]:
        request = client.make_request("cgan", signature, inputs)
        specs = loaded.signatures[signature].structured_input_signature[1]
        assert request.model_spec.name == "cgan" and request.model_spec.signature_name == signature
        assert set(request.inputs) == set(specs)
        for name, proto in request.inputs.items():
            assert tf.dtypes.as_dtype(proto.dtype) == specs[name].dtype
            assert tf.TensorShape([d.size for d in proto.tensor_shape.dim]).is_compatible_with(specs[name].shape)

    class Service(prediction_service_pb2_grpc.PredictionServiceServicer):
        """TF Serving's Predict, run with the exported SavedModel."""

        def Predict(self, request, context):
            signature = loaded.signatures[request.model_spec.signature_name]
            out = run_signature(signature, {k: tf.make_ndarray(v) for k, v in request.inputs.items()})
            response = predict_pb2.PredictResponse()
            for name in request.output_filter or out:
                response.outputs[name].CopyFrom(tf.make_tensor_proto(out[name]))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    base = ["--address", f"127.0.0.1:{port}", "--model", "cgan", "--seed", "2"]
    argv = [*base, "--n", "5"]
    try:
        assert client.main([*argv, "--out", str(tmp_path / "full")]) == 0
        assert client.main([*argv, "--truncation", "0.5", "--out", str(tmp_path / "half")]) == 0
        assert client.main([*base, "--labels", "3,8", "--truncation", "0.5", "--out", str(tmp_path / "labels")]) == 0
        with pytest.raises(SystemExit) as exit_info:
            client.main([*argv, "--truncation", "1.5", "--out", str(tmp_path / "bad")])
        assert exit_info.value.code == 2 and not (tmp_path / "bad").exists()
    finally:
        server.stop(None)
    for folder, call in [
        ("full", dict(batch_size=tf.constant(5), **seeded(2))),
        ("half", dict(batch_size=tf.constant(5), **seeded(2, 0.5))),
    ]:
        expected = loaded.signatures["sample"](**call)
        got = read_pngs(sorted(str(p) for p in (tmp_path / folder).glob("*.png")))
        np.testing.assert_array_equal(got, expected["images_uint8"].numpy()[..., 0])
    expected = loaded.signatures["sample_labels"](labels=tf.constant([3, 8]), **seeded(2, 0.5))
    got = read_pngs(sorted(str(p) for p in (tmp_path / "labels").glob("*.png")))
    np.testing.assert_array_equal(got, expected["images_uint8"].numpy()[..., 0])


def test_png_writer_round_trips_rgb(tmp_path):
    png = kit_module("png_files")
    images = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    paths = png.write_pngs(images, str(tmp_path), prefix="rgb")
    np.testing.assert_array_equal(read_pngs(paths), images)
    assert sorted(os.listdir(tmp_path)) == ["rgb_000.png", "rgb_001.png"]


@pytest.mark.parametrize("seed", [0, 7])
def test_one_seed_one_set_of_images_everywhere(seed, serving, exported, tiny_gans, tmp_path):
    """gan.generate, keras-gans sample, the SavedModel's sample signature, a TFLite file fed
    kg.sampling.latents and the REST client's own z all mean the same latents by a seed."""
    import keras_gans as kg
    from keras_gans import cli
    from keras_gans.export.verify import _to_uint8

    gan, n = tiny_gans["dcgan"], 4
    z = kg.sampling.latents(n, gan.latent_dim, seed)
    # The definition: TF's Philox stateless_normal with seed [seed, 0].
    reference = tf.random.stateless_normal([n, gan.latent_dim], seed=[seed, 0], alg="philox").numpy()
    np.testing.assert_allclose(z, reference, atol=1e-6)
    np.testing.assert_allclose(gan.sample_latent(n, seed), reference, atol=1e-6)
    images = gan.generate(n, seed=seed)
    np.testing.assert_allclose(images, gan.generator(reference, training=False).numpy(), atol=1e-5)
    # The SavedModel's sample signature, run through TF.
    sample = tf.saved_model.load(exported["dcgan"]).signatures["sample"](
        batch_size=tf.constant(n), **seeded(seed))
    np.testing.assert_allclose(sample["images"].numpy(), images, atol=1e-5)
    # The CLI's grid holds the same images (in uint8).
    gan.save(tmp_path / "dcgan.keras")
    assert cli.main(["sample", str(tmp_path / "dcgan.keras"), "--n", str(n), "--seed", str(seed),
                     "--out", str(tmp_path / "grid.png")]) == 0
    grid = np.asarray(Image.open(tmp_path / "grid.png").convert("L"))
    tiles = np.stack([grid[r * 28 : r * 28 + 28, c * 28 : c * 28 + 28] for r in range(2) for c in range(2)])
    assert grid.shape[:2] == (56, 56)  # 2 x 2 tiles of 28 x 28, no border
    assert np.abs(tiles.astype(int) - _to_uint8(images)[..., 0].astype(int)).max() <= 1
    # A TFLite caller feeding the helper's latents.
    path = kg.export.tflite(gan, tmp_path / "dcgan.tflite")
    from ai_edge_litert.interpreter import Interpreter

    out = Interpreter(model_path=str(path)).get_signature_runner("serving_default")(z=z)
    np.testing.assert_allclose(out["images"], images, atol=1e-4)
    # The REST client's own z (stdlib only) and its request payload.
    rest = kit_module("rest_client")
    np.testing.assert_allclose(np.array(rest.latents(n, gan.latent_dim, seed)), reference, atol=1e-6)
    body = rest.instances_request(rest.latents(n, gan.latent_dim, seed))
    np.testing.assert_allclose(np.array([row["z"] for row in body["instances"]]), reference, atol=1e-6)
    assert rest.main(["--url", serving.url, "--model", "dcgan", "--n", str(n), "--seed", str(seed),
                      "--latent-dim", str(gan.latent_dim), "--out", str(tmp_path / "own")]) == 0
    assert rest.main(["--url", serving.url, "--model", "dcgan", "--n", str(n), "--seed", str(seed),
                      "--out", str(tmp_path / "sample")]) == 0
    own = read_pngs(sorted(str(p) for p in (tmp_path / "own").glob("*.png")))
    served = read_pngs(sorted(str(p) for p in (tmp_path / "sample").glob("*.png")))
    np.testing.assert_array_equal(served, sample["images_uint8"].numpy()[..., 0])
    assert np.abs(own.astype(int) - served.astype(int)).max() <= 1


def test_latents_are_a_prefix_stable_pure_function():
    import keras_gans as kg

    a = kg.sampling.latents(5, 3, 11)
    np.testing.assert_array_equal(kg.sampling.latents(2, 3, 11), a[:2])  # rows depend on (seed, row) only
    np.testing.assert_array_equal(kg.sampling.latents(5, 3, 11), a)
    assert not np.allclose(kg.sampling.latents(5, 3, 12), a)
    state = np.random.get_state()[1].copy()
    kg.sampling.latents(4, 4, 0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # no global random state touched
    for bad in (1.5, None, True):
        with pytest.raises(ValueError, match="seed must be an int"):
            kg.sampling.latents(2, 3, bad)
