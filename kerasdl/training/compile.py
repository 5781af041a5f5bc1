"""One helper to compile any model: optimizer by name, schedule, clipping, XLA."""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_float
from kerasdl.training.runtime import resolve_jit_compile
from kerasdl.training.schedules import make_schedule

# name -> (Keras optimizer class, extra constructor arguments)
OPTIMIZERS = {
    "sgd": (keras.optimizers.SGD, {}),
    "momentum": (keras.optimizers.SGD, {"momentum": 0.9}),
    "nesterov": (keras.optimizers.SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (keras.optimizers.Adagrad, {}),
    "rmsprop": (keras.optimizers.RMSprop, {}),
    "adam": (keras.optimizers.Adam, {}),
    "adamw": (keras.optimizers.AdamW, {}),
}


def make_optimizer(optimizer="adam", learning_rate=1e-3, *, clipnorm=None, clipvalue=None, **kwargs):
    """A Keras optimizer from a name in ``OPTIMIZERS`` (or an instance, returned unchanged).

    ``learning_rate`` may be a float or a ``LearningRateSchedule``. ``clipnorm`` rescales
    each gradient whose L2 norm exceeds it; ``clipvalue`` clips every element to
    ±clipvalue (the remedy for exploding gradients). ``kwargs`` go to the optimizer
    (e.g. ``momentum=0.95``).
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if clipnorm is not None or clipvalue is not None or kwargs:
            raise ValueError("clipnorm/clipvalue/optimizer arguments only apply to an optimizer given by name")
        return optimizer
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if clipnorm is not None:
        clipnorm = check_float("clipnorm", clipnorm, minimum=0.0, min_inclusive=False)
    if clipvalue is not None:
        clipvalue = check_float("clipvalue", clipvalue, minimum=0.0, min_inclusive=False)
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
    cls, defaults = OPTIMIZERS[optimizer]
    return cls(learning_rate=learning_rate, clipnorm=clipnorm, clipvalue=clipvalue, **{**defaults, **kwargs})


def compile_model(
    model,
    optimizer="adam",
    learning_rate=1e-3,
    loss="sparse_categorical_crossentropy",
    metrics=("accuracy",),
    *,
    schedule: str = "constant",
    decay_steps: int | None = None,
    clipnorm=None,
    clipvalue=None,
    jit_compile="auto",
    loss_weights=None,
    **optimizer_kwargs,
):
    """Compile ``model`` in one call and return it.

    Example::

        compile_model(model, "nesterov", 0.05, schedule="cosine", decay_steps=epochs * steps,
                      clipnorm=1.0, jit_compile="auto")
    """
    lr = make_schedule(schedule, learning_rate, decay_steps) if schedule != "constant" else learning_rate
    opt = make_optimizer(optimizer, lr, clipnorm=clipnorm, clipvalue=clipvalue, **optimizer_kwargs)
    model.compile(
        optimizer=opt,
        loss=loss,
        metrics=(dict(metrics) if isinstance(metrics, dict) else list(metrics)) if metrics else None,
        loss_weights=loss_weights,
        jit_compile=resolve_jit_compile(jit_compile),
    )
    return model


def loss_scaled(optimizer):
    """Wrap ``optimizer`` in Keras' ``LossScaleOptimizer`` when the global dtype policy is
    ``mixed_float16``; return it unchanged otherwise (float32 and bfloat16 need no scaling).

    ``Model.compile`` does this for the model's own optimizer; custom loops with optimizers
    of their own (the GAN's two) call it, and scale the loss inside the tape with
    ``optimizer.scale_loss(loss)`` — the identity for an unwrapped optimizer — before taking
    gradients. ``apply_gradients`` of the wrapper unscales them and skips non-finite steps.
    """
    if keras.mixed_precision.global_policy().name != "mixed_float16":
        return optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)
