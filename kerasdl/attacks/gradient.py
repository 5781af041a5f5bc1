"""Gradient attacks: FGSM and PGD in the L∞ and L2 balls, untargeted or targeted.

The course notes' "inner maximisation problem" (seeds: *Crafting Adversarial Examples*):
find δ with ‖δ‖ ≤ ε that maximises the loss of the true label (untargeted) or minimises the
loss of a chosen label (targeted), keeping ``x + δ`` inside the valid input range.

- **FGSM** (Goodfellow, Shlens & Szegedy 2015, "Explaining and harnessing adversarial
  examples"): one step, ``x' = clip(x + ε·sign(∇ₓL))`` for L∞, ``x + ε·∇ₓL/‖∇ₓL‖₂`` for L2
  (the "fast gradient method").
- **PGD** (Madry et al. 2018, "Towards deep learning models resistant to adversarial
  attacks"): optional random start inside the ball, then ``steps`` iterations of
  ``x ← Π_{B(x₀,ε) ∩ [clip_min, clip_max]}(x ± α·direction(∇ₓL))``. The default step size
  is Madry's ``α = 2.5·ε/steps`` (at most ε).

**Logits or probabilities.** ``from_logits=None`` (the default) looks at the model's last
layer: a ``softmax``/``sigmoid`` activation (on a ``Dense``, an ``Activation`` or a
``Softmax`` layer) means the model outputs probabilities, anything else means logits. For a
probability model whose last layer is such a layer the attack differentiates the cross
entropy of the *pre-activation logits* (same prediction, but no float32 saturation of the
softmax's gradient on confident examples); when those logits cannot be reached (a nested
model ends the graph) it uses ``-log(max(p_y, 1e-12))`` on the probabilities. Pass
``from_logits=True/False`` to override the detection.

Every attack runs its whole batch inside one ``tf.function``, XLA-compiled as
``jit_compile`` says (``"auto"``, the default: with a GPU, not on CPU; ``True``/``False``
force it; resolved by :func:`kerasdl.training.runtime.resolve_jit_compile`);
the same graph code (:meth:`GradientAttack.perturb_graph`) is what
:class:`kerasdl.training.adversarial.AdversarialModel` calls inside ``train_step``.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf

from kerasdl._validation import check_choice, check_float, check_int

NORMS = ("linf", "l2")
_NORM_ALIASES = {"inf": "linf", np.inf: "linf", "linf": "linf", "l_inf": "linf", 2: "l2", "2": "l2", "l2": "l2"}
# Probabilities are clipped below at this value before the log, so a saturated softmax
# does not give log(0).
_PROB_FLOOR = 1e-12
# Tolerance when checking that inputs lie inside [clip_min, clip_max] (float rounding of
# scaled uint8 pixels).
_RANGE_TOLERANCE = 1e-5


def check_norm(norm) -> str:
    """``"linf"`` (also ``"inf"``, ``np.inf``) or ``"l2"`` (also ``2``)."""
    try:
        resolved = _NORM_ALIASES.get(norm)
    except TypeError:
        resolved = None
    if resolved is None:
        raise ValueError(f"norm must be one of {list(NORMS)!r} (or np.inf / 2), got {norm!r}")
    return resolved


# --------------------------------------------------------------------------- model outputs


def _last_layer(model):
    layers = getattr(model, "layers", None)
    return layers[-1] if layers else None


def _activation_name(layer) -> str | None:
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None)


def outputs_probabilities(model) -> bool:
    """True when the model's last layer applies ``softmax`` or ``sigmoid`` (recursing into a
    nested model that ends the graph, e.g. a :func:`kerasdl.export.with_preprocessing` wrapper)."""
    layer = _last_layer(model)
    while isinstance(layer, keras.Model):
        layer = _last_layer(layer)
    return _activation_name(layer) in ("softmax", "sigmoid")


def score_function(model, *, logits=True, extra_outputs=()):
    """``(fn, are_logits)``: ``fn(x, training=False)`` returns the model's class scores.

    With ``logits=True`` and a model whose last layer is a softmax/sigmoid ``Dense``,
    ``Activation`` or ``Softmax`` layer of a functional/Sequential graph, the scores are the
    pre-activation logits; otherwise the model's outputs. ``extra_outputs``: layer output
    tensors of ``model`` (e.g. a conv layer's ``.output`` for Grad-CAM); then ``fn``
    returns ``(list_of_extra_values, scores)``.
    """
    extra_outputs = list(extra_outputs)
    layer = _last_layer(model)
    reach = (
        logits
        and outputs_probabilities(model)
        and layer is not None
        and not isinstance(layer, keras.Model)
        and isinstance(layer, (keras.layers.Softmax, keras.layers.Activation, keras.layers.Dense))
        and not getattr(layer, "quantization_mode", None)
        and bool(getattr(model, "inputs", None))
    )
    graph = None
    if reach:
        try:
            graph = keras.Model(model.inputs, extra_outputs + [layer.input], name=f"{model.name}_pre_activation")
        except Exception:  # a layer used at several places, a subclassed model: no single graph
            graph = None
    if graph is None:
        if not extra_outputs:
            return (lambda x, training=False: model(x, training=training)), not outputs_probabilities(model)
        graph = keras.Model(model.inputs, extra_outputs + [model.output], name=f"{model.name}_with_features")
        dense = None
        are_logits = not outputs_probabilities(model)
    else:
        dense = layer if isinstance(layer, keras.layers.Dense) else None
        are_logits = True

    def scores(x, training=False):
        values = graph(x, training=training)
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        head = values[-1]
        if dense is not None:  # the Dense layer's own affine map, without its activation
            head = tf.matmul(head, dense.kernel)
            head = head + dense.bias if dense.use_bias else head
        return (values[:-1], head) if extra_outputs else head

    return scores, are_logits


class ModelOutput:
    """How an attack reads a model: a forward function and whether it returns logits.

    ``from_logits=None`` detects it (see the module docstring).
    """

    def __init__(self, model, from_logits=None):
        if from_logits not in (None, True, False):
            raise ValueError(f"from_logits must be None (detect), True or False, got {from_logits!r}")
        self.model = model
        if from_logits is None:
            self.forward, self.logits = score_function(model, logits=True)
        else:
            self.forward, self.logits = (lambda x, training=False: model(x, training=training)), bool(from_logits)
        self.num_outputs = int(model.output_shape[-1])

    def per_example_loss(self, outputs, labels):
        """Cross entropy of ``labels`` (int, shape (N,)) for each example, shape (N,)."""
        outputs = tf.cast(outputs, tf.float32)
        if self.num_outputs == 1:  # one sigmoid unit / logit: binary cross entropy
            target = tf.cast(tf.reshape(labels, [-1, 1]), tf.float32)
            if self.logits:
                loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=outputs)
            else:
                p = tf.where(target > 0.5, outputs, 1.0 - outputs)
                loss = -tf.math.log(tf.maximum(p, _PROB_FLOOR))
            return tf.reshape(loss, [-1])
        if self.logits:
            return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=outputs)
        p = tf.gather(outputs, labels, axis=-1, batch_dims=1)
        return -tf.math.log(tf.maximum(p, _PROB_FLOOR))


def predicted_labels(outputs, num_outputs: int | None = None, logits: bool = False):
    """Class predictions: argmax, or for one output unit a threshold (0 for logits, 0.5 else)."""
    outputs = np.asarray(outputs)
    if (num_outputs or outputs.shape[-1]) == 1:
        return (outputs.reshape(-1) > (0.0 if logits else 0.5)).astype("int64")
    return outputs.argmax(axis=-1).astype("int64")


def check_labels(y, num_outputs: int, num_examples: int, name: str = "y") -> np.ndarray:
    """Integer labels of shape (N,) from ints (N,)/(N, 1) or one-hot (N, K); checks the range."""
    y = np.asarray(y)
    num_classes = max(num_outputs, 2)
    if y.ndim == 2 and y.shape[1] == num_outputs and num_outputs > 1:
        y = y.argmax(axis=1)  # one-hot (or soft) labels
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != num_examples:
        raise ValueError(
            f"{name} must hold one label per example: integer labels of shape ({num_examples},) or one-hot "
            f"({num_examples}, {num_outputs}) for a model with {num_outputs} output(s); got shape {np.shape(y)}"
        )
    if y.size and (not np.all(np.isfinite(y.astype("float64"))) or not np.all(np.mod(y, 1) == 0)):
        raise ValueError(f"{name} must hold integer class labels, got non-integer values")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{name} holds labels in [{int(y.min())}, {int(y.max())}], but the model has {num_classes} classes "
            f"(labels 0..{num_classes - 1})"
        )
    return y.astype("int32")


def graph_labels(y, num_outputs: int):
    """The graph-mode twin of :func:`check_labels` (no value checks): int32 labels (N,)."""
    if y.shape.rank == 2 and y.shape[-1] == num_outputs and num_outputs > 1:
        y = tf.argmax(y, axis=-1)
    return tf.reshape(tf.cast(y, tf.int32), [-1])


# --------------------------------------------------------------------------- attacks


def _per_example(values, rank):
    """Reshape a (N,) vector to broadcast over a batch of rank ``rank``."""
    return tf.reshape(values, [-1] + [1] * (rank - 1))


def _l2_norm(t):
    return tf.sqrt(tf.reduce_sum(tf.square(tf.reshape(t, [tf.shape(t)[0], -1])), axis=1) + 1e-20)


class GradientAttack:
    """Shared machinery of :class:`FGSM` and :class:`PGD` (see the module docstring).

    Call ``attack(model, x, y)`` with ``x`` inside ``[clip_min, clip_max]`` and ``y`` the true
    labels (untargeted) or the target labels (``targeted=True``), as integers (N,) or one-hot
    (N, K). Returns the adversarial batch as a float32 NumPy array.
    """

    name = "attack"

    def __init__(
        self,
        eps,
        *,
        steps=1,
        step_size=None,
        norm="linf",
        random_start=False,
        targeted=False,
        clip_min=0.0,
        clip_max=1.0,
        from_logits=None,
        batch_size=256,
        jit_compile="auto",
        seed=0,
    ):
        from kerasdl._backend import require_tensorflow

        require_tensorflow("the gradient attacks (FGSM, PGD)")
        from kerasdl.training.runtime import check_jit_compile, resolve_jit_compile

        self.eps = check_float("eps", eps, minimum=0.0)
        self.steps = check_int("steps", steps, minimum=1)
        self.norm = check_norm(norm)
        if step_size is None:
            step_size = self.eps * min(1.0, 2.5 / self.steps)  # Madry et al.: 2.5*eps/steps
        self.step_size = check_float("step_size", step_size, minimum=0.0)
        if self.step_size > self.eps * (1 + 1e-9) and self.steps > 1:
            warnings.warn(
                f"step_size={self.step_size} is larger than eps={self.eps}: every PGD step overshoots the "
                "eps-ball and is projected back (a step of about 2.5*eps/steps is usual)",
                stacklevel=2,
            )
        check_choice("random_start", random_start, (True, False))
        check_choice("targeted", targeted, (True, False))
        self.random_start, self.targeted = random_start, targeted
        self.clip_min = check_float("clip_min", clip_min)
        self.clip_max = check_float("clip_max", clip_max, minimum=self.clip_min, min_inclusive=False)
        if from_logits not in (None, True, False):
            raise ValueError(f"from_logits must be None (detect), True or False, got {from_logits!r}")
        self.from_logits = from_logits
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        # The request ("auto", True, False) is what get_config records, so a saved
        # AdversarialModel resolves it again on the machine that loads it; ``jit_compile``
        # is the resolved switch the compiled attack uses.
        self._jit_compile_request = check_jit_compile(jit_compile)
        self.jit_compile = resolve_jit_compile(jit_compile)
        self.seed = check_int("seed", seed, minimum=0)
        self._calls = 0
        self._compiled = None

    def get_config(self) -> dict:
        return {
            "eps": self.eps,
            "steps": self.steps,
            "step_size": self.step_size,
            "norm": self.norm,
            "random_start": self.random_start,
            "targeted": self.targeted,
            "clip_min": self.clip_min,
            "clip_max": self.clip_max,
            "from_logits": self.from_logits,
            "batch_size": self.batch_size,
            "jit_compile": self._jit_compile_request,
            "seed": self.seed,
        }

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ graph code

    def loss_gradient(self, output: ModelOutput, x, labels):
        """∇ₓ of the summed per-example cross entropy (sum, so no 1/N shrinks the gradient)."""
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(output.per_example_loss(output.forward(x, training=False), labels))
        gradient = tape.gradient(loss, x)
        if gradient is None:
            raise ValueError(
                f"model: {output.model.name!r} has no gradient path from its input to its output (the gradient is "
                "None): an attack needs a differentiable model, without argmax, casts to integers, stop_gradient "
                "or a uint8 preprocessing layer in front"
            )
        return gradient

    def _direction(self, gradient):
        if self.norm == "linf":
            return tf.sign(gradient)
        return gradient / _per_example(_l2_norm(gradient), gradient.shape.rank)

    def _project(self, delta):
        if self.norm == "linf":
            return tf.clip_by_value(delta, -self.eps, self.eps)
        factor = tf.minimum(1.0, self.eps / _l2_norm(delta))
        return delta * _per_example(factor, delta.shape.rank)

    def _random_start(self, x, seed):
        shape = tf.shape(x)
        if self.norm == "linf":
            return tf.random.stateless_uniform(shape, seed, -self.eps, self.eps)
        # Uniform in the L2 ball: a Gaussian direction, radius eps * u^(1/d).
        direction = tf.random.stateless_normal(shape, seed)
        direction /= _per_example(_l2_norm(direction), x.shape.rank)
        dims = tf.cast(tf.reduce_prod(shape[1:]), tf.float32)
        u = tf.random.stateless_uniform(shape[:1], seed + 1)
        return direction * _per_example(self.eps * tf.pow(u, 1.0 / dims), x.shape.rank)

    def perturb_graph(self, output: ModelOutput, x, labels, seed):
        """The attack as graph code: ``x`` float (N, ...), ``labels`` int32 (N,), ``seed`` int (2,).

        No value checks here (they need eager values); :meth:`__call__` does them.
        """
        x = tf.cast(x, tf.float32)
        if self.eps == 0.0:
            return tf.identity(x)
        x_adv = x
        if self.random_start:
            x_adv = tf.clip_by_value(x + self._random_start(x, seed), self.clip_min, self.clip_max)
        sign = -1.0 if self.targeted else 1.0  # targeted: descend the target's loss

        def step(x_adv):
            gradient = self.loss_gradient(output, x_adv, labels)
            x_adv = x_adv + sign * self.step_size * self._direction(gradient)
            return tf.clip_by_value(x + self._project(x_adv - x), self.clip_min, self.clip_max)

        if self.steps == 1:
            x_adv = step(x_adv)
        else:  # an explicit while_loop: Keras traces train_step without AutoGraph
            _, x_adv = tf.while_loop(
                lambda i, _: i < self.steps, lambda i, x_adv: (i + 1, step(x_adv)), (tf.constant(0), x_adv)
            )
        return tf.stop_gradient(x_adv)

    # ------------------------------------------------------------------ eager entry point

    def _compiled_for(self, model):
        # One cached graph, for the last model attacked: bounded memory (the graph holds the model).
        if self._compiled is None or self._compiled[0] is not model:
            output = ModelOutput(model, self.from_logits)
            fn = tf.function(
                lambda x, labels, seed: self.perturb_graph(output, x, labels, seed),
                jit_compile=self.jit_compile,
                reduce_retracing=True,
                autograph=False,
            )
            self._compiled = (model, output, fn)
        return self._compiled[1], self._compiled[2]

    def check_inputs(self, model, x, y):
        """Validate ``x`` (shape, range) and ``y`` (shape, class range); returns float32 x, int32 labels.

        ``x`` must be a batch whose example shape is the model's input shape (a ``None`` there
        takes any size): a wrong shape would otherwise fail inside the graph with a TensorFlow
        shape error that names neither ``x`` nor the shape the model takes.
        """
        expected = tuple(model.input_shape)
        wanted = f"(N, {', '.join('any' if d is None else str(d) for d in expected[1:])})"
        if x is None:
            raise ValueError(f"x must be a batch of shape {wanted}, got None")
        try:
            x = np.asarray(x, dtype="float32")
        except (TypeError, ValueError):
            raise ValueError(f"x must be a numeric batch of shape {wanted}, got {type(x).__name__}") from None
        if x.ndim != len(expected) or any(d is not None and d != n for d, n in zip(expected[1:], x.shape[1:])):
            raise ValueError(f"x must be a batch of shape {wanted} for model {model.name!r}, got shape {x.shape}")
        if x.size and (x.min() < self.clip_min - _RANGE_TOLERANCE or x.max() > self.clip_max + _RANGE_TOLERANCE):
            raise ValueError(
                f"x has values in [{x.min():.4g}, {x.max():.4g}], outside the declared valid range "
                f"[clip_min, clip_max] = [{self.clip_min}, {self.clip_max}]; scale the inputs "
                "(e.g. uint8 / 255) or set clip_min/clip_max"
            )
        labels = check_labels(y, int(model.output_shape[-1]), len(x))
        return x, labels

    def __call__(self, model, x, y) -> np.ndarray:
        x, labels = self.check_inputs(model, x, y)
        output, fn = self._compiled_for(model)
        pieces = []
        for start in range(0, len(x), self.batch_size):
            self._calls += 1
            seed = tf.constant([self.seed, self._calls], dtype=tf.int32)
            pieces.append(
                fn(
                    tf.constant(x[start : start + self.batch_size]),
                    tf.constant(labels[start : start + self.batch_size]),
                    seed,
                ).numpy()
            )
        return np.concatenate(pieces) if pieces else x.copy()

    generate = __call__


class FGSM(GradientAttack):
    """Fast gradient sign method (L∞) / fast gradient method (L2), one step of size ``eps``.

    >>> x_adv = FGSM(eps=0.1)(model, x, y)          # untargeted: y are the true labels
    """

    name = "fgsm"

    def __init__(
        self,
        eps,
        *,
        norm="linf",
        targeted=False,
        clip_min=0.0,
        clip_max=1.0,
        from_logits=None,
        batch_size=256,
        jit_compile="auto",
        seed=0,
    ):
        super().__init__(
            eps,
            steps=1,
            step_size=eps,
            norm=norm,
            random_start=False,
            targeted=targeted,
            clip_min=clip_min,
            clip_max=clip_max,
            from_logits=from_logits,
            batch_size=batch_size,
            jit_compile=jit_compile,
            seed=seed,
        )

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("steps", "step_size", "random_start"):
            config.pop(key)
        return config


class PGD(GradientAttack):
    """Projected gradient descent (Madry et al. 2018), L∞ or L2, random start on by default.

    ``step_size`` defaults to ``min(eps, 2.5 * eps / steps)``; a step larger than ``eps`` warns.
    ``PGD(eps, steps=1, step_size=1.25 * eps)`` with its random start is the "fast"
    FGSM-with-random-start attack of Wong, Rice & Kolter (2020).

    >>> x_adv = PGD(eps=0.3, steps=40, step_size=0.01)(model, x, y)
    """

    name = "pgd"

    def __init__(
        self,
        eps,
        *,
        steps=40,
        step_size=None,
        norm="linf",
        random_start=True,
        targeted=False,
        clip_min=0.0,
        clip_max=1.0,
        from_logits=None,
        batch_size=256,
        jit_compile="auto",
        seed=0,
    ):
        super().__init__(
            eps,
            steps=steps,
            step_size=step_size,
            norm=norm,
            random_start=random_start,
            targeted=targeted,
            clip_min=clip_min,
            clip_max=clip_max,
            from_logits=from_logits,
            batch_size=batch_size,
            jit_compile=jit_compile,
            seed=seed,
        )


ATTACKS = {"fgsm": FGSM, "pgd": PGD}


def make_attack(name: str, eps, **options) -> GradientAttack:
    """``make_attack("pgd", 0.3, steps=40)``: an attack by name (``"fgsm"`` or ``"pgd"``)."""
    check_choice("attack", name, tuple(ATTACKS))
    return ATTACKS[name](eps, **options)


def fgsm(model, x, y, eps, **options) -> np.ndarray:
    """One-call FGSM: ``FGSM(eps, **options)(model, x, y)``."""
    return FGSM(eps, **options)(model, x, y)


def pgd(model, x, y, eps, **options) -> np.ndarray:
    """One-call PGD: ``PGD(eps, **options)(model, x, y)``."""
    return PGD(eps, **options)(model, x, y)
