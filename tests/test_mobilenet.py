"""MobileNet v1/v2 and their blocks: parity with keras.applications, weights, cost, export."""

import importlib
import re
from fractions import Fraction

import numpy as np
import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before keras is imported)
import keras
from kerasdl import analysis, export
from kerasdl.layers.mobile import depthwise_separable_block, inverted_residual_block
from kerasdl.models.mobilenet import mobilenet, mobilenet_v2


def _names(model):
    """Layer names without the input layer; Keras' unnamed global pooling reads ``avg_pool``."""
    return [
        "avg_pool" if re.fullmatch(r"global_average_pooling2d(_\d+)?", layer.name) else layer.name
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]


def _randomize_batch_norm(model, seed=0):
    """Give every BatchNormalization non-trivial statistics, so a weights test checks them too."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = (w.shape for w in layer.get_weights())
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma),
                    rng.normal(0.0, 0.1, beta),
                    rng.normal(0.0, 0.1, mean),
                    rng.uniform(0.5, 1.5, variance),
                ]
            )
    return model


@pytest.fixture(scope="module")
def digits_v2():
    """MobileNetV2 as the command line builds it for 28x28x1 digits (10 classes)."""
    keras.utils.set_random_seed(0)
    return mobilenet_v2(input_shape=(28, 28, 1), num_classes=10)


# --------------------------------------------------------------------------- parity


def test_mobilenet_v1_matches_keras_applications():
    ours = mobilenet()
    assert ours.count_params() == 4_253_864
    assert ours.name == "mobilenet_1.00_224" and ours.output_shape == (None, 1000)
    ours_names = _names(ours)
    assert ours_names[-5:] == ["avg_pool", "dropout", "conv_preds", "reshape_2", "predictions"]
    del ours
    reference = keras.applications.MobileNet(weights=None)
    assert reference.count_params() == 4_253_864
    assert ours_names == _names(reference)
    # A narrower net with a depth multiplier, headless.
    ours = mobilenet(input_shape=(128, 128, 3), alpha=0.5, depth_multiplier=2, include_top=False, pooling="avg")
    reference = keras.applications.MobileNet(
        input_shape=(128, 128, 3), alpha=0.5, depth_multiplier=2, include_top=False, weights=None, pooling="avg"
    )
    assert ours.count_params() == reference.count_params()
    assert _names(ours) == _names(reference)


@pytest.mark.parametrize("alpha", [1.0, 0.35, 0.5, 0.75, 1.3, 1.4])
def test_mobilenet_v2_matches_keras_applications(alpha):
    keras.backend.clear_session()
    size = 224 if alpha == 1.0 else 32  # with the top, the parameter count does not depend on the size
    ours = mobilenet_v2(input_shape=(size, size, 3), alpha=alpha)
    reference = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha, weights=None)
    assert ours.count_params() == reference.count_params()
    assert _names(ours) == _names(reference)
    assert ours.name == reference.name == f"mobilenetv2_{alpha:0.2f}_{size}"
    if alpha == 1.0:
        assert ours.count_params() == 3_538_984
        assert ours.get_layer("Conv_1").filters == 1280
    if alpha == 1.4:
        assert ours.get_layer("Conv_1").filters == 1792  # make_divisible(1280 * 1.4, 8)


def test_mobilenet_v2_structure(digits_v2):
    model = digits_v2
    names = _names(model)
    assert "block_0_expand" not in names and "expanded_conv_depthwise" in names  # t = 1 in block 0
    # Residual adds only where stride is 1 and the channels match: 10 of the 17 blocks.
    adds = [n for n in names if n.endswith("_add")]
    assert adds == [f"block_{i}_add" for i in (2, 4, 5, 7, 8, 9, 11, 12, 14, 15)]
    # Linear bottleneck: no activation after a projection.
    for layer in model.layers:
        if layer.name.endswith("project_BN"):
            consumers = [node.operation for node in layer._outbound_nodes]
            assert not any(isinstance(op, keras.layers.ReLU) for op in consumers), layer.name
    assert model.get_layer("block_1_expand").filters == 6 * 16
    assert model.get_layer("block_16_project").filters == 320
    assert model.get_layer("Conv1").filters == 32 and model.get_layer("Conv_1").filters == 1280


def test_inverted_residual_block_rounds_channels_and_adds():
    x = keras.Input((8, 8, 24))
    same = inverted_residual_block(x, 24, stride=1, block_id=2)
    assert same._keras_history[0].name == "block_2_add"
    narrow = inverted_residual_block(x, 24, alpha=0.35, stride=1, block_id=3)  # int(8.4) -> 8 channels
    assert narrow.shape == (None, 8, 8, 8) and narrow._keras_history[0].name == "block_3_project_BN"
    down = inverted_residual_block(keras.Input((7, 7, 16)), 24, stride=2, block_id=4)
    assert down.shape == (None, 4, 4, 24)  # ceil(7 / 2), like "same"
    with pytest.raises(ValueError, match="stride"):
        inverted_residual_block(x, 24, stride=3, block_id=5)


# --------------------------------------------------------------------------- ImageNet weights


def test_mobilenet_imagenet_weights_come_from_the_keras_cache(no_data_dir, imagenet_file_from):
    from kerasdl.models.weights import WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match="mobilenet_2_5_128_tf_no_top.h5"):
        mobilenet(input_shape=(128, 128, 3), alpha=0.25, include_top=False, weights="imagenet")
    reference = keras.applications.MobileNet(input_shape=(128, 128, 3), alpha=0.25, include_top=False, weights=None)
    imagenet_file_from(_randomize_batch_norm(reference), "mobilenet_2_5_128_tf_no_top.h5")
    ours = mobilenet(input_shape=(128, 128, 3), alpha=0.25, include_top=False, weights="imagenet")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 128, 128, 3)).astype("float32")
    diff = np.abs(np.asarray(ours(x, training=False)) - np.asarray(reference(x, training=False))).max()
    assert diff <= 1e-4


def test_mobilenet_v2_imagenet_weights_come_from_the_keras_cache(no_data_dir, imagenet_file_from):
    from kerasdl.models.weights import WeightsNotFoundError

    # A size without a file of its own falls back to the 224 file, with a warning (as Keras).
    with pytest.warns(UserWarning, match="224"):
        with pytest.raises(WeightsNotFoundError, match=r"kernels_1\.0_224_no_top\.h5"):
            mobilenet_v2(input_shape=(100, 100, 3), include_top=False, weights="imagenet")
    reference = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None)
    file_name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    imagenet_file_from(_randomize_batch_norm(reference), file_name)
    ours = mobilenet_v2(input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights="imagenet")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 96, 96, 3)).astype("float32")
    diff = np.abs(np.asarray(ours(x, training=False)) - np.asarray(reference(x, training=False))).max()
    assert diff <= 1e-4


def test_mobilenet_v2_real_imagenet_weights_on_alpaca_photos(shared_data, monkeypatch):
    """The converted ImageNet file in ../shared/data, through our builder and through Keras' own."""
    from kerasdl.data import keras_home

    weights_file = (
        shared_data / "keras" / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    )
    if not weights_file.is_file():
        pytest.skip(f"{weights_file} is not present")
    monkeypatch.setenv("KERASDL_DATA_DIR", str(shared_data))
    photos = sorted((shared_data / "alpaca" / "alpaca").glob("*.jpg"))[:3]
    photos += sorted((shared_data / "alpaca" / "not alpaca").glob("*.jpg"))[:3]
    images = np.stack([keras.utils.img_to_array(keras.utils.load_img(p, target_size=(224, 224))) for p in photos])
    x = keras.applications.mobilenet_v2.preprocess_input(images)

    ours = mobilenet_v2(input_shape=(224, 224, 3), include_top=False, weights="imagenet", pooling="avg")
    features = np.asarray(ours(x, training=False))
    del ours
    with keras_home():
        reference = keras.applications.MobileNetV2(
            input_shape=(224, 224, 3), include_top=False, weights="imagenet", pooling="avg"
        )
    expected = np.asarray(reference(x, training=False))
    assert features.shape == (6, 1280)
    assert np.abs(features - expected).max() <= 1e-4
    # Non-trivial: pretrained features are sparse, differ per photo and from a random init.
    assert features.std(axis=0).mean() > 0.1
    random_init = np.asarray(mobilenet_v2(include_top=False, weights=None, pooling="avg")(x, training=False))
    assert np.abs(features - random_init).max() > 1.0


