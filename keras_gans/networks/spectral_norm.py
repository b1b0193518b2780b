"""Spectrally normalized layers (Miyato et al., 2018) with an explicit power iteration.

``SpectralConv2D`` and ``SpectralDense`` are ``Conv2D`` / ``Dense`` whose
kernel is divided by an estimate of its largest singular value ``sigma`` in
every call. The estimate comes from a persistent vector ``u`` (the top right
singular vector of the kernel reshaped to ``[k * k * c_in, c_out]``):
``sigma = ||W u||``. Unlike ``keras.layers.SpectralNormalization``, calls never
run the power iteration and never write into the kernel: ``power_iteration()``
moves ``u`` one step and is called by the GAN once per update of the network
(``kg.models.GAN`` does it after each discriminator step), however many times
the network is called in that step. ``u`` starts at the kernel's exact top
singular vector (an SVD when the layer is built), so the first steps are
already normalized.

``sigma`` is computed in float32 from the kernel the layer computes with (the
rounded one under ``mixed_bfloat16``), and its gradient is that of Miyato et
al.: ``u`` and ``v = W u / ||W u||`` are constants. Both layers use only
``MatMul``, ``Sqrt`` and the ops of the layer they extend, so networks built
with them save to ``.keras`` and export without custom ops.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

_EPSILON = 1e-12


def kernel_matrix(kernel):
    """A kernel as the ``[fan_in, c_out]`` matrix whose spectral norm is normalized.

    Args:
        kernel: tensor or array ``[..., c_out]`` (``[k, k, c_in, c_out]`` for a
            ``Conv2D``, ``[c_in, c_out]`` for a ``Dense``).

    Returns:
        Tensor/array of shape ``[prod(kernel.shape[:-1]), c_out]``.
    """
    if isinstance(kernel, np.ndarray):
        return kernel.reshape(-1, kernel.shape[-1])
    return ops.reshape(kernel, (-1, kernel.shape[-1]))


class _SpectralMixin:
    """What both spectral layers share: the ``u`` vector, ``sigma`` and the power iteration."""

    def _build_spectral(self):
        c_out = int(self.kernel.shape[-1])
        # ONLY_FIRST_REPLICA: every replica computes the same u from the same
        # (mirrored) kernel, so the first one's write is the value.
        self.u = self.add_weight(
            shape=(c_out,), initializer="zeros", trainable=False, name="sn_u",
            autocast=False, aggregation="only_first_replica",
        )
        self.power_iterations = self.add_weight(
            shape=(), initializer="zeros", dtype="int64", trainable=False,
            name="sn_power_iterations", aggregation="only_first_replica",
        )
        if tf.executing_eagerly():
            w = kernel_matrix(np.asarray(keras.ops.convert_to_numpy(self.kernel.value), "float64"))
            top = np.linalg.svd(w, full_matrices=False)[2][0]
            self.u.assign(top.astype("float32"))
        else:  # built inside a trace: start from a fixed unit vector
            self.u.assign(np.full((c_out,), 1.0 / np.sqrt(c_out), "float32"))

    # Conv2D and Dense save only their kernel and bias (keys "0", "1"); u and
    # the iteration count are saved beside them, so a resumed run continues
    # the same power iteration.
    def save_own_variables(self, store):
        if not self.built:
            return
        store["0"] = self._kernel
        if self.use_bias:
            store["1"] = self.bias
        store["sn_u"] = self.u
        store["sn_power_iterations"] = self.power_iterations

    def load_own_variables(self, store):
        if not self.built:
            return
        expected = {"0", "sn_u", "sn_power_iterations"} | ({"1"} if self.use_bias else set())
        if set(store.keys()) != expected:
            raise ValueError(
                f"layer {self.name!r} expects saved variables {sorted(expected)}, got "
                f"{sorted(store.keys())}: the file was not written by this layer's configuration."
            )
        self._kernel.assign(store["0"])
        if self.use_bias:
            self.bias.assign(store["1"])
        self.u.assign(store["sn_u"])
        self.power_iterations.assign(store["sn_power_iterations"])

    def power_iteration(self):
        """Move ``u`` one power-iteration step on the current kernel (float32).

        ``v = normalize(W u)``, ``u = normalize(W^T v)``. Call it once per
        optimizer update of the layer's kernel; ``power_iterations`` counts
        the calls that ran.
        """
        w = kernel_matrix(ops.cast(self.kernel.value, "float32"))
        u = ops.convert_to_tensor(self.u.value)
        v = _normalize(ops.matmul(w, u[:, None]))
        u_new = _normalize(ops.matmul(ops.transpose(w), v))[:, 0]
        self.u.assign(u_new)
        self.power_iterations.assign_add(ops.cast(1, "int64"))

    def sigma(self, kernel=None):
        """The spectral-norm estimate ``||W u||`` in float32 (gradient through ``W`` only)."""
        kernel = self.kernel if kernel is None else kernel
        w = kernel_matrix(ops.cast(kernel, "float32"))
        u = ops.stop_gradient(ops.convert_to_tensor(self.u.value))
        wu = ops.matmul(w, u[:, None])
        v = ops.stop_gradient(_normalize(wu))
        return ops.sum(v * wu)

    def normalized_kernel(self):
        """The kernel divided by ``sigma``, in the layer's compute dtype."""
        kernel = self.kernel
        scaled = ops.cast(kernel, "float32") / ops.maximum(self.sigma(kernel), _EPSILON)
        return ops.cast(scaled, self.compute_dtype)


