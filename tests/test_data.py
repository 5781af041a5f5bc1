import os
import time

import numpy as np
import pytest

from kerasdl import data
from kerasdl.data import sources


def test_digits_is_embedded_default(no_data_dir):
    (x, y), (xt, yt) = data.load_digits()
    assert x.shape == (1437, 28, 28) and xt.shape == (360, 28, 28)
    assert x.dtype == np.uint8 and x.max() == 255 and x.min() == 0
    assert set(np.unique(y)) == set(range(10))
    # stratified split: every class is in the test split in about the same share
    assert np.bincount(yt).min() >= 35
    assert data.default_dataset() == "digits"
    assert not data.mnist_available()


def test_digits_native_size():
    (x, _), _ = data.load_digits(image_size=None)
    assert x.shape[1:] == (8, 8)


def test_missing_dataset_fails_fast_and_names_the_file(no_data_dir):
    start = time.perf_counter()
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.load_mnist()
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "mnist.npz" in message and "KERASDL_DATA_DIR" in message
    with pytest.raises(data.DatasetNotFoundError, match="cifar-10"):
        data.load_cifar10()


def test_bad_data_dir_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(data.DatasetNotFoundError, match="not a folder"):
        data.data_dir()
    with pytest.raises(ValueError, match="data_dir"):
        data.set_data_dir(tmp_path / "nope")


def test_mnist_from_data_folder(shared_data):
    (x, y), (xt, yt) = data.load_mnist()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert y[:5].tolist() == [5, 0, 4, 1, 9]
    assert data.default_dataset() == "mnist"


def test_mnist_idx_files_equal_npz(shared_data, tmp_path, monkeypatch):
    # a data folder with only the four IDX files reads the same arrays as the npz
    (tmp_path / "mnist").mkdir()
    for name in sources._MNIST_IDX.values():
        (tmp_path / "mnist" / name).symlink_to(shared_data / "mnist" / name)
    (x_npz, y_npz), _ = data.load_mnist()
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path))
    (x_idx, y_idx), (xt, _) = data.load_mnist()
    np.testing.assert_array_equal(x_idx, x_npz)
    np.testing.assert_array_equal(y_idx, y_npz)
    assert xt.shape == (10000, 28, 28)


def test_fashion_mnist_through_keras_loader_leaves_folder_untouched(shared_data):
    folder = shared_data / "keras" / "datasets" / "fashion-mnist"
    before = sorted((p.name, p.stat().st_size) for p in folder.iterdir())
    (x, y), (xt, yt) = data.load_fashion_mnist()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [6000] * 10
    assert sorted((p.name, p.stat().st_size) for p in folder.iterdir()) == before
    assert "KERAS_HOME" not in os.environ or "kerasdl-keras-home" not in os.environ["KERAS_HOME"]


def test_keras_home_links_files_and_cleans_up(tmp_path):
    source = tmp_path / "src"
    (source / "datasets").mkdir(parents=True)
    (source / "datasets" / "x.txt").write_text("hello")
    with data.keras_home(source) as home:
        linked = home / "datasets" / "x.txt"
        assert linked.is_symlink() and linked.read_text() == "hello"
        import keras

        assert keras.src.backend.config.keras_home() == str(home)
        linked.unlink()  # Keras deleting a cached file removes only the link
    assert (source / "datasets" / "x.txt").read_text() == "hello"
    assert not home.exists()


def test_load_image_classification_scales_and_adds_channels(no_data_dir):
    ds = data.load_image_classification("digits")
    assert ds.input_shape == (28, 28, 1) and ds.num_classes == 10
    assert ds.x_train.dtype == np.float32 and 0.0 <= ds.x_train.min() and ds.x_train.max() == 1.0
    with pytest.raises(ValueError, match="dataset"):
        data.load_image_classification("imagenet")


def test_make_dataset_batches_and_augments():
    x = np.random.default_rng(0).random((10, 8, 8, 1)).astype("float32")
    y = np.arange(10)
    batches = list(data.make_dataset(x, y, batch_size=4, shuffle=False))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    shuffled = np.concatenate([b[1] for b in data.make_dataset(x, y, batch_size=4, seed=1)])
    assert sorted(shuffled.tolist()) == y.tolist()
    aug = data.image_augmentation(translation=0.3, rotation=0.0, seed=0)
    xb, yb = next(iter(data.make_dataset(x, y, batch_size=10, shuffle=False, augment=aug)))
    assert xb.shape == (10, 8, 8, 1) and not np.allclose(xb.numpy(), x)
    with pytest.raises(ValueError, match="same length"):
        data.make_dataset(x, y[:3])
    with pytest.raises(ValueError, match="batch_size"):
        data.make_dataset(x, y, batch_size=0)


def test_split_one_hot_and_scaling():
    x = np.zeros((100, 4, 4), "uint8")
    y = np.repeat(np.arange(5), 20)
    (xtr, ytr), (xv, yv) = data.train_val_split(x, y, validation_fraction=0.2)
    assert len(xtr) == 80 and len(xv) == 20 and np.bincount(yv).tolist() == [4] * 5
    assert data.scale_images(x).shape == (100, 4, 4, 1)
    one_hot = data.to_one_hot([0, 2], 3)
    np.testing.assert_array_equal(one_hot, [[1, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="labels"):
        data.to_one_hot([3], 3)
    with pytest.raises(ValueError, match="validation_fraction"):
        data.train_val_split(x, y, validation_fraction=1.5)


def test_as_unit_float_scales_uint8_only():
    np.testing.assert_allclose(data.as_unit_float(np.array([[0, 51, 255]], np.uint8)), [[0.0, 0.2, 1.0]])
    floats = np.array([0.25, 1.0], np.float64)
    out = data.as_unit_float(floats)
    assert out.dtype == np.float32 and np.allclose(out, floats)  # already in [0, 1]: cast, not divided
