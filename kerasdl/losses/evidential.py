"""Evidential losses: NIG regression (Amini et al. 2020) and Dirichlet classification (Sensoy et al. 2018).

Regression, for ``y_pred = [γ, ν, α, β]`` from :class:`kerasdl.layers.evidential.NormalInverseGamma`
(Amini et al., eq. 8 and 9):

    NLL = ½ log(π/ν) − α log Ω + (α + ½) log((y − γ)² ν + Ω) + log Γ(α) − log Γ(α + ½),
          Ω = 2β(1 + ν)                      (−log of a Student-t with 2α degrees of freedom)
    L_R = |y − γ| · (2ν + α)                 (evidence regulariser: less evidence where wrong)
    L   = NLL + λ · L_R

:func:`noise_contrastive_evidence` adds what the paper's loss lacks for out-of-distribution
inputs: evidence tied to the input density (used by :class:`kerasdl.uncertainty.EvidentialRegressor`).

Classification, for Dirichlet ``α`` from :class:`kerasdl.layers.evidential.DirichletEvidence`,
``S = Σ_j α_j``, ``p = α / S`` (Sensoy et al., eq. 5 and the KL term):

    L = Σ_j (y_j − p_j)² + p_j (1 − p_j) / (S + 1)  +  λ_t · KL(Dir(α̃) ‖ Dir(1)),
    α̃ = y + (1 − y) ⊙ α  (the misleading evidence only),  λ_t = min(1, epoch / annealing_epochs)

The annealing weight lives in a non-trainable variable of the loss that the
:class:`KLAnnealing` callback sets at the start of every epoch.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from kerasdl._validation import check_float, check_int


def _special(name: str):
    """``lgamma`` or ``digamma`` of the running backend: ``keras.ops`` has neither, so the
    backend's own function is imported here, lazily (TensorFlow's only on that backend)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return getattr(tf.math, name)
    if backend == "jax":
        import jax.scipy.special

        return jax.scipy.special.gammaln if name == "lgamma" else jax.scipy.special.digamma
    if backend == "torch":
        import torch

        return getattr(torch, name)
    raise NotImplementedError(f"{name} has no implementation for Keras backend {backend!r} in kerasdl")


def lgamma(x):
    """``log |Γ(x)|`` element-wise, on any backend with one (TensorFlow, JAX, PyTorch)."""
    return _special("lgamma")(ops.convert_to_tensor(x))


def digamma(x):
    """``ψ(x) = d/dx log Γ(x)`` element-wise, on any backend with one (TensorFlow, JAX, PyTorch)."""
    return _special("digamma")(ops.convert_to_tensor(x))


def split_nig(y_pred):
    """``[γ, ν, α, β]`` concatenated on the last axis → four tensors."""
    return ops.split(ops.cast(y_pred, "float32"), 4, axis=-1)


def nig_nll(y, gamma, nu, alpha, beta):
    """Element-wise NIG negative log-likelihood (Amini et al. 2020, eq. 8)."""
    y = ops.cast(y, "float32")
    omega = 2.0 * beta * (1.0 + nu)
    return (
        0.5 * ops.log(math.pi / nu)
        - alpha * ops.log(omega)
        + (alpha + 0.5) * ops.log(ops.square(y - gamma) * nu + omega)
        + lgamma(alpha)
        - lgamma(alpha + 0.5)
    )


def nig_regularizer(y, gamma, nu, alpha):
    """Element-wise evidence regulariser ``|y − γ| · (2ν + α)`` (Amini et al. 2020, eq. 9)."""
    return ops.abs(ops.cast(y, "float32") - gamma) * (2.0 * nu + alpha)


def noise_contrastive_evidence(nu_data, nu_noise, evidence_scale: float = 10.0):
    """Noise-contrastive loss that ties the NIG evidence ``ν`` to the density of the inputs.

    A logistic classifier with logit ``log ν − log ν₀`` (``ν₀ = evidence_scale``) tells the
    training inputs (label 1) from noise inputs (label 0); at its optimum
    ``ν(x) = ν₀ · p_data(x) / p_noise(x)`` (noise-contrastive estimation, Gutmann & Hyvärinen
    2010), so the evidence is large where the training data are and falls to 0 away from them,
    as in the Natural Posterior Network (Charpentier et al. 2022, evidence ∝ density):

        L_NCE = mean softplus(−(log ν_data − log ν₀)) + mean softplus(log ν_noise − log ν₀)

    Deep evidential regression alone has no such term: its NLL (eq. 8) depends on ``ν`` and
    ``β`` only through the Student-t scale ``β(1 + ν) / (να)``, so ``ν`` is not identified by the
    data and its regulariser pushes ``ν`` down everywhere; off the data ``ν`` (and with it
    ``Var[μ] = β / (ν(α − 1))``) is whatever the network's extrapolation gives.

    Args:
        nu_data: ``ν`` on the training inputs (any shape).
        nu_noise: ``ν`` on the noise inputs (any shape).
        evidence_scale: ``ν₀``, the evidence where data and noise are equally dense.

    Returns:
        The scalar loss.
    """
    log_scale = math.log(check_float("evidence_scale", evidence_scale, minimum=0.0, min_inclusive=False))
    tiny = 1e-12  # softplus(ν's pre-activation) can underflow to 0 far from the data
    data_logit = ops.log(ops.cast(nu_data, "float32") + tiny) - log_scale
    noise_logit = ops.log(ops.cast(nu_noise, "float32") + tiny) - log_scale
    return ops.mean(ops.softplus(-data_logit)) + ops.mean(ops.softplus(noise_logit))


