"""Recurrent builders: parameter counts by hand formula, masking, tagger, char LM, clipping."""

import numpy as np
import pytest

import kerasdl  # noqa: F401  (pins the TensorFlow backend)
import keras

from kerasdl.models.rnn import (
    char_language_model,
    char_lm_step_model,
    embedding_bag_classifier,
    initial_states,
    recurrent_params,
    rnn_classifier,
    rnn_tagger,
)
from kerasdl.training import compile_model


def hand_params(cell, inputs, units):
    """The textbook formulas, written out independently of recurrent_params."""
    if cell == "simple":
        return units * inputs + units * units + units
    if cell == "lstm":
        return 4 * (units * inputs + units * units + units)
    return 3 * (units * inputs + units * units + 2 * units)  # GRU, reset_after=True: two bias vectors


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_classifier_parameter_count_matches_hand_formula(cell, bidirectional):
    vocab, dim, units = 50, 8, 6
    model = rnn_classifier(
        vocab, dim, cell, units, layers=2, bidirectional=bidirectional, num_classes=3, sequence_length=12
    )
    directions = 2 if bidirectional else 1
    expected = (
        vocab * dim
        + directions * hand_params(cell, dim, units)
        + directions * hand_params(cell, directions * units, units)
        + (directions * units + 1) * 3
    )
    assert model.count_params() == expected
    assert recurrent_params(cell, dim, units) == hand_params(cell, dim, units)
    # per-layer check against Keras' own count
    first = model.get_layer("bidirectional_1" if bidirectional else f"{cell}_1")
    assert first.count_params() == directions * hand_params(cell, dim, units)
    assert model.output_shape == (None, 3)
    assert model.input_shape == (None, 12)


def test_known_counts_lstm_and_gru():
    # keras.io "Bidirectional LSTM on IMDB": Embedding(20000, 128) + 2 x BiLSTM(64) + Dense(1)
    model = rnn_classifier(20000, 128, "lstm", 64, layers=2, bidirectional=True, num_classes=1)
    assert model.count_params() == 2_757_761
    assert recurrent_params("gru", 128, 64) == 37_248  # keras.layers.GRU(64) on 128 features


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "transformer"}, "cell must be one of"),
        ({"units": 0}, "units must be >= 1"),
        ({"layers": 0}, "layers must be >= 1"),
        ({"dropout": 1.0}, "dropout must be < 1.0"),
        ({"vocab_size": 1}, "vocab_size must be >= 2"),
        ({"input_shape": (10, 3)}, "input_shape must be a 1-tuple"),
        ({"input_shape": (10,), "sequence_length": 10}, "either input_shape or sequence_length"),
        ({"embedding_matrix": np.zeros((5, 4))}, "embedding_matrix must have shape"),
        ({"num_classes": 0}, "num_classes must be >= 1"),
        ({"pooling": "attention"}, "pooling must be one of"),
    ],
)
def test_classifier_validates_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rnn_classifier(**{"vocab_size": 100, "embedding_dim": 8, **kwargs})


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_padding_is_masked(cell):
    model = rnn_classifier(30, 8, cell, 5, layers=2, bidirectional=True, num_classes=1)
    tokens = np.array([[4, 9, 17]])
    padded = np.array([[4, 9, 17, 0, 0, 0, 0]])
    np.testing.assert_allclose(model(padded).numpy(), model(tokens).numpy(), atol=1e-6)
    unmasked = rnn_classifier(30, 8, cell, 5, layers=2, bidirectional=True, num_classes=1, mask_zero=False)
    unmasked.set_weights(model.get_weights())
    assert np.abs(unmasked(padded).numpy() - unmasked(tokens).numpy()).max() > 1e-6  # the mask matters


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_pooling_over_time_ignores_padding_and_adds_no_parameters(pooling):
    model = rnn_classifier(30, 8, "lstm", 5, bidirectional=True, pooling=pooling)
    assert model.count_params() == rnn_classifier(30, 8, "lstm", 5, bidirectional=True).count_params()
    tokens, padded = np.array([[4, 9, 17]]), np.array([[4, 9, 17, 0, 0, 0, 0]])
    np.testing.assert_allclose(model(padded).numpy(), model(tokens).numpy(), atol=1e-6)
    states = keras.Model(model.input, model.get_layer("bidirectional_1").output)(tokens).numpy()[0]
    pool = {"max": np.max, "mean": np.mean}[pooling]
    head = model.get_layer("predictions")
    expected = 1 / (1 + np.exp(-(pool(states, axis=0) @ head.kernel.numpy() + head.bias.numpy())))
    np.testing.assert_allclose(model(tokens).numpy()[0], expected, rtol=1e-5)


def test_masked_max_pooling_skips_masked_steps_and_empty_sequences():
    from kerasdl.layers import MaskedGlobalMaxPooling1D

    x = np.array([[[1.0, -5.0], [-2.0, -1.0], [9.0, 9.0]], [[-3.0, -4.0], [7.0, 7.0], [7.0, 7.0]]], "float32")
    mask = np.array([[True, True, False], [False, False, False]])
    pooled = MaskedGlobalMaxPooling1D()(x, mask=mask).numpy()
    np.testing.assert_array_equal(pooled, [[1.0, -1.0], [0.0, 0.0]])  # masked 9s ignored; empty → zeros
    np.testing.assert_array_equal(MaskedGlobalMaxPooling1D()(x).numpy(), x.max(axis=1))


