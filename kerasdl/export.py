"""SavedModel and ``.keras`` export and reload, written atomically.

Every write goes to a temporary sibling first and is renamed into place, so an
interrupted export never leaves a half-written model at the target path.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import os
import shutil
import tempfile
from pathlib import Path

import keras

# Modules that register kerasdl's serializable objects; imported before loading a .keras file.
_REGISTERING_MODULES = ("kerasdl.layers", "kerasdl.losses", "kerasdl.training")


# Reloaded SavedModel vs in-memory model on the same inputs: both run the same float32 graph,
# so any difference beyond float rounding means the export is wrong.
EXPORT_TOLERANCE = 1e-5


def check_export_agrees(reloaded, expected, *, tolerance: float = EXPORT_TOLERANCE) -> float:
    """Return max |reloaded − expected|; raise ``RuntimeError`` if it exceeds ``tolerance``.

    The one check every app runs after exporting: the SavedModel, reloaded with plain
    TensorFlow, must give what the in-memory model gives on the same inputs.
    """
    import numpy as np

    reloaded, expected = np.asarray(reloaded, dtype="float64"), np.asarray(expected, dtype="float64")
    if reloaded.shape != expected.shape:
        raise RuntimeError(f"reloaded SavedModel returns shape {reloaded.shape}, the in-memory model {expected.shape}")
    max_diff = float(np.max(np.abs(reloaded - expected), initial=0.0))
    if max_diff > tolerance:
        raise RuntimeError(f"reloaded SavedModel disagrees with the in-memory model: max |diff| = {max_diff:.3g} "
                           f"(tolerance {tolerance:g})")
    return max_diff


def new_run_id() -> str:
    """A sortable, unique-enough run id: ``YYYYmmdd-HHMMSS-<pid>``."""
    return f"{datetime.datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}"


def with_preprocessing(model, preprocessing, *, input_shape=None, input_dtype="uint8", input_name="inputs"):
    """Wrap ``model`` so it takes what a client has (e.g. uint8 pixels) and preprocesses inside.

    ``preprocessing`` is a layer or callable on the raw input tensor, e.g.
    ``keras.layers.Rescaling(1 / 255)``. The result is a functional model suitable for
    :func:`export_saved_model`.
    """
    shape = tuple(input_shape) if input_shape is not None else tuple(model.input_shape[1:])
    inputs = keras.Input(shape=shape, dtype=input_dtype, name=input_name)
    outputs = model(preprocessing(inputs))
    return keras.Model(inputs, outputs, name=f"{model.name}_serving")


def _replace_atomically(tmp: Path, target: Path, overwrite: bool) -> None:
    if target.exists():
        if not overwrite:
            raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(tmp, target)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()
    else:
        os.replace(tmp, target)


@contextlib.contextmanager
def atomic_directory(path, *, overwrite: bool = False):
    """Yield a temporary folder beside ``path``; on success it is renamed to ``path``.

    For writers other than :func:`export_saved_model` (a ``keras.export.ExportArchive``
    with custom signatures, ``tf.saved_model.save`` of a ``tf.Module``): write into the
    yielded folder, and the target appears complete or not at all. An existing ``path``
    raises ``FileExistsError`` unless ``overwrite``.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        _replace_atomically(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(path, *, suffix: str = ""):
    """Yield a temporary file path beside ``path``; on success it replaces ``path``.

    Write the file under the yielded name (``open``, ``np.savez``, ``model.save``); an error
    or interrupt removes it and leaves ``path`` as it was. ``suffix``: for writers that
    insist on an extension (``np.savez`` appends ``.npz``, ``model.save`` wants ``.keras``).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_saved_model(model, path, *, overwrite: bool = False, verbose: bool = False) -> Path:
    """Write ``model`` as a TensorFlow SavedModel (Keras 3 ``model.export``) at ``path``.

    The serving endpoint is ``serve`` (also the default signature). Returns the path.
    """
    with atomic_directory(path, overwrite=overwrite) as tmp:
        model.export(str(tmp), format="tf_saved_model", verbose=verbose)
    return Path(path)


def load_saved_model(path, endpoint: str = "serve"):
    """Reload a SavedModel as a Keras layer (``keras.layers.TFSMLayer``) callable on arrays."""
    path = Path(path)
    if not (path / "saved_model.pb").is_file():
        raise FileNotFoundError(f"{path} is not a SavedModel folder (no saved_model.pb inside)")
    return keras.layers.TFSMLayer(str(path), call_endpoint=endpoint)


def save_keras(model, path, *, overwrite: bool = True) -> Path:
    """Save ``model`` as a ``.keras`` archive, atomically. Returns the path."""
    target = Path(path)
    if target.suffix != ".keras":
        raise ValueError(f"path must end in .keras, got {str(target)!r}")
    with atomic_file(target, suffix=".keras") as tmp:
        model.save(tmp)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
    return target


def load_keras(path, *, compile: bool = True):
    """Load a ``.keras`` archive, with kerasdl's registered layers, losses and schedules known."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no .keras file at {path}")
    for module in _REGISTERING_MODULES:
        importlib.import_module(module)
    return keras.saving.load_model(path, compile=compile)