# --------------------------------------------------------------------------- cost


def test_depthwise_separable_saving_matches_the_formula():
    # The seed's example: 6x6x3 -> 4x4x5 with 3x3 kernels ("valid").
    inputs = keras.Input((6, 6, 3))
    standard = keras.Model(inputs, keras.layers.Conv2D(5, 3, use_bias=False)(inputs))
    separable = keras.Model(
        inputs, keras.layers.Conv2D(5, 1, use_bias=False)(keras.layers.DepthwiseConv2D(3, use_bias=False)(inputs))
    )
    assert analysis.total_macs(standard) == 2160
    macs = [row.macs for row in analysis.layer_stats(separable) if row.macs]
    assert macs == [432, 240] and sum(macs) == 672
    assert Fraction(672, 2160) == Fraction(1, 5) + Fraction(1, 9)
    assert 672 / 2160 == pytest.approx(analysis.separable_cost_ratio(5, 3))

    # A real MobileNet block (conv_dw_7 / conv_pw_7 at 224: 14x14x512 -> 14x14x512).
    inputs = keras.Input((14, 14, 512))
    block = keras.Model(inputs, depthwise_separable_block(inputs, 512, block_id=7))
    stats = {row.name: row.macs for row in analysis.layer_stats(block)}
    separable_macs = stats["conv_dw_7"] + stats["conv_pw_7"]
    assert separable_macs == analysis.depthwise_separable_macs(14, 14, 512, 512, 3).total
    standard_macs = analysis.conv_macs(14, 14, 512, 512, 3)
    assert Fraction(separable_macs, standard_macs) == Fraction(1, 512) + Fraction(1, 9)  # 8.8x cheaper
    assert block.count_params() == 9 * 512 + 512 * 512 + 4 * 512 * 2


