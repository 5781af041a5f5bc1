"""Gradient attributions: vanilla saliency, SmoothGrad and integrated gradients.

The score explained is the class score of :func:`kerasdl.attacks.score_function`: the
pre-softmax logit when the model ends in a softmax/sigmoid layer (as in the papers below;
``logits=False`` explains the probability instead), otherwise the model's output.
``class_index`` is an int (same class for every example), one int per example, or None
(each example's predicted class).

- Saliency: ``|∂S_c/∂x|``, maximised over colour channels (Simonyan, Vedaldi & Zisserman
  2014, "Deep inside convolutional networks").
- SmoothGrad: the gradient averaged over ``n_samples`` noisy copies ``x + N(0, σ²)``,
  ``σ = noise_level · (max x − min x)`` (Smilkov et al. 2017).
- Integrated gradients: ``(x − x') · ∫₀¹ ∂S_c(x' + a(x − x'))/∂x da`` with a trapezoid
  rule over ``steps`` intervals (Sundararajan, Taly & Yan 2017). *Completeness*: the
  attributions sum to ``S_c(x) − S_c(x')``; :func:`completeness_gap` measures how far
  the numerical integral is from it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kerasdl._validation import check_float, check_int
from kerasdl.attacks.gradient import score_function


def as_batch(model, x, name: str = "x") -> np.ndarray:
    """``x`` as a float32 batch of the model's input rank (a single example gets a batch axis)."""
    x = np.asarray(x, dtype="float32")
    rank = len(model.input_shape)
    if x.ndim == rank - 1:
        x = x[None]
    if x.ndim != rank:
        raise ValueError(
            f"{name} must have shape (N, {', '.join(map(str, model.input_shape[1:]))}) or one "
            f"example without the batch axis, got shape {x.shape}"
        )
    return x


def resolve_classes(scores, class_index, num_examples: int) -> np.ndarray:
    """Class per example: None → argmax of ``scores``; int → repeated; sequence → checked."""
    num_classes = scores.shape[-1]
    if class_index is None:
        return np.asarray(scores).argmax(axis=-1).astype("int32")
    classes = np.broadcast_to(np.asarray(class_index), (num_examples,)).astype("int64")
    if classes.size and (classes.min() < 0 or classes.max() >= num_classes):
        raise ValueError(f"class_index must be in [0, {num_classes - 1}], got {class_index!r}")
    return classes.astype("int32")


def _gradients(score_fn, x, classes):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = score_fn(x)
        selected = tf.gather(scores, classes, axis=-1, batch_dims=1)
    gradient = tape.gradient(selected, x)
    if gradient is None:
        raise ValueError("model: no gradient path from the input to the class score (gradient is None)")
    return gradient.numpy(), scores.numpy()


def _reduce_channels(gradients):
    magnitude = np.abs(gradients)
    return magnitude.max(axis=-1) if magnitude.ndim == 4 else magnitude


def saliency(model, x, class_index=None, *, logits=True, path=None):
    """Vanilla gradient saliency maps: (N, H, W) for images, (N, features) otherwise.

    ``path``: also write a PNG of the images beside their maps.
    """
    x = as_batch(model, x)
    score_fn, _ = score_function(model, logits=logits)
    classes = resolve_classes(np.asarray(score_fn(tf.constant(x))), class_index, len(x))
    gradients, _ = _gradients(score_fn, x, classes)
    maps = _reduce_channels(gradients)
    _maybe_plot(path, x, maps, classes, "saliency")
    return maps


