"""Moved to :mod:`kerasdl.generative.autoencoder` (the generative family's home): the denoising autoencoder.

Kept so imports of ``kerasdl.training.autoencoder`` still work; :mod:`kerasdl.training` re-exports them too.
"""

from kerasdl.generative.autoencoder import DenoisingAutoencoder, corrupt

__all__ = ["DenoisingAutoencoder", "corrupt"]
