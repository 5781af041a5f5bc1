"""Data sets and input pipelines.

Loaders return ``(x_train, y_train), (x_test, y_test)`` NumPy arrays like ``keras.datasets``.
Point kerasdl at data on disk with ``KERASDL_DATA_DIR`` (see :mod:`kerasdl.data.sources`).
"""

from kerasdl.data.catalog import DATASETS, default_dataset, load_image_classification
from kerasdl.data.pipeline import (
    ImageClassificationData,
    as_unit_float,
    image_augmentation,
    make_dataset,
    scale_images,
    to_one_hot,
    train_val_split,
)
from kerasdl.data.sources import (
    DATA_DIR_ENV,
    OFFLINE_ENV,
    DatasetNotFoundError,
    data_dir,
    keras_home,
    load_cifar10,
    load_digits,
    load_fashion_mnist,
    load_image_folder,
    load_imdb,
    load_mnist,
    mnist_available,
    set_data_dir,
)

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "OFFLINE_ENV",
    "DatasetNotFoundError",
    "ImageClassificationData",
    "as_unit_float",
    "data_dir",
    "default_dataset",
    "image_augmentation",
    "keras_home",
    "load_cifar10",
    "load_digits",
    "load_fashion_mnist",
    "load_image_classification",
    "load_image_folder",
    "load_imdb",
    "load_mnist",
    "make_dataset",
    "mnist_available",
    "scale_images",
    "set_data_dir",
    "to_one_hot",
    "train_val_split",
]
