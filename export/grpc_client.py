"""Ask TF Serving over gRPC (port 8500) for images and save them as PNG files.

    pip install "keras-gans[serving]"     # tensorflow-serving-api + grpcio
    python export/grpc_client.py --model dcgan.fashion_mnist --n 8 --seed 0 --out pngs
    python export/grpc_client.py --model cgan.fashion_mnist --labels 7,7,9 --out pngs
    python export/grpc_client.py --model dcgan.fashion_mnist --n 8 --truncation 0.7 --out pngs

Requests carry typed tensors (no JSON): ``batch_size`` int32, ``seed`` int64
and ``truncation`` float32 scalars for ``sample``; ``labels`` int32 ``[n]``,
``seed`` and ``truncation`` for ``sample_labels``; ``z`` float32
``[n, latent_dim]`` for ``serving_default``. ``truncation`` is the truncation
trick's psi (``--truncation``, default 1.0: none; (0, 1] for z-space
models, [0, 1] for StyleGAN2, which truncates in w space), the images of
``gan.generate(n, seed=seed, truncation=psi)``.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_files import write_pngs  # noqa: E402
from rest_client import truncation_arg  # noqa: E402  (the same --truncation check)


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


def sample_inputs(n, seed, truncation=1.0):
    """Inputs of the ``sample`` signature (``truncation`` is always sent: 1.0 is none)."""
    return {"batch_size": np.int32(n), "seed": np.int64(seed), "truncation": np.float32(truncation)}


def sample_labels_inputs(labels, seed, truncation=1.0):
    """Inputs of ``sample_labels`` (conditional GANs): one image per label."""
    return {"labels": np.asarray(labels, np.int32), "seed": np.int64(seed), "truncation": np.float32(truncation)}


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
    parser.add_argument("--truncation", type=truncation_arg, default=1.0,
                        help="truncation trick psi: (0, 1] for z-space models, [0, 1] for StyleGAN2 "
                             "(default 1.0: none)")
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    args = parser.parse_args(argv)
    if args.labels is not None:
        labels = [int(v) for v in args.labels.split(",")]
        request = make_request(args.model, "sample_labels", sample_labels_inputs(labels, args.seed, args.truncation))
    else:
        request = make_request(args.model, "sample", sample_inputs(args.n, args.seed, args.truncation))
    paths = write_pngs(predict(args.address, request)["images_uint8"], args.out)
    print(f"wrote {len(paths)} PNG files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
