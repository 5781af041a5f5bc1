"""``fit`` that a run folder can resume: checkpoints, a NaN stop that fails the run, and a
history that spans resumes.

:class:`TrainingCheckpoint` keeps ``tf.train.CheckpointManager`` checkpoints of a model's
networks, their optimizers and the epoch counter; :meth:`TrainingCheckpoint.restore`
returns the epoch to resume from (``fit(..., initial_epoch=...)``) and applies new
learning rates a resumed run asks for. If a loss becomes NaN/inf it stops training with
a message, puts the last good checkpoint back into the model and never overwrites it.

Keras' ``BackupAndRestore`` also resumes an interrupted ``fit``, but it saves only
``model.save_weights`` of the outer model (the networks of a GAN/VAE subclass and the
second optimizer are not in its files in a form another program can reuse), keeps a single
backup that it deletes when training ends, and has no NaN handling; a
``tf.train.Checkpoint`` names every piece and keeps the last ``max_to_keep`` epochs.

:func:`fit_resumable` trains from the last checkpoint in ``run_dir/checkpoints``
(:class:`TrainingCheckpoint`: the model, its optimizers and the epoch count), applies
learning rates asked for explicitly over the checkpointed ones, stops on a NaN/inf loss with
:class:`~kerasdl.training.callbacks.TrainingDiverged` (exit status 1 in the CLI, nothing
exported), and keeps ``run_dir/history.csv`` truncated to the checkpoint's epochs, so a
resume after a NaN stop repeats no epoch. :func:`read_history` reads that CSV back.
Used by the generative apps (``kerasdl autoencoder``, ``vae``, ``gan``).
Generic: any model with ``checkpoint_trackables()`` (the :mod:`kerasdl.generative` models),
or any compiled model (then the model and its optimizer are checkpointed).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import keras
import numpy as np

from kerasdl._validation import check_int
from kerasdl.training.callbacks import non_finite_values, non_finite_variables


def _trackables(model) -> dict:
    """What to checkpoint: ``model.checkpoint_trackables()`` if it has one, else model + optimizer."""
    if hasattr(model, "checkpoint_trackables"):
        return dict(model.checkpoint_trackables())
    items = {"model": model}
    if getattr(model, "optimizer", None) is not None:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        items["optimizer"] = model.optimizer
    return items


class TrainingCheckpoint(keras.callbacks.Callback):
    """``tf.train.CheckpointManager`` checkpoints each epoch, resume, and stop on NaN.

    Usage::

        ckpt = TrainingCheckpoint("runs/gan/ckpt", model)     # model compiled (optimizers built)
        initial_epoch = ckpt.restore()                        # 0 on a fresh folder
        model.fit(ds, epochs=20, initial_epoch=initial_epoch, callbacks=[ckpt])

    The checkpoint holds what ``model.checkpoint_trackables()`` names (the GAN and VAE
    models here: their networks and optimizers) or the model and its optimizer, plus an
    ``epoch`` counter. A checkpoint is written only at the end of an epoch whose logs and
    weights are all finite. On the first NaN/inf in a batch's logs training stops, a message
    names the value and the checkpoint kept, and that checkpoint's weights are restored in
    memory (with no checkpoint yet, the model keeps its non-finite weights: check
    ``stopped_on_nan`` before using it).
    """

    def __init__(self, directory, model, max_to_keep: int = 3, verbose: bool = True):
        super().__init__()
        import tensorflow as tf

        self.directory = Path(directory)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.trackables = _trackables(model)
        self.checkpoint = tf.train.Checkpoint(epoch=self.epoch, **self.trackables)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.directory), max_to_keep=check_int("max_to_keep", max_to_keep, minimum=1)
        )
        self.verbose = verbose
        self.stopped_on_nan: str | None = None  # the message, once a NaN/inf stopped training
        self.diverged_at: str | None = None  # where: "non-finite loss at epoch E, batch B (name=value)"

    @property
    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def restore(self, learning_rates: dict | None = None) -> int:
        """Restore the latest checkpoint (if any) and return the number of finished epochs.

        ``learning_rates``: ``{optimizer's name in the checkpoint: value}`` to apply after
        the restore, which would otherwise bring back the checkpointed rates: a resumed run
        that asks for a new learning rate gets it, and each change is printed.
        """
        for name in learning_rates or {}:
            if not isinstance(self.trackables.get(name), keras.optimizers.Optimizer):
                optimizers = [k for k, v in self.trackables.items() if isinstance(v, keras.optimizers.Optimizer)]
                raise ValueError(f"no optimizer {name!r} in this checkpoint; it has: {', '.join(optimizers)}")
        if self.manager.latest_checkpoint is None:
            return 0
        self.checkpoint.restore(self.manager.latest_checkpoint).assert_existing_objects_matched()
        if self.verbose:
            print(f"resuming from {self.manager.latest_checkpoint} (epoch {int(self.epoch.numpy())} finished)")
        for name, value in (learning_rates or {}).items():
            optimizer = self.trackables[name]
            old = float(np.asarray(optimizer.learning_rate))
            if not math.isclose(old, value, rel_tol=1e-6):
                optimizer.learning_rate = value
                print(f"{name}: learning rate changed from {old:.6g} (checkpoint) to {value:.6g}")
        return int(self.epoch.numpy())

    def _diverged(self, where: str, bad: list[str]) -> None:
        """Stop training, say so, and put the last good checkpoint back into the model."""
        kept = self.manager.latest_checkpoint
        self.diverged_at = f"non-finite {where} ({', '.join(bad)})"
        self.stopped_on_nan = (
            f"{self.diverged_at}; training stopped. Last good checkpoint kept: {kept or 'none (no epoch finished)'}"
        )
        print(self.stopped_on_nan)
        if kept is not None:
            self.checkpoint.restore(kept)
        self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        bad = non_finite_values(logs)
        if bad and self.stopped_on_nan is None:
            self._diverged(f"loss at epoch {self._current_epoch + 1}, batch {batch + 1}", bad)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped_on_nan is not None:
            return
        bad = non_finite_values(logs) or non_finite_variables(self.model)
        if bad:
            self._diverged(f"values at the end of epoch {epoch + 1}", bad[:3])
            return
        self.epoch.assign(epoch + 1)
        path = self.manager.save(checkpoint_number=epoch + 1)
        if self.verbose:
            print(f"checkpoint {path}")


def fit_resumable(
    model,
    train_ds,
    epochs: int,
    run_dir,
    *,
    validation_data=None,
    callbacks=(),
    verbose=2,
    learning_rates: dict | None = None,
    announce_run=None,
):
    """``model.fit`` from the last checkpoint in ``run_dir/checkpoints`` to ``epochs``.

    ``learning_rates``: ``{optimizer name: value}`` the command line asked for explicitly;
    applied over the checkpointed ones on resume (see :meth:`TrainingCheckpoint.restore`).
    ``announce_run``: called as ``announce_run(run_dir, checkpoint=<callable returning the last
    checkpoint's path or None>, resumable=True)`` before training; the apps pass
    :func:`kerasdl._runs.record_run`, so Ctrl-C names the last checkpoint and the ``--resume``
    command (the library itself does not import the CLI). A NaN/inf loss raises
    ``TrainingDiverged`` naming the last finite checkpoint (or saying there is none): the
    caller exports nothing.

    Returns ``(logs, checkpoint)``: ``logs`` is the whole run's per-epoch history read back
    from ``run_dir/history.csv`` (so a resumed run plots every epoch), ``checkpoint`` the
    :class:`TrainingCheckpoint` (``epoch``: the epochs its last checkpoint holds).
    """
    from kerasdl.training.callbacks import HistoryCSV, TrainingDiverged

    run_dir = Path(run_dir)
    checkpoint = TrainingCheckpoint(run_dir / "checkpoints", model)
    if announce_run is not None:
        announce_run(run_dir, checkpoint=lambda: checkpoint.latest, resumable=True)
    initial_epoch = checkpoint.restore(learning_rates=learning_rates)
    history_csv = HistoryCSV(run_dir / "history.csv", keep_epochs=initial_epoch)
    if initial_epoch >= epochs:
        print(f"{run_dir}: {initial_epoch} epochs already done (asked for {epochs}); nothing to train")
        history_csv.on_train_begin()  # still drop rows past the checkpoint
    else:
        model.fit(
            train_ds,
            epochs=epochs,
            initial_epoch=initial_epoch,
            validation_data=validation_data,
            callbacks=[checkpoint, history_csv, *callbacks],
            verbose=verbose,
            shuffle=False,
        )
    if checkpoint.stopped_on_nan is not None:
        kept = checkpoint.latest
        where = (
            f"the last finite checkpoint is {kept} (epoch {int(checkpoint.epoch.numpy())}); continue from it "
            f"with --resume {run_dir} and a lower --learning-rate"
            if kept
            else "no finite checkpoint was written; try a lower --learning-rate"
        )
        raise TrainingDiverged(f"training diverged: {checkpoint.diverged_at}; nothing exported, {where}", kept)
    return read_history(run_dir / "history.csv"), checkpoint


def read_history(path) -> dict:
    """A CSVLogger file → ``{"metric": [per-epoch values]}`` (the epoch column dropped)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f))
    # CSVLogger writes "NA" for val_ columns of a run without validation data: drop those.
    return {
        key: [float(row[key]) for row in rows]
        for key in (rows[0] if rows else {})
        if key != "epoch" and all(row[key] not in ("", "NA") for row in rows)
    }
