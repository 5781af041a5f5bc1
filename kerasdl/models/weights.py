"""The ``weights`` argument every builder shares: ``None``, ``"imagenet"`` or a file path.

``"imagenet"`` loads the very file ``keras.applications`` uses for the same network: the
same file name, origin and hash, looked up the way Keras looks it up (the configured data
folder's ``keras/models/`` through a linked temporary cache, then the Keras cache, then one
download attempt with a short timeout; see :mod:`kerasdl.data.sources`). Because kerasdl's
builders use ``keras.applications``' layer names and layer order, ``model.load_weights``
reads those files unchanged.

This module is the one place that validates ``weights`` (:func:`check_weights`, used by every
builder and by :func:`kerasdl.transfer.load_backbone`) and that fetches an ImageNet file
(:func:`fetch_imagenet_weights`). A file that is nowhere to be found raises
:class:`WeightsNotFoundError`, which names the file and the folders to put it in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kerasdl.data.sources import DatasetNotFoundError

__all__ = ["WeightsFile", "WeightsNotFoundError", "check_weights", "fetch_imagenet_weights", "load_weights"]


class WeightsNotFoundError(FileNotFoundError):
    """A pretrained-weights file is not on disk and could not be downloaded.

    A :class:`FileNotFoundError` (the command line reports it with exit status 1), and not a
    :class:`kerasdl.data.DatasetNotFoundError`: the message is about a weights file and
    where to put it, not about a data set.
    """


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
    raise ValueError(f"weights must be None, 'imagenet' or the path of an existing weights file, got {weights!r}")


def _get_file(file_name, origin, *, cache_subdir, file_hash):
    # One seam for tests: they store a keras.applications twin's weights under the
    # official file name and skip the hash check, which only Google's file can pass.
    import keras

    return keras.utils.get_file(file_name, origin, cache_subdir=cache_subdir, file_hash=file_hash)


def fetch_imagenet_weights(what: str, file_name: str, loader):
    """Run ``loader`` (a Keras call that reads ``models/<file_name>`` from Keras' cache) the
    way Keras looks the file up: the data folder's ``keras/models/``, then the Keras cache,
    then one short download attempt. Return what ``loader`` returns.

    Raises :class:`WeightsNotFoundError` naming ``file_name`` and where to put it when the
    file is nowhere (or on disk with the wrong hash) and cannot be downloaded.
    """
    from kerasdl.data.sources import DATA_DIR_ENV, data_dir, run_keras_loader, user_keras_home

    try:
        return run_keras_loader(f"The ImageNet weights of {what}", [f"models/{file_name}"], loader)
    except WeightsNotFoundError:
        raise
    except DatasetNotFoundError as error:
        folder = data_dir()
        data_folder = (
            f"{folder / 'keras' / 'models'}/"
            if folder is not None
            else f"${DATA_DIR_ENV}/keras/models/, {DATA_DIR_ENV} being unset"
        )
        raise WeightsNotFoundError(
            f"Weights file {file_name} for {what} is not available. Put it in the data folder's "
            f"keras/models/ ({data_folder}) or in the Keras cache ({user_keras_home() / 'models'}/), "
            f"or use weights=None (random initialisation) or the path of a weights file. Details: {error}"
        ) from error


def load_weights(model, weights, imagenet_file: WeightsFile | None = None):
    """Load ``weights`` (already checked by :func:`check_weights`) into ``model``; return it."""
    if weights is None:
        return model
    if weights != "imagenet":
        model.load_weights(weights)
        return model
    if imagenet_file is None:
        raise ValueError(f"weights='imagenet' is not available for {model.name}")

    def fetch_and_load():
        path = _get_file(
            imagenet_file.file_name, imagenet_file.origin, cache_subdir="models", file_hash=imagenet_file.file_hash
        )
        model.load_weights(path)

    fetch_imagenet_weights(model.name, imagenet_file.file_name, fetch_and_load)
    return model
