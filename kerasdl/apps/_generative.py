"""Pieces the generative apps (``autoencoder``, ``vae``, ``gan``) share.

- command-line flags for data, training length, run folder and resume;
- :func:`load_images`: MNIST when it is on disk, else scikit-learn's digits at 28x28;
- :func:`fit_resumable`: ``fit`` with ``tf.train.CheckpointManager`` checkpoints in the run
  folder, resume (``--resume RUN_DIR``, with a new ``--learning-rate`` applied), a NaN stop
  that fails the run (:class:`~kerasdl.training.callbacks.TrainingDiverged`, exit status 1,
  nothing exported), and a CSV history that spans resumes (truncated to the checkpoint's
  epochs, so a resume after a NaN stop repeats no epoch);
- :func:`export_image_generator`: a SavedModel whose ``serve`` signature takes float32
  latent vectors (and int32 labels) and returns uint8 images, with clear errors for a
  latent of the wrong size or a label out of range (checked inside the graph, so a client
  without kerasdl sees them).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from kerasdl.apps._common import add_runtime_arguments, new_run_dir

# Exported images may differ from the in-memory model's by rounding at most (1 grey level).
MAX_EXPORT_DIFF = 1


def add_generative_arguments(parser, *, app: str, epochs_mnist: int, epochs_digits: int, batch_size: int = 128,
                             learning_rate: float = 1e-3) -> None:
    parser.add_argument("--dataset", choices=["mnist", "digits"], default=None,
                        help="training images (default: mnist when on disk, else digits)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"training epochs in all, including resumed ones (default: {epochs_mnist} on mnist, "
                             f"{epochs_digits} on digits)")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help=f"learning rate (new run: {learning_rate:g} when not given; with --resume: the "
                             "checkpoint's unless given)")
    parser.add_argument("--max-train", type=int, default=None, help="use at most this many training images")
    parser.add_argument("--runs-dir", default=f"runs/{app}", help="run folders (curves, samples, checkpoints) go here")
    parser.add_argument("--resume", default=None, metavar="RUN_DIR",
                        help="continue an interrupted run from the last checkpoint in RUN_DIR/checkpoints")
    parser.add_argument("--export", dest="export_dir", default=f"saved_models/{app}",
                        help="SavedModel goes to EXPORT/<run-id>/")
    add_runtime_arguments(parser)
    parser.set_defaults(_epochs_by_dataset={"mnist": epochs_mnist, "digits": epochs_digits},
                        _default_learning_rate=learning_rate)


def check_common_arguments(args) -> None:
    """ValueErrors naming the flag for values the apps cannot use."""
    from kerasdl._validation import check_float, check_int

    if args.epochs is not None:
        check_int("epochs", args.epochs, minimum=1)
    check_int("batch_size", args.batch_size, minimum=1)
    if args.learning_rate is not None:
        check_float("learning_rate", args.learning_rate, minimum=0.0, min_inclusive=False)
    if args.max_train is not None:
        check_int("max_train", args.max_train, minimum=1)
    if args.resume is not None and not (Path(args.resume) / "checkpoints").is_dir():
        raise FileNotFoundError(f"--resume {args.resume}: no checkpoints/ folder there to resume from")


def load_images(args):
    """``(data, epochs)``: float32 [0, 1] images (N, 28, 28, 1) with labels, and the epoch count."""
    from kerasdl.data import default_dataset, load_image_classification

    name = args.dataset or default_dataset()
    data = load_image_classification(name)
    if args.max_train is not None:
        data.x_train, data.y_train = data.x_train[: args.max_train], data.y_train[: args.max_train]
    reason = "" if args.dataset else (" (found on disk)" if name == "mnist" else
                                      " (MNIST not found, set KERASDL_DATA_DIR; embedded default)")
    print(f"training on {name}{reason}: {len(data.x_train)} train / {len(data.x_test)} test images", flush=True)
    return data, args.epochs or args._epochs_by_dataset[name]


def learning_rate(args) -> float:
    """``--learning-rate``, or the app's default when the flag was not given."""
    return args._default_learning_rate if args.learning_rate is None else args.learning_rate


def run_folder(args, app: str) -> Path:
    return Path(args.resume) if args.resume else new_run_dir(args.runs_dir, app)


def fit_resumable(model, train_ds, epochs: int, run_dir: Path, *, validation_data=None, callbacks=(), verbose=2,
                  learning_rates: dict | None = None):
    """``model.fit`` from the last checkpoint in ``run_dir/checkpoints`` to ``epochs``.

    ``learning_rates``: ``{optimizer name: value}`` the command line asked for explicitly;
    applied over the checkpointed ones on resume (see :meth:`TrainingCheckpoint.restore`).
    The run is recorded with :func:`kerasdl.cli.record_run`, so Ctrl-C names the last
    checkpoint and the ``--resume`` command. A NaN/inf loss raises ``TrainingDiverged``
    naming the last finite checkpoint (or saying there is none): the caller exports nothing.

    Returns ``(logs, checkpoint)``: ``logs`` is the whole run's per-epoch history read back
    from ``run_dir/history.csv`` (so a resumed run plots every epoch), ``checkpoint`` the
    :class:`TrainingCheckpoint` (``epoch``: the epochs its last checkpoint holds).
    """
    from kerasdl.cli import record_run
    from kerasdl.training.callbacks import HistoryCSV, TrainingDiverged
    from kerasdl.training.generative_callbacks import TrainingCheckpoint

    checkpoint = TrainingCheckpoint(run_dir / "checkpoints", model)
    record_run(run_dir, checkpoint=lambda: checkpoint.latest, resumable=True)
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


