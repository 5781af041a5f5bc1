"""What the layers learned: embeddings (t-SNE), first-layer filters, top-activating patches.

- t-SNE of a layer's activations (van der Maaten & Hinton 2008, via scikit-learn): the
  seeds' "visualising embeddings" — examples of one class should cluster.
- The first conv layer's kernels drawn as small images (edge and colour detectors).
- Top-activating input patches per channel, the seeds' Zeiler & Fergus (2014) view: for
  each chosen channel, the ``k`` images whose strongest response in that channel is the
  largest, cropped to the unit's receptive field (size from
  :func:`kerasdl.analysis.receptive_fields`, centred on the input pixels the unit's
  gradient reaches).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerasdl._validation import check_float, check_int
from kerasdl.explain.gradients import as_batch
from kerasdl.explain.maps import find_last_conv_layer, get_layer


def layer_model(model, layer_name: str):
    """A model from ``model``'s input to the output of ``layer_name``."""
    return keras.Model(model.inputs, get_layer(model, layer_name).output, name=f"{model.name}_{layer_name}")


def layer_embeddings(model, x, layer_name: str, *, batch_size: int = 256) -> np.ndarray:
    """Activations of ``layer_name`` for ``x``, flattened to (N, D)."""
    x = as_batch(model, x)
    out = layer_model(model, layer_name).predict(x, batch_size=batch_size, verbose=0)
    return np.asarray(out).reshape(len(x), -1)


def tsne_embedding(
    model,
    x,
    layer_name: str,
    *,
    labels=None,
    perplexity: float = 30.0,
    seed: int = 0,
    threads: int | None = 1,
    path=None,
) -> np.ndarray:
    """2-D t-SNE (scikit-learn, PCA initialisation) of ``layer_name``'s activations: (N, 2).

    ``perplexity`` must be below the number of examples. ``labels`` colour the optional PNG.
    ``threads`` caps scikit-learn's OpenMP threads (``None``: no cap). The default of 1 is
    deliberate: on a busy shared CPU, OpenMP threads spinning against other processes made
    a 16-point t-SNE take 50 s instead of 0.5 s.
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    features = layer_embeddings(model, x, layer_name)
    perplexity = check_float("perplexity", perplexity, minimum=0.0, min_inclusive=False)
    if perplexity >= len(features):
        raise ValueError(f"perplexity must be smaller than the number of examples ({len(features)}), got {perplexity}")
    with threadpool_limits(limits=threads):
        points = (
            TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
            .fit_transform(features)
            .astype("float32")
        )
    if path is not None:
        from kerasdl.explain.plots import plot_embedding

        plot_embedding(points, path, labels=labels, title=f"t-SNE of {layer_name}")
    return points


def _first_conv(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.Conv2DTranspose):
            return layer
    raise ValueError(f"model {model.name!r} has no Conv2D layer at its top level; pass layer_name")


def first_layer_filters(model, *, layer_name: str | None = None, path=None) -> np.ndarray:
    """The first conv layer's kernels as images: (filters, kh, kw, in_channels), each scaled to [0, 1]."""
    layer = get_layer(model, layer_name) if layer_name else _first_conv(model)
    if not isinstance(layer, keras.layers.Conv2D):
        raise ValueError(f"layer_name {layer.name!r} is a {type(layer).__name__}, not a Conv2D layer")
    kernel = np.transpose(np.asarray(layer.kernel), (3, 0, 1, 2))  # (kh, kw, in, out) -> (out, kh, kw, in)
    low = kernel.min(axis=(1, 2, 3), keepdims=True)
    span = kernel.max(axis=(1, 2, 3), keepdims=True) - low
    filters = ((kernel - low) / np.where(span > 0, span, 1.0)).astype("float32")
    if path is not None:
        from kerasdl.plots import plot_image_grid

        shown = filters if filters.shape[-1] in (1, 3) else filters.mean(axis=-1, keepdims=True)
        plot_image_grid(
            shown,
            path,
            titles=[str(i) for i in range(len(filters))],
            ncols=8,
            value_range=(0, 1),
            title=f"{layer.name}: {len(filters)} filters {filters.shape[1]}x{filters.shape[2]}",
        )
    return filters


