"""Moved: the embedding network builder lives in :mod:`kerasdl.verification.embedding`.

Kept so ``from kerasdl.models.siamese import embedding_network`` (the README's path) still
works. Nothing in the library imports this module; ``import kerasdl.models`` does not load it.
"""

from kerasdl.verification.embedding import embedding_network

__all__ = ["embedding_network"]
