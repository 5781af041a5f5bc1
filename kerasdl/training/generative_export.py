"""Moved to :mod:`kerasdl.generative.export` (the generative family's home): the image-generator export.

Kept so imports of ``kerasdl.training.generative_export`` still work; :mod:`kerasdl.training` re-
exports them too.
"""

from kerasdl.generative.export import MAX_EXPORT_DIFF, export_image_generator, verify_export

__all__ = ["MAX_EXPORT_DIFF", "export_image_generator", "verify_export"]
