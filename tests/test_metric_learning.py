"""Triplet mining (batch-all, batch-hard, semi-hard) and the contrastive loss against brute-force NumPy."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.verification.losses import (
    ContrastiveLoss,
    TripletLoss,
    batch_all_triplet_loss,
    batch_hard_triplet_loss,
    contrastive_loss,
    mined_triplet_loss,
    pairwise_distances,
    semi_hard_triplet_loss,
    triplet_loss,
)


def _batch(seed, n=10, dim=4, classes=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, classes, n), rng.normal(size=(n, dim)).astype("float32")


def _dist(e, squared):
    d = ((e[:, None] - e[None]) ** 2).sum(-1)
    return d if squared else np.sqrt(d)


def brute_batch_all(labels, e, margin, squared):
    d, losses, valid = _dist(e, squared), [], 0
    for a, p, n in itertools.permutations(range(len(e)), 3):
        if labels[a] == labels[p] and labels[a] != labels[n]:
            valid += 1
            losses.append(max(d[a, p] - d[a, n] + margin, 0.0))
    positive = [v for v in losses if v > 1e-16]
    return (sum(positive) / max(len(positive), 1)), len(positive) / max(valid, 1)


def brute_batch_hard(labels, e, margin, squared):
    d, losses = _dist(e, squared), []
    for a in range(len(e)):
        pos = [d[a, p] for p in range(len(e)) if p != a and labels[p] == labels[a]]
        neg = [d[a, n] for n in range(len(e)) if labels[n] != labels[a]]
        if pos and neg:
            losses.append(max(max(pos) - min(neg) + margin, 0.0))
    return float(np.mean(losses)) if losses else 0.0


def brute_semi_hard(labels, e, margin, squared):
    d, losses = _dist(e, squared), []
    for a, p in itertools.permutations(range(len(e)), 2):
        if labels[a] != labels[p]:
            continue
        neg = [d[a, n] for n in range(len(e)) if labels[n] != labels[a]]
        if not neg:
            continue
        farther = [x for x in neg if x > d[a, p]]
        chosen = min(farther) if farther else max(neg)
        losses.append(max(d[a, p] - chosen + margin, 0.0))
    return float(np.mean(losses)) if losses else 0.0


@pytest.mark.parametrize("squared", [True, False])
def test_pairwise_distances_match_numpy(squared):
    _, e = _batch(0)
    np.testing.assert_allclose(pairwise_distances(e, squared).numpy(), _dist(e, squared), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("squared", [True, False])
def test_mining_matches_brute_force(seed, squared):
    labels, e = _batch(seed)
    margin = 0.5
    loss, fraction = batch_all_triplet_loss(labels, e, margin, squared)
    want_loss, want_fraction = brute_batch_all(labels, e, margin, squared)
    assert float(loss) == pytest.approx(want_loss, rel=1e-4)
    assert float(fraction) == pytest.approx(want_fraction, rel=1e-6)
    assert float(batch_hard_triplet_loss(labels, e, margin, squared)) == pytest.approx(
        brute_batch_hard(labels, e, margin, squared), rel=1e-4
    )
    assert float(semi_hard_triplet_loss(labels, e, margin, squared)) == pytest.approx(
        brute_semi_hard(labels, e, margin, squared), rel=1e-4
    )


def test_anchor_without_positive_is_ignored_and_separated_embeddings_give_zero():
    labels = np.array([0, 0, 1, 1, 2])  # identity 2 has no positive
    e = np.array([[0, 0], [0, 0.01], [5, 5], [5, 5.01], [-5, 5]], "float32")
    for mining in ("batch_all", "batch_hard", "semi_hard"):
        assert float(mined_triplet_loss(labels, e, mining, 0.2)) == pytest.approx(0.0, abs=1e-6)
    assert float(batch_hard_triplet_loss(labels, e, 0.2)) == pytest.approx(brute_batch_hard(labels, e, 0.2, True))


def test_explicit_triplets_and_finite_gradient_at_zero_distance():
    a, p, n = (np.array([[0.0, 1.0]], "float32"), np.array([[0.0, 0.5]], "float32"), np.array([[0.0, 0.8]], "float32"))
    # seed / FaceNet formula: max(||a-p||² - ||a-n||² + α, 0) = 0.25 - 0.04 + 0.2
    assert float(triplet_loss(a, p, n, 0.2)[0]) == pytest.approx(0.41, rel=1e-6)
    e = tf.Variable([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # a duplicate pair: distance exactly 0
    with tf.GradientTape() as tape:
        loss = batch_hard_triplet_loss([0, 0, 1], e, 0.2, squared=False)
    assert np.all(np.isfinite(tape.gradient(loss, e).numpy()))


def test_contrastive_loss_formula():
    same = np.array([1, 0, 0], "float32")
    d = np.array([0.5, 0.3, 2.0], "float32")
    want = same * d**2 + (1 - same) * np.maximum(1.0 - d, 0) ** 2
    np.testing.assert_allclose(contrastive_loss(same, d, 1.0).numpy(), want, rtol=1e-6)
    assert float(ContrastiveLoss(margin=1.0)(same, d)) == pytest.approx(want.mean(), rel=1e-6)


def test_loss_classes_serialise_and_validate():
    labels, e = _batch(4)
    loss = TripletLoss(margin=0.3, mining="batch_hard", squared=False)
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(clone, TripletLoss) and clone.get_config() == loss.get_config()
    assert float(clone(labels, e)) == pytest.approx(brute_batch_hard(labels, e, 0.3, False), rel=1e-4)
    assert isinstance(keras.losses.deserialize(keras.losses.serialize(ContrastiveLoss(2.0))), ContrastiveLoss)
    with pytest.raises(ValueError, match="mining must be one of"):
        TripletLoss(mining="hardest")
    with pytest.raises(ValueError, match="margin"):
        TripletLoss(margin=-1)
