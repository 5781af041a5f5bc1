"""Pretrained features from inside a network: pooled block outputs for metric learning.

For verification on few people (Olivetti: 26 training identities) a network's last layer is
specialised to its own classes (ImageNet objects), while mid-network blocks carry more
general texture and part features. :func:`rank_feature_layers` scores each block's pooled,
untrained output by how well it separates identities (pair ROC AUC) on *seen* people, and
:func:`layer_features` turns the chosen blocks into one frozen feature extractor to put a
trained projection on (:func:`kerasdl.verification.embedding.embedding_network`). Measured in
``benchmarks/vision_tasks.py``.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_image_shape, check_int
from kerasdl.data.pipeline import as_unit_float

# Layer-name endings that close a block in keras.applications networks: MobileNetV2
# (block_N_project_BN), EfficientNet (blockNx_project_bn), ResNet (convN_blockM_out), VGG (blockN_pool).
_BLOCK_ENDINGS = ("project_bn", "_out", "_pool")


def block_output_layers(model) -> list[str]:
    """Names of the layers of ``model`` that end a block and output a feature map (see
    ``_BLOCK_ENDINGS``), in order, plus the last layer."""
    names = [
        layer.name
        for layer in model.layers
        if layer.name.lower().endswith(_BLOCK_ENDINGS) and len(layer.output.shape) == 4
    ]
    last = model.layers[-1].name
    return names + ([last] if last not in names else [])


def _images_to_backbone(inputs, loaded, input_shape):
    """Images in [0, 1] (grey or RGB) → ``loaded``'s preprocessed input at its size."""
    import keras

    height, width = loaded.input_shape[:2]
    x = inputs
    if tuple(input_shape[:2]) != (height, width):
        x = keras.layers.Resizing(height, width, name="resize")(x)
    if input_shape[-1] == 1:
        x = keras.layers.Concatenate(name="grey_to_rgb")([x, x, x])
    x = keras.layers.Rescaling(255.0, name="to_pixels")(x)
    return loaded.preprocess(x)


def pooled_layer_outputs(loaded, layers, input_shape):
    """A model: images in [0, 1] of ``input_shape`` → the global-average-pooled outputs of
    ``layers`` of ``loaded.model`` (a list, one ``(batch, channels)`` tensor per layer)."""
    import keras

    input_shape = check_image_shape("input_shape", input_shape, min_size=1)
    if input_shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, got input_shape {input_shape}")
    base = loaded.model
    known = {layer.name for layer in base.layers}
    missing = [name for name in layers if name not in known]
    if not layers or missing:
        raise ValueError(f"layers must name layers of {base.name}; unknown: {missing or 'none given'}")
    cut = keras.Model(base.input, [base.get_layer(name).output for name in layers], name=f"{base.name}_blocks")
    inputs = keras.Input(input_shape, name="image")
    maps = cut(_images_to_backbone(inputs, loaded, input_shape), training=False)
    maps = maps if isinstance(maps, (list, tuple)) else [maps]
    pooled = [keras.layers.GlobalAveragePooling2D(name=f"pool_{name}")(m) for name, m in zip(layers, maps)]
    return keras.Model(inputs, pooled, name=f"{base.name}_pooled_blocks")


def rank_feature_layers(
    loaded, images, identities, *, layers=None, num_pairs: int = 4000, seed: int = 0, batch_size: int = 64
) -> dict:
    """``{layer: pair ROC AUC}`` of each layer's pooled output, untrained, on ``images`` of
    known ``identities`` (uint8, or floats in [0, 1]), best first.

    Each layer's vectors are centred on their mean and L2-normalised; the AUC scores the
    Euclidean distance of :func:`kerasdl.verification.verifier.make_pairs` pairs. Nothing is
    trained, so scoring the training (seen) people leaks nothing about unseen ones.
    ``layers`` default: :func:`block_output_layers`.
    """
    from sklearn.metrics import roc_auc_score

    from kerasdl.verification.verifier import embedding_distances, make_pairs

    images = as_unit_float(images)
    layers = list(layers) if layers is not None else block_output_layers(loaded.model)
    pooled = pooled_layer_outputs(loaded, layers, images.shape[1:])
    outputs = pooled.predict(images, batch_size=check_int("batch_size", batch_size, minimum=1), verbose=0)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    a, b, same = make_pairs(identities, num_pairs, seed=seed)
    scores = {}
    for name, vectors in zip(layers, outputs):
        vectors = vectors - vectors.mean(axis=0)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        scores[name] = round(float(roc_auc_score(same, -embedding_distances(vectors[a], vectors[b]))), 4)
    return dict(sorted(scores.items(), key=lambda item: -item[1]))


def layer_features(loaded, layers, input_shape, train_images, *, batch_size: int = 64):
    """A model: images in [0, 1] → the concatenated features of ``layers``, ``loaded.model`` frozen.

    Each layer's map is global-average-pooled, standardised with the mean and variance of
    ``train_images``' features (a ``Normalization`` layer: otherwise the mean face dominates
    every vector's direction) and L2-normalised, so each layer weighs the same in the
    concatenation. To fine-tune, unfreeze afterwards with
    :func:`kerasdl.transfer.set_trainable_top` (it counts layers from the network's end).
    """
    import keras

    from kerasdl.transfer.finetune import set_trainable_top

    set_trainable_top(loaded, 0)
    pooled_model = pooled_layer_outputs(loaded, list(layers), input_shape)
    statistics = pooled_model.predict(as_unit_float(train_images), batch_size=batch_size, verbose=0)
    statistics = statistics if isinstance(statistics, (list, tuple)) else [statistics]
    pooled = pooled_model.outputs
    parts = []
    for name, vectors, stats in zip(layers, pooled, statistics):
        standardize = keras.layers.Normalization(name=f"standardize_{name}")
        standardize.adapt(stats)
        parts.append(keras.layers.UnitNormalization(name=f"unit_{name}")(standardize(vectors)))
    features = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="block_features")(parts)
    return keras.Model(pooled_model.inputs, features, name=f"{loaded.model.name}_block_features")


def chosen_layer_features(loaded, layers, data, *, num_pairs: int = 4000, seed: int = 0):
    """:func:`layer_features` for an identity split (:class:`kerasdl.verification.faces.IdentityData`),
    standardised on its training images. ``layers``: layer names (a list, or comma-separated),
    or ``"autoN"``: the N layers :func:`rank_feature_layers` scores best on the *seen* people
    (training + validation, never the test ones).

    Returns ``(features model, the layers used, the scores or None)``.
    """
    scores = None
    if isinstance(layers, str):
        if not layers.startswith("auto"):
            layers = [name.strip() for name in layers.split(",") if name.strip()]
        else:
            try:
                count = int(layers[4:] or 1)
            except ValueError:
                raise ValueError(f"layers must be layer names or 'autoN' (e.g. 'auto3'), got {layers!r}") from None
            count = check_int("autoN", count, minimum=1)
            scores = rank_feature_layers(
                loaded,
                np.concatenate([data.x_train, data.x_val]),
                np.concatenate([data.y_train, data.y_val]),
                num_pairs=num_pairs,
                seed=seed,
            )
            layers = list(scores)[:count]
    return layer_features(loaded, layers, data.input_shape, data.x_train), list(layers), scores
