"""The course notes' convolutional sliding-window detector, for comparison with YOLO.

Course notes, "Object detection": train a "closely cropped" classification-with-localization
model on crops that hold one object (or nothing), then slide it over the larger image, at
several window sizes; turning its fully connected layers into convolutions computes every
window in one pass ("Transforming fully connected layers to convolutional layers";
Sermanet et al., "OverFeat", ICLR 2014). Here:

* the crop model is :func:`kerasdl.detection.yolo.localizer` trained with
  :class:`kerasdl.detection.losses.LocalizationLoss` on ``window x window`` crops
  (:func:`make_crops`);
* :func:`kerasdl.models.convolutionalize` turns it into a fully convolutional model whose
  output cell ``(i, j)`` is the crop model on the window at ``(i·s, j·s)``
  (``s`` = :func:`kerasdl.models.convolutionalize.sliding_window_stride`);
* several window sizes = the image resized by each factor in ``scales``;
* each window's ``(p, box, classes)`` is mapped back to image pixels and the windows of all
  scales go through the same per-class NMS as YOLO.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_float, check_int, check_shape
from kerasdl.detection.decoding import non_max_suppression, split_detections
from kerasdl.detection.localization import encode_localization

__all__ = ["SlidingWindowDetector", "make_crops", "train_sliding_window_detector"]


def _resize_uint8(image, factor):
    from PIL import Image

    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))


def make_crops(data, window: int = 24, *, negatives_per_image: int = 4, size_range=(0.45, 0.95), seed: int = 0):
    """``window x window`` training crops from a :class:`~kerasdl.detection.data.DetectionData`.

    Positives: for every box, the image is resized so that the box's longer side becomes a
    random fraction (``size_range``) of the window, and a window holding the whole box at a
    random position is cut out; target ``p = 1``, the box relative to the crop, the class.
    Negatives: random windows (at a random scale in 0.7–1.4) that hold no box centre;
    target ``p = 0``. Returns ``(uint8 crops (M, window, window, 3), targets (M, 5 + K))``.
    """
    window = check_int("window", window, minimum=8)
    negatives_per_image = check_int("negatives_per_image", negatives_per_image, minimum=0)
    lo, hi = (check_float("size_range", v, minimum=0.05, maximum=1.0) for v in size_range)
    rng = np.random.default_rng(seed)
    crops, boxes, labels = [], [], []
    for image, img_boxes, img_labels in zip(data.images, data.boxes, data.labels):
        for box, label in zip(img_boxes, img_labels):
            factor = rng.uniform(lo, hi) * window / max(box[2] - box[0], box[3] - box[1])
            scaled = _resize_uint8(image, factor)
            b = box * factor
            h, w = scaled.shape[:2]
            if h < window or w < window:
                scaled = np.pad(scaled, ((0, max(0, window - h)), (0, max(0, window - w)), (0, 0)))
                h, w = scaled.shape[:2]
            x_lo, x_hi = max(0, int(np.ceil(b[2])) - window), min(int(b[0]), w - window)
            y_lo, y_hi = max(0, int(np.ceil(b[3])) - window), min(int(b[1]), h - window)
            if x_lo > x_hi or y_lo > y_hi:
                continue
            x, y = int(rng.integers(x_lo, x_hi + 1)), int(rng.integers(y_lo, y_hi + 1))
            crops.append(scaled[y : y + window, x : x + window])
            boxes.append((b - np.array([x, y, x, y], np.float32))[None])
            labels.append(np.array([label]))
        centres = np.stack([(img_boxes[:, 0] + img_boxes[:, 2]) / 2, (img_boxes[:, 1] + img_boxes[:, 3]) / 2], 1)
        for _ in range(negatives_per_image):
            factor = rng.uniform(0.7, 1.4)
            scaled = _resize_uint8(image, factor)
            h, w = scaled.shape[:2]
            if h < window or w < window:
                continue
            for _attempt in range(10):
                x, y = int(rng.integers(0, w - window + 1)), int(rng.integers(0, h - window + 1))
                c = centres * factor
                if not np.any((c[:, 0] >= x) & (c[:, 0] < x + window) & (c[:, 1] >= y) & (c[:, 1] < y + window)):
                    crops.append(scaled[y : y + window, x : x + window])
                    boxes.append(np.zeros((0, 4), np.float32))
                    labels.append(np.zeros((0,), np.int64))
                    break
    targets = encode_localization(boxes, labels, (window, window), data.num_classes)
    return np.stack(crops).astype(np.uint8), targets


class SlidingWindowDetector:
    """A trained crop localizer slid over whole images at several scales.

    Args:
        crop_model: a :func:`kerasdl.detection.yolo.localizer` (any model
            :func:`~kerasdl.models.convolutionalize` accepts that outputs ``(p, box, classes)``
            raw) trained on ``window x window`` float crops in ``[0, 1]``.
        scales: image resize factors; a window covers ``window / scale`` original pixels.
    """

    def __init__(self, crop_model, scales=(1.25, 1.0, 0.75)):
        from kerasdl.models.convolutionalize import convolutionalize, sliding_window_stride

        self.crop_model = crop_model
        self.window = check_shape("crop_model input", tuple(crop_model.input_shape[1:3]), ndim=2)
        self.scales = tuple(check_float("scales", s, minimum=0.0, min_inclusive=False) for s in scales)
        if not self.scales:
            raise ValueError("scales must hold at least one resize factor")
        self.fully_conv = convolutionalize(crop_model)
        self.stride = sliding_window_stride(crop_model)

    def windows(self, images):
        """All windows of all scales: ``(boxes (N, M, 4) pixels, scores (N, M, K))`` tensors."""
        import tensorflow as tf

        images = tf.convert_to_tensor(images, tf.float32)
        height, width = images.shape[1], images.shape[2]
        all_boxes, all_scores = [], []
        for scale in self.scales:
            size = (max(self.window[0], round(height * scale)), max(self.window[1], round(width * scale)))
            out = self.fully_conv(tf.image.resize(images, size), training=False)  # (N, r, c, 5 + K)
            rows, cols = out.shape[1], out.shape[2]
            jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))
            origin = np.stack([jj * self.stride[1], ii * self.stride[0]], -1).astype(np.float32)  # (r, c, 2) x, y
            win = np.array([self.window[1], self.window[0]], np.float32)
            centre = origin + out[..., 1:3] * win
            half = out[..., 3:5] * win / 2
            boxes = tf.concat([centre - half, centre + half], -1) / np.float32(scale)
            scores = tf.sigmoid(out[..., :1]) * tf.nn.softmax(out[..., 5:], -1)
            all_boxes.append(tf.reshape(boxes, (len(out), -1, 4)))
            all_scores.append(tf.reshape(scores, (len(out), rows * cols, -1)))
        return tf.concat(all_boxes, 1), tf.concat(all_scores, 1)

    def detect(self, images, *, batch_size: int = 64, **nms_kwargs):
        """Per image ``(boxes, scores, classes)`` after per-class NMS (float images in [0, 1])."""
        images = np.asarray(images, np.float32)
        out = []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            boxes, scores = self.windows(batch)
            out.extend(split_detections(non_max_suppression(boxes, scores, batch.shape[1:3], **nms_kwargs)))
        return out


def train_sliding_window_detector(
    data,
    *,
    window: int = 24,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    negatives_per_image: int = 4,
    scales=(1.25, 1.0, 0.75),
    seed: int = 0,
    callbacks=(),
    verbose: int = 0,
):
    """Train a localizer on crops of ``data`` and wrap it as a :class:`SlidingWindowDetector`.

    Returns ``(detector, history)``.
    """
    import keras

    from kerasdl.detection.losses import LocalizationLoss
    from kerasdl.detection.yolo import localizer
    from kerasdl.training import compile_model

    crops, targets = make_crops(data, window, negatives_per_image=negatives_per_image, seed=seed)
    keras.utils.set_random_seed(seed)
    model = localizer((window, window, data.images.shape[-1]), data.num_classes)
    compile_model(model, "adam", learning_rate, loss=LocalizationLoss(box_weight=5.0), metrics=None)
    history = model.fit(
        crops.astype(np.float32) / 255.0,
        targets,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        callbacks=[keras.callbacks.TerminateOnNaN(), *callbacks],
        verbose=verbose,
    )
    if not np.isfinite(history.history["loss"][-1]):
        raise FloatingPointError(f"localization loss became {history.history['loss'][-1]}; training stopped")
    return SlidingWindowDetector(model, scales), history
