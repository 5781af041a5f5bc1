"""The usual Keras callbacks, configured in one call, and the run-safety pieces behind it.

- :class:`BestCheckpoint` keeps the best model of a run (``save_best_only``), but only a
  model whose monitored value **and** weights are finite, written atomically: a run that
  blows up, or a kill during the write, never replaces the last good file.
- :class:`StopOnNonFinite` stops ``fit`` at the first NaN/inf loss and, when ``fit`` ends,
  raises :class:`TrainingDiverged` naming the last finite checkpoint (or saying there is
  none), so no caller goes on to evaluate or export a diverged model by accident.
- :class:`HistoryCSV` writes the per-epoch history (the ``CSVLogger`` format) atomically,
  only finite epochs, and can keep the first ``keep_epochs`` rows of an existing file so a
  resumed run continues the history of the epochs its checkpoint holds.
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path

import keras
import numpy as np

from kerasdl._validation import check_float, check_int


class TrainingDiverged(FloatingPointError):
    """Training produced a NaN/inf loss (or weights); nothing diverged was kept or exported.

    ``checkpoint`` is the path of the last finite checkpoint, or ``None`` when the run
    wrote none. ``kerasdl`` commands report it in one line and exit with status 1.
    """

    def __init__(self, message: str, checkpoint=None):
        super().__init__(message)
        self.checkpoint = None if checkpoint is None else str(checkpoint)


def non_finite_values(logs, keys=None) -> list[str]:
    """``"name=value"`` for every NaN/inf scalar in ``logs`` (only ``keys`` when given)."""
    bad = []
    for name, value in (logs or {}).items():
        if keys is not None and name not in keys:
            continue
        try:
            value = float(np.asarray(value))
        except (TypeError, ValueError):
            continue
        if not math.isfinite(value):
            bad.append(f"{name}={value}")
    return bad


def non_finite_variables(model) -> list[str]:
    """Paths of ``model``'s weights (not optimizer or metric state) holding NaN or inf."""
    return [
        getattr(v, "path", v.name)
        for v in model.weights
        if "float" in str(v.dtype) and not np.isfinite(np.asarray(v, dtype="float32")).all()
    ]


def check_finite_weights(model, what: str = "model") -> None:
    """Raise :class:`TrainingDiverged` if any weight of ``model`` is NaN/inf (call before exporting)."""
    bad = non_finite_variables(model)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise TrainingDiverged(f"the {what} has non-finite weights ({shown}); refusing to use or export it")


def _loss_keys(logs) -> list[str]:
    return [key for key in (logs or {}) if key == "loss" or key.endswith("_loss")]


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model (``.keras``) or its weights (``.weights.h5``) when ``monitor`` improves.

    Unlike ``keras.callbacks.ModelCheckpoint(save_best_only=True)``, which saves the first
    epoch whatever its loss and rewrites the file in place, this saves only when the
    monitored value is finite and every weight is finite, and writes a temporary sibling
    that is renamed over ``path`` (:func:`kerasdl.export.atomic_file`), so an interrupted
    write leaves the previous best file intact.

    ``mode``: ``"min"``, ``"max"`` or ``"auto"`` (``max`` for names containing ``acc`` or
    ``auc``, else ``min``). After ``fit``: ``best`` (the value), ``best_epoch`` (1-based)
    and ``saved`` (whether this run wrote the file at all).
    """

    def __init__(self, path, monitor: str = "val_loss", mode: str = "auto", verbose: bool = False):
        super().__init__()
        self.path = Path(path)
        if not (self.path.name.endswith(".keras") or self.path.name.endswith(".weights.h5")):
            raise ValueError(f"checkpoint path must end in .keras or .weights.h5, got {str(self.path)!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            name = monitor.removeprefix("val_")
            mode = "max" if ("acc" in name or "auc" in name) else "min"
        self.monitor, self.mode, self.verbose = monitor, mode, verbose
        self.weights_only = self.path.name.endswith(".weights.h5")
        self.best, self.best_epoch, self.saved = None, None, False
        self._warned_missing = False

    def on_train_begin(self, logs=None):
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _improves(self, value: float) -> bool:
        return self.best is None or (value < self.best if self.mode == "min" else value > self.best)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            if not self._warned_missing:
                print(f"BestCheckpoint: no {self.monitor!r} in the epoch logs ({', '.join(logs)}); nothing saved")
                self._warned_missing = True
            return
        value = float(np.asarray(logs[self.monitor]))
        if not math.isfinite(value) or not self._improves(value):
            return
        if non_finite_variables(self.model):
            return  # a finite loss over NaN weights is not a model worth keeping
        self.save()
        self.best, self.best_epoch = value, epoch + 1
        if self.verbose:
            print(f"epoch {epoch + 1}: {self.monitor} {value:.4g}, saved {self.path}")

    def save(self) -> Path:
        """Write the model (or weights) to ``path`` atomically; returns the path."""
        from kerasdl.export import atomic_file

        suffix = ".weights.h5" if self.weights_only else ".keras"
        with atomic_file(self.path, suffix=suffix) as tmp:
            if self.weights_only:
                self.model.save_weights(tmp)
            else:
                self.model.save(tmp)
        self.saved = True
        return self.path

    def describe(self) -> str:
        """Where the last finite model is, in words (for messages)."""
        if not self.saved:
            return "no finite checkpoint was saved"
        return f"the last finite model ({self.monitor} {self.best:.4g}, epoch {self.best_epoch}) is in {self.path}"


class StopOnNonFinite(keras.callbacks.Callback):
    """Stop ``fit`` at the first NaN/inf loss; raise :class:`TrainingDiverged` when ``fit`` ends.

    Checks the running ``loss`` after every batch and every ``*loss`` value (validation
    included) at the end of every epoch. ``checkpoint``: the run's :class:`BestCheckpoint`,
    named in the error. Place it after the other callbacks so they finish (files closed,
    checkpoints written) before the error leaves ``fit``. ``stopped`` holds the reason.
    """

    def __init__(self, checkpoint: BestCheckpoint | None = None):
        super().__init__()
        self.checkpoint = checkpoint
        self.stopped: str | None = None

    def on_train_begin(self, logs=None):
        self.stopped = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _stop(self, where: str, bad: list[str]) -> None:
        if self.stopped is None:
            self.stopped = f"training diverged at {where} ({', '.join(bad)})"
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        bad = non_finite_values(logs, _loss_keys(logs))
        if bad:
            self._stop(f"epoch {self._epoch + 1}, batch {batch + 1}", bad)

    def on_epoch_end(self, epoch, logs=None):
        bad = non_finite_values(logs, _loss_keys(logs))
        if bad:
            self._stop(f"the end of epoch {epoch + 1}", bad)

    def on_train_end(self, logs=None):
        if self.stopped is None:
            return
        if self.checkpoint is None:
            raise TrainingDiverged(f"{self.stopped}: training stopped")
        kept = self.checkpoint.path if self.checkpoint.saved else None
        raise TrainingDiverged(f"{self.stopped}: training stopped; {self.checkpoint.describe()}", kept)


class EpochTimer(keras.callbacks.Callback):
    """Records each epoch's wall-clock seconds in ``self.epoch_seconds`` (for benchmarks)."""

    def __init__(self):
        super().__init__()
        self.epoch_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self._start)


