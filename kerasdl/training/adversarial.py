"""Adversarial training: a ``keras.Model`` that attacks every batch on the fly.

The seeds' "outer minimisation" (*Defending Against Adversarial Attacks*): for each batch,
craft ``x_adv = attack(x)`` against the current weights (FGSM or PGD, see
:mod:`kerasdl.attacks`), then minimise

    L = alpha * L(f(x), y) + (1 - alpha) * L(f(x_adv), y)

``alpha = 0.5`` is Goodfellow et al. (2015)'s mixed objective (the seeds' ``L_clean + L_adv``
up to a factor 2); ``alpha = 0`` with PGD is Madry et al. (2018)'s min-max training.

**Fast adversarial training** (Wong, Rice & Kolter 2020, "Fast is better than free: revisiting
adversarial training", ICLR): ``attack="fgsm-rs"`` is FGSM from a uniform random start in the
ε-ball with step ``1.25·ε`` (:class:`FastFGSM`), one forward/backward pass per batch instead of
PGD-k's k + 1, with ``alpha = 0``. Its failure mode is *catastrophic overfitting*: within one
epoch, robust accuracy against PGD collapses to near 0 while FGSM accuracy rises. Wong et al.
guard against it with early stopping on PGD accuracy measured on a held-out minibatch at the end
of every epoch, keeping the weights of the best epoch: :class:`RobustAccuracyEarlyStopping`.
:func:`worst_case_accuracy` is the evaluation they (and Madry et al.) report: an example counts
as robust only if it is classified correctly clean and after every one of ``restarts`` PGD runs
from different random starts.

It is a ``keras.Model`` subclass overriding ``train_step``, so ``fit()``, callbacks,
progress bars, ``jit_compile`` and ``tf.distribute`` strategies work as usual. Losses are
Keras' own (``compile(loss=...)``), averaged over the global batch by Keras'
``compute_loss``; each term adds the model's regularisation losses once, weighted by
``alpha`` and ``1 - alpha``, so they count exactly once in ``L``. ``compile`` follows the
custom-model contract of :mod:`kerasdl.training.compile` (optimizer or name + learning rate,
``jit_compile="auto"``), with ``loss`` and ``metrics`` passed by keyword to Keras.

>>> robust = AdversarialModel(model, attack="pgd", eps=0.1, steps=7, alpha=0.0)
>>> robust.compile("adam", 1e-3, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
>>> robust.fit(x, y, epochs=5)          # logs loss, accuracy (clean), adv_loss, adv_accuracy
>>> robust.model                         # the trained classifier, to export

>>> fast = AdversarialModel(model, attack="fgsm-rs", eps=0.3, alpha=0.0)    # Wong et al. 2020
>>> stop = RobustAccuracyEarlyStopping(x_val[:1000], y_val[:1000], PGD(0.3, steps=10, step_size=0.075))
>>> fast.fit(x, y, epochs=10, callbacks=[stop])   # restores the epoch with the best PGD accuracy
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerasdl._validation import check_float, check_int
from kerasdl.attacks.gradient import (
    ATTACKS,
    GradientAttack,
    ModelOutput,
    check_labels,
    graph_labels,
    make_attack,
    outputs_probabilities,
    predicted_labels,
)
from kerasdl.training.compile import CustomModelCompile

try:  # Keras' own helper: the loss tracker shows the per-replica loss unscaled
    from keras.src.losses.loss import unscale_loss_for_distribution
except ImportError:  # pragma: no cover - older/newer Keras layout

    def unscale_loss_for_distribution(value):
        """Fallback for Keras' helper when its private module moves: the loss unchanged."""
        return value


FAST_FGSM_STEP = 1.25
"""Wong et al. (2020)'s FGSM step for training from a random start, as a multiple of ε."""

TRAINING_ATTACKS = (*ATTACKS, "fgsm-rs", "n-fgsm")


