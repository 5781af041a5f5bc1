"""YOLO-style grid detector and the single-object localizer.

``yolo_detector``: backbone → ``S x S`` feature map → 1x1 convolution with
``B · (5 + C)`` filters → reshape to ``(S, S, B, 5 + C)``, the course notes' YOLO output
("YOLO algorithm", "Anchor Boxes"; Redmon et al., CVPR 2016; Redmon & Farhadi, CVPR 2017).
The notes' worked example, a 608 x 608 image, stride 32, 5 anchors and 80 classes, gives
``19 x 19 x 5 x 85``. The outputs are raw: :class:`kerasdl.detection.losses.YoloLoss` and
:func:`kerasdl.detection.decoding.decode_grid` apply the sigmoid/exp/softmax.

``localizer``: a small valid-padded CNN → Flatten → Dense → ``Dense(5 + C)``, the notes'
``(p, b_x, b_y, b_w, b_h, c_1..c_C)`` model; having only valid convolutions and a
Flatten + Dense head, it converts exactly with :func:`kerasdl.models.convolutionalize`
into the sliding-window detector.
"""

from __future__ import annotations

import inspect
import math

import keras
import numpy as np

from kerasdl._validation import check_float, check_image_shape, check_int, check_shape
from kerasdl.detection.encoding import check_anchors, grid_shape

__all__ = ["darknet_backbone", "localizer", "yolo_detector"]

_L = keras.layers


def _conv_bn_leaky(x, filters, name, alpha):
    """Conv 3x3 (no bias) → BatchNorm → LeakyReLU, YOLOv2's "Darknet" unit."""
    x = _L.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name=f"{name}_conv")(x)
    x = _L.BatchNormalization(name=f"{name}_bn")(x)
    return _L.LeakyReLU(negative_slope=alpha, name=f"{name}_leaky")(x)


def darknet_backbone(inputs, filters, downsamplings: int, *, alpha: float = 0.1):
    """Small Darknet-style stack: one conv unit per entry of ``filters``; the first
    ``downsamplings`` units are followed by a 2x2 max-pool (stride 2)."""
    x = inputs
    for i, f in enumerate(filters):
        x = _conv_bn_leaky(x, f, f"stage{i + 1}", alpha)
        if i < downsamplings:
            x = _L.MaxPooling2D(2, name=f"stage{i + 1}_pool")(x)
    return x


def _builder_backbone(name, input_shape):
    from kerasdl.models import BUILDERS

    if name not in BUILDERS:
        raise ValueError(f"backbone must be a keras.Model, None or one of {sorted(BUILDERS)}, got {name!r}")
    builder = BUILDERS[name]
    params = inspect.signature(builder).parameters
    if "include_top" not in params:
        raise ValueError(f"backbone {name!r} has no include_top option, so it cannot give a feature map")
    kwargs = {"input_shape": input_shape, "include_top": False}
    if "pooling" in params:
        kwargs["pooling"] = None
    return builder(**kwargs)


def _feature_map(inputs, input_shape, backbone):
    if isinstance(backbone, str):
        backbone = _builder_backbone(backbone, input_shape)
    if not isinstance(backbone, keras.Model):
        raise ValueError(f"backbone must be None, a builder name or a keras.Model, got {type(backbone).__name__}")
    x = backbone(inputs)
    if len(x.shape) != 4:
        raise ValueError(f"backbone {backbone.name!r} must output a (batch, rows, cols, channels) map, got {x.shape}")
    return x


