"""Shape / cost / receptive-field arithmetic: the course notes' worked examples, by formula
and read off built Keras models."""

import math

import pytest

import kerasdl  # noqa: F401  (TensorFlow backend before keras)
import keras
from keras import layers

from kerasdl.analysis import (
    LayerStats,
    ReceptiveField,
    SeparableMacs,
    conv_macs,
    conv_output_size,
    depthwise_separable_macs,
    layer_stats,
    model_summary_table,
    output_shape_chain,
    pool_output_size,
    receptive_fields,
    separable_cost_ratio,
    total_macs,
)


# --------------------------------------------------------------------------- output sizes


def test_conv_224_stride2_pad1_gives_112():
    assert conv_output_size(224, 3, stride=2, padding=1) == 112


def test_conv_formula_agrees_with_keras():
    # ZeroPadding2D(1) + Conv2D(k=3, s=2, 'valid') is the notes' "p=1" convolution.
    x = keras.Input((224, 224, 3))
    y = layers.ZeroPadding2D(1)(x)
    y = layers.Conv2D(32, 3, strides=2, padding="valid")(y)
    assert tuple(y.shape) == (None, 112, 112, 32)
    # 'same' padding is ceil(n/s), as in TensorFlow.
    for n, k, s in [(224, 3, 2), (225, 3, 2), (7, 5, 3), (28, 5, 1)]:
        same = layers.Conv2D(1, k, strides=s, padding="same")(keras.Input((n, n, 1)))
        valid = layers.Conv2D(1, k, strides=s, padding="valid")(keras.Input((n, n, 1)))
        assert same.shape[1] == conv_output_size(n, k, s, "same") == math.ceil(n / s)
        assert valid.shape[1] == conv_output_size(n, k, s, "valid")
    # Dilation: 3x3 with rate 2 spans 5.
    dil = layers.Conv2D(1, 3, dilation_rate=2)(keras.Input((20, 20, 1)))
    assert dil.shape[1] == conv_output_size(20, 3, dilation=2) == 16


def test_pool_output_size_matches_keras():
    assert pool_output_size(14, 2, stride=2, padding=1) == 8
    assert pool_output_size(9, 2) == 4  # default stride = pool size, like Keras
    y = layers.MaxPooling2D(2)(keras.Input((9, 9, 1)))
    assert y.shape[1] == 4
    y = layers.MaxPooling2D(3, strides=2, padding="same")(keras.Input((112, 112, 1)))
    assert y.shape[1] == pool_output_size(112, 3, 2, "same") == 56


def test_quiz_chain_channels_first():
    shapes = output_shape_chain(
        (3, 32, 32),
        [
            ("conv", dict(filters=100, kernel_size=5, stride=2, padding=0)),
            ("pool", dict(pool_size=2, stride=2, padding=1)),
        ],
        data_format="channels_first",
    )
    assert shapes == [(100, 14, 14), (100, 8, 8)]


def test_chain_channels_last_with_flatten_dense():
    shapes = output_shape_chain(
        (32, 32, 3),
        [
            ("conv", dict(filters=6, kernel_size=5)),
            ("pool", dict(pool_size=2)),
            ("depthwise", dict(kernel_size=3, depth_multiplier=2)),
            "flatten",
            ("dense", dict(units=10)),
        ],
    )
    assert shapes == [(28, 28, 6), (14, 14, 6), (12, 12, 12), (1728,), (10,)]


# --------------------------------------------------------------------------- costs


def test_inception_bottleneck_macs():
    direct = conv_macs(28, 28, 192, 32, 5, padding="same")
    assert direct == 120_422_400
    reduce_ = conv_macs(28, 28, 192, 16, 1)
    after = conv_macs(28, 28, 16, 32, 5, padding="same")
    assert (reduce_, after) == (2_408_448, 10_035_200)
    assert reduce_ + after == 12_443_648


def test_inception_bottleneck_macs_from_keras_model():
    x = keras.Input((28, 28, 192))
    direct = keras.Model(x, layers.Conv2D(32, 5, padding="same", name="conv5x5")(x))
    assert total_macs(direct) == 120_422_400

    x = keras.Input((28, 28, 192))
    y = layers.Conv2D(16, 1, name="reduce")(x)
    y = layers.Conv2D(32, 5, padding="same", name="conv5x5")(y)
    bottleneck = keras.Model(x, y)
    macs = {r.name: r.macs for r in layer_stats(bottleneck)}
    assert macs["reduce"] == 2_408_448
    assert macs["conv5x5"] == 10_035_200
    assert total_macs(bottleneck) == 12_443_648


