from pathlib import Path

import numpy as np
import pytest

import keras

from kerasdl import export


def _model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(3, 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(x))


def test_saved_model_round_trip_with_uint8_preprocessing(tmp_path):
    model = _model()
    serving = export.with_preprocessing(model, keras.layers.Rescaling(1 / 255))
    path = export.export_saved_model(serving, tmp_path / "exports" / "run1")
    assert (path / "saved_model.pb").is_file()
    assert [p.name for p in path.parent.iterdir()] == ["run1"]  # no temporary left behind
    raw = np.random.default_rng(0).integers(0, 256, (5, 6, 6, 1)).astype("uint8")
    reloaded = np.asarray(export.load_saved_model(path)(raw))
    np.testing.assert_allclose(reloaded, model.predict(raw / 255.0, verbose=0), atol=1e-6)


def test_export_refuses_to_overwrite_and_replaces_atomically(tmp_path):
    model = _model()
    target = export.export_saved_model(model, tmp_path / "m")
    with pytest.raises(FileExistsError, match="overwrite"):
        export.export_saved_model(model, target)
    export.export_saved_model(model, target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_interrupted_export_leaves_nothing(tmp_path, monkeypatch):
    model = _model()

    class Interrupted:  # killed half way through writing the SavedModel
        def write_out(self, path, **kwargs):
            (Path(path) / "saved_model.pb").write_bytes(b"half")
            raise KeyboardInterrupt

    monkeypatch.setattr(export, "serving_archive", lambda model: Interrupted())
    with pytest.raises(KeyboardInterrupt):
        export.export_saved_model(model, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_keras_round_trip(tmp_path):
    model = _model()
    path = export.save_keras(model, tmp_path / "model.keras")
    restored = export.load_keras(path)
    x = np.random.default_rng(1).random((3, 6, 6, 1)).astype("float32")
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match=".keras"):
        export.save_keras(model, tmp_path / "model.h5")
    with pytest.raises(FileNotFoundError):
        export.load_keras(tmp_path / "missing.keras")
    with pytest.raises(FileNotFoundError, match="saved_model.pb"):
        export.load_saved_model(tmp_path)