def _receptive_field(model, layer_name: str) -> int | None:
    from kerasdl.analysis import receptive_fields

    try:
        for record in receptive_fields(model):
            if record.name == layer_name:
                return int(record.receptive_field)
    except Exception:  # graphs the analysis cannot walk: fall back to the gradient's extent
        return None
    return None


def top_activating_patches(
    model, x, *, layer_name: str | None = None, channels=None, k: int = 9, batch_size: int = 256, path=None
) -> dict:
    """Zeiler–Fergus view: for each channel, the ``k`` input patches that excite it most.

    ``layer_name`` defaults to the last conv layer; ``channels`` to the first 8 channels.
    Returns ``{channel: {"patches": (k, p, p, C), "activations": (k,), "images": (k,)
    indices into x, "centers": (k, 2) row/col in the input}}`` and ``patch_size``.
    """
    x = as_batch(model, x)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, H, W, C), got shape {x.shape}")
    layer_name = layer_name or find_last_conv_layer(model)
    features_model = layer_model(model, layer_name)
    if len(features_model.output.shape) != 4:
        raise ValueError(f"layer_name {layer_name!r} has no 4-D (N, h, w, channels) output")
    num_channels = int(features_model.output.shape[-1])
    channels = list(range(min(8, num_channels))) if channels is None else [int(c) for c in np.atleast_1d(channels)]
    for c in channels:
        if not 0 <= c < num_channels:
            raise ValueError(f"channels must be in [0, {num_channels - 1}] for layer {layer_name!r}, got {c}")
    k = check_int("k", k, minimum=1, maximum=len(x))
    activations = features_model.predict(x, batch_size=batch_size, verbose=0)  # (N, h, w, C)
    height, width = x.shape[1:3]
    field = _receptive_field(model, layer_name)
    result = {"layer_name": layer_name, "patch_size": None, "channels": {}}
    for c in channels:
        per_image = activations[..., c].reshape(len(x), -1)
        best_positions = per_image.argmax(axis=1)
        best_values = per_image.max(axis=1)
        images = np.argsort(-best_values, kind="stable")[:k]
        rows, cols = np.unravel_index(best_positions[images], activations.shape[1:3])
        # Gradient of each chosen unit w.r.t. its own image: where in the input it looks.
        chosen = tf.constant(x[images])
        index = tf.constant(np.stack([np.arange(k), rows, cols, np.full(k, c)], axis=1), dtype=tf.int32)
        with tf.GradientTape() as tape:
            tape.watch(chosen)
            units = tf.gather_nd(features_model(chosen, training=False), index)
        reach = np.abs(tape.gradient(units, chosen).numpy()).sum(axis=-1)  # (k, H, W)
        centers, patches = [], []
        for i in range(k):
            weights = reach[i]
            if weights.sum() > 0:
                grid_r, grid_c = np.mgrid[0:height, 0:width]
                center = (
                    int(round((grid_r * weights).sum() / weights.sum())),
                    int(round((grid_c * weights).sum() / weights.sum())),
                )
                nonzero = np.argwhere(weights > 0)
                extent = int(max(np.ptp(nonzero[:, 0]), np.ptp(nonzero[:, 1])) + 1)
            else:
                center, extent = (height // 2, width // 2), min(height, width)
            size = min(field or extent, height, width)
            top = int(np.clip(center[0] - size // 2, 0, height - size))
            left = int(np.clip(center[1] - size // 2, 0, width - size))
            centers.append(center)
            patches.append(x[images[i], top : top + size, left : left + size, :])
        size = min(p.shape[0] for p in patches)
        result["patch_size"] = size
        result["channels"][c] = {
            "patches": np.stack([p[:size, :size] for p in patches]),
            "activations": best_values[images].astype("float32"),
            "images": images,
            "centers": np.asarray(centers),
        }
    if path is not None:
        from kerasdl.explain.plots import plot_patches

        plot_patches(result, path)
    return result
