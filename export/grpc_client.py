"""Ask TF Serving over gRPC (port 8500) for images and save them as PNG files.

    pip install "keras-gans[serving]"     # tensorflow-serving-api + grpcio
    python export/grpc_client.py --model dcgan.fashion_mnist --n 8 --seed 0 --out pngs
    python export/grpc_client.py --model cgan.fashion_mnist --labels 7,7,9 --out pngs

Requests carry typed tensors (no JSON): ``batch_size`` int32 and ``seed``
int64 scalars for ``sample``; ``labels`` int32 ``[n]`` for ``sample_labels``;
``z`` float32 ``[n, latent_dim]`` for ``serving_default``.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_files import write_pngs  # noqa: E402


def make_request(model, signature, inputs):
    """A ``PredictRequest`` for ``model``'s ``signature`` with ``{name: np.ndarray}`` inputs."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    # Only the PNG-ready output travels back.
    request.output_filter.append("images_uint8")
    return request


def sample_inputs(n, seed):
    return {"batch_size": np.int32(n), "seed": np.int64(seed)}


def sample_labels_inputs(labels, seed):
    return {"labels": np.asarray(labels, np.int32), "seed": np.int64(seed)}


def decode_response(response):
    """``{name: np.ndarray}`` of a ``PredictResponse``."""
    import tensorflow as tf

    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def predict(address, request, timeout=60):
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return decode_response(stub.Predict(request, timeout=timeout))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", default="localhost:8500", help="TF Serving gRPC host:port")
    parser.add_argument("--model", required=True, help="served model name (models.config)")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", default=None, help="conditional GANs: comma-separated class ids")
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    args = parser.parse_args(argv)
    if args.labels is not None:
        request = make_request(args.model, "sample_labels",
                               sample_labels_inputs([int(v) for v in args.labels.split(",")], args.seed))
    else:
        request = make_request(args.model, "sample", sample_inputs(args.n, args.seed))
    paths = write_pngs(predict(args.address, request)["images_uint8"], args.out)
    print(f"wrote {len(paths)} PNG files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
