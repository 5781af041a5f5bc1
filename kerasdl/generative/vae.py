"""The variational autoencoder as a ``keras.Model`` with its own ``train_step``/``test_step``.

Loss per image = reconstruction + β · KL, the negative ELBO (Kingma & Welling 2014) for
β = 1 and the β-VAE objective (Higgins et al., ICLR 2017) otherwise:

- reconstruction: Bernoulli cross-entropy **summed** over pixels, −log p(x | z);
- KL: closed form KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²).

Both come from :mod:`kerasdl.generative.losses`; per-example losses are averaged over the
global batch, so ``fit`` works under any ``tf.distribute`` strategy and with ``jit_compile``.
"""

from __future__ import annotations

import keras
import numpy as np

from kerasdl._validation import check_float, check_int
from kerasdl.generative.losses import bernoulli_reconstruction, gaussian_kl
from kerasdl.training.compile import CustomModelCompile


def _images(data):
    return data[0] if isinstance(data, (tuple, list)) else data


class VAE(CustomModelCompile, keras.Model):
    """``VAE(encoder, decoder, beta=1.0)``; ``vae.compile("adam", 1e-3)`` or ``vae.compile(optimizer_instance)``
    (the custom-model contract of :mod:`kerasdl.training.compile`; the loss is built in).

    ``encoder(x)`` must return ``[z_mean, z_log_var, z]`` and ``decoder(z)`` pixel
    probabilities in [0, 1] (see :mod:`kerasdl.generative.vae_networks`). ``fit``/``evaluate`` report
    ``loss`` (total), ``reconstruction_loss`` and ``kl_loss``, each averaged per image.
    Inputs must be float images in [0, 1] (targets for the Bernoulli likelihood).
    ``vae(x)`` returns the reconstruction from a sampled z.
    """

    def __init__(self, encoder, decoder, beta: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = check_float("beta", beta, minimum=0.0, min_inclusive=False)
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = int(decoder.input_shape[-1])
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def trained_variables(self) -> list:
        """Encoder and decoder weights: what ``train_step`` updates and ``compile`` builds the optimizer for."""
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def checkpoint_trackables(self) -> dict:
        """What :class:`~kerasdl.training.resumable.TrainingCheckpoint` saves."""
        return {"encoder": self.encoder, "decoder": self.decoder, "optimizer": self.optimizer}

    def call(self, inputs, training=False):
        _, _, z = self.encoder(inputs, training=training)
        return self.decoder(z, training=training)

    def _vae_losses(self, x, training):
        import tensorflow as tf

        z_mean, z_log_var, z = self.encoder(x, training=training)
        reconstruction = self.decoder(z, training=training)
        rec = bernoulli_reconstruction(x, reconstruction)
        kl = gaussian_kl(z_mean, z_log_var)
        total = rec + self.beta * kl
        return tf.nn.compute_average_loss(total), total, rec, kl

    def _update(self, total, rec, kl):
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(rec)
        self.kl_loss_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        import tensorflow as tf

        x = _images(data)
        with tf.GradientTape() as tape:
            loss, total, rec, kl = self._vae_losses(x, training=True)
            loss = self.optimizer.scale_loss(loss)  # loss scaling under mixed_float16, else identity
        variables = self.trained_variables()
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        return self._update(total, rec, kl)

    def test_step(self, data):
        _, total, rec, kl = self._vae_losses(_images(data), training=False)
        return self._update(total, rec, kl)

    # ------------------------------------------------------------------ using a trained VAE

    def encode(self, x, batch_size: int = 256) -> np.ndarray:
        """The posterior means μ(x) (a deterministic code)."""
        return np.asarray(self.encoder.predict(x, batch_size=batch_size, verbose=0)[0])

    def generate(self, num_samples: int, seed: int = 0) -> np.ndarray:
        """Decode ``num_samples`` draws z ~ N(0, I) from the prior."""
        num_samples = check_int("num_samples", num_samples, minimum=1)
        z = np.random.default_rng(seed).standard_normal((num_samples, self.latent_dim)).astype("float32")
        return np.asarray(self.decoder(z, training=False))

    def interpolate(self, x_a, x_b, steps: int = 10) -> np.ndarray:
        """Decode the straight line between μ(x_a) and μ(x_b) in ``steps`` points (both ends included)."""
        steps = check_int("steps", steps, minimum=2)
        z_a, z_b = self.encode(np.stack([x_a, x_b]))
        t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
        return np.asarray(self.decoder((1.0 - t) * z_a + t * z_b, training=False))


def latent_manifold(decoder, n: int = 15, quantile: float = 0.95) -> np.ndarray:
    """Decode an ``n x n`` grid over a 2-D latent space → images (n*n, H, W, C), row-major.

    The grid points are the Gaussian quantiles Φ⁻¹(p) for p evenly spaced in
    [1 − quantile, quantile] (Kingma & Welling 2014, fig. 4), top row = highest z₂.
    """
    from scipy.stats import norm

    if int(decoder.input_shape[-1]) != 2:
        raise ValueError(
            f"latent_manifold needs a 2-D latent space, the decoder takes {decoder.input_shape[-1]}-D vectors"
        )
    n = check_int("n", n, minimum=2)
    quantile = check_float("quantile", quantile, minimum=0.5, maximum=1.0, min_inclusive=False, max_inclusive=False)
    grid = norm.ppf(np.linspace(1.0 - quantile, quantile, n))
    z = np.array([[z1, z2] for z2 in grid[::-1] for z1 in grid], dtype="float32")
    return np.asarray(decoder.predict(z, batch_size=256, verbose=0))
