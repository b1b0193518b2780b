"""What an export starts from: a GAN, a bare generator, a ``.keras`` file or a zoo name."""

import os
import re

#: Serving names become folder names and URL parts (``/v1/models/NAME``).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

#: Kinds of generator, by what they take.
LATENT = "latent"  # z [batch, latent_dim] -> images (DCGAN, WGAN-GP)
CONDITIONAL = "conditional"  # z, labels [batch] -> images (ConditionalGAN)
IMAGE = "image"  # images -> images (CycleGAN A -> B)


class ExportSource:
    """A generator ready to export, with what the signatures need to know.

    ``sampling`` describes how a latent family that does not truncate in
    ``z`` space samples. It is None for ``psi * z`` families; else an object
    (``kg.models.stylegan2.WSpaceSampling`` for StyleGAN2's layout) with:

    - ``space`` (``"w"``), ``truncation_range`` (the closed ``(low, high)``
      of ``psi``) and ``truncation_message``;
    - ``latent_dim``, ``num_ws`` and ``w_dim``: the styles are
      ``[batch, num_ws, w_dim]``;
    - tensor functions ``ws(z)`` (untruncated styles), ``truncate(ws, psi)``
      and ``synthesize(ws)`` (images in [-1, 1]), which the signatures trace;
    - numpy references ``ws_from_latents(z, truncation)``,
      ``images_from_latents(z, truncation)`` and ``images_from_ws(ws)``,
      which ``kg.export.verify`` compares the artifact with;
    - ``for_generator(generator)``: the same for a copy of the generator.

    A GAN gives it with ``gan.export_sampling()``; a bare generator is asked
    ``WSpaceSampling.of(generator)`` (None when it lacks the layout).

    ``encoder`` is the network of a family that also maps images to latents
    (the VAE-GAN, through ``gan.export_encoder()``): a ``keras.Model`` from
    images ``[batch, *image_shape]`` in [-1, 1] to ``[mean, log_var]``, each
    ``[batch, latent_dim]``; exports add an ``encode`` signature for it.

    Attributes:
        generator: ``keras.Model``, the network that is exported.
        kind: ``"latent"``, ``"conditional"`` or ``"image"``.
        name: str, the default serving name (family or zoo name).
        latent_dim: int or None.
        num_classes: int or None (conditional generators).
        image_shape: tuple ``(h, w, c)`` of the images made.
        input_shape: tuple ``(h, w, c)`` of the images an image-to-image
            generator takes (its ``images`` input; the channels may differ
            from the output's, as in a grayscale -> colour Pix2Pix), else None.
        encoder: None or the family's encoder (see above).
        origin: str, what it was loaded from (for messages).
        sampling: None (truncation is ``psi * z``) or the family's sampling (see above).
    """

    def __init__(self, generator, kind, name, latent_dim, num_classes, image_shape, origin, sampling=None,
                 input_shape=None, encoder=None):
        self.generator = generator
        self.sampling = sampling
        self.input_shape = tuple(input_shape) if input_shape is not None else (
            tuple(image_shape) if kind == IMAGE else None
        )
        self.encoder = encoder
        self.kind = kind
        self.name = name
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.image_shape = image_shape
        self.origin = origin

    def example_inputs(self, n, seed=0, images=None):
        """Inputs for ``n`` examples as ``{name: np.ndarray}`` in the signature's names.

        Latents are what ``seed`` means everywhere
        (``kg.sampling.latents(n, latent_dim, seed)``, the model's own ``z``
        distribution), labels cycle through the classes as ``gan.generate``
        and the ``sample`` signature cycle them, images are ``images`` if
        given, else uniform noise in [-1, 1] of ``input_shape``.
        """
        import numpy as np

        from keras_gans.sampling import latents

        if self.kind == IMAGE:
            if images is None:
                images = np.random.default_rng(seed).uniform(-1.0, 1.0, (n, *self.input_shape))
            return {"images": np.asarray(images, "float32")}
        inputs = {"z": latents(n, self.latent_dim, seed)}
        if self.kind == CONDITIONAL:
            inputs["labels"] = (np.arange(n) % self.num_classes).astype("int32")
        return inputs

    def as_float32(self):
        """This source with its generator rebuilt in float32 (itself if it already is).

        A ``mixed_bfloat16`` / ``mixed_float16`` generator computes in half
        precision, which TFLite's builtin kernels do not take (a bfloat16
        ``MatMul`` has no builtin); its variables are float32 already, so a
        float32 copy of the network with the same weights is the model to
        convert. The original generator is left as it is.
        """
        import keras

        networks = [self.generator] + ([self.encoder] if self.encoder is not None else [])
        if all(
            _compute_dtype(layer) in (None, "float32") for network in networks for layer in _all_layers(network)
        ):
            return self

        def float32_layer(layer):
            config = layer.get_config()
            if "dtype" in config:
                config["dtype"] = "float32"
            return layer.__class__.from_config(config)

        def float32_copy(network):
            # recursive: a network made of nested networks (StyleGAN2's
            # mapping and synthesis) is rebuilt in float32 all the way down.
            copy = keras.models.clone_model(network, clone_function=float32_layer, recursive=True)
            copy.set_weights(network.get_weights())
            return copy

        copy = float32_copy(self.generator)
        sampling = self.sampling.for_generator(copy) if self.sampling is not None else None
        return ExportSource(
            copy, self.kind, self.name, self.latent_dim, self.num_classes, self.image_shape, self.origin,
            sampling=sampling, input_shape=self.input_shape,
            encoder=float32_copy(self.encoder) if self.encoder is not None else None,
        )

    def run_encoder(self, images, batch_size=256):
        """Run the Keras encoder on images; ``(mean, log_var)`` float32 numpy arrays."""
        import keras
        import numpy as np

        means, log_vars = [], []
        for start in range(0, len(images), batch_size):
            mean, log_var = self.encoder(images[start : start + batch_size], training=False)
            means.append(keras.ops.convert_to_numpy(mean))
            log_vars.append(keras.ops.convert_to_numpy(log_var))
        return np.concatenate(means).astype("float32"), np.concatenate(log_vars).astype("float32")

    def run_keras(self, inputs, batch_size=256):
        """Run the Keras generator on ``{name: array}`` inputs; float32 numpy images."""
        import keras
        import numpy as np

        order = ["z", "labels"] if self.kind == CONDITIONAL else (["images"] if self.kind == IMAGE else ["z"])
        arrays = [inputs[k] for k in order]
        out = []
        for start in range(0, len(arrays[0]), batch_size):
            chunk = [a[start : start + batch_size] for a in arrays]
            chunk = chunk if len(chunk) > 1 else chunk[0]
            out.append(keras.ops.convert_to_numpy(self.generator(chunk, training=False)))
        return np.concatenate(out).astype("float32")


