"""Turning arrays into training-ready data: scaling, labels, splits and tf.data pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kerasdl._validation import check_float, check_int


def scale_images(images: np.ndarray, max_value: float = 255.0) -> np.ndarray:
    """uint8 (N, H, W[, C]) images → float32 in [0, 1], channels-last with a channel axis."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C), got {images.shape}")
    return images.astype("float32") / np.float32(max_value)


def as_unit_float(images) -> np.ndarray:
    """Images as float32 in [0, 1]: uint8 is divided by 255, other dtypes are taken as already
    in [0, 1] and only cast. Shapes are left alone (see :func:`scale_images` for that)."""
    images = np.asarray(images)
    return images.astype("float32") / np.float32(255.0) if images.dtype == np.uint8 else images.astype("float32")


def to_one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels → one-hot float32 rows (``keras.utils.to_categorical``)."""
    import keras

    labels = np.asarray(labels).reshape(-1)
    check_int("num_classes", num_classes, minimum=1)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}, "
            f"got values in [{labels.min()}, {labels.max()}]"
        )
    return keras.utils.to_categorical(labels, num_classes).astype("float32")


def train_val_split(x, y, validation_fraction: float = 0.1, seed: int = 0, stratify: bool = True):
    """Split arrays into ``(x_train, y_train), (x_val, y_val)`` (scikit-learn, stratified)."""
    from sklearn.model_selection import train_test_split

    check_float(
        "validation_fraction", validation_fraction, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False
    )
    labels = np.asarray(y)
    strat = labels.reshape(len(labels), -1)[:, 0] if stratify and labels.ndim <= 2 else None
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=validation_fraction, random_state=seed, stratify=strat
    )
    return (x_train, y_train), (x_val, y_val)


def num_examples(name: str, value) -> int:
    """The number of examples in ``value``: an array (or list, or tensor) with one row per example,
    or a dict or tuple of them sharing that first axis (a multi-input model's inputs).

    Raises ``ValueError`` naming ``name`` for ``None``, a scalar, no examples at all, or parts of
    different lengths, instead of the error TensorFlow would give later from inside tf.data.
    """
    if value is None:
        raise ValueError(f"{name} must be an array with one row per example, got None")
    parts = (
        value.items()
        if isinstance(value, dict)
        else (((f"[{i}]", part) for i, part in enumerate(value)) if isinstance(value, tuple) else [("", value)])
    )
    lengths = {}
    for key, part in parts:
        try:
            lengths[f"{name}{key}"] = len(part)
        except TypeError:
            raise ValueError(
                f"{name}{key} must be an array with one row per example, got {type(part).__name__} {part!r:.80}"
            ) from None
    if not lengths:
        raise ValueError(f"{name} must hold at least one array, got an empty {type(value).__name__}")
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the parts of {name} must have the same length, got {lengths}")
    count = next(iter(lengths.values()))
    if count == 0:
        raise ValueError(f"{name} holds no examples (length 0); a data set needs at least one")
    return count


def make_dataset(
    x,
    y=None,
    batch_size: int = 32,
    shuffle: bool = True,
    augment=None,
    cache: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
):
    """A batched, prefetched ``tf.data.Dataset`` from arrays.

    Order: cache (the raw elements, once) → shuffle (a full-size buffer, reshuffled each
    epoch) → batch → ``augment`` (a callable on an image batch, e.g. a ``keras.Sequential``
    of random layers, applied only in this pipeline) → prefetch. With a ``seed``, ``augment``
    runs on one batch at a time, in order: Keras' random layers draw from one seed state,
    and parallel calls would take its draws in a racing order, so a rerun would see other
    images; without a seed it runs in parallel. ``x``/``y`` that are ``None``, empty or of
    different lengths raise ``ValueError`` (:func:`num_examples`).
    """
    from kerasdl._backend import require_tensorflow

    require_tensorflow("make_dataset (a tf.data pipeline)")
    import tensorflow as tf

    check_int("batch_size", batch_size, minimum=1)
    apply = batch_augmenter(augment)
    count = num_examples("x", x)
    labels = num_examples("y", y) if y is not None else count
    if labels != count:
        raise ValueError(f"x and y must have the same length, got {count} and {labels}")
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if apply is not None:
        parallel = tf.data.AUTOTUNE if seed is None else None
        if y is None:
            ds = ds.map(apply, num_parallel_calls=parallel)
        else:
            ds = ds.map(lambda xb, yb: (apply(xb), yb), num_parallel_calls=parallel)
    return ds.prefetch(tf.data.AUTOTUNE)


def batch_augmenter(augment):
    """``augment`` (``None`` or a callable on an image batch) as a function to map over batches.

    Keras' random layers only act with ``training=True``, so a Keras layer is called with
    it; plain callables are called as they are.
    """
    if augment is None:
        return None
    if not callable(augment):
        raise ValueError(f"augment must be a callable on a batch of images or None, got {augment!r}")
    import keras

    return (lambda xb: augment(xb, training=True)) if isinstance(augment, keras.layers.Layer) else augment


def image_augmentation(
    translation: float = 0.1,
    rotation: float = 0.05,
    zoom: float = 0.0,
    elastic: float = 0.0,
    elastic_sigma: float = 4.0,
    flip: bool = False,
    contrast: float = 0.0,
    color_jitter: float = 0.0,
    value_range=(0.0, 1.0),
    seed=None,
):
    """A ``keras.Sequential`` of random image layers (training only; identity at inference).

    ``translation``, ``rotation`` and ``zoom`` are Keras' factors (fractions of the side, of a
    turn, of the side). ``elastic`` > 0 first bends each image with
    :class:`kerasdl.layers.RandomElasticDistortion`, α = ``elastic`` pixels and
    σ = ``elastic_sigma`` (Simard et al. 2003 used α = 34, σ = 4 on MNIST).
    ``contrast`` adds ``RandomContrast``; ``color_jitter`` adds ``RandomColorJitter`` with
    that factor for brightness, saturation and (a quarter of it) hue: the seeds' colour-shift
    augmentation, for tasks where colour is not the label. ``value_range`` is the pixel
    range of the images the layers see ((0, 1) after scaling, (0, 255) for raw pixels).
    """
    import keras

    layers = []
    if elastic:
        from kerasdl.layers.elastic import RandomElasticDistortion

        layers.append(RandomElasticDistortion(elastic, elastic_sigma, seed=seed))
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if translation:
        layers.append(keras.layers.RandomTranslation(translation, translation, fill_mode="constant", seed=seed))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed))
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed))
    if contrast:
        layers.append(keras.layers.RandomContrast(contrast, value_range=tuple(value_range), seed=seed))
    if color_jitter:
        layers.append(
            keras.layers.RandomColorJitter(
                value_range=tuple(value_range),
                brightness_factor=color_jitter,
                # Keras' saturation factor is centred on 0.5 (no change); hue's on 0.
                saturation_factor=(max(0.0, 0.5 - color_jitter / 2), min(1.0, 0.5 + color_jitter / 2)),
                hue_factor=color_jitter / 4,
                seed=seed,
            )
        )
    if not layers:
        raise ValueError(
            "image_augmentation needs at least one of translation, rotation, zoom, elastic, flip, contrast, color_jitter"
        )
    return keras.Sequential(layers, name="augmentation")


@dataclass
class ImageClassificationData:
    """An image classification data set ready for training: float32 NHWC in [0, 1], int labels."""

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: list = field(default_factory=list)

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])
