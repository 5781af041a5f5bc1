"""kerasdl.analysis.summary and `kerasdl summary`: per-layer shape, params, MACs, receptive field, totals."""

import json

import keras
import pytest

from kerasdl import cli
from kerasdl.analysis.summary import format_summary, summarize, summarize_builder
from kerasdl.models import BUILDERS

# Builders that need arguments of their own, and the smallest inputs the others accept quickly.
_REQUIRED = {
    "logistic_regression": dict(input_shape=(8, 8, 1)),
    "softmax_regression": dict(input_shape=(8, 8, 1), num_classes=10),
    "mlp": dict(input_shape=(8, 8, 1), num_classes=10),
    "mnist_cnn": {},
    "lenet5": {},
    "alexnet": {},  # its 11x11/4 stem and valid poolings need the paper's 227x227
    "resnet_cifar": {},
}


def _options(name):
    return _REQUIRED.get(name, dict(input_shape=(32, 32, 3)))


def test_lenet5_figures_by_hand():
    """LeNet-5 (classic): the quiz arithmetic, checked against the formulas."""
    summary = summarize_builder("lenet5")
    rows = {r.name: r for r in summary.layers}
    # conv1: 5x5x1 -> 6 on 32x32 'valid': 28*28*6*5*5*1 MACs, (25 + 1) * 6 params
    assert rows["conv1"].output_shape == (None, 28, 28, 6)
    assert (rows["conv1"].params, rows["conv1"].macs) == (156, 28 * 28 * 6 * 25)
    assert rows["conv2"].macs == 10 * 10 * 16 * 25 * 6
    # receptive fields: 5, then pool 2/2 -> 6 (jump 2), conv 5 -> 6 + 4*2 = 14, pool -> 16 (jump 4)
    assert [rows[n].receptive_field for n in ("conv1", "pool1", "conv2", "pool2")] == [
        (5, 5),
        (6, 6),
        (14, 14),
        (16, 16),
    ]
    assert rows["pool2"].jump == (4, 4)
    assert rows["flatten"].receptive_field is None  # collapsed: sees the whole input
    assert summary.receptive_field == (16, 16)
    assert summary.total_params == 61_706 == summary.trainable_params
    assert summary.total_macs == sum(r.macs for r in summary.layers) == 416_520


def test_mobilenet_v2_macs_match_the_paper_and_params_keras():
    """Sandler et al. 2018, table 4: MobileNetV2 1.0/224 has 300M multiply-adds and 3.4M weights."""
    summary = summarize_builder("mobilenet_v2")
    assert summary.total_params == 3_538_984  # keras.applications.MobileNetV2, BN statistics included
    assert summary.trainable_params == 3_504_872
    assert 0.98 * 300e6 < summary.total_macs < 1.02 * 300e6


def test_summarize_a_model_with_batch_norm_and_a_nested_model():
    inner = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, name="c")], name="inner")
    inputs = keras.Input((16, 16, 3), name="image")
    x = keras.layers.BatchNormalization(name="bn")(inner(inputs))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="gap")(x))
    summary = summarize(model)
    assert [r.name for r in summary.layers] == ["image", "inner", "bn", "gap"]
    assert summary.total_params == model.count_params() == 112 + 16
    assert summary.non_trainable_params == 8  # BN moving mean and variance
    assert summary.layers[1].receptive_field == (3, 3) and summary.layers[1].macs == 14 * 14 * 4 * 27
    expanded = summarize(model, expand_nested=True)
    assert [r.name for r in expanded.layers][:2] == ["image", "inner/c"]
    assert summarize(model, input_shape=(32, 32, 3)).layers[1].output_shape == (None, 30, 30, 4)


def test_table_and_json_forms():
    summary = summarize_builder("mnist_cnn")
    text = format_summary(summary)
    assert "conv1 (Conv2D)" in text and "Total params: 3,274,634" in text and "per example" in text
    data = json.loads(summary.to_json())
    assert data["total_params"] == 3_274_634
    assert data["layers"][1]["output_shape"] == [None, 28, 28, 32]
    assert data["layers"][1]["receptive_field"] == [5, 5]