@keras.saving.register_keras_serializable(package="kerasdl")
class EvidentialRegressionLoss(keras.losses.Loss):
    """``NLL + coeff · |y − γ|(2ν + α)``, averaged over targets (per example) and the batch."""

    def __init__(
        self, coeff: float = 1e-2, name: str = "evidential_regression", reduction="sum_over_batch_size", **kwargs
    ):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.coeff = check_float("coeff", coeff, minimum=0.0)

    def call(self, y_true, y_pred):
        gamma, nu, alpha, beta = split_nig(y_pred)
        y_true = ops.reshape(ops.cast(y_true, "float32"), ops.shape(gamma))
        loss = nig_nll(y_true, gamma, nu, alpha, beta) + self.coeff * nig_regularizer(y_true, gamma, nu, alpha)
        return ops.mean(loss, axis=-1)

    def get_config(self):
        config = super().get_config()
        config["coeff"] = self.coeff
        return config


def dirichlet_kl_to_uniform(alpha):
    """KL(Dir(α) ‖ Dir(1, …, 1)) per example (closed form)."""
    alpha = ops.cast(alpha, "float32")
    num_classes = ops.cast(ops.shape(alpha)[-1], "float32")
    strength = ops.sum(alpha, axis=-1, keepdims=True)
    return (
        lgamma(ops.squeeze(strength, -1))
        - lgamma(num_classes)
        - ops.sum(lgamma(alpha), axis=-1)
        + ops.sum((alpha - 1.0) * (digamma(alpha) - digamma(strength)), axis=-1)
    )


def dirichlet_mse(y_onehot, alpha):
    """Sensoy et al.'s expected squared error under Dir(α), per example (eq. 5)."""
    alpha = ops.cast(alpha, "float32")
    strength = ops.sum(alpha, axis=-1, keepdims=True)
    p = alpha / strength
    return ops.sum(ops.square(y_onehot - p) + p * (1.0 - p) / (strength + 1.0), axis=-1)


@keras.saving.register_keras_serializable(package="kerasdl")
class DirichletEvidentialLoss(keras.losses.Loss):
    """Sensoy et al. (2018) loss with the annealed KL term; labels as ints (N,) or one-hot (N, K)."""

    def __init__(
        self, annealing_epochs: int = 10, name: str = "dirichlet_evidential", reduction="sum_over_batch_size", **kwargs
    ):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.annealing_epochs = check_int("annealing_epochs", annealing_epochs, minimum=1)
        self.kl_weight = keras.Variable(0.0, trainable=False, name="kl_weight", dtype="float32")

    def call(self, y_true, y_pred):
        alpha = ops.cast(y_pred, "float32")
        num_classes = alpha.shape[-1]
        if len(y_true.shape) == len(alpha.shape) and y_true.shape[-1] == num_classes and num_classes > 1:
            y = ops.cast(y_true, "float32")
        else:
            y = ops.one_hot(ops.reshape(ops.cast(y_true, "int32"), ops.shape(alpha)[:-1]), num_classes)
        misleading = y + (1.0 - y) * alpha
        return dirichlet_mse(y, alpha) + self.kl_weight * dirichlet_kl_to_uniform(misleading)

    def get_config(self):
        config = super().get_config()
        config["annealing_epochs"] = self.annealing_epochs
        return config


class KLAnnealing(keras.callbacks.Callback):
    """Set ``loss.kl_weight = min(1, epoch / loss.annealing_epochs)`` at each epoch start."""

    def __init__(self, loss: DirichletEvidentialLoss):
        super().__init__()
        if not isinstance(loss, DirichletEvidentialLoss):
            raise ValueError(f"loss must be a DirichletEvidentialLoss, got {type(loss).__name__}")
        self.loss = loss

    def on_epoch_begin(self, epoch, logs=None):
        self.loss.kl_weight.assign(min(1.0, epoch / self.loss.annealing_epochs))
