"""The ``weights`` argument every builder shares: ``None``, ``"imagenet"`` or a file path.

``"imagenet"`` loads the very file ``keras.applications`` uses for the same network: the
same file name, origin and hash, looked up the way Keras looks it up (the configured data
folder's ``keras/models/`` through a linked temporary cache, then the Keras cache, then one
download attempt with a short timeout; see :mod:`kerasdl.data.sources`). Because kerasdl's
builders use ``keras.applications``' layer names and layer order, ``model.load_weights``
reads those files unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WeightsFile:
    """A pretrained-weights file as ``keras.applications`` fetches it."""

    file_name: str
    origin: str
    file_hash: str | None = None  # md5 or sha256, as Keras' get_file accepts


def check_weights(weights, *, imagenet_available: bool = True):
    """Validate a builder's ``weights`` argument before anything is built; return it.

    Allowed: ``None`` (random initialisation), ``"imagenet"`` (when the builder has an
    ImageNet file for these arguments), or the path of an existing weights file.
    """
    if weights is None:
        return None
    if weights == "imagenet":
        if not imagenet_available:
            raise ValueError(
                "weights='imagenet' is not available for these arguments (keras.applications "
                "publishes no such file); use weights=None or the path of a weights file"
            )
        return weights
    if isinstance(weights, (str, os.PathLike)) and Path(weights).is_file():
        return os.fspath(weights)
    raise ValueError(
        f"weights must be None, 'imagenet' or the path of an existing weights file, got {weights!r}"
    )


def _get_file(file_name, origin, *, cache_subdir, file_hash):
    # One seam for tests: they store a keras.applications twin's weights under the
    # official file name and skip the hash check, which only Google's file can pass.
    import keras

    return keras.utils.get_file(file_name, origin, cache_subdir=cache_subdir, file_hash=file_hash)


def load_weights(model, weights, imagenet_file: WeightsFile | None = None):
    """Load ``weights`` (already checked by :func:`check_weights`) into ``model``; return it."""
    if weights is None:
        return model
    if weights != "imagenet":
        model.load_weights(weights)
        return model
    if imagenet_file is None:
        raise ValueError(f"weights='imagenet' is not available for {model.name}")

    from kerasdl.data.sources import run_keras_loader

    def fetch_and_load():
        path = _get_file(
            imagenet_file.file_name, imagenet_file.origin, cache_subdir="models", file_hash=imagenet_file.file_hash
        )
        model.load_weights(path)

    run_keras_loader(f"The ImageNet weights of {model.name}", [f"models/{imagenet_file.file_name}"], fetch_and_load)
    return model
