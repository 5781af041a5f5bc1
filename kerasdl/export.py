"""SavedModel and ``.keras`` export and reload, written atomically.

Every write goes to a temporary sibling first and is renamed into place, so an
interrupted export never leaves a half-written model at the target path; what a killed
write leaves beside it is swept by the next write to that path. Finished files and folders
get the permissions a plain write would give under the umask, ``overwrite`` replaces only
what the write itself produces (a SavedModel folder, an empty folder, or a file for a file
write), SavedModel endpoints answer an empty batch with an empty result, and run folders
are claimed with a random id and an exclusive ``mkdir`` (:func:`create_run_dir`).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import os
import re
import secrets
import shutil
import time
from pathlib import Path

import keras

# Modules that register kerasdl's serializable objects; imported before loading a .keras file.
_REGISTERING_MODULES = ("kerasdl.layers", "kerasdl.losses", "kerasdl.training", "kerasdl.verification.siamese")


# Reloaded SavedModel vs in-memory model on the same inputs: both run the same float32 graph,
# so any difference beyond float rounding means the export is wrong.
EXPORT_TOLERANCE = 1e-5


def check_export_agrees(reloaded, expected, *, tolerance: float = EXPORT_TOLERANCE, what: str = "outputs") -> float:
    """Return max |reloaded − expected|; raise ``RuntimeError`` if the export disagrees.

    The one reload-and-compare check every exporter runs (classifiers, embeddings, text,
    image generators, detectors, policies): the SavedModel, reloaded with plain TensorFlow,
    must give what the in-memory model gives on the same inputs.

    Args:
        reloaded: what the reloaded SavedModel returned: an array, or a dict / list of
            arrays (compared leaf by leaf, matched by key or position).
        expected: the in-memory model's outputs, in the same structure.
        tolerance: the largest allowed absolute difference, in the outputs' own units
            (``1e-5`` for float32 outputs, grey levels for uint8 images, ``0`` for labels
            or actions, which must match exactly).
        what: names the outputs in the error message (``"actions"``, ``"images"``, ...).

    Returns:
        The largest absolute difference over all leaves (``0.0`` for empty outputs).

    Raises:
        RuntimeError: a structure, key or shape differs, or a difference exceeds ``tolerance``.
    """
    import numpy as np

    if isinstance(expected, dict):
        if not isinstance(reloaded, dict) or set(reloaded) != set(expected):
            got = sorted(reloaded) if isinstance(reloaded, dict) else type(reloaded).__name__
            raise RuntimeError(f"reloaded SavedModel returns {got}, the in-memory model {sorted(expected)}")
        pairs = [(f"{what}[{key!r}]", reloaded[key], expected[key]) for key in sorted(expected)]
    elif isinstance(expected, (list, tuple)):
        if not isinstance(reloaded, (list, tuple)) or len(reloaded) != len(expected):
            raise RuntimeError(f"reloaded SavedModel returns a different number of {what} than the in-memory model")
        pairs = [(f"{what}[{i}]", r, e) for i, (r, e) in enumerate(zip(reloaded, expected))]
    else:
        pairs = [(what, reloaded, expected)]
    worst = 0.0
    for name, got, want in pairs:
        got, want = np.asarray(got, dtype="float64"), np.asarray(want, dtype="float64")
        if got.shape != want.shape:
            raise RuntimeError(
                f"reloaded SavedModel returns {name} of shape {got.shape}, the in-memory model {want.shape}"
            )
        diff = float(np.max(np.abs(got - want), initial=0.0))
        if not diff <= tolerance:  # also catches NaN
            raise RuntimeError(
                f"reloaded SavedModel disagrees with the in-memory model on {name}: max |diff| = {diff:.3g} "
                f"(tolerance {tolerance:g})"
            )
        worst = max(worst, diff)
    return worst


def new_run_id() -> str:
    """A sortable run id that no other run picks: ``YYYYmmdd-HHMMSS-<8 hex digits>``.

    The time makes ids sort by start; the suffix is 32 random bits (``secrets``). A PID is
    no suffix: two containers sharing a volume run in separate PID namespaces and often
    have the same PIDs, so timestamp+PID ids collided. Use :func:`create_run_dir` to claim
    the folder: it also survives the (2**-32 per second) chance of a repeat.
    """
    return f"{datetime.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


def create_run_dir(parent, *, attempts: int = 20) -> Path:
    """Create and return ``parent/<new run id>/``, a folder no other run can also have claimed.

    ``mkdir`` without ``exist_ok`` is atomic on every local and network file system: of two
    runs that draw the same id, one gets ``FileExistsError`` and draws again. ``parent`` is
    created when missing.
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        path = parent / new_run_id()
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"could not create a new run folder in {parent}: {attempts} ids in a row were taken")


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


