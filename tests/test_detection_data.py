"""kerasdl.detection.data: synthetic digits-on-canvas, VOC XML and COCO JSON readers, bad input."""

import json
import warnings

import numpy as np
import pytest
from PIL import Image

from kerasdl.detection.data import (
    AnnotationError,
    AnnotationWarning,
    load_coco,
    load_voc,
    read_voc_xml,
    synthetic_digit_detection,
)


def test_synthetic_digits_on_canvas():
    data = synthetic_digit_detection(12, image_size=48, objects=(2, 3), digit_size=(10, 20), seed=4)
    assert data.images.shape == (12, 48, 48, 3) and data.images.dtype == np.uint8
    assert data.class_names == tuple("0123456789") and data.num_classes == 10
    counts = [len(b) for b in data.boxes]
    assert min(counts) >= 1 and max(counts) <= 3 and sum(counts) >= 20
    for image, boxes, labels in zip(data.images, data.boxes, data.labels):
        assert boxes.shape == (len(labels), 4) and set(labels.tolist()) <= set(range(10))
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2:] <= 48) and np.all(boxes[:, 2:] > boxes[:, :2])
        ink = image.astype(int).sum(-1)
        for x0, y0, x1, y1 in boxes.astype(int):  # the glyph is brighter than the canvas around it
            assert ink[y0:y1, x0:x1].max() > np.median(ink) + 100
            assert 5 <= max(x1 - x0, y1 - y0) <= 20
        mask = np.ones(ink.shape, bool)
        for x0, y0, x1, y1 in boxes.astype(int):
            mask[max(0, y0 - 1) : y1 + 1, max(0, x0 - 1) : x1 + 1] = False
        assert ink[mask].max() < np.median(ink) + 150  # no ink outside the boxes
    again = synthetic_digit_detection(12, image_size=48, objects=(2, 3), digit_size=(10, 20), seed=4)
    np.testing.assert_array_equal(again.images, data.images)
    test = synthetic_digit_detection(3, image_size=48, split="test", seed=4)
    assert not np.array_equal(test.images, data.images[:3])
    sizes = data.normalized_sizes()
    assert sizes.shape == (sum(counts), 2) and np.all((sizes > 0) & (sizes <= 1))
    with pytest.raises(ValueError, match="digit_size"):
        synthetic_digit_detection(2, image_size=32, digit_size=(10, 40))
    with pytest.raises(ValueError, match="split"):
        synthetic_digit_detection(2, split="val")


def _voc_xml(objects, width=40, height=30, filename="a.png"):
    body = "".join(
        f"<object><name>{name}</name><difficult>{int(d)}</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for name, b, d in objects
    )
    return (
        f"<annotation><filename>{filename}</filename><size><width>{width}</width><height>{height}</height>"
        f"<depth>3</depth></size>{body}</annotation>"
    )


def _voc_folder(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((30, 40, 3), 90, np.uint8)).save(tmp_path / "JPEGImages" / name)
    (tmp_path / "Annotations" / "a.xml").write_text(
        _voc_xml(
            [
                ("cat", (1, 1, 20, 10), False),  # fine: 0-based (0, 0, 20, 10)
                ("dog", (5, 5, 40, 30), True),  # fine, difficult
                ("cat", (10, 10, 9, 20), False),  # zero width (VOC corners are inclusive: 10..10 is 1 px)
                ("cat", (30, 20, 60, 29), False),  # outside the 40-wide image
                ("horse", (2, 2, 8, 8), False),  # unknown class (when classes are given)
                ("dog", ("a", 2, 8, 8), False),  # non-numeric
            ]
        )
    )
    (tmp_path / "Annotations" / "b.xml").write_text(_voc_xml([("dog", (3, 3, 12, 12), False)], filename="b.png"))
    (tmp_path / "Annotations" / "c.xml").write_text("<annotation><size><width>4")  # malformed
    return tmp_path


