"""Moved to :mod:`kerasdl.generative.evaluation` (the generative family's home): the Inception Score
/ Fréchet distance.

Kept so imports of ``kerasdl.evaluation.generative`` still work; :mod:`kerasdl.evaluation` re-
exports them too.
"""

from kerasdl.generative.evaluation import (
    GenerativeEvaluator,
    feature_statistics,
    frechet_distance_from_stats,
    inception_score_from_probs,
    inception_score_parts,
)

__all__ = [
    "GenerativeEvaluator",
    "feature_statistics",
    "frechet_distance_from_stats",
    "inception_score_from_probs",
    "inception_score_parts",
]
