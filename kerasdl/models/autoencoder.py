"""Moved to :mod:`kerasdl.generative.autoencoder_networks` (the generative family's home): the
autoencoder builders.

Kept so imports of ``kerasdl.models.autoencoder`` still work; :mod:`kerasdl.models` re-exports them too.
"""

from kerasdl.generative.autoencoder_networks import (
    AutoencoderParts,
    autoencoder,
    conv_autoencoder,
    dense_autoencoder,
)

__all__ = ["AutoencoderParts", "autoencoder", "conv_autoencoder", "dense_autoencoder"]
