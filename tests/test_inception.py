"""GoogLeNet and the Inception module: shapes, parameter counts, auxiliary heads, cost, export."""

import numpy as np
import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before keras is imported)
import keras
from kerasdl import analysis, export
from kerasdl.layers.inception import inception_module
from kerasdl.models import inception
from kerasdl.models.inception import (
    AUX_LOSS_WEIGHTS,
    aux_targets,
    compile_with_aux_losses,
    googlenet,
    inference_model,
)


def _stats(model):
    return {row.name: row for row in analysis.layer_stats(model)}


# --------------------------------------------------------------------------- the module


def test_inception_module_shape_params_and_bottleneck_saving():
    # Inception 3a on the 28x28x192 output of GoogLeNet's stem (table 1).
    inputs = keras.Input((28, 28, 192))
    module = keras.Model(inputs, inception_module(inputs, 64, 96, 128, 16, 32, 32, name="inception_3a"))
    assert module.output_shape == (None, 28, 28, 64 + 128 + 32 + 32)
    # C*f1 + C*r3 + 9*r3*f3 + C*r5 + 25*r5*f5 + C*pp weights, plus one bias per filter.
    weights = 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32
    assert weights == 163_328
    assert module.count_params() == weights + (64 + 96 + 128 + 16 + 32 + 32) == 163_696
    assert isinstance(module.get_layer("inception_3a_pool"), keras.layers.MaxPooling2D)
    assert module.get_layer("inception_3a_pool").strides == (1, 1)

    # The seed's worked example is exactly 3a's 5x5 branch: 16-channel 1x1 bottleneck, then 32 5x5.
    stats = _stats(module)
    reduced = stats["inception_3a_5x5_reduce"].macs + stats["inception_3a_5x5"].macs
    assert stats["inception_3a_5x5_reduce"].macs == 28 * 28 * 16 * 192 == 2_408_448
    assert stats["inception_3a_5x5"].macs == 28 * 28 * 32 * 5 * 5 * 16 == 10_035_200
    assert reduced == 12_443_648

    direct = keras.Model(inputs, keras.layers.Conv2D(32, 5, padding="same")(inputs))
    (direct_conv,) = [row for row in analysis.layer_stats(direct) if row.class_name == "Conv2D"]
    assert direct_conv.macs == analysis.conv_macs(28, 28, 192, 32, 5) == 120_422_400
    assert direct_conv.macs / reduced == pytest.approx(9.68, abs=0.01)  # ~10x cheaper


def test_inception_module_rejects_bad_arguments():
    x = keras.Input((8, 8, 4))
    with pytest.raises(ValueError, match="f3x3_reduce"):
        inception_module(x, 4, 0, 4, 4, 4, 4, name="m")
    with pytest.raises(ValueError, match="name"):
        inception_module(x, 4, 4, 4, 4, 4, 4, name="")
    with pytest.raises(ValueError, match="4-D"):
        inception_module(keras.Input((8, 4)), 4, 4, 4, 4, 4, 4, name="m")


# --------------------------------------------------------------------------- GoogLeNet


def test_googlenet_stages_and_parameter_counts():
    model = googlenet(aux_outputs=True)  # 224x224x3, 1000 classes
    assert model.output_names == ["predictions", "aux1_predictions", "aux2_predictions"]
    assert model.count_params() == 13_378_280
    shapes = {
        "conv1_7x7_s2": (112, 112, 64),
        "pool1_3x3_s2": (56, 56, 64),
        "conv2_3x3": (56, 56, 192),
        "pool2_3x3_s2": (28, 28, 192),
        "inception_3a_concat": (28, 28, 256),
        "inception_3b_concat": (28, 28, 480),
        "pool3_3x3_s2": (14, 14, 480),
        "inception_4a_concat": (14, 14, 512),
        "inception_4b_concat": (14, 14, 512),
        "inception_4c_concat": (14, 14, 512),
        "inception_4d_concat": (14, 14, 528),
        "inception_4e_concat": (14, 14, 832),
        "pool4_3x3_s2": (7, 7, 832),
        "inception_5a_concat": (7, 7, 832),
        "inception_5b_concat": (7, 7, 1024),
        "avg_pool": (1024,),
        "aux1_avg_pool": (4, 4, 512),
        "aux2_avg_pool": (4, 4, 528),
        "aux1_flatten": (2048,),
        "predictions": (1000,),
    }
    for name, shape in shapes.items():
        assert tuple(model.get_layer(name).output.shape[1:]) == shape, name
    assert model.get_layer("dropout").rate == 0.4
    assert model.get_layer("aux1_dropout").rate == 0.7
    aux = sum(layer.count_params() for layer in model.layers if layer.name.startswith("aux"))
    assert aux == 3_188_840 + 3_190_888

    main = inference_model(model)
    assert len(main.outputs) == 1 and main.output_shape == (None, 1000)
    assert main.count_params() == 6_998_552  # 6,990,272 weights + 8,280 biases
    assert sum(int(np.prod(w.shape)) for w in main.weights if w.path.endswith("kernel")) == 6_990_272
    headless = main.count_params() - main.get_layer("predictions").count_params()
    assert headless == 5_973_552
    assert inference_model(main) is main


