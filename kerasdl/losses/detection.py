"""Moved: the detection losses live in :mod:`kerasdl.detection.losses`.

Kept so imports of ``kerasdl.losses.detection`` still work; :mod:`kerasdl.losses` re-exports
the losses too. Registered names (``kerasdl>LocalizationLoss``, ``kerasdl>YoloLoss``) are unchanged.
"""

from kerasdl.detection.losses import LocalizationLoss, YoloLoss

__all__ = ["LocalizationLoss", "YoloLoss"]
