"""Callbacks for generative training: sample grids per epoch, checkpoints with resume.

- :class:`SampleGrid` decodes the **same** latent vectors (and labels) at the end of every
  epoch and writes them as one PNG, so progress is visible epoch by epoch.
- :class:`TrainingCheckpoint` keeps ``tf.train.CheckpointManager`` checkpoints of the
  networks, their optimizers and the epoch counter; :meth:`TrainingCheckpoint.restore`
  returns the epoch to resume from (``fit(..., initial_epoch=...)``) and applies new
  learning rates a resumed run asks for. If a loss becomes NaN/inf it stops training with
  a message, puts the last good checkpoint back into the model and never overwrites it.

Keras' ``BackupAndRestore`` also resumes an interrupted ``fit``, but it saves only
``model.save_weights`` of the outer model (the networks of a GAN/VAE subclass and the
second optimizer are not in its files in a form another program can reuse), keeps a single
backup that it deletes when training ends, and has no NaN handling; a
``tf.train.Checkpoint`` names every piece and keeps the last ``max_to_keep`` epochs.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from kerasdl._validation import check_int
from kerasdl.training.callbacks import non_finite_values, non_finite_variables


def to_uint8(images, value_range=(0.0, 1.0)) -> np.ndarray:
    """Float images in ``value_range`` → uint8 0..255 (clipped, rounded)."""
    low, high = value_range
    images = (np.asarray(images, dtype="float32") - low) / (high - low)
    return np.clip(np.round(images * 255.0), 0, 255).astype("uint8")


def tile_images(images, ncols: int = 8, value_range=(0.0, 1.0), pad: int = 1) -> np.ndarray:
    """A batch (N, H, W[, C]) → one uint8 mosaic image (rows of ``ncols``), 1-pixel gaps."""
    images = to_uint8(images, value_range)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty batch (N, H, W[, C]), got shape {images.shape}")
    n, h, w, c = images.shape
    ncols = max(1, min(check_int("ncols", ncols, minimum=1), n))
    nrows = math.ceil(n / ncols)
    mosaic = np.zeros((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), dtype="uint8")
    for i, image in enumerate(images):
        r, q = divmod(i, ncols)
        mosaic[pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = image
    return mosaic


def save_image_grid(images, path, ncols: int = 8, value_range=(0.0, 1.0)) -> Path:
    """Write :func:`tile_images` of ``images`` as a PNG (``keras.utils.save_img``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keras.utils.save_img(path, tile_images(images, ncols, value_range), scale=False)
    return path


class SampleGrid(keras.callbacks.Callback):
    """Save ``generator(fixed inputs)`` as ``<directory>/<prefix>_epoch_NNN.png`` after each epoch.

    Args:
        directory: where the PNGs go.
        generator: a model mapping latent vectors (and labels) to images; a callable
            returning it is accepted too (e.g. ``lambda: gan.generator``).
        latent_dim: size of the latent vectors; ``num_samples`` of them are drawn once
            from N(0, I) with ``seed`` and reused every epoch.
        num_classes: for a conditional generator: labels ``0, 1, ..., num_classes-1`` cycled.
        value_range: the generator's output range (``(-1, 1)`` for tanh GANs).
    """

    def __init__(self, directory, generator, latent_dim: int, num_samples: int = 64, num_classes: int | None = None,
                 value_range=(-1.0, 1.0), ncols: int = 8, seed: int = 0, prefix: str = "samples"):
        super().__init__()
        self.directory = Path(directory)
        self.generator = generator
        latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        num_samples = check_int("num_samples", num_samples, minimum=1)
        self.latent = np.random.default_rng(seed).standard_normal((num_samples, latent_dim)).astype("float32")
        self.labels = None if num_classes is None else (np.arange(num_samples) % num_classes).astype("int32")
        self.value_range, self.ncols, self.prefix = value_range, ncols, prefix
        self.paths: list[Path] = []

    def sample(self) -> np.ndarray:
        generator = self.generator() if not isinstance(self.generator, keras.Model) and callable(self.generator) \
            else self.generator
        inputs = self.latent if self.labels is None else [self.latent, self.labels]
        return np.asarray(generator(inputs, training=False))

    def on_epoch_end(self, epoch, logs=None):
        images = self.sample()
        if not np.isfinite(images).all():
            return  # a diverged generator: no grid of NaN pixels
        path = self.directory / f"{self.prefix}_epoch_{epoch + 1:03d}.png"
        self.paths.append(save_image_grid(images, path, self.ncols, self.value_range))


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
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory),
                                                  max_to_keep=check_int("max_to_keep", max_to_keep, minimum=1))
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
        self.stopped_on_nan = (f"{self.diverged_at}; training stopped. "
                               f"Last good checkpoint kept: {kept or 'none (no epoch finished)'}")
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
