"""Image/mask folders for segmentation, e.g. the Oxford-IIIT Pets trimap layout.

Layout: one folder of images and one folder of masks; an image and its mask share the
file stem (``images/cat_1.jpg`` ↔ ``masks/cat_1.png``). A mask is a single-channel PNG
whose pixel values are class indices (after ``label_offset`` is subtracted). The
Oxford-IIIT Pets data set (``images/*.jpg`` and ``annotations/trimaps/*.png`` with
1 = pet, 2 = background, 3 = border) is read with :data:`PETS_TRIMAP`'s settings::

    load_segmentation_folder("pets/images", "pets/annotations/trimaps", **PETS_TRIMAP)

Images are decoded with ``tf.io.decode_image`` and resized bilinearly to ``image_size``;
masks are resized with nearest-neighbour sampling so classes never blend. A mask whose
size differs from its image's, an image without a mask, or a class value out of range is
a ``ValueError`` naming the file(s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerasdl._validation import check_int, check_shape
from kerasdl.data.sources import DatasetNotFoundError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
PETS_TRIMAP = {"label_offset": 1, "class_names": ("pet", "background", "border")}


@dataclass
class SegmentationData:
    """Images uint8 ``(N, H, W, 3)``, masks uint8 ``(N, H, W)`` of class indices."""

    images: np.ndarray
    masks: np.ndarray
    num_classes: int
    class_names: list = field(default_factory=list)
    source: str = ""
    files: list = field(default_factory=list)


def _decode(path: Path, channels: int):
    import tensorflow as tf

    try:
        return tf.io.decode_image(tf.io.read_file(str(path)), channels=channels, expand_animations=False)
    except tf.errors.InvalidArgumentError as error:
        raise ValueError(f"cannot decode {path} as an image: {error.message.splitlines()[0]}") from None


def load_segmentation_folder(
    images_dir,
    masks_dir,
    image_size=(128, 128),
    *,
    num_classes: int | None = None,
    label_offset: int = 0,
    class_names=None,
    mask_suffix: str = ".png",
) -> SegmentationData:
    """Read every image in ``images_dir`` with its mask ``masks_dir/<stem><mask_suffix>``.

    ``num_classes`` defaults to ``len(class_names)`` or the largest mask value + 1.
    Mask values below ``label_offset`` (e.g. 0 in a trimap) are an error, as are values
    ``>= num_classes`` after the offset.
    """
    import tensorflow as tf

    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    for name, folder in (("images_dir", images_dir), ("masks_dir", masks_dir)):
        if not folder.is_dir():
            raise DatasetNotFoundError(f"{name} {str(folder)!r} is not a folder")
    size = check_shape("image_size", image_size, ndim=2)
    label_offset = check_int("label_offset", label_offset, minimum=0)
    files = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise DatasetNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {images_dir}")
    missing = [p.name for p in files if not (masks_dir / f"{p.stem}{mask_suffix}").is_file()]
    if missing:
        raise ValueError(
            f"{len(missing)} image(s) in {images_dir} have no mask in {masks_dir} "
            f"(expected <stem>{mask_suffix}): {', '.join(missing[:5])}"
        )
    images, masks = [], []
    for path in files:
        mask_path = masks_dir / f"{path.stem}{mask_suffix}"
        image, mask = _decode(path, 3), _decode(mask_path, 1)
        if tuple(image.shape[:2]) != tuple(mask.shape[:2]):
            raise ValueError(
                f"mask {mask_path} is {mask.shape[1]}x{mask.shape[0]} pixels but its image {path} is "
                f"{image.shape[1]}x{image.shape[0]}; a mask must have its image's size"
            )
        mask = mask.numpy().astype("int32")
        if mask.min() < label_offset:
            raise ValueError(f"mask {mask_path} holds value {mask.min()} below label_offset={label_offset}")
        images.append(tf.image.resize(image, size, antialias=True).numpy())
        masks.append(tf.image.resize(mask - label_offset, size, method="nearest").numpy()[..., 0])
    images = np.clip(np.round(np.stack(images)), 0, 255).astype("uint8")
    masks = np.stack(masks)
    if num_classes is None:
        num_classes = len(class_names) if class_names else int(masks.max()) + 1
    num_classes = check_int("num_classes", num_classes, minimum=2)
    if masks.max() >= num_classes:
        bad = files[int(np.argmax(masks.reshape(len(masks), -1).max(axis=1)))]
        raise ValueError(f"mask of {bad.name} holds class {int(masks.max())} but num_classes={num_classes}")
    names = list(class_names) if class_names else [f"class_{i}" for i in range(num_classes)]
    return SegmentationData(images, masks.astype("uint8"), num_classes, names, str(images_dir), [p.name for p in files])
