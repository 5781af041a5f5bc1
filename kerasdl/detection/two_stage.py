"""A two-stage (region-proposal) detector in the style of Faster R-CNN, trained with ``fit``.

Ren, He, Girshick & Sun, "Faster R-CNN: Towards Real-Time Object Detection with Region
Proposal Networks", NeurIPS 2015; ROI Align from He et al., "Mask R-CNN", ICCV 2017. The
course notes' "Region Proposal algorithms" ("propose regions, then classify each region"),
beside the one-stage YOLO grid of :mod:`kerasdl.detection.yolo`.

Pipeline (:class:`TwoStageDetector`):

1. **Backbone**: the Darknet-style conv stack of :func:`kerasdl.detection.yolo.darknet_backbone`,
   stride 4 by default (a finer map than YOLO's stride 8, for small objects).
2. **Region proposal network** (§3.1): a 3x3 conv, then per cell and anchor (several sizes
   and aspect ratios, :func:`~kerasdl.detection.region_targets.anchor_grid`) an objectness
   logit and four box deltas. Proposals: decode the deltas on the anchors, clip to the image,
   keep the ``pre_nms`` highest-scoring boxes, then ``tf.image.non_max_suppression`` at IoU 0.7
   down to ``post_nms`` per image.
3. **ROI Align** (:func:`kerasdl.detection.roi_align.roi_align`, ``tf.image.crop_and_resize``)
   pools a 7x7 feature patch for each proposal.
4. **Second stage** (Fast R-CNN head): two fully connected layers, then ``K + 1`` class
   logits (0 = background) and four class-agnostic box deltas (as Detectron2's
   ``cls_agnostic_bbox_reg``; one regression serves every class, so the decoded boxes share
   one set per proposal and the per-class NMS of :func:`kerasdl.detection.decoding.non_max_suppression`
   applies unchanged).

**Training: approximate joint training** (Faster R-CNN §3.2, "approximate joint
training"): one loss ``L = L_rpn_cls + L_rpn_box + L_rcnn_cls + L_rcnn_box`` and one
optimizer step per batch, but the proposal coordinates are treated as constants
(``tf.stop_gradient``) — the gradient through the ROI Align box coordinates is ignored.
RPN targets: 128 anchors per image, at most half positive (IoU ≥ 0.7 or best for a
ground-truth box; negative < 0.3); second-stage targets: 64 regions per image from the
proposals plus the ground-truth boxes, at most a quarter foreground (IoU ≥ 0.5)
(:mod:`kerasdl.detection.region_targets`). Classification losses are (binary) cross-entropy,
box losses smooth L1 (Huber with δ = 1, Fast R-CNN eq. 3), each normalised by the number of
sampled anchors/regions, as in Detectron2. Anchors crossing the image border are kept
(Detectron2's default; the paper ignores them in training).

The detector runs in float32 (mixed precision is not supported here).
"""

from __future__ import annotations

import numpy as np

import keras

from kerasdl._validation import check_float, check_image_shape, check_int, check_shape
from kerasdl.detection.region_targets import (
    RCNN_DELTA_WEIGHTS,
    anchor_grid,
    assign_anchors,
    assign_regions,
    decode_deltas,
    encode_deltas,
    sample_balanced,
)
from kerasdl.training.compile import CustomModelCompile

__all__ = [
    "TwoStageDetector",
    "check_two_stage_export",
    "data_anchor_shapes",
    "detect_two_stage",
    "export_two_stage",
    "pad_ground_truth",
    "propose_regions",
    "smooth_l1",
    "train_two_stage",
    "two_stage_serving_module",
]

_L = keras.layers


def smooth_l1(difference):
    """Elementwise smooth L1 (Fast R-CNN eq. 3): ``0.5 x²`` for ``|x| < 1``, else ``|x| − 0.5``."""
    import tensorflow as tf

    absolute = tf.abs(difference)
    return tf.where(absolute < 1.0, 0.5 * tf.square(difference), absolute - 0.5)


def _clip_boxes(boxes, image_size):
    import tensorflow as tf

    height, width = tf.unstack(tf.cast(image_size, tf.float32))
    x0, y0, x1, y1 = tf.unstack(boxes, axis=-1)
    return tf.stack(
        [
            tf.clip_by_value(x0, 0.0, width),
            tf.clip_by_value(y0, 0.0, height),
            tf.clip_by_value(x1, 0.0, width),
            tf.clip_by_value(y1, 0.0, height),
        ],
        axis=-1,
    )


