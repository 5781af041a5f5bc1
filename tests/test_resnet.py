"""ResNets (kerasdl.models.resnet) and their blocks (kerasdl.layers.residual).

keras.applications' ResNet-101/152 (v1 and v2) take several seconds each to build, so their
parity tests are marked ``slow`` (``pytest -m slow tests/test_resnet.py``); ResNet-50 and
ResNet-50 v2 are compared in the default run, weights included.
"""

import re

import numpy as np
import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before keras is imported)
import keras
from kerasdl.analysis import conv_output_size, output_shape_chain
from kerasdl.layers import residual
from kerasdl.models import resnet

# keras.applications leaves the 1x1 max pooling of a strided v2 identity shortcut unnamed
# (max_pooling2d, max_pooling2d_1, ...); kerasdl names it {block}_0_pool.
_UNNAMED_POOL = re.compile(r"max_pooling2d(_\d+)?$")


def _names(model):
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _assert_same_layers(ours, ref):
    ours_names, ref_names = _names(ours), _names(ref)
    assert len(ours_names) == len(ref_names)
    for a, b in zip(ours_names, ref_names):
        if _UNNAMED_POOL.match(b):
            assert re.fullmatch(r"conv\d_block\d+_0_pool", a), (a, b)
        else:
            assert a == b
    ours_classes = [type(layer).__name__ for layer in ours.layers]
    assert ours_classes == [type(layer).__name__ for layer in ref.layers]


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _randomize(model, seed=0):
    """Random values for every weight, batch-norm statistics included (so that a weight
    landing in the wrong layer changes the outputs); variances stay positive."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for w in layer.weights:
            shape = tuple(w.shape)
            if isinstance(layer, keras.layers.BatchNormalization):
                if "variance" in w.path or "gamma" in w.path:
                    values.append(rng.uniform(0.5, 1.5, shape))
                else:
                    values.append(rng.normal(0.0, 0.1, shape))
            else:
                values.append(w.numpy() + rng.normal(0.0, 0.01, shape))
        if values:
            layer.set_weights([v.astype("float32") for v in values])
    return model


# --------------------------------------------------------------------------- keras.applications parity


@pytest.mark.parametrize(
    "builder, reference, file_name, include_top, expected",
    [
        (resnet.resnet50, keras.applications.ResNet50,
         "resnet50_weights_tf_dim_ordering_tf_kernels.h5", True, 25_636_712),
        (resnet.resnet50_v2, keras.applications.ResNet50V2,
         "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5", False, 23_564_800),
    ],
    ids=["resnet50", "resnet50_v2_notop"],
)  # fmt: skip
def test_resnet50_matches_keras_applications_weights_included(
    builder, reference, file_name, include_top, expected, no_data_dir, imagenet_file_from
):
    from kerasdl.models.weights import WeightsNotFoundError

    shape = (64, 64, 3)
    if not include_top:
        # Not on disk anywhere (and offline): a clear error naming keras.applications' file.
        with pytest.raises(WeightsNotFoundError, match=re.escape(file_name)):
            builder(include_top=include_top, weights="imagenet", input_shape=shape)
        keras.backend.clear_session()

    ref = _randomize(reference(weights=None, include_top=include_top, input_shape=shape))
    assert ref.count_params() == expected
    imagenet_file_from(ref, file_name)
    ours = builder(include_top=include_top, weights="imagenet", input_shape=shape)
    assert ours.count_params() == expected
    _assert_same_layers(ours, ref)

    x = np.random.default_rng(1).normal(0.0, 1.0, (2, *shape)).astype("float32")
    # Eager calls: tracing predict() for two ResNet-50s would double the test's time.
    got, want = np.asarray(ours(x, training=False)), np.asarray(ref(x, training=False))
    assert got.shape == want.shape == ((2, 1000) if include_top else (2, 2, 2, 2048))
    assert np.abs(want).max() > 1e-3  # not a degenerate all-zero comparison
    assert np.max(np.abs(got - want)) <= 1e-4


def test_resnet50_defaults_and_v2_count():
    ours = resnet.resnet50_v2()
    assert ours.count_params() == 25_613_800
    assert ours.input_shape == (None, 224, 224, 3)
    assert ours.output_shape == (None, 1000)
    assert ours.name == "resnet50_v2"
    assert ours.get_layer("predictions").activation is keras.activations.softmax


@pytest.mark.slow
@pytest.mark.parametrize(
    "builder, reference, expected",
    [
        (resnet.resnet101, keras.applications.ResNet101, 44_707_176),
        (resnet.resnet152, keras.applications.ResNet152, 60_419_944),
        (resnet.resnet101_v2, keras.applications.ResNet101V2, 44_675_560),
        (resnet.resnet152_v2, keras.applications.ResNet152V2, 60_380_648),
    ],
    ids=["resnet101", "resnet152", "resnet101_v2", "resnet152_v2"],
)
def test_deep_resnets_match_keras_applications(builder, reference, expected):
    ours = builder()
    assert ours.count_params() == expected
    ref = reference(weights=None)
    assert ref.count_params() == expected
    _assert_same_layers(ours, ref)
    del ours, ref
    keras.backend.clear_session()


def test_imagenet_weights_table_matches_keras_applications():
    from keras.src.applications import resnet as keras_resnet

    assert len(resnet.IMAGENET_WEIGHTS) == 12
    for (name, include_top), f in resnet.IMAGENET_WEIGHTS.items():
        stem = name.replace("_", "")
        md5 = keras_resnet.WEIGHTS_HASHES[stem][0 if include_top else 1]
        assert f.file_hash == md5
        assert f.file_name == f"{stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
        assert f.origin == keras_resnet.BASE_WEIGHTS_PATH + f.file_name


# --------------------------------------------------------------------------- ResNet-18/34


@pytest.mark.parametrize(
    "builder, total, torchvision",
    [(resnet.resnet18, 11_699_112, 11_689_512), (resnet.resnet34, 21_814_696, 21_797_672)],
    ids=["resnet18", "resnet34"],
)
def test_basic_block_resnets_match_torchvision_counts(builder, total, torchvision):
    model = builder()
    assert model.count_params() == total
    # torchvision counts trainable parameters only: bias-free convs, BN gamma/beta.
    assert _trainable(model) == torchvision
    assert model.output_shape == (None, 1000)
    conv = model.get_layer("conv3_block1_1_conv")
    assert conv.strides == (2, 2) and conv.kernel_size == (3, 3) and not conv.use_bias
    assert model.get_layer("conv3_block1_0_conv").kernel_size == (1, 1)  # projection shortcut
    with pytest.raises(ValueError):
        model.get_layer("conv2_block1_0_conv")  # 64 -> 64, stride 1: identity shortcut
    with pytest.raises(ValueError, match="weights='imagenet' is not available"):
        builder(weights="imagenet")


def test_seed_quiz_shapes_through_a_resnet():
    """Seed 000, question 8: [32, 3, 64, 64] (NCHW) → conv 7x7/2 + maxpool 3/2 → 16x16, then
    stages of 64, 128, 256 filters → 16, 8, 4; here channels-last and batch 32."""
    # By the formula (PyTorch-style symmetric padding, as the quiz).
    assert conv_output_size(64, 7, stride=2, padding=3) == 32
    assert conv_output_size(32, 3, stride=2, padding=1) == 16
    chain = output_shape_chain(
        (64, 64, 3),
        [
            ("conv", dict(filters=64, kernel_size=7, stride=2, padding=3)),
            ("pool", dict(pool_size=3, stride=2, padding=1)),
            ("conv", dict(filters=64, kernel_size=3, stride=1, padding=1)),
            ("conv", dict(filters=128, kernel_size=3, stride=2, padding=1)),
            ("conv", dict(filters=256, kernel_size=3, stride=2, padding=1)),
        ],
    )
    assert chain == [(32, 32, 64), (16, 16, 64), (16, 16, 64), (8, 8, 128), (4, 4, 256)]

    # The quiz network itself, from kerasdl.layers.residual: stem, three stages of two basic
    # blocks, global average pooling, Dense(10).
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.ZeroPadding2D(3)(inputs)
    x = keras.layers.Conv2D(64, 7, strides=2)(x)
    x = keras.layers.ZeroPadding2D(1)(x)
    a = keras.layers.MaxPooling2D(3, strides=2)(x)
    b = residual.residual_stack(a, 64, 2, stride=1, name="b")
    c = residual.residual_stack(b, 128, 2, stride=2, name="c")
    d = residual.residual_stack(c, 256, 2, stride=2, name="d")
    e = keras.layers.GlobalAveragePooling2D(keepdims=True)(d)
    f = keras.layers.Dense(10)(keras.layers.Flatten()(e))
    quiz = keras.Model(inputs, [a, b, c, d, e, f])
    outs = quiz(np.zeros((32, 64, 64, 3), "float32"), training=False)
    assert [o.shape for o in outs] == [
        (32, 16, 16, 64), (32, 16, 16, 64), (32, 8, 8, 128), (32, 4, 4, 256), (32, 1, 1, 256), (32, 10)
    ]  # fmt: skip

    # And on ResNet-18's own layers at 64x64.
    model = resnet.resnet18(input_shape=(64, 64, 3), num_classes=10)
    assert model.get_layer("conv1_conv").output.shape == (None, 32, 32, 64)
    assert model.get_layer("pool1_pool").output.shape == (None, 16, 16, 64)
    assert model.get_layer("conv2_block2_out").output.shape == (None, 16, 16, 64)
    assert model.get_layer("conv3_block2_out").output.shape == (None, 8, 8, 128)
    assert model.get_layer("conv4_block2_out").output.shape == (None, 4, 4, 256)
    assert model.get_layer("conv5_block2_out").output.shape == (None, 2, 2, 512)
    assert model.output_shape == (None, 10)


def test_seed_residual_block_shapes():
    """Seed 000, questions 6 and 7: identity block keeps [10, 3, 32, 32]; a 1x1-projection
    block with stride 2 and 6 channels gives [10, 6, 16, 16] (channels-last here)."""
    x = keras.Input((32, 32, 3), batch_size=10)
    y = residual.identity_block(x, 3, name="q6")
    assert tuple(y.shape) == (10, 32, 32, 3)
    y = residual.convolutional_block(x, 6, stride=2, name="q7")
    assert tuple(y.shape) == (10, 16, 16, 6)
    for v2 in (False, True):
        y = residual.bottleneck_block(x, 8, stride=2, preactivation=v2, name=f"bn{v2}")
        assert tuple(y.shape) == (10, 16, 16, 32)
    with pytest.raises(ValueError, match="shortcut='identity'"):
        residual.identity_block(x, 6, name="bad")
    with pytest.raises(ValueError, match="shortcut"):
        residual.residual_block(x, 3, shortcut="zero_pad", name="bad")


def test_residual_block_computes_relu_of_branch_plus_identity():
    x = keras.Input((5, 5, 4))
    y = residual.identity_block(x, 4, name="blk")
    model = keras.Model(x, y)
    branch = keras.Model(x, model.get_layer("blk_2_bn").output)
    data = np.random.default_rng(0).normal(size=(3, 5, 5, 4)).astype("float32")
    expected = np.maximum(np.asarray(branch(data)) + data, 0.0)
    np.testing.assert_allclose(np.asarray(model(data)), expected, atol=1e-5)


@pytest.mark.parametrize("builder", [resnet.resnet50, resnet.resnet18, resnet.resnet50_v2])
def test_resnet_rejects_bad_arguments(builder, tmp_path):
    with pytest.raises(ValueError, match=r"input_shape.*32"):
        builder(input_shape=(31, 31, 3))
    with pytest.raises(ValueError, match=r"input_shape.*32"):
        builder(include_top=False, input_shape=(None, 16, 3))
    with pytest.raises(ValueError, match="input_shape"):
        builder(input_shape=(None, None, 3))  # fine without the top only
    with pytest.raises(ValueError, match="weights"):
        builder(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match=r"pooling.*'avg'"):
        builder(include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="num_classes"):
        builder(num_classes=0)
    with pytest.raises(ValueError, match="include_top"):
        builder(include_top="yes")
    with pytest.raises(ValueError, match="classifier_activation"):
        builder(classifier_activation="nope")
    if builder is not resnet.resnet18:
        with pytest.raises(ValueError, match="num_classes=1000"):
            builder(weights="imagenet", num_classes=10)
        with pytest.raises(ValueError, match="3 input channels"):
            builder(weights="imagenet", include_top=False, input_shape=(64, 64, 1))


def test_resnet_headless_and_cli_keywords():
    model = resnet.resnet18(include_top=False, input_shape=(None, None, 1), pooling="max")
    assert model.output_shape == (None, 512)
    assert model.layers[-1].name == "max_pool"
    model = resnet.resnet18(input_shape=(32, 32, 3), num_classes=1, classifier_activation=None)
    assert model.output_shape == (None, 1)


# --------------------------------------------------------------------------- CIFAR ResNets


def test_resnet_cifar_structure_and_counts():
    model = resnet.resnet_cifar(20)
    assert model.count_params() == 274_042  # He et al. 2015: 0.27M
    assert _trainable(model) == 272_474
    assert model.name == "resnet20_cifar"
    assert model.output_shape == (None, 10)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 19 + 2  # 6n + 1 = 19 3x3 convs (+ the FC = 20 layers) + 2 projections
    assert model.get_layer("conv2_block3_out").output.shape == (None, 32, 32, 16)
    assert model.get_layer("conv3_block3_out").output.shape == (None, 16, 16, 32)
    assert model.get_layer("conv4_block3_out").output.shape == (None, 8, 8, 64)
    assert isinstance(model.get_layer("conv4_block1_1_conv").kernel_regularizer, keras.regularizers.L2)

    v2 = resnet.resnet_cifar(20, version=2)
    assert v2.count_params() == 274_090
    assert v2.name == "resnet20v2_cifar"
    assert v2.get_layer("conv2_block1_preact_bn") is not None
    assert v2.get_layer("post_relu") is not None


def test_resnet_cifar_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"depth.*\[20, 32, 44, 56, 110, 1202\].*21"):
        resnet.resnet_cifar(21)
    with pytest.raises(ValueError, match=r"version.*\[1, 2\]"):
        resnet.resnet_cifar(20, version=3)
    with pytest.raises(ValueError, match=r"input_shape.*4x4"):
        resnet.resnet_cifar(20, input_shape=(3, 3, 3))
    with pytest.raises(ValueError, match="l2"):
        resnet.resnet_cifar(20, l2=-1.0)
    with pytest.raises(ValueError, match="weights='imagenet' is not available"):
        resnet.resnet_cifar(20, weights="imagenet")
    with pytest.raises(ValueError, match="num_classes"):
        resnet.resnet_cifar(20, num_classes=0)


@pytest.mark.learned
def test_resnet_cifar_learns_digits():
    """A few Adam steps of ResNet-20 on one batch of scikit-learn's 8x8 digits: the loss falls.

    Eager steps: tracing the training graph of a 20-layer ResNet costs more than the steps."""
    from kerasdl.data import load_digits

    keras.utils.set_random_seed(0)
    (x, y), _ = load_digits(image_size=8)
    x, y = (x[:64, ..., None] / 255.0).astype("float32"), y[:64]
    model = resnet.resnet_cifar(20, input_shape=(8, 8, 1), num_classes=10)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", run_eagerly=True)
    losses = [float(model.train_on_batch(x, y)) for _ in range(5)]
    assert losses[-1] < 0.5 * losses[0], losses


def test_small_resnet_round_trips(tmp_path):
    from kerasdl.export import export_saved_model, load_keras, load_saved_model, save_keras

    model = resnet.resnet_cifar(20, version=2, input_shape=(8, 8, 3), num_classes=4)
    _randomize(model)
    x = np.random.default_rng(0).random((3, 8, 8, 3), dtype=np.float32)
    want = np.asarray(model(x, training=False))

    reloaded = load_keras(save_keras(model, tmp_path / "resnet.keras"))
    assert _names(reloaded) == _names(model)
    np.testing.assert_allclose(np.asarray(reloaded(x, training=False)), want, atol=1e-5)

    served = load_saved_model(export_saved_model(model, tmp_path / "resnet_savedmodel"))
    np.testing.assert_allclose(np.asarray(served(x)), want, atol=1e-5)
