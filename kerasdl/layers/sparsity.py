"""Sparsity penalties for an autoencoder's code (activity regularisers).

- L1: ``keras.regularizers.L1(weight)`` as the code layer's ``activity_regularizer``
  (Keras has it; nothing to write).
- KL sparsity target (Ng, "Sparse autoencoder", CS294A lecture notes, 2011):
  ``β · Σ_j KL(ρ ‖ ρ̂_j)`` with ``ρ̂_j`` the mean activation of code unit j over the batch and
  ``KL(ρ ‖ ρ̂) = ρ log(ρ/ρ̂) + (1−ρ) log((1−ρ)/(1−ρ̂))``. Keras has no such regulariser,
  hence :class:`KLSparsityRegularizer`. It needs activations in (0, 1): use a sigmoid code.
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_choice, check_float


@keras.saving.register_keras_serializable(package="kerasdl")
class KLSparsityRegularizer(keras.regularizers.Regularizer):
    """``β · Σ_j KL(ρ ‖ ρ̂_j)``: pushes each code unit's mean activation ρ̂_j towards ``target``.

    Args:
        target: the sparsity target ρ, in (0, 1) (e.g. 0.05: each unit active 5% of the time).
        weight: β ≥ 0, the penalty weight.

    Used as an ``activity_regularizer``. Keras 3 divides an activity penalty by the batch
    size (right for per-example penalties such as L1); this one is a statistic of the whole
    batch, so it is multiplied back by the batch size to keep ``β`` batch-size independent.
    """

    def __init__(self, target: float = 0.05, weight: float = 1.0):
        self.target = check_float("target", target, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False)
        self.weight = check_float("weight", weight, minimum=0.0)

    def __call__(self, activations):
        ops = keras.ops
        eps = keras.config.epsilon()
        rho_hat = ops.clip(ops.mean(ops.cast(activations, "float32"), axis=0), eps, 1.0 - eps)
        rho = self.target
        kl = rho * ops.log(rho / rho_hat) + (1.0 - rho) * ops.log((1.0 - rho) / (1.0 - rho_hat))
        batch_size = ops.cast(ops.shape(activations)[0], "float32")
        return self.weight * ops.sum(kl) * batch_size

    def get_config(self):
        return {"target": self.target, "weight": self.weight}


SPARSITY = ("none", "l1", "kl")


def sparsity_regularizer(kind: str = "none", weight: float = 1e-4, target: float = 0.05):
    """The code layer's activity regulariser by name: ``"none"``, ``"l1"`` or ``"kl"``.

    ``weight`` is the L1 coefficient or the KL weight β; ``target`` the KL sparsity target ρ.
    """
    check_choice("sparsity", kind, SPARSITY)
    weight = check_float("sparsity_weight", weight, minimum=0.0)
    if kind == "l1":
        return keras.regularizers.L1(weight)
    if kind == "kl":
        return KLSparsityRegularizer(target=target, weight=weight)
    return None