def propose_regions(
    objectness_logits,
    deltas,
    anchors,
    image_size,
    *,
    pre_nms: int = 300,
    post_nms: int = 64,
    iou_threshold: float = 0.7,
    min_size: float = 1.0,
):
    """RPN outputs → up to ``post_nms`` proposals per image (Faster R-CNN §3.3).

    Decode the deltas on the anchors, clip to the image, drop boxes narrower or lower than
    ``min_size`` pixels, keep the ``pre_nms`` best by objectness, then
    ``tf.image.non_max_suppression`` at ``iou_threshold``.

    Args:
        objectness_logits: ``(N, M)`` RPN logits.
        deltas: ``(N, M, 4)`` RPN box deltas.
        anchors: ``(M, 4)`` anchors in pixels.
        image_size: ``(height, width)``.
        pre_nms: boxes kept by score before NMS.
        post_nms: most proposals kept per image.
        iou_threshold: NMS threshold.
        min_size: smallest proposal side in pixels.

    Returns:
        ``(boxes (N, post_nms, 4), valid (N, post_nms) bool, scores (N, post_nms))``;
        padded rows are zero boxes with ``valid`` False and score 0.
    """
    import tensorflow as tf

    pre_nms = check_int("pre_nms", pre_nms, minimum=1)
    post_nms = check_int("post_nms", post_nms, minimum=1)
    iou_threshold = check_float("iou_threshold", iou_threshold, minimum=0.0, maximum=1.0)
    boxes = _clip_boxes(decode_deltas(deltas, tf.convert_to_tensor(anchors, tf.float32)[None]), image_size)
    scores = tf.sigmoid(tf.cast(objectness_logits, tf.float32))
    x0, y0, x1, y1 = tf.unstack(boxes, axis=-1)
    scores = tf.where((x1 - x0 >= min_size) & (y1 - y0 >= min_size), scores, -1.0)
    scores, top = tf.math.top_k(scores, k=min(pre_nms, int(anchors.shape[0])))
    boxes = tf.gather(boxes, top, batch_dims=1)

    def one_image(args):
        image_boxes, image_scores = args
        bx0, by0, bx1, by1 = tf.unstack(image_boxes, axis=-1)
        keep = tf.image.non_max_suppression(
            tf.stack([by0, bx0, by1, bx1], axis=-1), image_scores, post_nms, iou_threshold, score_threshold=-0.5
        )
        count = tf.shape(keep)[0]
        keep = tf.pad(keep, [[0, post_nms - count]])
        valid = tf.range(post_nms) < count
        kept_boxes = tf.where(valid[:, None], tf.gather(image_boxes, keep), 0.0)
        kept_scores = tf.where(valid, tf.gather(image_scores, keep), 0.0)
        return kept_boxes, valid, kept_scores

    return tf.map_fn(
        one_image,
        (boxes, scores),
        fn_output_signature=(
            tf.TensorSpec((post_nms, 4), tf.float32),
            tf.TensorSpec((post_nms,), tf.bool),
            tf.TensorSpec((post_nms,), tf.float32),
        ),
    )