def fast_fgsm(eps, *, step_factor: float = FAST_FGSM_STEP, **options) -> FastFGSM:
    """FGSM with a random start (Wong, Rice & Kolter 2020): :class:`FastFGSM` with these
    arguments, refusing the options it fixes.

    Args:
        eps: the L∞ budget.
        step_factor: the step as a multiple of ``eps`` (Wong et al.: 1.25).
        **options: more :class:`~kerasdl.attacks.GradientAttack` arguments (``clip_min``,
            ``from_logits``, ``seed``...); ``steps``, ``step_size`` and ``random_start`` are
            fixed here.

    Returns:
        The attack.

    Raises:
        ValueError: a bad ``eps`` or ``step_factor``, or ``steps``/``step_size``/``random_start``
            among the options.
    """
    fixed = {"steps", "step_size", "random_start"} & set(options)
    if fixed:
        raise ValueError(f"fast_fgsm fixes steps=1, step_size=step_factor*eps and random_start=True; got {fixed}")
    return FastFGSM(eps, step_factor=step_factor, **options)


class _SingleStepTrainingAttack(GradientAttack):
    """A one-step L∞ training attack whose step is ``step_factor·eps``: the shared set-up and
    config of :class:`FastFGSM` and :class:`NoiseFGSM` (their steps, norm, start and
    targeting are fixed, so the config holds only the factors)."""

    def __init__(self, eps, *, step_factor: float, **options):
        self.step_factor = check_float("step_factor", step_factor, minimum=0.0, min_inclusive=False)
        eps = check_float("eps", eps, minimum=0.0)
        super().__init__(eps, steps=1, step_size=self.step_factor * eps, random_start=True, **options)

    def get_config(self) -> dict:
        config = super().get_config()
        for fixed in ("steps", "step_size", "norm", "random_start", "targeted"):
            config.pop(fixed)
        return {**config, "step_factor": self.step_factor}


class FastFGSM(_SingleStepTrainingAttack):
    """FGSM from a random start, exactly as Wong, Rice & Kolter (2020) train with it:

        δ ~ U(−ε, ε);  δ ← clip(δ + α·sign(∇ L(x + δ)), −ε, ε);  x_adv = clip(x + δ, valid range)

    with ``α = step_factor·ε`` (1.25ε in the paper). The random start is *not* clipped to the
    valid range before the gradient (their code clamps only the final δ). The difference
    matters on MNIST, whose pixels are mostly 0: clipping the start there turns most pixels'
    noise into 0 or the full ε step, i.e. plain FGSM, and training at ε = 0.3 then overfits
    catastrophically within the first epoch (held-out PGD accuracy 0%); with the unclipped
    start it reaches about 73% first. A training device: evaluate with
    :class:`~kerasdl.attacks.PGD`, whose random start stays in the valid range.

    Args:
        eps: the L∞ budget.
        step_factor: ``α / ε`` (paper: 1.25).
        **options: ``clip_min``, ``clip_max``, ``from_logits``, ``batch_size``, ``jit_compile``,
            ``seed`` (:class:`~kerasdl.attacks.GradientAttack`).
    """

    name = "fgsm-rs"

    def __init__(self, eps, *, step_factor: float = FAST_FGSM_STEP, **options):
        super().__init__(eps, step_factor=step_factor, **options)

    def perturb_graph(self, output: ModelOutput, x, labels, seed):
        """The FGSM-RS points as graph code (``x`` float, ``labels`` int32, ``seed`` int (2,))."""
        x = tf.cast(x, tf.float32)
        if self.eps == 0.0:
            return tf.identity(x)
        delta = tf.random.stateless_uniform(tf.shape(x), seed, -self.eps, self.eps)
        step = self.step_size * tf.sign(self.loss_gradient(output, x + delta, labels))
        delta = tf.clip_by_value(delta + step, -self.eps, self.eps)
        return tf.stop_gradient(tf.clip_by_value(x + delta, self.clip_min, self.clip_max))