def test_pooled_classifier_saves_and_reloads(tmp_path):
    model = rnn_classifier(30, 8, "gru", 4, bidirectional=True, pooling="max")
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    tokens = np.array([[3, 5, 0, 0]])
    np.testing.assert_allclose(reloaded(tokens).numpy(), model(tokens).numpy(), atol=1e-6)


def test_pretrained_embedding_is_used_and_can_be_frozen():
    matrix = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    model = rnn_classifier(20, 4, "gru", 3, embedding_matrix=matrix, trainable_embedding=False)
    embedding = model.get_layer("embedding")
    np.testing.assert_array_equal(embedding.embeddings.numpy(), matrix)
    assert embedding.embeddings.name not in {w.name for w in model.trainable_weights}
    assert model.count_params() - sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 80


def test_embedding_bag_counts_and_ignores_padding():
    model = embedding_bag_classifier(100, 16, num_classes=1)
    assert model.count_params() == 100 * 16 + 17
    np.testing.assert_allclose(model(np.array([[5, 6, 0, 0]])).numpy(), model(np.array([[5, 6]])).numpy(), atol=1e-6)
    assert np.isfinite(model(np.zeros((2, 4), "int32")).numpy()).all()  # a text without tokens: no 0/0


@pytest.mark.learned
def test_tagger_shapes_masked_loss_and_learning():
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 20, size=(64, 10))
    tokens[:, 7:] = 0  # padding
    tags = (tokens % 3).astype("int32")  # a per-token rule the tagger can learn
    model = rnn_tagger(20, 3, embedding_dim=8, cell="simple", units=8, bidirectional=False, sequence_length=10)
    assert model.output_shape == (None, 10, 3)
    compile_model(model, "adam", 0.05, metrics=())
    garbage = tags.copy()
    garbage[:, 7:] = 2
    # padded steps are masked: their labels do not change the loss
    assert model.evaluate(tokens, tags, verbose=0) == pytest.approx(
        model.evaluate(tokens, garbage, verbose=0), rel=1e-5
    )
    history = model.fit(tokens, tags, epochs=6, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


@pytest.mark.parametrize("cell, states", [("lstm", 4), ("gru", 2)])
def test_char_lm_step_model_carries_state(cell, states):
    model = char_language_model(12, 6, 8, cell=cell, layers=2)
    assert model.output_shape == (None, None, 12)
    per_layer = hand_params(cell, 6, 8) + hand_params(cell, 8, 8)
    assert model.count_params() == 12 * 6 + per_layer + (8 + 1) * 12
    step = char_lm_step_model(model)
    assert len(step.inputs) == 1 + states and len(step.outputs) == 1 + states
    x = np.random.default_rng(1).integers(0, 12, size=(3, 5))
    full = model(x).numpy()
    state = [keras.ops.convert_to_tensor(s) for s in initial_states(step, 3)]
    for t in range(5):
        logits, *state = step([keras.ops.convert_to_tensor(x[:, t : t + 1]), *state])
        np.testing.assert_allclose(logits.numpy()[:, 0], full[:, t], atol=1e-5)
    # the return_state builder has the same weights layout
    fresh = char_language_model(12, 6, 8, cell=cell, layers=2, return_state=True)
    fresh.set_weights(model.get_weights())
    np.testing.assert_allclose(fresh([x, *initial_states(fresh, 3)])[0].numpy(), full, atol=1e-5)


@pytest.mark.learned
def test_char_lm_learns_and_validates():
    text = np.array([i % 5 for i in range(600)])  # "0123401234...": perfectly predictable
    x = np.stack([text[i : i + 20] for i in range(0, 560, 7)])
    y = np.stack([text[i + 1 : i + 21] for i in range(0, 560, 7)])
    model = char_language_model(5, 4, 16, cell="gru")
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=8, batch_size=80, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    with pytest.raises(ValueError, match="num_classes"):
        char_language_model(5, num_classes=6)
    with pytest.raises(ValueError, match="vocab_size"):
        char_language_model()


@pytest.mark.parametrize("clip", [{"clipnorm": 1.0}, {"clipvalue": 0.01}, {}])
def test_gradient_clipping_bounds_the_update(clip):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")])
    lr = 0.1
    compile_model(model, "sgd", lr, loss="mse", metrics=(), **clip)
    x = np.full((8, 4), 1e4, "float32")  # a batch that produces a huge gradient
    y = np.zeros((8, 3), "float32")
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.train_on_batch(x, y)
    deltas = [w.numpy() - b for w, b in zip(model.trainable_weights, before)]
    if "clipnorm" in clip:  # Keras clips each variable's gradient to norm <= clipnorm
        for delta in deltas:
            assert np.linalg.norm(delta) <= lr * clip["clipnorm"] * (1 + 1e-5)
        assert np.linalg.norm(deltas[0]) == pytest.approx(lr * clip["clipnorm"], rel=1e-4)
    elif "clipvalue" in clip:
        for delta in deltas:
            assert np.abs(delta).max() <= lr * clip["clipvalue"] * (1 + 1e-5)
    else:  # without clipping the same batch moves the weights by orders of magnitude more
        assert np.linalg.norm(deltas[0]) > 1e3
