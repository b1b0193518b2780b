"""How stock Keras callbacks see a GAN: all its optimizers, and its metrics' direction.

A GAN has two (or four) optimizers and no ``model.optimizer``; callbacks
such as ``ReduceLROnPlateau`` read that attribute, and ``mode="auto"`` looks
a metric's direction up in a ``MetricsList``. ``GAN.fit`` hands these
callbacks a ``GANView`` of the model instead of the model itself.
"""

import keras


class OptimizerGroup:
    """What a stock callback reads as ``model.optimizer``: all of a GAN's optimizers.

    ``ReduceLROnPlateau``, ``LearningRateScheduler`` and ``SwapEMAWeights``
    act on each of ``optimizers`` when the model's optimizer has that
    attribute (Keras' multi-optimizer protocol).
    """

    name = "gan_optimizers"

    def __init__(self, gan):
        self.optimizers = [getattr(o, "inner_optimizer", o) for o in gan.optimizers().values()]
        self.iterations = gan.g_optimizer.iterations


class GANView:
    """A GAN as a stock Keras callback expects a model to look.

    Everything is the GAN's, except ``optimizer`` (an ``OptimizerGroup``)
    and ``metrics``: the GAN's metrics in one ``MetricsList``, the container
    where Keras' ``mode="auto"`` looks up a metric's direction.
    """

    def __init__(self, gan):
        object.__setattr__(self, "_gan", gan)
        object.__setattr__(self, "optimizer", OptimizerGroup(gan))
        object.__setattr__(self, "metrics", [metrics_list(gan.metrics)])

    def __getattr__(self, name):
        return getattr(self._gan, name)

    def __setattr__(self, name, value):
        setattr(self._gan, name, value)


def metrics_list(metrics):
    from keras.src.trainers.compile_utils import MetricsList

    return MetricsList(list(metrics), name="gan_metrics")


#: stock callbacks that see a GAN through ``GANView``.
VIEW_CALLBACKS = (
    keras.callbacks.ReduceLROnPlateau,
    keras.callbacks.LearningRateScheduler,
    keras.callbacks.SwapEMAWeights,
    keras.callbacks.EarlyStopping,
    keras.callbacks.ModelCheckpoint,
)
