"""Named image-classification data sets for the CLI and the apps (``kerasdl train --dataset``)."""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_choice
from kerasdl.data import sources
from kerasdl.data.pipeline import ImageClassificationData, scale_images

FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
DIGIT_CLASSES = [str(i) for i in range(10)]


def _mnist_source() -> str:
    local = sources.local_mnist_source()
    return f"local copy {local}" if local is not None else "keras.datasets.mnist (Keras cache)"


# name -> (loader, class names, description of where it came from)
_CATALOG = {
    "mnist": (sources.load_mnist, DIGIT_CLASSES, _mnist_source),
    "fashion_mnist": (sources.load_fashion_mnist, FASHION_MNIST_CLASSES, lambda: "keras.datasets.fashion_mnist"),
    "cifar10": (sources.load_cifar10, CIFAR10_CLASSES, lambda: "keras.datasets.cifar10"),
    "digits": (sources.load_digits, DIGIT_CLASSES, lambda: "scikit-learn bundled digits, 8x8 resized to 28x28"),
}
DATASETS = tuple(_CATALOG)


def load_image_classification(name: str) -> ImageClassificationData:
    """Load a named data set (see ``DATASETS``) scaled to float32 [0, 1] with a channel axis."""
    check_choice("dataset", name, DATASETS)
    loader, class_names, describe = _CATALOG[name]
    (x_train, y_train), (x_test, y_test) = loader()
    return ImageClassificationData(
        name=name,
        source=describe(),
        x_train=scale_images(x_train),
        y_train=np.asarray(y_train).reshape(-1).astype("int64"),
        x_test=scale_images(x_test),
        y_test=np.asarray(y_test).reshape(-1).astype("int64"),
        num_classes=len(class_names),
        class_names=list(class_names),
    )


def default_dataset() -> str:
    """``"mnist"`` when MNIST is on disk (data folder or Keras cache), else ``"digits"``."""
    return "mnist" if sources.mnist_available() else "digits"
