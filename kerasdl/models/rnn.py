"""Recurrent sequence models: a many-to-one classifier, a many-to-many tagger and a
character-level language model, on Keras' ``SimpleRNN`` / ``LSTM`` / ``GRU`` layers.

Parameter counts per recurrent layer with ``n`` inputs and ``u`` units (Keras' layouts;
course notes §5.11 "LSTM and GRU" describe the gates):

=========  ==========================================  ===================================
cell       formula                                     why
=========  ==========================================  ===================================
simple     ``u * (n + u) + u``                          one input matrix, one recurrent, bias
lstm       ``4 * (u * (n + u) + u)``                    input, forget, cell and output gates
gru        ``3 * (u * (n + u) + 2 * u)``                update, reset, candidate; Keras'
                                                       default ``reset_after=True`` keeps
                                                       separate input and recurrent biases
=========  ==========================================  ===================================

A bidirectional layer doubles the count and feeds ``2 * u`` features to the next layer.

Token id 0 is padding: with ``mask_zero=True`` (the default of the classifier and the
tagger) the embedding emits a mask, so the recurrent layers skip padded steps and the
tagger's loss and metrics ignore them. Exploding gradients (the seeds' "gradient
thresholds") are handled by the optimizer: ``compile_model(model, clipnorm=1.0)``.
"""

from __future__ import annotations

import keras
import numpy as np

from kerasdl._validation import check_choice, check_float, check_int
from kerasdl.layers.sequence_pooling import MaskedGlobalMaxPooling1D

CELLS = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
POOLINGS = ("last", "max", "mean")


def recurrent_params(cell: str, inputs: int, units: int) -> int:
    """Parameters of one Keras recurrent layer (formulas in the module docstring)."""
    check_choice("cell", cell, CELLS)
    core = units * (inputs + units)
    return {"simple": core + units, "lstm": 4 * (core + units), "gru": 3 * (core + 2 * units)}[cell]


def _sequence_shape(input_shape, sequence_length):
    """``(T,)`` or ``(None,)`` (any length) from ``input_shape`` or ``sequence_length``."""
    if input_shape is not None and sequence_length is not None:
        raise ValueError("give either input_shape or sequence_length, not both")
    if input_shape is not None:
        try:
            shape = tuple(input_shape)
        except TypeError:
            raise ValueError(f"input_shape must be a 1-tuple (sequence_length,), got {input_shape!r}") from None
        if len(shape) != 1:
            raise ValueError(f"input_shape must be a 1-tuple (sequence_length,) of token ids, got {input_shape!r}")
        sequence_length = shape[0]
    if sequence_length is None:
        return (None,)
    return (check_int("sequence_length", sequence_length, minimum=1),)


def _check_common(vocab_size, embedding_dim, cell, units, layers, dropout):
    check_int("vocab_size", vocab_size, minimum=2)
    check_int("embedding_dim", embedding_dim, minimum=1)
    check_choice("cell", cell, CELLS)
    check_int("units", units, minimum=1)
    check_int("layers", layers, minimum=1)
    check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)


def _embedding(vocab_size, embedding_dim, embedding_matrix, trainable, mask_zero):
    """The token embedding: learned, or initialised from ``embedding_matrix`` (e.g. from
    :func:`kerasdl.data.text.load_word_vectors`), frozen when ``trainable=False``."""
    weights = None
    if embedding_matrix is not None:
        matrix = np.asarray(embedding_matrix, dtype="float32")
        if matrix.shape != (vocab_size, embedding_dim):
            raise ValueError(
                f"embedding_matrix must have shape (vocab_size, embedding_dim) = ({vocab_size}, {embedding_dim}), "
                f"got {matrix.shape}"
            )
        weights = [matrix]
    return keras.layers.Embedding(
        vocab_size, embedding_dim, mask_zero=mask_zero, weights=weights, trainable=bool(trainable), name="embedding"
    )


