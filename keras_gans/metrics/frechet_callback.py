"""A callback that logs the Frechet distance of a GAN's samples during ``fit``."""

import keras
import numpy as np

from keras_gans.metrics.extractors import as_extractor, as_model_images
from keras_gans.metrics.frechet import (
    activation_statistics,
    frechet_distance_from_statistics,
    warn_if_singular,
)


def real_images(real_data, n, seed=0, split="test"):
    """Up to ``n`` real images (float32 in [-1, 1]) from ``real_data``.

    Args:
        real_data: images ``[n, h, w, c]`` (uint8 or float in [-1, 1]), an
            ``(images, labels)`` pair, a ``tf.data.Dataset`` of image batches
            (or ``(images, labels)`` batches), or a dataset name/path for
            ``kg.data.load_numpy``.
        n: int, the most images to return; larger sources give a random
            subset of ``n`` drawn with ``seed``.
        seed: int, seed of the subset.
        split: split read when ``real_data`` is a name or path.

    Returns:
        float32 ``np.ndarray`` ``[min(n, available), h, w, c]``.
    """
    import tensorflow as tf

    if isinstance(real_data, str) or hasattr(real_data, "__fspath__"):
        from keras_gans.data import load_numpy

        images = load_numpy(real_data, split=split)[0]
    elif isinstance(real_data, tf.data.Dataset):
        batches, count = [], 0
        for batch in real_data:
            batch = batch[0] if isinstance(batch, (tuple, list)) else batch
            batch = keras.ops.convert_to_numpy(batch)
            batches.append(batch)
            count += len(batch)
            if count >= n:
                break
        if not batches:
            raise ValueError("real_data is an empty dataset: it yields no batch.")
        images = np.concatenate(batches)[:n]
    elif isinstance(real_data, (tuple, list)) and len(real_data) == 2:
        images = np.asarray(real_data[0])
    else:
        images = np.asarray(real_data)
    if images.ndim == 3:
        images = images[..., None]
    if len(images) > n:
        keep = np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))
        images = images[keep]
    return as_model_images(images, "real images")


