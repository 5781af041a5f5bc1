"""kerasdl.tflite and `kerasdl export --tflite`: float32 and int8 TFLite files, checked on held-out data.

The classifier here is not trained: it is a nearest-class-mean classifier on scikit-learn's
digits written into a Dense layer (logit_c = 2 mu_c . x - |mu_c|^2, scaled), so its accuracy
is fixed by the data, and the int8 comparison tests quantisation, not what a model learned.
"""

import warnings

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from kerasdl import cli
from kerasdl.tflite import (
    FLOAT_FILE,
    INT8_FILE,
    TFLiteModel,
    convert_to_tflite,
    export_tflite,
    quantization_parameter_bytes,
)


def _nearest_mean_classifier(x, y, scale=4.0):
    """Conv 1x1 (identity) → Flatten → Dense softmax with nearest-class-mean weights."""
    means = np.stack([x[y == c].reshape(-1, x[0].size).mean(0) for c in range(10)])
    inputs = keras.Input(x.shape[1:])
    h = keras.layers.Conv2D(1, 1, use_bias=False, name="identity")(inputs)
    h = keras.layers.Flatten()(h)
    outputs = keras.layers.Dense(10, activation="softmax", name="means")(h)
    model = keras.Model(inputs, outputs)
    model.get_layer("identity").set_weights([np.ones((1, 1, 1, 1), "float32")])
    model.get_layer("means").set_weights(
        [(2 * scale * means.T).astype("float32"), (-scale * (means**2).sum(1)).astype("float32")]
    )
    return model


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., None]
    return x[:1000], data.target[:1000], x[1000:], data.target[1000:]


def test_float_and_int8_files_written_and_compared(digits, tmp_path):
    x_train, y_train, x_test, y_test = digits
    model = _nearest_mean_classifier(x_train, y_train)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = export_tflite(
            model, tmp_path / "export", representative_data=x_train, x_held_out=x_test, y_held_out=y_test
        )
    assert not [w for w in caught if "deprecated" in str(w.message)]  # tf.lite.Interpreter's notice is silenced
    float_path, int8_path = tmp_path / "export" / FLOAT_FILE, tmp_path / "export" / INT8_FILE
    assert report.float_path == str(float_path) and float_path.stat().st_size == report.float_bytes
    assert int8_path.stat().st_size == report.int8_bytes < report.float_bytes
    assert report.calibration_examples == 200 and report.held_out_examples == len(x_test)

    # float TFLite = Keras up to float rounding; the same accuracy
    assert report.max_abs_diff_float_vs_keras < 1e-4
    assert report.float_accuracy == report.keras_accuracy > 0.85
    # int8: measured 0.13 points below float, 99.5% same class, largest difference 0.08
    assert abs(report.accuracy_drop_points) < 2.0
    assert report.int8_agreement > 0.97
    assert 0 < report.max_abs_diff_int8 < 0.25

    # the files on disk are what was measured
    int8_out = TFLiteModel(int8_path).predict(x_test)
    assert np.mean(int8_out.argmax(-1) == y_test) == pytest.approx(report.int8_accuracy)
    assert any("int8" in line for line in report.lines())


def test_int8_file_is_about_a_quarter_of_float_when_weights_dominate(tmp_path):
    # Per output channel int8 adds a float32 scale and an int64 zero point for the weights and
    # again for the int32 bias: with fan-in 256 the file is (256 + 28) / (4 * 256 + 4) = 28% of float.
    inputs = keras.Input((256,))
    h = keras.layers.Dense(256, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10)(h))
    x = np.random.default_rng(0).normal(size=(64, 256)).astype("float32")
    float_bytes = convert_to_tflite(model)
    int8_bytes = convert_to_tflite(model, quantization="int8", representative_data=x)
    assert len(int8_bytes) < 0.3 * len(float_bytes)
    int8 = TFLiteModel(int8_bytes)
    np.testing.assert_allclose(int8.predict(x), model.predict(x, verbose=0), atol=0.1 * np.abs(model(x)).max())
    assert int8.predict(x[:0]).shape == (0, 10)


