"""Export a generator as a TF Serving SavedModel: ``base/name/version/``.

Signatures (every input and output has a stable name; the batch is dynamic):

- ``serving_default``: ``z`` float32 ``[batch, latent_dim]`` (dcgan, wgan_gp,
  any latent generator); ``z`` and ``labels`` int32 ``[batch]`` (cgan);
  ``images`` float32 ``[batch, h, w, c]`` in [-1, 1] (cyclegan A -> B,
  pix2pix; ``c`` is the generator's input channels, which may differ from
  the output's).
- ``sample``: ``batch_size`` int32, ``seed`` int64 and ``truncation`` float32
  scalars (all but cyclegan).
- ``sample_labels``: ``labels`` int32 ``[batch]``, ``seed`` int64 and
  ``truncation`` float32 scalars (cgan).
- ``mapping`` and ``synthesis`` (stylegan2, any family that truncates in
  ``w`` space): ``mapping`` takes ``z`` and ``truncation`` and returns ``ws``
  float32 ``[batch, num_ws, w_dim]`` (the styles, one per style input of the
  synthesis network, truncated toward the mean ``w``); ``synthesis`` takes
  ``ws`` of that shape and returns the images. Equal rows of ``ws`` give
  ``serving_default``'s image; rows below a cutoff taken from one latent's
  ``ws`` and the rest from another's are ``gan.style_mix``.
- ``encode`` (vaegan, any family whose ``export_encoder()`` gives an
  encoder): ``images`` float32 ``[batch, h, w, c]`` in [-1, 1] ->
  ``z_mean`` and ``z_log_var`` float32 ``[batch, latent_dim]``, the
  posterior ``gan.encode(images, return_log_var=True)`` returns; feeding
  ``z_mean`` to ``serving_default`` is ``gan.reconstruct``. Values outside
  [-1, 1] (such as unscaled 0..255 pixels) are refused in the graph with
  ``ENCODE_RANGE_MESSAGE``.

Every signature but ``mapping`` and ``encode`` returns ``images`` (float32 in [-1, 1], NHWC) and
``images_uint8`` (uint8 in [0, 255], ``round(clip(images, -1, 1) * 127.5 + 127.5)``),
so a client can write PNG files without any arithmetic.

``sample`` lets a client ask for images without drawing latents:
``z = tf.random.stateless_normal([batch_size, latent_dim], seed=[seed, 0],
alg="philox")`` (the same numbers on every machine, and the latents
``gan.generate(batch_size, seed=seed)`` and ``keras-gans sample --seed`` use:
``kg.sampling.latents(batch_size, latent_dim, seed)`` computes them in numpy);
a conditional GAN's ``sample`` cycles the labels (``arange(batch_size) %
num_classes``, like ``gan.generate``), and ``sample_labels`` takes the labels
(their count is the batch) with the same ``z``. A CycleGAN translates the
images it is given, so it has no ``sample`` signature.

``truncation`` is the truncation trick's ``psi`` in (0, 1]: the latents are
``psi * z`` (scaled toward the mean latent, 0), exactly as
``gan.generate(n, seed=seed, truncation=psi)`` scales them; ``1.0`` leaves
them unchanged. A signature cannot have optional inputs, so a client always
sends it (``1.0`` for no truncation); a value outside (0, 1] (NaN included)
is refused inside the graph: an ``InvalidArgumentError`` whose message is
``TRUNCATION_MESSAGE``, which names the valid range. A GAN with ``ema_decay``
exports its EMA generator, the one ``gan.generate`` samples with.

A family that truncates in ``w`` space (StyleGAN2) says so through
``gan.export_sampling()`` (a bare generator with the mapping + synthesis
layout is recognized by ``WSpaceSampling.of``), and its ``sample`` and
``mapping`` truncate as ``gan.generate`` does: ``w = w_avg + psi * (w -
w_avg)`` with the generator's saved ``w_avg`` (the EMA generator's, when
there is one), ``psi`` in the family's closed range, [0, 1] for StyleGAN2
(0.0: the mean-``w`` image); outside it the graph refuses ``psi`` with the
family's ``truncation_message``. ``sample(batch_size, seed, truncation=psi)``
is then ``gan.generate(batch_size, seed=seed, truncation=psi)``.
"""

import os

from keras_gans.export import _atomic
from keras_gans.export._source import CONDITIONAL, IMAGE, check_name, resolve