def _all_layers(model):
    stack, layers = list(model.layers), []
    while stack:
        layer = stack.pop()
        layers.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return layers


def _compute_dtype(layer):
    return getattr(layer, "compute_dtype", None)


def check_name(name):
    """Validate a serving name (a folder name and a URL part)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"invalid model name {name!r}: use letters, digits, '.', '_' and '-' "
            "(it becomes a folder and the /v1/models/NAME URL)."
        )
    return name


def _num_classes_of(generator):
    import keras

    sizes, stack = set(), list(generator.layers)
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.layers.Embedding):
            sizes.add(layer.input_dim)
        stack.extend(getattr(layer, "layers", []))
    if len(sizes) != 1:
        raise ValueError(
            f"cannot tell how many classes the conditional generator {generator.name!r} has "
            "(it has no single label Embedding): export the ConditionalGAN instead of its generator."
        )
    return int(sizes.pop())


def _sampling_of(generator):
    """The sampling a bare generator's layout implies: w space for a mapping + synthesis network, else None."""
    from keras_gans.models.stylegan2 import WSpaceSampling

    return WSpaceSampling.of(generator)


def _check_encoder(encoder, latent_dim, image_shape, origin):
    """The encoder a GAN exports beside its generator: images of ``image_shape`` -> [mean, log_var]."""
    inputs, outputs = list(getattr(encoder, "inputs", None) or []), list(getattr(encoder, "outputs", None) or [])
    shapes = [tuple(o.shape[1:]) for o in outputs]
    if (len(inputs) != 1 or tuple(inputs[0].shape[1:]) != tuple(image_shape)
            or shapes != [(latent_dim,), (latent_dim,)]):
        raise ValueError(
            f"the encoder of {origin} must map images {tuple(image_shape)} to [mean, log_var] of "
            f"shape ({latent_dim},) each, got inputs {[tuple(t.shape) for t in inputs]} and outputs {shapes}."
        )
    return encoder


