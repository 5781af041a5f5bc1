"""What every library training flow (``train_text_classifier``, ``train_char_language_model``,
``fine_tune_image_classifier``) does at its start and end: apply the runtime settings and
write the run's ``summary.json``. Kept here so the flows and the apps (through
``kerasdl.apps._common``) do it one way."""

from __future__ import annotations

import json
from pathlib import Path


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
