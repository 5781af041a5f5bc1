"""Losses Keras lacks, one module per task family (generative, evidential, segmentation,
style transfer). Each is a plain function ``loss(y_true, y_pred)`` or a registered
``keras.losses.Loss`` subclass, with the formula and paper in its docstring.

The detection and metric-learning losses live with their tasks
(:mod:`kerasdl.detection.losses`, :mod:`kerasdl.verification.losses`) and are re-exported
here, so ``kerasdl.losses`` keeps naming every loss and registering it for ``.keras`` loading."""

from kerasdl.detection.losses import LocalizationLoss, YoloLoss
from kerasdl.verification.losses import (
    ContrastiveLoss,
    TripletLoss,
    batch_all_triplet_loss,
    batch_hard_triplet_loss,
    contrastive_loss,
    semi_hard_triplet_loss,
    triplet_loss,
)
from kerasdl.losses.segmentation import CrossEntropyDiceLoss, DiceLoss, segmentation_loss, segmentation_metrics
from kerasdl.losses.style import content_loss, gram_matrix, style_loss, total_variation_loss
from kerasdl.losses.evidential import (
    DirichletEvidentialLoss,
    EvidentialRegressionLoss,
    KLAnnealing,
    dirichlet_kl_to_uniform,
    dirichlet_mse,
    nig_nll,
    nig_regularizer,
)
from kerasdl.generative.losses import (
    bernoulli_reconstruction,
    discriminator_loss,
    gaussian_kl,
    generator_loss,
    mean_pixel_crossentropy,
)

__all__ = [
    "DirichletEvidentialLoss",
    "EvidentialRegressionLoss",
    "KLAnnealing",
    "dirichlet_kl_to_uniform",
    "dirichlet_mse",
    "nig_nll",
    "nig_regularizer",
    "ContrastiveLoss",
    "CrossEntropyDiceLoss",
    "DiceLoss",
    "TripletLoss",
    "batch_all_triplet_loss",
    "batch_hard_triplet_loss",
    "content_loss",
    "contrastive_loss",
    "gram_matrix",
    "segmentation_loss",
    "segmentation_metrics",
    "semi_hard_triplet_loss",
    "style_loss",
    "total_variation_loss",
    "triplet_loss",
    "LocalizationLoss",
    "YoloLoss",
    "bernoulli_reconstruction",
    "discriminator_loss",
    "gaussian_kl",
    "generator_loss",
    "mean_pixel_crossentropy",
]