def yolo_detector(
    input_shape=(64, 64, 3),
    num_classes: int = 10,
    anchors=3,
    *,
    grid_size=None,
    backbone=None,
    filters=(16, 32, 64, 128),
    alpha: float = 0.1,
    name: str = "yolo_detector",
):
    """YOLO grid detector returning raw ``(N, S, S, B, 5 + C)`` predictions.

    Args:
        input_shape: ``(height, width, channels)`` of the float input images.
        num_classes: ``C``.
        anchors: ``B`` (an int) or the ``(B, 2)`` anchor array (only its length is used here;
            the anchor sizes enter in target encoding and decoding).
        grid_size: ``S`` or ``(rows, cols)``. With the built-in backbone it fixes the number of
            2x2 poolings (``input / grid`` must be a power of two; default: stride 8). With
            another backbone it must equal the backbone's output map when given.
        backbone: ``None`` (a small Darknet-style conv stack, :func:`darknet_backbone`), the
            name of a kerasdl builder with ``include_top`` (e.g. ``"mobilenet_v2"``), or any
            ``keras.Model`` that outputs a feature map.
        filters: channels of the built-in backbone's conv units; the first
            ``log2(stride)`` are followed by pooling, the rest refine the ``S x S`` map.
        alpha: LeakyReLU slope of the built-in backbone.
    """
    input_shape = check_image_shape("input_shape", input_shape)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    num_anchors = check_int("anchors", anchors, minimum=1) if np.ndim(anchors) == 0 else len(check_anchors(anchors))
    alpha = check_float("alpha", alpha, minimum=0.0)
    inputs = keras.Input(shape=input_shape, name="images")
    if backbone is None:
        filters = check_shape("filters", filters)
        if grid_size is None:
            grid = (input_shape[0] // 8, input_shape[1] // 8)
        else:
            grid = grid_shape(grid_size)
        strides = {input_shape[0] / grid[0], input_shape[1] / grid[1]}
        stride = strides.pop()
        if strides or stride < 1 or stride != int(stride) or (int(stride) & (int(stride) - 1)):
            raise ValueError(
                f"grid_size={grid_size!r} must divide input_shape={input_shape[:2]} by the same power "
                "of two in both directions (the built-in backbone downsamples by 2x2 poolings)"
            )
        downsamplings = int(math.log2(stride))
        if len(filters) < downsamplings:
            raise ValueError(f"filters={filters!r}: a stride of {int(stride)} needs at least {downsamplings} entries")
        x = darknet_backbone(inputs, filters, downsamplings, alpha=alpha)
    else:
        x = _feature_map(inputs, input_shape, backbone)
        if grid_size is not None:
            want = grid_shape(grid_size)
            if tuple(x.shape[1:3]) != want:
                raise ValueError(f"grid_size={grid_size!r} but the backbone gives a {tuple(x.shape[1:3])} map")
    rows, cols = x.shape[1], x.shape[2]
    x = _L.Conv2D(num_anchors * (5 + num_classes), 1, name="yolo_head")(x)
    outputs = _L.Reshape((rows, cols, num_anchors, 5 + num_classes), name="yolo_grid")(x)
    return keras.Model(inputs, outputs, name=name)


def localizer(
    input_shape=(24, 24, 3), num_classes: int = 10, *, filters=(16, 32), hidden_units: int = 64, name: str = "localizer"
):
    """Classification with localization: ``(N, 5 + C)`` raw ``(p, b_x, b_y, b_w, b_h, c...)``.

    Conv 3x3 (valid, ReLU) → 2x2 max-pool per entry of ``filters`` → Flatten →
    Dense(``hidden_units``, ReLU) → :func:`kerasdl.detection.localization.localization_head`.
    Only valid convolutions, so :func:`kerasdl.models.convolutionalize` slides it exactly.
    """
    from kerasdl.detection.localization import localization_head

    input_shape = check_image_shape("input_shape", input_shape)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    filters = check_shape("filters", filters)
    hidden_units = check_int("hidden_units", hidden_units, minimum=1)
    inputs = keras.Input(shape=input_shape, name="images")
    x, size = inputs, list(input_shape[:2])
    for i, f in enumerate(filters):
        size = [(s - 2) // 2 for s in size]
        if min(size) < 1:
            raise ValueError(f"input_shape={input_shape!r} is too small for {len(filters)} conv+pool stages")
        x = _L.Conv2D(f, 3, activation="relu", kernel_initializer="he_normal", name=f"conv{i + 1}")(x)
        x = _L.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = _L.Flatten(name="flatten")(x)
    x = _L.Dense(hidden_units, activation="relu", kernel_initializer="he_normal", name="fc")(x)
    return keras.Model(inputs, localization_head(x, num_classes), name=name)
