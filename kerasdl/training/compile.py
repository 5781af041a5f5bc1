"""How kerasdl compiles models: :func:`compile_model` for plain models, one contract for custom ones.

**Plain models** (functional/Sequential classifiers, detectors, segmenters):
:func:`compile_model` — optimizer by name, schedule, clipping, loss, metrics, XLA.

**Custom ``train_step`` models** — :class:`~kerasdl.generative.vae.VAE`,
:class:`~kerasdl.generative.autoencoder.DenoisingAutoencoder`,
:class:`~kerasdl.verification.siamese.SiameseModel`,
:class:`~kerasdl.training.adversarial.AdversarialModel` and
:class:`~kerasdl.generative.gan.GAN` / ``ConditionalGAN`` — all compile the same way::

    model.compile(optimizer="adam", learning_rate=None, *, jit_compile="auto", **keras_kwargs)
    gan.compile(d_optimizer="adam", g_optimizer="adam", d_learning_rate=None, g_learning_rate=None,
                beta_1=0.5, *, jit_compile="auto", **keras_kwargs)

- one optimizer per trained network (the GAN trains two, hence its ``d_``/``g_`` pair):
  a ``keras.optimizers.Optimizer`` instance, used as it is, or a name of :data:`OPTIMIZERS`
  built with ``learning_rate`` (``None``: the model's default, 1e-3, or 2e-4 for the GAN
  as in DCGAN). A learning rate given together with an instance is a ``ValueError``:
  the instance has its own, and a silently ignored argument hides mistakes such as
  ``compile(optimizer, loss)`` written in Keras' argument order;
- ``jit_compile``: ``"auto"`` (XLA on with a GPU, off on CPU), ``True`` or ``False``,
  resolved by :func:`kerasdl.training.runtime.resolve_jit_compile` like every other entry
  point of kerasdl (Keras' own ``"auto"``, which turns XLA on on CPU too, is not used);
- ``keras_kwargs`` go to ``keras.Model.compile`` unchanged: ``loss`` and ``metrics`` for
  :class:`AdversarialModel` (whose ``train_step`` uses Keras' ``compute_loss``),
  ``steps_per_execution``, ``run_eagerly``...;
- the optimizer's slots are created at compile time (under the caller's strategy scope),
  so a checkpoint can be restored into them before the first step.

Under ``mixed_float16`` the optimizer is wrapped for loss scaling (by Keras'
``compile`` for one optimizer, by :func:`loss_scaled` for the GAN's two).
"""

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


def optimizer_for(
    optimizer,
    learning_rate,
    default_learning_rate: float,
    *,
    names: tuple[str, str] = ("optimizer", "learning_rate"),
    **optimizer_kwargs,
):
    """The optimizer of one trained network under the custom-model contract (module docstring).

    ``optimizer``: an instance (returned unchanged; ``learning_rate`` must then be ``None``)
    or a name of :data:`OPTIMIZERS`, built with ``learning_rate`` (``None`` →
    ``default_learning_rate``) and ``optimizer_kwargs``. ``names``: the argument names the
    caller exposes (``("d_optimizer", "d_learning_rate")`` for a GAN), used in errors.
    """
    optimizer_name, rate_name = names
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError(
                f"{rate_name} applies only to an optimizer given by name; {optimizer_name} is a "
                f"{type(optimizer).__name__} instance with its own learning rate, got {rate_name}={learning_rate!r} "
                "(Keras' loss and metrics go by keyword: compile(optimizer, loss=..., metrics=...))"
            )
        return optimizer
    if not isinstance(optimizer, str):
        raise ValueError(
            f"{optimizer_name} must be a keras.optimizers.Optimizer or one of {list(OPTIMIZERS)!r}, got {optimizer!r}"
        )
    check_choice(optimizer_name, optimizer, OPTIMIZERS)
    rate = default_learning_rate if learning_rate is None else learning_rate
    if not isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        rate = check_float(rate_name, rate, minimum=0.0, min_inclusive=False)
    return make_optimizer(optimizer, rate, **optimizer_kwargs)


class CustomModelCompile:
    """Mixin (before ``keras.Model``) giving a one-optimizer custom ``train_step`` model the
    contract of the module docstring: ``compile(optimizer="adam", learning_rate=None, *,
    jit_compile="auto", **keras_kwargs)``.

    A model sets ``default_learning_rate`` and, when it trains something other than all of
    its ``trainable_variables``, overrides :meth:`trained_variables` — which its
    ``train_step`` differentiates too, so the optimizer is built for exactly those.
    """

    default_learning_rate = 1e-3

    def compile(self, optimizer="adam", learning_rate=None, *, jit_compile="auto", **kwargs):
        """See :mod:`kerasdl.training.compile`."""
        from kerasdl._backend import require_tensorflow

        require_tensorflow("kerasdl's custom train_step models (tf.GradientTape)")
        optimizer = optimizer_for(optimizer, learning_rate, self.default_learning_rate)
        super().compile(optimizer=optimizer, jit_compile=resolve_jit_compile(jit_compile), **kwargs)
        variables = self.trained_variables()
        if variables:  # an unbuilt network has none yet; Keras then builds at the first step
            self.optimizer.build(variables)

    def trained_variables(self) -> list:
        """The variables ``train_step`` updates (default: all trainable variables)."""
        return list(self.trainable_variables)
