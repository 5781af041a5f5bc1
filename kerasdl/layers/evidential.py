"""Evidential output layers: Normal-Inverse-Gamma (regression) and Dirichlet (classification).

Instead of a point estimate the network outputs the parameters of a higher-order
("evidential") distribution (the seeds' *Frontiers: Evidential Neural Networks*):

- :class:`NormalInverseGamma` (Amini, Schwarting, Soleimany & Rus 2020, "Deep evidential
  regression"): per target, ``γ`` (mean, unconstrained), ``ν > 0``, ``α > 1`` and
  ``β > 0``, enforced with softplus: ``ν = softplus(·)``, ``α = softplus(·) + 1``,
  ``β = softplus(·)``. Output: ``[γ, ν, α, β]`` concatenated on the last axis, shape
  ``(..., 4 * units)``; :func:`kerasdl.uncertainty.nig_uncertainty` turns it into mean,
  aleatoric and epistemic variance.
- :class:`DirichletEvidence` (Sensoy, Kaplan & Kandemir 2018, "Evidential deep learning to
  quantify classification uncertainty"): non-negative evidence ``e = g(Wx + b)`` per class
  (``g`` = softplus by default, ReLU or clipped exp as in the paper) and the Dirichlet
  concentration ``α = e + 1``, shape ``(..., num_classes)``.

Train them with :mod:`kerasdl.losses.evidential`.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_int

# Clip for the "exp" evidence function (exp(10) ~ 2.2e4 pieces of evidence): keeps the
# Dirichlet parameters finite, as in Sensoy et al.'s reference code.
_EXP_CLIP = 10.0


@keras.saving.register_keras_serializable(package="kerasdl")
class NormalInverseGamma(keras.layers.Layer):
    """Dense layer producing Normal-Inverse-Gamma parameters ``[γ, ν, α, β]`` (4 * units outputs)."""

    def __init__(self, units: int = 1, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = check_int("units", units, minimum=1)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.dense = keras.layers.Dense(
            4 * self.units, kernel_initializer=self.kernel_initializer, name="nig_parameters"
        )

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs):
        gamma, nu, alpha, beta = keras.ops.split(self.dense(inputs), 4, axis=-1)
        softplus = keras.activations.softplus
        return keras.ops.concatenate([gamma, softplus(nu), softplus(alpha) + 1.0, softplus(beta)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (4 * self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"units": self.units, "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
        )
        return config


@keras.saving.register_keras_serializable(package="kerasdl")
class DirichletEvidence(keras.layers.Layer):
    """Dense layer producing Dirichlet concentrations ``α = evidence + 1`` (num_classes outputs)."""

    EVIDENCE = ("softplus", "relu", "exp")

    def __init__(self, num_classes: int, evidence: str = "softplus", kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_int("num_classes", num_classes, minimum=2)
        self.evidence = check_choice("evidence", evidence, self.EVIDENCE)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.dense = keras.layers.Dense(
            self.num_classes, kernel_initializer=self.kernel_initializer, name="evidence_logits"
        )

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs):
        z = self.dense(inputs)
        if self.evidence == "softplus":
            evidence = keras.activations.softplus(z)
        elif self.evidence == "relu":
            evidence = keras.activations.relu(z)
        else:
            evidence = keras.ops.exp(keras.ops.clip(z, -_EXP_CLIP, _EXP_CLIP))
        return evidence + 1.0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "evidence": self.evidence,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
