"""Tests for EfficientNet-B0...B7 (kerasdl.models.efficientnet) and its blocks (kerasdl.layers.mbconv).

Building EfficientNets is the expensive part on CPU, so B0 is built once per module where
possible; the B4-B7 parameter-count parities (each ~10-30 s with the keras twin) are
marked ``slow`` (run them with ``pytest -m slow tests/test_efficientnet.py``).
"""

import math
import re

import numpy as np
import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before keras is imported)
import keras
from kerasdl import export
from kerasdl.layers.blocks import correct_pad
from kerasdl.layers.mbconv import mbconv_block, se_filters, squeeze_excite
from kerasdl.models import efficientnet as E

# Measured against keras.applications.EfficientNetBn(weights=None) (Keras 3.15).
PARAMS = {
    "b0": (5_330_571, 4_049_571),
    "b1": (7_856_239, 6_575_239),
    "b2": (9_177_569, 7_768_569),
    "b3": (12_320_535, 10_783_535),
    "b4": (19_466_823, 17_673_823),
    "b5": (30_562_527, 28_513_527),
    "b6": (43_265_143, 40_960_143),
    "b7": (66_658_687, 64_097_687),
}
RESOLUTION = {"b0": 224, "b1": 240, "b2": 260, "b3": 300, "b4": 380, "b5": 456, "b6": 528, "b7": 600}
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype="float32")
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype="float32")


def _builder(variant):
    return getattr(E, f"efficientnet_{variant}")


def _keras_twin(variant, **kwargs):
    return getattr(keras.applications, f"EfficientNet{variant.upper()}")(weights=None, **kwargs)


@pytest.fixture(scope="module")
def b0():
    return E.efficientnet_b0()


@pytest.fixture(scope="module")
def keras_b0():
    return _keras_twin("b0")


# --------------------------------------------------------------------------- parity with keras.applications


@pytest.mark.parametrize(
    "variant",
    ["b0", "b1", "b2", "b3"] + [pytest.param(v, marks=pytest.mark.slow) for v in ("b4", "b5", "b6", "b7")],
)
def test_parameter_count_and_default_resolution_match_keras_applications(variant, request):
    if variant == "b0":
        ours, reference = request.getfixturevalue("b0"), request.getfixturevalue("keras_b0")
    else:
        ours, reference = _builder(variant)(), _keras_twin(variant)
    size = RESOLUTION[variant]
    assert ours.input_shape == (None, size, size, 3)
    assert ours.name == f"efficientnet{variant}"
    assert ours.count_params() == PARAMS[variant][0]
    assert ours.count_params() == reference.count_params()


def test_b0_headless_parameter_count():
    ours = E.efficientnet_b0(include_top=False, input_shape=(64, 64, 3), pooling="avg")
    assert ours.count_params() == PARAMS["b0"][1] == 4_049_571
    assert ours.output_shape == (None, 1280)


def test_b0_layers_match_keras_applications(b0, keras_b0):
    reference = keras_b0
    assert b0.count_params() == reference.count_params() == 5_330_571
    ours_layers, ref_layers = b0.layers[1:], reference.layers[1:]  # input layer names differ
    assert [type(layer).__name__ for layer in ours_layers] == [type(layer).__name__ for layer in ref_layers]
    # keras.applications leaves its preprocessing layers auto-named ("rescaling_3" in a long
    # session); ours carry the names a fresh session gives them.
    ref_names = [
        re.sub(r"_\d+$", "", layer.name)
        if isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization))
        else layer.name
        for layer in ref_layers
    ]
    assert [layer.name for layer in ours_layers] == ref_names
    assert [w.shape for w in b0.weights] == [w.shape for w in reference.weights]
    for name in ("block1a_dwconv", "block2b_se_squeeze", "block7a_project_bn", "top_conv", "predictions"):
        assert b0.get_layer(name) is not None
    assert b0.get_layer("block2a_dwconv_pad").padding == ((0, 1), (0, 1))