def _from_generator(generator, name, origin, num_classes=None, sampling=False, encoder=None):
    """``sampling``: the GAN's (None: z space); ``False``: read it from the generator's layout.

    ``encoder``: the GAN's encoder (``gan.export_encoder()``), exported as
    the ``encode`` signature of a latent generator.
    """
    import keras

    if not generator.built or not getattr(generator, "inputs", None):
        raise ValueError(
            f"{origin} is not a built functional model: build it (call it once) or export the GAN."
        )
    inputs = list(generator.inputs)
    outputs = list(generator.outputs)
    if len(outputs) != 1 or len(outputs[0].shape) != 4:
        raise ValueError(
            f"{origin} must output one batch of images [batch, h, w, c], got outputs "
            f"{[tuple(o.shape) for o in outputs]}."
        )
    image_shape = tuple(int(s) for s in outputs[0].shape[1:])
    if len(inputs) == 2:
        names = [t.name for t in inputs]
        dtypes = [keras.backend.standardize_dtype(t.dtype) for t in inputs]
        if "int" not in dtypes[1] or len(inputs[0].shape) != 2:
            raise ValueError(
                f"{origin} takes inputs {names} {dtypes}: a conditional generator must take "
                "[z (float, [batch, latent_dim]), labels (int, [batch])]."
            )
        classes = num_classes if num_classes is not None else _num_classes_of(generator)
        return ExportSource(
            generator, CONDITIONAL, name, int(inputs[0].shape[-1]), int(classes), image_shape, origin
        )
    if len(inputs) != 1:
        raise ValueError(f"{origin} takes {len(inputs)} inputs: exports handle z, [z, labels] or images.")
    rank = len(inputs[0].shape)
    if rank == 2:
        if sampling is False:
            sampling = _sampling_of(generator)
        latent_dim = int(inputs[0].shape[-1])
        if encoder is not None:
            encoder = _check_encoder(encoder, latent_dim, image_shape, origin)
        return ExportSource(
            generator, LATENT, name, latent_dim, None, image_shape, origin, sampling=sampling, encoder=encoder
        )
    if rank == 4:
        in_shape = tuple(inputs[0].shape[1:])
        if any(s is None for s in in_shape):
            raise ValueError(
                f"{origin} takes images of shape {in_shape}: exports need a fixed (h, w, c) input; "
                "build the generator for one image size."
            )
        # The input may have other channels than the output (grayscale ->
        # colour, edges -> photos): the images signature takes the input's.
        return ExportSource(generator, IMAGE, name, None, None, image_shape, origin,
                            input_shape=tuple(int(s) for s in in_shape))
    raise ValueError(
        f"{origin} takes input of shape {tuple(inputs[0].shape)}: exports handle latent "
        "vectors [batch, latent_dim] or images [batch, h, w, c]."
    )


def _from_gan(gan, name, origin):
    # A GAN with ema_decay exports its EMA generator, the one that samples. A
    # family that samples other than by psi * z says how (export_sampling).
    # A family with an encoder (VAE-GAN) exports it as well (export_encoder).
    export_sampling = getattr(gan, "export_sampling", None)
    export_encoder = getattr(gan, "export_encoder", None)
    return _from_generator(
        gan.sampling_generator(), name or gan.family, origin,
        num_classes=getattr(gan, "num_classes", None),
        sampling=export_sampling() if callable(export_sampling) else None,
        encoder=export_encoder() if callable(export_encoder) else None,
    )


def resolve(model_or_name):
    """Turn what the user passed into an ``ExportSource``.

    Args:
        model_or_name: a ``kg.models`` GAN, a generator ``keras.Model``, a path
            to a ``.keras`` file written by ``gan.save`` or a zoo name
            (``"dcgan.fashion_mnist"``).

    Returns:
        ``ExportSource``.
    """
    import keras

    from keras_gans.models import GAN

    if isinstance(model_or_name, ExportSource):
        return model_or_name
    if isinstance(model_or_name, GAN):
        return _from_gan(model_or_name, None, f"the {type(model_or_name).__name__}")
    if isinstance(model_or_name, keras.Model):
        return _from_generator(model_or_name, model_or_name.name, f"the model {model_or_name.name!r}")
    if not isinstance(model_or_name, (str, os.PathLike)):
        raise ValueError(
            f"cannot export a {type(model_or_name).__name__}: pass a GAN, a generator "
            "keras.Model, a .keras path or a zoo name."
        )
    text = os.fspath(model_or_name)
    if os.path.isdir(text):
        raise ValueError(
            f"{text} is a folder: pass the .keras file written by gan.save() (a SavedModel "
            "is already an export)."
        )
    if text.endswith(".weights.h5") or text.endswith(".h5"):
        raise ValueError(
            f"{text} holds weights only, without the networks: load them into the GAN "
            "(gan.load_weights(path)) and export the GAN, or pass a .keras file."
        )
    if os.path.isfile(text) or text.endswith(".keras") or os.sep in text or "/" in text:
        from keras_gans.saving import load_gan_file

        gan = load_gan_file(text)
        return _from_gan(gan, None, text)
    from keras_gans import zoo
    from keras_gans.zoo import packaged

    if packaged.networks_of(zoo.card(text)):
        # The inference networks the wheel ships (no download): the GAN exports
        # as a .keras file of it does, with its family's sampling and encoder.
        return _from_gan(zoo.load_gan(text, generator_only=True), text, f"zoo entry {text}")
    # The generator alone: the optimizers a whole GAN would build are not exported.
    generator = zoo.load_generator(text)
    return _from_generator(generator, text, f"zoo entry {text}")