def _recurrent(cell, units, index, *, return_sequences, bidirectional=False, return_state=False):
    name = f"{cell}_{index}"
    layer = CELLS[cell](units, return_sequences=return_sequences, return_state=return_state, name=name)
    if bidirectional:
        return keras.layers.Bidirectional(layer, name=f"bidirectional_{index}")
    return layer


def _head(x, num_classes, name="predictions"):
    """Sigmoid unit for ``num_classes=1`` (binary: the positive-class probability), else softmax."""
    activation = "sigmoid" if num_classes == 1 else "softmax"
    return keras.layers.Dense(num_classes, activation=activation, name=name)(x)


def _encoder(x, cell, units, layers, bidirectional, dropout, *, last_returns_sequences):
    for index in range(1, layers + 1):
        returns = last_returns_sequences or index < layers
        x = _recurrent(cell, units, index, return_sequences=returns, bidirectional=bidirectional)(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    return x


def rnn_classifier(
    vocab_size: int = 20000,
    embedding_dim: int = 128,
    cell: str = "lstm",
    units: int = 64,
    layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    num_classes: int = 1,
    *,
    pooling: str = "last",
    embedding_matrix=None,
    trainable_embedding: bool = True,
    mask_zero: bool = True,
    sequence_length: int | None = None,
    input_shape=None,
    name: str | None = None,
):
    """Many-to-one recurrent classifier: token ids → class probabilities (sentiment).

    ``Input(int32 ids) → Embedding(mask_zero) → [Dropout] → layers × (Bi)RNN → [pool] → Dense``.
    Every recurrent layer but the last returns its whole sequence. How the last one becomes
    one vector is ``pooling``: ``"last"`` its final state (for a bidirectional layer: the
    forward and backward final states concatenated); ``"max"`` the element-wise maximum of
    its states over the unpadded steps (BiLSTM-max, Conneau et al. 2017,
    :class:`kerasdl.layers.MaskedGlobalMaxPooling1D`); ``"mean"`` their mean. Pooling adds
    no parameters. ``num_classes=1`` ends in one sigmoid unit (the positive-class
    probability, binary cross-entropy); more classes end in a softmax.

    ``input_shape=(T,)`` or ``sequence_length=T`` fixes the length; by default any length
    is accepted. ``embedding_matrix`` (shape ``(vocab_size, embedding_dim)``) initialises
    the embedding, frozen with ``trainable_embedding=False``. Padding id 0 is masked when
    ``mask_zero``. Parameters: ``vocab_size * embedding_dim`` + the recurrent layers
    (:func:`recurrent_params`, ×2 when bidirectional) + ``(features + 1) * num_classes``.
    """
    _check_common(vocab_size, embedding_dim, cell, units, layers, dropout)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    check_choice("pooling", pooling, POOLINGS)
    shape = _sequence_shape(input_shape, sequence_length)
    tokens = keras.Input(shape=shape, dtype="int32", name="tokens")
    x = _embedding(vocab_size, embedding_dim, embedding_matrix, trainable_embedding, mask_zero)(tokens)
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    x = _encoder(x, cell, units, layers, bool(bidirectional), dropout, last_returns_sequences=pooling != "last")
    if pooling == "max":
        x = MaskedGlobalMaxPooling1D(name="max_over_time")(x)
    elif pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D(name="mean_over_time")(x)
    outputs = _head(x, num_classes)
    prefix = "bi" if bidirectional else ""
    return keras.Model(tokens, outputs, name=name or f"{prefix}{cell}_classifier")


def embedding_bag_classifier(
    vocab_size: int = 20000,
    embedding_dim: int = 64,
    num_classes: int = 1,
    dropout: float = 0.0,
    *,
    embedding_matrix=None,
    trainable_embedding: bool = True,
    sequence_length: int | None = None,
    input_shape=None,
    name: str | None = None,
):
    """Embedding-bag baseline (fastText-style, Joulin et al. 2016): the mean of the
    non-padding token embeddings → Dense. Word order is ignored; the baseline the recurrent
    classifiers must beat. Parameters: ``vocab_size * embedding_dim + (embedding_dim + 1) *
    num_classes``."""
    check_int("vocab_size", vocab_size, minimum=2)
    check_int("embedding_dim", embedding_dim, minimum=1)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    shape = _sequence_shape(input_shape, sequence_length)
    tokens = keras.Input(shape=shape, dtype="int32", name="tokens")
    x = _embedding(vocab_size, embedding_dim, embedding_matrix, trainable_embedding, False)(tokens)
    # Masked mean written out: GlobalAveragePooling1D's masked mean is 0/0 = NaN for a text
    # with no tokens (e.g. only punctuation); here such a text averages to the zero vector.
    present = keras.ops.expand_dims(keras.ops.cast(keras.ops.not_equal(tokens, 0), x.dtype), -1)
    count = keras.ops.maximum(keras.ops.sum(present, axis=1), 1.0)
    x = keras.layers.Identity(name="mean_of_embeddings")(keras.ops.sum(x * present, axis=1) / count)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(tokens, _head(x, num_classes), name=name or "embedding_bag_classifier")


def rnn_tagger(
    vocab_size: int = 20000,
    num_classes: int = 10,
    embedding_dim: int = 64,
    cell: str = "lstm",
    units: int = 64,
    layers: int = 1,
    bidirectional: bool = True,
    dropout: float = 0.0,
    *,
    embedding_matrix=None,
    trainable_embedding: bool = True,
    mask_zero: bool = True,
    sequence_length: int | None = None,
    input_shape=None,
    name: str | None = None,
):
    """Many-to-many recurrent tagger: one label per time step (part-of-speech, NER).

    Output shape ``(batch, T, num_classes)`` (softmax over the tags at every step). With
    ``mask_zero`` the padded steps carry the embedding's mask through to the output, so
    Keras leaves them out of the loss and metrics. Same arguments as
    :func:`rnn_classifier`; ``num_classes`` is the number of tags.
    """
    _check_common(vocab_size, embedding_dim, cell, units, layers, dropout)
    num_classes = check_int("num_classes", num_classes, minimum=2)
    shape = _sequence_shape(input_shape, sequence_length)
    tokens = keras.Input(shape=shape, dtype="int32", name="tokens")
    x = _embedding(vocab_size, embedding_dim, embedding_matrix, trainable_embedding, mask_zero)(tokens)
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    x = _encoder(x, cell, units, layers, bool(bidirectional), dropout, last_returns_sequences=True)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="tags")(x)  # applied per step
    return keras.Model(tokens, outputs, name=name or f"{cell}_tagger")