@keras.saving.register_keras_serializable(package="kerasdl")
class TwoStageDetector(CustomModelCompile, keras.Model):
    """Faster R-CNN-style detector (see the module docstring); ``compile`` then ``fit(images, targets)``.

    ``fit`` takes float images in ``[0, 1]`` and targets ``{"boxes": (N, G, 4) pixels,
    "labels": (N, G) int, -1 for padding}`` (:func:`pad_ground_truth`), and reports ``loss``,
    ``rpn_objectness``, ``rpn_box``, ``rcnn_class`` and ``rcnn_box``. ``model(images)``
    returns ``(boxes (N, P, 4) pixels, scores (N, P, K))`` for the ``P`` proposals, before
    the per-class NMS of :func:`detect_two_stage`.

    Args:
        input_shape: ``(height, width, channels)`` of the images.
        num_classes: ``K`` (background not counted).
        anchor_sizes: anchor sides in pixels (square root of the area).
        anchor_ratios: anchor aspect ratios ``height / width``.
        filters: channels of the Darknet-style backbone's conv units.
        downsamplings: 2x2 poolings after the first units (stride ``2 ** downsamplings``).
        rpn_channels: channels of the RPN's 3x3 conv.
        head_units: width of the two fully connected layers of the second stage.
        roi_size: ROI Align output bins per side.
        rpn_batch: anchors sampled per image for the RPN loss.
        rpn_positive_fraction: largest positive share of those anchors.
        roi_batch: regions sampled per image for the second-stage loss.
        roi_positive_fraction: largest foreground share of those regions.
        pre_nms: proposals kept before the RPN's NMS, ``(train, test)``.
        post_nms: proposals kept after it, ``(train, test)``; ``post_nms[0] >= roi_batch``.
        proposal_iou: the RPN's NMS threshold.
        name: the model's name.
        **kwargs: passed to ``keras.Model``.
    """

    default_learning_rate = 1e-3

    def __init__(
        self,
        input_shape=(64, 64, 3),
        num_classes: int = 10,
        *,
        anchor_sizes=(12.0, 18.0, 26.0),
        anchor_ratios=(0.5, 1.0, 2.0),
        filters=(16, 32, 64, 64),
        downsamplings: int = 2,
        rpn_channels: int = 64,
        head_units: int = 128,
        roi_size: int = 7,
        rpn_batch: int = 128,
        rpn_positive_fraction: float = 0.5,
        roi_batch: int = 64,
        roi_positive_fraction: float = 0.25,
        pre_nms=(300, 300),
        post_nms=(64, 64),
        proposal_iou: float = 0.7,
        name: str = "two_stage_detector",
        **kwargs,
    ):
        from kerasdl.detection.yolo import darknet_backbone

        super().__init__(name=name, **kwargs)
        self.image_shape = check_image_shape("input_shape", input_shape)
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        filters = check_shape("filters", filters)
        downsamplings = check_int("downsamplings", downsamplings, minimum=0)
        if downsamplings > len(filters):
            raise ValueError(f"downsamplings={downsamplings} needs at least that many filters, got {filters!r}")
        self.rpn_batch = check_int("rpn_batch", rpn_batch, minimum=1)
        self.rpn_positive_fraction = check_float("rpn_positive_fraction", rpn_positive_fraction, minimum=0, maximum=1)
        self.roi_batch = check_int("roi_batch", roi_batch, minimum=1)
        self.roi_positive_fraction = check_float("roi_positive_fraction", roi_positive_fraction, minimum=0, maximum=1)
        self.pre_nms = tuple(check_int("pre_nms", v, minimum=1) for v in pre_nms)
        self.post_nms = tuple(check_int("post_nms", v, minimum=1) for v in post_nms)
        if len(self.pre_nms) != 2 or len(self.post_nms) != 2:
            raise ValueError("pre_nms and post_nms must be (train, test) pairs")
        if self.post_nms[0] < self.roi_batch:
            raise ValueError(f"post_nms[0]={self.post_nms[0]} must be >= roi_batch={self.roi_batch}")
        self.proposal_iou = check_float("proposal_iou", proposal_iou, minimum=0.0, maximum=1.0)
        self.roi_size = check_int("roi_size", roi_size, minimum=1)
        self.filters = tuple(filters)
        self.downsamplings = downsamplings

        inputs = keras.Input(self.image_shape, name="images")
        self.backbone = keras.Model(inputs, darknet_backbone(inputs, filters, downsamplings), name="backbone")
        rows, cols = self.backbone.output_shape[1:3]
        stride = (self.image_shape[0] / rows, self.image_shape[1] / cols)
        self.anchor_sizes = tuple(float(s) for s in np.reshape(anchor_sizes, -1))
        self.anchor_ratios = tuple(float(r) for r in np.reshape(anchor_ratios, -1))
        self.anchors = anchor_grid((rows, cols), stride, self.anchor_sizes, self.anchor_ratios)
        if len(self.anchors) < self.rpn_batch:
            raise ValueError(f"rpn_batch={self.rpn_batch} exceeds the {len(self.anchors)} anchors")
        per_cell = len(self.anchor_sizes) * len(self.anchor_ratios)

        small = keras.initializers.RandomNormal(stddev=0.01)
        self.rpn_conv = _L.Conv2D(
            check_int("rpn_channels", rpn_channels, minimum=1), 3, padding="same", activation="relu", name="rpn_conv"
        )
        self.rpn_objectness = _L.Conv2D(per_cell, 1, kernel_initializer=small, name="rpn_objectness")
        self.rpn_deltas = _L.Conv2D(4 * per_cell, 1, kernel_initializer=small, name="rpn_deltas")
        self.rpn_channels = self.rpn_conv.filters
        units = self.head_units = check_int("head_units", head_units, minimum=1)
        self.head_flatten = _L.Flatten(name="roi_flatten")
        self.head_fc1 = _L.Dense(units, activation="relu", kernel_initializer="he_normal", name="roi_fc1")
        self.head_fc2 = _L.Dense(units, activation="relu", kernel_initializer="he_normal", name="roi_fc2")
        self.head_classes = _L.Dense(self.num_classes + 1, kernel_initializer=small, name="roi_classes")
        self.head_deltas = _L.Dense(
            4, kernel_initializer=keras.initializers.RandomNormal(stddev=0.001), name="roi_deltas"
        )
        self.loss_trackers = [
            keras.metrics.Mean(name=n) for n in ("loss", "rpn_objectness", "rpn_box", "rcnn_class", "rcnn_box")
        ]
        self(np.zeros((1, *self.image_shape), np.float32))  # build every layer

    @property
    def metrics(self):
        """The loss trackers ``fit`` reports (reset by Keras at each epoch)."""
        return list(self.loss_trackers)

    def get_config(self):
        """The constructor's arguments, so ``model.save("detector.keras")`` and
        ``keras.models.load_model`` rebuild the same detector with its weights."""
        return {
            **super().get_config(),
            "input_shape": self.image_shape,
            "num_classes": self.num_classes,
            "anchor_sizes": self.anchor_sizes,
            "anchor_ratios": self.anchor_ratios,
            "filters": self.filters,
            "downsamplings": self.downsamplings,
            "rpn_channels": self.rpn_channels,
            "head_units": self.head_units,
            "roi_size": self.roi_size,
            "rpn_batch": self.rpn_batch,
            "rpn_positive_fraction": self.rpn_positive_fraction,
            "roi_batch": self.roi_batch,
            "roi_positive_fraction": self.roi_positive_fraction,
            "pre_nms": self.pre_nms,
            "post_nms": self.post_nms,
            "proposal_iou": self.proposal_iou,
        }

    # ------------------------------------------------------------------ the two stages

    def _rpn(self, features):
        import tensorflow as tf

        hidden = self.rpn_conv(features)
        batch = tf.shape(features)[0]
        logits = tf.reshape(self.rpn_objectness(hidden), (batch, -1))
        deltas = tf.reshape(self.rpn_deltas(hidden), (batch, -1, 4))
        return logits, deltas

    def _head(self, features, regions, training):
        import tensorflow as tf

        from kerasdl.detection.roi_align import roi_align

        pooled = roi_align(features, regions, self.image_shape[:2], output_size=self.roi_size)
        batch, count = tf.shape(regions)[0], tf.shape(regions)[1]
        x = tf.reshape(pooled, (-1, self.roi_size, self.roi_size, features.shape[-1]))
        x = self.head_fc2(self.head_fc1(self.head_flatten(x)), training=training)
        logits = tf.reshape(self.head_classes(x), (batch, count, self.num_classes + 1))
        deltas = tf.reshape(self.head_deltas(x), (batch, count, 4))
        return logits, deltas

    def call(self, images, training=False):
        """``(boxes (N, P, 4) pixels, scores (N, P, K))`` per test-time proposal, before per-class NMS."""
        import tensorflow as tf

        features = self.backbone(images, training=training)
        logits, deltas = self._rpn(features)
        proposals, valid, _ = propose_regions(
            logits,
            deltas,
            self.anchors,
            self.image_shape[:2],
            pre_nms=self.pre_nms[1],
            post_nms=self.post_nms[1],
            iou_threshold=self.proposal_iou,
        )
        class_logits, box_deltas = self._head(features, proposals, training)
        scores = tf.nn.softmax(class_logits, axis=-1)[..., 1:] * tf.cast(valid, tf.float32)[..., None]
        boxes = _clip_boxes(decode_deltas(box_deltas, proposals, RCNN_DELTA_WEIGHTS), self.image_shape[:2])
        return boxes, scores

    # ------------------------------------------------------------------ losses and training

    def compute_losses(self, images, gt_boxes, gt_labels, training=True):
        """The four losses (see the module docstring) on one batch, each a scalar."""
        import tensorflow as tf

        gt_boxes = tf.cast(gt_boxes, tf.float32)
        gt_labels = tf.cast(gt_labels, tf.int32)
        anchors = tf.constant(self.anchors)
        features = self.backbone(images, training=training)
        logits, deltas = self._rpn(features)

        # First stage: sampled anchors, objectness (logistic) + deltas of the positives (smooth L1).
        anchor_labels, anchor_matched = assign_anchors(anchors, gt_boxes, gt_labels)
        index, valid = sample_balanced(anchor_labels, self.rpn_batch, self.rpn_positive_fraction)
        weight = tf.cast(valid, tf.float32)
        sampled_labels = tf.gather(anchor_labels, index, batch_dims=1)
        positive = weight * tf.cast(sampled_labels > 0, tf.float32)
        normaliser = tf.maximum(tf.reduce_sum(weight), 1.0)
        objectness = tf.nn.sigmoid_cross_entropy_with_logits(
            tf.cast(sampled_labels > 0, tf.float32), tf.gather(logits, index, batch_dims=1)
        )
        rpn_objectness = tf.reduce_sum(weight * objectness) / normaliser
        targets = encode_deltas(
            tf.gather(gt_boxes, tf.gather(anchor_matched, index, batch_dims=1), batch_dims=1),
            tf.gather(anchors, index),
        )
        rpn_error = tf.reduce_sum(smooth_l1(tf.gather(deltas, index, batch_dims=1) - targets), axis=-1)
        rpn_box = tf.reduce_sum(positive * rpn_error) / normaliser

        # Proposals are constants for the second stage: approximate joint training.
        proposals, proposal_valid, _ = propose_regions(
            tf.stop_gradient(logits),
            tf.stop_gradient(deltas),
            anchors,
            self.image_shape[:2],
            pre_nms=self.pre_nms[0],
            post_nms=self.post_nms[0],
            iou_threshold=self.proposal_iou,
        )
        regions = tf.concat([proposals, gt_boxes], axis=1)
        region_valid = tf.concat([proposal_valid, gt_labels >= 0], axis=1)
        region_labels, region_matched = assign_regions(regions, region_valid, gt_boxes, gt_labels)
        index, valid = sample_balanced(region_labels, self.roi_batch, self.roi_positive_fraction)
        weight = tf.cast(valid, tf.float32)
        sampled_regions = tf.stop_gradient(tf.gather(regions, index, batch_dims=1))
        sampled_labels = tf.maximum(tf.gather(region_labels, index, batch_dims=1), 0)
        positive = weight * tf.cast(sampled_labels > 0, tf.float32)
        normaliser = tf.maximum(tf.reduce_sum(weight), 1.0)
        class_logits, box_deltas = self._head(features, sampled_regions, training)
        classification = tf.nn.sparse_softmax_cross_entropy_with_logits(sampled_labels, class_logits)
        rcnn_class = tf.reduce_sum(weight * classification) / normaliser
        targets = encode_deltas(
            tf.gather(gt_boxes, tf.gather(region_matched, index, batch_dims=1), batch_dims=1),
            sampled_regions,
            RCNN_DELTA_WEIGHTS,
        )
        rcnn_box = tf.reduce_sum(positive * tf.reduce_sum(smooth_l1(box_deltas - targets), axis=-1)) / normaliser
        return rpn_objectness, rpn_box, rcnn_class, rcnn_box

    def _update(self, parts):
        total = sum(parts)
        for tracker, value in zip(self.loss_trackers, (total, *parts)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        """One optimizer step on the summed losses (approximate joint training)."""
        import tensorflow as tf

        images, targets = data
        with tf.GradientTape() as tape:
            parts = self.compute_losses(images, targets["boxes"], targets["labels"], training=True)
            loss = self.optimizer.scale_loss(sum(parts))
        variables = self.trained_variables()
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self._update(parts)

    def test_step(self, data):
        """The losses on a validation batch."""
        images, targets = data
        return self._update(self.compute_losses(images, targets["boxes"], targets["labels"], training=False))


# --------------------------------------------------------------------------- data and training


def pad_ground_truth(data, max_boxes: int | None = None):
    """``(boxes (N, G, 4) float32, labels (N, G) int32)`` of a DetectionData, padded with label -1.

    Difficult boxes are kept as ordinary boxes for training.
    """
    counts = [len(b) for b in data.boxes]
    if max_boxes is None:
        max_boxes = max(1, max(counts, default=1))
    max_boxes = check_int("max_boxes", max_boxes, minimum=1)
    if max(counts, default=0) > max_boxes:
        raise ValueError(f"an image has {max(counts)} boxes but max_boxes={max_boxes}")
    boxes = np.zeros((len(data), max_boxes, 4), np.float32)
    labels = np.full((len(data), max_boxes), -1, np.int32)
    for i, (b, lab) in enumerate(zip(data.boxes, data.labels)):
        boxes[i, : len(b)] = b
        labels[i, : len(lab)] = lab
    return boxes, labels


def data_anchor_shapes(data, num_sizes: int = 3, num_ratios: int = 3):
    """Anchor sizes (pixels) and ratios (h / w) from the training boxes: evenly spaced quantiles
    (10th to 90th percentile) of ``√(w·h)`` and of ``h / w``, the data-driven counterpart of the
    paper's hand-set 128²/256²/512² and 1:2/1:1/2:1."""
    boxes = np.concatenate([b for b in data.boxes if len(b)] or [np.zeros((0, 4), np.float32)])
    if not len(boxes):
        raise ValueError("the training data holds no boxes to choose anchors from")
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    q_sizes = np.linspace(0.1, 0.9, num_sizes) if num_sizes > 1 else [0.5]
    q_ratios = np.linspace(0.1, 0.9, num_ratios) if num_ratios > 1 else [0.5]
    sizes = np.quantile(np.sqrt(w * h), q_sizes)
    ratios = np.exp(np.quantile(np.log(h / w), q_ratios))
    return tuple(np.round(sizes, 2).tolist()), tuple(np.round(ratios, 3).tolist())


def _dataset(data, batch_size, shuffle, seed, max_boxes):
    import tensorflow as tf

    boxes, labels = pad_ground_truth(data, max_boxes)
    dataset = tf.data.Dataset.from_tensor_slices((data.images, {"boxes": boxes, "labels": labels}))
    if shuffle:
        dataset = dataset.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))
    return dataset.prefetch(tf.data.AUTOTUNE)


