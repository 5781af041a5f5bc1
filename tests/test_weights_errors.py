"""``weights`` has one contract (kerasdl/models/weights.py): one validation for every builder
and for transfer.load_backbone, and a missing pretrained file raises WeightsNotFoundError
naming the file and the folders to put it in."""

import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before keras is imported)
from kerasdl import models
from kerasdl.models import weights as weights_module
from kerasdl.models.weights import WeightsNotFoundError, check_weights


def test_weights_not_found_is_a_file_not_found_error():
    from kerasdl.data import DatasetNotFoundError

    # FileNotFoundError: the command line's exit-1 path catches it; a weights file is not a data set
    assert issubclass(WeightsNotFoundError, FileNotFoundError)
    assert not issubclass(WeightsNotFoundError, DatasetNotFoundError)


def test_one_validation_for_builders_and_backbones(tmp_path):
    from kerasdl.transfer import backbones

    assert check_weights(None) is None and check_weights("imagenet") == "imagenet"
    existing = tmp_path / "w.weights.h5"
    existing.write_bytes(b"")
    assert check_weights(existing) == str(existing)
    for bad in ("imagnet", str(tmp_path / "missing.h5"), 3):
        with pytest.raises(ValueError, match="weights must be None, 'imagenet' or the path"):
            check_weights(bad)
        with pytest.raises(ValueError, match="weights must be None, 'imagenet' or the path"):
            backbones.load_backbone("mobilenet_v2", weights=bad)
        with pytest.raises(ValueError, match="weights must be None, 'imagenet' or the path"):
            models.vgg16(include_top=False, weights=bad, input_shape=(32, 32, 3))
    assert backbones.check_weights is check_weights  # no second copy of the rules
    with pytest.raises(ValueError, match="not available for these arguments"):
        check_weights("imagenet", imagenet_available=False)


def test_missing_imagenet_file_names_the_file_and_where_to_put_it(monkeypatch, tmp_path):
    from kerasdl.data import sources

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("KERASDL_DATA_DIR", str(data))
    monkeypatch.setenv("KERASDL_OFFLINE", "1")
    monkeypatch.setattr(sources, "_data_dir_override", None)
    monkeypatch.setattr(sources, "user_keras_home", lambda: tmp_path / "keras-home")
    with pytest.raises(WeightsNotFoundError) as caught:
        models.resnet50(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    message = str(caught.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(data / "keras" / "models") in message  # the data folder's keras/models/
    assert str(tmp_path / "keras-home" / "models") in message  # the Keras cache
    assert "weights=None" in message


def test_missing_backbone_file_is_a_weights_error_with_the_command_line_hint(monkeypatch, tmp_path):
    from kerasdl.data import sources
    from kerasdl.transfer import load_backbone

    monkeypatch.delenv("KERASDL_DATA_DIR", raising=False)
    monkeypatch.setenv("KERASDL_OFFLINE", "1")
    monkeypatch.setattr(sources, "_data_dir_override", None)
    monkeypatch.setattr(sources, "user_keras_home", lambda: tmp_path / "keras-home")
    with pytest.raises(WeightsNotFoundError, match="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5") as caught:
        load_backbone("vgg16", input_shape=(32, 32, 3), weights="imagenet")
    assert "--weights none" in str(caught.value)
    assert "KERASDL_DATA_DIR/keras/models/" in str(caught.value)  # no data folder set: say which variable
    with pytest.raises(WeightsNotFoundError, match="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        load_backbone("kerasdl:resnet50", input_shape=(32, 32, 3), weights="imagenet")


def test_a_found_file_goes_through_the_same_function(monkeypatch):
    calls = []

    def fake_loader(name, files, loader):
        calls.append((name, files))
        return loader()

    monkeypatch.setattr("kerasdl.data.sources.run_keras_loader", fake_loader)
    assert weights_module.fetch_imagenet_weights("Net", "net.h5", lambda: "loaded") == "loaded"
    assert calls == [("The ImageNet weights of Net", ["models/net.h5"])]
