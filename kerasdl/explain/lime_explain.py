"""LIME for images and tabular inputs, through the ``lime`` package (Ribeiro, Singh &
Guestrin 2016, "Why should I trust you?"; the seeds' *Model Agnostic Explainable AI*).

LIME treats the model as a black box: it perturbs the input (hides superpixels of an
image, resamples features of a table row), weighs the perturbed samples by their
closeness to the original and fits a weighted ridge regression whose coefficients are the
explanation. The well-kept ``lime`` package (0.2.x, works with NumPy 2 and pulls
scikit-image for its superpixels) does exactly that, so kerasdl only adapts Keras models
to it: channel handling for greyscale images, a grid segmentation for small images where
quickshift finds only a handful of superpixels, binary sigmoid models, and plain arrays
out. It is an optional dependency (the ``explain`` extra): ``pip install lime``.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_choice, check_int


def _require_lime():
    try:
        import lime  # noqa: F401
    except ImportError:
        raise ImportError(
            "LIME explanations need the 'lime' package: pip install lime (or pip install 'kerasdl[explain]')"
        ) from None


def _class_probabilities(model):
    """A ``predict`` for LIME: (n, classes) outputs; one sigmoid unit becomes [1 − p, p]."""

    def predict(batch):
        out = np.asarray(model.predict(np.asarray(batch, dtype="float32"), batch_size=256, verbose=0))
        return np.concatenate([1.0 - out, out], axis=1) if out.shape[-1] == 1 else out

    return predict


def grid_segments(height: int, width: int, cell: int) -> np.ndarray:
    """Superpixels as a regular grid of ``cell`` x ``cell`` squares: (H, W) int labels."""
    cell = check_int("cell", cell, minimum=1)
    rows = np.arange(height) // cell
    cols = np.arange(width) // cell
    return (rows[:, None] * (-(-width // cell)) + cols[None, :]).astype("int64")


def lime_image(
    model,
    image,
    class_index=None,
    *,
    num_samples: int = 500,
    segmentation="auto",
    cell: int = 4,
    hide_color: float = 0.0,
    seed: int = 0,
    batch_size: int = 256,
    path=None,
) -> dict:
    """Explain one image (H, W, C) with LIME.

    ``segmentation``: ``"grid"`` (``cell``-pixel squares), ``"quickshift"`` (LIME's default,
    scikit-image), or ``"auto"`` (grid below 64 pixels a side, else quickshift); or a
    function ``image -> (H, W) int labels``. Returns ``class_index``, ``segments`` (H, W),
    ``segment_weights`` ({segment: weight}), ``heatmap`` (H, W: each pixel has its
    segment's weight), ``score`` (the surrogate's R²) and ``explanation`` (lime's object).
    """
    _require_lime()
    from lime import lime_image as lime_image_module

    image = np.asarray(image, dtype="float32")
    if image.ndim != 3 or tuple(image.shape) != tuple(model.input_shape[1:]):
        raise ValueError(f"image must be one example of shape {tuple(model.input_shape[1:])}, got {image.shape}")
    num_samples = check_int("num_samples", num_samples, minimum=10)
    height, width, channels = image.shape
    if callable(segmentation):
        segment_fn = segmentation
    else:
        check_choice("segmentation", segmentation, ("auto", "grid", "quickshift"))
        if segmentation == "auto":
            segmentation = "grid" if min(height, width) < 64 else "quickshift"
        if segmentation == "grid":

            def segment_fn(_image):
                return grid_segments(height, width, cell)
        else:
            from lime.wrappers.scikit_image import SegmentationAlgorithm

            segment_fn = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2, random_seed=seed)
    predict = _class_probabilities(model)

    def classifier_fn(rgb_batch):  # lime works on RGB images; give the model its own channels back
        batch = rgb_batch[..., :1] if channels == 1 else rgb_batch
        return predict(batch)

    probabilities = classifier_fn(np.repeat(image[None], 3, axis=-1) if channels == 1 else image[None])
    label = (
        int(probabilities[0].argmax())
        if class_index is None
        else check_int("class_index", class_index, minimum=0, maximum=probabilities.shape[1] - 1)
    )
    explainer = lime_image_module.LimeImageExplainer(random_state=seed)
    explanation = explainer.explain_instance(
        image[..., 0] if channels == 1 else image,
        classifier_fn,
        labels=(label,),
        top_labels=None,
        hide_color=hide_color,
        num_features=100000,
        num_samples=num_samples,
        batch_size=batch_size,
        segmentation_fn=segment_fn,
        random_seed=seed,
    )
    weights = {int(segment): float(weight) for segment, weight in explanation.local_exp[label]}
    segments = np.asarray(explanation.segments)
    heatmap = np.vectorize(lambda s: weights.get(int(s), 0.0), otypes=["float32"])(segments)
    if path is not None:
        from kerasdl.explain.plots import plot_heatmaps

        plot_heatmaps(image[None], heatmap[None], path, titles=[f"LIME: class {label}"], cmap="RdBu_r", symmetric=True)
    return {
        "class_index": label,
        "segments": segments,
        "segment_weights": weights,
        "heatmap": heatmap,
        "score": float(explanation.score),
        "explanation": explanation,
    }


def lime_tabular(
    model,
    training_data,
    instance,
    class_index=None,
    *,
    feature_names=None,
    num_samples: int = 1000,
    mode: str = "classification",
    discretize: bool = False,
    seed: int = 0,
    path=None,
) -> dict:
    """Explain one row of tabular data with LIME.

    ``model``: a Keras model or any ``predict(array) -> array`` function;
    ``training_data``: (n, features) rows LIME samples its perturbations from (feature
    means and spreads). ``discretize=False`` keeps the features continuous, so each weight
    is a local slope per standardised feature. Returns ``class_index``, ``weights``
    (list of ``(feature_name, weight)``, largest magnitude first), ``intercept``,
    ``score`` and ``explanation``.
    """
    _require_lime()
    from lime.lime_tabular import LimeTabularExplainer

    check_choice("mode", mode, ("classification", "regression"))
    training_data = np.asarray(training_data, dtype="float64")
    instance = np.asarray(instance, dtype="float64").reshape(-1)
    if training_data.ndim != 2 or training_data.shape[1] != instance.size:
        raise ValueError(f"training_data must be (n, {instance.size}) rows like instance, got {training_data.shape}")
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(instance.size)]
    if len(names) != instance.size:
        raise ValueError(f"feature_names has {len(names)} names for {instance.size} features")
    if hasattr(model, "predict") and hasattr(model, "input_shape"):
        keras_predict = _class_probabilities(model)
        if mode == "regression":

            def predict(rows):
                return np.asarray(model.predict(np.asarray(rows, "float32"), verbose=0)).reshape(len(rows), -1)[:, 0]
        else:
            predict = keras_predict
    else:
        predict = model
    explainer = LimeTabularExplainer(
        training_data, mode=mode, feature_names=names, discretize_continuous=discretize, random_state=seed
    )
    if mode == "classification":
        probabilities = np.asarray(predict(instance[None]))
        label = (
            int(probabilities[0].argmax())
            if class_index is None
            else check_int("class_index", class_index, minimum=0, maximum=probabilities.shape[1] - 1)
        )
        explanation = explainer.explain_instance(
            instance, predict, labels=(label,), num_features=instance.size, num_samples=num_samples
        )
        pairs = explanation.local_exp[label]
        intercept = float(explanation.intercept[label])
    else:
        label = None
        explanation = explainer.explain_instance(instance, predict, num_features=instance.size, num_samples=num_samples)
        pairs = explanation.local_exp[next(iter(explanation.local_exp))]
        intercept = (
            float(np.asarray(explanation.intercept).reshape(-1)[0])
            if np.ndim(explanation.intercept)
            else float(explanation.intercept)
        )
    weights = [(names[int(i)], float(w)) for i, w in sorted(pairs, key=lambda p: -abs(p[1]))]
    if path is not None:
        from kerasdl.explain.plots import plot_feature_weights

        plot_feature_weights(weights, path, title=f"LIME{'' if label is None else f': class {label}'}")
    return {
        "class_index": label,
        "weights": weights,
        "intercept": intercept,
        "score": float(explanation.score),
        "explanation": explanation,
    }
