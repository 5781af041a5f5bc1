"""kerasdl.analysis.gradient_check: central differences in float64 against tf.GradientTape.

Plain models pass in float64; a deliberately wrong ``tf.custom_gradient`` is caught and
named; kerasdl's own hand-written maths (masked max pooling, sparsity penalties, evidential
losses, triplet losses, YOLO and localisation losses) passes inside ``float64_arithmetic``
(they cast to float32 on purpose, which a float64 check would otherwise measure instead).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.analysis.gradient_check import (
    FINE,
    GradientCheckReport,
    check_gradients,
    float64_arithmetic,
    gradient_check,
    training_dependent_layers,
    verdict,
)

# Correct gradients measured here at 1e-11 .. 1e-9 relative error (eps = 1e-6, float64).
PASS = FINE


@pytest.fixture
def float64():
    """Build layers in float64 for the test, then restore Keras' float type and dtype policy.

    Both: once anything has read the global dtype policy (``keras.config.dtype_policy()``, as
    the CLI does around every command) it is pinned, and new layers follow it, not floatx."""
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        yield
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_mlp_in_float64_passes_and_dropout_runs_in_inference_mode(float64):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(6, activation="tanh", name="hidden"),
            keras.layers.Dropout(0.5, name="drop"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    report = gradient_check(model, _rng().normal(size=(8, 5)), np.arange(8) % 3, "sparse_categorical_crossentropy")
    assert [r.name.rsplit("/", 2)[-2:] for r in report.rows] == [
        ["hidden", "kernel"],
        ["hidden", "bias"],
        ["out", "kernel"],
        ["out", "bias"],
    ]
    assert all(r.checked == r.size for r in report.rows)  # every weight
    assert report.verdict == "fine" and report.worst_relative_error < PASS and report.passed
    assert all(r.gradient_norm > 1e-3 for r in report.rows)  # a real gradient was compared, not 0 vs 0
    assert any("training=False" in note and "drop (Dropout)" in note for note in report.notes)
    text = str(report)
    assert "hidden/kernel" in text and "verdict: fine" in text and "rel. error" in text


def test_small_cnn_with_batch_norm_and_max_pooling_passes(float64):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 2)),
            keras.layers.Conv2D(3, 3, activation="relu", name="conv"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.MaxPooling2D(name="pool"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy")  # loss=None takes the compiled one
    report = gradient_check(model, _rng(1).normal(size=(4, 8, 8, 2)), np.arange(4) % 3)
    assert len(report.rows) == 6  # conv kernel/bias, bn gamma/beta, dense kernel/bias (moving stats not trainable)
    assert report.worst_relative_error < PASS, str(report)
    assert "bn (BatchNormalization)" in " ".join(report.notes)


@tf.custom_gradient
def _scale_with_wrong_gradient(x, scale):
    """``y = scale * x``, with the gradient for ``scale`` doubled on purpose (a planted bug)."""

    def gradient(dy):
        return dy * scale, 2.0 * tf.reduce_sum(dy * x, axis=0)  # correct: 1.0 * sum(dy * x)

    return x * scale, gradient


class _WronglyDifferentiatedScale(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, inputs):
        return _scale_with_wrong_gradient(inputs, tf.convert_to_tensor(self.scale))


def test_a_wrong_custom_gradient_is_caught_and_named(float64):
    keras.utils.set_random_seed(2)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, activation="tanh", name="before")(inputs)
    scaled = _WronglyDifferentiatedScale(name="buggy_scale")(hidden)
    outputs = keras.layers.Dense(2, name="after")(scaled)
    model = keras.Model(inputs, outputs)
    report = gradient_check(
        model, _rng(2).normal(size=(6, 4)), _rng(3).normal(size=(6, 2)), keras.losses.MeanSquaredError()
    )
    assert report.verdict == "wrong" and not report.passed
    assert [name.rsplit("/", 2)[-2:] for name in report.wrong] == [["buggy_scale", "scale"]]
    # the layers around it are differentiated correctly (its input gradient is right)
    assert all(r.relative_error < PASS for r in report.rows if "buggy_scale" not in r.name)
    wrong_row = next(r for r in report.rows if "buggy_scale" in r.name)
    assert wrong_row.relative_error == pytest.approx(1 / 3, rel=1e-4)  # |2g - g| / (|2g| + |g|)
    assert "wrong gradients:" in str(report) and "buggy_scale/scale" in str(report)


def test_training_mode_with_dropout_or_batch_norm_is_refused(float64):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.BatchNormalization(name="bn")])
    with pytest.raises(ValueError, match=r"training=True.*bn \(BatchNormalization\)"):
        gradient_check(model, np.ones((4, 3)), np.ones((4, 2)), "mse", training=True)
    rnn = keras.Sequential([keras.Input((3, 2)), keras.layers.SimpleRNN(2, dropout=0.2, name="rnn")])
    assert training_dependent_layers(rnn) == ["rnn (SimpleRNN)"]
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert training_dependent_layers(plain) == []
    report = gradient_check(plain, np.ones((4, 3)), np.zeros((4, 2)), "mse", training=True)  # allowed: nothing random
    assert report.notes == [] and report.passed


def test_float32_weights_and_bad_arguments_are_refused():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, dtype="float32", name="d32")])
    with pytest.raises(ValueError, match=r"float64 variables.*d32/kernel \(float32\)"):
        gradient_check(model, np.ones((2, 3)), np.ones((2, 2)), "mse")
    with pytest.raises(ValueError, match="loss is required"):
        gradient_check(model, np.ones((2, 3)))
    v = tf.Variable(np.ones(3))
    with pytest.raises(ValueError, match="epsilon"):
        check_gradients(lambda: tf.reduce_sum(v), [v], epsilon=0)
    with pytest.raises(ValueError, match="variables must not be empty"):
        check_gradients(lambda: tf.reduce_sum(v), [])
    with pytest.raises(ValueError, match="scalar"):
        check_gradients(lambda: v * 2.0, [v])
    with pytest.raises(ValueError, match="not finite"):
        check_gradients(lambda: tf.reduce_sum(tf.math.log(v - 1.0)), [v])


def test_sampled_coordinates_and_restored_weights():
    rng = _rng(4)
    w = tf.Variable(rng.normal(size=(30, 20)), name="big")
    x = tf.constant(rng.normal(size=(20,)))
    before = w.numpy().copy()
    report = check_gradients(lambda: tf.reduce_sum(tf.sin(tf.linalg.matvec(w, x))), [w], max_coordinates=50, seed=3)
    [row] = report.rows
    assert (row.checked, row.size) == (50, 600) and row.relative_error < PASS
    assert "50 of 600" in report.notes[0]
    np.testing.assert_array_equal(w.numpy(), before)  # every perturbation undone


def test_verdict_thresholds():
    assert [verdict(e) for e in (0.0, 1e-7, 2e-7, 1e-5, 1e-3, 1.1e-3, float("nan"))] == [
        "fine",
        "fine",
        "look",
        "look",
        "look",
        "wrong",
        "wrong",
    ]
    assert GradientCheckReport([], 1e-6, 0.0).verdict == "fine"


def test_float64_arithmetic_promotes_float32_casts_and_restores_them():
    cast = keras.ops.cast
    floatx = keras.config.floatx()
    with float64_arithmetic():
        assert keras.ops.cast(np.ones(2), "float32").dtype == "float64"
        assert keras.ops.eye(2, dtype="float32").dtype == "float64"
        assert keras.config.floatx() == "float64" and keras.config.dtype_policy().name == "float64"
        assert keras.layers.Dense(2).dtype == "float64"
    assert keras.ops.cast is cast and keras.config.floatx() == floatx
    assert keras.config.dtype_policy().name == "float32"
    assert keras.ops.cast(np.ones(2), "float32").dtype == "float32"


# ------------------------------------------------------------------ kerasdl's hand-written maths


def test_kerasdl_losses_are_float32_inside_so_a_plain_float64_check_cannot_judge_them(float64):
    """Why the checks below run inside float64_arithmetic: the same correct triplet loss, with
    its internal float32 cast, measures as 'wrong' (float32 rounding / 2 eps)."""
    from kerasdl.verification.losses import mined_triplet_loss

    embeddings = tf.Variable(_rng(5).normal(size=(8, 4)))
    labels = np.repeat(np.arange(4), 2)
    plain = check_gradients(lambda: mined_triplet_loss(labels, embeddings, "batch_all", margin=1.0), [embeddings])
    assert plain.worst_relative_error > 1e-4
    with float64_arithmetic():
        exact = check_gradients(lambda: mined_triplet_loss(labels, embeddings, "batch_all", margin=1.0), [embeddings])
    assert exact.worst_relative_error < PASS


def test_masked_max_pooling_passes(float64):
    from kerasdl.layers import MaskedGlobalMaxPooling1D

    keras.utils.set_random_seed(6)
    tokens = keras.Input((5,), dtype="int32")
    embedded = keras.layers.Embedding(7, 4, mask_zero=True, name="embed")(tokens)
    pooled = MaskedGlobalMaxPooling1D(name="masked_max")(embedded)
    model = keras.Model(tokens, keras.layers.Dense(3, activation="softmax", name="out")(pooled))
    x = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 1, 2], [3, 0, 0, 0, 0], [6, 5, 0, 0, 0]])
    report = gradient_check(model, x, np.array([0, 1, 2, 1]), "sparse_categorical_crossentropy")
    assert report.worst_relative_error < PASS, str(report)
    assert report.rows[0].gradient_norm > 0  # the embedding gets gradient through the masked max


@pytest.mark.parametrize("kind", ["kl", "l1"])
def test_sparsity_penalties_pass(kind):
    from kerasdl.layers import sparsity_regularizer

    keras.utils.set_random_seed(7)
    with float64_arithmetic():
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(
                    4,
                    activation="sigmoid",
                    activity_regularizer=sparsity_regularizer(kind, weight=0.5, target=0.1),
                    name="code",
                ),
                keras.layers.Dense(6, name="decoder"),
            ]
        )
        x = _rng(7).normal(size=(5, 6))
        report = gradient_check(model, x, x, "mse")
        model(x)
        assert len(model.losses) == 1 and float(model.losses[0]) > 0.01  # the penalty is in the objective
    assert report.worst_relative_error < PASS, str(report)


def test_evidential_regression_and_classification_losses_pass():
    from kerasdl.layers import DirichletEvidence, NormalInverseGamma
    from kerasdl.losses.evidential import DirichletEvidentialLoss, EvidentialRegressionLoss

    keras.utils.set_random_seed(8)
    rng = _rng(8)
    with float64_arithmetic():
        regression = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(5, activation="tanh"), NormalInverseGamma()]
        )
        nig = gradient_check(
            regression, rng.normal(size=(6, 3)), rng.normal(size=(6, 1)), EvidentialRegressionLoss(0.1)
        )
        classifier = keras.Sequential([keras.Input((3,)), DirichletEvidence(4, name="evidence")])
        loss = DirichletEvidentialLoss()
        loss.kl_weight.assign(0.7)  # the annealed KL term takes part
        dirichlet = gradient_check(classifier, rng.normal(size=(6, 3)), np.arange(6) % 4, loss)
    assert nig.worst_relative_error < PASS, str(nig)
    assert dirichlet.worst_relative_error < PASS, str(dirichlet)


@pytest.mark.parametrize(
    "mining, squared", [("batch_all", True), ("batch_hard", False), ("semi_hard", True), ("semi_hard", False)]
)
def test_triplet_losses_pass(mining, squared):
    from kerasdl.verification.losses import TripletLoss, contrastive_loss, triplet_loss

    rng = _rng(9)
    with float64_arithmetic():
        embeddings = tf.Variable(rng.normal(size=(8, 4)), name="embeddings")
        labels = np.repeat(np.arange(4), 2)
        loss = TripletLoss(margin=1.0, mining=mining, squared=squared)
        report = check_gradients(lambda: loss(labels, embeddings), [embeddings])
        a, p, n = (tf.Variable(rng.normal(size=(5, 3)), name=k) for k in "apn")
        explicit = check_gradients(lambda: tf.reduce_sum(triplet_loss(a, p, n, 1.0, squared)), [a, p, n])
        distance = tf.Variable(rng.uniform(0.1, 1.5, size=6), name="distance")
        pairs = check_gradients(lambda: tf.reduce_sum(contrastive_loss([1, 0, 1, 0, 0, 1], distance)), [distance])
    assert report.rows[0].gradient_norm > 0 and report.worst_relative_error < PASS, str(report)
    assert explicit.worst_relative_error < PASS and pairs.worst_relative_error < PASS


def test_yolo_and_localization_losses_pass():
    from kerasdl.detection.losses import LocalizationLoss, YoloLoss

    rng = _rng(10)
    target = np.zeros((2, 3, 3, 2, 8))
    target[0, 1, 1, 0] = [1, 0.3, 0.6, 0.2, -0.1, 0, 1, 0]  # p, x, y, log w, log h, one-hot class
    target[1, 2, 0, 1] = [1, 0.8, 0.1, -0.4, 0.5, 1, 0, 0]
    box_target = np.array([[1, 0.4, 0.5, 0.2, 0.3, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0, 0]])
    with float64_arithmetic():
        grid = tf.Variable(rng.normal(size=target.shape), name="yolo_raw_output")
        yolo = check_gradients(lambda: YoloLoss()(target, grid), [grid])
        raw = tf.Variable(rng.normal(size=box_target.shape), name="localization_raw_output")
        localization = check_gradients(lambda: LocalizationLoss()(box_target, raw), [raw])
    assert yolo.worst_relative_error < PASS, str(yolo)
    assert localization.worst_relative_error < PASS, str(localization)
