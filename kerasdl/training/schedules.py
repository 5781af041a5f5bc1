"""Learning-rate schedules: Keras' own, plus the one-cycle and hold-then-cooldown policies Keras
does not ship."""

from __future__ import annotations

import math

import keras

from kerasdl._validation import check_choice, check_float, check_int

SCHEDULES = ("constant", "exponential", "cosine", "one_cycle", "linear_cooldown")


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


@keras.saving.register_keras_serializable(package="kerasdl")
class LinearCooldown(keras.optimizers.schedules.LearningRateSchedule):
    """Hold the learning rate, then decay it linearly: the "constant + cooldown" schedule.

    ``learning_rate`` for the first ``hold_fraction`` of ``total_steps``, then a straight line
    down to ``final_fraction · learning_rate`` at ``total_steps`` (held there after). Zhai et al.
    2022 ("Scaling Vision Transformers") and Hägele et al. 2024 ("Scaling Laws and
    Compute-Optimal Training Beyond Fixed Training Durations") show the cooldown recovers what
    cosine annealing gives while keeping the high rate longer. Written here because Keras'
    ``PolynomialDecay`` decays from step 0 and its schedules do not compose.
    """

    def __init__(self, learning_rate, total_steps, hold_fraction=0.5, final_fraction=0.05, name="linear_cooldown"):
        super().__init__()
        self.learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
        self.total_steps = check_int("total_steps", total_steps, minimum=1)
        self.hold_fraction = check_float("hold_fraction", hold_fraction, minimum=0.0, maximum=1.0, max_inclusive=False)
        self.final_fraction = check_float("final_fraction", final_fraction, minimum=0.0, maximum=1.0)
        self.name = name

    def __call__(self, step):
        from keras import ops

        hold_steps = self.hold_fraction * self.total_steps
        progress = ops.clip((ops.cast(step, "float32") - hold_steps) / (self.total_steps - hold_steps), 0.0, 1.0)
        return self.learning_rate * (1.0 - (1.0 - self.final_fraction) * progress)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "hold_fraction": self.hold_fraction,
            "final_fraction": self.final_fraction,
            "name": self.name,
        }


def make_schedule(name: str, learning_rate: float, decay_steps: int | None = None, decay_rate: float = 0.96, **kwargs):
    """A learning-rate schedule by name.

    - ``"constant"``: returns ``learning_rate`` itself.
    - ``"exponential"``: ``lr · decay_rate^(step / decay_steps)`` (Keras ``ExponentialDecay``).
    - ``"cosine"``: cosine annealing to 0 over ``decay_steps`` (Keras ``CosineDecay``).
    - ``"one_cycle"``: :class:`OneCycle` peaking at ``learning_rate`` over ``decay_steps``.
    - ``"linear_cooldown"``: :class:`LinearCooldown`, ``learning_rate`` for the first half of
      ``decay_steps``, then linear down to 5% of it.
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
    if name == "linear_cooldown":
        return LinearCooldown(learning_rate, decay_steps, **kwargs)
    return OneCycle(learning_rate, total_steps=max(2, decay_steps), **kwargs)
