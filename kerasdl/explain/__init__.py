"""Interpretability: attributions, class-activation maps, LIME and feature visualisation.

Every function returns NumPy arrays and, given ``path=``, also writes a PNG.

| function | what | module |
|---|---|---|
| ``saliency``, ``smoothgrad``, ``integrated_gradients``, ``completeness_gap`` | gradient attributions | :mod:`.gradients` |
| ``grad_cam``, ``occlusion_sensitivity``, ``find_last_conv_layer`` | where the CNN looks | :mod:`.maps` |
| ``lime_image``, ``lime_tabular`` | LIME via the ``lime`` package | :mod:`.lime_explain` |
| ``layer_embeddings``, ``tsne_embedding``, ``first_layer_filters``, ``top_activating_patches`` | what layers learned | :mod:`.features` |
| ``plot_heatmaps``, ``plot_embedding``, ``plot_patches``, ``plot_feature_weights`` | PNGs | :mod:`.plots` |
"""

from kerasdl.explain.features import first_layer_filters, layer_embeddings, top_activating_patches, tsne_embedding
from kerasdl.explain.gradients import completeness_gap, integrated_gradients, saliency, smoothgrad
from kerasdl.explain.lime_explain import grid_segments, lime_image, lime_tabular
from kerasdl.explain.maps import find_last_conv_layer, grad_cam, occlusion_sensitivity
from kerasdl.explain.plots import plot_embedding, plot_feature_weights, plot_heatmaps, plot_patches

__all__ = [
    "completeness_gap",
    "find_last_conv_layer",
    "first_layer_filters",
    "grad_cam",
    "grid_segments",
    "integrated_gradients",
    "layer_embeddings",
    "lime_image",
    "lime_tabular",
    "occlusion_sensitivity",
    "plot_embedding",
    "plot_feature_weights",
    "plot_heatmaps",
    "plot_patches",
    "saliency",
    "smoothgrad",
    "top_activating_patches",
    "tsne_embedding",
]
