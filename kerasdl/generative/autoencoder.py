"""Autoencoder training with a custom ``train_step``: denoising corruption and sparsity penalties.

:class:`DenoisingAutoencoder` wraps any image-to-image model (e.g. the ``autoencoder`` of
:func:`kerasdl.generative.autoencoder_networks.dense_autoencoder`) and, **in training only**, corrupts each
batch before encoding while the target stays the clean batch (Vincent et al., "Extracting
and Composing Robust Features with Denoising Autoencoders", ICML 2008):

- Gaussian noise ``x + N(0, noise_std²)``, clipped to [0, 1];
- masking noise: a random fraction ``mask_fraction`` of the pixels set to 0 (no rescaling,
  which is why Keras' ``Dropout`` does not fit).

With both at 0 it is a plain autoencoder; ``benchmarks/generative.py`` times that case
against ``model.fit`` with ``loss="binary_crossentropy"`` (the custom-step overhead).
Activity penalties of the wrapped model (sparse codes) are added to the loss.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_float
from kerasdl.generative.losses import mean_pixel_crossentropy
from kerasdl.training.compile import CustomModelCompile


def corrupt(x, noise_std: float = 0.0, mask_fraction: float = 0.0, seed=None):
    """Gaussian (clipped to [0, 1]) and/or masking noise on a batch of images in [0, 1]."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x, dtype="float32")
    if noise_std > 0:
        x = tf.clip_by_value(x + noise_std * tf.random.normal(tf.shape(x), seed=seed), 0.0, 1.0)
    if mask_fraction > 0:
        x = x * tf.cast(tf.random.uniform(tf.shape(x), seed=seed) >= mask_fraction, x.dtype)
    return x


class DenoisingAutoencoder(CustomModelCompile, keras.Model):
    """``DenoisingAutoencoder(autoencoder, noise_std=0.0, mask_fraction=0.0)``.

    ``compile(optimizer="adam", learning_rate=None, *, jit_compile="auto")``, the custom-model
    contract of :mod:`kerasdl.training.compile`; the loss is built in: binary cross-entropy averaged over pixels
    (what ``loss="binary_crossentropy"`` gives), plus the model's activity penalties.
    ``fit`` takes clean images (or ``(images, anything)``); it reports ``loss`` and
    ``reconstruction_loss``. ``evaluate`` corrupts the same way, so ``val_loss`` is the
    denoising loss; ``model(x)`` reconstructs ``x`` without corrupting it.
    """

    def __init__(self, autoencoder, noise_std: float = 0.0, mask_fraction: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.autoencoder = autoencoder
        self.noise_std = check_float("noise_std", noise_std, minimum=0.0)
        self.mask_fraction = check_float("mask_fraction", mask_fraction, minimum=0.0, maximum=1.0, max_inclusive=False)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker]

    def trained_variables(self) -> list:
        """The wrapped autoencoder's weights: what ``train_step`` updates."""
        return self.autoencoder.trainable_variables

    def checkpoint_trackables(self) -> dict:
        """What a resumable checkpoint must hold: the wrapped autoencoder and the optimizer."""
        return {"autoencoder": self.autoencoder, "optimizer": self.optimizer}

    def call(self, inputs, training=False):
        return self.autoencoder(inputs, training=training)

    def _denoising_losses(self, data, training):
        import tensorflow as tf

        x = data[0] if isinstance(data, (tuple, list)) else data
        noisy = corrupt(x, self.noise_std, self.mask_fraction)
        reconstruction = self.autoencoder(noisy, training=training)
        per_example = mean_pixel_crossentropy(x, reconstruction)
        rec = tf.nn.compute_average_loss(per_example)
        penalty = tf.add_n(self.autoencoder.losses) if self.autoencoder.losses else tf.constant(0.0)
        return rec + tf.nn.scale_regularization_loss(penalty), per_example, penalty

    def train_step(self, data):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, per_example, penalty = self._denoising_losses(data, training=True)
            loss = self.optimizer.scale_loss(loss)  # loss scaling under mixed_float16, else identity
        variables = self.trained_variables()
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self._update(per_example, penalty)

    def test_step(self, data):
        _, per_example, penalty = self._denoising_losses(data, training=False)
        return self._update(per_example, penalty)

    def _update(self, per_example, penalty):
        self.reconstruction_tracker.update_state(per_example)
        self.loss_tracker.update_state(per_example + penalty)
        return {m.name: m.result() for m in self.metrics}
