"""Image grids of generated samples: :class:`SampleGrid` (a callback) and the helpers it uses.

- :func:`to_uint8`, :func:`tile_images` and :func:`save_image_grid` turn a batch of float
  images into one PNG mosaic (the apps' reconstructions, interpolations and manifolds too);
- :class:`SampleGrid` decodes the **same** latent vectors (and labels) at the end of every
  epoch and writes them as one PNG, so progress is visible epoch by epoch;
- :class:`InceptionScoreCurve` records the MNIST-analogue Inception Score of a GAN's
  fixed-seed samples every few epochs (``benchmarks/generative.py``'s score curves).

Checkpoints with resume and the NaN stop (:class:`~kerasdl.training.resumable.TrainingCheckpoint`)
are generic and live in :mod:`kerasdl.training.resumable`.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from kerasdl._validation import check_int


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
        mosaic[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + q * (w + pad) : pad + q * (w + pad) + w] = image
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

    def __init__(
        self,
        directory,
        generator,
        latent_dim: int,
        num_samples: int = 64,
        num_classes: int | None = None,
        value_range=(-1.0, 1.0),
        ncols: int = 8,
        seed: int = 0,
        prefix: str = "samples",
    ):
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
        """The generator's images for the callback's fixed latent vectors (and labels, if conditional)."""
        generator = (
            self.generator()
            if not isinstance(self.generator, keras.Model) and callable(self.generator)
            else self.generator
        )
        inputs = self.latent if self.labels is None else [self.latent, self.labels]
        return np.asarray(generator(inputs, training=False))

    def on_epoch_end(self, epoch, logs=None):
        images = self.sample()
        if not np.isfinite(images).all():
            return  # a diverged generator: no grid of NaN pixels
        path = self.directory / f"{self.prefix}_epoch_{epoch + 1:03d}.png"
        self.paths.append(save_image_grid(images, path, self.ncols, self.value_range))


class InceptionScoreCurve(keras.callbacks.Callback):
    """Append ``[epoch, IS]`` to ``curve`` every ``every`` epochs (0: never).

    The IS is the MNIST-analogue Inception Score (5 splits) that ``evaluator`` (a
    :class:`~kerasdl.generative.evaluation.GenerativeEvaluator`) gives ``num_samples`` images
    ``gan.generate(num_samples, seed=seed)`` in the generator's tanh range.
    """

    def __init__(self, gan, evaluator, every: int, seed: int, curve: list, num_samples: int = 5_000):
        super().__init__()
        self.gan, self.evaluator, self.every, self.seed, self.curve = gan, evaluator, every, seed, curve
        self.num_samples = num_samples

    def on_epoch_end(self, epoch, logs=None):
        if self.every and (epoch + 1) % self.every == 0:
            score, _ = self.evaluator.inception_score(
                self.gan.generate(self.num_samples, seed=self.seed), splits=5, value_range=(-1, 1)
            )
            self.curve.append([epoch + 1, round(score, 3)])
            print(f"epoch {epoch + 1}: IS {score:.3f} ({self.num_samples:,} samples)", flush=True)
