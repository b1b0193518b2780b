"""The standard FID extractor: the 2015-12-05 Inception graph's ``pool_3`` features.

Published FIDs (the TTUR code of Heusel et al., pytorch-fid, torch-fidelity,
clean-fid) all use one network: the Inception graph TensorFlow released on
2015-12-05, ``classify_image_graph_def.pb`` inside
``inception-2015-12-05.tgz``, and its 2048-d ``pool_3`` activations. Keras'
``InceptionV3(weights="imagenet")`` is a different network (other weights,
another preprocessing): numbers from it are labelled
"FID (Keras InceptionV3)" and are not comparable to published FIDs. Only
this extractor's numbers are labelled "FID".

The graph is read with TensorFlow directly (``GraphDef`` + ``import_graph_def``
inside ``tf.compat.v1.wrap_function``); images enter at its ``ExpandDims:0``
tensor as float RGB in [0, 255] (the decoded-JPEG route, batched), pass its
own ``ResizeBilinear`` to 299x299 and its ``(x - 128) / 128``, and ``pool_3:0``
is read out. Two resize modes, as clean-fid names them:

- ``"clean"``: images are quantized to uint8, then each channel is resized to
  299x299 as a float image with PIL's bicubic filter (clean-fid's default);
  the graph's own resize then sees 299x299 and is the identity.
- ``"legacy_tensorflow"``: images (quantized to uint8) go in at their size and
  the graph's in-graph bilinear resize (TF1 ``resize_bilinear``, no half-pixel
  centers, no antialiasing) makes them 299x299, as the TTUR code does.

The resize alone moves FID by several points, so a card records the mode.
Grayscale images are repeated to three channels.

Where the graph comes from: ``graph=`` a path to the ``.pb`` or to the
``.tgz``; else ``$KERAS_GANS_HOME/inception/classify_image_graph_def.pb``;
else (online) the archive from ``ARCHIVE_URL`` (or the mirror copy
``KERAS_GANS_INCEPTION_URL`` names: ``https://``, ``file://``, loopback
``http://`` or a path), written atomically and checked against a sha256 like
zoo files. No archive hash is recorded here: the archive was never fetched
where this project is built and tested (those machines are offline), and a
digest written from memory or copied unchecked would be worse than none.
Pass ``sha256=`` (or set ``KERAS_GANS_INCEPTION_SHA256``) with the digest of
a copy you trust, or pass the path of one (with ``sha256=``, a local file is
checked too). Reports record the sha256 of the ``.pb`` actually used
(``graph_sha256``), so two FIDs can be checked to come from the same graph.
What the tests check offline is the loading path (a small GraphDef with the
same tensor names), the batched feed and the two resizes; the real graph's
feature values are not checked here.

Example:
    >>> from keras_gans.metrics import inception
    >>> extractor = inception.standard_extractor("inception-2015-12-05.tgz")  # doctest: +SKIP
    >>> features = extractor(images)  # [n, 2048]  # doctest: +SKIP
"""

import os
import tarfile

import numpy as np

from keras_gans.metrics.extractors import CLASSIFIER_NAME

#: Where TensorFlow published the archive.
ARCHIVE_URL = "https://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
#: The graph's file inside the archive.
GRAPH_FILE = "classify_image_graph_def.pb"
#: Tensor the images enter at (float RGB in [0, 255], NHWC), and the features read out.
INPUT_TENSOR = "ExpandDims:0"
OUTPUT_TENSOR = "pool_3:0"
#: Side the graph resizes to, and the feature size.
SIZE = 299
FEATURE_DIM = 2048
#: The resize modes (clean-fid's names).
MODES = ("clean", "legacy_tensorflow")
#: Extractor names, by mode: what reports and cards record.
NAMES = {mode: f"inception_2015_12_05_{mode}" for mode in MODES}

