"""Tests for the feed-forward and classic CNN builders in kerasdl.models and their blocks."""

import inspect
import numpy as np
import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before keras is imported)
import keras
from kerasdl import models
from kerasdl.layers import blocks


def _names(model):
    """Layer names without the input layer (whose auto-generated name differs per model)."""
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _classes(model):
    return [type(layer).__name__ for layer in model.layers]


# --------------------------------------------------------------------------- parameter counts


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: models.mnist_cnn(), 3_274_634),
        (lambda: models.lenet5(classic=True), 61_706),
        (lambda: models.lenet5(classic=False), 61_706),
        (lambda: models.alexnet(include_top=False), 3_747_200),
        (lambda: models.mlp((28, 28), 10), 535_818),
        (lambda: models.logistic_regression((64,)), 65),
        (lambda: models.softmax_regression((8, 8, 1), 10), 650),
    ],
    ids=["mnist_cnn", "lenet5_classic", "lenet5_modern", "alexnet_notop", "mlp", "logreg", "softmax"],
)
def test_parameter_counts(build, expected):
    assert build().count_params() == expected


@pytest.mark.parametrize(
    "builder, reference, expected",
    [
        (models.vgg16, keras.applications.VGG16, 138_357_544),
        (models.vgg19, keras.applications.VGG19, 143_667_240),
    ],
    ids=["vgg16", "vgg19"],
)
def test_vgg_matches_keras_applications(builder, reference, expected):
    ours = builder()
    assert ours.count_params() == expected
    assert ours.output_shape == (None, 1000)
    assert ours.input_shape == (None, 224, 224, 3)
    ours_names = _names(ours)
    del ours
    keras.backend.clear_session()
    ref = reference(weights=None)
    assert ref.count_params() == expected
    assert ours_names == _names(ref)


def test_vgg_headless_counts_and_shapes():
    assert models.vgg16(include_top=False).count_params() == 14_714_688
    assert models.vgg19(include_top=False).count_params() == 20_024_384
    features = models.vgg16(include_top=False, input_shape=(64, 96, 3))
    assert features.output_shape == (None, 2, 3, 512)
    assert features.layers[-1].name == "block5_pool"
    pooled = models.vgg19(include_top=False, input_shape=(None, None, 3), pooling="avg")
    assert pooled.output_shape == (None, 512)
    assert pooled.layers[-1].name == "avg_pool"
    out = pooled(np.zeros((1, 40, 50, 3), "float32"))
    assert tuple(out.shape) == (1, 512)
    maxed = models.vgg16(include_top=False, input_shape=(32, 32, 1), pooling="max")
    assert maxed.output_shape == (None, 512)
    # pooling is ignored with the top on.
    assert models.vgg16(input_shape=(32, 32, 3), num_classes=5, pooling="avg").output_shape == (None, 5)


def test_vgg_classifier_activation():
    logits = models.vgg16(input_shape=(32, 32, 3), num_classes=4, classifier_activation=None)
    assert logits.get_layer("predictions").activation is keras.activations.linear
    with pytest.raises(ValueError, match="classifier_activation"):
        models.vgg16(classifier_activation="nope")


def test_vgg_loads_weights_file(tmp_path):
    reference = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    expected = reference.predict(x, verbose=0)

    path = tmp_path / "vgg16_notop.weights.h5"
    reference.save_weights(path)
    ours = models.vgg16(include_top=False, weights=str(path), input_shape=(32, 32, 3))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=0, atol=0)

    # The legacy .h5 layout of the keras.applications ImageNet files loads too.
    h5py = pytest.importorskip("h5py")
    try:
        from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group
    except ImportError:  # pragma: no cover - private Keras API moved
        pytest.skip("keras legacy h5 writer not available")
    legacy = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with h5py.File(legacy, "w") as f:
        save_weights_to_hdf5_group(f, reference)
    ours = models.vgg16(include_top=False, weights=legacy, input_shape=(32, 32, 3))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=0, atol=0)


