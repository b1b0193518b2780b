"""LinearDecay: the CycleGAN learning-rate schedule."""

import keras
import numpy as np
import pytest

from keras_gans.models import LinearDecay


def test_linear_decay_is_constant_then_linear_to_zero():
    schedule = LinearDecay(1e-3, total_steps=100, decay_start=40)
    steps = [0, 20, 40, 55, 70, 99, 100, 150]
    values = [float(schedule(s)) for s in steps]
    expected = [1e-3, 1e-3, 1e-3, 0.75e-3, 0.5e-3, 1e-3 / 60, 0.0, 0.0]
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-12)
    # Default: decay over the second half, as in the paper.
    half = LinearDecay(2e-4, total_steps=10)
    assert half.decay_start == 5
    np.testing.assert_allclose([float(half(s)) for s in (5, 6, 10)], [2e-4, 1.6e-4, 0.0], rtol=1e-5)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(clone, LinearDecay) and clone.get_config() == schedule.get_config()


@pytest.mark.parametrize(
    "args, message",
    [
        ((0.0, 10), "initial_learning_rate"),
        ((1e-3, 0), "total_steps"),
        ((1e-3, 10, 11), "decay_start"),
        ((1e-3, 10, -1), "decay_start"),
    ],
)
def test_linear_decay_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        LinearDecay(*args)


def test_an_optimizer_follows_the_schedule_by_its_step_count():
    opt = keras.optimizers.Adam(LinearDecay(1e-3, total_steps=4, decay_start=2))
    rates = []
    for step in range(6):
        opt.iterations.assign(step)
        rates.append(float(opt.learning_rate))
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 1e-3, 0.5e-3, 0.0, 0.0], rtol=1e-6, atol=1e-12)


def test_check_schedules_refuses_an_ended_decay():
    from keras_gans.models.linear_decay import check_schedules

    decayed = keras.optimizers.Adam(LinearDecay(1e-3, total_steps=10))
    constant = keras.optimizers.Adam(1e-3)
    wrapped = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(LinearDecay(1e-3, 5)))
    for opt in (decayed, constant, wrapped.inner_optimizer):
        opt.build([keras.Variable(np.zeros(2, "float32"))])
    opts = {"g_optimizer": decayed, "d_optimizer": constant, "d_a_optimizer": wrapped}
    check_schedules(opts)  # step 0 everywhere
    decayed.iterations.assign(9)  # the last step with a rate above 0
    check_schedules(opts)
    wrapped.inner_optimizer.iterations.assign(5)
    with pytest.raises(ValueError, match=r"^d_a_optimizer is at step 5 but its LinearDecay schedule "
                                         r"reached learning rate 0 at step 5 .*decay_steps"):
        check_schedules(opts)
    constant.iterations.assign(10**6)  # a float rate never ends
    check_schedules({"d_optimizer": constant})
