"""Metric-learning losses: the triplet loss with online mining, and the contrastive loss.

Triplet loss (Schroff, Kalenichenko & Philbin 2015, FaceNet; seed notes
001_95a778d327d97535.txt "Face Recognition")::

    L(A, P, N) = max(||f(A) - f(P)||² - ||f(A) - f(N)||² + α, 0)

``α`` (the margin) keeps the network from the trivial all-equal embedding. Online mining
picks the triplets inside a batch of labelled embeddings, from one vectorised matrix of
pairwise distances:

* ``batch_all``: every valid triplet (a ≠ p same label, n another label); the mean over
  the triplets with a positive loss (Hermans, Beyer & Leibe 2017, "In Defense of the
  Triplet Loss").
* ``batch_hard``: per anchor, the farthest positive and the nearest negative (Hermans et al.).
* ``semi_hard``: per anchor-positive pair, the nearest negative that is still farther than
  the positive (FaceNet §3.2); when there is none, the farthest negative (as
  ``tfa.losses.TripletSemiHardLoss`` did).

Distances are squared Euclidean by default (FaceNet and the seed formula); ``squared=False``
uses Euclidean distances. Keras has no triplet or contrastive loss (TensorFlow Addons,
which had them, is discontinued), hence this module. Written with ``keras.ops`` only, so the
losses run on any Keras backend.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasdl._validation import check_choice, check_float

MINING = ("batch_all", "batch_hard", "semi_hard")


def pairwise_distances(embeddings, squared: bool = True):
    """``(B, B)`` matrix of (squared) Euclidean distances, ``||a||² - 2 a·b + ||b||²``.

    Clamped at 0 against rounding; the square root has a zero gradient where the
    distance is 0 (the diagonal), instead of NaN.
    """
    embeddings = ops.cast(embeddings, "float32")
    dot = ops.matmul(embeddings, ops.transpose(embeddings))
    norms = ops.diagonal(dot)
    d2 = ops.maximum(norms[:, None] - 2.0 * dot + norms[None, :], 0.0)
    d2 = d2 * (1.0 - ops.eye(ops.shape(d2)[0], dtype="float32"))  # exact zeros on the diagonal
    if squared:
        return d2
    zero = ops.cast(ops.equal(d2, 0.0), "float32")
    return ops.sqrt(d2 + zero * 1e-16) * (1.0 - zero)


def _label_masks(labels):
    labels = ops.reshape(labels, (-1,))
    same = ops.equal(labels[:, None], labels[None, :])
    not_self = ops.logical_not(ops.cast(ops.eye(ops.shape(labels)[0]), "bool"))
    return ops.logical_and(same, not_self), ops.logical_not(same)  # positive pairs, negative pairs


def triplet_loss(anchor, positive, negative, margin: float = 0.2, squared: bool = True):
    """Per-triplet loss ``max(d(a, p) - d(a, n) + margin, 0)`` for explicit triplets, shape ``(B,)``."""
    d_ap = ops.sum(ops.square(anchor - positive), axis=-1)
    d_an = ops.sum(ops.square(anchor - negative), axis=-1)
    if not squared:
        d_ap, d_an = ops.sqrt(d_ap + 1e-12), ops.sqrt(d_an + 1e-12)
    return ops.maximum(d_ap - d_an + margin, 0.0)


def batch_all_triplet_loss(labels, embeddings, margin: float = 0.2, squared: bool = True):
    """Mean loss over the valid triplets whose loss is positive; also the fraction positive.

    Returns ``(loss, fraction_positive)``; 0 when the batch has no valid triplet.
    """
    d = pairwise_distances(embeddings, squared)
    positive, negative = _label_masks(labels)
    valid = ops.logical_and(positive[:, :, None], negative[:, None, :])  # [a, p, n]
    losses = ops.maximum(d[:, :, None] - d[:, None, :] + margin, 0.0) * ops.cast(valid, "float32")
    num_positive = ops.sum(ops.cast(losses > 1e-16, "float32"))
    num_valid = ops.sum(ops.cast(valid, "float32"))
    loss = ops.sum(losses) / ops.maximum(num_positive, 1.0)
    return loss, num_positive / ops.maximum(num_valid, 1.0)


def batch_hard_triplet_loss(labels, embeddings, margin: float = 0.2, squared: bool = True):
    """Mean over anchors of ``max(hardest positive - hardest negative + margin, 0)``.

    Anchors without a positive or without a negative in the batch are left out.
    """
    d = pairwise_distances(embeddings, squared)
    positive, negative = _label_masks(labels)
    hardest_positive = ops.max(ops.where(positive, d, 0.0), axis=1)
    big = ops.max(d) + 1.0
    hardest_negative = ops.min(ops.where(negative, d, big), axis=1)
    usable = ops.cast(ops.logical_and(ops.any(positive, axis=1), ops.any(negative, axis=1)), "float32")
    losses = ops.maximum(hardest_positive - hardest_negative + margin, 0.0) * usable
    return ops.sum(losses) / ops.maximum(ops.sum(usable), 1.0)


def semi_hard_triplet_loss(labels, embeddings, margin: float = 0.2, squared: bool = True):
    """Mean over anchor-positive pairs of ``max(d(a,p) - d(a,n*) + margin, 0)``.

    ``n*`` is the nearest negative with ``d(a, n) > d(a, p)`` (semi-hard), or the farthest
    negative of the anchor when no negative is farther than the positive.
    """
    d = pairwise_distances(embeddings, squared)
    positive, negative = _label_masks(labels)
    d_ap = d[:, :, None]  # [a, p, 1]
    d_an = d[:, None, :]  # [a, 1, n]
    farther = ops.logical_and(negative[:, None, :], d_an > d_ap)  # [a, p, n]
    big = ops.max(d) + 1.0
    nearest_farther = ops.min(ops.where(farther, d_an, big), axis=2)  # [a, p]
    farthest_negative = ops.max(ops.where(negative, d, 0.0), axis=1, keepdims=True)  # [a, 1]
    chosen = ops.where(ops.any(farther, axis=2), nearest_farther, farthest_negative)
    usable = ops.logical_and(positive, ops.any(negative, axis=1, keepdims=True))
    losses = ops.maximum(d - chosen + margin, 0.0) * ops.cast(usable, "float32")
    return ops.sum(losses) / ops.maximum(ops.sum(ops.cast(usable, "float32")), 1.0)


def mined_triplet_loss(labels, embeddings, mining: str = "semi_hard", margin: float = 0.2, squared: bool = True):
    """Dispatch to the ``mining`` strategy (one of :data:`MINING`); returns a scalar loss."""
    check_choice("mining", mining, MINING)
    if mining == "batch_all":
        return batch_all_triplet_loss(labels, embeddings, margin, squared)[0]
    if mining == "batch_hard":
        return batch_hard_triplet_loss(labels, embeddings, margin, squared)
    return semi_hard_triplet_loss(labels, embeddings, margin, squared)


@keras.saving.register_keras_serializable(package="kerasdl")
class TripletLoss(keras.losses.Loss):
    """Online-mined triplet loss for ``model.compile``: ``y_true`` = integer labels ``(B,)``,
    ``y_pred`` = embeddings ``(B, D)``. The mining happens inside each (per-replica) batch,
    so batches must hold several images of each of several identities."""

    def __init__(
        self, margin: float = 0.2, mining: str = "semi_hard", squared: bool = True, name: str = "triplet_loss", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.margin = check_float("margin", margin, minimum=0.0)
        self.mining = check_choice("mining", mining, MINING)
        self.squared = bool(squared)

    def call(self, y_true, y_pred):
        return mined_triplet_loss(y_true, y_pred, self.mining, self.margin, self.squared)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "mining": self.mining, "squared": self.squared}


def contrastive_loss(same, distance, margin: float = 1.0):
    """Per-pair contrastive loss (Hadsell, Chopra & LeCun 2006), shape ``(B,)``::

        same · d² + (1 - same) · max(margin - d, 0)²

    ``same`` is 1 for a pair of the same identity, 0 otherwise; ``distance`` the Euclidean
    distance between the pair's embeddings.
    """
    same = ops.cast(ops.reshape(same, (-1,)), "float32")
    distance = ops.cast(ops.reshape(distance, (-1,)), "float32")
    return same * ops.square(distance) + (1.0 - same) * ops.square(ops.maximum(margin - distance, 0.0))


@keras.saving.register_keras_serializable(package="kerasdl")
class ContrastiveLoss(keras.losses.Loss):
    """:func:`contrastive_loss` for ``model.compile``: ``y_true`` = same (1) / different (0),
    ``y_pred`` = the pair distance."""

    def __init__(self, margin: float = 1.0, name: str = "contrastive_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = check_float("margin", margin, minimum=0.0, min_inclusive=False)

    def call(self, y_true, y_pred):
        return contrastive_loss(y_true, y_pred, self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}
