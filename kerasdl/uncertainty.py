"""Predictive uncertainty: evidential outputs (NIG, Dirichlet) and Monte Carlo dropout.

The seeds (*Limitations: Uncertainty*) separate **aleatoric** uncertainty (noise in the
data) from **epistemic** uncertainty (the model's lack of knowledge, large away from the
training data).

- NIG (Amini et al. 2020, eq. 5): ``E[μ] = γ``, aleatoric ``E[σ²] = β / (α − 1)``,
  epistemic ``Var[μ] = β / (ν (α − 1))``.
- Dirichlet (Sensoy et al. 2018): expected probabilities ``α / S`` and uncertainty mass
  ``u = K / S`` with ``S = Σ α`` (1 with no evidence, → 0 with much evidence).
- MC dropout (Gal & Ghahramani 2016, "Dropout as a Bayesian approximation"): keep dropout
  on at prediction time and use the mean and standard deviation of ``n_samples``
  stochastic forward passes.
"""

from __future__ import annotations

import keras
import numpy as np

from kerasdl._validation import check_int


def nig_uncertainty(outputs) -> dict:
    """Mean, aleatoric and epistemic variance from ``[γ, ν, α, β]`` outputs (NumPy arrays)."""
    outputs = np.asarray(outputs, dtype="float64")
    if outputs.shape[-1] % 4:
        raise ValueError(f"outputs must hold [gamma, nu, alpha, beta] (last axis a multiple of 4), got {outputs.shape}")
    gamma, nu, alpha, beta = np.split(outputs, 4, axis=-1)
    return {
        "mean": gamma,
        "aleatoric": beta / (alpha - 1.0),
        "epistemic": beta / (nu * (alpha - 1.0)),
        "nu": nu,
        "alpha": alpha,
        "beta": beta,
    }


def dirichlet_uncertainty(alpha) -> dict:
    """Expected class probabilities, uncertainty mass ``K / S`` and evidence from Dirichlet ``α``."""
    alpha = np.asarray(alpha, dtype="float64")
    if alpha.ndim < 1 or alpha.shape[-1] < 2 or np.any(alpha <= 0):
        raise ValueError("alpha must hold positive Dirichlet concentrations for at least 2 classes")
    strength = alpha.sum(axis=-1, keepdims=True)
    return {
        "probabilities": alpha / strength,
        "uncertainty": alpha.shape[-1] / strength[..., 0],
        "evidence": alpha - 1.0,
        "strength": strength[..., 0],
    }


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def mc_dropout_predict(model, x, *, n_samples: int = 50, batch_size: int | None = None, seed: int = 0) -> dict:
    """Mean and standard deviation of ``n_samples`` forward passes with dropout active.

    Calls the model with ``training=True`` so Dropout layers drop; BatchNormalization
    layers are frozen for the duration (Keras 3 runs a non-trainable BatchNormalization
    in inference mode), so they keep their moving statistics. Returns ``mean``, ``std``
    (both shaped like one prediction) and ``samples`` (n_samples, ...).
    """
    import tensorflow as tf

    n_samples = check_int("n_samples", n_samples, minimum=2)
    layers = list(_all_layers(model))
    if not any(
        isinstance(layer, keras.layers.Dropout) or "dropout" in type(layer).__name__.lower() for layer in layers
    ):
        raise ValueError(f"model {model.name!r} has no Dropout layer: MC dropout needs dropout in the model")
    x = np.asarray(x, dtype="float32")
    batch_size = len(x) if batch_size is None else check_int("batch_size", batch_size, minimum=1)
    norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    keras.utils.set_random_seed(seed)
    try:
        for layer in norms:
            layer.trainable = False
        forward = tf.function(lambda batch: model(batch, training=True), autograph=False)
        samples = np.stack(
            [
                np.concatenate(
                    [forward(tf.constant(x[s : s + batch_size])).numpy() for s in range(0, len(x), batch_size)]
                )
                for _ in range(n_samples)
            ]
        )
    finally:
        for layer in norms:
            layer.trainable = True
    return {"mean": samples.mean(axis=0), "std": samples.std(axis=0), "samples": samples}