def stateless_latent(batch_size, seed, latent_dim, truncation=None):
    """The latents the ``sample`` signature draws, as a float32 numpy array.

    The same numbers as ``kg.sampling.latents(batch_size, latent_dim, seed)``
    (which needs no TensorFlow) and ``gan.generate(batch_size, seed=seed)``;
    with ``truncation=psi``, those latents times ``psi`` (what the signature
    draws for ``truncation=psi`` and ``gan.generate(..., truncation=psi)`` uses).

    Args:
        batch_size: int, how many.
        seed: int, the ``seed`` sent to the signature.
        latent_dim: int, the generator's latent size.
        truncation: None or ``psi`` in (0, 1], the ``truncation`` sent to the
            signature (None or 1.0: unchanged).

    Returns:
        ``np.ndarray`` ``[batch_size, latent_dim]``.

    Example:
        >>> stateless_latent(2, seed=0, latent_dim=4).shape
        (2, 4)
    """
    import numpy as np
    import tensorflow as tf

    from keras_gans.sampling import check_truncation

    truncation = check_truncation(truncation)
    z = tf.random.stateless_normal(
        [int(batch_size), int(latent_dim)],
        seed=tf.constant([int(seed), 0], tf.int64),
        alg="philox",
    ).numpy()
    if truncation is None or truncation == 1.0:
        return z
    return (z * np.float32(truncation)).astype("float32")


#: Name scope of the ops that make ``images_uint8``. An int8 TFLite export
#: keeps the ops under it in float32 (``kg.export.tflite`` denylists them from
#: quantization), so ``images_uint8`` is the file's own float ``images`` in
#: uint8 there too.
UINT8_SCOPE = "images_to_uint8"


#: The message of the graph assertion that refuses a ``truncation`` outside (0, 1].
TRUNCATION_MESSAGE = "truncation must be a float psi in (0, 1] (1.0: no truncation, smaller: samples closer to the mean)"


#: The message of the graph assertion that refuses ``encode`` images outside [-1, 1].
ENCODE_RANGE_MESSAGE = "encode takes images in [-1, 1]: scale uint8 pixels with x / 127.5 - 1"


def to_uint8(images):
    """[-1, 1] float images -> uint8 [0, 255], as the ``images_uint8`` output (TF op).

    ``round(clip(images, -1, 1) * 127.5 + 127.5)`` cast to uint8, built under
    the name scope ``UINT8_SCOPE``.
    """
    import tensorflow as tf

    with tf.name_scope(UINT8_SCOPE):
        scaled = tf.clip_by_value(images, -1.0, 1.0) * 127.5 + 127.5
        return tf.cast(tf.round(scaled), tf.uint8)


