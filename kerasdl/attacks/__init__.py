"""Adversarial attacks and robustness measurement (Keras 3, TensorFlow backend).

- :mod:`kerasdl.attacks.gradient`: :class:`FGSM` and :class:`PGD` (L∞ / L2, random start,
  targeted or not, clipped to the valid range, one ``tf.function`` per batch); how logits
  and probability outputs are told apart is in that module's docstring.
- :mod:`kerasdl.attacks.evaluation`: :func:`robust_accuracy`, :func:`attack_success_rate`,
  :func:`evaluate_attack`, :func:`transferability`.

Adversarial training lives in :mod:`kerasdl.training.adversarial`.
"""

from kerasdl.attacks.evaluation import attack_success_rate, evaluate_attack, robust_accuracy, transferability
from kerasdl.attacks.gradient import (
    ATTACKS,
    FGSM,
    PGD,
    GradientAttack,
    ModelOutput,
    check_labels,
    fgsm,
    make_attack,
    outputs_probabilities,
    pgd,
    predicted_labels,
    score_function,
)

__all__ = [
    "ATTACKS",
    "FGSM",
    "GradientAttack",
    "ModelOutput",
    "PGD",
    "attack_success_rate",
    "check_labels",
    "evaluate_attack",
    "fgsm",
    "make_attack",
    "outputs_probabilities",
    "pgd",
    "predicted_labels",
    "robust_accuracy",
    "score_function",
    "transferability",
]
