"""Evaluation: classification reports (scikit-learn metrics) and task-specific scores.

The generative scores (MNIST-analogue Inception Score and Fréchet distance) live in
:mod:`kerasdl.generative.evaluation` and are re-exported here."""

from kerasdl.evaluation.classification import classification_summary
from kerasdl.generative.evaluation import (
    GenerativeEvaluator,
    frechet_distance_from_stats,
    inception_score_from_probs,
    inception_score_parts,
)

__all__ = [
    "GenerativeEvaluator",
    "classification_summary",
    "frechet_distance_from_stats",
    "inception_score_from_probs",
    "inception_score_parts",
]
