"""Face verification and one-shot recognition: everything the task needs, in one package.

Seed notes (001_95a778d327d97535.txt "Face Recognition"): learn an embedding with the
triplet loss, call two images "same" when their distance is under a threshold, and
recognise a person from one enrolled image.

=====================  ==========================================================
module                 what lives there
=====================  ==========================================================
``embedding``          :func:`embedding_network`: any backbone → Dense → L2-normalised embedding
``losses``             triplet loss with batch-all / batch-hard / semi-hard mining, contrastive loss
``siamese``            :class:`SiameseModel`: the custom ``train_step`` model (TensorFlow)
``verifier``           pairs, ROC threshold, :class:`Verifier`, one-shot :class:`Gallery`
``faces``              identity data split by person (Olivetti, digits), P×K identity batches
``features``           pretrained block features for few-identity data (rank, pool, join)
``experiment``         the build → train → threshold → evaluate flow that ``kerasdl.apps.verify``
                       and ``benchmarks/vision_tasks.py`` share
=====================  ==========================================================

The old paths (``kerasdl.models.siamese``, ``kerasdl.training.siamese``,
``kerasdl.losses.metric_learning``, ``kerasdl.data.faces``, ``kerasdl.transfer.features``)
re-export from here. ``SiameseModel`` (it imports TensorFlow) is imported on first use, so
``import kerasdl.verification`` (and ``kerasdl.losses``, which re-exports the losses) stays
backend-neutral.
"""

from kerasdl.verification.embedding import embedding_network
from kerasdl.verification.experiment import VerificationResult, build_embedding, evaluate_verifier, train_verifier
from kerasdl.verification.faces import (
    IdentityData,
    face_augmentation,
    identity_batches,
    load_identities,
    load_olivetti,
    olivetti_available,
    split_by_identity,
)
from kerasdl.verification.features import (
    block_output_layers,
    chosen_layer_features,
    layer_features,
    pooled_layer_outputs,
    rank_feature_layers,
)
from kerasdl.verification.losses import (
    MINING,
    ContrastiveLoss,
    TripletLoss,
    batch_all_triplet_loss,
    batch_hard_triplet_loss,
    contrastive_loss,
    mined_triplet_loss,
    pairwise_distances,
    semi_hard_triplet_loss,
    triplet_loss,
)
from kerasdl.verification.verifier import (
    NOT_RECOGNISED,
    Gallery,
    ThresholdChoice,
    Verifier,
    choose_threshold,
    embedding_distances,
    make_pairs,
    one_shot_evaluation,
)


def __getattr__(name):
    """``SiameseModel`` on first access (PEP 562): its module imports TensorFlow."""
    if name == "SiameseModel":
        from kerasdl.verification.siamese import SiameseModel

        return SiameseModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MINING",
    "NOT_RECOGNISED",
    "ContrastiveLoss",
    "Gallery",
    "IdentityData",
    "SiameseModel",
    "ThresholdChoice",
    "TripletLoss",
    "VerificationResult",
    "Verifier",
    "batch_all_triplet_loss",
    "batch_hard_triplet_loss",
    "block_output_layers",
    "build_embedding",
    "choose_threshold",
    "chosen_layer_features",
    "contrastive_loss",
    "embedding_distances",
    "embedding_network",
    "evaluate_verifier",
    "face_augmentation",
    "identity_batches",
    "layer_features",
    "load_identities",
    "load_olivetti",
    "make_pairs",
    "mined_triplet_loss",
    "olivetti_available",
    "one_shot_evaluation",
    "pairwise_distances",
    "pooled_layer_outputs",
    "rank_feature_layers",
    "semi_hard_triplet_loss",
    "split_by_identity",
    "train_verifier",
    "triplet_loss",
]
