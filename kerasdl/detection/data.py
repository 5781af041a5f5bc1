"""Detection data: the synthetic digits-on-canvas set, and Pascal VOC XML / COCO JSON readers.

All loaders return a :class:`DetectionData`: uint8 images ``(N, H, W, 3)``, and per image
an ``(n_i, 4)`` float32 array of ``(x_min, y_min, x_max, y_max)`` pixel boxes, ``(n_i,)``
int labels and ``(n_i,)`` "difficult" flags (VOC ``<difficult>``, COCO ``iscrowd``: counted
neither as hit nor miss by :mod:`kerasdl.detection.metrics`).

Bad annotations (``on_error``):

* ``"warn"`` (default) — an entry that cannot be used is **skipped with an
  :class:`AnnotationWarning`** naming the file and the entry (VOC: object index and name;
  COCO: annotation id), and the rest of the file is kept. A VOC file that is not
  well-formed XML, or lacks its image size, is skipped the same way.
* ``"raise"`` — the first such problem raises :class:`AnnotationError` (a ``ValueError``)
  with the same message.

Bad entries: a box with zero or negative width/height; a box outside the image (one that
sticks out by at most 1 pixel — rounding in labelling tools — is clipped silently); a
class name not in ``class_names`` (or a COCO category id not in ``categories``); missing or
non-numeric fields; a missing image file. A COCO JSON file that is not valid JSON, or lacks
its ``images``/``annotations``/``categories`` lists, holds no usable entry and is always
rejected with :class:`AnnotationError` naming the file (and the JSON error's line/column).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from kerasdl._validation import check_choice, check_int, check_shape

__all__ = [
    "AnnotationError",
    "AnnotationWarning",
    "DetectionData",
    "load_coco",
    "load_voc",
    "read_voc_xml",
    "synthetic_digit_detection",
]

DIGIT_NAMES = tuple(str(d) for d in range(10))


class AnnotationError(ValueError):
    """An annotation file or entry cannot be used (raised with ``on_error="raise"``)."""


class AnnotationWarning(UserWarning):
    """An annotation entry or file was skipped (``on_error="warn"``)."""


@dataclasses.dataclass
class DetectionData:
    """Images with their boxes, labels and difficult flags (one array of each per image)."""

    images: np.ndarray
    boxes: list
    labels: list
    class_names: tuple
    difficult: list | None = None
    source: str = ""
    file_names: list | None = None

    def __post_init__(self):
        if self.difficult is None:
            self.difficult = [np.zeros(len(image_labels), bool) for image_labels in self.labels]
        if not (len(self.images) == len(self.boxes) == len(self.labels) == len(self.difficult)):
            raise ValueError("images, boxes, labels and difficult must have one entry per image")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.images.shape[1:3])

    def ground_truths(self):
        """``(boxes, labels, difficult)`` per image, as the mAP functions take them."""
        return list(zip(self.boxes, self.labels, self.difficult))

    def normalized_sizes(self) -> np.ndarray:
        """``(M, 2)`` widths and heights of all boxes as fractions of the image (for anchors)."""
        h, w = self.image_size
        boxes = np.concatenate([b for b in self.boxes if len(b)] or [np.zeros((0, 4), np.float32)])
        return np.stack([(boxes[:, 2] - boxes[:, 0]) / w, (boxes[:, 3] - boxes[:, 1]) / h], axis=1)

    def subset(self, index):
        """A new DetectionData with the images at ``index`` (a slice or integer array)."""
        index = np.arange(len(self))[index]
        pick = lambda seq: None if seq is None else [seq[i] for i in index]  # noqa: E731
        return DetectionData(
            self.images[index],
            pick(self.boxes),
            pick(self.labels),
            self.class_names,
            pick(self.difficult),
            self.source,
            pick(self.file_names),
        )


# --------------------------------------------------------------------------- synthetic


@functools.lru_cache(maxsize=4)
def _glyphs(source: str, split: str):
    """(images float32 in [0, 1], labels) of the digit glyph pool for ``split`` (cached; read-only)."""
    if source == "digits":
        from kerasdl.data.sources import load_digits

        (x_train, y_train), (x_test, y_test) = load_digits(image_size=None)
    else:
        from kerasdl.data.sources import load_mnist

        (x_train, y_train), (x_test, y_test) = load_mnist()
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    return x.astype(np.float32) / 255.0, y.astype(np.int64)


def _resize(glyph, width, height):
    from PIL import Image

    image = Image.fromarray(np.uint8(np.clip(glyph * 255, 0, 255)))
    return np.asarray(image.resize((width, height), Image.BICUBIC), np.float32) / 255.0


def synthetic_digit_detection(
    num_images: int,
    *,
    image_size: int = 64,
    objects=(1, 4),
    digit_size=(12, 28),
    split: str = "train",
    source: str = "digits",
    seed: int = 0,
) -> DetectionData:
    """Digit glyphs of varied scale and aspect pasted on a noisy coloured canvas, with boxes.

    Glyphs come from scikit-learn's bundled 8x8 digits (``source="digits"``, the default,
    needs nothing on disk) or MNIST (``source="mnist"``); ``split="train"`` and ``"test"``
    draw from the corresponding split of that set, so test images hold unseen glyphs.
    Each glyph is resized to a side drawn from ``digit_size`` (width jittered ±20% for varied
    aspect ratios), coloured, and placed where its box does not touch any other box. Its
    box is the tight box around the glyph's ink (pixels above 25% of its maximum).

    Args:
        num_images: number of canvases.
        image_size: canvas side in pixels.
        objects: ``(min, max)`` digits per canvas (fewer if no free place is found).
        digit_size: ``(min, max)`` glyph side in pixels.
        split: ``"train"`` or ``"test"`` glyph pool.
        source: ``"digits"`` or ``"mnist"``.
        seed: random seed.
    """
    num_images = check_int("num_images", num_images, minimum=1)
    image_size = check_int("image_size", image_size, minimum=16)
    lo_obj, hi_obj = check_shape("objects", objects, ndim=2)
    if lo_obj > hi_obj:
        raise ValueError(f"objects must be (min, max) with min <= max, got {objects!r}")
    lo_size, hi_size = check_shape("digit_size", digit_size, ndim=2)
    if lo_size > hi_size or hi_size > image_size:
        raise ValueError(
            f"digit_size must be (min, max) with min <= max <= image_size={image_size}, got {digit_size!r}"
        )
    check_choice("split", split, ["train", "test"])
    check_choice("source", source, ["digits", "mnist"])
    glyphs, glyph_labels = _glyphs(source, split)
    rng = np.random.default_rng(seed)
    images, all_boxes, all_labels = render_digit_canvases(
        num_images, image_size, (lo_obj, hi_obj), (lo_size, hi_size), glyphs, glyph_labels, rng, _apart
    )
    return DetectionData(images, all_boxes, all_labels, DIGIT_NAMES, source=f"synthetic {source} ({split} glyphs)")


def _apart(box, boxes) -> bool:
    """The standard placement rule: ``box`` touches none of ``boxes`` (a 1-pixel gap)."""
    return all(box[0] > b[2] + 1 or b[0] > box[2] + 1 or box[1] > b[3] + 1 or b[1] > box[3] + 1 for b in boxes)


def render_digit_canvases(num_images, image_size, objects, digit_size, glyphs, glyph_labels, rng, fits):
    """Paint digit glyphs on noisy coloured canvases; the renderer of the synthetic detection sets.

    Each canvas gets a random background colour plus Gaussian noise and ``objects = (min, max)``
    glyphs, each resized to a side drawn from ``digit_size`` (width jittered ±20 %), coloured, and
    placed at the first of 30 random positions where ``fits(box, boxes_so_far)`` holds (skipped
    if none does). A glyph's box is the tight box around its ink (pixels above 25 % of its maximum).

    Args:
        num_images: number of canvases.
        image_size: canvas side in pixels.
        objects: ``(min, max)`` glyphs per canvas.
        digit_size: ``(min, max)`` glyph side in pixels.
        glyphs: grey glyph images in [0, 1].
        glyph_labels: the class of each glyph.
        rng: a ``numpy.random.Generator`` (the only source of randomness).
        fits: the placement rule, ``fits(box, boxes) -> bool``.

    Returns:
        ``(images, boxes, labels)``: uint8 canvases and per-canvas box/label arrays.
    """
    (lo_obj, hi_obj), (lo_size, hi_size) = objects, digit_size
    images = np.empty((num_images, image_size, image_size, 3), np.uint8)
    all_boxes, all_labels = [], []
    for n in range(num_images):
        background = rng.uniform(0.0, 0.35, 3)
        canvas = np.broadcast_to(background, (image_size, image_size, 3)).copy()
        canvas += rng.normal(0.0, 0.04, canvas.shape)
        boxes, labels = [], []
        for _ in range(rng.integers(lo_obj, hi_obj + 1)):
            g = rng.integers(len(glyphs))
            side = int(rng.integers(lo_size, hi_size + 1))
            width = int(np.clip(round(side * rng.uniform(0.8, 1.2)), 4, image_size))
            glyph = np.clip(_resize(glyphs[g], width, side), 0.0, 1.0)
            ink_rows, ink_cols = np.nonzero(glyph > 0.25 * glyph.max())
            if len(ink_rows) == 0:
                continue
            for _attempt in range(30):
                x = int(rng.integers(0, image_size - width + 1))
                y = int(rng.integers(0, image_size - side + 1))
                box = np.array(
                    [x + ink_cols.min(), y + ink_rows.min(), x + ink_cols.max() + 1, y + ink_rows.max() + 1], np.float32
                )
                if fits(box, boxes):
                    break
            else:
                continue  # no free place for this glyph
            colour = rng.uniform(0.6, 1.0, 3)
            alpha = glyph[..., None]
            region = canvas[y : y + side, x : x + width]
            canvas[y : y + side, x : x + width] = region * (1 - alpha) + colour * alpha
            boxes.append(box)
            labels.append(int(glyph_labels[g]))
        images[n] = np.uint8(np.clip(np.round(canvas * 255), 0, 255))
        all_boxes.append(np.array(boxes, np.float32).reshape(-1, 4))
        all_labels.append(np.array(labels, np.int64))
    return images, all_boxes, all_labels


# --------------------------------------------------------------------------- VOC / COCO


def _problem(on_error, message):
    if on_error == "raise":
        raise AnnotationError(message)
    warnings.warn(f"{message}; skipped", AnnotationWarning, stacklevel=3)


def _check_box(box, width, height):
    """(clipped box, None) or (None, problem text) for a corner box in pixels."""
    x0, y0, x1, y1 = box
    if not all(np.isfinite(box)):
        return None, f"box {list(box)} is not finite"
    if x1 <= x0 or y1 <= y0:
        return None, f"box {list(box)} has zero or negative area"
    if x0 < -1 or y0 < -1 or x1 > width + 1 or y1 > height + 1:
        return None, f"box {list(box)} lies outside the {width}x{height} image"
    return np.array([max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)], np.float32), None


def read_voc_xml(path, class_names=None, *, on_error: str = "warn"):
    """Read one Pascal VOC annotation file.

    Returns ``{"filename", "width", "height", "boxes" (n, 4) float32 pixels (0-based, VOC's
    1-based ``xmin``/``ymin`` shifted by one), "names" list, "difficult" (n,) bool}``, or
    ``None`` when the whole file is skipped (``on_error="warn"``). See the module docstring
    for what counts as a bad entry.
    """
    check_choice("on_error", on_error, ["warn", "raise"])
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        _problem(on_error, f"{path}: malformed XML ({err})")
        return None
    try:
        width = int(float(root.findtext("size/width")))
        height = int(float(root.findtext("size/height")))
        if width <= 0 or height <= 0:
            raise ValueError
    except (TypeError, ValueError):
        _problem(on_error, f"{path}: missing or invalid <size><width>/<height>")
        return None
    boxes, names, difficult = [], [], []
    for i, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        where = f"{path}: object {i} ({name or 'no name'})"
        if not name:
            _problem(on_error, f"{where}: missing <name>")
            continue
        if class_names is not None and name not in class_names:
            _problem(on_error, f"{where}: unknown class name {name!r} (known: {list(class_names)})")
            continue
        try:
            raw = [float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
        except (TypeError, ValueError):
            _problem(on_error, f"{where}: missing or non-numeric <bndbox> coordinates")
            continue
        box, problem = _check_box(np.array([raw[0] - 1, raw[1] - 1, raw[2], raw[3]]), width, height)
        if problem:
            _problem(on_error, f"{where}: {problem}")
            continue
        boxes.append(box)
        names.append(name)
        difficult.append((obj.findtext("difficult") or "0").strip() == "1")
    return {
        "filename": root.findtext("filename") or f"{path.stem}.jpg",
        "width": width,
        "height": height,
        "boxes": np.array(boxes, np.float32).reshape(-1, 4),
        "names": names,
        "difficult": np.array(difficult, bool),
    }


def _load_image(path, image_size):
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        original = image.size  # (width, height)
        if image_size is not None and (image.size[1], image.size[0]) != tuple(image_size):
            image = image.resize((image_size[1], image_size[0]), Image.BILINEAR)
        return np.asarray(image, np.uint8), original


def _assemble(records, image_dir, image_size, class_names, on_error, source):
    """records: dicts with filename, boxes, names/labels, difficult → DetectionData."""
    images, boxes, labels, difficult, files = [], [], [], [], []
    for rec in records:
        path = Path(image_dir) / rec["filename"]
        if not path.is_file():
            _problem(on_error, f"{rec['where']}: image file {path} not found")
            continue
        try:
            pixels, (width, height) = _load_image(path, image_size)
        except OSError as err:
            _problem(on_error, f"{rec['where']}: image file {path} cannot be decoded ({err})")
            continue
        if image_size is None and images and pixels.shape != images[0].shape:
            raise ValueError(
                f"{path} is {pixels.shape[1]}x{pixels.shape[0]} but earlier images are "
                f"{images[0].shape[1]}x{images[0].shape[0]}; pass image_size to resize them all"
            )
        scale = np.array([pixels.shape[1] / width, pixels.shape[0] / height] * 2, np.float32)
        images.append(pixels)
        boxes.append(rec["boxes"] * scale)
        labels.append(np.array([class_names.index(n) for n in rec["names"]], np.int64))
        difficult.append(rec["difficult"])
        files.append(str(path))
    if not images:
        raise AnnotationError(f"{source}: no usable annotated image")
    return DetectionData(np.stack(images), boxes, labels, tuple(class_names), difficult, source, files)


def load_voc(root, *, image_size=None, class_names=None, split: str | None = None, on_error: str = "warn"):
    """A Pascal VOC folder: ``Annotations/*.xml`` and ``JPEGImages/`` (``ImageSets/Main/<split>.txt``).

    ``image_size=(height, width)`` resizes every image (boxes scaled with it); without it all
    images must share one size. ``class_names`` fixes the classes and their order (unknown
    names are bad entries); by default they are the sorted names found.
    """
    check_choice("on_error", on_error, ["warn", "raise"])
    if image_size is not None:
        image_size = check_shape("image_size", image_size, ndim=2)
    root = Path(root)
    annotations = root / "Annotations"
    if not annotations.is_dir():
        raise FileNotFoundError(f"{root} is not a VOC folder: {annotations} not found")
    if split is not None:
        listing = root / "ImageSets" / "Main" / f"{split}.txt"
        if not listing.is_file():
            raise FileNotFoundError(f"split {split!r}: {listing} not found")
        files = [annotations / f"{line.split()[0]}.xml" for line in listing.read_text().splitlines() if line.strip()]
    else:
        files = sorted(annotations.glob("*.xml"))
    records = []
    for f in files:
        rec = read_voc_xml(f, class_names, on_error=on_error)
        if rec is not None:
            rec["where"] = str(f)
            records.append(rec)
    if class_names is None:
        class_names = sorted({n for r in records for n in r["names"]})
    return _assemble(records, root / "JPEGImages", image_size, list(class_names), on_error, f"VOC {root}")


def load_coco(annotation_file, image_dir, *, image_size=None, class_names=None, on_error: str = "warn"):
    """COCO-format detection annotations (``images``, ``annotations``, ``categories``).

    COCO boxes ``[x, y, width, height]`` become corners; ``iscrowd`` regions are kept as
    "difficult". ``class_names`` selects and orders categories by name (annotations of other
    categories are bad entries); by default all categories in id order.
    """
    check_choice("on_error", on_error, ["warn", "raise"])
    if image_size is not None:
        image_size = check_shape("image_size", image_size, ndim=2)
    path = Path(annotation_file)
    if not path.is_file():
        raise FileNotFoundError(f"COCO annotation file {path} not found")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise AnnotationError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    if not isinstance(doc, dict) or not all(
        isinstance(doc.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise AnnotationError(f"{path}: a COCO file needs 'images', 'annotations' and 'categories' lists")

    categories = {}
    for i, cat in enumerate(doc["categories"]):
        if not isinstance(cat, dict) or "id" not in cat or not isinstance(cat.get("name"), str):
            raise AnnotationError(f"{path}: categories[{i}] needs an 'id' and a 'name'")
        categories[cat["id"]] = cat["name"]
    if class_names is None:
        class_names = [categories[k] for k in sorted(categories)]
    class_names = list(class_names)

    images = {}
    for i, img in enumerate(doc["images"]):
        try:
            images[img["id"]] = {
                "filename": str(img["file_name"]),
                "width": int(img["width"]),
                "height": int(img["height"]),
                "boxes": [],
                "names": [],
                "difficult": [],
                "where": f"{path}: image id {img['id']} ({img['file_name']})",
            }
        except (KeyError, TypeError, ValueError):
            _problem(on_error, f"{path}: images[{i}] needs 'id', 'file_name', 'width' and 'height'")
    for i, ann in enumerate(doc["annotations"]):
        where = f"{path}: annotation id {ann.get('id', f'#{i}') if isinstance(ann, dict) else f'#{i}'}"
        if not isinstance(ann, dict) or ann.get("image_id") not in images:
            _problem(on_error, f"{where}: missing or unknown image_id")
            continue
        name = categories.get(ann.get("category_id"))
        if name is None or name not in class_names:
            _problem(
                on_error,
                f"{where}: unknown category {ann.get('category_id')!r}"
                f"{'' if name is None else f' ({name!r})'} (known: {class_names})",
            )
            continue
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError):
            _problem(on_error, f"{where}: 'bbox' must be four numbers [x, y, width, height]")
            continue
        rec = images[ann["image_id"]]
        box, problem = _check_box(np.array([x, y, x + w, y + h]), rec["width"], rec["height"])
        if problem:
            _problem(on_error, f"{where}: {problem}")
            continue
        rec["boxes"].append(box)
        rec["names"].append(name)
        rec["difficult"].append(bool(ann.get("iscrowd", 0)))
    records = []
    for rec in images.values():
        rec["boxes"] = np.array(rec["boxes"], np.float32).reshape(-1, 4)
        rec["difficult"] = np.array(rec["difficult"], bool)
        records.append(rec)
    return _assemble(records, image_dir, image_size, class_names, on_error, f"COCO {path}")