def smoothgrad(
    model, x, class_index=None, *, n_samples: int = 25, noise_level: float = 0.15, logits=True, seed: int = 0, path=None
):
    """SmoothGrad maps, same shape as :func:`saliency`."""
    n_samples = check_int("n_samples", n_samples, minimum=1)
    noise_level = check_float("noise_level", noise_level, minimum=0.0)
    x = as_batch(model, x)
    score_fn, _ = score_function(model, logits=logits)
    classes = resolve_classes(np.asarray(score_fn(tf.constant(x))), class_index, len(x))
    sigma = noise_level * float(x.max() - x.min() or 1.0)
    rng = np.random.default_rng(seed)
    total = np.zeros_like(x)
    for _ in range(n_samples):
        noisy = (x + rng.normal(0.0, sigma, x.shape)).astype("float32")
        total += _gradients(score_fn, noisy, classes)[0]
    maps = _reduce_channels(total / n_samples)
    _maybe_plot(path, x, maps, classes, "SmoothGrad")
    return maps


def integrated_gradients(
    model, x, class_index=None, *, baseline=None, steps: int = 64, logits=True, batch_size: int = 128, path=None
):
    """Integrated-gradients attributions, same shape as ``x`` (batch axis included).

    ``baseline``: None (zeros, a black image), a scalar, or an array broadcastable to one
    example. See :func:`completeness_gap` for the check that they add up.
    """
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    x = as_batch(model, x)
    baseline = _baseline(baseline, x)
    score_fn, _ = score_function(model, logits=logits)
    classes = resolve_classes(np.asarray(score_fn(tf.constant(x))), class_index, len(x))
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype="float32").reshape((-1,) + (1,) * (x.ndim - 1))
    weights = np.full(steps + 1, 1.0 / steps, dtype="float32")  # trapezoid rule on [0, 1]
    weights[[0, -1]] /= 2
    attributions = np.empty_like(x)
    for i in range(len(x)):
        path_points = baseline[i] + alphas * (x[i] - baseline[i])
        grads = np.concatenate(
            [
                _gradients(
                    score_fn, path_points[s : s + batch_size], np.full(len(path_points[s : s + batch_size]), classes[i])
                )[0]
                for s in range(0, len(path_points), batch_size)
            ]
        )
        attributions[i] = (x[i] - baseline[i]) * np.tensordot(weights, grads, axes=1)
    if path is not None:
        _maybe_plot(path, x, _reduce_channels(attributions), classes, "integrated gradients")
    return attributions


def _baseline(baseline, x):
    if baseline is None:
        return np.zeros_like(x)
    baseline = np.asarray(baseline, dtype="float32")
    try:
        return np.broadcast_to(baseline, x.shape).astype("float32")
    except ValueError:
        raise ValueError(f"baseline of shape {baseline.shape} does not broadcast to x of shape {x.shape}") from None


def completeness_gap(model, x, attributions, class_index=None, *, baseline=None, logits=True):
    """Per example: ``(Σ attributions − (S_c(x) − S_c(x'))`` and ``S_c(x) − S_c(x')``.

    Returns ``(gap, difference)``; integrated gradients are complete when ``|gap|`` is a
    small fraction of ``|difference|`` (more ``steps`` shrink it).
    """
    x = as_batch(model, x)
    baseline = _baseline(baseline, x)
    score_fn, _ = score_function(model, logits=logits)
    scores_x = np.asarray(score_fn(tf.constant(x)))
    classes = resolve_classes(scores_x, class_index, len(x))
    scores_b = np.asarray(score_fn(tf.constant(baseline)))
    rows = np.arange(len(x))
    difference = scores_x[rows, classes] - scores_b[rows, classes]
    total = np.asarray(attributions).reshape(len(x), -1).sum(axis=1)
    return total - difference, difference


def _maybe_plot(path, x, maps, classes, name):
    if path is None:
        return
    from kerasdl.explain.plots import plot_heatmaps

    if x.ndim == 4:
        plot_heatmaps(x, maps, path, titles=[f"{name}: class {c}" for c in classes])
    else:
        from kerasdl.explain.plots import plot_feature_weights

        plot_feature_weights(
            [(f"x{i}", float(v)) for i, v in enumerate(maps[0])], path, title=f"{name}: class {classes[0]}"
        )
