"""RandomElasticDistortion (Simard et al. 2003) and its bilinear sampler."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data import image_augmentation, make_dataset
from kerasdl.layers import RandomElasticDistortion
from kerasdl.layers.elastic import bilinear_sample


def test_bilinear_sample_equals_scipy_map_coordinates():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 9, 7, 2)).astype("float32")
    # Whole pixels, fractions, and reads that fall partly or wholly outside the image.
    rows = rng.uniform(-2.0, 10.0, size=(3, 9, 7)).astype("float32")
    cols = rng.uniform(-2.0, 8.0, size=(3, 9, 7)).astype("float32")
    rows[0, 0, :3], cols[0, 0, :3] = [0.0, 4.0, 8.0], [0.0, 3.0, 6.0]
    ours = bilinear_sample(images, rows, cols, fill_value=0.25).numpy()
    for b in range(3):
        for c in range(2):
            # scipy's 'grid-constant' mode reads fill_value for every neighbour outside the image.
            expected = ndimage.map_coordinates(
                images[b, ..., c], [rows[b], cols[b]], order=1, mode="grid-constant", cval=0.25
            )
            np.testing.assert_allclose(ours[b, ..., c], expected, atol=1e-5)
    np.testing.assert_array_equal(ours[0, 0, :3], images[0, [0, 4, 8], [0, 3, 6]])


def test_displacement_fields_have_simards_statistics():
    alpha, sigma = 34.0, 4.0
    layer = RandomElasticDistortion(alpha, sigma, seed=0)
    dy, dx = (f.numpy() for f in layer.displacements(400, 28, 28))
    # α·(G_σ ∗ U(−1, 1)) has standard deviation α / (σ √(12π)) away from the zero-padded edges.
    expected = alpha / (sigma * math.sqrt(12 * math.pi))
    for field in (dx, dy):
        centre = field[:, 12:16, 12:16]
        assert abs(centre.std() / expected - 1) < 0.08, (centre.std(), expected)
        assert abs(centre.mean()) < 0.1 * expected
    # Independent fields: not the diagonal moves Keras' elastic_transform makes (Δx = Δy).
    assert abs(np.corrcoef(dx.ravel(), dy.ravel())[0, 1]) < 0.05
    # Smooth: neighbouring pixels move almost alike; distinct images get distinct fields.
    assert np.corrcoef(dx[:, 14, 14], dx[:, 14, 15])[0, 1] > 0.9
    assert np.abs(dx[0] - dx[1]).mean() > 0.5 * expected


def test_distortion_moves_strokes_and_keeps_flat_images_flat():
    images = np.zeros((64, 28, 28, 1), "float32")
    images[:, 6:22, 13:15] = 1.0  # a vertical bar, a "1"
    out = RandomElasticDistortion(34.0, 4.0, seed=1)(images, training=True).numpy()
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    assert np.abs(out - images).mean() > 0.01  # strokes moved
    # A warp stretches some strokes and squeezes others (ink is not conserved image by image),
    # but it neither wipes the digit out nor smears it over the canvas, and on average keeps its ink.
    ink = out.sum(axis=(1, 2, 3))
    # Over seeds 0..19: per-image ink 0.44-2.09 times the bar's, mean 0.97-1.06 times.
    assert 0.3 * 32 < ink.min() and ink.max() < 2.5 * 32, ink
    assert abs(ink.mean() / 32 - 1) < 0.12, ink.mean()
    # A constant image, filled with that constant outside, reads the constant everywhere.
    flat = RandomElasticDistortion(34.0, 4.0, fill_value=0.5, seed=2)(
        np.full((2, 10, 12, 3), 0.5, "float32"), training=True
    )
    np.testing.assert_allclose(flat.numpy(), 0.5, atol=1e-6)


def test_uint8_and_float16_images_keep_their_dtype():
    images = np.zeros((2, 16, 16, 1), "uint8")
    images[:, 4:12, 7:9] = 255
    out = RandomElasticDistortion(20.0, 3.0, seed=0)(images, training=True).numpy()
    assert out.dtype == np.uint8 and out.max() > 200 and np.any(out != images)
    # Float inputs take the layer's compute dtype, as in every Keras layer (float16 under mixed precision).
    half = RandomElasticDistortion(20.0, 3.0, seed=0, dtype="float16")(images.astype("float16") / 255, training=True)
    assert half.dtype == tf.float16
    np.testing.assert_allclose(half.numpy().astype("float32") * 255, out, atol=1.0)


def test_inference_and_alpha_zero_leave_images_unchanged():
    images = np.random.default_rng(0).uniform(size=(2, 12, 12, 1)).astype("float32")
    layer = RandomElasticDistortion(34.0, 4.0, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    np.testing.assert_array_equal(np.asarray(layer(images)), images)
    np.testing.assert_array_equal(np.asarray(RandomElasticDistortion(0.0, seed=0)(images, training=True)), images)


def test_seed_fixes_the_sequence_of_distortions():
    images = np.random.default_rng(0).uniform(size=(4, 16, 16, 1)).astype("float32")

    def two_calls(seed):
        layer = RandomElasticDistortion(20.0, 3.0, seed=seed)
        return [layer(images, training=True).numpy() for _ in range(2)]

    first, again, other = two_calls(5), two_calls(np.int64(5)), two_calls(6)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], first[1])  # each call draws new fields
    assert not np.allclose(first[0], other[0])


def test_runs_in_the_tf_data_pipeline_with_a_short_last_batch():
    x = np.random.default_rng(0).uniform(size=(10, 28, 28, 1)).astype("float32")
    y = np.arange(10)
    augment = image_augmentation(translation=0.1, rotation=0.025, elastic=34.0, seed=0)
    assert isinstance(augment.layers[0], RandomElasticDistortion)
    batches = list(make_dataset(x, y, 4, augment=augment, seed=0))
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    assert all(xb.shape[1:] == (28, 28, 1) for xb, _ in batches)
    again = list(
        make_dataset(x, y, 4, augment=image_augmentation(translation=0.1, rotation=0.025, elastic=34.0, seed=0), seed=0)
    )
    for (xb, yb), (xa, ya) in zip(batches, again):
        np.testing.assert_array_equal(yb.numpy(), ya.numpy())
        np.testing.assert_array_equal(xb.numpy(), xa.numpy())
    # New fields for every batch and every epoch, not one draw frozen into the traced pipeline.
    bars = np.zeros((8, 28, 28, 1), "float32")
    bars[:, 6:22, 13:15] = 1.0
    alone = image_augmentation(elastic=34.0, translation=0.0, rotation=0.0, seed=0)
    assert alone.layers[0].alpha == 34.0 and len(alone.layers) == 1
    pipeline = make_dataset(bars, np.arange(8), 4, shuffle=False, augment=alone, seed=0)
    epoch1, epoch2 = ([xb.numpy() for xb, _ in pipeline] for _ in range(2))
    assert np.abs(epoch1[0] - bars[:4]).mean() > 0.01
    assert not np.allclose(epoch1[0], epoch1[1])
    assert not np.allclose(epoch1[0], epoch2[0])


def test_config_round_trip():
    layer = RandomElasticDistortion(12.0, 2.5, fill_value=0.1, seed=3, name="bend")
    clone = RandomElasticDistortion.from_config(layer.get_config())
    assert (clone.alpha, clone.sigma, clone.fill_value, clone.seed, clone.name) == (12.0, 2.5, 0.1, 3, "bend")
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, RandomElasticDistortion(5.0, seed=0)(inputs))
    restored = keras.Model.from_config(model.get_config())
    images = np.ones((1, 8, 8, 1), "float32")
    np.testing.assert_array_equal(restored.predict(images, verbose=0), images)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"alpha": -1.0}, "alpha must be >= 0"),
        ({"sigma": 0.0}, "sigma must be > 0"),
        ({"alpha": "34"}, "alpha must be a number"),
        ({"seed": 1.5}, "seed must be an integer or None"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error):
    with pytest.raises((ValueError, TypeError), match=error):
        RandomElasticDistortion(**kwargs)


def test_unbatched_images_are_refused():
    with pytest.raises(ValueError, match="batch of NHWC images"):
        RandomElasticDistortion(34.0)(tf.zeros((28, 28, 1)), training=True)