def test_per_tensor_int8_drops_the_per_channel_scales_and_zero_points():
    inputs = keras.Input((256,))
    bias = keras.initializers.RandomNormal(stddev=0.1, seed=0)  # all-zero biases would be dropped from the file
    h = keras.layers.Dense(256, activation="relu", bias_initializer=bias)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, bias_initializer=bias)(h))
    x = np.random.default_rng(0).normal(size=(64, 256)).astype("float32")
    per_channel = convert_to_tflite(model, quantization="int8", representative_data=x)
    per_tensor = convert_to_tflite(model, quantization="int8", representative_data=x, per_channel=False)
    assert quantization_parameter_bytes(convert_to_tflite(model)) == 0
    # per channel: a float32 scale and an int64 zero point per output channel for each kernel and
    # each bias (256 + 256 + 10 + 10 pairs); per tensor: one pair for each of those four tensors
    saved = quantization_parameter_bytes(per_channel) - quantization_parameter_bytes(per_tensor)
    assert saved == (2 * 256 + 2 * 10 - 4) * (4 + 8)
    # the files differ by that much, give or take the flatbuffer's vector headers and alignment padding
    assert abs((len(per_channel) - len(per_tensor)) - saved) <= 64
    np.testing.assert_allclose(
        TFLiteModel(per_tensor).predict(x), model.predict(x, verbose=0), atol=0.1 * np.abs(model(x)).max()
    )
    with pytest.raises(ValueError, match="per_channel=False applies to quantization='int8' only"):
        convert_to_tflite(model, per_channel=False)


def test_bad_arguments_write_nothing(digits, tmp_path):
    x_train, y_train, x_test, y_test = digits
    model = _nearest_mean_classifier(x_train, y_train)
    with pytest.raises(ValueError, match="quantization must be None or 'int8'"):
        convert_to_tflite(model, quantization="int4")
    with pytest.raises(ValueError, match="needs representative_data"):
        convert_to_tflite(model, quantization="int8")
    with pytest.raises(ValueError, match=r"x_held_out must have shape \(N, \*\(8, 8, 1\)\)"):
        export_tflite(model, tmp_path, representative_data=x_train, x_held_out=x_test[..., 0])
    with pytest.raises(ValueError, match="y_held_out has 3 labels"):
        export_tflite(model, tmp_path, representative_data=x_train, x_held_out=x_test, y_held_out=y_test[:3])
    two = keras.Model(model.inputs, [model.output, model.output])
    with pytest.raises(ValueError, match="exactly one output"):
        convert_to_tflite(two)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_export_command_with_tflite(tmp_path, capsys, no_data_dir):
    from kerasdl.data import load_image_classification
    from kerasdl.export import save_keras

    data = load_image_classification("digits")  # what --tflite-data digits reads
    model = _nearest_mean_classifier(data.x_train, data.y_train)
    path = save_keras(model, tmp_path / "m.keras")
    out = tmp_path / "exported"
    argv = ["export", str(path), str(out), "--tflite", "--tflite-data", "digits", "--calibration-examples", "50"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert (out / "saved_model.pb").is_file() and (out / FLOAT_FILE).is_file() and (out / INT8_FILE).is_file()
    assert "calibrated on 50 training examples" in printed and "held-out" in printed
    assert "per-channel weight scales" in printed and "bytes of it are scales and zero points" in printed

    assert cli.main(["export", str(path), str(tmp_path / "other"), "--tflite"]) == 2
    assert "--tflite needs --tflite-data" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--tflite", "--mixed-precision"], "--tflite converts a float32 model; drop --mixed-precision"),
        (["--tflite", "--calibration-examples", "0"], "--calibration-examples must be >= 1"),
    ],
)
def test_finetune_app_refuses_bad_tflite_flags_before_any_work(tmp_path, capsys, flags, message):
    from kerasdl.apps import finetune

    runs = tmp_path / "runs"
    assert finetune.main([str(tmp_path), "--runs-dir", str(runs), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not runs.exists()
