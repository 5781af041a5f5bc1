"""FGSM/PGD correctness, robustness measures and bad-input errors (tiny models, no long training)."""

import warnings

import numpy as np
import pytest

import kerasdl  # noqa: F401  (pins the TensorFlow backend)
import keras
import tensorflow as tf

from kerasdl.attacks import (
    FGSM,
    PGD,
    attack_success_rate,
    evaluate_attack,
    fgsm,
    outputs_probabilities,
    robust_accuracy,
    transferability,
)
from kerasdl.export import with_preprocessing


def dense_model(activation=None, seed=0, features=12, classes=4):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(16, activation="tanh", name="hidden"),
            keras.layers.Dense(classes, activation=activation, name="out"),
        ]
    )


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    return x[:1000], data.target[:1000], x[1000:1300], data.target[1000:1300]


@pytest.fixture(scope="module")
def trained(digits):
    x, y, _, _ = digits
    models = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10, name="logits")]
        )
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        # 40 epochs: over seed offsets 0-5 (identical with oneDNN on, off and AVX2-only) clean
        # accuracy 0.945-0.960 on the first 200 images; after 8 epochs it was 0.61-0.85
        model.fit(x, y, epochs=40, batch_size=100, verbose=0)
        models.append(model)
    return models


def reference_gradient(model, x, y, from_logits):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=from_logits)
    return tape.gradient(loss, x).numpy()


@pytest.mark.parametrize("activation", [None, "softmax"])
def test_fgsm_equals_a_direct_gradient_tape_perturbation(activation):
    model = dense_model(activation)
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 0.8, (32, 12)).astype("float32")
    y = rng.integers(0, 4, 32)
    eps = 0.05
    g = reference_gradient(model, x, y, from_logits=activation is None)
    expected = np.clip(x + eps * np.sign(g), 0.0, 1.0)
    np.testing.assert_allclose(FGSM(eps)(model, x, y), expected, atol=1e-6)
    # L2 (fast gradient method): x + eps * g / ||g||
    expected_l2 = np.clip(x + eps * g / np.linalg.norm(g, axis=1, keepdims=True), 0.0, 1.0)
    np.testing.assert_allclose(fgsm(model, x, y, eps, norm="l2"), expected_l2, atol=1e-5)
    # targeted: step down the target's loss
    target = (y + 1) % 4
    g_t = reference_gradient(model, x, target, from_logits=activation is None)
    np.testing.assert_allclose(
        FGSM(eps, targeted=True)(model, x, target), np.clip(x - eps * np.sign(g_t), 0, 1), atol=1e-6
    )


def test_logits_and_probabilities_are_detected():
    assert outputs_probabilities(dense_model("softmax"))
    assert not outputs_probabilities(dense_model(None))
    wrapped = with_preprocessing(dense_model("softmax"), keras.layers.Rescaling(1 / 255), input_dtype="float32")
    assert outputs_probabilities(wrapped)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_every_pgd_output_is_inside_the_ball_and_the_valid_range(norm):
    model = dense_model(None)
    rng = np.random.default_rng(1)
    x = rng.choice([0.0, 0.5, 1.0], size=(64, 12)).astype("float32")  # many pixels on the range's edges
    y = rng.integers(0, 4, 64)
    eps = 0.3 if norm == "linf" else 0.8
    x_adv = PGD(eps, steps=10, step_size=eps / 4, norm=norm, batch_size=20)(model, x, y)
    delta = x_adv - x
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    if norm == "linf":
        assert np.abs(delta).max() <= eps + 1e-6
    else:
        assert np.linalg.norm(delta, axis=1).max() <= eps * (1 + 1e-5)
    assert np.abs(delta).max() > 0.0  # it moved
    loss = keras.losses.sparse_categorical_crossentropy
    assert np.mean(loss(y, model(x_adv), from_logits=True)) > np.mean(loss(y, model(x), from_logits=True))


def test_targeted_pgd_raises_the_target_class_probability(trained, digits):
    model = trained[0]
    _, _, x, y = digits
    x, y = x[:100], y[:100]
    target = (y + 3) % 10
    x_adv = PGD(0.2, steps=10, targeted=True)(model, x, target)
    p_clean = tf.nn.softmax(model(x)).numpy()[np.arange(100), target]
    p_adv = tf.nn.softmax(model(x_adv)).numpy()[np.arange(100), target]
    assert p_adv.mean() > p_clean.mean() + 0.1
    assert np.mean(p_adv > p_clean) > 0.95


