"""Pretrained block features for verification (kerasdl.verification.features)."""

import numpy as np
import pytest

from kerasdl.verification.faces import IdentityData
from kerasdl.transfer import LoadedBackbone
from kerasdl.verification.features import (
    block_output_layers,
    chosen_layer_features,
    layer_features,
    rank_feature_layers,
)


def _two_block_backbone():
    """``good_pool`` keeps each image's pattern; ``flat_out`` zeroes everything (no identity left)."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="stem")(inputs)
    good = keras.layers.AveragePooling2D(2, name="good_pool")(x)
    flat = keras.layers.Rescaling(0.0, name="flat_out")(good)
    head = keras.layers.Conv2D(2, 1, name="head")(flat)
    return LoadedBackbone("tiny", keras.Model(inputs, head, name="tiny"), lambda t: t / 255.0, (8, 8, 3), None)


def _identities(people=6, per_person=5, seed=0):
    rng = np.random.default_rng(seed)
    patterns = rng.uniform(0, 1, (people, 8, 8, 1))
    images = np.concatenate([np.clip(p + rng.normal(0, 0.05, (per_person, 8, 8, 1)), 0, 1) for p in patterns])
    return images.astype("float32"), np.repeat(np.arange(people), per_person)


def _all_seen(images, ids):
    """An identity split with every person in training (nothing held out)."""
    return IdentityData("patterns", "synthetic", images, ids, images[:0], ids[:0], images[:0], ids[:0])


def test_block_output_layers_lists_block_ends_then_the_last_layer():
    assert block_output_layers(_two_block_backbone().model) == ["good_pool", "flat_out", "head"]


@pytest.mark.learned
def test_ranking_puts_the_identity_preserving_block_first():
    images, ids = _identities()
    scores = rank_feature_layers(_two_block_backbone(), images, ids, layers=["flat_out", "good_pool"], num_pairs=300)
    assert list(scores) == ["good_pool", "flat_out"]
    assert scores["good_pool"] > 0.9 and scores["flat_out"] == pytest.approx(0.5)


def test_layer_features_are_standardised_unit_blocks_on_a_frozen_base():
    images, ids = _identities()
    loaded = _two_block_backbone()
    model, layers, scores = chosen_layer_features(loaded, "auto1", _all_seen(images, ids), num_pairs=300)
    assert layers == ["good_pool"] and scores["good_pool"] > 0.9
    assert not loaded.model.trainable and not model.trainable_weights
    out = model.predict(images, verbose=0)
    assert out.shape == (len(images), 16)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)

    two = layer_features(loaded, ["good_pool", "stem"], (8, 8, 1), images).predict(images[:3], verbose=0)
    np.testing.assert_allclose(np.linalg.norm(two, axis=1), np.sqrt(2.0), rtol=1e-5)  # each block unit length


def test_bad_layer_choices_are_rejected():
    images, ids = _identities()
    loaded = _two_block_backbone()
    with pytest.raises(ValueError, match="unknown: \\['nope'\\]"):
        layer_features(loaded, ["nope"], (8, 8, 1), images)
    with pytest.raises(ValueError, match="'autoN'"):
        chosen_layer_features(loaded, "autox", _all_seen(images, ids))
    with pytest.raises(ValueError, match="1 or 3 channels"):
        layer_features(loaded, ["good_pool"], (8, 8, 2), images)