def test_imagenet_weights_load_as_keras_applications(no_data_dir, imagenet_file_from, monkeypatch):
    from kerasdl.models.weights import WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match="efficientnetb0_notop.h5"):
        E.efficientnet_b0(include_top=False, weights="imagenet", input_shape=(64, 64, 3))

    # A stand-in for the official file: random weights with ImageNet normalisation statistics,
    # in the legacy HDF5 layout, under the official name in the data folder.
    source = _keras_twin("b0", include_top=False, input_shape=(64, 64, 3))
    norm = next(layer for layer in source.layers if isinstance(layer, keras.layers.Normalization))
    norm.set_weights([IMAGENET_MEAN, IMAGENET_STD**2, np.array(0)])
    path = imagenet_file_from(source, "efficientnetb0_notop.h5")

    # keras.applications' own weights="imagenet" path (with its sqrt(std) fix-up layer),
    # pointed at the same file instead of the download.
    from keras.src.applications import efficientnet as keras_efficientnet

    real_file_utils = keras_efficientnet.file_utils
    monkeypatch.setattr(
        keras_efficientnet,
        "file_utils",
        type(
            "FileUtils",
            (),
            {"exists": staticmethod(real_file_utils.exists), "get_file": staticmethod(lambda *a, **k: str(path))},
        ),
    )
    reference = keras.applications.EfficientNetB0(weights="imagenet", include_top=False, input_shape=(64, 64, 3))

    ours = E.efficientnet_b0(include_top=False, weights="imagenet", input_shape=(64, 64, 3))
    assert isinstance(ours.get_layer("rescaling_1"), keras.layers.Rescaling)  # the sqrt(std) fix-up
    np.testing.assert_allclose(ours.get_layer("normalization").get_weights()[0], IMAGENET_MEAN)
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    expected = reference(x, training=False).numpy()
    assert np.max(np.abs(ours(x, training=False).numpy() - expected)) <= 1e-4

    # Without the preprocessing layers: the same weights, layer by layer, on a bare network.
    bare = E.efficientnet_b0(
        include_top=False, weights="imagenet", input_shape=(64, 64, 3), include_preprocessing=False
    )
    assert not any(isinstance(layer, (keras.layers.Normalization, keras.layers.Rescaling)) for layer in bare.layers)
    assert bare.count_params() == ours.count_params() - 7
    for layer in bare.layers:
        for got, want in zip(layer.get_weights(), ours.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------- structure


def test_stochastic_depth_rates_grow_linearly_with_depth(b0):
    drops = [layer for layer in b0.layers if layer.name.endswith("_drop")]
    # Residual blocks of B0: 2b, 3b, 4b, 4c, 5b, 5c, 6b, 6c, 6d.
    assert [layer.name for layer in drops] == [
        f"block{n}_drop" for n in ("2b", "3b", "4b", "4c", "5b", "5c", "6b", "6c", "6d")
    ]
    rates = [layer.rate for layer in drops]
    assert all(a < b for a, b in zip(rates, rates[1:]))
    all_rates = E.drop_connect_rates(1.0, 0.2)
    assert len(all_rates) == 16 and all_rates[0] == 0.0 and all_rates[-1] == pytest.approx(0.2 * 15 / 16)
    block_index = {"2b": 2, "3b": 4, "6d": 14}
    for key, b in block_index.items():
        assert b0.get_layer(f"block{key}_drop").rate == pytest.approx(0.2 * b / 16)
    assert all(tuple(layer.noise_shape) == (None, 1, 1, 1) for layer in drops)
    assert b0.get_layer("top_dropout").rate == 0.2


def test_squeeze_excite_rescales_channels():
    inputs = keras.Input((6, 6, 16))
    outputs = squeeze_excite(inputs, 4, name="t")
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 6, 6, 16)
    assert model.count_params() == 16 * 4 + 4 + 4 * 16 + 16
    gates_model = keras.Model(inputs, model.get_layer("t_se_expand").output)
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 16)).astype("float32")
    gates = gates_model(x).numpy()
    assert gates.shape == (3, 1, 1, 16)
    assert np.all((gates > 0) & (gates < 1))
    np.testing.assert_allclose(model(x).numpy(), x * gates, rtol=1e-6)
    assert se_filters(16, 0.25) == 4 and se_filters(2, 0.25) == 1
    with pytest.raises(ValueError, match="squeeze_filters"):
        squeeze_excite(inputs, 0, name="bad")


