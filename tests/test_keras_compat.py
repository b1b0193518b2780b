"""The private Keras hooks keras-gans relies on, checked on the installed Keras.

setup.cfg pins TensorFlow and Keras to the minor versions CI installs and runs
the suite against. These hooks are not public API, so a release that renames
or changes one must fail here, by name, rather than deep inside a fit.
"""

import inspect

import keras
import pytest


@pytest.mark.parametrize(
    "name, params",
    [
        ("_maybe_symbolic_build", ("iterator", "data_batch")),  # GAN skips it under MultiWorker
        ("_make_function", ("step_function",)),  # GAN.make_train_function wraps its step
    ],
)
def test_private_model_hooks_exist(name, params):
    method = getattr(keras.Model, name, None)
    assert method is not None, f"keras.Model.{name} is gone in Keras {keras.__version__}"
    assert tuple(inspect.signature(method).parameters)[1:] == params


def test_initial_epoch_attribute_is_read_by_fit():
    # kg.callbacks.GANBackupAndRestore resumes by setting model._initial_epoch,
    # as keras.callbacks.BackupAndRestore does.
    from keras.src.backend.tensorflow import trainer

    assert "self._initial_epoch or initial_epoch" in inspect.getsource(trainer.TensorFlowTrainer.fit)
    assert keras.Sequential()._initial_epoch is None


def test_optimizer_keeps_its_schedule_in_learning_rate_attribute():
    # kg.trainer.set_learning_rate reads the schedule from optimizer._learning_rate.
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    assert keras.optimizers.Adam(schedule)._learning_rate is schedule


def test_metrics_list_carries_the_direction_mode_auto_reads():
    # kg.models.callback_view hands EarlyStopping / ModelCheckpoint a GAN's
    # metrics in Keras' private MetricsList, where mode="auto" looks them up.
    from keras.src.trainers.compile_utils import MetricsList

    metric = keras.metrics.Mean(name="g_loss")
    assert MetricsList([metric], name="gan_metrics").metrics == [metric]