class NoiseFGSM(_SingleStepTrainingAttack):
    """N-FGSM (de Jorge et al. 2022, "Make Some Noise: Reliable and Efficient Single-Step
    Adversarial Training"): a training attack that does not catastrophically overfit at large ε.

    ``x_adv = clip(x + η + step·sign(∇ₓ L(x + η)))`` with ``η ~ U(−k·ε, k·ε)`` (``k = 2``) and
    ``step = ε``, clipped to the valid range but *not* projected back into the ε-ball: the
    stronger noise and the missing projection are what keep single-step training from the
    collapse FGSM with a random start (:class:`FastFGSM`) can show at ε = 0.3 on MNIST. Its points
    lie up to ``(k + 1)·ε`` from ``x``, so it is a training device only; evaluate with
    :class:`~kerasdl.attacks.PGD`. Written here because neither Keras nor ART ships it.

    Args:
        eps: the L∞ budget the model is trained for.
        noise_factor: ``k``, the noise half-width as a multiple of ``eps`` (paper: 2).
        step_factor: the signed-gradient step as a multiple of ``eps`` (paper: 1).
        **options: ``clip_min``, ``clip_max``, ``from_logits``, ``batch_size``, ``jit_compile``,
            ``seed`` (:class:`~kerasdl.attacks.GradientAttack`).
    """

    name = "n-fgsm"

    def __init__(self, eps, *, noise_factor: float = 2.0, step_factor: float = 1.0, **options):
        self.noise_factor = check_float("noise_factor", noise_factor, minimum=0.0)
        super().__init__(eps, step_factor=step_factor, **options)

    def get_config(self) -> dict:
        return {**super().get_config(), "noise_factor": self.noise_factor}

    def perturb_graph(self, output: ModelOutput, x, labels, seed):
        """The N-FGSM points as graph code (``x`` float, ``labels`` int32, ``seed`` int (2,))."""
        x = tf.cast(x, tf.float32)
        if self.eps == 0.0:
            return tf.identity(x)
        half_width = self.noise_factor * self.eps
        noisy = tf.clip_by_value(
            x + tf.random.stateless_uniform(tf.shape(x), seed, -half_width, half_width), self.clip_min, self.clip_max
        )
        step = self.step_size * tf.sign(self.loss_gradient(output, noisy, labels))
        return tf.stop_gradient(tf.clip_by_value(noisy + step, self.clip_min, self.clip_max))