def signature_functions(source, checks=True, sample=True):
    """The ``tf.function`` of each signature, in order (``serving_default`` first).

    Args:
        source: ``ExportSource``.
        checks: bool, add graph assertions (label range, ``batch_size >= 1``,
            ``truncation`` in (0, 1], or the family's range in ``w`` space).
            TFLite exports leave them out: ``Assert`` is not a builtin op.
        sample: bool, add the ``sample`` (and ``sample_labels``) signatures,
            and ``mapping`` / ``synthesis`` for a ``w``-space family.

    Returns:
        dict name -> ``tf.function`` with an input signature.
    """
    import tensorflow as tf

    generator = source.generator
    latent_dim = source.latent_dim
    num_classes = source.num_classes

    def outputs(images):
        images = tf.cast(images, tf.float32)
        return {"images": images, "images_uint8": to_uint8(images)}

    def checked_labels(labels):
        if not checks:
            return labels
        with tf.control_dependencies(
            [
                tf.debugging.assert_non_negative(labels, message="labels must be >= 0"),
                tf.debugging.assert_less(
                    labels, tf.constant(num_classes, tf.int32),
                    message=f"labels must be < num_classes = {num_classes}",
                ),
            ]
        ):
            return tf.identity(labels)

    def truncated(z, truncation):
        # psi * z, as GAN.truncate does in numpy (a float32 multiply: the same bits).
        if checks:
            with tf.control_dependencies(
                [
                    # NaN fails both comparisons, so it is refused too.
                    tf.debugging.assert_positive(truncation, message=TRUNCATION_MESSAGE),
                    tf.debugging.assert_less_equal(
                        truncation, tf.constant(1.0, tf.float32), message=TRUNCATION_MESSAGE
                    ),
                ]
            ):
                truncation = tf.identity(truncation)
        return z * truncation

    def draw(batch_size, seed):
        # The latents of every sample signature: kg.sampling.latents(batch_size, latent_dim, seed).
        if checks:
            with tf.control_dependencies(
                [tf.debugging.assert_positive(batch_size, message="batch_size must be >= 1")]
            ):
                batch_size = tf.identity(batch_size)
        seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        return tf.random.stateless_normal(
            tf.stack([batch_size, tf.constant(latent_dim, tf.int32)]), seed=seed, alg="philox"
        )

    def latents(batch_size, seed, truncation):
        return truncated(draw(batch_size, seed), truncation)

    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    labels_spec = tf.TensorSpec([None], tf.int32, name="labels")
    size_spec = tf.TensorSpec([], tf.int32, name="batch_size")
    seed_spec = tf.TensorSpec([], tf.int64, name="seed")
    truncation_spec = tf.TensorSpec([], tf.float32, name="truncation")
    functions = {}
    if source.kind == IMAGE:

        @tf.function(input_signature=[tf.TensorSpec([None, *source.input_shape], tf.float32, name="images")])
        def translate(images):
            return outputs(generator(images, training=False))

        functions["serving_default"] = translate
    elif source.kind == CONDITIONAL:

        @tf.function(input_signature=[z_spec, labels_spec])
        def conditional(z, labels):
            return outputs(generator([z, checked_labels(labels)], training=False))

        functions["serving_default"] = conditional
        if sample:

            @tf.function(input_signature=[size_spec, seed_spec, truncation_spec])
            def sample_cycled(batch_size, seed, truncation):
                z = latents(batch_size, seed, truncation)
                labels = tf.range(tf.shape(z)[0], dtype=tf.int32) % num_classes
                return outputs(generator([z, labels], training=False))

            @tf.function(input_signature=[labels_spec, seed_spec, truncation_spec])
            def sample_labels(labels, seed, truncation):
                labels = checked_labels(labels)
                z = latents(tf.shape(labels)[0], seed, truncation)
                return outputs(generator([z, labels], training=False))

            functions["sample"] = sample_cycled
            functions["sample_labels"] = sample_labels
    else:

        @tf.function(input_signature=[z_spec])
        def unconditional(z):
            return outputs(generator(z, training=False))

        functions["serving_default"] = unconditional
        if sample and source.sampling is not None:
            functions.update(_styled_functions(source.sampling, z_spec, size_spec, seed_spec, truncation_spec,
                                               draw, outputs, checks))
        elif sample:

            @tf.function(input_signature=[size_spec, seed_spec, truncation_spec])
            def sample_z(batch_size, seed, truncation):
                return outputs(generator(latents(batch_size, seed, truncation), training=False))

            functions["sample"] = sample_z
    if source.encoder is not None:
        functions["encode"] = _encode_function(source, checks)
    return functions


def _encode_function(source, checks):
    """The ``encode`` signature: images in [-1, 1] -> ``z_mean``, ``z_log_var``."""
    import tensorflow as tf

    from keras_gans.models.data_checks import RANGE_TOLERANCE

    encoder = source.encoder
    low, high = -1.0 - RANGE_TOLERANCE, 1.0 + RANGE_TOLERANCE

    @tf.function(input_signature=[tf.TensorSpec([None, *source.image_shape], tf.float32, name="images")])
    def encode(images):
        if checks:
            # A little slack, as gan.encode allows, for images rounded from uint8.
            with tf.control_dependencies(
                [
                    tf.debugging.assert_greater_equal(images, tf.constant(low, tf.float32),
                                                      message=ENCODE_RANGE_MESSAGE),
                    tf.debugging.assert_less_equal(images, tf.constant(high, tf.float32),
                                                   message=ENCODE_RANGE_MESSAGE),
                ]
            ):
                images = tf.identity(images)
        mean, log_var = encoder(images, training=False)
        return {"z_mean": tf.cast(mean, tf.float32), "z_log_var": tf.cast(log_var, tf.float32)}

    return encode


def _checked_truncation(truncation, low, high, message, checks):
    """``truncation`` behind graph assertions ``low <= psi <= high`` (NaN fails both)."""
    import tensorflow as tf

    if not checks:
        return truncation
    with tf.control_dependencies(
        [
            tf.debugging.assert_greater_equal(truncation, tf.constant(low, tf.float32), message=message),
            tf.debugging.assert_less_equal(truncation, tf.constant(high, tf.float32), message=message),
        ]
    ):
        return tf.identity(truncation)


