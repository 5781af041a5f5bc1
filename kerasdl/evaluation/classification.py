"""Classification figures with scikit-learn's metrics (accuracy, precision, recall, F1,
confusion matrix), as one JSON-friendly dict."""

from __future__ import annotations

import numpy as np


def classification_summary(y_true, y_pred, *, class_names=None, confusion_png=None) -> dict:
    """Accuracy, per-class and macro precision/recall/F1 and the confusion matrix.

    ``y_true``/``y_pred`` are integer class ids. For two classes the ``precision``,
    ``recall`` and ``f1`` entries are those of the positive class (id 1), the usual
    convention for sentiment or anomaly tasks; otherwise they are macro averages.
    ``confusion_png`` also writes the matrix as a PNG.
    """
    from sklearn import metrics

    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"y_true and y_pred must be non-empty and equally long, got {y_true.size} and {y_pred.size}")
    num_classes = int(max(y_true.max(), y_pred.max()) + 1)
    if class_names is not None:
        class_names = [str(name) for name in class_names]
        if len(class_names) < num_classes:
            raise ValueError(f"{len(class_names)} class names for labels up to {num_classes - 1}")
        num_classes = len(class_names)
    labels = list(range(num_classes))
    names = class_names or [str(label) for label in labels]
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    average = "binary" if num_classes == 2 else "macro"
    summary = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "precision": float(metrics.precision_score(y_true, y_pred, average=average, labels=labels, zero_division=0)),
        "recall": float(metrics.recall_score(y_true, y_pred, average=average, labels=labels, zero_division=0)),
        "f1": float(metrics.f1_score(y_true, y_pred, average=average, labels=labels, zero_division=0)),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(names, precision, recall, f1, support)
        },
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": names,
    }
    if confusion_png is not None:
        from kerasdl.plots import plot_confusion_matrix

        summary["confusion_png"] = str(
            plot_confusion_matrix(summary["confusion_matrix"], confusion_png, class_names=names)
        )
    return summary
