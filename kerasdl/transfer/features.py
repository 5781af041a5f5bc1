"""Moved: pretrained block features for verification live in :mod:`kerasdl.verification.features`.

Kept so ``kerasdl.transfer.features`` (the README's path) still works.
"""

from kerasdl.verification.features import (
    block_output_layers,
    chosen_layer_features,
    layer_features,
    pooled_layer_outputs,
    rank_feature_layers,
)

__all__ = [
    "block_output_layers",
    "chosen_layer_features",
    "layer_features",
    "pooled_layer_outputs",
    "rank_feature_layers",
]
