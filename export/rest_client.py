"""Ask TF Serving's REST API for images and save them as PNG files.

    # images from a seed, no latent math on the client (the `sample` signature):
    python export/rest_client.py --model dcgan.fashion_mnist --n 8 --seed 0 --out pngs
    # conditional GAN, chosen classes (`sample_labels`):
    python export/rest_client.py --model cgan.fashion_mnist --labels 7,7,9 --out pngs
    # the same seed's latents computed here, sent as JSON `instances` to `serving_default`:
    python export/rest_client.py --model dcgan.fashion_mnist --latent-dim 64 --n 4 --seed 0 --out pngs
    # the truncation trick (psi in (0, 1]; 1.0, the default, is none; a model
    # that truncates in w space, StyleGAN2, also takes 0.0: the mean-w image):
    python export/rest_client.py --model dcgan.fashion_mnist --n 8 --seed 0 --truncation 0.7 --out pngs

Both routes give the images of ``gan.generate(n, seed=seed, truncation=psi)``
and of the zoo grid: a seed means ``tf.random.stateless_normal([n, latent_dim],
seed=[seed, 0], alg="philox")`` everywhere, and ``latents`` below computes
those numbers in plain Python (``kg.sampling.latents`` is the numpy version);
``--truncation psi`` scales them by ``psi`` (the signatures' ``truncation``
input, or ``truncate`` below for ``instances``).

Only the standard library is needed (urllib, json, zlib, math).
"""

import argparse
import json
import math
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_files import write_pngs  # noqa: E402


_M32 = 0xFFFFFFFF


def _philox(counter, key):
    """Philox4x32-10 on four 32-bit words (TensorFlow's counter-based generator)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for i in range(10):
        if i:
            k0, k1 = (k0 + 0x9E3779B9) & _M32, (k1 + 0xBB67AE85) & _M32
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & _M32, (p0 >> 32) ^ c3 ^ k1, p0 & _M32
    return c0, c1, c2, c3


def latents(n, latent_dim, seed):
    """``tf.random.stateless_normal([n, latent_dim], seed=[seed, 0], alg="philox")`` as lists of floats.

    The latents a seed means in keras-gans (``kg.sampling.latents``, the
    ``sample`` signature, ``gan.generate``), to within 1e-6.
    """
    s = int(seed) & 0xFFFFFFFFFFFFFFFF
    # The seed is scrambled into a key and a counter by one Philox call.
    m0, m1, m2, m3 = _philox((s & _M32, s >> 32, 0, 0), (0x3EC8F720, 0x02461E29))
    values = []
    for g in range((n * latent_dim + 3) // 4):
        words = _philox((g & _M32, g >> 32, m2, m3), (m0, m1))
        for a, b in ((words[0], words[1]), (words[2], words[3])):
            # Box-Muller on 23-bit uniforms, as TensorFlow's NormalDistribution.
            u1 = max((a & 0x7FFFFF) / 8388608.0, 1e-7)
            v1 = 2.0 * math.pi * ((b & 0x7FFFFF) / 8388608.0)
            radius = math.sqrt(-2.0 * math.log(u1))
            values += [math.sin(v1) * radius, math.cos(v1) * radius]
    return [values[i * latent_dim : (i + 1) * latent_dim] for i in range(n)]


def truncate(z, truncation):
    """The truncation trick on latents (lists of floats): ``psi * z``, as ``gan.generate`` does."""
    psi = float(truncation)
    return [[v * psi for v in row] for row in z]


def sample_request(n, seed, truncation=1.0):
    """Body for the ``sample`` signature: scalars go in the columnar ``inputs`` format.

    ``truncation`` is always sent (a signature has no optional inputs): 1.0 is no truncation.
    """
    return {
        "signature_name": "sample",
        "inputs": {"batch_size": int(n), "seed": int(seed), "truncation": float(truncation)},
    }


def sample_labels_request(labels, seed, truncation=1.0):
    """Body for ``sample_labels`` (conditional GANs): one image per label."""
    return {
        "signature_name": "sample_labels",
        "inputs": {"labels": [int(v) for v in labels], "seed": int(seed), "truncation": float(truncation)},
    }


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


def truncation_arg(text):
    """``--truncation``: a float psi in [0, 1] (NaN is not).

    The served model has the last word: a ``z``-space family (DCGAN, cGAN,
    WGAN-GP) refuses 0 with a 400 that names (0, 1], a ``w``-space family
    (StyleGAN2) takes it (the mean-``w`` image).
    """
    try:
        psi = float(text)
    except ValueError:
        psi = None
    if psi is None or not 0.0 <= psi <= 1.0:
        raise argparse.ArgumentTypeError(
            f"must be a number psi in [0, 1] (1.0: no truncation, smaller: samples closer to the mean; "
            f"0 only for models that truncate in w space), got {text!r}"
        )
    return psi


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://localhost:8501", help="TF Serving REST address")
    parser.add_argument("--model", required=True, help="served model name (models.config)")
    parser.add_argument("--n", type=int, default=8, help="how many images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", default=None, help="conditional GANs: comma-separated class ids")
    parser.add_argument("--truncation", type=truncation_arg, default=1.0,
                        help="truncation trick psi: (0, 1] for z-space models, [0, 1] for StyleGAN2 "
                             "(default 1.0: none)")
    parser.add_argument("--latent-dim", type=int, default=None,
                        help="compute the seed's z of this size here and send it as JSON instances")
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    args = parser.parse_args(argv)
    if args.latent_dim is not None and args.truncation == 0.0:
        # psi * z computed here: 0 would send all-zero latents.
        parser.error("--truncation 0 with --latent-dim: latents scaled here take psi in (0, 1]")
    if args.labels is not None:
        body = sample_labels_request([int(v) for v in args.labels.split(",")], args.seed, args.truncation)
    elif args.latent_dim is not None:
        body = instances_request(truncate(latents(args.n, args.latent_dim, args.seed), args.truncation))
    else:
        body = sample_request(args.n, args.seed, args.truncation)
    paths = write_pngs(predict(args.url, args.model, body), args.out)
    print(f"wrote {len(paths)} PNG files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