def test_depthwise_separable_worked_example():
    standard = conv_macs(6, 6, 3, 5, 3, padding="valid")
    assert standard == 2160
    sep = depthwise_separable_macs(6, 6, 3, 5, 3, padding="valid")
    assert sep == SeparableMacs(depthwise=432, pointwise=240, total=672)
    ratio = sep.total / standard
    assert ratio == pytest.approx(separable_cost_ratio(5, 3))
    assert ratio == pytest.approx(1 / 5 + 1 / 9)
    assert ratio == pytest.approx(0.311, abs=1e-3)
    # MobileNet: with 3x3 kernels and many channels, 8-9 times cheaper.
    assert 1 / separable_cost_ratio(512, 3) == pytest.approx(8.84, abs=0.01)


def test_separable_and_depthwise_macs_from_keras_layers():
    x = keras.Input((6, 6, 3))
    sep = keras.Model(x, layers.SeparableConv2D(5, 3)(x))
    assert total_macs(sep) == 672
    x = keras.Input((6, 6, 3))
    dw = keras.Model(x, layers.DepthwiseConv2D(3)(x))
    assert total_macs(dw) == 432


def test_grouped_conv_and_transpose_macs():
    x = keras.Input((10, 10, 8))
    grouped = keras.Model(x, layers.Conv2D(4, 3, groups=2)(x))
    expected = conv_macs(10, 10, 8, 4, 3, padding="valid", groups=2)
    assert total_macs(grouped) == expected == 8 * 8 * 4 * 9 * 4
    x = keras.Input((12, 12, 6))
    up = keras.Model(x, layers.Conv2DTranspose(2, 3, strides=2)(x))
    assert total_macs(up) == 12 * 12 * 6 * 9 * 2


# --------------------------------------------------------------------------- receptive fields


def _stack(n_convs):
    x = keras.Input((32, 32, 3))
    y = x
    for i in range(n_convs):
        y = layers.Conv2D(4, 3, padding="same", name=f"conv{i + 1}")(y)
        y = layers.ReLU(name=f"relu{i + 1}")(y)
    return keras.Model(x, y)


def test_receptive_field_of_stacked_3x3():
    rf2 = receptive_fields(_stack(2))
    assert all(isinstance(r, ReceptiveField) for r in rf2)
    assert [r.name for r in rf2] == ["conv1", "relu1", "conv2", "relu2"]
    assert rf2[-1].receptive_field == 5 and rf2[-1].jump == 1
    rf3 = receptive_fields(_stack(3))
    assert rf3[-1].receptive_field == 7
    assert rf3[-1].receptive_field_per_axis == (7, 7)


def test_receptive_field_resnet_stem_and_merge():
    x = keras.Input((224, 224, 3))
    y = layers.Conv2D(8, 7, strides=2, padding="same", name="conv1")(x)
    y = layers.BatchNormalization(name="bn1")(y)
    y = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(y)
    b = layers.Conv2D(8, 3, padding="same", name="b1")(y)
    b = layers.Conv2D(8, 3, padding="same", name="b2")(b)
    y = layers.Add(name="add")([y, b])
    y = layers.GlobalAveragePooling2D(name="gap")(y)
    y = layers.Dense(10, name="fc")(y)
    rf = {r.name: r for r in receptive_fields(keras.Model(x, y))}
    assert (rf["conv1"].receptive_field, rf["conv1"].jump) == (7, 2)
    assert (rf["pool1"].receptive_field, rf["pool1"].jump) == (11, 4)
    assert rf["b2"].receptive_field == 11 + 2 * 2 * 4
    assert rf["add"].receptive_field == rf["b2"].receptive_field  # max over the inputs
    assert "gap" not in rf and "fc" not in rf  # the spatial path ends at global pooling


def test_receptive_field_rectangular_and_nested():
    inner = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            layers.Conv2D(4, (3, 1), name="c"),
            layers.Conv2D(4, (3, 5), strides=(2, 1), name="d"),
        ],
        name="inner",
    )
    x = keras.Input((32, 32, 3))
    y = layers.MaxPooling2D(2, name="pool")(inner(x))
    rf = {r.name: r for r in receptive_fields(keras.Model(x, y))}
    assert rf["inner/d"].receptive_field_per_axis == (5, 5)
    assert rf["inner"].receptive_field_per_axis == (5, 5)
    assert rf["pool"].receptive_field_per_axis == (7, 6)
    assert rf["pool"].jump_per_axis == (4, 2)


# --------------------------------------------------------------------------- layer statistics


def _small_cnn():
    x = keras.Input((28, 28, 1))
    y = layers.Conv2D(8, 3, activation="relu", name="conv1")(x)
    y = layers.BatchNormalization(name="bn")(y)
    y = layers.MaxPooling2D(2, name="pool")(y)
    y = layers.SeparableConv2D(16, 3, name="sep")(y)
    y = layers.Flatten(name="flatten")(y)
    y = layers.Dense(32, activation="relu", name="fc1")(y)
    y = layers.Dropout(0.5, name="drop")(y)
    y = layers.Dense(10, name="fc2")(y)
    return keras.Model(x, y, name="small_cnn")