@keras.saving.register_keras_serializable(package="kerasdl")
class AdversarialModel(CustomModelCompile, keras.Model):
    """Wrap ``model`` for adversarial training (see the module docstring).

    Args:
        model: the classifier (logits or probabilities; see :mod:`kerasdl.attacks.gradient`).
        attack: ``"fgsm"``, ``"pgd"``, ``"fgsm-rs"`` (:func:`fast_fgsm`, Wong et al. 2020),
            ``"n-fgsm"`` (:class:`NoiseFGSM`, de Jorge et al. 2022) or a
            :class:`~kerasdl.attacks.GradientAttack` instance (then ``eps`` and
            ``attack_options`` are ignored).
        eps: perturbation budget for a named attack.
        alpha: weight of the clean loss, in [0, 1]; 0 trains on adversarial examples only.
        attack_options: more arguments for a named attack (``steps``, ``step_size``,
            ``norm``, ``random_start``, ``clip_min``, ``clip_max``, ``from_logits``...).
    """

    def __init__(self, model, attack="pgd", eps=0.1, alpha=0.5, attack_options=None, **kwargs):
        if not isinstance(model, keras.Model):
            raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
        kwargs.setdefault("name", f"adversarial_{model.name}")
        super().__init__(**kwargs)
        self.alpha = check_float("alpha", alpha, minimum=0.0, maximum=1.0)
        if isinstance(attack, GradientAttack):
            self.attack = attack
        elif attack == "fgsm-rs":
            self.attack = fast_fgsm(eps, **dict(attack_options or {}))
        elif attack == "n-fgsm":
            self.attack = NoiseFGSM(eps, **dict(attack_options or {}))
        elif isinstance(attack, str):
            self.attack = make_attack(attack, eps, **dict(attack_options or {}))
        else:
            raise ValueError(f"attack must be one of {list(TRAINING_ATTACKS)!r} or a GradientAttack, got {attack!r}")
        if self.attack.targeted:
            raise ValueError("attack: adversarial training needs an untargeted attack (targeted=False)")
        self.model = model
        self._output = ModelOutput(model, self.attack.from_logits)
        self.adv_loss_tracker = keras.metrics.Mean(name="adv_loss")
        self.adv_accuracy_tracker = keras.metrics.Mean(name="adv_accuracy")
        self.built = model.built  # the wrapper has no weights of its own

    def call(self, inputs, training=False):
        return self.model(inputs, training=training)

    def _seed(self):
        step = tf.cast(self.optimizer.iterations, tf.int32) if self.optimizer is not None else tf.constant(0)
        return tf.stack([tf.constant(self.attack.seed, tf.int32), step])

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        labels = graph_labels(y, self._output.num_outputs)
        x_adv = self.attack.perturb_graph(self._output, x, labels, self._seed())
        with tf.GradientTape() as tape:
            y_adv = self.model(x_adv, training=True)
            adv_loss = self.compute_loss(x=x_adv, y=y, y_pred=y_adv, sample_weight=sample_weight, training=True)
            if self.alpha > 0.0:
                y_pred = self.model(x, training=True)
                clean_loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
                loss = self.alpha * clean_loss + (1.0 - self.alpha) * adv_loss
            else:
                loss = adv_loss
            batch = tf.shape(x)[0]
            self._loss_tracker.update_state(unscale_loss_for_distribution(loss), sample_weight=batch)
            scaled = self.optimizer.scale_loss(loss)
        weights = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, weights), weights))
        if self.alpha == 0.0:  # clean predictions for the compiled metrics only
            y_pred = self.model(x, training=False)
        self._update_adv_metrics(adv_loss, y_adv, labels, batch)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _update_adv_metrics(self, adv_loss, y_adv, labels, batch):
        self.adv_loss_tracker.update_state(unscale_loss_for_distribution(adv_loss), sample_weight=batch)
        if self._output.num_outputs == 1:
            threshold = 0.0 if not _is_probability(self._output) else 0.5
            predicted = tf.cast(tf.reshape(y_adv, [-1]) > threshold, tf.int32)
        else:
            predicted = tf.cast(tf.argmax(y_adv, axis=-1), tf.int32)
        self.adv_accuracy_tracker.update_state(tf.cast(tf.equal(predicted, labels), tf.float32))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "model": keras.saving.serialize_keras_object(self.model),
                "attack": self.attack.name,
                "eps": self.attack.eps,
                "alpha": self.alpha,
                "attack_options": {k: v for k, v in self.attack.get_config().items() if k != "eps"},
            }
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"], custom_objects=custom_objects)
        return cls(**config)


def _is_probability(output: ModelOutput) -> bool:
    # The *model's* output (what train_step sees), not the attack's recovered logits.
    from kerasdl.attacks.gradient import outputs_probabilities

    return outputs_probabilities(output.model)


