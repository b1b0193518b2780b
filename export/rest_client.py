"""Ask TF Serving's REST API for images and save them as PNG files.

    # images from a seed, no latent math on the client (the `sample` signature):
    python export/rest_client.py --model dcgan.fashion_mnist --n 8 --seed 0 --out pngs
    # conditional GAN, chosen classes (`sample_labels`):
    python export/rest_client.py --model cgan.fashion_mnist --labels 7,7,9 --out pngs
    # your own latents, sent as JSON `instances` to `serving_default`:
    python export/rest_client.py --model dcgan.fashion_mnist --latent-dim 64 --n 4 --out pngs

Only the standard library is needed (urllib, json, zlib).
"""

import argparse
import json
import os
import random
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_files import write_pngs  # noqa: E402


def sample_request(n, seed):
    """Body for the ``sample`` signature: scalars go in the columnar ``inputs`` format."""
    return {"signature_name": "sample", "inputs": {"batch_size": int(n), "seed": int(seed)}}


def sample_labels_request(labels, seed):
    """Body for ``sample_labels`` (conditional GANs): one image per label."""
    return {"signature_name": "sample_labels", "inputs": {"labels": [int(v) for v in labels], "seed": int(seed)}}


def instances_request(z, labels=None):
    """Body for ``serving_default``: one JSON instance per image, ``{"z": [...]}`` (+ ``"labels"``)."""
    instances = []
    for i, row in enumerate(z):
        instance = {"z": [float(v) for v in row]}
        if labels is not None:
            instance["labels"] = int(labels[i])
        instances.append(instance)
    return {"signature_name": "serving_default", "instances": instances}


def image_instances_request(images):
    """Body for a CycleGAN ``serving_default``: ``{"images": [h][w][c] floats in [-1, 1]}`` per instance."""
    return {"signature_name": "serving_default", "instances": [{"images": image} for image in images]}


def predict(url, model, body, timeout=60):
    """POST ``body`` to ``url/v1/models/model:predict``; return the ``images_uint8`` batch (nested lists)."""
    request = urllib.request.Request(
        f"{url.rstrip('/')}/v1/models/{model}:predict",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")
        raise RuntimeError(f"TF Serving answered {err.code}: {detail}") from None
    if "outputs" in answer:  # columnar request -> columnar answer
        return answer["outputs"]["images_uint8"]
    return [row["images_uint8"] for row in answer["predictions"]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://localhost:8501", help="TF Serving REST address")
    parser.add_argument("--model", required=True, help="served model name (models.config)")
    parser.add_argument("--n", type=int, default=8, help="how many images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", default=None, help="conditional GANs: comma-separated class ids")
    parser.add_argument("--latent-dim", type=int, default=None,
                        help="send your own standard normal z of this size as JSON instances")
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    args = parser.parse_args(argv)
    if args.labels is not None:
        body = sample_labels_request([int(v) for v in args.labels.split(",")], args.seed)
    elif args.latent_dim is not None:
        rng = random.Random(args.seed)
        z = [[rng.gauss(0.0, 1.0) for _ in range(args.latent_dim)] for _ in range(args.n)]
        body = instances_request(z)
    else:
        body = sample_request(args.n, args.seed)
    paths = write_pngs(predict(args.url, args.model, body), args.out)
    print(f"wrote {len(paths)} PNG files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