def _styled_functions(sampling, z_spec, size_spec, seed_spec, truncation_spec, draw, outputs, checks):
    """``sample``, ``mapping`` and ``synthesis`` of a family that truncates in ``w`` space.

    ``sample`` draws the ``z`` every family's ``sample`` draws, maps it to
    styles, truncates them as the family does (toward the tracked mean
    ``w``) and synthesizes; ``mapping`` returns the (truncated) styles and
    ``synthesis`` takes styles, so a client can mix them.
    """
    import tensorflow as tf

    low, high = sampling.truncation_range
    message = sampling.truncation_message
    ws_spec = tf.TensorSpec([None, sampling.num_ws, sampling.w_dim], tf.float32, name="ws")

    def styles(z, truncation):
        truncation = _checked_truncation(truncation, low, high, message, checks)
        return sampling.truncate(sampling.ws(z), truncation)

    @tf.function(input_signature=[size_spec, seed_spec, truncation_spec])
    def sample_w(batch_size, seed, truncation):
        return outputs(sampling.synthesize(styles(draw(batch_size, seed), truncation)))

    @tf.function(input_signature=[z_spec, truncation_spec])
    def mapping(z, truncation):
        return {"ws": styles(z, truncation)}

    @tf.function(input_signature=[ws_spec])
    def synthesis(ws):
        return outputs(sampling.synthesize(ws))

    return {"sample": sample_w, "mapping": mapping, "synthesis": synthesis}


def write_saved_model(source, path, checks=True, sample=True):
    """Write ``source``'s signatures as a SavedModel at ``path`` (no atomicity here)."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(source.generator)
    if source.encoder is not None:
        archive.track(source.encoder)
    for name, fn in signature_functions(source, checks=checks, sample=sample).items():
        archive.add_endpoint(name, fn)
    archive.write_out(path, verbose=False)


def _check_version(version):
    if version is None:
        return None
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(
            f"version must be a positive int (TF Serving loads numeric folders), got {version!r}."
        )
    return version


def next_version(model_dir):
    """The next free TF Serving version under ``model_dir`` (1 when there is none)."""
    if not os.path.isdir(model_dir):
        return 1
    numbers = [int(d) for d in os.listdir(model_dir) if d.isdigit()]
    return max(numbers, default=0) + 1


def _check_target(target, version_given):
    if os.path.exists(target):
        hint = (
            f"pass another version or leave version unset for the next free one "
            f"({next_version(os.path.dirname(target))})"
            if version_given
            else "remove it"
        )
        raise FileExistsError(f"{target} already exists: {hint}.")
    probe = _atomic._first_existing(os.path.dirname(target))
    if not os.path.isdir(probe):
        raise ValueError(
            f"cannot export to {target}: {probe} is a file, not a folder; pick another base folder."
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(
            f"cannot export to {target}: {probe} is not writable (permission denied); "
            "pick a writable base folder."
        )


def saved_model(model_or_name, base_dir, name=None, version=None):
    """Export a generator as a SavedModel in the TF Serving layout ``base_dir/name/version/``.

    The folder appears whole or not at all: it is written into a hidden
    temporary folder beside it and renamed at the end. It needs no Python
    code to serve (TF Serving, ``tf.saved_model.load``, ``saved_model_cli``).
    See the module docstring for the signatures.

    Args:
        model_or_name: a ``kg.models`` GAN, a generator ``keras.Model``, the
            path of a ``.keras`` file written by ``gan.save`` or a zoo name
            (``"dcgan.fashion_mnist"``).
        base_dir: str, the folder TF Serving serves (``model_base_path``'s parent).
        name: str, the model's serving name; default: the GAN family
            (``"dcgan"``), the zoo name, or a bare generator's ``name``.
        version: positive int; default the next free version (1 for a new model).

    Returns:
        str, the path of the version folder written.

    Raises:
        ValueError: bad name or version, a part of the path is a file, or the
            model cannot be exported.
        FileExistsError: the version folder exists.
        FileNotFoundError: a ``.keras`` path that does not exist.
        PermissionError: ``base_dir`` is not writable.

    Example:
        >>> import keras_gans as kg
        >>> gan = kg.models.DCGAN(latent_dim=16, width=8)
        >>> path = kg.export.saved_model(gan, "/tmp/serving")  # doctest: +SKIP
        >>> path  # doctest: +SKIP
        '/tmp/serving/dcgan/1'
    """
    if not isinstance(base_dir, (str, os.PathLike)):
        raise ValueError(f"base_dir must be a folder path, got {type(base_dir).__name__}.")
    base_dir = os.path.abspath(os.fspath(base_dir))
    version = _check_version(version)
    if name is not None:
        check_name(name)
        if version is not None:
            # Fail before loading a (possibly large) model.
            _check_target(os.path.join(base_dir, name, str(version)), True)
    source = resolve(model_or_name)
    name = check_name(name if name is not None else source.name)
    model_dir = os.path.join(base_dir, name)
    version_given = version is not None
    if version is None:
        version = next_version(model_dir)
    target = os.path.join(model_dir, str(version))
    _check_target(target, version_given)
    with _atomic.atomic_folder(target) as tmp:
        write_saved_model(source, tmp, checks=True, sample=True)
    return target