@pytest.mark.parametrize("name", ["mlp", "resnet_cifar", "mobilenet", "efficientnet_b0", "vgg16"])
def test_sample_of_builders(name):
    summary = summarize_builder(name, **_options(name))
    assert summary.total_params == sum(r.params for r in summary.layers) > 0
    assert summary.total_macs > 0
    assert (summary.receptive_field is None) == (name == "mlp")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_builder(name):
    summary = summarize_builder(name, **_options(name))
    reference = BUILDERS[name](**_options(name))
    assert summary.total_params == reference.count_params()
    assert summary.total_macs > 0
    json.loads(summary.to_json())


def test_summary_does_not_initialise_weights(monkeypatch):
    calls = []
    original = keras.initializers.GlorotUniform.__call__

    def spy(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.initializers.GlorotUniform, "__call__", spy)
    summarize_builder("lenet5", classic=False)
    assert calls == []


def test_errors():
    with pytest.raises(ValueError, match="unknown builder 'nosuch'"):
        summarize_builder("nosuch")
    with pytest.raises(ValueError, match="weights"):
        summarize_builder("vgg16", weights="imagenet")
    with pytest.raises(ValueError, match="input_shape"):
        summarize_builder("mlp", num_classes=3)


# --------------------------------------------------------------------------- the command


def test_command_on_a_builder_with_builder_flags(capsys):
    assert cli.main(["summary", "resnet_cifar", "--depth", "20", "--num-classes", "5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model_name"] == "resnet20_cifar"
    assert data["layers"][-1]["output_shape"] == [None, 5]
    assert cli.main(["summary", "lenet5", "--input-shape", "36", "36", "1"]) == 0
    out = capsys.readouterr().out
    assert "(None, 32, 32, 6)" in out and "Total MACs" in out


def test_command_on_a_keras_file(tmp_path, capsys):
    from kerasdl.export import save_keras

    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(2, 3, strides=2)], name="tiny")
    path = save_keras(model, tmp_path / "tiny.keras")
    assert cli.main(["summary", str(path), "--input-shape", "9", "9", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"][-1]["output_shape"] == [None, 4, 4, 2]
    assert data["total_macs"] == 4 * 4 * 2 * 27


@pytest.mark.parametrize(
    "argv, message",
    [
        (["summary", "nosuch"], "unknown builder 'nosuch'"),
        (["summary", "mnist_cnn", "--depth", "3"], "has no option --depth; its options: --num-classes, --dropout"),
        (["summary", "vgg16", "--weights", "imagenet"], "has no option --weights"),
        (["summary", "mlp"], "input_shape"),
    ],
)
def test_command_usage_errors(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_command_refuses_builder_flags_on_a_file(tmp_path, capsys):
    from kerasdl.export import save_keras

    path = save_keras(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), tmp_path / "m.keras")
    assert cli.main(["summary", str(path), "--depth", "3"]) == 2
    assert "apply to a builder, not to a .keras file" in capsys.readouterr().err


def test_receptive_field_continues_through_squeeze_and_excitation_gates():
    """EfficientNet-B0: the gates are channel weights; the field grows through every MBConv block."""
    from kerasdl.analysis import conv_path_receptive_fields, receptive_fields

    summary = summarize_builder("efficientnet_b0", input_shape=(32, 32, 3))
    rows = {r.name: r for r in summary.layers}
    assert rows["block1a_se_squeeze"].receptive_field is None  # the gate's branch sees everything
    # stem 3x3/2 (r 3, j 2), block1a depthwise 3x3 (r 7): the gate passes it on to the projection
    assert rows["block1a_se_excite"].receptive_field == (7, 7) == rows["block1a_project_conv"].receptive_field
    assert rows["top_activation"].receptive_field == summary.receptive_field
    assert summary.receptive_field[0] > 400

    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3), keras.layers.MaxPooling2D()])
    assert conv_path_receptive_fields(model) == receptive_fields(model)  # no gates: the same