# ------------------------------------------------------------------ temporaries, permissions, replacing

# A temporary sibling is ".<target name>.tmp-<pid>-<12 hex>[suffix]"; while a folder is replaced, the old
# one is first renamed to ".<target name>.old-<pid>-<12 hex>". Versions before pids were embedded named
# them ".<name>.tmp-<8 mkdtemp characters>[suffix]" and ".<name>.old-<pid>"; those are swept too.
_TOKEN_HEX = 12


def _leftover_pattern(name: str) -> re.Pattern:
    return re.compile(
        rf"^\.{re.escape(name)}\.(?P<kind>tmp|old)-(?:(?P<pid>\d+)(?:-[0-9a-f]{{{_TOKEN_HEX}}})?"
        rf"|[A-Za-z0-9_]{{8}})(?:\.[A-Za-z0-9]+)?$"
    )


def _temporary_name(target: Path, kind: str, suffix: str = "") -> Path:
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(_TOKEN_HEX // 2)}{suffix}")


def _process_start_time() -> float:
    """When this process started (seconds since the epoch), erring early.

    From ``/proc/self/stat`` (start in clock ticks after boot) and ``/proc/stat`` (boot time)
    on Linux (boot time is in whole seconds, so this is up to a second early); never later
    than the moment this module was imported, which is the answer elsewhere. Erring early
    only makes :func:`sweep_stale_temporaries` keep more.
    """
    imported = time.time()
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime; fields after ")" start at 3
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        return min(imported, boot + ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, StopIteration):
        return imported


_PROCESS_START = _process_start_time()


def _pid_alive(pid: int) -> bool:
    """True when a process with this PID exists in this PID namespace (or cannot be probed)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process; a number no PID can be
        return False
    except (PermissionError, OSError):  # it exists under another account, or we cannot tell
        return True
    return True


def _newest_mtime(path: Path) -> float:
    """The latest modification time of ``path`` and, for a folder, of anything inside it."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
                except OSError:
                    pass
    return newest


def sweep_stale_temporaries(path) -> list[Path]:
    """Remove what killed writes to ``path`` left beside it; return what was removed.

    A write that is SIGKILLed (or loses power) cannot clean up, so the next write to the
    same target does. A sibling is removed only when all of these hold:

    - its name is one this module gives temporaries of ``path`` (``.NAME.tmp-PID-TOKEN``, or
      ``.NAME.old-PID-TOKEN`` once ``path`` exists again, so a displaced old model is never
      deleted while it is the only copy);
    - no process with its PID is alive here (a live one may still be writing);
    - nothing in it was modified since this process started. PIDs are only unique within a
      PID namespace (another container writing to a shared volume may be alive with a PID
      that is free here), so a temporary touched after we started may belong to a live writer
      and is kept; one untouched since before we started belongs to a writer that was already
      running then and has not written since, and is taken as dead.
    """
    target = Path(path)
    parent = target.parent
    if not parent.is_dir():
        return []
    pattern = _leftover_pattern(target.name)
    removed = []
    for entry in parent.iterdir():
        match = pattern.match(entry.name)
        if not match or (match["kind"] == "old" and not target.exists()):
            continue
        if match["pid"] is not None and _pid_alive(int(match["pid"])):
            continue
        try:
            if _newest_mtime(entry) >= _PROCESS_START:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:  # another process swept it first
            continue
        removed.append(entry)
    return removed


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc/self/status``)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting, then restore at once
    os.umask(mask)
    return mask


def _give_normal_permissions(path: Path) -> None:
    """Set the modes a plain ``mkdir``/``open`` would have given under the current umask.

    Folders get ``0o777 & ~umask`` (recursively), and ``path`` itself when it is a file
    ``0o666 & ~umask``, so a serving process under another account can read an export as
    it could any other file the run wrote. Files inside a folder were written by ordinary
    writers and keep their modes.
    """
    mask = _umask()
    if path.is_dir():
        os.chmod(path, 0o777 & ~mask)
        for root, dirs, _ in os.walk(path):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o777 & ~mask)
    else:
        os.chmod(path, 0o666 & ~mask)


