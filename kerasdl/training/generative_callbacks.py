"""Moved to :mod:`kerasdl.generative.callbacks` (the generative family's home): the sample-grid
callback and image-grid helpers.

Kept so imports of ``kerasdl.training.generative_callbacks`` still work; :mod:`kerasdl.training` re-
exports them too.
``TrainingCheckpoint`` moved to :mod:`kerasdl.training.resumable` (it is generic) and is
re-exported here too.
"""

from kerasdl.generative.callbacks import SampleGrid, save_image_grid, tile_images, to_uint8
from kerasdl.training.resumable import TrainingCheckpoint

__all__ = ["SampleGrid", "TrainingCheckpoint", "save_image_grid", "tile_images", "to_uint8"]