def _normalize(x):
    return x / ops.maximum(ops.sqrt(ops.sum(ops.square(x))), _EPSILON)


@keras.saving.register_keras_serializable(package="keras_gans")
class SpectralConv2D(_SpectralMixin, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` with a spectrally normalized kernel.

    Takes the arguments of ``Conv2D``. See the module docstring for how
    ``sigma`` is estimated and when ``u`` moves.

    Example:
        >>> import numpy as np
        >>> layer = SpectralConv2D(8, 3, padding="same")
        >>> y = layer(np.zeros((1, 8, 8, 3), "float32"))
        >>> w = layer.normalized_kernel().numpy().reshape(-1, 8)
        >>> round(float(np.linalg.svd(w, compute_uv=False)[0]), 4)
        1.0
    """

    def build(self, input_shape):
        super().build(input_shape)
        self._build_spectral()

    def call(self, inputs):
        outputs = ops.conv(
            inputs,
            self.normalized_kernel(),
            strides=list(self.strides),
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )
        if self.use_bias:
            bias_shape = (1, 1, 1, self.filters) if self.data_format == "channels_last" else (1, self.filters, 1, 1)
            outputs = ops.add(outputs, ops.reshape(self.bias, bias_shape))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


@keras.saving.register_keras_serializable(package="keras_gans")
class SpectralDense(_SpectralMixin, keras.layers.Dense):
    """``keras.layers.Dense`` with a spectrally normalized kernel.

    Takes the arguments of ``Dense`` (no LoRA, no quantization).

    Example:
        >>> import numpy as np
        >>> layer = SpectralDense(4)
        >>> y = layer(np.ones((2, 6), "float32"))
        >>> round(float(np.linalg.svd(layer.normalized_kernel().numpy(), compute_uv=False)[0]), 4)
        1.0
    """

    def build(self, input_shape):
        super().build(input_shape)
        self._build_spectral()

    def call(self, inputs, training=None):
        outputs = ops.matmul(inputs, self.normalized_kernel())
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def spectral_layers(model):
    """Every ``SpectralConv2D`` / ``SpectralDense`` inside ``model`` (nested models included)."""
    found, stack, seen = [], [model], set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, _SpectralMixin):
            found.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return sorted(found, key=lambda layer: layer.name)
