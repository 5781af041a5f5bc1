"""Measuring robustness: robust accuracy, attack success rate and transferability.

``data`` is an ``(x, y)`` pair of arrays or a ``tf.data.Dataset`` of ``(x, y)`` batches,
``y`` the true labels (integers or one-hot). ``attack`` is an :class:`~kerasdl.attacks.FGSM`,
:class:`~kerasdl.attacks.PGD` or any callable ``attack(model, x, y) -> x_adv``.

Definitions (as in Madry et al. 2018 and the Adversarial Robustness Toolbox):

- *robust accuracy*: accuracy on the attacked inputs, over every example;
- *attack success rate*: among the examples the model classifies correctly when clean,
  the fraction the attack changes to a wrong class (untargeted) or to the target class
  (targeted);
- *transferability* (the seeds' "Transferability of Attacks"): examples crafted with
  white-box access to a source model, shown to a target model that the attacker never saw.
"""

from __future__ import annotations

import numpy as np

from kerasdl.attacks.gradient import check_labels, outputs_probabilities, predicted_labels


def _batches(data, batch_size: int):
    """Yield (x, y) NumPy batches from arrays or a tf.data.Dataset."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if len(x) != len(y):
            raise ValueError(f"data: x has {len(x)} examples but y has {len(y)}")
        for start in range(0, len(x), batch_size):
            yield x[start : start + batch_size], y[start : start + batch_size]
        return
    import tensorflow as tf

    if not isinstance(data, tf.data.Dataset):
        raise ValueError(
            f"data must be an (x, y) pair of arrays or a tf.data.Dataset of (x, y), got {type(data).__name__}"
        )
    for batch in data.as_numpy_iterator():
        if not isinstance(batch, tuple) or len(batch) < 2:
            raise ValueError("data: the dataset must yield (x, y) batches")
        yield batch[0], batch[1]


def _predict(model, x):
    x = np.asarray(x, dtype="float32")
    return predicted_labels(
        model.predict_on_batch(x), int(model.output_shape[-1]), logits=not outputs_probabilities(model)
    )


def _targets_for(targets, labels, num_classes):
    if targets is None:
        return (labels + 1) % num_classes  # the next class: a fixed, always-wrong target
    if callable(targets):
        return np.asarray(targets(labels))
    return np.full_like(labels, int(targets))


class _Tally:
    def __init__(self):
        self.n = self.clean = self.adv = self.successes = self.hits = 0

    def add(self, model, x, x_adv, labels, attack_labels, targeted):
        clean = _predict(model, x) == labels
        adv_pred = _predict(model, x_adv)
        adv = adv_pred == labels
        success = (adv_pred == attack_labels) if targeted else ~adv
        self.n += len(x)
        self.clean += int(clean.sum())
        self.adv += int(adv.sum())
        self.successes += int((clean & success).sum())
        self.hits += int(success.sum())

    def result(self, targeted):
        if self.n == 0:
            raise ValueError("data is empty")
        result = {
            "examples": self.n,
            "clean_accuracy": self.clean / self.n,
            "robust_accuracy": self.adv / self.n,
            "success_rate": self.successes / self.clean if self.clean else float("nan"),
        }
        if targeted:
            result["target_hit_rate"] = self.hits / self.n
        return result


def _run(model, data, attack, scorers, targets, batch_size):
    targeted = bool(getattr(attack, "targeted", False))
    num_outputs = int(model.output_shape[-1])
    for scorer in scorers:
        if int(scorer.output_shape[-1]) != num_outputs:
            raise ValueError(f"target_model has {scorer.output_shape[-1]} outputs but model has {num_outputs}")
    tallies = [_Tally() for _ in scorers]
    for x, y in _batches(data, batch_size):
        labels = check_labels(y, num_outputs, len(x))
        attack_labels = labels
        if targeted:
            attack_labels = check_labels(
                _targets_for(targets, labels, max(num_outputs, 2)), num_outputs, len(x), name="targets"
            )
        x_adv = attack(model, x, attack_labels)
        for scorer, tally in zip(scorers, tallies):
            tally.add(scorer, x, x_adv, labels, attack_labels, targeted)
    return [tally.result(targeted) for tally in tallies]


def evaluate_attack(model, data, attack, *, target_model=None, targets=None, batch_size: int = 256) -> dict:
    """Run ``attack`` on ``model`` over ``data``; score on ``target_model`` (default: ``model``).

    ``targets`` (targeted attacks only): a class index, a function ``labels -> targets``,
    or None for ``(label + 1) mod K``. Returns a dict with ``examples``,
    ``clean_accuracy``, ``robust_accuracy``, ``success_rate`` (see the module docstring)
    and, for targeted attacks, ``target_hit_rate`` over every example.
    """
    scorer = model if target_model is None else target_model
    return _run(model, data, attack, [scorer], targets, batch_size)[0]


def robust_accuracy(model, data, attack, *, batch_size: int = 256) -> float:
    """Accuracy of ``model`` on ``attack``-ed ``data`` (every example counts)."""
    return evaluate_attack(model, data, attack, batch_size=batch_size)["robust_accuracy"]


def attack_success_rate(model, data, attack, *, targets=None, batch_size: int = 256) -> float:
    """Fraction of the correctly classified examples that ``attack`` turns wrong (or to the target)."""
    return evaluate_attack(model, data, attack, targets=targets, batch_size=batch_size)["success_rate"]


def transferability(source_model, target_model, data, attack, *, batch_size: int = 256) -> dict:
    """Craft on ``source_model``, evaluate on ``target_model`` (a black-box transfer attack).

    Each batch is attacked once; returns ``source`` (white-box figures on the source
    model) and ``target`` (the target model's clean and robust accuracy and the transfer
    success rate on the very same adversarial examples).
    """
    source, target = _run(source_model, data, attack, [source_model, target_model], None, batch_size)
    return {"source": source, "target": target}