# --------------------------------------------------------------------------- arguments


def test_input_sizes(digits_v2):
    # MobileNetV2's stride-2 blocks give ceil(n / 2), so the CLI's 28x28 digits work.
    digits = digits_v2
    assert digits.output_shape == (None, 10)
    assert digits.get_layer("out_relu").output.shape[1:3] == (1, 1)
    # MobileNet v1's four pad-(0, 1) 'valid' stride-2 blocks need 31x31.
    # (kerasdl.models.mobilenet the attribute is the builder; the module is in sys.modules)
    assert importlib.import_module("kerasdl.models.mobilenet").MOBILENET_MIN_INPUT_SIZE == 31
    assert mobilenet(input_shape=(31, 31, 1), num_classes=10).output_shape == (None, 10)
    with pytest.raises(ValueError, match=r"input_shape.*31x31"):
        mobilenet(input_shape=(28, 28, 1), num_classes=10)
    headless = mobilenet_v2(include_top=False, input_shape=(None, None, 3))
    assert headless.output_shape == (None, None, None, 1280)
    assert mobilenet(num_classes=1, input_shape=(32, 32, 3)).get_layer("predictions").activation is (
        keras.activations.sigmoid
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: mobilenet(alpha=0), "alpha"),
        (lambda: mobilenet(alpha=-1.0), "alpha"),
        (lambda: mobilenet(alpha="big"), "alpha"),
        (lambda: mobilenet(alpha=0.01), r"alpha=0\.01 is too small"),
        (lambda: mobilenet(alpha=0.6, weights="imagenet"), r"alpha must be one of \[0\.25"),
        (lambda: mobilenet(depth_multiplier=0), "depth_multiplier"),
        (lambda: mobilenet(depth_multiplier=2, weights="imagenet"), "depth_multiplier must be 1"),
        (lambda: mobilenet(dropout=1.0), "dropout"),
        (lambda: mobilenet(weights="imagenet", num_classes=10), "num_classes=1000"),
        (lambda: mobilenet(weights="imagenet", input_shape=(96, 96, 3)), r"\[128, 160, 192, 224\]"),
        (lambda: mobilenet_v2(alpha=0), "alpha"),
        (lambda: mobilenet_v2(alpha=0.25, weights="imagenet"), r"alpha must be one of \[0\.35"),
        (lambda: mobilenet_v2(weights="imagenet", input_shape=(224, 224, 1), include_top=False), "3 input channels"),
        (lambda: mobilenet_v2(weights="imagenet", classifier_activation="sigmoid"), "classifier_activation"),
        (lambda: mobilenet_v2(weights="imagenet", input_shape=(224, 160, 3)), "square"),
        (lambda: mobilenet_v2(weights="missing.h5"), "weights"),
        (lambda: mobilenet_v2(include_top=False, pooling="mean"), "pooling"),
        (lambda: mobilenet_v2(num_classes=0), "num_classes"),
        (lambda: mobilenet_v2(input_shape=(None, None, 3)), "input_shape"),
        (lambda: mobilenet_v2(include_top="no"), "include_top"),
    ],
)
def test_rejects_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- export


def test_mobilenet_v2_keras_and_saved_model_round_trip(digits_v2, tmp_path):
    model = digits_v2
    x = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    expected = np.asarray(model(x, training=False))
    restored = export.load_keras(export.save_keras(model, tmp_path / "mobilenet_v2.keras"))
    np.testing.assert_allclose(np.asarray(restored(x, training=False)), expected, atol=1e-6)
    reloaded = export.load_saved_model(export.export_saved_model(model, tmp_path / "mobilenet_v2_saved"))
    np.testing.assert_allclose(np.asarray(reloaded(x)), expected, atol=1e-5)