def train_two_stage(
    train,
    *,
    val=None,
    epochs: int = 12,
    batch_size: int = 16,
    learning_rate: float = 2e-3,
    anchor_sizes=None,
    anchor_ratios=None,
    seed: int = 0,
    callbacks=(),
    verbose: int = 0,
    **model_kwargs,
):
    """Fit a :class:`TwoStageDetector` on ``train`` (a DetectionData) with ``fit``.

    Adam with cosine decay over the planned epochs (the YOLO recipe of
    :func:`kerasdl.detection.training.train_yolo`), gradient norm clipped at 10. Anchors:
    :func:`data_anchor_shapes` unless given. Returns ``(model, history)``; a NaN loss stops
    training and raises ``FloatingPointError`` naming the epoch.
    """
    from kerasdl.training import make_optimizer, make_schedule

    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
    keras.utils.set_random_seed(seed)
    sizes, ratios = data_anchor_shapes(train)
    model = TwoStageDetector(
        train.images.shape[1:],
        train.num_classes,
        anchor_sizes=sizes if anchor_sizes is None else anchor_sizes,
        anchor_ratios=ratios if anchor_ratios is None else anchor_ratios,
        **model_kwargs,
    )
    steps = epochs * -(-len(train) // batch_size)
    optimizer = make_optimizer("adam", make_schedule("cosine", learning_rate, steps), clipnorm=10.0)
    model.compile(optimizer, jit_compile=False)  # NMS inside the step has no XLA kernel on CPU
    max_boxes = max(1, max(len(b) for b in train.boxes), *(len(b) for b in (val.boxes if val is not None else [])))
    history = model.fit(
        _dataset(train, batch_size, True, seed, max_boxes),
        epochs=epochs,
        shuffle=False,  # the dataset shuffles itself
        validation_data=_dataset(val, batch_size, False, seed, max_boxes) if val is not None else None,
        callbacks=[keras.callbacks.TerminateOnNaN(), *callbacks],
        verbose=verbose,
    )
    if not np.isfinite(history.history["loss"][-1]):
        raise FloatingPointError(
            f"two-stage detector loss became {history.history['loss'][-1]} at epoch "
            f"{len(history.history['loss'])}; training stopped (try a lower learning rate)"
        )
    return model, history


def detect_two_stage(model, images, *, batch_size: int = 64, **nms_kwargs):
    """Run ``model`` on float ``images`` in ``[0, 1]``; one ``(boxes, scores, classes)`` triple per
    image after per-class NMS (:func:`kerasdl.detection.decoding.non_max_suppression`; ``nms_kwargs``:
    ``score_threshold``, ``iou_threshold``, ``max_per_class``, ``max_total``)."""
    from kerasdl.detection.decoding import non_max_suppression, split_detections

    batch_size = check_int("batch_size", batch_size, minimum=1)
    images = np.asarray(images, np.float32)
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        boxes, scores = model(batch, training=False)
        out.extend(split_detections(non_max_suppression(boxes, scores, batch.shape[1:3], **nms_kwargs)))
    return out


# --------------------------------------------------------------------------- export


def two_stage_serving_module(model, *, score_threshold=0.05, iou_threshold=0.5, max_per_class=20, max_total=50):
    """A ``keras.export.ExportArchive`` whose ``serve(images: uint8 (N, H, W, 3))`` endpoint runs
    resize → backbone → RPN + NMS → ROI Align → second stage → per-class NMS, returning the YOLO
    export's outputs (:mod:`kerasdl.detection.export`): ``boxes`` in the pixels of the given
    images, ``scores``, ``classes`` and ``num_detections``."""
    import tensorflow as tf

    from kerasdl.detection.decoding import non_max_suppression
    from kerasdl.export import call_on_batch

    height, width = model.image_shape[:2]
    nms = dict(
        score_threshold=score_threshold, iou_threshold=iou_threshold, max_per_class=max_per_class, max_total=max_total
    )

    def detect(images):
        size = tf.shape(images)[1:3]
        x = tf.image.resize(tf.cast(images, tf.float32), (height, width)) / 255.0
        boxes, scores = model(x, training=False)
        scale_y, scale_x = tf.unstack(tf.cast(size, tf.float32) / tf.constant([height, width], tf.float32))
        boxes = boxes * tf.stack([scale_x, scale_y, scale_x, scale_y])
        return non_max_suppression(boxes, scores, size, **nms)

    def serve(images):
        return call_on_batch(detect, images)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve", serve, input_signature=[tf.TensorSpec((None, None, None, 3), tf.uint8, name="images")]
    )
    return archive


def export_two_stage(model, path, **nms):
    """Write :func:`two_stage_serving_module` atomically to ``path``; returns ``path``."""
    from kerasdl.export import atomic_directory

    with atomic_directory(path) as tmp:
        two_stage_serving_module(model, **nms).write_out(str(tmp), verbose=False)
    return path


def check_two_stage_export(path, model, images, *, tolerance: float = 1e-3, **nms) -> float:
    """Reload the SavedModel at ``path`` and return the largest box/score difference from
    :func:`detect_two_stage` on ``images`` (uint8, the model's size); a different detection
    count or class, or a box/score difference above ``tolerance``, on any image raises
    ``RuntimeError`` (:func:`kerasdl.detection.export.compare_served_detections`, the check of
    :func:`kerasdl.detection.export.check_detector_export`)."""
    import tensorflow as tf

    from kerasdl.detection.export import compare_served_detections

    loaded = tf.saved_model.load(str(path))  # kept alive: its functions hold weak references
    served = loaded.serve(tf.constant(images))
    expected = detect_two_stage(model, np.asarray(images, np.float32) / 255.0, **nms)
    return compare_served_detections(served, expected, tolerance=tolerance)