@pytest.mark.learned
def test_robust_accuracy_success_rate_and_transferability(trained, digits):
    model_a, model_b = trained
    _, _, x, y = digits
    x, y = x[:200], y[:200]
    attack = PGD(0.15, steps=5, random_start=False)
    result = evaluate_attack(model_a, (x, y), attack, batch_size=128)
    clean = np.argmax(model_a.predict(x, verbose=0), 1) == y
    adv_pred = np.argmax(model_a.predict(attack(model_a, x, y), verbose=0), 1)
    assert result["examples"] == len(x)
    assert result["clean_accuracy"] == pytest.approx(clean.mean())
    assert result["clean_accuracy"] > 0.85
    assert result["robust_accuracy"] == pytest.approx(np.mean(adv_pred == y))
    assert result["success_rate"] == pytest.approx(np.mean(adv_pred[clean] != y[clean]))
    assert result["robust_accuracy"] < result["clean_accuracy"] - 0.3
    # a tf.data.Dataset (one-hot labels) gives the same figures
    dataset = tf.data.Dataset.from_tensor_slices((x, keras.utils.to_categorical(y, 10))).batch(64)
    assert robust_accuracy(model_a, dataset, attack) == pytest.approx(result["robust_accuracy"])
    assert attack_success_rate(model_a, (x, y), attack) == pytest.approx(result["success_rate"])
    transfer = transferability(model_a, model_b, (x, y), attack)
    assert transfer["source"]["robust_accuracy"] == pytest.approx(result["robust_accuracy"])
    # transferred examples hurt model B, but less than white-box examples hurt model A
    assert (
        transfer["source"]["robust_accuracy"]
        < transfer["target"]["robust_accuracy"]
        < transfer["target"]["clean_accuracy"]
    )
    targeted = evaluate_attack(model_a, (x, y), PGD(0.3, steps=5, targeted=True), targets=7)
    assert targeted["target_hit_rate"] > 0.5


def test_bad_arguments_raise_clear_errors():
    model = dense_model(None)
    x = np.full((4, 12), 0.5, "float32")
    y = np.array([0, 1, 2, 3])
    with pytest.raises(ValueError, match="eps must be >= 0"):
        FGSM(-0.1)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        PGD(0.1, steps=0)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        PGD(0.1, steps=-3)
    with pytest.raises(ValueError, match="norm must be one of"):
        PGD(0.1, norm="l1")
    with pytest.raises(ValueError, match="clip_max must be >"):
        PGD(0.1, clip_min=1.0, clip_max=0.0)
    with pytest.warns(UserWarning, match="step_size=0.2 is larger than eps=0.1"):
        PGD(0.1, steps=5, step_size=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PGD(0.1, steps=5)  # the default step size does not warn
    with pytest.raises(ValueError, match=r"y must hold one label per example.*got shape \(3,\)"):
        FGSM(0.1)(model, x, y[:3])
    with pytest.raises(ValueError, match=r"y must hold one label per example.*got shape \(4, 5\)"):
        FGSM(0.1)(model, x, np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"y holds labels in \[0, 4\], but the model has 4 classes"):
        FGSM(0.1)(model, x, np.array([0, 1, 2, 4]))
    with pytest.raises(ValueError, match="y must hold integer class labels"):
        FGSM(0.1)(model, x, np.array([0, 1.5, 2, 3]))
    with pytest.raises(ValueError, match=r"x has values in \[0.5, 255\], outside the declared valid range"):
        FGSM(0.1)(model, np.where(np.eye(4, 12) > 0, 255.0, 0.5), y)
    with pytest.raises(ValueError, match="x must be a batch of shape"):
        FGSM(0.1)(model, x[0], y)
    FGSM(0.1, clip_min=0.0, clip_max=255.0)(model, np.where(np.eye(4, 12) > 0, 255.0, 0.5), y)  # declared range


def test_a_model_without_gradient_path_is_rejected():
    inputs = keras.Input((12,))
    frozen = keras.layers.Lambda(lambda t: keras.ops.stop_gradient(t), name="stop")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(4)(frozen))
    with pytest.raises(ValueError, match="model: .* has no gradient path from its input"):
        PGD(0.1, steps=2)(model, np.full((2, 12), 0.5, "float32"), [0, 1])


def test_eps_zero_returns_the_input_and_binary_models_work():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1, activation="sigmoid")])
    x = np.random.default_rng(0).uniform(0.3, 0.7, (8, 6)).astype("float32")
    y = np.array([0, 1] * 4)
    np.testing.assert_array_equal(PGD(0.0, steps=3)(model, x, y), x)
    x_adv = FGSM(0.1)(model, x, y)
    p, p_adv = model(x).numpy()[:, 0], model(x_adv).numpy()[:, 0]
    # the attack pushes each example's probability away from its label
    assert np.all(np.where(y == 1, p_adv < p, p_adv > p))
