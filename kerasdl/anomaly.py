"""Anomaly detection by autoencoder reconstruction error.

Train an autoencoder on **normal** data only; it learns to reconstruct what it has seen
and reconstructs anything else badly (the production-line defect example of the IBM notes,
seed 003 §5.12). The anomaly score of an image is its mean squared reconstruction error;
the threshold comes from the scores of held-out normal images:

- ``threshold="percentile"``: the ``percentile``-th percentile (e.g. 99: about 1% of normal
  images flagged), or
- ``threshold="std"``: mean + ``k`` · standard deviation.

:meth:`AnomalyDetector.roc_auc` measures the score's ranking quality with scikit-learn's
``roc_auc_score`` (threshold-free).
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_choice, check_float, check_int

THRESHOLDS = ("percentile", "std")


def check_unit_images(name: str, x) -> np.ndarray:
    """``x`` as float32 images, or a ValueError if any value lies outside [0, 1] (e.g. raw 0..255)."""
    x = np.asarray(x, dtype="float32")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty batch of images, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{name} must hold pixel values in [0, 1] (scale uint8 images by 1/255), got values in [{low:g}, {high:g}]"
        )
    return x


class AnomalyDetector:
    """Reconstruction-error anomaly detector around an image autoencoder (output in [0, 1]).

    Example::

        parts = dense_autoencoder(code_size=32)
        detector = AnomalyDetector(parts.autoencoder, threshold="percentile", percentile=99)
        detector.fit(x_normal_train, x_normal_val, epochs=10)
        detector.is_anomaly(x_new)           # bool per image
        detector.roc_auc(x_test, is_outlier)
    """

    def __init__(self, autoencoder, threshold: str = "percentile", percentile: float = 99.0, k: float = 3.0):
        self.autoencoder = autoencoder
        self.method = check_choice("threshold", threshold, THRESHOLDS)
        self.percentile = check_float("percentile", percentile, minimum=0.0, maximum=100.0)
        self.k = check_float("k", k, minimum=0.0)
        self.threshold_: float | None = None
        self.history = None

    def fit(
        self, x_train, x_val, epochs: int = 10, batch_size: int = 128, learning_rate: float = 1e-3, verbose=0
    ) -> "AnomalyDetector":
        """Train the autoencoder on normal ``x_train`` (MSE, Adam), then set the threshold on ``x_val``."""
        import keras

        from kerasdl.data import make_dataset

        x_train = check_unit_images("x_train", x_train)
        epochs = check_int("epochs", epochs, minimum=1)
        learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
        self.autoencoder.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
        ds = make_dataset(x_train, x_train, batch_size=batch_size, shuffle=True)
        self.history = self.autoencoder.fit(ds, epochs=epochs, verbose=verbose, shuffle=False)
        return self.calibrate(x_val)

    def calibrate(self, x_val) -> "AnomalyDetector":
        """Set the threshold from the reconstruction errors of normal validation images."""
        scores = self.score(x_val)
        if self.method == "percentile":
            self.threshold_ = float(np.percentile(scores, self.percentile))
        else:
            self.threshold_ = float(scores.mean() + self.k * scores.std())
        return self

    def score(self, x, batch_size: int = 512) -> np.ndarray:
        """Mean squared reconstruction error per image (higher = more anomalous)."""
        x = check_unit_images("x", x)
        reconstruction = np.asarray(self.autoencoder.predict(x, batch_size=batch_size, verbose=0))
        return ((reconstruction - x) ** 2).reshape(len(x), -1).mean(axis=1)

    def is_anomaly(self, x) -> np.ndarray:
        """True where the score exceeds the calibrated threshold."""
        if self.threshold_ is None:
            raise RuntimeError("call fit() or calibrate() before is_anomaly()")
        return self.score(x) > self.threshold_

    def roc_auc(self, x, is_outlier) -> float:
        """ROC AUC of the score for the binary labels ``is_outlier`` (1/True = anomaly)."""
        from sklearn.metrics import roc_auc_score

        is_outlier = np.asarray(is_outlier).astype(bool).reshape(-1)
        if is_outlier.all() or not is_outlier.any():
            raise ValueError("is_outlier must contain both normal (False) and anomalous (True) examples")
        return float(roc_auc_score(is_outlier, self.score(x)))


def one_class_roc_aucs(data, normal_classes, *, epochs: int = 10, code_size: int = 32, seed: int = 0) -> dict:
    """The one-class protocol: per class, an :class:`AnomalyDetector` around a dense
    autoencoder trained on that class's training images only (90 %, the other 10 % calibrate
    the 99th-percentile threshold), scored by ROC AUC on the whole test set, where that class
    is normal and every other class anomalous.

    Args:
        data: an image-classification data set (``x_train``/``y_train``/``x_test``/``y_test``,
            images in [0, 1]), e.g. MNIST from :func:`kerasdl.data.load_image_classification`.
        normal_classes: the classes to take in turn as the normal one.
        epochs: autoencoder training epochs per class.
        code_size: the dense autoencoder's code width (784-256-``code_size``-256-784).
        seed: seeds each class's weights and its train/validation split.

    Returns:
        ``{str(class): ROC AUC}``.
    """
    from kerasdl.data import train_val_split
    from kerasdl.generative.autoencoder_networks import dense_autoencoder
    from kerasdl.training import set_seed

    aucs = {}
    for label in normal_classes:
        normal = data.x_train[data.y_train == label]
        if len(normal) < 20:
            raise ValueError(f"class {label!r} has {len(normal)} training images; the one-class protocol needs >= 20")
        set_seed(seed)
        (x_fit, _), (x_val, _) = train_val_split(normal, np.zeros(len(normal)), 0.1, seed=seed, stratify=False)
        detector = AnomalyDetector(dense_autoencoder(code_size=code_size).autoencoder, "percentile", percentile=99)
        detector.fit(x_fit, x_val, epochs=epochs, batch_size=128)
        aucs[str(label)] = round(detector.roc_auc(data.x_test, data.y_test != label), 4)
    return aucs