def worst_case_accuracy(model, x, y, attack, *, restarts: int = 1, batch_size: int = 500) -> float:
    """Accuracy under ``restarts`` runs of ``attack``: an example counts only if ``model``
    classifies it correctly clean and after every run (Madry et al. 2018's and Wong et al. 2020's
    "PGD with R random restarts"; the runs differ by their random starts, so ``attack`` should
    have ``random_start=True`` when ``restarts > 1``). Examples already misclassified are not
    attacked again, which changes nothing in the figure and saves most of the time.

    Args:
        model: the classifier (logits or probabilities).
        x: inputs inside the attack's ``[clip_min, clip_max]``.
        y: true labels, integers (N,) or one-hot (N, K).
        attack: a :class:`~kerasdl.attacks.GradientAttack` (or any ``attack(model, x, y) -> x_adv``).
        restarts: attack runs per example (≥ 1).
        batch_size: prediction batch size.

    Returns:
        The fraction of examples that survive every run, in [0, 1].

    Raises:
        ValueError: bad ``restarts``, ``batch_size`` or labels.
    """
    restarts = check_int("restarts", restarts, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    x = np.asarray(x, dtype="float32")
    labels = check_labels(y, int(model.output_shape[-1]), len(x))
    if len(x) == 0:
        raise ValueError("x must hold at least one example, got none")

    def correct(inputs, wanted):
        outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
        logits = not outputs_probabilities(model)
        return predicted_labels(outputs, int(model.output_shape[-1]), logits=logits) == wanted

    robust = correct(x, labels)
    for _ in range(restarts):
        alive = np.flatnonzero(robust)
        if alive.size == 0:
            break
        x_adv = attack(model, x[alive], labels[alive])
        robust[alive] &= correct(np.asarray(x_adv, dtype="float32"), labels[alive])
    return float(robust.mean())


class RobustAccuracyEarlyStopping(keras.callbacks.Callback):
    """Early stopping on PGD accuracy, Wong et al. (2020)'s guard against catastrophic overfitting.

    At the end of every epoch it measures :func:`worst_case_accuracy` of the classifier on the
    held-out ``(x, y)`` (Wong et al.: one minibatch) under ``attack`` and logs it as
    ``val_robust_accuracy``. It keeps the weights of the best epoch so far; when the accuracy
    falls more than ``max_drop`` below the best (the sudden collapse of catastrophic
    overfitting), or has not improved for ``patience`` epochs, it stops training. At the end of
    training it restores the best epoch's weights (``restore_best_weights=True``).

    Works with an :class:`AdversarialModel` (it watches the wrapped ``model.model``) or any
    classifier being fit directly.

    Args:
        x: held-out inputs (never the ones being trained on).
        y: their labels.
        attack: the attack, e.g. ``PGD(eps, steps=10, step_size=eps / 4)``.
        restarts: PGD runs per example (see :func:`worst_case_accuracy`).
        max_drop: stop when accuracy < best − ``max_drop`` (Wong et al. stop at a "sharp drop";
            0.2 by default).
        patience: also stop after this many epochs without improvement (``None``: never).
        restore_best_weights: put the best epoch's weights back at the end.
        verbose: print a line when stopping.

    Attributes:
        history: the robust accuracy after each epoch.
        best, best_epoch: the best accuracy and its (0-based) epoch.
        stopped_epoch: the epoch training stopped at (``None`` when it ran to the end).
        reason: ``"drop"``, ``"patience"`` or ``None``.
    """

    def __init__(
        self,
        x,
        y,
        attack,
        *,
        restarts: int = 1,
        max_drop: float = 0.2,
        patience: int | None = None,
        restore_best_weights: bool = True,
        verbose: int = 1,
    ):
        super().__init__()
        self.x = np.asarray(x, dtype="float32")
        self.y = np.asarray(y)
        if len(self.x) == 0 or len(self.x) != len(self.y):
            raise ValueError(
                f"x and y must hold the same number (>= 1) of examples, got {len(self.x)} and {len(self.y)}"
            )
        if not callable(attack):
            raise ValueError(f"attack must be callable as attack(model, x, y), got {attack!r}")
        self.attack = attack
        self.restarts = check_int("restarts", restarts, minimum=1)
        self.max_drop = check_float("max_drop", max_drop, minimum=0.0, maximum=1.0)
        self.patience = None if patience is None else check_int("patience", patience, minimum=1)
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose

    def _classifier(self):
        return self.model.model if isinstance(self.model, AdversarialModel) else self.model

    def on_train_begin(self, logs=None):
        self.history, self.best, self.best_epoch = [], -1.0, None
        self.best_weights, self.stopped_epoch, self.reason = None, None, None

    def on_epoch_end(self, epoch, logs=None):
        classifier = self._classifier()
        accuracy = worst_case_accuracy(classifier, self.x, self.y, self.attack, restarts=self.restarts)
        self.history.append(accuracy)
        if logs is not None:
            logs["val_robust_accuracy"] = accuracy
        if accuracy > self.best:
            self.best, self.best_epoch = accuracy, epoch
            self.best_weights = classifier.get_weights()
            return
        if accuracy < self.best - self.max_drop:
            self.reason = "drop"
        elif self.patience is not None and epoch - self.best_epoch >= self.patience:
            self.reason = "patience"
        else:
            return
        self.stopped_epoch = epoch
        self.model.stop_training = True
        if self.verbose:
            print(
                f"RobustAccuracyEarlyStopping: robust accuracy {accuracy:.4f} after epoch {epoch + 1} "
                f"(best {self.best:.4f} after epoch {self.best_epoch + 1}): "
                + ("a sharp drop (catastrophic overfitting)" if self.reason == "drop" else "no improvement")
                + "; stopping"
            )

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self._classifier().set_weights(self.best_weights)
