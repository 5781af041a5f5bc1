"""Elastic distortion of images (Simard, Steinkraus & Platt 2003), a tf.data augmentation layer.

Simard et al., "Best Practices for Convolutional Neural Networks Applied to Visual Document
Analysis" (ICDAR 2003), §2: draw a random displacement for every pixel, Δx(i, j) and
Δy(i, j) independently uniform in [−1, 1], smooth each field with a Gaussian of standard
deviation σ (pixels), scale it by α, and resample the image bilinearly at
(i + α·(G_σ ∗ Δy), j + α·(G_σ ∗ Δx)). Small σ gives noise-like moves; large σ nearly
rigid ones; in between the strokes bend the way a hand's do. With σ = 4, α = 34 on MNIST,
their convolutional network's test error fell from 0.6% (affine distortions) to 0.4%.

Written here rather than taken from Keras because Keras 3.15's ``RandomElasticTransform``
(and ``keras.ops.image.elastic_transform`` under TensorFlow) draws Δx and Δy from the same
seed, so every pixel moves along the diagonal (Δx = Δy), its largest α for a 28-pixel image
is 2.8, and it resamples one image at a time in a Python loop over a static batch size.
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np

from kerasdl._backend import require_tensorflow
from kerasdl._validation import check_float


@keras.saving.register_keras_serializable(package="kerasdl")
class RandomElasticDistortion(keras.layers.Layer):
    """Random elastic distortion (Simard et al. 2003, §2) of a batch of NHWC images.

    Each image gets its own displacement field, the same for all its channels. Pixels that
    come from outside the image take ``fill_value``. Active only with ``training=True``
    (``kerasdl.data.make_dataset`` calls augmentation that way); at inference the images pass
    unchanged. TensorFlow only (like :class:`~kerasdl.layers.HubLayer`): it is built for
    ``tf.data`` pipelines; on another Keras backend it raises ``TensorFlowBackendRequired``.

    Args:
        alpha: α, the scale of the smoothed displacement field, in pixels (Simard's MNIST: 34).
            The displacement's standard deviation is about ``alpha / (sigma * sqrt(12 π))``
            (1.4 pixels at α = 34, σ = 4).
        sigma: σ, the standard deviation of the Gaussian smoothing, in pixels (Simard's: 4).
        fill_value: the value of pixels moved in from outside the image.
        seed: an integer seeds the sequence of fields (a rerun sees the same distortions);
            ``None`` draws them nondeterministically.
    """

    def __init__(self, alpha=34.0, sigma=4.0, fill_value=0.0, seed=None, **kwargs):
        require_tensorflow("RandomElasticDistortion (a tf.data augmentation)")
        super().__init__(**kwargs)
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self.sigma = check_float("sigma", sigma, minimum=0.0, min_inclusive=False)
        self.fill_value = check_float("fill_value", fill_value)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        import tensorflow as tf

        # The normalised 1-D Gaussian of the separable blur, computed once.
        radius = max(1, math.ceil(3 * self.sigma))
        weights = np.exp(-0.5 * (np.arange(-radius, radius + 1) / self.sigma) ** 2)
        self._kernel = (weights / weights.sum()).astype("float32")
        # Created here, eagerly, so a tf.data map or tf.function captures one state and advances it.
        self._generator = (
            tf.random.Generator.from_non_deterministic_state()
            if seed is None
            else tf.random.Generator.from_seed(self.seed)
        )

    def displacements(self, batch, height, width):
        """α·(G_σ ∗ U(−1, 1)) fields ``(dy, dx)``, each ``(batch, height, width)``."""
        import tensorflow as tf

        noise = self._generator.uniform(tf.stack([2 * batch, height, width, 1]), -1.0, 1.0)
        kernel = tf.constant(self._kernel)
        # The 2-D Gaussian is separable: blur down the columns, then along the rows.
        smooth = tf.nn.conv2d(noise, tf.reshape(kernel, [-1, 1, 1, 1]), strides=1, padding="SAME")
        smooth = tf.nn.conv2d(smooth, tf.reshape(kernel, [1, -1, 1, 1]), strides=1, padding="SAME")
        smooth = self.alpha * smooth[..., 0]
        return smooth[:batch], smooth[batch:]

    def call(self, images, training=None):
        if not training or self.alpha == 0.0:
            return images
        import tensorflow as tf

        images = tf.convert_to_tensor(images)
        if images.shape.rank != 4:
            raise ValueError(f"RandomElasticDistortion expects a batch of NHWC images, got shape {images.shape}")
        shape = tf.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        dy, dx = self.displacements(batch, height, width)
        rows = tf.cast(tf.range(height), tf.float32)[None, :, None] + dy
        cols = tf.cast(tf.range(width), tf.float32)[None, None, :] + dx
        # Resampled in float32 whatever the images' dtype; uint8 and other integers are rounded back.
        out = bilinear_sample(tf.cast(images, tf.float32), rows, cols, self.fill_value)
        if images.dtype.is_integer:
            return tf.saturate_cast(tf.round(out), images.dtype)
        return tf.cast(out, images.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "sigma": self.sigma,
            "fill_value": self.fill_value,
            "seed": self.seed,
        }


def bilinear_sample(images, rows, cols, fill_value=0.0):
    """``images`` (B, H, W, C) read at real-valued ``rows``/``cols`` (B, H', W') by bilinear
    interpolation; the four neighbours outside the image count as ``fill_value``."""
    import tensorflow as tf

    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    row0, col0 = tf.floor(rows), tf.floor(cols)
    row_frac, col_frac = (rows - row0)[..., None], (cols - col0)[..., None]
    row0, col0 = tf.cast(row0, tf.int32), tf.cast(col0, tf.int32)
    batch_index = tf.broadcast_to(tf.range(shape[0])[:, None, None], tf.shape(row0))
    fill = tf.cast(fill_value, images.dtype)

    def pixel(r, c):
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        index = tf.stack([batch_index, tf.clip_by_value(r, 0, height - 1), tf.clip_by_value(c, 0, width - 1)], -1)
        return tf.where(inside[..., None], tf.gather_nd(images, index), fill)

    top = (1 - col_frac) * pixel(row0, col0) + col_frac * pixel(row0, col0 + 1)
    bottom = (1 - col_frac) * pixel(row0 + 1, col0) + col_frac * pixel(row0 + 1, col0 + 1)
    return (1 - row_frac) * top + row_frac * bottom
