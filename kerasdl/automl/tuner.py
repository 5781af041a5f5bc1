"""Hyperparameter search over any kerasdl builder with KerasTuner (``keras-tuner``).

:func:`make_hypermodel` turns a builder (a name in :data:`kerasdl.models.BUILDERS` or a
function taking ``input_shape`` and ``num_classes``) into a KerasTuner hypermodel
``build(hp) → compiled model`` that samples

* ``learning_rate`` on a log scale (the seeds: "search parameters on an appropriate
  scale … use a logarithmic scale" — 1e-4…1e-2 gives each decade equal weight);
* ``units`` — the width of every hidden layer, when the builder has ``hidden_units``;
* ``dropout`` — when the builder has a ``dropout`` argument.

:func:`tune` runs ``keras_tuner.RandomSearch`` or ``keras_tuner.Hyperband`` on arrays and
returns the tuner, the best hyperparameters and the best model.
"""

from __future__ import annotations

import inspect

from kerasdl._validation import check_choice, check_float, check_int

TUNERS = ("random", "hyperband")


def _resolve_builder(builder):
    if callable(builder):
        return builder, getattr(builder, "__name__", "model")
    from kerasdl.models import BUILDERS

    check_choice("builder", builder, BUILDERS)
    return BUILDERS[builder], builder


def make_hypermodel(
    builder,
    input_shape,
    num_classes: int,
    *,
    learning_rate=(1e-4, 1e-2),
    units=(32, 256, 32),
    dropout=(0.0, 0.5, 0.1),
    optimizer: str = "adam",
    **builder_kwargs,
):
    """A hypermodel function ``build(hp)`` for ``keras_tuner`` (see the module docstring).

    ``learning_rate`` = (min, max), sampled log-uniformly; ``units`` = (min, max, step);
    ``dropout`` = (min, max, step); pass ``None`` to leave one fixed. ``units`` applies to
    builders with ``hidden_units`` (same width, as many layers as the builder's default),
    ``dropout`` to builders with ``dropout``. Other ``builder_kwargs`` are passed through.
    """
    from kerasdl.training import compile_model

    build_fn, name = _resolve_builder(builder)
    accepted = inspect.signature(build_fn).parameters
    lr_min, lr_max = learning_rate
    check_float("learning_rate[0]", lr_min, minimum=0.0, min_inclusive=False)
    check_float("learning_rate[1]", lr_max, minimum=lr_min, min_inclusive=False)
    if units is not None and "hidden_units" in accepted:
        depth = len(builder_kwargs.pop("hidden_units", accepted["hidden_units"].default))
        units_min, units_max, units_step = (check_int(f"units[{i}]", v, minimum=1) for i, v in enumerate(units))
    else:
        depth = 0
    if dropout is not None and "dropout" in accepted:
        drop_min, drop_max, drop_step = (
            check_float(f"dropout[{i}]", v, minimum=0.0, maximum=1.0) for i, v in enumerate(dropout)
        )
        if drop_max >= 1.0:
            raise ValueError(f"dropout maximum must be < 1, got {drop_max}")
    else:
        dropout = None

    def build(hp):
        kwargs = dict(builder_kwargs)
        if depth:
            kwargs["hidden_units"] = (hp.Int("units", units_min, units_max, step=units_step),) * depth
        if dropout is not None:
            kwargs["dropout"] = hp.Float("dropout", drop_min, drop_max, step=drop_step)
        lr = hp.Float("learning_rate", lr_min, lr_max, sampling="log")
        model = build_fn(input_shape=input_shape, num_classes=num_classes, **kwargs)
        return compile_model(model, optimizer, lr, jit_compile=False)

    build.__name__ = f"{name}_hypermodel"
    return build


def tune(
    builder,
    x,
    y,
    *,
    validation_data,
    input_shape=None,
    num_classes=None,
    tuner: str = "random",
    max_trials: int = 10,
    max_epochs: int = 10,
    epochs: int = 5,
    batch_size: int = 64,
    directory,
    project_name: str = "kerasdl_tuning",
    overwrite: bool = True,
    seed: int = 0,
    verbose: int = 0,
    **hypermodel_kwargs,
):
    """Search ``builder``'s hyperparameters on ``(x, y)``, selecting on ``val_accuracy``.

    ``tuner="random"``: ``keras_tuner.RandomSearch`` with ``max_trials`` trials of ``epochs``
    epochs. ``tuner="hyperband"``: ``keras_tuner.Hyperband`` up to ``max_epochs`` per model
    (successive halving, Li et al. 2018). Returns ``(tuner, best_hyperparameters dict, best_model)``.
    """
    import keras_tuner
    import numpy as np

    check_choice("tuner", tuner, TUNERS)
    check_int("max_trials", max_trials, minimum=1)
    check_int("max_epochs", max_epochs, minimum=1)
    check_int("epochs", epochs, minimum=1)
    input_shape = tuple(input_shape) if input_shape is not None else tuple(np.shape(x)[1:])
    num_classes = num_classes if num_classes is not None else int(np.max(y)) + 1
    hypermodel = make_hypermodel(builder, input_shape, num_classes, **hypermodel_kwargs)
    common = {
        "objective": "val_accuracy",
        "directory": str(directory),
        "project_name": project_name,
        "overwrite": overwrite,
        "seed": seed,
    }
    if tuner == "random":
        search = keras_tuner.RandomSearch(hypermodel, max_trials=max_trials, **common)
        fit_epochs = epochs
    else:
        search = keras_tuner.Hyperband(hypermodel, max_epochs=max_epochs, factor=3, **common)
        fit_epochs = max_epochs
    search.search(x, y, validation_data=validation_data, epochs=fit_epochs, batch_size=batch_size, verbose=verbose)
    best_hp = search.get_best_hyperparameters(1)[0]
    return search, dict(best_hp.values), search.get_best_models(1)[0]
