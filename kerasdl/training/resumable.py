"""``fit`` that a run folder can resume: checkpoints, a NaN stop that fails the run, and a
history that spans resumes.

:func:`fit_resumable` trains from the last ``tf.train.CheckpointManager`` checkpoint in
``run_dir/checkpoints`` (:class:`~kerasdl.training.generative_callbacks.TrainingCheckpoint`:
the model, its optimizers and the epoch count), applies learning rates asked for
explicitly over the checkpointed ones, stops on a NaN/inf loss with
:class:`~kerasdl.training.callbacks.TrainingDiverged` (exit status 1 in the CLI, nothing
exported), and keeps ``run_dir/history.csv`` truncated to the checkpoint's epochs, so a
resume after a NaN stop repeats no epoch. :func:`read_history` reads that CSV back.
Used by the generative apps (``kerasdl autoencoder``, ``vae``, ``gan``) and
``benchmarks/generative.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path


def fit_resumable(model, train_ds, epochs: int, run_dir, *, validation_data=None, callbacks=(), verbose=2,
                  learning_rates: dict | None = None, announce_run=None):
    """``model.fit`` from the last checkpoint in ``run_dir/checkpoints`` to ``epochs``.

    ``learning_rates``: ``{optimizer name: value}`` the command line asked for explicitly;
    applied over the checkpointed ones on resume (see :meth:`TrainingCheckpoint.restore`).
    ``announce_run``: called as ``announce_run(run_dir, checkpoint=<callable returning the last
    checkpoint's path or None>, resumable=True)`` before training; the apps pass
    :func:`kerasdl.cli.record_run`, so Ctrl-C names the last checkpoint and the ``--resume``
    command (the library itself does not import the CLI). A NaN/inf loss raises
    ``TrainingDiverged`` naming the last finite checkpoint (or saying there is none): the
    caller exports nothing.

    Returns ``(logs, checkpoint)``: ``logs`` is the whole run's per-epoch history read back
    from ``run_dir/history.csv`` (so a resumed run plots every epoch), ``checkpoint`` the
    :class:`TrainingCheckpoint` (``epoch``: the epochs its last checkpoint holds).
    """
    from kerasdl.training.callbacks import HistoryCSV, TrainingDiverged
    from kerasdl.training.generative_callbacks import TrainingCheckpoint

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
        model.fit(train_ds, epochs=epochs, initial_epoch=initial_epoch, validation_data=validation_data,
                  callbacks=[checkpoint, history_csv, *callbacks], verbose=verbose, shuffle=False)
    if checkpoint.stopped_on_nan is not None:
        kept = checkpoint.latest
        where = (f"the last finite checkpoint is {kept} (epoch {int(checkpoint.epoch.numpy())}); continue from it "
                 f"with --resume {run_dir} and a lower --learning-rate" if kept else
                 "no finite checkpoint was written; try a lower --learning-rate")
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
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})
            if key != "epoch" and all(row[key] not in ("", "NA") for row in rows)}
