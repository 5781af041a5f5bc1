"""U-Net builder: the paper's parameter count and output size, the hand formula, concatenated
skips, argument checks; segmentation losses and their .keras round trip."""

import keras
import numpy as np
import pytest

from kerasdl.losses.segmentation import (
    CrossEntropyDiceLoss,
    DiceLoss,
    segmentation_loss,
    segmentation_metrics,
    soft_dice_loss,
)
from kerasdl.models.unet import unet, unet_parameter_count


def test_paper_configuration_parameter_count_and_output_size():
    # Ronneberger et al. 2015, Fig. 1: 572x572x1 in, unpadded convolutions, 388x388x2 out.
    model = unet((572, 572, 1), num_classes=2, depth=4, base_filters=64, padding="valid")
    assert model.count_params() == 31_030_658 == unet_parameter_count(1, 2, 4, 64)
    assert model.output_shape == (None, 388, 388, 2)


@pytest.mark.parametrize("shape, classes, depth, filters", [((64, 64, 3), 4, 3, 16), ((32, 48, 1), 2, 2, 8)])
def test_same_padding_keeps_the_size_and_matches_the_formula(shape, classes, depth, filters):
    model = unet(shape, classes, depth, filters)
    assert model.output_shape == (None, *shape[:2], classes)
    assert model.count_params() == unet_parameter_count(shape[2], classes, depth, filters)
    probs = model(np.random.default_rng(0).uniform(size=(2, *shape)).astype("float32"))
    np.testing.assert_allclose(np.sum(probs, axis=-1), 1.0, rtol=1e-5)


def test_skip_connections_are_concatenated_not_added():
    model = unet((32, 32, 3), 3, depth=3, base_filters=4)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert "Add" not in kinds
    for level in range(3):
        concat = model.get_layer(f"up{level}_concat")
        assert isinstance(concat, keras.layers.Concatenate)
        # channels = skip's + transposed conv's = 2 * base * 2**level
        assert concat.output.shape[-1] == 2 * 4 * 2**level


def test_batch_norm_and_dropout_options():
    model = unet((32, 32, 3), 2, depth=2, base_filters=4, batch_norm=True, dropout=0.5)
    names = [layer.name for layer in model.layers]
    assert "down0_bn1" in names and "bottleneck_dropout" in names and "down1_dropout" in names


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(input_shape=(60, 60, 3)), "multiples of 2\\*\\*depth = 16"),
        (dict(depth=0), "depth must be >= 1"),
        (dict(padding="reflect"), "padding must be one of"),
        (dict(input_shape=(100, 100, 1), padding="valid"), "does not fit a padding='valid'"),
        (dict(num_classes=0), "num_classes"),
        (dict(dropout=1.0), "dropout"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    args = dict(input_shape=(64, 64, 3), num_classes=2, depth=4, base_filters=4) | kwargs
    with pytest.raises(ValueError, match=message):
        unet(**args)


def test_dice_loss_values():
    labels = np.array([[[0, 1], [1, 1]]])  # (1, 2, 2)
    perfect = keras.ops.one_hot(labels, 2)
    assert float(soft_dice_loss(labels, perfect, smooth=0.0)[0]) == pytest.approx(0.0, abs=1e-6)
    uniform = np.full((1, 2, 2, 2), 0.5, "float32")
    # class 0: 2*0.5/(2+1) = 1/3; class 1: 2*1.5/(2+3) = 3/5 → loss 1 - (1/3 + 3/5)/2
    assert float(soft_dice_loss(labels, uniform, smooth=0.0)[0]) == pytest.approx(1 - (1 / 3 + 3 / 5) / 2, rel=1e-6)
    # combined = pixel CE + Dice, with labels of shape (B, H, W, 1) too
    ce = -np.log(0.5)
    value = float(CrossEntropyDiceLoss(smooth=0.0)(labels[..., None], uniform))
    assert value == pytest.approx(ce + 1 - (1 / 3 + 3 / 5) / 2, rel=1e-5)


def test_losses_round_trip_through_config_and_keras_file(tmp_path):
    from kerasdl.export import load_keras, save_keras

    for loss in (DiceLoss(smooth=2.0), CrossEntropyDiceLoss(dice_weight=0.5)):
        clone = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    model = unet((16, 16, 3), 3, depth=1, base_filters=2)
    model.compile("adam", loss=segmentation_loss("ce_dice"), metrics=segmentation_metrics(3))
    x = np.random.default_rng(0).uniform(size=(4, 16, 16, 3)).astype("float32")
    reloaded = load_keras(save_keras(model, tmp_path / "unet.keras"))
    assert isinstance(reloaded.loss, CrossEntropyDiceLoss)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="loss must be one of"):
        segmentation_loss("focal")
