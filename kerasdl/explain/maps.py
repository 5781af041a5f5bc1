"""Where a CNN looks: Grad-CAM and occlusion sensitivity, one heat map per image.

- Grad-CAM (Selvaraju et al. 2017): for a conv layer's feature maps ``A^k`` and the class
  score ``S_c``, ``L_c = ReLU(Σ_k α_k A^k)`` with ``α_k = mean_ij ∂S_c/∂A^k_ij``; upsampled
  bilinearly to the input size and scaled to [0, 1] per image.
- Occlusion sensitivity (Zeiler & Fergus 2014, "Visualizing and understanding
  convolutional networks", the seeds' Zeiler et al. section): slide a grey/zero patch over
  the image and record how much the class score drops; each pixel gets the mean drop of
  the patches covering it.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerasdl._validation import check_int
from kerasdl.attacks.gradient import score_function
from kerasdl.explain.gradients import as_batch, resolve_classes

_CONV_TYPES = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)


def find_last_conv_layer(model) -> str:
    """Name of the model's last convolutional layer with a 4-D output (top level of the graph)."""
    for layer in reversed(model.layers):
        if isinstance(layer, _CONV_TYPES) and len(layer.output.shape) == 4:
            return layer.name
    raise ValueError(
        f"model {model.name!r} has no Conv2D/DepthwiseConv2D/SeparableConv2D layer at its top level; "
        "pass layer_name (a layer with a 4-D output)"
    )


def get_layer(model, layer_name: str):
    """``model.get_layer(layer_name)`` with an error that lists the names there are."""
    try:
        return model.get_layer(layer_name)
    except ValueError:
        names = [layer.name for layer in model.layers]
        raise ValueError(f"layer_name {layer_name!r} is not a layer of {model.name!r}; its layers: {names}") from None


def grad_cam(model, x, class_index=None, *, layer_name: str | None = None, logits=True, path=None):
    """Grad-CAM heat maps (N, H, W) in [0, 1]; ``layer_name`` defaults to the last conv layer."""
    x = as_batch(model, x)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, H, W, C), got shape {x.shape}")
    layer = get_layer(model, layer_name or find_last_conv_layer(model))
    if len(layer.output.shape) != 4:
        raise ValueError(
            f"layer_name {layer.name!r} has output shape {layer.output.shape}; Grad-CAM needs a 4-D "
            "feature map (N, h, w, channels)"
        )
    fn, _ = score_function(model, logits=logits, extra_outputs=[layer.output])
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        (features,), scores = fn(inputs)
        classes = resolve_classes(scores.numpy(), class_index, len(x))
        selected = tf.gather(scores, classes, axis=-1, batch_dims=1)
    gradients = tape.gradient(selected, features)
    if gradients is None:
        raise ValueError(f"model: no gradient path from layer {layer.name!r} to the class score")
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))[..., None]
    cam = tf.image.resize(cam, x.shape[1:3], method="bilinear")[..., 0].numpy()
    peak = cam.reshape(len(x), -1).max(axis=1).reshape(-1, 1, 1)
    cam = np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0).astype("float32")
    if path is not None:
        from kerasdl.explain.plots import plot_heatmaps

        plot_heatmaps(x, cam, path, titles=[f"Grad-CAM {layer.name}: class {c}" for c in classes])
    return cam


def occlusion_sensitivity(
    model,
    x,
    class_index=None,
    *,
    patch_size: int = 4,
    stride: int | None = None,
    fill: float | str = 0.0,
    logits=False,
    batch_size: int = 256,
    path=None,
):
    """Score drop when a ``patch_size`` square is hidden: maps (N, H, W), larger = more important.

    ``fill``: the value of hidden pixels, or ``"mean"`` for the image's mean. ``logits``
    defaults to False here: the drop in *probability* is the quantity Zeiler & Fergus plot.
    """
    x = as_batch(model, x)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, H, W, C), got shape {x.shape}")
    height, width = x.shape[1:3]
    patch_size = check_int("patch_size", patch_size, minimum=1, maximum=min(height, width))
    stride = patch_size if stride is None else check_int("stride", stride, minimum=1)
    if not (fill == "mean" or isinstance(fill, (int, float))):
        raise ValueError(f"fill must be a number or 'mean', got {fill!r}")
    score_fn, _ = score_function(model, logits=logits)
    base = np.asarray(score_fn(tf.constant(x)))
    classes = resolve_classes(base, class_index, len(x))
    rows = list(range(0, height - patch_size + 1, stride))
    cols = list(range(0, width - patch_size + 1, stride))
    maps = np.zeros(x.shape[:3], dtype="float32")
    for n in range(len(x)):
        value = float(x[n].mean()) if fill == "mean" else float(fill)
        variants, boxes = [], []
        for r in rows:
            for c in cols:
                occluded = x[n].copy()
                occluded[r : r + patch_size, c : c + patch_size, :] = value
                variants.append(occluded)
                boxes.append((r, c))
        variants = np.stack(variants)
        scores = np.concatenate(
            [
                np.asarray(score_fn(tf.constant(variants[s : s + batch_size])))
                for s in range(0, len(variants), batch_size)
            ]
        )
        drops = base[n, classes[n]] - scores[:, classes[n]]
        total = np.zeros((height, width), "float32")
        count = np.zeros((height, width), "float32")
        for (r, c), drop in zip(boxes, drops):
            total[r : r + patch_size, c : c + patch_size] += drop
            count[r : r + patch_size, c : c + patch_size] += 1
        maps[n] = total / np.maximum(count, 1)
    if path is not None:
        from kerasdl.explain.plots import plot_heatmaps

        plot_heatmaps(x, maps, path, titles=[f"occlusion: class {c}" for c in classes], normalize=True)
    return maps
