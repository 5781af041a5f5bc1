"""Moved: the triplet and contrastive losses live in :mod:`kerasdl.verification.losses`.

Kept so imports of ``kerasdl.losses.metric_learning`` still work; :mod:`kerasdl.losses`
re-exports the losses too. Registered names (``kerasdl>TripletLoss``,
``kerasdl>ContrastiveLoss``) are unchanged.
"""

from kerasdl.verification.losses import (
    MINING,
    ContrastiveLoss,
    TripletLoss,
    batch_all_triplet_loss,
    batch_hard_triplet_loss,
    contrastive_loss,
    mined_triplet_loss,
    pairwise_distances,
    semi_hard_triplet_loss,
    triplet_loss,
)

__all__ = [
    "MINING",
    "ContrastiveLoss",
    "TripletLoss",
    "batch_all_triplet_loss",
    "batch_hard_triplet_loss",
    "contrastive_loss",
    "mined_triplet_loss",
    "pairwise_distances",
    "semi_hard_triplet_loss",
    "triplet_loss",
]