def test_googlenet_arguments_and_input_sizes():
    # The CLI's call on 8x8-upscaled digits: "same" paddings and a global pooling accept 28x28.
    digits = googlenet(input_shape=(28, 28, 1), num_classes=10)
    assert digits.output_shape == (None, 10)
    assert digits.get_layer("inception_5b_concat").output.shape[1:3] == (1, 1)
    assert googlenet(include_top=False, input_shape=(None, None, 3)).output_shape == (None, None, None, 1024)
    assert googlenet(include_top=False, pooling="max", input_shape=(32, 32, 3)).output_shape == (None, 1024)
    assert googlenet(num_classes=1, input_shape=(32, 32, 3)).get_layer("predictions").activation is (
        keras.activations.sigmoid
    )
    # The auxiliary heads' 5x5/3 'valid' pooling needs a 5x5 map after four halvings: 65.
    assert inception.MIN_INPUT_SIZE_AUX == 65
    with pytest.raises(ValueError, match=r"input_shape.*65x65"):
        googlenet(input_shape=(64, 64, 3), aux_outputs=True)
    with pytest.raises(ValueError, match="imagenet"):
        googlenet(weights="imagenet")
    with pytest.raises(ValueError, match="include_top=True"):
        googlenet(include_top=False, aux_outputs=True)
    with pytest.raises(ValueError, match="dropout"):
        googlenet(dropout=1.0)
    with pytest.raises(ValueError, match="pooling"):
        googlenet(include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="num_classes"):
        googlenet(num_classes=0)
    with pytest.raises(ValueError, match="input_shape"):
        googlenet(input_shape=(None, None, 3))  # the top needs a fixed size
    with pytest.raises(ValueError, match="aux_outputs"):
        googlenet(aux_outputs="yes")


def test_googlenet_loads_a_weights_file(tmp_path):
    trained = googlenet(include_top=False, input_shape=(32, 32, 3))
    path = tmp_path / "googlenet.weights.h5"
    trained.save_weights(path)
    loaded = googlenet(include_top=False, input_shape=(32, 32, 3), weights=str(path))
    for a, b in zip(trained.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.fixture(scope="module")
def trained_aux_model():
    """A 3-output GoogLeNet at the smallest size its aux heads accept, fit for a few steps."""
    keras.utils.set_random_seed(0)
    model = googlenet(input_shape=(65, 65, 3), num_classes=3, aux_outputs=True)
    # Eagerly: tracing the three-output backward pass into a graph costs ~30 s of CPU here,
    # and fit's graph mode is the same Keras code path as for any functional model.
    compile_with_aux_losses(model, optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.random((8, 65, 65, 3), dtype=np.float32)
    y = rng.integers(0, 3, 8)
    history = model.fit(x, aux_targets(y), batch_size=4, epochs=1, verbose=0)  # two steps
    return model, x, y, history


def test_googlenet_trains_with_weighted_auxiliary_losses(trained_aux_model):
    model, x, y, history = trained_aux_model
    assert AUX_LOSS_WEIGHTS == {"predictions": 1.0, "aux1_predictions": 0.3, "aux2_predictions": 0.3}
    assert len(history.history["loss"]) == 1 and np.all(np.isfinite(history.history["loss"]))
    results = model.evaluate(x, aux_targets(y), verbose=0, return_dict=True)
    weighted = (
        results["predictions_loss"] + 0.3 * results["aux1_predictions_loss"] + 0.3 * results["aux2_predictions_loss"]
    )
    assert results["loss"] == pytest.approx(weighted, rel=1e-4)
    assert "predictions_accuracy" in results and "aux1_predictions_accuracy" not in results
    with pytest.raises(ValueError, match="loss_weights"):
        compile_with_aux_losses(model, loss_weights={"predictions": 1.0})


def test_inference_model_shares_weights_and_exports(trained_aux_model, tmp_path):
    model, x, _, _ = trained_aux_model
    serving = inference_model(model)
    assert len(serving.outputs) == 1 and serving.output_shape == (None, 3)
    assert not any(layer.name.startswith("aux") for layer in serving.layers)
    assert serving.get_layer("inception_4a_1x1") is model.get_layer("inception_4a_1x1")
    main_of_full = np.asarray(model(x, training=False)[0])
    expected = np.asarray(serving(x, training=False))
    np.testing.assert_allclose(expected, main_of_full, atol=1e-6)

    restored = export.load_keras(export.save_keras(serving, tmp_path / "googlenet.keras"))
    np.testing.assert_allclose(np.asarray(restored(x, training=False)), expected, atol=1e-6)
    reloaded = export.load_saved_model(export.export_saved_model(serving, tmp_path / "googlenet_saved"))
    np.testing.assert_allclose(np.asarray(reloaded(x)), expected, atol=1e-5)
