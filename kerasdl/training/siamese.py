"""Moved: ``SiameseModel`` lives in :mod:`kerasdl.verification.siamese`.

Kept so ``from kerasdl.training.siamese import SiameseModel`` still works (``kerasdl.training``
also re-exports it, on first access). The registered name stays ``kerasdl>SiameseModel``.
"""

from kerasdl.verification.siamese import SiameseModel

__all__ = ["SiameseModel"]