#: Name of Keras' InceptionV3 features (``kg.metrics.inception_extractor``).
KERAS_NAME = "inception_v3"
#: Report labels by extractor name: "FID" means the standard graph only.
LABELS = {
    **{name: "FID" for name in NAMES.values()},
    KERAS_NAME: "FID (Keras InceptionV3)",
}
#: The line reports print beside a Keras InceptionV3 number.
KERAS_INCEPTION_NOTE = (
    "FID (Keras InceptionV3) uses keras.applications.InceptionV3 ImageNet weights, not the "
    "2015-12-05 Inception graph of published FIDs: it is not comparable to published FIDs."
)


def label(extractor_name):
    """The report label of a Frechet distance measured in ``extractor_name``'s features.

    "FID" for the standard graph, "FID (Keras InceptionV3)" for Keras'
    weights, "FCD" for the zoo's Fashion-MNIST classifier, "Frechet distance"
    for anything else.

    Example:
        >>> label("inception_2015_12_05_clean"), label("inception_v3"), label("classifier.fashion_mnist")
        ('FID', 'FID (Keras InceptionV3)', 'FCD')
    """
    return {CLASSIFIER_NAME: "FCD", **LABELS}.get(extractor_name, "Frechet distance")


def protocol_fields(extractor):
    """What a report records about its extractor besides its name.

    Args:
        extractor: a ``kg.metrics.FeatureExtractor``.

    Returns:
        dict: ``frechet_label`` (see ``label``); ``resize_mode`` and
        ``graph_sha256`` (the ``.pb`` used) for the standard graph;
        ``note`` (``KERAS_INCEPTION_NOTE``) for Keras' InceptionV3.

    Example:
        >>> from keras_gans.metrics import FeatureExtractor
        >>> protocol_fields(FeatureExtractor(lambda x: x, name="inception_v3"))["frechet_label"]
        'FID (Keras InceptionV3)'
    """
    fields = {"frechet_label": label(extractor.name)}
    for key in ("resize_mode", "graph_sha256"):
        value = getattr(extractor, key, None)
        if value is not None:
            fields[key] = value
    if extractor.name == KERAS_NAME:
        fields["note"] = KERAS_INCEPTION_NOTE
    return fields


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"resize mode must be one of {MODES}, got {mode!r}.")