class TimeBudget(keras.callbacks.Callback):
    """Stop ``fit`` after the epoch during which ``seconds`` of training ran out.

    For bounded runs on shared machines: ``epochs_done`` and ``stopped_early`` say how much
    of the planned schedule actually ran, so a benchmark can report it.
    """

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = check_float("seconds", seconds, minimum=0.0, min_inclusive=False)
        self.epochs_done, self.stopped_early = 0, False

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self.epochs_done, self.stopped_early = 0, False

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_done = epoch + 1
        if time.perf_counter() - self._start > self.seconds:
            self.model.stop_training = True
            self.stopped_early = True


def make_callbacks(
    *,
    checkpoint_path=None,
    early_stopping_patience: int | None = None,
    monitor: str = "val_loss",
    tensorboard_dir=None,
    csv_path=None,
    terminate_on_nan: bool = True,
):
    """Build a callback list.

    - ``early_stopping_patience``: ``EarlyStopping(restore_best_weights=True)``.
    - ``checkpoint_path``: :class:`BestCheckpoint` on ``monitor`` (a ``.keras`` or
      ``.weights.h5`` path): the best finite model, written atomically.
    - ``tensorboard_dir``: ``TensorBoard`` logs; ``csv_path``: :class:`HistoryCSV`.
    - ``terminate_on_nan`` (on by default): :class:`StopOnNonFinite`, last in the list: the
      first NaN/inf loss stops training and ``fit`` then raises :class:`TrainingDiverged`
      naming the last finite checkpoint (or saying there is none).
    """
    callbacks, checkpoint = [], None
    if early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                patience=check_int("early_stopping_patience", early_stopping_patience, minimum=0),
                restore_best_weights=True,
            )
        )
    if checkpoint_path is not None:
        path = Path(checkpoint_path)
        if not (path.name.endswith(".keras") or path.name.endswith(".weights.h5")):
            raise ValueError(f"checkpoint_path must end in .keras or .weights.h5, got {str(path)!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint = BestCheckpoint(path, monitor=monitor)
        callbacks.append(checkpoint)
    if tensorboard_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir)))
    if csv_path is not None:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(HistoryCSV(csv_path))
    if terminate_on_nan:
        callbacks.append(StopOnNonFinite(checkpoint))
    return callbacks


class HistoryCSV(keras.callbacks.Callback):
    """The per-epoch history as CSV (``CSVLogger``'s columns: ``epoch``, then the sorted log keys).

    Differences from ``CSVLogger``: an epoch whose losses are NaN/inf is not written (it did
    not finish as a usable epoch); the whole file is rewritten atomically after each epoch,
    so a kill never leaves half a row; and ``keep_epochs`` keeps the rows of an existing file
    for epochs ``0 .. keep_epochs - 1`` and drops the rest when training begins, so a resumed
    run continues exactly the epochs its checkpoint holds (no repeated or diverged rows).
    """

    def __init__(self, path, keep_epochs: int = 0):
        super().__init__()
        self.path = Path(path)
        self.keep_epochs = check_int("keep_epochs", keep_epochs, minimum=0)
        self.rows: list[dict] = []

    def on_train_begin(self, logs=None):
        self.rows = []
        if self.keep_epochs and self.path.is_file():
            with self.path.open(newline="") as f:
                self.rows = [row for row in csv.DictReader(f) if int(float(row["epoch"])) < self.keep_epochs]
        if self.path.is_file():
            self._write()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if non_finite_values(logs, _loss_keys(logs)):
            return
        row = {"epoch": epoch}
        for key, value in logs.items():
            try:
                row[key] = float(np.asarray(value))
            except (TypeError, ValueError):
                row[key] = value
        self.rows = [r for r in self.rows if int(float(r["epoch"])) != epoch] + [row]
        self._write()

    def _write(self) -> None:
        from kerasdl.export import atomic_file

        keys = sorted({key for row in self.rows for key in row} - {"epoch"})
        text = io.StringIO()
        if self.rows:
            writer = csv.DictWriter(text, fieldnames=["epoch", *keys], restval="", lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.rows)
        with atomic_file(self.path, suffix=".csv") as tmp:
            tmp.write_text(text.getvalue())