def test_mbconv_block_residual_and_stride():
    inputs = keras.Input((9, 9, 16))
    same = mbconv_block(inputs, 16, expand_ratio=6, drop_rate=0.1, name="r")
    model = keras.Model(inputs, same)
    names = [layer.name for layer in model.layers]
    assert names[-2:] == ["r_drop", "r_add"] and "r_expand_conv" in names
    assert model.get_layer("r_expand_conv").filters == 96
    assert model.get_layer("r_se_reduce").filters == 4  # squeezes relative to filters_in
    down = keras.Model(inputs, mbconv_block(inputs, 24, kernel_size=5, strides=2, name="d"))
    assert down.output_shape == (None, 5, 5, 24)  # ceil(9 / 2)
    assert not any(layer.name.endswith(("_add", "_drop")) for layer in down.layers)
    assert down.get_layer("d_dwconv_pad").padding == ((2, 2), (2, 2))  # odd size: symmetric
    assert correct_pad((9, 9), 5) == ((2, 2), (2, 2)) and correct_pad((8, None), 3) == ((0, 1), (0, 1))
    with pytest.raises(ValueError, match="strides"):
        mbconv_block(inputs, 16, strides=3, name="bad")
    with pytest.raises(ValueError, match="drop_rate"):
        mbconv_block(inputs, 16, drop_rate=1.0, name="bad")


# --------------------------------------------------------------------------- compound scaling


def test_compound_scaling_multipliers():
    base = E.compound_scaling(0)
    assert (base.depth, base.width, base.resolution, base.resolution_pixels, base.flops) == (1, 1, 1, 224, 1)
    one = E.compound_scaling(1)
    assert (one.depth, one.width, one.resolution, one.resolution_pixels) == pytest.approx((1.2, 1.1, 1.15, 258))
    assert one.flops == pytest.approx(1.2 * 1.1**2 * 1.15**2) and abs(one.flops - 2) < 0.1  # alpha*beta^2*gamma^2 ~ 2
    three = E.compound_scaling(3)
    assert three.depth == pytest.approx(1.2**3) and three.flops == pytest.approx(one.flops**3)
    assert E.compound_scaling(2, alpha=1.0, beta=1.0, gamma=2.0).resolution_pixels == 896
    with pytest.raises(ValueError, match="phi"):
        E.compound_scaling(-1)
    with pytest.raises(ValueError, match="alpha"):
        E.compound_scaling(1, alpha=0.5)


def test_rounding_and_variant_table():
    assert [E.round_filters(f, 1.1) for f in (32, 16, 24, 40, 80, 112, 192, 320, 1280)] == [
        32,
        16,
        24,
        48,
        88,
        120,
        208,
        352,
        1408,
    ]
    assert E.round_filters(32, 2.0) == 64 and E.round_filters(1280, 2.0) == 2560
    assert [E.round_repeats(r, 3.1) for r in (1, 2, 3, 4)] == [4, 7, 10, 13]
    assert E.round_repeats(1, 1.1) == 2
    assert {key: spec.resolution for key, spec in E.VARIANTS.items()} == RESOLUTION
    assert [spec.dropout_rate for spec in E.VARIANTS.values()] == [0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5]
    assert E.MIN_INPUT_SIZE == 1  # every stride-2 layer is "same"-padded: n -> ceil(n / 2)
    # The generic builder scales any (width, depth): compound scaling at phi = 0 is B0.
    s = E.compound_scaling(0)
    tiny = E.efficientnet(s.width, s.depth, include_top=False, input_shape=(32, 32, 3))
    assert tiny.count_params() == PARAMS["b0"][1]


