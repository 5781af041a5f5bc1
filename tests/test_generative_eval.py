"""MNIST-analogue Inception Score and Fréchet distance."""

import numpy as np
import pytest

import kerasdl  # noqa: F401
import keras

from kerasdl.generative.evaluation import (
    GenerativeEvaluator,
    feature_statistics,
    frechet_distance_from_stats,
    inception_score_from_probs,
    inception_score_parts,
)


def test_inception_score_bounds():
    uniform = np.full((100, 10), 0.1)
    assert inception_score_from_probs(uniform)[0] == pytest.approx(1.0)
    confident = np.eye(10)[np.arange(100) % 10]  # sure of one class, every class equally often
    assert inception_score_from_probs(confident)[0] == pytest.approx(10.0, rel=1e-6)
    collapsed = np.eye(10)[np.zeros(100, int)]  # mode collapse: one class only
    assert inception_score_from_probs(collapsed)[0] == pytest.approx(1.0)
    mean, std = inception_score_from_probs(confident, splits=5)
    assert mean == pytest.approx(10.0, rel=1e-6) and std < 1e-6
    with pytest.raises(ValueError, match="splits"):
        inception_score_from_probs(confident, splits=0)


def test_inception_score_is_class_perplexity_over_conditional_perplexity():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(10, 0.3), size=400)
    parts = inception_score_parts(probs)
    assert inception_score_from_probs(probs)[0] == pytest.approx(
        parts["class_perplexity"] / parts["conditional_perplexity"], rel=1e-6
    )
    # confident but only two classes used: coverage is the whole shortfall
    two = inception_score_parts(np.eye(10)[np.arange(100) % 2])
    assert two["class_perplexity"] == pytest.approx(2.0) and two["conditional_perplexity"] == pytest.approx(1.0)
    assert two["predicted_class_shares"][:3] == [0.5, 0.5, 0.0]
    # every class equally often, half the images split 50/50 between two classes: ambiguity is
    hedged = np.eye(10)[np.arange(100) % 10]
    hedged[::2] = 0.0
    hedged[::2, :2] = 0.5
    hedged_parts = inception_score_parts(hedged)
    assert hedged_parts["conditional_perplexity"] == pytest.approx(np.exp(0.5 * np.log(2)))
    assert hedged_parts["share_below_0.9_confidence"] == 0.5 and hedged_parts["mean_top_probability"] == 0.75
    with pytest.raises(ValueError, match="probs"):
        inception_score_parts(np.ones(10))


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((500, 4))
    mu, sigma = feature_statistics(features)
    assert frechet_distance_from_stats(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)
    # 1-D Gaussians: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance_from_stats([1.0], [[4.0]], [-1.0], [[1.0]]) == pytest.approx(4.0 + 1.0)
    # shifted copy: only the mean term
    assert frechet_distance_from_stats(mu, sigma, mu + 2.0, sigma) == pytest.approx(4 * 4.0, rel=1e-6)


@pytest.mark.learned
def test_small_digits_classifier_scores_real_images_near_class_count():
    from kerasdl.data import load_digits, scale_images

    (x_train, y_train), (x_test, y_test) = load_digits()
    x_train, x_test = scale_images(x_train), scale_images(x_test)
    keras.utils.set_random_seed(0)
    classifier = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu", name="features"),
            keras.layers.Dense(10, activation="softmax", name="predictions"),
        ]
    )
    classifier.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    classifier.fit(x_train, y_train, epochs=15, batch_size=64, verbose=0)
    assert classifier.evaluate(x_test, y_test, verbose=0)[1] > 0.9

    evaluator = GenerativeEvaluator(classifier)  # features: the penultimate layer
    assert evaluator.features(x_test[:3]).shape == (3, 128)
    score, _ = evaluator.inception_score(x_test, splits=1)
    assert score > 8.5, score  # real, confidently classified, balanced digits: close to 10
    assert evaluator.frechet_distance(x_test, x_test) == pytest.approx(0.0, abs=1e-3)
    half = len(x_test) // 2
    real_vs_real = evaluator.frechet_distance(x_test[:half], x_test[half:])
    noise = np.random.default_rng(1).random(x_test.shape).astype("float32")
    assert evaluator.frechet_distance(x_test, noise) > 10 * real_vs_real
    assert evaluator.inception_score(noise, splits=1)[0] < 0.5 * score
    tanh_images = x_test * 2 - 1  # a tanh generator's range gives the same figures
    assert evaluator.inception_score(tanh_images, splits=1, value_range=(-1, 1))[0] == pytest.approx(score, rel=1e-5)
    with pytest.raises(ValueError, match="value_range"):
        evaluator.inception_score(x_test * 255)
