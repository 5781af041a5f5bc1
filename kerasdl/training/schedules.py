"""Learning-rate schedules: Keras' own, plus the one-cycle policy Keras does not ship."""

from __future__ import annotations

import math

import keras

from kerasdl._validation import check_choice, check_float, check_int

SCHEDULES = ("constant", "exponential", "cosine", "one_cycle")


@keras.saving.register_keras_serializable(package="kerasdl")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle policy (Smith & Topin 2018, "Super-Convergence").

    Cosine warm-up from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of ``total_steps``, then cosine annealing down to
    ``max_lr / (div_factor * final_div_factor)``. Written here because Keras has no
    one-cycle schedule (its ``CosineDecay`` warm-up is linear and ends at the peak).
    """

    def __init__(self, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4, name="one_cycle"):
        super().__init__()
        self.max_lr = check_float("max_lr", max_lr, minimum=0.0, min_inclusive=False)
        self.total_steps = check_int("total_steps", total_steps, minimum=2)
        self.pct_start = check_float(
            "pct_start", pct_start, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False
        )
        self.div_factor = check_float("div_factor", div_factor, minimum=1.0)
        self.final_div_factor = check_float("final_div_factor", final_div_factor, minimum=1.0)
        self.name = name

    def __call__(self, step):
        from keras import ops

        step = ops.cast(step, "float32")
        warmup_steps = max(1.0, self.pct_start * self.total_steps)
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor

        def cosine(start, end, fraction):
            fraction = ops.clip(fraction, 0.0, 1.0)
            return end + (start - end) * 0.5 * (1.0 + ops.cos(math.pi * fraction))

        up = cosine(initial, self.max_lr, step / warmup_steps)
        down = cosine(self.max_lr, final, (step - warmup_steps) / max(1.0, self.total_steps - warmup_steps))
        return ops.where(step < warmup_steps, up, down)

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "name": self.name,
        }


def make_schedule(name: str, learning_rate: float, decay_steps: int | None = None, decay_rate: float = 0.96, **kwargs):
    """A learning-rate schedule by name.

    - ``"constant"``: returns ``learning_rate`` itself.
    - ``"exponential"``: ``lr · decay_rate^(step / decay_steps)`` (Keras ``ExponentialDecay``).
    - ``"cosine"``: cosine annealing to 0 over ``decay_steps`` (Keras ``CosineDecay``).
    - ``"one_cycle"``: :class:`OneCycle` peaking at ``learning_rate`` over ``decay_steps``.
    """
    check_choice("schedule", name, SCHEDULES)
    learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
    if name == "constant":
        return learning_rate
    if decay_steps is None:
        raise ValueError(f"decay_steps is required for the {name!r} schedule (usually epochs * steps_per_epoch)")
    decay_steps = check_int("decay_steps", decay_steps, minimum=1)
    if name == "exponential":
        check_float("decay_rate", decay_rate, minimum=0.0, maximum=1.0, min_inclusive=False)
        return keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps, decay_rate, **kwargs)
    if name == "cosine":
        return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, **kwargs)
    return OneCycle(learning_rate, total_steps=max(2, decay_steps), **kwargs)
