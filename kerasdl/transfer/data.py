"""Image folders for transfer learning: one sub-folder per class, checked before training.

``keras.utils.image_dataset_from_directory`` decodes files lazily, so one corrupt JPEG
stops training halfway through an epoch. :func:`scan_image_folder` decodes every file once
up front (with the same ``tf.io.decode_image`` the pipeline uses), skips the unreadable
ones with a warning naming them, and :func:`image_folder_datasets` then builds the
``tf.data`` pipelines from the checked file list.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerasdl._validation import check_float, check_int

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


@dataclass
class ImageFolder:
    """The checked contents of a class-per-sub-folder image directory."""

    root: Path
    paths: list[str]
    labels: np.ndarray
    class_names: list[str]
    skipped: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def counts(self) -> dict[str, int]:
        """Number of images per class name."""
        return {name: int((self.labels == i).sum()) for i, name in enumerate(self.class_names)}


def _decodable(path: Path) -> str | None:
    """``None`` if TensorFlow decodes ``path`` as a 3-channel image, else the reason it does not."""
    import tensorflow as tf

    try:
        image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
    except (tf.errors.OpError, ValueError) as error:
        message = str(getattr(error, "message", error)).splitlines()[0]
        return message.split("}}")[-1].split("[Op:")[0].strip()  # drop TF's node/op decorations
    if min(image.shape[:2]) < 1:
        return "image has no pixels"
    return None


def scan_image_folder(directory, *, extensions=IMAGE_EXTENSIONS, check_decode: bool = True) -> ImageFolder:
    """List and check the images of ``directory/<class>/*``; classes sorted by folder name.

    Files whose extension is not an image extension, and image files TensorFlow cannot
    decode, are skipped with a ``UserWarning`` naming them. Raises
    :class:`~kerasdl.data.DatasetNotFoundError` for a missing folder and ``ValueError`` for
    a file given as the folder, a folder without class sub-folders, a class without usable
    images, or fewer than two classes.
    """
    from kerasdl.data import DatasetNotFoundError

    root = Path(directory)
    if root.is_file():  # worded like `kerasdl predict` for a file given as the SavedModel folder
        raise ValueError(f"{root} is a file, not an image folder (expected one sub-folder per class)")
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {str(root)!r} does not exist (expected one sub-folder per class)")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise ValueError(
            f"image folder {str(root)!r} has no class sub-folders; put each class's images in {root}/<class name>/"
        )
    if len(class_dirs) < 2:
        raise ValueError(
            f"image folder {str(root)!r} has one class ({class_dirs[0].name!r}); a classifier needs at least two"
        )
    paths, labels, skipped = [], [], []
    for label, class_dir in enumerate(class_dirs):
        usable = 0
        for path in sorted(p for p in class_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
            if path.suffix.lower() not in extensions:
                reason = f"not an image file (extension {path.suffix or 'none'})"
            else:
                reason = _decodable(path) if check_decode else None
            if reason:
                skipped.append(str(path))
                warnings.warn(f"skipping {path}: {reason}", UserWarning, stacklevel=2)
                continue
            paths.append(str(path))
            labels.append(label)
            usable += 1
        if usable == 0:
            raise ValueError(f"class {class_dir.name!r} ({class_dir}) has no usable images")
    return ImageFolder(root, paths, np.asarray(labels, dtype="int32"), [p.name for p in class_dirs], skipped)


def decode_and_resize(path_or_bytes, image_size, *, from_bytes: bool = False):
    """One image file (or encoded bytes) → float32 (H, W, 3) pixels in [0, 255] at ``image_size``.

    Bilinear resizing, as ``image_dataset_from_directory`` and the exported serving
    function do, so training and serving see the same pixels.
    """
    import tensorflow as tf

    data = path_or_bytes if from_bytes else tf.io.read_file(path_or_bytes)
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return tf.image.resize(tf.cast(image, tf.float32), image_size)


def image_folder_datasets(
    folder: ImageFolder,
    *,
    image_size=(224, 224),
    batch_size: int = 32,
    validation_fraction: float = 0.2,
    seed: int = 0,
    cache: bool = True,
):
    """Stratified train/validation ``tf.data`` pipelines of (float32 [0, 255] images, int labels).

    Returns ``(train_ds, val_ds, val_labels)``; decoding runs in parallel, the decoded
    images are cached in memory, training batches are reshuffled each epoch.
    """
    import tensorflow as tf
    from sklearn.model_selection import train_test_split

    check_int("batch_size", batch_size, minimum=1)
    check_float("validation_fraction", validation_fraction, minimum=0.0, maximum=0.9, min_inclusive=False)
    counts = np.bincount(folder.labels, minlength=folder.num_classes)
    if counts.min() < 2:
        small = folder.class_names[int(counts.argmin())]
        raise ValueError(
            f"class {small!r} has {counts.min()} image(s); a train/validation split needs at least 2 per class"
        )
    train_paths, val_paths, train_labels, val_labels = train_test_split(
        folder.paths, folder.labels, test_size=validation_fraction, random_state=seed, stratify=folder.labels
    )
    size = tuple(int(s) for s in image_size)

    def pipeline(paths, labels, training):
        ds = tf.data.Dataset.from_tensor_slices((list(paths), np.asarray(labels)))
        ds = ds.map(lambda p, y: (decode_and_resize(p, size), y), num_parallel_calls=tf.data.AUTOTUNE)
        if cache:
            ds = ds.cache()
        if training:
            ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    return pipeline(train_paths, train_labels, True), pipeline(val_paths, val_labels, False), np.asarray(val_labels)
