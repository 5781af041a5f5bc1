"""Object localization and detection: boxes and IoU, anchors by k-means, YOLO target
encoding and decoding with per-class non-max suppression, mean average precision, the
synthetic digits-on-canvas set with Pascal VOC / COCO readers, and the seed notes'
convolutional sliding-window detector, a two-stage (Faster R-CNN style) detector with a
region proposal network and ROI Align (:mod:`kerasdl.detection.two_stage`), and the detector as a SavedModel that decodes and
runs NMS inside its graph (:mod:`kerasdl.detection.export`).

Course notes: ``seeds/001`` "Week 3: Object Detection" (object localization, sliding
windows as convolutions, the YOLO grid, non-max suppression, anchor boxes).

Box convention everywhere in this package: ``(x_min, y_min, x_max, y_max)`` corners in
pixels of the image they belong to (the VOC/COCO convention, COCO's ``[x, y, w, h]`` is
converted on reading), ``x`` to the right, ``y`` down. Only the call to
``tf.image.combined_non_max_suppression`` sees TensorFlow's ``(y, x)`` order.
"""

from kerasdl.detection.anchors import kmeans_anchors, mean_best_iou
from kerasdl.detection.boxes import (
    box_area,
    centers_to_corners,
    corners_to_centers,
    iou_matrix,
    pairwise_iou,
    wh_iou,
)
from kerasdl.detection.data import (
    AnnotationError,
    AnnotationWarning,
    DetectionData,
    load_coco,
    load_voc,
    read_voc_xml,
    synthetic_digit_detection,
)
from kerasdl.detection.decoding import decode_grid, detect, non_max_suppression, postprocess
from kerasdl.detection.encoding import encode_targets
from kerasdl.detection.export import (
    check_detector_export,
    compare_served_detections,
    export_detector,
    serving_module,
)
from kerasdl.detection.hard_splits import crowded_digit_detection
from kerasdl.detection.localization import decode_localization, encode_localization
from kerasdl.detection.metrics import average_precision, coco_map, mean_average_precision
from kerasdl.detection.sliding_window import SlidingWindowDetector, make_crops, train_sliding_window_detector
from kerasdl.detection.training import evaluate_detections, train_yolo
from kerasdl.detection.visualize import plot_detections

__all__ = [
    "AnnotationError",
    "AnnotationWarning",
    "DetectionData",
    "SlidingWindowDetector",
    "TwoStageDetector",
    "check_two_stage_export",
    "compare_served_detections",
    "crowded_digit_detection",
    "detect_two_stage",
    "export_two_stage",
    "train_two_stage",
    "average_precision",
    "box_area",
    "centers_to_corners",
    "check_detector_export",
    "coco_map",
    "corners_to_centers",
    "decode_grid",
    "decode_localization",
    "detect",
    "encode_localization",
    "encode_targets",
    "export_detector",
    "evaluate_detections",
    "iou_matrix",
    "kmeans_anchors",
    "load_coco",
    "load_voc",
    "make_crops",
    "mean_average_precision",
    "mean_best_iou",
    "non_max_suppression",
    "pairwise_iou",
    "plot_detections",
    "postprocess",
    "read_voc_xml",
    "serving_module",
    "synthetic_digit_detection",
    "train_sliding_window_detector",
    "train_yolo",
    "wh_iou",
]


# The two-stage detector's model compiles through kerasdl.training, which needs TensorFlow;
# it loads on first use so that ``kerasdl.losses`` (which re-exports the YOLO loss from here)
# stays importable on Keras' JAX backend.
_TWO_STAGE = ("TwoStageDetector", "check_two_stage_export", "detect_two_stage", "export_two_stage", "train_two_stage")


def __getattr__(name):
    if name in _TWO_STAGE:
        from kerasdl.detection import two_stage

        return getattr(two_stage, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