def is_saved_model_folder(path) -> bool:
    """True when ``path`` is a folder holding ``saved_model.pb``."""
    return (Path(path) / "saved_model.pb").is_file()


def _check_replaceable(target: Path, *, folder: bool, overwrite: bool) -> None:
    """Raise ``FileExistsError`` unless writing ``target`` may replace what is there.

    Nothing there: fine. Otherwise only with ``overwrite``, and only what the write would
    produce itself: for a folder write, a SavedModel folder or an empty folder (a folder of
    notes is not an old export); for a file write, a file.
    """
    if not os.path.lexists(target):
        return
    if not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
    if folder:
        if target.is_symlink() or not target.is_dir():
            raise FileExistsError(f"refusing to replace {target}: it is a file, not a SavedModel folder")
        if not is_saved_model_folder(target) and any(target.iterdir()):
            raise FileExistsError(
                f"refusing to replace {target}: it is a folder that holds no SavedModel (no "
                "saved_model.pb) and is not empty; move its contents away or choose another path"
            )
    elif target.is_dir() and not target.is_symlink():
        raise FileExistsError(f"refusing to replace {target}: it is a folder, and a file is being written there")


def _replace_atomically(tmp: Path, target: Path, overwrite: bool) -> None:
    _check_replaceable(target, folder=tmp.is_dir(), overwrite=overwrite)  # again: it may have appeared meanwhile
    if target.is_dir() and not target.is_symlink():
        old = _temporary_name(target, "old")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)  # a file (or nothing) at target: replaced in one step