# --------------------------------------------------------------------------- arguments


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"weights='imagenet' needs 3-channel"):
        E.efficientnet_b0(weights="imagenet", input_shape=(28, 28, 1))
    with pytest.raises(ValueError, match="num_classes=1000"):
        E.efficientnet_b0(weights="imagenet", num_classes=10)
    with pytest.raises(ValueError, match="classifier_activation"):
        E.efficientnet_b0(weights="imagenet", classifier_activation="sigmoid")
    with pytest.raises(ValueError, match="classifier_activation"):
        E.efficientnet_b0(classifier_activation="no-such-activation")
    with pytest.raises(ValueError, match="weights"):
        E.efficientnet_b0(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="weights='imagenet' is not available"):
        E.efficientnet(weights="imagenet")
    with pytest.raises(ValueError, match="input_shape"):
        E.efficientnet_b0(input_shape=(None, None, 3))  # the top needs a fixed size
    with pytest.raises(ValueError, match="input_shape"):
        E.efficientnet_b0(input_shape=(64, 64))
    with pytest.raises(ValueError, match=r"pooling.*'avg'"):
        E.efficientnet_b1(include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="num_classes"):
        E.efficientnet_b2(num_classes=0)
    with pytest.raises(ValueError, match="drop_connect_rate"):
        E.efficientnet_b3(drop_connect_rate=1.0)
    with pytest.raises(ValueError, match="dropout_rate"):
        E.efficientnet_b7(dropout_rate=-0.1)
    with pytest.raises(ValueError, match="include_preprocessing"):
        E.efficientnet_b0(include_preprocessing="yes")
    with pytest.raises(ValueError, match="include_top"):
        E.efficientnet_b0(include_top=None)
    with pytest.raises(ValueError, match="width_coefficient"):
        E.efficientnet(0.0, 1.0)


# --------------------------------------------------------------------------- training and export


@pytest.fixture(scope="module")
def trained_digits_b0():
    """B0 on 8x8x1 digits (final feature map 1x1) after a few eager training steps."""
    from sklearn.datasets import load_digits

    keras.utils.set_random_seed(0)
    digits = load_digits()
    x = (digits.images[:32, :, :, None] * (255.0 / 16.0)).astype("float32")  # pixels in [0, 255]
    y = digits.target[:32]
    model = E.efficientnet_b0(input_shape=(8, 8, 1), num_classes=10)
    # Eager steps: tracing B0's training graph costs far more than a few steps on CPU.
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", run_eagerly=True)
    losses = [float(model.train_on_batch(x, y)) for _ in range(4)]
    return model, x, losses


@pytest.mark.learned
def test_learns_on_small_one_channel_digits(trained_digits_b0):
    model, _, losses = trained_digits_b0
    assert model.get_layer("top_activation").output.shape == (None, 1, 1, 1280)
    assert model.get_layer("normalization").get_weights()[0].shape == (1,)  # one channel
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]


@pytest.mark.slow  # ~25 s; the MobileNet and ResNet round trips cover the same export path in the fast suite
def test_keras_and_saved_model_round_trip(trained_digits_b0, tmp_path):
    model, x, _ = trained_digits_b0
    x = x[:4]
    expected = model(x, training=False).numpy()

    restored = export.load_keras(export.save_keras(model, tmp_path / "b0.keras"), compile=False)
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(restored(x, training=False).numpy(), expected, atol=1e-6)

    path = export.export_saved_model(model, tmp_path / "b0_saved")
    np.testing.assert_allclose(np.asarray(export.load_saved_model(path)(x)), expected, atol=1e-5)
