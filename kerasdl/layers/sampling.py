"""The VAE reparametrisation layer: z = μ + σ·ε with σ = exp(½·log σ²), ε ~ N(0, I).

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, §2.4. Sampling is not
differentiable, but written this way the noise ε is an input like any other and the
gradient flows through μ and log σ² (the "reparametrisation trick" of the MIT 6.S191 notes,
seed 004 §4.3).
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kerasdl")
class Sampling(keras.layers.Layer):
    """``Sampling()([z_mean, z_log_var])`` → a draw z = μ + exp(½·log σ²)·ε.

    ``seed`` (optional int) seeds the layer's own ``keras.random.SeedGenerator`` so draws
    are reproducible. At inference as in training the layer samples; use ``z_mean`` for
    a deterministic code.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(keras.ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
