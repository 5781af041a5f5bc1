"""Synthetic shapes and the image/mask folder loader (Oxford-IIIT Pets trimap layout), with bad input."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data import DatasetNotFoundError
from kerasdl.data.segmentation import PETS_TRIMAP, load_segmentation_folder
from kerasdl.data.shapes import SHAPE_CLASSES, make_shapes


def test_shapes_images_and_masks():
    images, masks = make_shapes(40, 32, seed=3)
    assert images.shape == (40, 32, 32, 3) and images.dtype == np.uint8
    assert masks.shape == (40, 32, 32) and masks.dtype == np.uint8
    assert set(np.unique(masks)) == set(range(len(SHAPE_CLASSES)))  # every class occurs
    again, again_masks = make_shapes(40, 32, seed=3)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(masks, again_masks)
    # Shapes are visible: inside a shape the colour differs from the background's.
    n = int(np.argmax([(m > 0).any() and (m == 0).any() for m in masks]))
    inside, outside = images[n][masks[n] > 0].mean(0), images[n][masks[n] == 0].mean(0)
    assert np.abs(inside - outside).max() > 20
    with pytest.raises(ValueError, match="num_images"):
        make_shapes(0)


def _write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.asarray(array, "uint8")
    path.write_bytes(tf.io.encode_png(array if array.ndim == 3 else array[..., None]).numpy())


@pytest.fixture
def pets_folder(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        _write_png(tmp_path / "images" / f"pet_{i}.png", rng.integers(0, 255, (20, 24, 3)))
        trimap = np.full((20, 24), 2)  # background
        trimap[5:15, 6:18] = 1  # pet
        trimap[5, 6:18] = 3  # border
        _write_png(tmp_path / "trimaps" / f"pet_{i}.png", trimap)
    return tmp_path


def test_folder_loader_reads_pets_trimaps(pets_folder):
    data = load_segmentation_folder(pets_folder / "images", pets_folder / "trimaps", (20, 24), **PETS_TRIMAP)
    assert data.images.shape == (3, 20, 24, 3) and data.masks.shape == (3, 20, 24)
    assert data.num_classes == 3 and data.class_names == ["pet", "background", "border"]
    assert data.masks[0, 10, 10] == 0 and data.masks[0, 0, 0] == 1 and data.masks[0, 5, 10] == 2
    small = load_segmentation_folder(pets_folder / "images", pets_folder / "trimaps", (10, 12), **PETS_TRIMAP)
    assert set(np.unique(small.masks)) <= {0, 1, 2}  # nearest resizing never blends classes


def test_mask_whose_size_differs_from_its_image_is_an_error(pets_folder):
    _write_png(pets_folder / "trimaps" / "pet_1.png", np.ones((10, 24)))
    with pytest.raises(ValueError, match=r"pet_1\.png is 24x10 pixels but its image .*pet_1\.png is 24x20"):
        load_segmentation_folder(pets_folder / "images", pets_folder / "trimaps", (20, 24), **PETS_TRIMAP)


def test_missing_masks_bad_values_and_undecodable_files(pets_folder):
    images, masks = pets_folder / "images", pets_folder / "trimaps"
    (masks / "pet_2.png").unlink()
    with pytest.raises(ValueError, match="have no mask .*pet_2.png"):
        load_segmentation_folder(images, masks, (20, 24))
    _write_png(masks / "pet_2.png", np.full((20, 24), 7))
    with pytest.raises(ValueError, match="holds class 6 but num_classes=3"):
        load_segmentation_folder(images, masks, (20, 24), **PETS_TRIMAP)
    _write_png(masks / "pet_2.png", np.zeros((20, 24)))
    with pytest.raises(ValueError, match="below label_offset=1"):
        load_segmentation_folder(images, masks, (20, 24), **PETS_TRIMAP)
    (images / "pet_2.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot decode .*pet_2.png"):
        load_segmentation_folder(images, masks, (20, 24))
    with pytest.raises(DatasetNotFoundError, match="not a folder"):
        load_segmentation_folder(pets_folder / "nothing", masks)
