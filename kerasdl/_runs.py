"""What every library training flow (``train_text_classifier``, ``train_char_language_model``,
``fine_tune_image_classifier``) does at its start and end: apply the runtime settings, record
the run folder for a clean Ctrl-C, and write the run's ``summary.json``. Kept here so the
flows and the apps (through ``kerasdl.apps._common``) do it one way."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable


@dataclasses.dataclass
class RunRecord:
    """What an interrupted command reports: see :func:`record_run`."""

    run_dir: Path
    checkpoint: Callable[[], str | None] | None = None
    resumable: bool = False


_current_run: RunRecord | None = None


def record_run(run_dir, *, checkpoint: Callable[[], str | None] | None = None, resumable: bool = False) -> None:
    """Tell the ``kerasdl`` command which run folder the running command writes, for a clean Ctrl-C.

    Call it as soon as the run folder exists; the record lasts until the command ends (the
    command clears it). Outside a ``kerasdl`` command (a library call) it is harmless and unused.

    Args:
        run_dir: the run folder being written.
        checkpoint: called at the interrupt; returns the path of the last checkpoint written
            (``None`` when there is none yet).
        resumable: the app takes ``--resume RUN_DIR`` to continue from it.
    """
    global _current_run
    _current_run = RunRecord(Path(run_dir), checkpoint, resumable)


def current_run() -> RunRecord | None:
    """The run folder :func:`record_run` recorded for the running command, if any."""
    return _current_run


def clear_run() -> None:
    """Forget the recorded run (the ``kerasdl`` command does this before and after each command)."""
    global _current_run
    _current_run = None


def setup_runtime(*, seed: int, mixed_precision: bool = False, strategy: str = "auto"):
    """Seed Python, NumPy and the backend, set the mixed-precision policy when asked (the
    global Keras policy: the caller restores it) and return the ``tf.distribute`` strategy."""
    from kerasdl.training.runtime import set_mixed_precision, set_seed
    from kerasdl.training.runtime import strategy as make_strategy

    set_seed(seed)
    if mixed_precision:
        set_mixed_precision(True)
    return make_strategy(strategy)


def write_summary(run_dir, summary: dict) -> Path:
    """Write ``summary.json`` (the run's figures and paths) into ``run_dir``, atomically: a
    killed run leaves the previous summary or none, never a truncated one."""
    from kerasdl.export import atomic_file

    path = Path(run_dir) / "summary.json"
    text = json.dumps(summary, indent=2, default=str) + "\n"
    with atomic_file(path) as tmp:
        tmp.write_text(text)
    return path
