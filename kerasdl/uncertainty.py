"""Predictive uncertainty: evidential outputs (NIG, Dirichlet) and Monte Carlo dropout.

The seeds (*Limitations: Uncertainty*) separate **aleatoric** uncertainty (noise in the
data) from **epistemic** uncertainty (the model's lack of knowledge, large away from the
training data).

- NIG (Amini et al. 2020, eq. 5): ``E[μ] = γ``, aleatoric ``E[σ²] = β / (α − 1)``,
  epistemic ``Var[μ] = β / (ν (α − 1))``. :class:`EvidentialRegressor` trains such a network
  with the paper's loss plus a noise-contrastive evidence term, so that the epistemic
  variance grows away from the training inputs (the paper's loss alone does not ensure it:
  see :func:`kerasdl.losses.evidential.noise_contrastive_evidence`).
- Dirichlet (Sensoy et al. 2018): expected probabilities ``α / S`` and uncertainty mass
  ``u = K / S`` with ``S = Σ α`` (1 with no evidence, → 0 with much evidence).
- MC dropout (Gal & Ghahramani 2016, "Dropout as a Bayesian approximation"): keep dropout
  on at prediction time and use the mean and standard deviation of ``n_samples``
  stochastic forward passes.
"""

from __future__ import annotations

import keras
import numpy as np

from kerasdl._validation import check_float, check_int
from kerasdl.losses.evidential import noise_contrastive_evidence, split_nig


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


@keras.saving.register_keras_serializable(package="kerasdl")
class EvidentialRegressor(keras.Model):
    """A network with a NIG head, trained with the evidential loss plus noise-contrastive evidence.

    ``compile`` it with :class:`~kerasdl.losses.evidential.EvidentialRegressionLoss` (Amini et
    al. 2020); each training step adds ``contrast_weight`` times
    :func:`~kerasdl.losses.evidential.noise_contrastive_evidence` of ``ν`` on the batch and on
    as many noise inputs drawn uniformly from the batch's bounding box widened by
    ``noise_margin`` times its width on each side. The evidence then follows the input density
    (``ν ≈ evidence_scale · p_data / p_noise``): high on the data, near 0 off them, so the
    epistemic variance ``β / (ν(α − 1))`` rises outside the training range, which the paper's
    loss alone leaves to chance (the ``nu`` of a plain run is not identified by its NLL).

    Predictions, ``evaluate`` and export go through ``network`` unchanged (``regressor.network``
    is the plain Keras model to save or serve).

    Args:
        network: a single-input Keras model whose output is ``[γ, ν, α, β]``
            (:class:`kerasdl.layers.evidential.NormalInverseGamma`).
        evidence_scale: ``ν`` where data and noise are equally dense.
        contrast_weight: weight of the noise-contrastive term (0: the paper's loss alone).
        noise_margin: how far the noise box extends beyond the batch's inputs, in box widths.
        seed: seed of the noise draws.
    """

    def __init__(
        self,
        network,
        *,
        evidence_scale: float = 10.0,
        contrast_weight: float = 1.0,
        noise_margin: float = 0.5,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(network, keras.Model):
            raise TypeError(f"network must be a keras.Model, got {type(network).__name__}")
        if len(network.inputs) != 1 or network.outputs[0].shape[-1] % 4:
            raise ValueError(
                f"network must take one input and output [gamma, nu, alpha, beta] (a multiple of 4 values), "
                f"got {len(network.inputs)} inputs and output shape {network.outputs[0].shape}"
            )
        self.network = network
        self.evidence_scale = check_float("evidence_scale", evidence_scale, minimum=0.0, min_inclusive=False)
        self.contrast_weight = check_float("contrast_weight", contrast_weight, minimum=0.0)
        self.noise_margin = check_float("noise_margin", noise_margin, minimum=0.0)
        self.seed = seed
        self.noise_seed = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        """The network's ``[γ, ν, α, β]`` for ``inputs``."""
        return self.network(inputs, training=training)

    def noise_inputs(self, x):
        """Inputs drawn uniformly from the bounding box of ``x`` (over the batch axis), widened by
        ``noise_margin`` box widths on each side; same shape as ``x``."""
        ops = keras.ops
        x = ops.cast(x, "float32")
        low, high = ops.min(x, axis=0, keepdims=True), ops.max(x, axis=0, keepdims=True)
        width = high - low
        draws = keras.random.uniform(ops.shape(x), seed=self.noise_seed)
        return low - self.noise_margin * width + (1.0 + 2.0 * self.noise_margin) * width * draws

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss, plus the noise-contrastive evidence term while training."""
        loss = super().compute_loss(x, y, y_pred, sample_weight, training)
        if not training or self.contrast_weight == 0.0:
            return loss
        noise_output = self.network(self.noise_inputs(x), training=True)
        contrast = noise_contrastive_evidence(split_nig(y_pred)[1], split_nig(noise_output)[1], self.evidence_scale)
        return loss + self.contrast_weight * contrast

    def get_config(self):
        """The network (serialized) and the noise-contrastive settings."""
        config = super().get_config()
        config.update(
            {
                "network": keras.saving.serialize_keras_object(self.network),
                "evidence_scale": self.evidence_scale,
                "contrast_weight": self.contrast_weight,
                "noise_margin": self.noise_margin,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild from :meth:`get_config`'s output."""
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)


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
