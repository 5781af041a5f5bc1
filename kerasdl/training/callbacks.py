"""The usual Keras callbacks, configured in one call."""

from __future__ import annotations

import time
from pathlib import Path

import keras

from kerasdl._validation import check_float, check_int


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
    - ``checkpoint_path``: ``ModelCheckpoint(save_best_only=True)`` on ``monitor`` (a
      ``.keras`` or ``.weights.h5`` path), so a run that blows up keeps its last good model.
    - ``tensorboard_dir``: ``TensorBoard`` logs; ``csv_path``: ``CSVLogger``.
    - ``terminate_on_nan``: ``TerminateOnNaN`` stops at the first NaN/inf loss (on by default).
    """
    callbacks = []
    if terminate_on_nan:
        callbacks.append(keras.callbacks.TerminateOnNaN())
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
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                str(path), monitor=monitor, save_best_only=True,
                save_weights_only=path.name.endswith(".weights.h5"),
            )
        )
    if tensorboard_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir)))
    if csv_path is not None:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(str(csv_path)))
    return callbacks