def export_image_generator(generator, path, *, value_range=(0.0, 1.0), num_classes: int | None = None,
                           overwrite: bool = False) -> Path:
    """Write ``generator`` as a SavedModel: ``serve(latent[, label]) → {"images": uint8 (N, H, W, C)}``.

    ``latent``: float32 (N, latent_dim); ``label`` (conditional generators): int32 (N,).
    An empty batch (N = 0) gives 0 images of the generator's image shape: the generator runs
    through :func:`kerasdl.export.call_on_batch`, because TensorFlow's CPU (oneDNN) transposed
    convolution returns a 0-row batch with the wrong channel count on some builds.
    A generator with NaN/inf weights is refused (``TrainingDiverged``): NaN would serve as
    black images. The rescaling from ``value_range`` to 0..255 and the cast happen inside the graph. A
    latent of the wrong width, a label outside [0, num_classes) or a label count that differs
    from the latent count fails with ``InvalidArgumentError`` naming the input.
    """
    import keras
    import tensorflow as tf

    from kerasdl.export import atomic_directory, call_on_batch
    from kerasdl.training.callbacks import check_finite_weights

    check_finite_weights(generator, "generator")
    latent_dim = int(generator.inputs[0].shape[-1])
    low, high = (float(v) for v in value_range)

    def to_uint8(images):
        images = (tf.cast(images, tf.float32) - low) / (high - low)
        return tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)

    def checked_latent(latent):
        check = tf.debugging.assert_equal(
            tf.shape(latent)[1], latent_dim,
            message=f"latent must have shape (batch, {latent_dim}): this generator takes {latent_dim}-D latent vectors")
        with tf.control_dependencies([check]):
            return tf.ensure_shape(tf.identity(latent), [None, latent_dim])

    archive = keras.export.ExportArchive()
    archive.track(generator)
    latent_spec = tf.TensorSpec([None, None], tf.float32, name="latent")
    if num_classes is None:
        def serve(latent):  # an empty batch gives 0 images (kerasdl.export.call_on_batch)
            return call_on_batch(lambda z: {"images": to_uint8(generator(z, training=False))}, checked_latent(latent))

        archive.add_endpoint("serve", serve, input_signature=[latent_spec])
    else:
        def serve(latent, label):
            latent = checked_latent(latent)
            checks = [
                tf.debugging.assert_equal(tf.shape(label)[0], tf.shape(latent)[0],
                                          message="label must hold one class per latent vector"),
                tf.debugging.assert_greater_equal(label, 0, message=f"label must lie in [0, {num_classes - 1}]"),
                tf.debugging.assert_less(label, num_classes, message=f"label must lie in [0, {num_classes - 1}]"),
            ]
            with tf.control_dependencies(checks):
                label = tf.identity(label)
            # checked before call_on_batch, which pads an empty latent batch (and its labels) to one row
            return call_on_batch(lambda z, y: {"images": to_uint8(generator([z, y], training=False))}, latent, label)

        archive.add_endpoint("serve", serve, input_signature=[latent_spec, tf.TensorSpec([None], tf.int32, name="label")])
    with atomic_directory(path, overwrite=overwrite) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return Path(path)


def verify_export(path, generator, *, value_range=(0.0, 1.0), num_classes: int | None = None, seed: int = 0) -> int:
    """Reload the export with plain TensorFlow and return max |uint8 difference| vs the in-memory generator."""
    import numpy as np
    import tensorflow as tf

    from kerasdl.training.generative_callbacks import to_uint8

    latent_dim = int(generator.inputs[0].shape[-1])
    z = np.random.default_rng(seed).standard_normal((16, latent_dim)).astype("float32")
    inputs = [z] if num_classes is None else [z, (np.arange(16) % num_classes).astype("int32")]
    expected = to_uint8(generator(inputs if num_classes else z, training=False), value_range)
    loaded = tf.saved_model.load(str(path))  # keep a reference: its variables die with it
    served = loaded.serve(*[tf.constant(a) for a in inputs])["images"].numpy()
    if served.dtype != np.uint8 or served.shape != expected.shape:
        raise RuntimeError(f"export returned {served.dtype} {served.shape}, expected uint8 {expected.shape}")
    diff = int(np.abs(served.astype(int) - expected.astype(int)).max())
    if diff > MAX_EXPORT_DIFF:
        raise RuntimeError(f"reloaded export differs from the model by {diff} grey levels")
    return diff


def finish(run_dir: Path, summary: dict, start: float) -> dict:
    from kerasdl.apps._common import write_summary

    summary["seconds"] = round(time.perf_counter() - start, 1)
    write_summary(run_dir, summary)
    for key, value in summary.items():
        print(f"  {key:22s} {value}")
    return summary
