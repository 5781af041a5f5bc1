"""Read ``.npz`` archives without running code from them.

``np.load(path, allow_pickle=True)`` unpickles object arrays with the standard unpickler,
which calls whatever global the file names: a crafted data file can run a shell command
(``os.system``) the moment it is loaded. Yet some data files can only be read through
pickle: ragged sequences (the Keras IMDB encodings) are stored by ``np.savez`` as
``dtype=object`` arrays, whose ``.npy`` payload is a pickle stream.

:func:`load_npz` reads such files safely. It opens the archive as a zip, reads each
member's ``.npy`` header with :mod:`numpy.lib.format`, and

* reads numeric arrays with pickling disabled (``allow_pickle=False``);
* unpickles object arrays with :class:`RestrictedUnpickler`, whose ``find_class`` hands
  out only the three globals numpy needs to rebuild an array (``ndarray``, ``dtype`` and
  ``multiarray._reconstruct``, under both the numpy 1 and numpy 2 module names) and
  refuses every other one with a ``ValueError`` naming the file. Python lists, ints and
  strings need no global, so the payload can hold them but nothing that runs code.

:func:`int_sequences` then checks that an object array really is what a loader expects
(a 1-D array of lists of ints) before anything uses it.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np


def _reconstruct():
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct as function
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct as function
    return function


# (module, name) as a pickle spells them → the object handed out. The numpy 1 spelling
# (``numpy.core``) is mapped to the same function so that files written by numpy 1 load on
# numpy 2 without importing its deprecated ``numpy.core`` shim.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays of plain Python objects and nothing else.

    ``where`` names the file (and member) in the error raised for any other global.
    """

    def __init__(self, file, where: str):
        super().__init__(file)
        self.where = where

    def find_class(self, module, name):
        allowed = _ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise ValueError(
                f"{self.where}: refusing to unpickle {module}.{name}: a data file may only hold numpy arrays "
                f"(of numbers, or of Python lists/ints/strings); this file is corrupt or was crafted to run code"
            )
        return allowed()

    def persistent_load(self, pid):
        raise ValueError(f"{self.where}: refusing a pickle persistent id: a data file may only hold numpy arrays")


def _read_member(data: bytes, where: str) -> np.ndarray:
    """One ``.npy`` stream: numeric arrays without pickle, object arrays through the restricted unpickler."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            # 3.0 differs from 2.0 only in the header's text encoding (utf-8 vs latin-1),
            # which does not change where the header ends.
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except ValueError as error:
        raise ValueError(f"{where}: not a readable .npy array ({error})") from None
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    if dtype != np.dtype(object):
        raise ValueError(f"{where}: structured dtype {dtype} with object fields is not supported")
    try:
        array = RestrictedUnpickler(stream, where).load()
    except ValueError:
        raise
    except Exception as error:  # truncated or garbled pickle: EOFError, UnpicklingError, TypeError ...
        raise ValueError(
            f"{where}: the object array's pickle payload is unreadable ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(array, np.ndarray) or array.dtype != np.dtype(object) or array.shape != tuple(shape):
        got = f"{type(array).__name__} {getattr(array, 'dtype', '')} {getattr(array, 'shape', '')}".strip()
        raise ValueError(f"{where}: the payload is {got}, the header announces an object array of shape {shape}")
    return array


def load_npz(path) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` archive at ``path`` as ``{name: array}`` (names without ``.npy``).

    Replaces ``np.load(path, allow_pickle=True)``: object arrays are unpickled with
    :class:`RestrictedUnpickler`, so loading a crafted file raises ``ValueError`` instead of
    running its code. Members that are not ``.npy`` files are ignored, as ``np.load`` does.
    """
    path = Path(path)
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".npy"):
                    arrays[member[: -len(".npy")]] = _read_member(archive.read(member), f"{path} ({member})")
    except zipfile.BadZipFile as error:
        raise ValueError(f"{path}: not an .npz archive ({error})") from None
    return arrays


def int_sequences(array, where: str) -> np.ndarray:
    """Check that ``array`` is a 1-D object array of lists of ints (ragged id sequences); return it.

    Anything else (another shape, an element that is not a list, a value that is not an
    int) is a ``ValueError`` naming ``where`` and the first bad index.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.dtype(object) or array.ndim != 1:
        raise ValueError(
            f"{where}: expected a 1-D object array of int lists, got "
            f"{getattr(array, 'dtype', type(array).__name__)} of shape {getattr(array, 'shape', '?')}"
        )
    for index, sequence in enumerate(array):
        if type(sequence) is not list:
            raise ValueError(f"{where}[{index}]: expected a list of ints, got {type(sequence).__name__}")
        if not all(type(value) is int for value in sequence):
            bad = next(value for value in sequence if type(value) is not int)
            raise ValueError(f"{where}[{index}]: expected a list of ints, found {type(bad).__name__} {bad!r}")
    return array