def test_layer_stats_params_and_dense_macs():
    model = _small_cnn()
    rows = layer_stats(model)
    assert all(isinstance(r, LayerStats) for r in rows)
    assert sum(r.params for r in rows) == model.count_params()
    by_name = {r.name: r for r in rows}
    for layer in model.layers:
        assert by_name[layer.name].params == layer.count_params()
        assert by_name[layer.name].class_name == type(layer).__name__
    assert by_name["flatten"].output_shape == (None, 11 * 11 * 16)
    assert by_name["fc1"].macs == 11 * 11 * 16 * 32  # Dense: in * out
    assert by_name["fc2"].macs == 32 * 10
    assert by_name["conv1"].macs == 26 * 26 * 8 * 9
    for name in ["bn", "pool", "flatten", "drop"]:
        assert by_name[name].macs == 0
    assert total_macs(model) == sum(r.macs for r in rows)

    table = model_summary_table(model)
    assert "fc1 (Dense)" in table and "(None, 13, 13, 8)" in table
    assert f"Total params: {model.count_params():,}" in table
    assert f"Total MACs: {total_macs(model):,}" in table


def test_layer_stats_nested_and_shared_layers():
    inner = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            layers.Conv2D(4, 3, name="ic"),
            layers.Conv2D(6, 1, name="pw"),
        ],
        name="inner",
    )
    shared = layers.Dense(5, name="shared")
    a, b = keras.Input((16, 16, 3)), keras.Input((16, 16, 3))
    fa = layers.GlobalAveragePooling2D()(inner(a))
    fb = layers.GlobalAveragePooling2D()(inner(b))
    out = layers.Concatenate()([shared(fa), shared(fb)])
    model = keras.Model([a, b], out)

    flat = layer_stats(model)
    nested = layer_stats(model, expand_nested=True)
    for rows in (flat, nested):
        assert sum(r.params for r in rows) == model.count_params()
    one_pass = 14 * 14 * 4 * 27 + 14 * 14 * 6 * 4  # inner at 16x16 (built with None sizes)
    assert {r.name: r.macs for r in flat}["inner"] == 2 * one_pass
    assert {r.name: r.macs for r in nested}["inner/ic"] == 2 * 14 * 14 * 4 * 27
    assert {r.name: r.macs for r in flat}["shared"] == 2 * 6 * 5
    assert total_macs(model) == 2 * one_pass + 2 * 6 * 5
    # A model built with unknown sizes: give the size to count the MACs.
    with pytest.raises(ValueError, match="input_shape"):
        total_macs(inner)
    assert total_macs(inner, input_shape=(16, 16, 3)) == one_pass


# --------------------------------------------------------------------------- bad arguments


def test_bad_arguments_raise_value_error_naming_them():
    with pytest.raises(ValueError, match=r"kernel_size must be >= 1, got -3"):
        conv_output_size(32, -3)
    with pytest.raises(ValueError, match=r"stride must be >= 1, got 0"):
        conv_output_size(32, 3, stride=0)
    with pytest.raises(ValueError, match=r"n=3 is too small"):
        conv_output_size(3, 5)
    with pytest.raises(ValueError, match=r"n=1 is too small.*pool_size=3"):
        pool_output_size(1, 3)
    with pytest.raises(ValueError, match=r"padding.*'full'"):
        conv_output_size(32, 3, padding="full")
    with pytest.raises(ValueError, match=r"padding must be >= 0, got -1"):
        conv_output_size(32, 3, padding=-1)
    with pytest.raises(ValueError, match=r"kernel_size must be >= 1"):
        conv_macs(28, 28, 3, 8, 0)
    with pytest.raises(ValueError, match=r"groups=3 must divide"):
        conv_macs(28, 28, 4, 8, 3, groups=3)
    with pytest.raises(ValueError, match=r"out_channels must be >= 1"):
        separable_cost_ratio(0, 3)
    with pytest.raises(ValueError, match=r"n=2 is too small"):
        output_shape_chain((2, 2, 3), [("conv", dict(filters=4, kernel_size=3))])
    with pytest.raises(ValueError, match=r"layers\[0\] kind must be one of"):
        output_shape_chain((8, 8, 3), [("fancy", {})])


def test_model_helpers_reject_subclassed_models():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.fc = layers.Dense(2)

        def call(self, x):
            return self.fc(x)

    with pytest.raises(ValueError, match="functional or Sequential"):
        receptive_fields(Tiny())
    # ...but inside a functional model it is one row with its parameter count.
    x = keras.Input((3,))
    tiny = Tiny()
    model = keras.Model(x, tiny(x))
    rows = layer_stats(model)
    assert rows[-1].params == 8 and rows[-1].macs == 0
