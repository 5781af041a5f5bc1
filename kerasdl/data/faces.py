"""Moved: the face (identity) data lives in :mod:`kerasdl.verification.faces`.

Identity splits, P×K identity batches and the Olivetti reader serve verification only, so
they sit with it. Kept so imports of ``kerasdl.data.faces`` still work.
"""

from kerasdl.verification.faces import (
    OLIVETTI_FILES,
    IdentityData,
    face_augmentation,
    identity_batches,
    load_identities,
    load_olivetti,
    olivetti_available,
    split_by_identity,
)

__all__ = [
    "OLIVETTI_FILES",
    "IdentityData",
    "face_augmentation",
    "identity_batches",
    "load_identities",
    "load_olivetti",
    "olivetti_available",
    "split_by_identity",
]
