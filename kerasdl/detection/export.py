"""The detector as a SavedModel: resize → model → decode → per-class NMS inside one graph.

``serve(images: uint8 (N, H, W, 3))`` takes a batch of any image size and returns ``boxes``
(pixels of that image, ``x_min, y_min, x_max, y_max``), ``scores``, ``classes`` and
``num_detections``, so a client needs only TensorFlow. The folder is written atomically
(:func:`kerasdl.export.atomic_directory`, the one write path every kerasdl export shares);
:func:`check_detector_export` reloads it and compares it with the in-memory pipeline.
Used by ``kerasdl detect`` and ``benchmarks/detection.py``.
"""

from __future__ import annotations

from pathlib import Path


def serving_module(model, anchors, *, score_threshold=0.05, iou_threshold=0.5, max_per_class=20, max_total=50):
    """A ``keras.export.ExportArchive`` whose ``serve`` endpoint runs resize → model → decode → NMS."""
    import keras
    import tensorflow as tf

    from kerasdl.detection.decoding import decode_grid, non_max_suppression
    from kerasdl.export import call_on_batch

    height, width = model.input_shape[1:3]
    nms = dict(
        score_threshold=score_threshold, iou_threshold=iou_threshold, max_per_class=max_per_class, max_total=max_total
    )

    def detect(images):
        size = tf.shape(images)[1:3]
        x = tf.image.resize(tf.cast(images, tf.float32), (height, width)) / 255.0
        boxes, objectness, class_probs = decode_grid(model(x, training=False), anchors, size)
        return non_max_suppression(boxes, objectness[..., None] * class_probs, size, **nms)

    def serve(images):  # an empty batch gives empty outputs (kerasdl.export.call_on_batch)
        return call_on_batch(detect, images)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve", serve, input_signature=[tf.TensorSpec((None, None, None, 3), tf.uint8, name="images")]
    )
    return archive


def export_detector(model, anchors, path, **nms):
    """Write the serving archive (:func:`serving_module`) atomically to ``path``; returns ``path``.

    ``nms``: ``score_threshold``, ``iou_threshold``, ``max_per_class``, ``max_total``.
    """
    from kerasdl.export import atomic_directory

    with atomic_directory(path) as tmp:
        serving_module(model, anchors, **nms).write_out(str(tmp), verbose=False)
    return path


def check_detector_export(path, model, anchors, images, *, tolerance: float = 1e-3, **nms) -> float:
    """Reload the SavedModel at ``path`` and return the largest box/score difference from the
    in-memory pipeline on ``images`` (uint8), through :func:`kerasdl.export.check_export_agrees`.

    Detections are ragged, so each image is compared on its own: a different detection count,
    a different class, or a box/score difference above ``tolerance`` (``classes`` compared
    in the same dict, where any difference is at least 1) raises ``RuntimeError``.
    """
    import numpy as np
    import tensorflow as tf

    from kerasdl.detection.decoding import postprocess

    loaded = tf.saved_model.load(str(Path(path)))  # kept alive: its functions hold weak references
    served = loaded.serve(tf.constant(images))
    expected = postprocess(model(images.astype(np.float32) / 255.0, training=False), anchors, images.shape[1:3], **nms)
    return compare_served_detections(served, expected, tolerance=tolerance)


def compare_served_detections(served, expected, *, tolerance: float = 1e-3) -> float:
    """Compare a detection SavedModel's padded outputs with in-memory detections, image by image.

    Args:
        served: the export's outputs, ``{"boxes", "scores", "classes", "num_detections"}``
            padded to a fixed number of detections per image.
        expected: per image ``(boxes, scores, classes)`` arrays from the in-memory pipeline.
        tolerance: the largest allowed box/score difference; counts and classes must match.
            Detections whose scores tie within ``tolerance`` may come in either order.

    Returns:
        The largest box/score difference over all images.

    Raises:
        RuntimeError: a count, class or difference beyond ``tolerance`` on some image
            (through :func:`kerasdl.export.check_export_agrees`).
    """
    import numpy as np

    from kerasdl.export import check_export_agrees

    worst = 0.0
    for i, (boxes, scores, classes) in enumerate(expected):
        n = int(served["num_detections"][i])
        if n != len(boxes):
            raise RuntimeError(
                f"exported model disagrees with the in-memory model on image {i}: {n} vs {len(boxes)} boxes"
            )
        found = {key: np.asarray(served[key][i, :n]) for key in ("boxes", "scores", "classes")}
        want = {"boxes": np.asarray(boxes), "scores": np.asarray(scores), "classes": np.asarray(classes)}
        order = _pair_tied_detections(found, want, tolerance)
        found = {key: value[order] for key, value in found.items()}
        worst = max(worst, check_export_agrees(found, want, tolerance=tolerance, what=f"image {i}"))
    return worst


def _pair_tied_detections(found, want, tolerance: float):
    """Order ``found`` detections to line up with ``want``'s, allowing for score ties.

    Both lists are sorted by score, but two detections whose scores differ by less than
    float32 noise may come out in either order (an untrained model gives many such ties), so
    each wanted detection is paired with the unpaired found one of the same class, with a score
    within ``tolerance``, whose box is closest. If one has no such partner, the order is left as
    it is, so the comparison that follows reports the disagreement.
    """
    import numpy as np

    count = len(want["scores"])
    free = np.ones(count, bool)
    partners = []
    for i in range(count):
        candidates = np.flatnonzero(
            free & (found["classes"] == want["classes"][i]) & (np.abs(found["scores"] - want["scores"][i]) <= tolerance)
        )
        if len(candidates) == 0:
            return np.arange(count)
        box_gap = np.max(np.abs(found["boxes"][candidates] - want["boxes"][i]), axis=-1)
        partners.append(candidates[int(np.argmin(box_gap))])
        free[partners[-1]] = False
    return np.asarray(partners, dtype=int)