def to_uint8(images):
    """Images in [-1, 1] (or uint8) as uint8 ``[n, h, w, 3]`` (gray repeated to RGB)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images [n, h, w, 1 or 3], got shape {images.shape}.")
    if images.dtype != np.uint8:
        images = np.clip(np.rint((images.astype("float32") + 1.0) * 127.5), 0, 255).astype("uint8")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def resize(images, mode="clean", size=SIZE):
    """Resize uint8 RGB images to ``size`` x ``size`` float32 in [0, 255], as ``mode`` does.

    Args:
        images: ``[n, h, w, 3]`` uint8 (see ``to_uint8``).
        mode: ``"clean"`` (PIL bicubic, per channel on float images, clipped
            to [0, 255]) or ``"legacy_tensorflow"`` (TF1 ``resize_bilinear``
            with ``align_corners=False``, the op inside the graph).
        size: int.

    Returns:
        float32 ``[n, size, size, 3]``.

    Example:
        >>> resize(np.zeros((1, 28, 28, 3), "uint8")).shape
        (1, 299, 299, 3)
    """
    _check_mode(mode)
    images = np.asarray(images)
    if mode == "legacy_tensorflow":
        import tensorflow as tf

        out = tf.compat.v1.image.resize_bilinear(images.astype("float32"), [size, size], align_corners=False)
        return out.numpy().astype("float32")
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("the clean resize needs Pillow: pip install 'keras-gans[fid]'.") from None
    bicubic = getattr(Image, "Resampling", Image).BICUBIC
    out = np.empty((len(images), size, size, images.shape[-1]), "float32")
    for i, image in enumerate(images):
        for c in range(images.shape[-1]):
            channel = Image.fromarray(image[..., c].astype("float32"), mode="F")
            out[i, ..., c] = np.asarray(channel.resize((size, size), resample=bicubic), dtype="float32")
    return np.clip(out, 0.0, 255.0)


def archive_url():
    """Where the archive is fetched from: ``$KERAS_GANS_INCEPTION_URL`` (a mirror copy), else ``ARCHIVE_URL``.

    The mirror names the ``.tgz`` itself: an ``https://``, ``file://`` or
    loopback ``http://`` URL, or a plain path (turned into a ``file://`` URL).
    """
    url = os.environ.get("KERAS_GANS_INCEPTION_URL", "").strip()
    if not url:
        return ARCHIVE_URL
    if "://" not in url:
        import urllib.parse
        import urllib.request

        url = urllib.parse.urljoin("file:", urllib.request.pathname2url(os.path.abspath(url)))
    return url


def check_sha256(sha256):
    """``sha256`` lower-cased, or ValueError unless it is 64 hex digits."""
    text = str(sha256).strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"a sha256 is 64 hex digits, got {sha256!r}.")
    return text


def graph_path(graph=None, sha256=None, verbose=None):
    """The local ``classify_image_graph_def.pb`` to use, fetching the archive if needed.

    Args:
        graph: None, a ``.pb`` path, or a ``.tgz`` path (the graph is
            extracted beside it, once).
        sha256: hex digest of the archive, for a download (default
            ``$KERAS_GANS_INCEPTION_SHA256``); with ``graph``, the digest
            that file must have.
        verbose: progress bar choice, as ``kg.zoo`` downloads.

    Returns:
        str, path of the ``.pb``.

    Raises:
        FileNotFoundError: ``graph`` does not exist, or nothing is cached and
            no download is possible (offline, or no sha256 to check it by).
        ValueError: ``graph`` does not have the digest ``sha256``.
        kg.zoo.DownloadError: the download failed or did not match ``sha256``
            (nothing is kept).
    """
    from keras_gans import download

    if graph is not None:
        graph = os.fspath(graph)
        if not os.path.isfile(graph):
            raise FileNotFoundError(
                f"Inception graph {graph} does not exist: pass {GRAPH_FILE} or the {os.path.basename(ARCHIVE_URL)} "
                "archive."
            )
        if sha256 is not None:
            expected = check_sha256(sha256)
            actual = download.sha256_of(graph)
            if actual != expected:
                raise ValueError(
                    f"{graph} has sha256 {actual}, not the {expected} given: pass the file of that digest, "
                    "or the digest of this file if you trust it."
                )
        return _extract(graph) if graph.endswith((".tgz", ".tar.gz")) else graph
    folder = os.path.join(download.cache_dir(), "inception")
    cached = os.path.join(folder, GRAPH_FILE)
    if os.path.isfile(cached):
        return cached
    url = archive_url()
    how = (f"download {url} yourself and pass its path (graph=, or --inception-graph), or put {GRAPH_FILE} "
           f"in {folder}")
    if download.offline():
        raise FileNotFoundError(f"KERAS_GANS_OFFLINE is set and the Inception graph is not cached: {how}.")
    sha256 = sha256 or os.environ.get("KERAS_GANS_INCEPTION_SHA256")
    if not sha256:
        raise FileNotFoundError(
            "no sha256 is recorded for the Inception archive, and an unverified download is refused: "
            "pass sha256= (--inception-sha256 on the command line, or set KERAS_GANS_INCEPTION_SHA256) with "
            f"the digest of a copy you trust, or {how}."
        )
    sha256 = check_sha256(sha256)
    archive = download.download(url, os.path.join(folder, os.path.basename(ARCHIVE_URL)), sha256, verbose=verbose)
    return _extract(archive)


def _extract(archive):
    from keras_gans.saving import atomic_path, commit

    target = os.path.join(os.path.dirname(os.path.abspath(archive)), GRAPH_FILE)
    if os.path.isfile(target) and os.path.getmtime(target) >= os.path.getmtime(archive):
        return target
    with tarfile.open(archive, "r:gz") as tar:
        member = next((m for m in tar.getmembers() if os.path.basename(m.name) == GRAPH_FILE and m.isfile()), None)
        if member is None:
            raise ValueError(f"{archive} holds no {GRAPH_FILE}: not the 2015-12-05 Inception archive.")
        tmp = atomic_path(target)
        try:
            with tar.extractfile(member) as src, open(tmp, "wb") as dst:
                dst.write(src.read())
            commit(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return target


_WANTED = f"pass {GRAPH_FILE} from inception-2015-12-05.tgz, or the archive itself"


def load_graph(path):
    """A concrete function ``float32 [n, h, w, 3] in [0, 255] -> float32 [n, 2048]`` from a GraphDef.

    Args:
        path: str, a GraphDef ``.pb`` with ``ExpandDims:0`` and ``pool_3:0`` tensors.

    Raises:
        ValueError: the file is not a GraphDef with those tensors, or
            ``pool_3`` is not 2048-d.
    """
    import tensorflow as tf

    with open(path, "rb") as f:
        data = f.read()
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception as err:  # protobuf's DecodeError
        raise ValueError(f"{path} is not a TensorFlow GraphDef ({type(err).__name__}): {_WANTED}.") from None
    names = {node.name for node in graph_def.node}
    missing = [t for t in (INPUT_TENSOR, OUTPUT_TENSOR) if t.split(":")[0] not in names]
    if missing:
        raise ValueError(f"{path} has no {' or '.join(missing)} tensor, so it is not the 2015-12-05 Inception "
                         f"graph: {_WANTED}.")

    def features(images):
        (pool,) = tf.graph_util.import_graph_def(
            graph_def, input_map={INPUT_TENSOR: images}, return_elements=[OUTPUT_TENSOR], name="inception"
        )
        return tf.reshape(pool, [-1, pool.shape[-1] if pool.shape[-1] is not None else FEATURE_DIM])

    fn = tf.compat.v1.wrap_function(features, [tf.TensorSpec([None, None, None, 3], tf.float32)])
    dim = fn.outputs[0].shape[-1]
    if dim != FEATURE_DIM:
        raise ValueError(f"{path}: pool_3 is {dim}-d, not {FEATURE_DIM}, so it is not the 2015-12-05 Inception "
                         f"graph: {_WANTED}.")
    return fn


def standard_extractor(graph=None, mode="clean", sha256=None, batch_size=50):
    """The FID extractor of published numbers: 2015-12-05 Inception ``pool_3``, 2048-d.

    Args:
        graph: path of ``classify_image_graph_def.pb`` or of
            ``inception-2015-12-05.tgz``; None looks in the cache, then
            downloads (see ``graph_path``; needs ``sha256``).
        mode: ``"clean"`` (PIL bicubic, clean-fid's default) or
            ``"legacy_tensorflow"`` (the graph's bilinear resize, as TTUR).
        sha256: hex digest of the archive, for a download.
        batch_size: int, images per graph call.

    Returns:
        ``kg.metrics.FeatureExtractor`` named ``inception_2015_12_05_<mode>``
        (reports label it "FID"); it takes images in [-1, 1] or uint8, of
        any size, 1 or 3 channels. Its ``resize_mode`` and ``graph_sha256``
        (of the ``.pb`` loaded) go into reports.

    Example:
        >>> fid = standard_extractor("inception-2015-12-05.tgz", mode="clean")  # doctest: +SKIP
        >>> kg.metrics.frechet_distance(fid(real), fid(fake))  # doctest: +SKIP
    """
    from keras_gans.metrics.extractors import FeatureExtractor

    from keras_gans import download

    _check_mode(mode)
    path = graph_path(graph, sha256=sha256)
    fn = load_graph(path)

    def features(images):
        pixels = to_uint8(images)
        out = []
        for start in range(0, len(pixels), batch_size):
            chunk = pixels[start : start + batch_size]
            # clean: resized here; legacy_tensorflow: the graph's own ResizeBilinear does it.
            chunk = resize(chunk, "clean") if mode == "clean" else chunk.astype("float32")
            out.append(fn(chunk).numpy())
        return np.concatenate(out).astype("float32")

    extractor = FeatureExtractor(features, name=NAMES[mode])
    extractor.resize_mode = mode
    extractor.graph_sha256 = download.sha256_of(path)
    return extractor
