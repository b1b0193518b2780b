"""A learning-rate schedule: constant, then a straight line down to 0."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_gans")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate held constant, then decayed linearly to 0 (CycleGAN's schedule).

    ``lr(step) = initial_learning_rate`` for ``step <= decay_start``, then
    falls on a straight line to exactly 0 at ``step = total_steps`` and stays
    0 after. The paper trains 100 epochs at 2e-4 and decays over 100 more,
    i.e. ``decay_start = total_steps // 2`` (the default).

    Args:
        initial_learning_rate: float > 0.
        total_steps: int >= 1, the optimizer step at which the rate reaches 0
            (the number of batches the whole training run takes).
        decay_start: int in ``[0, total_steps]``, the last step at the full
            rate; None for ``total_steps // 2``.
        name: str.

    Example:
        >>> from keras_gans.models import LinearDecay
        >>> schedule = LinearDecay(2e-4, total_steps=1000)
        >>> [round(float(schedule(s)), 6) for s in (0, 500, 750, 1000)]
        [0.0002, 0.0002, 0.0001, 0.0]
    """

    def __init__(self, initial_learning_rate, total_steps, decay_start=None, name="linear_decay"):
        super().__init__()
        if isinstance(initial_learning_rate, bool) or not float(initial_learning_rate) > 0:
            raise ValueError(
                f"initial_learning_rate must be > 0, got {initial_learning_rate!r}."
            )
        if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)) or total_steps < 1:
            raise ValueError(f"total_steps must be a positive int, got {total_steps!r}.")
        if decay_start is None:
            decay_start = int(total_steps) // 2
        if (
            isinstance(decay_start, bool)
            or not isinstance(decay_start, (int, np.integer))
            or not 0 <= decay_start <= total_steps
        ):
            raise ValueError(
                f"decay_start must be an int in [0, total_steps={total_steps}], got {decay_start!r}."
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start = int(decay_start)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        span = float(max(self.total_steps - self.decay_start, 1))
        done = ops.clip((step - float(self.decay_start)) / span, 0.0, 1.0)
        return self.initial_learning_rate * (1.0 - done)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "total_steps": self.total_steps,
            "decay_start": self.decay_start,
            "name": self.name,
        }


def check_schedules(optimizers):
    """Refuse to train on when a ``LinearDecay`` schedule has already reached 0.

    A run whose optimizers are at or past their schedule's ``total_steps``
    (a finished run resumed with more epochs, say) would take every further
    step at learning rate 0: weights and moments would not move, and nothing
    would say so.

    Args:
        optimizers: dict ``{name: optimizer}`` (``gan.optimizers()``);
            ``LossScaleOptimizer`` wrappers are looked through, and optimizers
            with a float rate or another schedule are not checked.

    Raises:
        ValueError: one line naming the optimizer, its step, the schedule's
            end and the fix.

    Example:
        >>> import keras
        >>> opt = keras.optimizers.Adam(LinearDecay(2e-4, total_steps=10))
        >>> check_schedules({"g_optimizer": opt})  # at step 0: nothing to say
    """
    for name, opt in optimizers.items():
        inner = getattr(opt, "inner_optimizer", opt)  # LossScaleOptimizer
        schedule = getattr(inner, "_learning_rate", None)
        if not isinstance(schedule, LinearDecay):
            continue
        step = int(keras.ops.convert_to_numpy(inner.iterations))
        if step >= schedule.total_steps:
            raise ValueError(
                f"{name} is at step {step} but its LinearDecay schedule reached learning rate 0 at "
                f"step {schedule.total_steps} (the run's decay_steps), so every further step would "
                "train at learning rate 0: to train longer, start a new run whose decay_steps covers "
                "all its steps (keras-gans train --config decay_steps=N), or compile fresh optimizers "
                "(gan.compile()) to fine-tune these weights."
            )