def char_language_model(
    vocab_size: int | None = None,
    embedding_dim: int = 64,
    units: int = 256,
    cell: str = "lstm",
    layers: int = 1,
    dropout: float = 0.0,
    *,
    return_state: bool = False,
    sequence_length: int | None = None,
    input_shape=None,
    num_classes: int | None = None,
    name: str | None = None,
):
    """Next-character language model (Karpathy's char-rnn; the TF text-generation tutorial).

    ``Input(int32 char ids, (batch, T)) → Embedding → layers × RNN(return_sequences) →
    Dense(vocab_size)``. The output is **logits** ``(batch, T, vocab_size)``, one
    next-character distribution per step: train with
    ``SparseCategoricalCrossentropy(from_logits=True)`` on targets shifted by one; sample
    with ``softmax(logits / temperature)``. No id is masked (every id is a character).

    ``return_state=True`` builds the *step* model for generation, which carries the
    recurrent state instead of re-reading the prefix:

    - inputs: ``[tokens, *states]``; outputs: ``[logits, *new_states]``;
    - states in layer order, each ``(batch, units)`` float32: LSTM layers contribute
      ``[h, c]``, GRU and SimpleRNN layers ``[h]`` (names ``<cell>_<i>_h`` / ``_c``);
      zeros are the start state (:func:`initial_states`);
    - its layers have the same names and weights layout as the training model, so
      ``step.set_weights(model.get_weights())`` transfers a trained model, or use
      :func:`char_lm_step_model`, which shares the trained model's layers directly.

    ``vocab_size`` may also be given as ``num_classes`` (the output size), so the builder
    fits ``BUILDERS``' ``(input_shape, num_classes)`` calling convention.
    """
    if vocab_size is None:
        vocab_size = num_classes
    elif num_classes is not None and num_classes != vocab_size:
        raise ValueError(f"num_classes ({num_classes!r}) must equal vocab_size ({vocab_size!r}) for a language model")
    if vocab_size is None:
        raise ValueError("vocab_size (the number of distinct characters) is required")
    _check_common(vocab_size, embedding_dim, cell, units, layers, dropout)
    shape = _sequence_shape(input_shape, sequence_length)
    layer_objects = {"embedding": keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")}
    for index in range(1, layers + 1):
        layer_objects[f"{cell}_{index}"] = _recurrent(cell, units, index, return_sequences=True, return_state=True)
        if dropout:
            layer_objects[f"dropout_{index}"] = keras.layers.Dropout(dropout, name=f"dropout_{index}")
    layer_objects["logits"] = keras.layers.Dense(vocab_size, name="logits")
    model = _char_lm_graph(layer_objects, cell, layers, units, shape, return_state)
    suffix = "_step" if return_state else ""
    model.name = name or f"char_{cell}_language_model{suffix}"
    return model


def _state_names(cell, layers):
    per_layer = ("h", "c") if cell == "lstm" else ("h",)
    return [f"{cell}_{i}_{s}" for i in range(1, layers + 1) for s in per_layer]


def _char_lm_graph(layer_objects, cell, layers, units, shape, return_state):
    """Wire the char-LM layers; with ``return_state`` the states are inputs and outputs."""
    tokens = keras.Input(shape=shape, dtype="int32", name="tokens")
    names = _state_names(cell, layers)
    states_in = [keras.Input(shape=(units,), name=n) for n in names] if return_state else []
    per_layer = len(names) // layers
    x = layer_objects["embedding"](tokens)
    states_out = []
    for index in range(1, layers + 1):
        initial = states_in[(index - 1) * per_layer : index * per_layer] or None
        x, *new_states = layer_objects[f"{cell}_{index}"](x, initial_state=initial)
        states_out.extend(new_states)
        if f"dropout_{index}" in layer_objects:
            x = layer_objects[f"dropout_{index}"](x)
    logits = layer_objects["logits"](x)
    if not return_state:
        return keras.Model(tokens, logits)
    # Identity layers give the state outputs their documented names.
    named = [keras.layers.Identity(name=f"{n}_out")(s) for n, s in zip(names, states_out)]
    return keras.Model([tokens, *states_in], [logits, *named])


def char_lm_step_model(model):
    """The ``return_state`` step model of a trained :func:`char_language_model`, sharing its
    layers (and so its weights: no copy, later training shows through)."""
    embedding = model.get_layer("embedding")
    recurrent = [layer for layer in model.layers if isinstance(layer, tuple(CELLS.values()))]
    if not recurrent:
        raise ValueError(f"{model.name!r} has no recurrent layers: not a char_language_model")
    cell = next(name for name, cls in CELLS.items() if type(recurrent[0]) is cls)
    layer_objects = {"embedding": embedding, "logits": model.get_layer("logits")}
    for index, layer in enumerate(recurrent, start=1):
        layer_objects[f"{cell}_{index}"] = layer
        try:
            layer_objects[f"dropout_{index}"] = model.get_layer(f"dropout_{index}")
        except ValueError:
            pass
    step = _char_lm_graph(layer_objects, cell, len(recurrent), recurrent[0].units, (None,), True)
    step.name = f"{model.name}_step"
    return step


def initial_states(step_model, batch_size: int = 1) -> list:
    """Zero start states for a ``return_state`` char-LM step model: one float32
    ``(batch_size, units)`` array per state input, in input order."""
    check_int("batch_size", batch_size, minimum=1)
    return [np.zeros((batch_size, int(t.shape[-1])), "float32") for t in step_model.inputs[1:]]