def test_voc_reader_skips_bad_entries_with_warnings(tmp_path):
    root = _voc_folder(tmp_path)
    with pytest.warns(AnnotationWarning) as record:
        data = load_voc(root, class_names=["cat", "dog"], image_size=(15, 20))
    messages = [str(w.message) for w in record]
    a_xml = str(root / "Annotations" / "a.xml")
    assert any(a_xml in m and "object 2 (cat)" in m and "zero or negative area" in m for m in messages)
    assert any("object 3 (cat)" in m and "outside the 40x30 image" in m for m in messages)
    assert any("object 4 (horse)" in m and "unknown class name 'horse'" in m for m in messages)
    assert any("object 5 (dog)" in m and "non-numeric" in m for m in messages)
    assert any("c.xml" in m and "malformed XML" in m for m in messages)
    assert len(messages) == 5
    assert data.images.shape == (2, 15, 20, 3) and data.class_names == ("cat", "dog")
    np.testing.assert_allclose(data.boxes[0], [[0, 0, 10, 5], [2, 2, 20, 15]])  # halved with the image
    assert data.labels[0].tolist() == [0, 1] and data.difficult[0].tolist() == [False, True]
    assert data.labels[1].tolist() == [1]


def test_voc_reader_rejects_in_raise_mode_and_infers_classes(tmp_path):
    root = _voc_folder(tmp_path)
    with pytest.raises(AnnotationError, match=r"a\.xml: object 2 \(cat\): box .* zero or negative area"):
        load_voc(root, on_error="raise")
    with pytest.raises(AnnotationError, match=r"c\.xml: malformed XML"):
        read_voc_xml(root / "Annotations" / "c.xml", on_error="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        data = load_voc(root)  # no class list: every name found, sorted
    assert data.class_names == ("cat", "dog", "horse")
    with pytest.raises(FileNotFoundError, match="not a VOC folder"):
        load_voc(tmp_path / "nowhere")


def _coco(tmp_path, annotations, text=None):
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "x.png")
    doc = {
        "images": [
            {"id": 7, "file_name": "x.png", "width": 30, "height": 20},
            {"id": 8, "file_name": "missing.png", "width": 30, "height": 20},
        ],
        "categories": [{"id": 3, "name": "digit"}, {"id": 1, "name": "letter"}],
        "annotations": annotations,
    }
    path = tmp_path / "ann.json"
    path.write_text(text if text is not None else json.dumps(doc))
    return path


def test_coco_reader_and_bad_entries(tmp_path):
    anns = [
        {"id": 1, "image_id": 7, "category_id": 3, "bbox": [2, 3, 10, 5]},
        {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 30, 20], "iscrowd": 1},
        {"id": 3, "image_id": 7, "category_id": 3, "bbox": [5, 5, 0, 4]},  # zero width
        {"id": 4, "image_id": 7, "category_id": 3, "bbox": [25, 5, 10, 4]},  # outside
        {"id": 5, "image_id": 7, "category_id": 9, "bbox": [1, 1, 2, 2]},  # unknown category
        {"id": 6, "image_id": 99, "category_id": 3, "bbox": [1, 1, 2, 2]},  # unknown image
        {"id": 7, "image_id": 7, "category_id": 3, "bbox": [1, 1]},  # malformed bbox
    ]
    path = _coco(tmp_path, anns)
    with pytest.warns(AnnotationWarning) as record:
        data = load_coco(path, tmp_path)
    messages = [str(w.message) for w in record]
    for ann_id, text in [
        (3, "zero or negative area"),
        (4, "outside the 30x20 image"),
        (5, "unknown category 9"),
        (6, "unknown image_id"),
        (7, "four numbers"),
    ]:
        assert any(f"{path}: annotation id {ann_id}:" in m and text in m for m in messages), (ann_id, messages)
    assert any("missing.png" in m and "not found" in m for m in messages)
    assert data.class_names == ("letter", "digit")  # category id order
    assert len(data) == 1
    np.testing.assert_allclose(data.boxes[0], [[2, 3, 12, 8], [0, 0, 30, 20]])
    assert data.labels[0].tolist() == [1, 0] and data.difficult[0].tolist() == [False, True]
    with pytest.raises(AnnotationError, match="annotation id 3: box"):
        load_coco(path, tmp_path, on_error="raise")


def test_coco_malformed_json_is_rejected_with_position(tmp_path):
    path = _coco(tmp_path, [], text='{"images": [\n  {"id": 1,, }]}')
    with pytest.raises(AnnotationError, match=r"ann\.json: malformed JSON at line 2 column"):
        load_coco(path, tmp_path)
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(AnnotationError, match="'images', 'annotations' and 'categories'"):
        load_coco(path, tmp_path)
    with pytest.raises(FileNotFoundError):
        load_coco(tmp_path / "none.json", tmp_path)
