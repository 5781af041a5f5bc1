"""kerasdl.models.convolutionalize: Dense heads as convolutions, sliding windows in one pass."""

import numpy as np
import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before keras is imported)
import keras
from kerasdl.models import lenet5, mnist_cnn
from kerasdl.models.resnet import resnet_cifar
from kerasdl.models.convolutionalize import convolutionalize, sliding_window_stride


def _randomize_batchnorm(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, tuple(w.shape)).astype("float32") for w in layer.weights])


def _run(model, x):
    """Eager call in inference mode (tracing predict() would cost more than these tiny runs)."""
    return np.asarray(model(x, training=False))


def _assert_windows_match(model, converted, image, stride, windows):
    h0, w0 = model.input_shape[1:3]
    out = _run(converted, image)
    rows, cols = out.shape[1:3]
    assert (rows, cols) == ((image.shape[1] - h0) // stride + 1, (image.shape[2] - w0) // stride + 1)
    if windows == "all":
        windows = [(i, j) for i in range(rows) for j in range(cols)]
    crops = np.concatenate([image[:, i * stride : i * stride + h0, j * stride : j * stride + w0] for i, j in windows])
    want = _run(model, crops).reshape(len(windows), len(image), -1)
    for k, (i, j) in enumerate(windows):
        np.testing.assert_allclose(out[:, i, j], want[k], atol=1e-5, err_msg=f"window {(i, j)}")
    return out


def test_lenet5_slides_over_a_larger_image():
    keras.utils.set_random_seed(0)
    model = lenet5(classic=False)
    converted = convolutionalize(model)
    assert converted.input_shape == (None, None, None, 1)
    assert converted.count_params() == model.count_params()
    assert [type(layer).__name__ for layer in converted.layers[-3:]] == ["Conv2D"] * 3
    assert converted.get_layer("fc1").kernel_size == (5, 5)  # the 5x5x16 map that was flattened
    assert converted.get_layer("fc2").kernel_size == (1, 1)
    assert sliding_window_stride(model) == (4, 4)

    image = np.random.default_rng(1).random((2, 44, 40, 1), dtype=np.float32)
    out = _assert_windows_match(model, converted, image, 4, [(0, 0), (1, 2), (3, 0), (3, 2), (2, 1)])
    assert out.shape == (2, 4, 3, 10)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, atol=1e-5)  # a softmax at every window

    # On the original size: one window, the original output.
    x = image[:, :32, :32]
    np.testing.assert_allclose(_run(converted, x)[:, 0, 0], _run(model, x), atol=1e-5)


def test_global_pooling_head_with_batchnorm_and_dropout():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D(2)(x)
    y = keras.layers.Conv2D(8, 1)(x)
    x = keras.layers.Add()([x, y])
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    _randomize_batchnorm(model)

    converted = convolutionalize(model)
    assert isinstance(converted.get_layer("gap"), keras.layers.AveragePooling2D)
    assert converted.get_layer("gap").pool_size == (5, 5)
    image = np.random.default_rng(2).random((3, 20, 18, 3), dtype=np.float32)
    _assert_windows_match(model, converted, image, 2, "all")


def test_sequential_model_is_converted():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((10, 10, 2)),
        keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(6, activation="tanh"),
        keras.layers.Dense(2),
    ])  # fmt: skip
    converted = convolutionalize(model, name="sliding")
    assert converted.name == "sliding"
    image = np.random.default_rng(3).random((1, 16, 14, 2), dtype=np.float32)
    _assert_windows_match(model, converted, image, 2, "all")

    # A Dense layer on the flattened image itself: a 4x4 convolution over the image.
    linear = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Flatten(), keras.layers.Dense(3)])
    assert sliding_window_stride(linear) == (1, 1)
    _assert_windows_match(linear, convolutionalize(linear), image[:, :7, :6], 1, "all")


def test_padded_models_need_allow_padding():
    with pytest.raises(ValueError, match=r"'conv1'.*pads.*allow_padding=True"):
        convolutionalize(mnist_cnn())

    # A ResNet (padded convolutions, residual merges, global average pooling) converts with
    # allow_padding=True: on its own input size it still gives its own output.
    model = resnet_cifar(20, input_shape=(8, 8, 3), num_classes=5)
    _randomize_batchnorm(model)
    converted = convolutionalize(model, allow_padding=True)
    x = np.random.default_rng(4).random((2, 8, 8, 3), dtype=np.float32)
    np.testing.assert_allclose(_run(converted, x)[:, 0, 0], _run(model, x), atol=1e-5)
    assert sliding_window_stride(model) == (4, 4)
    assert _run(converted, np.zeros((1, 16, 12, 3), "float32")).shape == (1, 3, 2, 5)


def test_models_it_cannot_convert():
    with pytest.raises(ValueError, match="keras.Model"):
        convolutionalize("lenet5")
    conv_only = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="no Flatten"):
        convolutionalize(conv_only)
    flat_input = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        convolutionalize(flat_input)
    reshaped = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Reshape((4, 16, 1)), keras.layers.Flatten(), keras.layers.Dense(2)
    ])  # fmt: skip
    with pytest.raises(ValueError, match="'reshape.*not a local layer"):
        convolutionalize(reshaped)
    odd_head = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Reshape((8, 8)), keras.layers.Flatten(),
    ])  # fmt: skip
    with pytest.raises(ValueError, match="several flatten"):
        convolutionalize(odd_head)
    with pytest.raises(ValueError, match="allow_padding"):
        convolutionalize(lenet5(), allow_padding="yes")