def test_vgg_imagenet_weights_come_from_the_keras_cache(no_data_dir, imagenet_file_from):
    from kerasdl.models.weights import WeightsNotFoundError

    # Not on disk anywhere (and offline): a fast, clear error naming keras.applications' file.
    with pytest.raises(WeightsNotFoundError, match="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        models.vgg16(include_top=False, weights="imagenet", input_shape=(32, 32, 3))

    # Under that file name in the data folder: found and loaded the way keras.applications does.
    reference = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    imagenet_file_from(reference, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    ours = models.vgg16(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    np.testing.assert_array_equal(ours.predict(x, verbose=0), reference.predict(x, verbose=0))


@pytest.mark.parametrize("builder", [models.vgg16, models.vgg19])
def test_vgg_rejects_bad_arguments(builder, tmp_path):
    with pytest.raises(ValueError, match=r"input_shape.*32"):
        builder(input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=r"input_shape.*32"):
        builder(include_top=False, input_shape=(None, 31, 3))
    with pytest.raises(ValueError, match="input_shape"):
        builder(input_shape=(None, None, 3))  # the top needs a fixed size
    with pytest.raises(ValueError, match="weights"):
        builder(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match=r"pooling.*'avg'"):
        builder(include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="num_classes"):
        builder(num_classes=0)


# --------------------------------------------------------------------------- classic CNNs


def test_mnist_cnn_structure():
    model = models.mnist_cnn()
    assert _names(model) == ["conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "dropout", "predictions"]
    assert model.output_shape == (None, 10)
    assert model.get_layer("pool2").output.shape == (None, 7, 7, 64)
    for name in ("conv1", "conv2", "fc1", "predictions"):
        layer = model.get_layer(name)
        assert isinstance(layer.kernel_initializer, keras.initializers.HeNormal), name
        assert not np.any(layer.bias.numpy()), name
    assert model.get_layer("dropout").rate == 0.5
    assert model.get_layer("predictions").activation is keras.activations.softmax


def test_mnist_cnn_arguments():
    assert models.mnist_cnn(input_shape=(4, 4, 3), num_classes=2).output_shape == (None, 2)
    with pytest.raises(ValueError, match=r"input_shape.*4x4"):
        models.mnist_cnn(input_shape=(3, 3, 1))
    with pytest.raises(ValueError, match="dropout"):
        models.mnist_cnn(dropout=1.0)


@pytest.mark.learned
def test_mnist_cnn_loss_falls_on_a_tiny_batch():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((16, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=16)
    model = models.mnist_cnn()
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="sparse_categorical_crossentropy")
    before = float(model.test_on_batch(x, y))  # inference mode: no dropout noise
    for _ in range(10):
        model.train_on_batch(x, y)
    after = float(model.test_on_batch(x, y))
    assert after < 0.6 * before, (before, after)


@pytest.mark.parametrize(
    "classic, pool_class, activation",
    [(True, keras.layers.AveragePooling2D, "tanh"), (False, keras.layers.MaxPooling2D, "relu")],
)
def test_lenet5_variants(classic, pool_class, activation):
    model = models.lenet5(classic=classic)
    assert _names(model) == ["conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2", "predictions"]
    assert isinstance(model.get_layer("pool1"), pool_class)
    assert isinstance(model.get_layer("pool2"), pool_class)
    for name in ("conv1", "conv2", "fc1", "fc2"):
        assert model.get_layer(name).activation.__name__ == activation
    assert model.get_layer("conv1").output.shape == (None, 28, 28, 6)
    assert model.get_layer("pool2").output.shape == (None, 5, 5, 16)
    assert model.output_shape == (None, 10)


def test_lenet5_minimum_input_size():
    assert blocks.min_input_size([(5, 1, "valid"), (2, 2, "valid")] * 2) == 16
    model = models.lenet5(input_shape=(16, 16, 1))
    assert model.get_layer("pool2").output.shape == (None, 1, 1, 16)
    with pytest.raises(ValueError, match=r"input_shape.*16x16"):
        models.lenet5(input_shape=(15, 32, 1))
    with pytest.raises(ValueError, match="classic"):
        models.lenet5(classic="yes")


def test_alexnet_structure():
    model = models.alexnet()
    assert model.count_params() == 62_378_344
    assert _names(model) == [
        "conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5",
        "flatten", "fc1", "dropout1", "fc2", "dropout2", "predictions",
    ]  # fmt: skip
    assert model.get_layer("conv1").output.shape == (None, 55, 55, 96)
    assert model.get_layer("pool5").output.shape == (None, 6, 6, 256)
    assert model.get_layer("dropout1").rate == 0.5
    assert model.output_shape == (None, 1000)
    assert "LocalResponseNormalization" not in _classes(model)
    del model
    keras.backend.clear_session()


def test_alexnet_headless_and_minimum_size():
    assert models.alexnet(include_top=False).output_shape == (None, 6, 6, 256)
    assert models.alexnet(include_top=False, pooling="max").output_shape == (None, 256)
    assert models.alexnet(include_top=False, input_shape=(None, None, 3), pooling="avg").output_shape == (
        None,
        256,
    )
    smallest = models.alexnet(input_shape=(67, 67, 3), num_classes=7, dropout=0.0)
    assert smallest.get_layer("pool5").output.shape == (None, 1, 1, 256)
    assert "dropout1" not in _names(smallest)
    with pytest.raises(ValueError, match=r"input_shape.*67x67"):
        models.alexnet(input_shape=(66, 66, 3))
    with pytest.raises(ValueError, match="dropout"):
        models.alexnet(dropout=-0.1)
    with pytest.raises(ValueError, match="pooling"):
        models.alexnet(include_top=False, pooling="min")


# --------------------------------------------------------------------------- mlp


@pytest.mark.parametrize(
    "activation, initializer_class",
    [
        ("relu", keras.initializers.HeNormal),
        ("leaky_relu", keras.initializers.HeNormal),
        ("elu", keras.initializers.HeNormal),
        ("gelu", keras.initializers.HeNormal),
        ("swish", keras.initializers.HeNormal),
        ("selu", keras.initializers.LecunNormal),
        ("tanh", keras.initializers.GlorotUniform),
        ("sigmoid", keras.initializers.GlorotUniform),
        ("linear", keras.initializers.GlorotUniform),
    ],
)
def test_mlp_default_initializer(activation, initializer_class):
    model = models.mlp((10,), 3, hidden_units=(8, 4), activation=activation)
    for name in ("hidden1_dense", "hidden2_dense"):
        init = model.get_layer(name).kernel_initializer
        assert type(init) is initializer_class, (name, type(init))


@pytest.mark.parametrize(
    "value, initializer_class",
    [
        ("he", keras.initializers.HeNormal),
        ("glorot", keras.initializers.GlorotUniform),
        ("lecun", keras.initializers.LecunNormal),
        ("he_uniform", keras.initializers.HeUniform),
        (keras.initializers.Orthogonal(), keras.initializers.Orthogonal),
    ],
)
def test_mlp_initializer_argument(value, initializer_class):
    model = models.mlp((10,), 3, hidden_units=(8,), activation="tanh", kernel_initializer=value)
    assert type(model.get_layer("hidden1_dense").kernel_initializer) is initializer_class


def test_mlp_batch_norm_order():
    model = models.mlp((6,), 4, hidden_units=(8, 5), batch_norm=True, dropout=0.25)
    assert _classes(model) == [
        "InputLayer", "Flatten",
        "Dense", "BatchNormalization", "Activation", "Dropout",
        "Dense", "BatchNormalization", "Activation", "Dropout",
        "Dense",
    ]  # fmt: skip
    assert _names(model)[1:5] == ["hidden1_dense", "hidden1_bn", "hidden1_act", "hidden1_dropout"]
    assert model.get_layer("hidden1_dense").use_bias is False
    assert model.get_layer("hidden1_dense").activation is keras.activations.linear
    assert model.get_layer("hidden1_dropout").rate == 0.25
    assert model.get_layer("predictions").use_bias is True
    # 6*8 + 4*8 (bn) + 8*5 + 4*5 (bn) + 5*4+4
    assert model.count_params() == 48 + 32 + 40 + 20 + 24


def test_mlp_without_batch_norm_fuses_activation():
    model = models.mlp((6,), 4, hidden_units=(8,), activation="tanh")
    assert _classes(model) == ["InputLayer", "Flatten", "Dense", "Dense"]
    assert model.get_layer("hidden1_dense").activation is keras.activations.tanh
    assert model.get_layer("predictions").activation is keras.activations.softmax


def test_mlp_regularizers_on_hidden_and_output():
    model = models.mlp((6,), 3, hidden_units=(8, 8), l1=1e-4, l2=1e-3)
    for name in ("hidden1_dense", "hidden2_dense", "predictions"):
        reg = model.get_layer(name).kernel_regularizer
        assert isinstance(reg, keras.regularizers.L1L2), name
        assert reg.l1 == pytest.approx(1e-4) and reg.l2 == pytest.approx(1e-3)
    model(np.ones((2, 6), "float32"))
    assert len(model.losses) == 3
    plain = models.mlp((6,), 3, hidden_units=(8,))
    assert plain.get_layer("hidden1_dense").kernel_regularizer is None


def test_mlp_outputs():
    assert models.mlp((28, 28, 1), 10).output_shape == (None, 10)
    binary = models.mlp((5,), 1, hidden_units=(4,))
    assert binary.output_shape == (None, 1)
    assert binary.get_layer("predictions").activation is keras.activations.sigmoid
    logits = models.mlp((5,), 3, output_activation=None)
    assert logits.get_layer("predictions").activation is keras.activations.linear
    linear = models.mlp((5,), 3, hidden_units=())
    assert _classes(linear) == ["InputLayer", "Flatten", "Dense"]


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"dropout": 1.5}, r"dropout.*1\.0"),
        ({"dropout": -0.1}, r"dropout.*0\.0"),
        ({"activation": "nope"}, r"activation.*'relu'"),
        ({"output_activation": "nope"}, "output_activation"),
        ({"kernel_initializer": "nope"}, r"kernel_initializer.*'he'"),
        ({"hidden_units": (16, 0)}, r"hidden_units\[1\].*>= 1"),
        ({"hidden_units": 16}, "hidden_units"),
        ({"l1": -1.0}, r"l1.*>= 0"),
        ({"l2": "big"}, "l2"),
        ({"num_classes": 0}, r"num_classes.*>= 1"),
        ({"input_shape": (0, 4)}, "input_shape"),
        ({"batch_norm": "yes"}, "batch_norm"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, pattern):
    arguments = {"input_shape": (4,), "num_classes": 2, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        models.mlp(**arguments)


@pytest.mark.learned
def test_mlp_learns_digits():
    from sklearn.datasets import load_digits

    keras.utils.set_random_seed(0)
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")
    y = digits.target
    model = models.mlp(x.shape[1:], 10, hidden_units=(128, 64))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    _, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9


# --------------------------------------------------------------------------- linear models


def test_linear_models():
    logreg = models.logistic_regression((8, 8), num_classes=2, l2=0.01)
    assert logreg.output_shape == (None, 1)
    assert logreg.get_layer("predictions").activation is keras.activations.sigmoid
    assert logreg.get_layer("predictions").kernel_regularizer.l2 == pytest.approx(0.01)
    softmax = models.softmax_regression((64,), 10)
    assert softmax.output_shape == (None, 10)
    assert softmax.get_layer("predictions").activation is keras.activations.softmax
    assert softmax.get_layer("predictions").kernel_regularizer is None
    with pytest.raises(ValueError, match=r"num_classes.*\[1, 2\]"):
        models.logistic_regression((4,), num_classes=3)
    with pytest.raises(ValueError, match=r"num_classes.*>= 2"):
        models.softmax_regression((4,), 1)
    with pytest.raises(ValueError, match=r"l2.*>= 0"):
        models.softmax_regression((4,), 3, l2=-0.5)


# --------------------------------------------------------------------------- registry and blocks


@pytest.mark.parametrize(
    "name, input_shape, num_classes, output_shape",
    [
        ("logistic_regression", (8, 8, 1), 2, (None, 1)),
        ("softmax_regression", (8, 8, 1), 3, (None, 3)),
        ("mlp", (8, 8, 1), 3, (None, 3)),
        ("mnist_cnn", (28, 28, 1), 3, (None, 3)),
        ("lenet5", (32, 32, 1), 3, (None, 3)),
        ("alexnet", (67, 67, 3), 3, (None, 3)),
        ("vgg16", (32, 32, 3), 3, (None, 3)),
        ("vgg19", (32, 32, 3), 3, (None, 3)),
    ],
)
def test_builders_registry(name, input_shape, num_classes, output_shape):
    model = models.BUILDERS[name](input_shape=input_shape, num_classes=num_classes)
    assert isinstance(model, keras.Model)
    assert model.name == name
    assert model.output_shape == output_shape


def test_registry_lists_every_builder():
    foundation = {
        "logistic_regression",
        "softmax_regression",
        "mlp",
        "mnist_cnn",
        "lenet5",
        "alexnet",
        "vgg16",
        "vgg19",
    }
    assert foundation <= set(models.BUILDERS)
    assert set(models.BUILDERS) <= set(models.__all__)
    for name, builder in models.BUILDERS.items():
        params = inspect.signature(builder).parameters
        assert "input_shape" in params and "num_classes" in params, name


def test_shape_arithmetic():
    assert blocks.min_input_size([(2, 2, "valid")] * 5) == 32
    assert blocks.min_input_size([(11, 4, "valid")] + [(3, 2, "valid")] * 3) == 67


def test_classifier_head_and_dense_block():
    inputs = keras.Input((4, 4, 8))
    assert blocks.classifier_head(inputs, 3, include_top=False, pooling=None) is inputs
    head = keras.Model(inputs, blocks.classifier_head(inputs, 3, top_pooling="avg", name_prefix="head_"))
    assert _names(head) == ["head_avg_pool", "head_predictions"]
    assert head.output_shape == (None, 3)
    with pytest.raises(ValueError, match="top_pooling"):
        blocks.classifier_head(inputs, 3, top_pooling="sum")

    vec = keras.Input((5,))
    out = blocks.dense_block(vec, 7, "relu", batch_norm=True, dropout=0.1, name="b")
    assert _names(keras.Model(vec, out)) == ["b_dense", "b_bn", "b_act", "b_dropout"]
    assert blocks.default_initializer("selu") == "lecun_normal"
    assert blocks.default_initializer(keras.activations.relu) == "he_normal"
    assert blocks.default_initializer(None) == "glorot_uniform"