@contextlib.contextmanager
def atomic_directory(path, *, overwrite: bool = False):
    """Yield a temporary folder beside ``path``; on success it is renamed to ``path``.

    For writers other than :func:`export_saved_model` (a ``keras.export.ExportArchive``
    with custom signatures, ``tf.saved_model.save`` of a ``tf.Module``): write into the
    yielded folder, and the target appears complete or not at all. An existing ``path``
    raises ``FileExistsError`` unless ``overwrite``, and even then unless it is a SavedModel
    folder or empty (checked before the work starts). The finished folder has the
    permissions of a plain ``mkdir``; leftovers of killed writes to ``path`` are swept
    first (:func:`sweep_stale_temporaries`).
    """
    target = Path(path)
    _check_replaceable(target, folder=True, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(target)
    tmp = _temporary_name(target, "tmp")
    tmp.mkdir()
    try:
        yield tmp
        _give_normal_permissions(tmp)
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
    A folder at ``path`` is refused (``FileExistsError``); the finished file has the
    permissions of a plain ``open`` (``0o666 & ~umask``); leftovers of killed writes to
    ``path`` are swept first (:func:`sweep_stale_temporaries`).
    """
    target = Path(path)
    _check_replaceable(target, folder=False, overwrite=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(target)
    tmp = _temporary_name(target, "tmp", suffix)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # claimed; opened up once complete
    try:
        yield tmp
        _give_normal_permissions(tmp)
        _replace_atomically(tmp, target, overwrite=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------ SavedModel export


def call_on_batch(fn, *inputs):
    """``fn(*inputs)``, except that a batch of 0 rows gives outputs of 0 rows instead of an error.

    A serving endpoint should answer an empty request with an empty result, but TensorFlow's
    CPU convolution returns a 0-row batch with the input's shape unchanged on some builds, so
    the next layer fails ("Incompatible shapes: [8] vs. [0,16,16,3]"). Here an empty batch
    is replaced by one all-zero row (a string input: one empty string), ``fn`` runs on that,
    and every output is cut back to the rows given. ``inputs`` are tensors sharing a leading
    batch axis; every output of ``fn`` (a tensor or a nested structure) must have one too.
    Works in graphs (serving endpoints) and eagerly.
    """
    import tensorflow as tf

    flat = [tf.convert_to_tensor(x) for x in tf.nest.flatten(inputs)]
    rows = tf.shape(flat[0])[0]

    def one_zero_row(t):
        return tf.zeros(tf.concat([[1], tf.maximum(tf.shape(t)[1:], 1)], axis=0), t.dtype)

    padded = []
    for t in flat:
        p = tf.cond(rows > 0, lambda t=t: t, lambda t=t: one_zero_row(t))
        padded.append(tf.ensure_shape(p, [None, *t.shape[1:]]) if t.shape.rank is not None else p)
    outputs = fn(*tf.nest.pack_sequence_as(inputs, padded))
    return tf.nest.map_structure(lambda out: out[:rows], outputs)


def _input_specs(model):
    """The model's symbolic inputs (``model.input``: one tensor, a list or a dict) as
    ``tf.TensorSpec`` named after them, or ``None`` for a model without them (subclassed)
    or with sparse or ragged inputs."""
    import tensorflow as tf

    try:
        inputs = model.input
    except (AttributeError, ValueError):
        return None
    flat = tf.nest.flatten(inputs)
    if not flat or any(getattr(t, "sparse", False) or getattr(t, "ragged", False) for t in flat):
        return None
    return tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype, name=t.name), inputs)


def serving_archive(model):
    """A ``keras.export.ExportArchive`` whose ``serve`` endpoint (the default signature) is the
    model's inference pass, answering an empty batch with an empty result (:func:`call_on_batch`).

    The endpoint ``model.export`` writes: one argument, the model's input structure, named
    after its inputs. Needs a model with symbolic inputs (functional or Sequential).
    """
    specs = _input_specs(model)
    if specs is None:
        raise ValueError(
            f"model {model.name!r} has no symbolic dense inputs (a subclassed model, or sparse or "
            "ragged inputs); export it with model.export"
        )
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve",
        lambda inputs: call_on_batch(lambda batch: model(batch, training=False), inputs),
        input_signature=[specs],
    )
    return archive


def export_saved_model(
    model, path, *, overwrite: bool = False, verbose: bool = False, extra_assets: dict | None = None
) -> Path:
    """Write ``model`` as a TensorFlow SavedModel at ``path``, atomically.

    The serving endpoint is ``serve`` (also the default signature), as ``model.export``
    writes it; for a functional or Sequential model it accepts an empty batch
    (:func:`serving_archive`); a subclassed model gets ``model.export``'s own endpoint.
    ``extra_assets``: ``{file name: text}`` written to ``assets.extra/`` (e.g.
    ``class_names.txt``, which ``kerasdl predict`` reads). ``overwrite`` replaces only a
    SavedModel folder or an empty one (see :func:`atomic_directory`). Returns the path.
    """
    from kerasdl._backend import require_tensorflow

    require_tensorflow("SavedModel export")
    with atomic_directory(path, overwrite=overwrite) as tmp:
        if _input_specs(model) is None:
            model.export(str(tmp), format="tf_saved_model", verbose=verbose)
        else:
            serving_archive(model).write_out(str(tmp), verbose=verbose)
        if extra_assets:
            (tmp / "assets.extra").mkdir(exist_ok=True)
            for name, text in extra_assets.items():
                (tmp / "assets.extra" / name).write_text(text)
    return Path(path)


def load_saved_model(path, endpoint: str = "serve"):
    """Reload a SavedModel as a Keras layer (``keras.layers.TFSMLayer``) callable on arrays."""
    from kerasdl._backend import require_tensorflow

    require_tensorflow("SavedModel loading")
    path = Path(path)
    if not (path / "saved_model.pb").is_file():
        raise FileNotFoundError(f"{path} is not a SavedModel folder (no saved_model.pb inside)")
    return keras.layers.TFSMLayer(str(path), call_endpoint=endpoint)


def save_keras(model, path, *, overwrite: bool = True) -> Path:
    """Save ``model`` as a ``.keras`` archive, atomically. Returns the path.

    An existing file is replaced only with ``overwrite``; a folder at ``path`` never is.
    """
    target = Path(path)
    if target.suffix != ".keras":
        raise ValueError(f"path must end in .keras, got {str(target)!r}")
    _check_replaceable(target, folder=False, overwrite=overwrite)  # before the work, and again after it
    with atomic_file(target, suffix=".keras") as tmp:
        model.save(tmp)
        _check_replaceable(target, folder=False, overwrite=overwrite)
    return target


def load_keras(path, *, compile: bool = True):
    """Load a ``.keras`` archive, with kerasdl's registered layers, losses and schedules known."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no .keras file at {path}")
    for module in _REGISTERING_MODULES:
        importlib.import_module(module)
    return keras.saving.load_model(path, compile=compile)
