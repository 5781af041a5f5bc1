"""Gradient checking: automatic gradients against central differences, in float64.

The seed notes (001_95a778d327d97535.txt, "Gradient checking"): approximate the derivatives
of the weights on a sample and check that the code computes them correctly. For an
objective ``J`` and each checked coordinate ``θ_j`` of a variable::

    g_approx_j = (J(θ + ε e_j) − J(θ − ε e_j)) / (2ε)          (error O(ε²))

against ``g`` from ``tf.GradientTape``, and per variable the relative error over the checked
coordinates::

    rel = ‖g_approx − g‖ / (‖g_approx‖ + ‖g‖)                  (0 when both are 0)

Verdicts (Ng's rule of thumb from the same course: about 1e-7 great, 1e-5 look again,
1e-3 worry): ``"fine"`` for ``rel <= 1e-7``, ``"look"`` up to ``1e-3`` (kinks such as ReLU
or max crossing inside ±ε, or float32 somewhere in the computation, can land here; a
value near 1e-5 or above deserves a look), ``"wrong"`` above ``1e-3``.

Only float64 makes this meaningful: with ``ε = 1e-6`` a float32 objective's rounding error
(about 1e-7 relative) divided by ``2ε`` swamps the difference. The checks refuse float32
variables; build the model after ``keras.config.set_floatx("float64")`` and
``keras.config.set_dtype_policy("float64")`` (a global policy, once read, is pinned and
outranks floatx), or with ``dtype="float64"``. Code that casts to float32 internally on purpose (kerasdl's losses and
penalties do, so that mixed-precision tensors reach them in float32) can be checked for its
*maths* inside :func:`float64_arithmetic`.

Dropout, noise and batch normalisation in training mode make the objective random or
dependent on the whole batch's statistics, so a finite difference does not estimate the
tape's gradient. :func:`gradient_check` therefore calls the model with ``training=False``
(dropout and noise off, batch norm on its moving statistics) and **says so** in the report's
notes; ``training=True`` on a model with such layers is refused with a ``ValueError``.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import kerasdl  # noqa: F401  (sets KERAS_BACKEND=tensorflow before keras is imported)
import keras
import numpy as np

from kerasdl._validation import check_float, check_int

__all__ = [
    "FINE",
    "WRONG",
    "VariableCheck",
    "GradientCheckReport",
    "check_gradients",
    "gradient_check",
    "float64_arithmetic",
    "training_dependent_layers",
    "verdict",
]

FINE = 1e-7  # relative error at or below: "fine"
WRONG = 1e-3  # relative error above: "wrong"; between: "look"


def verdict(relative_error: float, *, fine: float = FINE, wrong: float = WRONG) -> str:
    """``"fine"`` (``<= fine``), ``"look"`` (``<= wrong``) or ``"wrong"`` (above, or NaN)."""
    if not math.isfinite(relative_error) or relative_error > wrong:
        return "wrong"
    return "fine" if relative_error <= fine else "look"


@dataclass
class VariableCheck:
    """One variable's row: its name (Keras path), shape, how many of its ``size`` coordinates
    were checked, the norms of the two gradients on them, ``max |g_approx − g|``, the
    relative error and the verdict."""

    name: str
    shape: tuple
    size: int
    checked: int
    gradient_norm: float
    approx_norm: float
    max_abs_error: float
    relative_error: float
    verdict: str


@dataclass
class GradientCheckReport:
    """Per-variable rows and the overall verdict (the worst row's). ``str(report)`` is a table.

    ``notes`` say what the check did beyond the formula (inference mode, sampling, float64
    arithmetic); ``wrong`` / ``look`` list the names of the variables with that verdict.
    """

    rows: list
    epsilon: float
    objective: float
    fine: float = FINE
    wrong_above: float = WRONG
    notes: list = field(default_factory=list)

    @property
    def worst_relative_error(self) -> float:
        return max((r.relative_error for r in self.rows), default=0.0)

    @property
    def verdict(self) -> str:
        return verdict(self.worst_relative_error, fine=self.fine, wrong=self.wrong_above)

    @property
    def passed(self) -> bool:
        """True when no variable is ``"wrong"``."""
        return self.verdict != "wrong"

    @property
    def wrong(self) -> list:
        return [r.name for r in self.rows if r.verdict == "wrong"]

    @property
    def look(self) -> list:
        return [r.name for r in self.rows if r.verdict == "look"]

    def __str__(self) -> str:
        header = ("variable", "shape", "checked", "|g|", "|g_approx|", "max |diff|", "rel. error", "verdict")
        body = [
            (
                r.name,
                "x".join(map(str, r.shape)) or "scalar",
                f"{r.checked}/{r.size}",
                f"{r.gradient_norm:.3e}",
                f"{r.approx_norm:.3e}",
                f"{r.max_abs_error:.2e}",
                f"{r.relative_error:.2e}",
                r.verdict,
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

        def fmt(line):
            return "  ".join(c.ljust(w) if i in (0, 1, 7) else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))

        rule = "-" * len(fmt(header))
        lines = [
            f"Gradient check: central differences (eps={self.epsilon:g}) vs tf.GradientTape, float64; "
            f"objective {self.objective:.6g}",
            rule,
            fmt(header),
            rule,
            *(fmt(line) for line in body),
            rule,
            f"verdict: {self.verdict} (worst relative error {self.worst_relative_error:.2e}; "
            f"fine <= {self.fine:g}, wrong > {self.wrong_above:g})",
        ]
        if self.wrong:
            lines.append("wrong gradients: " + ", ".join(self.wrong))
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def _variable_name(variable) -> str:
    return str(getattr(variable, "path", None) or getattr(variable, "name", "variable"))


def _dtype_name(variable) -> str:
    dtype = variable.dtype
    return getattr(dtype, "name", str(dtype))


def check_gradients(
    objective: Callable[[], object],
    variables: Sequence,
    *,
    names: Sequence[str] | None = None,
    epsilon: float = 1e-6,
    max_coordinates: int | None = 1000,
    seed: int = 0,
    fine: float = FINE,
    wrong: float = WRONG,
    graph: bool = True,
    notes: Sequence[str] = (),
) -> GradientCheckReport:
    """Check the tape gradient of a scalar ``objective()`` with respect to ``variables``.

    Args:
        objective: a callable with no arguments returning a scalar tensor; it must read the
            ``variables`` (Keras or TensorFlow variables) each time it is called.
        variables: the float64 variables to check (every coordinate, or a sample).
        names: row names (default: each variable's Keras path or name).
        epsilon: the finite-difference step ``ε``.
        max_coordinates: per variable, check at most this many coordinates, drawn at random
            without replacement (``None``: all of them).
        seed: the sampling seed.
        fine: relative errors up to this are "fine" (see the module docstring).
        wrong: relative errors above this are "wrong"; between ``fine`` and ``wrong``, "look".
        graph: evaluate ``objective`` through ``tf.function`` (many times faster; the
            variables are read at every call); ``False`` runs it eagerly.
        notes: lines added to the report's notes.

    Returns:
        :class:`GradientCheckReport`, one row per variable.

    Raises:
        ValueError: no variables, a variable that is not float64, a non-scalar or non-finite
            objective, bad ``epsilon``/``max_coordinates``/``names``.
    """
    import tensorflow as tf

    epsilon = check_float("epsilon", epsilon, minimum=0.0, min_inclusive=False)
    if max_coordinates is not None:
        max_coordinates = check_int("max_coordinates", max_coordinates, minimum=1)
    fine = check_float("fine", fine, minimum=0.0)
    wrong = check_float("wrong", wrong, minimum=fine)
    variables = list(variables)
    if not variables:
        raise ValueError("variables must not be empty: there is nothing to check")
    names = [_variable_name(v) for v in variables] if names is None else list(names)
    if len(names) != len(variables):
        raise ValueError(f"names must have one name per variable ({len(variables)}), got {len(names)}")
    not_double = [f"{n} ({_dtype_name(v)})" for n, v in zip(names, variables) if _dtype_name(v) != "float64"]
    if not_double:
        raise ValueError(
            "gradient checking needs float64 variables (float32 rounding divided by 2*epsilon swamps the "
            f"difference); not float64: {', '.join(not_double)}. Build the model after "
            "keras.config.set_floatx('float64') and keras.config.set_dtype_policy('float64'), or with dtype='float64'"
        )

    evaluate = tf.function(objective, reduce_retracing=True) if graph else objective

    def value() -> float:
        result = np.asarray(evaluate(), dtype="float64")
        if result.size != 1:
            raise ValueError(f"objective must return a scalar, got shape {result.shape}")
        return float(result.reshape(()))

    with tf.GradientTape() as tape:
        for v in variables:
            tape.watch(v.value if isinstance(v, keras.Variable) else v)
        base_tensor = objective()
    base = float(np.asarray(base_tensor, dtype="float64").reshape(-1)[0])
    if np.asarray(base_tensor).size != 1:
        raise ValueError(f"objective must return a scalar, got shape {np.asarray(base_tensor).shape}")
    if not math.isfinite(base):
        raise ValueError(f"objective is not finite at the current weights ({base}); nothing can be checked")
    gradients = tape.gradient(base_tensor, variables)

    rng = np.random.default_rng(seed)
    rows, sampled = [], []
    for name, variable, gradient in zip(names, variables, gradients):
        original = np.array(variable.numpy(), dtype="float64")
        size = original.size
        if gradient is None:
            analytic = np.zeros(size)
        else:
            analytic = np.asarray(tf.convert_to_tensor(gradient), dtype="float64").reshape(-1)
        if max_coordinates is None or size <= max_coordinates:
            coordinates = np.arange(size)
        else:
            coordinates = np.sort(rng.choice(size, max_coordinates, replace=False))
            sampled.append(f"{name} ({max_coordinates} of {size})")
        approx = np.empty(len(coordinates))
        flat = original.reshape(-1).copy()
        try:
            for k, j in enumerate(coordinates):
                flat[j] = original.flat[j] + epsilon
                variable.assign(flat.reshape(original.shape))
                plus = value()
                flat[j] = original.flat[j] - epsilon
                variable.assign(flat.reshape(original.shape))
                minus = value()
                flat[j] = original.flat[j]
                approx[k] = (plus - minus) / (2.0 * epsilon)
        finally:
            variable.assign(original)
        exact = analytic[coordinates]
        diff = approx - exact
        norm_g, norm_a = float(np.linalg.norm(exact)), float(np.linalg.norm(approx))
        denominator = norm_g + norm_a
        relative = float(np.linalg.norm(diff) / denominator) if denominator > 0 else 0.0
        if not np.isfinite(approx).all():
            relative = float("nan")
        rows.append(
            VariableCheck(
                name=name,
                shape=tuple(original.shape),
                size=size,
                checked=len(coordinates),
                gradient_norm=norm_g,
                approx_norm=norm_a,
                max_abs_error=float(np.max(np.abs(diff), initial=0.0)),
                relative_error=relative,
                verdict=verdict(relative, fine=fine, wrong=wrong),
            )
        )
    all_notes = list(notes)
    if sampled:
        all_notes.append("random sample of coordinates (seed %d) for: %s" % (seed, ", ".join(sampled)))
    if any(g is None for g in gradients):
        missing = [n for n, g in zip(names, gradients) if g is None]
        all_notes.append("no tape gradient (not connected to the objective; taken as 0): " + ", ".join(missing))
    return GradientCheckReport(rows, epsilon, base, fine, wrong, all_notes)


# Layers whose training-mode output is random or depends on the batch's statistics.
def _training_dependent_classes():
    layers = keras.layers
    names = (
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianDropout",
        "GaussianNoise",
        "AlphaDropout",
        "BatchNormalization",
    )
    return tuple(getattr(layers, n) for n in names if hasattr(layers, n))


def training_dependent_layers(model) -> list[str]:
    """``"name (Class)"`` of every layer of ``model`` (nested ones included) whose output in
    training mode is random or batch-dependent: dropout and noise layers, batch
    normalisation, and recurrent layers with ``dropout``/``recurrent_dropout`` > 0."""
    classes = _training_dependent_classes()
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if hasattr(layer, "state_size") and not isinstance(layer, keras.layers.RNN):
            continue  # a recurrent cell: reported once, as its RNN layer
        rnn_dropout = getattr(layer, "dropout", 0) or getattr(layer, "recurrent_dropout", 0)
        if isinstance(layer, classes) or (
            isinstance(rnn_dropout, (int, float)) and rnn_dropout > 0 and not isinstance(layer, classes)
        ):
            found.append(f"{layer.name} ({type(layer).__name__})")
    return found


def gradient_check(
    model,
    x,
    y=None,
    loss=None,
    *,
    variables: Sequence | None = None,
    training: bool = False,
    include_model_losses: bool = True,
    epsilon: float = 1e-6,
    max_coordinates: int | None = 1000,
    seed: int = 0,
    fine: float = FINE,
    wrong: float = WRONG,
    graph: bool = True,
) -> GradientCheckReport:
    """Gradient-check a Keras model's trainable weights on one batch.

    The objective is ``loss(y, model(x, training=False))`` reduced to its mean, plus the
    model's own losses (activity and weight regularisers, ``model.losses``) when
    ``include_model_losses``.

    Args:
        model: a built float64 Keras model.
        x: the input batch (float inputs are converted to float64).
        y: the targets, or ``None`` when ``loss`` takes only the predictions (``loss(y_pred)``).
        loss: a Keras loss (instance or name) or a callable ``(y_true, y_pred)`` (``(y_pred)``
            without ``y``); ``None``: the loss the model was compiled with.
        variables: the variables to check (default: ``model.trainable_variables``).
        training: must stay ``False`` for models with dropout, noise or batch normalisation
            (refused otherwise); those layers are then run in inference mode, which the
            report's notes say.
        include_model_losses: add ``sum(model.losses)`` to the objective.
        epsilon: the finite-difference step, as in :func:`check_gradients`.
        max_coordinates: per variable, at most this many sampled coordinates (``None``: all).
        seed: the sampling seed.
        fine: the "fine" relative-error threshold, as in :func:`check_gradients`.
        wrong: the "wrong" relative-error threshold, as in :func:`check_gradients`.
        graph: evaluate the objective through ``tf.function``, as in :func:`check_gradients`.

    Returns:
        :class:`GradientCheckReport`.

    Raises:
        ValueError: ``training=True`` with training-dependent layers, no loss, float32 weights.
    """
    import tensorflow as tf

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if not isinstance(training, bool):
        raise ValueError(f"training must be True or False, got {training!r}")
    dependent = training_dependent_layers(model)
    notes = []
    if training and dependent:
        raise ValueError(
            "training=True makes the gradient check meaningless for this model: its output in training "
            f"mode is random or depends on the batch statistics ({', '.join(dependent)}); check with "
            "training=False (inference behaviour)"
        )
    if dependent:
        notes.append(
            "run with training=False: " + ", ".join(dependent) + " use inference behaviour (dropout and noise "
            "off, batch normalisation on its moving statistics); the gradient checked is the inference-mode one"
        )
    if loss is None:
        loss = getattr(model, "loss", None)
        if loss is None:
            raise ValueError("loss is required: the model was not compiled with one")
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if not callable(loss):
        raise ValueError(f"loss must be a Keras loss, a loss name or a callable, got {loss!r}")

    def as_double(value):
        array = np.asarray(value)
        return array.astype("float64") if np.issubdtype(array.dtype, np.floating) else array

    x = tf.nest.map_structure(as_double, x)
    y = None if y is None else tf.nest.map_structure(as_double, y)
    model(x, training=training)  # builds the model and its regularisers' losses before the check

    def objective():
        predictions = model(x, training=training)
        value = loss(predictions) if y is None else loss(y, predictions)
        value = keras.ops.mean(keras.ops.cast(value, "float64"))
        if include_model_losses and model.losses:
            value = value + keras.ops.sum(keras.ops.stack([keras.ops.cast(v, "float64") for v in model.losses]))
        return value

    variables = list(model.trainable_variables if variables is None else variables)
    return check_gradients(
        objective,
        variables,
        epsilon=epsilon,
        max_coordinates=max_coordinates,
        seed=seed,
        fine=fine,
        wrong=wrong,
        graph=graph,
        notes=notes,
    )


# keras.ops functions whose "float32" dtype argument float64_arithmetic promotes.
_DTYPE_FUNCTIONS = (
    "cast",
    "convert_to_tensor",
    "eye",
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "full_like",
    "one_hot",
    "arange",
)


def _is_float32(value) -> bool:
    return isinstance(value, str) and value == "float32" or getattr(value, "name", None) == "float32"


@contextlib.contextmanager
def float64_arithmetic():
    """For the duration: ``floatx`` and the global dtype policy float64, and every ``keras.ops``
    cast or constructor asked for float32 gives float64 instead.

    kerasdl's losses and penalties (triplet, YOLO, evidential, KL sparsity) cast their inputs
    to float32 on purpose, so a float64 check of them would measure float32 rounding, not
    their maths; inside this context their formulas run in float64 end to end, and a float64
    gradient check tests the formulas and their gradients. The cast itself has an identity
    gradient, so nothing checked is lost. Patches module attributes of ``keras.ops``: not
    thread-safe, for checks and tests only; restored on exit.
    """
    ops = keras.ops
    originals = {name: getattr(ops, name) for name in _DTYPE_FUNCTIONS if hasattr(ops, name)}

    def promoting(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            args = tuple("float64" if _is_float32(a) else a for a in args)
            kwargs = {k: ("float64" if _is_float32(v) else v) for k, v in kwargs.items()}
            return function(*args, **kwargs)

        return wrapper

    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    try:
        keras.config.set_floatx("float64")
        keras.config.set_dtype_policy("float64")  # a pinned global policy would otherwise keep float32 layers
        for name, function in originals.items():
            setattr(ops, name, promoting(function))
        yield
    finally:
        for name, function in originals.items():
            setattr(ops, name, function)
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)