class FrechetCallback(keras.callbacks.Callback):
    """Log the Frechet distance between generated and real images during ``fit``.

    Every ``every`` epochs it generates ``n_samples`` images (always from the
    same latents, drawn with ``seed``, so the value tracks the model, not the
    noise), extracts their features, and writes the Frechet distance to the
    real images' features into ``logs[name]``. The real features are computed
    once, when training begins. Callbacks after this one in the ``callbacks``
    list see the value: ``EarlyStopping(monitor="fcd")``,
    ``ModelCheckpoint(monitor="fcd", save_best_only=True)``, ``CSVLogger``,
    ``TensorBoard`` and the returned ``History``. On epochs it skips
    (``every > 1``) the key is absent, which ``EarlyStopping`` ignores.

    Sampling follows the family: ``gan.generate(n)`` (conditional GANs cycle
    through the classes); CycleGAN and Pix2Pix, which have no latent space,
    translate the images ``inputs`` (a CycleGAN's domain-A images, with
    ``real_data`` holding domain-B images; a Pix2Pix's input images, such as
    the edge maps of ``kg.data.load_paired``, with ``real_data`` holding
    real target images).

    With the default extractor, 28x28x1 data is compared in the zoo
    classifier's 128-d features (the Frechet classifier distance, FCD) and
    other shapes in InceptionV3 features (FID). Values depend on
    ``n_samples``: compare runs that use the same count. With no more images
    than feature dimensions (128 for the classifier, 2048 for InceptionV3) a
    covariance is singular and the value strongly biased: it warns once.

    Args:
        real_data: real images ``[n, h, w, c]`` (uint8 or float in [-1, 1]),
            an ``(images, labels)`` pair, a ``tf.data.Dataset`` of batches, or
            a dataset name for ``kg.data.load_numpy`` (its test split).
        every: int, compute every ``every`` epochs (and never in between).
        n_samples: int >= 2, generated images per evaluation, and the most
            real images used (a random subset, drawn with ``seed``).
        extractor: a ``kg.metrics.FeatureExtractor`` (for 28x28x1 images:
            ``kg.zoo.classifier_extractor()``), a ``keras.Model`` or a
            callable ``images -> features``; None means InceptionV3 for
            shapes other than 28x28x1.
        name: str, the log key.
        seed: int, seed of the latents (and of the real subset).
        batch_size: int, images per generator and extractor pass.
        inputs: CycleGAN and Pix2Pix: images in [-1, 1] to translate
            (domain A; a Pix2Pix's inputs). Refused for the families that sample.
        verbose: int, 1 prints the value after each evaluated epoch.

    Example:
        >>> import keras, keras_gans as kg
        >>> test = kg.data.load_numpy("fashion_mnist", split="test")[0]
        >>> gan = kg.models.DCGAN(latent_dim=32, width=16)
        >>> gan.compile()
        >>> gan.fit(kg.data.load("fashion_mnist"), epochs=20, callbacks=[
        ...     kg.metrics.FrechetCallback(test, n_samples=2000, extractor=kg.zoo.classifier_extractor()),
        ...     keras.callbacks.EarlyStopping(monitor="fcd", patience=3),
        ... ])  # doctest: +SKIP
    """

    def __init__(
        self,
        real_data,
        every=1,
        n_samples=2000,
        extractor=None,
        name="fcd",
        seed=0,
        batch_size=500,
        inputs=None,
        verbose=0,
    ):
        super().__init__()
        for key, value, low in (("every", every, 1), ("n_samples", n_samples, 2), ("batch_size", batch_size, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{key} must be an int >= {low}, got {value!r}.")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty str, got {name!r}.")
        self.real_data = real_data
        self.every = int(every)
        self.n_samples = int(n_samples)
        self.extractor = extractor
        self.name = name
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        self.inputs = inputs
        self.verbose = int(verbose)
        self.values = {}
        self._real_stats = None

    def _prepare(self):
        images = real_images(self.real_data, self.n_samples, seed=self.seed)
        if len(images) < 2:
            raise ValueError(f"real_data has {len(images)} image(s): the Frechet distance needs at least 2.")
        shape = tuple(getattr(self.model, "image_shape", images.shape[1:]))
        if tuple(images.shape[1:]) != shape:
            raise ValueError(
                f"real images have shape {tuple(images.shape[1:])} but the model makes {shape}: "
                "pass real data of the model's image shape."
            )
        kind = getattr(self.model, "data_kind", None)
        if kind == "unpaired" and self.inputs is None:
            raise ValueError(
                "FrechetCallback on a CycleGAN translates images: pass inputs=domain-A images "
                "and real_data=domain-B images."
            )
        if kind == "paired" and self.inputs is None:
            raise ValueError(
                "FrechetCallback on a Pix2Pix translates images: pass inputs=input images (e.g. edge "
                "maps from kg.data.load_paired) and real_data=real target images."
            )
        if kind not in ("unpaired", "paired") and self.inputs is not None:
            raise ValueError(
                f"FrechetCallback inputs are images to translate (CycleGAN, Pix2Pix); a "
                f"{getattr(self.model, 'family', type(self.model).__name__)} samples from noise: drop inputs."
            )
        self.extractor = as_extractor(self.extractor, shape)
        features = self.extractor(images, self.batch_size)
        self._real_stats = activation_statistics(features)
        n_fake = self.n_samples if self.inputs is None else min(self.n_samples, len(self.inputs))
        # Once per fit, not every epoch: the counts do not change.
        warn_if_singular(
            min(len(features), n_fake), features.shape[1],
            f"FrechetCallback {self.name!r}: {len(features)} real, {n_fake} generated", stacklevel=2,
        )

    def samples(self):
        """The images this callback scores: ``n_samples`` from the model."""
        model = self.model
        kind = getattr(model, "data_kind", None)
        if kind in ("unpaired", "paired"):
            inputs = as_model_images(self.inputs, "inputs")[: self.n_samples]
            if kind == "paired":
                return model.translate(inputs, batch_size=self.batch_size)
            return model.translate(inputs, direction="a2b", batch_size=self.batch_size)
        return model.generate(self.n_samples, seed=self.seed, batch_size=self.batch_size)

    def compute(self):
        """Return the Frechet distance of the model's current samples (python float)."""
        if self._real_stats is None:
            self._prepare()
        fake = self.extractor(self.samples(), self.batch_size)
        if len(fake) < 2:
            raise ValueError("the Frechet distance needs at least 2 generated images: pass more inputs.")
        return frechet_distance_from_statistics(*self._real_stats, *activation_statistics(fake))

    def on_train_begin(self, logs=None):
        if self._real_stats is None:
            self._prepare()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        value = self.compute()
        self.values[epoch] = value
        if logs is not None:
            logs[self.name] = value
        if self.verbose:
            print(f"epoch {epoch + 1}: {self.name} = {value:.4f}")
