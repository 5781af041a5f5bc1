"""Embedding networks for Siamese / triplet training (face verification, one-shot recognition).

A backbone maps an image to features; a dense projection maps them to ``embedding_dim``
numbers, and Keras' ``UnitNormalization`` puts the embedding on the unit sphere, so the
squared distance between two embeddings lies in [0, 4] (FaceNet, Schroff et al. 2015; seed
notes 001_95a778d327d97535.txt "Face Recognition": "a single network is trained to produce
an embedding ... then the embeddings are used to compute the difference").

The default backbone (``backbone=None``) is a small CNN for 32–128 px faces: ``len(filters)``
blocks of conv 3x3 → batch norm → ReLU → max-pool 2, then global average pooling.
Parameters: Σ_i (9·c_{i-1}·c_i + 4·c_i) [conv without bias + BN] + (c_last + 1)·embedding_dim;
with ``batch_norm=False``: Σ_i (9·c_{i-1}·c_i + c_i) [conv with bias] + (c_last + 1)·embedding_dim.
"""

from __future__ import annotations

from kerasdl._validation import check_float, check_image_shape, check_int


def _default_backbone(inputs, filters, batch_norm):
    import keras

    x = inputs
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(
            f, 3, padding="same", use_bias=not batch_norm, kernel_initializer="he_normal", name=f"block{i}_conv"
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"block{i}_bn")(x)
        x = keras.layers.Activation("relu", name=f"block{i}_relu")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    return keras.layers.GlobalAveragePooling2D(name="features")(x)


def embedding_network(
    input_shape=(64, 64, 1),
    embedding_dim: int = 64,
    *,
    backbone=None,
    filters=(32, 64, 128, 256),
    batch_norm: bool = True,
    dropout: float = 0.0,
    name: str = "embedding",
):
    """An image → L2-normalised ``embedding_dim`` vector model.

    ``backbone``: ``None`` (the small CNN above, ``filters`` per block, ``batch_norm``), a ``keras.Model``
    taking ``input_shape`` images (its output is global-average-pooled if it is a feature
    map), or the name of a kerasdl builder accepting ``include_top=False`` (e.g.
    ``"resnet18"``, ``"mobilenet_v2"``), built at ``input_shape`` with random weights.
    """
    import keras

    input_shape = check_image_shape("input_shape", input_shape)
    embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    inputs = keras.Input(input_shape, name="image")
    if backbone is None:
        filters = tuple(check_int("filters", f, minimum=1) for f in filters)
        if not filters:
            raise ValueError("filters must hold at least one block width, got ()")
        if min(input_shape[:2]) < 2 ** len(filters):
            raise ValueError(
                f"input_shape={input_shape!r} is too small for {len(filters)} pooling blocks "
                f"(needs at least {2 ** len(filters)} px)"
            )
        features = _default_backbone(inputs, filters, batch_norm)
    else:
        if isinstance(backbone, str):
            import inspect

            from kerasdl.models import BUILDERS

            if backbone not in BUILDERS or "include_top" not in inspect.signature(BUILDERS[backbone]).parameters:
                allowed = [n for n, b in BUILDERS.items() if "include_top" in inspect.signature(b).parameters]
                raise ValueError(f"backbone must be None, a keras.Model or one of {allowed!r}, got {backbone!r}")
            backbone = BUILDERS[backbone](input_shape=input_shape, include_top=False)
        elif not isinstance(backbone, keras.Model):
            raise ValueError(f"backbone must be None, a keras.Model or a builder name, got {backbone!r}")
        features = backbone(inputs)
        if len(features.shape) == 4:
            features = keras.layers.GlobalAveragePooling2D(name="features")(features)
        elif len(features.shape) != 2:
            raise ValueError(f"backbone output must be (batch, features) or a feature map, got {features.shape}")
    if dropout:
        features = keras.layers.Dropout(dropout, name="dropout")(features)
    x = keras.layers.Dense(embedding_dim, name="projection")(features)
    outputs = keras.layers.UnitNormalization(axis=-1, name="l2_normalize", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
