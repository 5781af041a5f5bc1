"""Read ``.npz`` archives without running code from them.

``np.load(path, allow_pickle=True)`` unpickles object arrays with the standard unpickler,
which calls whatever global the file names: a crafted data file can run a shell command
(``os.system``) the moment it is loaded. Yet some data files can only be read through
pickle: ragged sequences (the Keras IMDB encodings) are stored by ``np.savez`` as
``dtype=object`` arrays, whose ``.npy`` payload is a pickle stream.

:func:`load_npz` reads such files safely. It opens the archive as a zip, reads each
member's ``.npy`` header with :mod:`numpy.lib.format`, and

* reads numeric arrays with pickling disabled (``allow_pickle=False``);
* rebuilds object arrays with :func:`parse_object_array`, which runs no unpickler at all:
  :func:`pickletools.genops` only decodes the payload's opcodes, and the parser interprets
  the data opcodes (lists, tuples, numbers, strings) and recognises by name, without
  importing or calling them, the three globals numpy uses to rebuild an array (``ndarray``,
  ``dtype``, ``multiarray._reconstruct``, under the numpy 1 and numpy 2 module names). Any
  other global, opcode or persistent id is a ``ValueError`` naming the file.

:func:`int_sequences` then checks that an object array really is what a loader expects
(a 1-D array of lists of ints) before anything uses it.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np


# The globals a numpy object array's pickle names, as ``(module, name)``: nothing else is
# accepted. The numpy 1 spelling (``numpy.core``) is the same function under another name.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class _Global(NamedTuple):
    module: str
    name: str


class _Mark:
    """Where a MARK opcode stood on the stack."""


class _ArrayUnderConstruction:
    """What ``_reconstruct(ndarray, ...)`` stands for until BUILD hands it its state."""

    array = None


def _refuse(where: str, what: str):
    return ValueError(
        f"{where}: refusing to unpickle {what}: a data file may only hold numpy arrays "
        f"(of numbers, or of Python lists/ints/strings); this file is corrupt or was crafted to run code"
    )


def parse_object_array(payload: bytes, where: str) -> np.ndarray:
    """Rebuild a pickled numpy object array of plain Python data, without an unpickler.

    ``pickle`` is never asked to load anything: :func:`pickletools.genops` only *decodes* the
    opcodes, and this function interprets the few that data needs (lists, tuples, ints,
    floats, strings, bytes, None/True/False, the memo) plus the three globals numpy uses to
    rebuild an array, which are recognised by name and never imported or called. Any other
    global, a persistent id or an opcode outside that set is a ``ValueError`` naming ``where``.
    """
    stack, memo = [], {}

    def pop_to_mark():
        items = []
        while not isinstance(stack[-1], _Mark):
            items.append(stack.pop())
        stack.pop()
        return items[::-1]

    constants = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
    for opcode, arg, _ in pickletools.genops(payload):
        name = opcode.name
        if name in ("PROTO", "FRAME"):
            continue
        if name in constants:
            stack.append(constants[name])
        elif name in ("BININT", "BININT1", "BININT2", "LONG1", "LONG4", "BINFLOAT", "SHORT_BINUNICODE",
                      "BINUNICODE", "BINUNICODE8", "SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "SHORT_BINSTRING",
                      "BINSTRING"):  # fmt: skip
            stack.append(arg)
        elif name == "MARK":
            stack.append(_Mark())
        elif name == "EMPTY_LIST":
            stack.append([])
        elif name == "APPEND":
            item = stack.pop()
            stack[-1].append(item)
        elif name == "APPENDS":
            items = pop_to_mark()
            stack[-1].extend(items)
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            count = int(name[-1])
            items = tuple(stack[-count:])
            del stack[-count:]
            stack.append(items)
        elif name == "TUPLE":
            stack.append(tuple(pop_to_mark()))
        elif name in ("BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            module, attribute = arg.split(" ", 1) if name == "GLOBAL" else reversed([stack.pop(), stack.pop()])
            if (module, attribute) not in _ALLOWED_GLOBALS:
                raise _refuse(where, f"{module}.{attribute}")
            stack.append(_Global(module, attribute))
        elif name == "REDUCE":
            args, function = stack.pop(), stack.pop()
            if function.name == "_reconstruct":
                stack.append(_ArrayUnderConstruction())
            elif function.name == "dtype" and args and args[0] in ("O8", "O4", "O"):
                stack.append(np.dtype(object))
            else:
                raise _refuse(where, f"{function.module}.{function.name}{args!r}")
        elif name == "BUILD":
            state, target = stack.pop(), stack[-1]
            if isinstance(target, _ArrayUnderConstruction):
                _, shape, dtype, _, items = state
                if dtype != np.dtype(object) or not isinstance(items, list) or len(items) != int(np.prod(shape)):
                    raise ValueError(f"{where}: the object array's state does not match its shape {shape}")
                target.array = np.empty(shape, dtype=object)
                flat = target.array.reshape(-1)  # a view: filled element by element, so lists stay objects
                for index, item in enumerate(items):
                    flat[index] = item
            elif not isinstance(target, np.dtype):
                raise _refuse(where, f"the state of {type(target).__name__}")
        elif name == "STOP":
            result = stack.pop()
            return result.array if isinstance(result, _ArrayUnderConstruction) else result
        else:
            raise _refuse(where, f"pickle opcode {name}")
    raise ValueError(f"{where}: the pickle payload ends without STOP")


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
        array = parse_object_array(stream.read(), where)
    except ValueError as error:
        if "refusing" in str(error) or str(error).startswith(where):
            raise
        raise ValueError(f"{where}: the object array's pickle payload is unreadable ({error})") from None
    except Exception as error:  # truncated or garbled payload: IndexError, AttributeError, TypeError ...
        raise ValueError(
            f"{where}: the object array's pickle payload is unreadable ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(array, np.ndarray) or array.dtype != np.dtype(object) or array.shape != tuple(shape):
        got = f"{type(array).__name__} {getattr(array, 'dtype', '')} {getattr(array, 'shape', '')}".strip()
        raise ValueError(f"{where}: the payload is {got}, the header announces an object array of shape {shape}")
    return array


def load_npz(path) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` archive at ``path`` as ``{name: array}`` (names without ``.npy``).

    Replaces ``np.load(path, allow_pickle=True)``: object arrays are rebuilt by
    :func:`parse_object_array` (no unpickler), so loading a crafted file raises ``ValueError`` instead of
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
