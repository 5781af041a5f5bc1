"""Evaluation: classification reports (scikit-learn metrics) and task-specific scores."""

from kerasdl.evaluation.classification import classification_summary
from kerasdl.evaluation.generative import (
    GenerativeEvaluator,
    frechet_distance_from_stats,
    inception_score_from_probs,
    inception_score_parts,
)

__all__ = ["GenerativeEvaluator", "classification_summary", "frechet_distance_from_stats", "inception_score_from_probs",
           "inception_score_parts"]
