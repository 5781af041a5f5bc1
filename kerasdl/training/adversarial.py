"""Adversarial training: a ``keras.Model`` that attacks every batch on the fly.

The seeds' "outer minimisation" (*Defending Against Adversarial Attacks*): for each batch,
craft ``x_adv = attack(x)`` against the current weights (FGSM or PGD, see
:mod:`kerasdl.attacks`), then minimise

    L = alpha * L(f(x), y) + (1 - alpha) * L(f(x_adv), y)

``alpha = 0.5`` is Goodfellow et al. (2015)'s mixed objective (the seeds' ``L_clean + L_adv``
up to a factor 2); ``alpha = 0`` with PGD is Madry et al. (2018)'s min-max training.

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
"""

from __future__ import annotations

import keras
import tensorflow as tf

from kerasdl._validation import check_float
from kerasdl.attacks.gradient import ATTACKS, GradientAttack, ModelOutput, graph_labels, make_attack
from kerasdl.training.compile import CustomModelCompile

try:  # Keras' own helper: the loss tracker shows the per-replica loss unscaled
    from keras.src.losses.loss import unscale_loss_for_distribution
except ImportError:  # pragma: no cover - older/newer Keras layout

    def unscale_loss_for_distribution(value):
        return value


@keras.saving.register_keras_serializable(package="kerasdl")
class AdversarialModel(CustomModelCompile, keras.Model):
    """Wrap ``model`` for adversarial training (see the module docstring).

    Args:
        model: the classifier (logits or probabilities; see :mod:`kerasdl.attacks.gradient`).
        attack: ``"fgsm"``, ``"pgd"`` or a :class:`~kerasdl.attacks.GradientAttack`
            instance (then ``eps`` and ``attack_options`` are ignored).
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
        elif isinstance(attack, str):
            self.attack = make_attack(attack, eps, **dict(attack_options or {}))
        else:
            raise ValueError(f"attack must be one of {list(ATTACKS)!r} or a GradientAttack, got {attack!r}")
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
