"""Encoder–decoder RNNs with optional Bahdanau or Luong attention (the seed notes, section 5.11).

:func:`seq2seq` builds three Keras models that share one set of layers:

- ``training``: teacher forcing (Sutskever et al. 2014, "Sequence to Sequence Learning with
  Neural Networks"): ``[source_ids (B, S), decoder_input_ids (B, T)]`` → next-token logits
  ``(B, T, target_vocab)``, where ``decoder_input_ids`` is the target shifted right by one
  (start token first). Id 0 is padding on both sides and is masked (``Embedding(mask_zero=True)``
  for the recurrent layers, an explicit source mask for the attention scores).
- ``encoder``: ``source_ids`` → ``[encoder_outputs (B, S, units), *states]``.
- ``decoder``: one decoding step, ``[token (B, 1), *states]`` (plus ``encoder_outputs`` and the
  boolean ``source_mask (B, S)`` with attention) → ``[logits (B, V), *new_states]`` (plus the
  attention weights ``(B, S)`` with attention). Inference carries the states from step to step
  (:mod:`kerasdl.seq2seq.decoding`) instead of re-running the decoder over the prefix.

Attention (the decoder state scored against every encoder state, so the last encoder state is no
longer a bottleneck):

- ``"bahdanau"``: additive score ``v^T tanh(W_q h_t + W_k h_s)`` (Bahdanau, Cho & Bengio 2015,
  "Neural Machine Translation by Jointly Learning to Align and Translate"): ``Dense(units,
  use_bias=False)`` for ``W_q`` and ``W_k`` and Keras' ``AdditiveAttention(use_scale=True)``,
  whose scale vector is ``v``.
- ``"luong"``: multiplicative score (Luong, Pham & Manning 2015, "Effective Approaches to
  Attention-based Neural Machine Translation"), ``luong_score="general"`` ``h_t^T W_a h_s``
  (``W_a`` applied to the encoder states once, then Keras' ``Attention`` dot score) or
  ``"dot"`` ``h_t^T h_s`` (no weights).

Both attentions sit where Luong et al. put them, after the decoder RNN: the query is the current
decoder output ``h_t``, the context ``c_t`` is combined as ``h~_t = tanh(W_c [c_t; h_t])``
(Luong eq. 5) and ``h~_t`` goes to the output projection. Bahdanau's paper instead feeds
``c_t`` into the RNN input and scores with ``h_{t-1}``; that needs a hand-written recurrent
cell and makes teacher-forced training one step at a time, so kerasdl keeps Bahdanau's *score*
with Luong's placement (as the TensorFlow NMT tutorial does): the whole target sequence is then
one RNN call plus one attention call, and Keras' own attention layers fit unchanged.

Parameter counts (tested in ``tests/test_seq2seq.py``), ``E`` embedding size, ``U`` units,
``I`` a recurrent layer's input size:

- LSTM layer: ``4 (U (I + U) + U)``; GRU (Keras' ``reset_after=True``): ``3 (U (I + U) + 2 U)``;
  a bidirectional encoder layer: two of them with ``U/2`` units each (concatenated to ``U``);
- embeddings ``V_s E + V_t E``; output projection ``U V_t + V_t``;
- Bahdanau ``2 U^2 + U`` (``W_q``, ``W_k``, ``v``) plus ``W_c``: ``2 U^2``; Luong general
  ``U^2 + 2 U^2``; Luong dot ``2 U^2``; no attention: nothing.
"""

from __future__ import annotations

from typing import NamedTuple

import keras

from kerasdl._validation import check_choice, check_float, check_int

CELLS = ("lstm", "gru")
ATTENTIONS = (None, "bahdanau", "luong")
LUONG_SCORES = ("general", "dot")


class Seq2SeqModels(NamedTuple):
    """The three models :func:`seq2seq` returns (they share their layers and weights).

    Attributes:
        training: ``[source_ids, decoder_input_ids]`` → logits ``(B, T, V)`` (teacher forcing).
        encoder: ``source_ids`` → ``[encoder_outputs, *states]``.
        decoder: one step (see the module docstring for its inputs and outputs).
        attention: ``None``, ``"bahdanau"`` or ``"luong"``.
        num_states: recurrent state tensors per step (2 for LSTM: ``h, c``; 1 for GRU).
    """

    training: keras.Model
    encoder: keras.Model
    decoder: keras.Model
    attention: str | None
    num_states: int


def _rnn(cell: str, units: int, name: str, **kwargs):
    layer = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    return layer(units, return_sequences=True, return_state=True, name=name, **kwargs)


def seq2seq(
    source_vocab: int,
    target_vocab: int,
    embedding_dim: int = 64,
    units: int = 128,
    cell: str = "lstm",
    attention: str | None = None,
    encoder_layers: int = 1,
    bidirectional_encoder: bool = False,
    dropout: float = 0.0,
    *,
    luong_score: str = "general",
    name: str = "seq2seq",
) -> Seq2SeqModels:
    """Build an encoder–decoder RNN (training, encoder and one-step decoder models).

    Args:
        source_vocab: source token ids ``0..source_vocab-1`` (0 = padding).
        target_vocab: target token ids ``0..target_vocab-1`` (0 = padding).
        embedding_dim: size of both token embeddings.
        units: recurrent units of the decoder and of each encoder layer (a bidirectional encoder
            layer has ``units // 2`` per direction, concatenated, so ``units`` must be even).
        cell: ``"lstm"`` or ``"gru"``.
        attention: ``None``, ``"bahdanau"`` (additive) or ``"luong"`` (multiplicative).
        encoder_layers: stacked encoder RNN layers; the last one's final states start the decoder.
        bidirectional_encoder: every encoder layer reads the source both ways.
        dropout: rate of the dropout after both embeddings and before the output projection.
        luong_score: ``"general"`` (``h_t^T W_a h_s``) or ``"dot"`` (``h_t^T h_s``), with Luong.
        name: prefix of the models' names.

    Returns:
        :class:`Seq2SeqModels` ``(training, encoder, decoder, attention, num_states)``.

    Raises:
        ValueError: a size, cell, attention or rate outside its allowed values.
    """
    source_vocab = check_int("source_vocab", source_vocab, minimum=2)
    target_vocab = check_int("target_vocab", target_vocab, minimum=2)
    embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
    units = check_int("units", units, minimum=1)
    check_choice("cell", cell, CELLS)
    check_choice("attention", attention, ATTENTIONS)
    check_choice("luong_score", luong_score, LUONG_SCORES)
    encoder_layers = check_int("encoder_layers", encoder_layers, minimum=1)
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    if bidirectional_encoder and units % 2:
        raise ValueError(f"units must be even with bidirectional_encoder=True (units // 2 per direction), got {units}")
    num_states = 2 if cell == "lstm" else 1

    # ---------------------------------------------------------------- layers (shared by the three models)
    source_embedding = keras.layers.Embedding(source_vocab, embedding_dim, mask_zero=True, name="source_embedding")
    target_embedding = keras.layers.Embedding(target_vocab, embedding_dim, mask_zero=True, name="target_embedding")
    encoder_rnns = []
    for i in range(encoder_layers):
        if bidirectional_encoder:
            encoder_rnns.append(
                keras.layers.Bidirectional(_rnn(cell, units // 2, f"encoder_{cell}_{i}"), name=f"encoder_bi{cell}_{i}")
            )
        else:
            encoder_rnns.append(_rnn(cell, units, f"encoder_{cell}_{i}"))
    decoder_rnn = _rnn(cell, units, f"decoder_{cell}")
    source_dropout = keras.layers.Dropout(dropout, name="source_dropout")
    target_dropout = keras.layers.Dropout(dropout, name="target_dropout")
    output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
    projection = keras.layers.Dense(target_vocab, name="logits")
    if attention == "bahdanau":
        query_dense = keras.layers.Dense(units, use_bias=False, name="bahdanau_query")  # W_q
        key_dense = keras.layers.Dense(units, use_bias=False, name="bahdanau_key")  # W_k
        attention_layer = keras.layers.AdditiveAttention(use_scale=True, name="bahdanau_attention")  # v
    elif attention == "luong":
        query_dense = None
        key_dense = keras.layers.Dense(units, use_bias=False, name="luong_w_a") if luong_score == "general" else None
        attention_layer = keras.layers.Attention(use_scale=False, score_mode="dot", name="luong_attention")
    if attention is not None:
        # Luong eq. 5: h~_t = tanh(W_c [c_t; h_t]), no bias.
        combine = keras.layers.Dense(units, activation="tanh", use_bias=False, name="attention_combine")
        concat = keras.layers.Concatenate(name="context_and_state")

    def encode(source_ids):
        x = source_dropout(source_embedding(source_ids))
        for rnn in encoder_rnns:
            x, *states = rnn(x)
        if bidirectional_encoder:  # [forward states..., backward states...] → per-state concatenation
            half = len(states) // 2
            states = [
                keras.layers.Concatenate(name=f"encoder_state_{j}")([states[j], states[half + j]]) for j in range(half)
            ]
        return x, states

    def decode(decoder_ids, states, encoder_outputs, source_mask):
        """Decoder RNN over ``decoder_ids`` (any length) from ``states`` → (logits, states, weights)."""
        y = target_dropout(target_embedding(decoder_ids))
        y, *new_states = decoder_rnn(y, initial_state=states)
        weights = None
        if attention is not None:
            query = query_dense(y) if query_dense is not None else y
            keys = key_dense(encoder_outputs) if key_dense is not None else encoder_outputs
            context, weights = attention_layer(
                [query, encoder_outputs, keys], mask=[None, source_mask], return_attention_scores=True
            )
            y = combine(concat([context, y]))
        return projection(output_dropout(y)), new_states, weights

    # ---------------------------------------------------------------- training model (teacher forcing)
    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    decoder_ids = keras.Input((None,), dtype="int32", name="decoder_input_ids")
    encoder_outputs, states = encode(source_ids)
    source_mask = keras.ops.not_equal(source_ids, 0)
    logits, _, _ = decode(decoder_ids, states, encoder_outputs, source_mask)
    training = keras.Model([source_ids, decoder_ids], logits, name=f"{name}_training")

    # ---------------------------------------------------------------- inference models
    encoder = keras.Model(source_ids, [encoder_outputs, *states], name=f"{name}_encoder")
    token = keras.Input((1,), dtype="int32", name="token")
    state_inputs = [keras.Input((units,), name=f"state_{j}") for j in range(num_states)]
    if attention is None:
        step_logits, step_states, _ = decode(token, state_inputs, None, None)
        decoder = keras.Model([token, *state_inputs], [step_logits[:, 0, :], *step_states], name=f"{name}_decoder_step")
    else:
        memory = keras.Input((None, units), name="encoder_outputs")
        memory_mask = keras.Input((None,), dtype="bool", name="source_mask")
        step_logits, step_states, weights = decode(token, state_inputs, memory, memory_mask)
        decoder = keras.Model(
            [token, memory, memory_mask, *state_inputs],
            [step_logits[:, 0, :], *step_states, weights[:, 0, :]],
            name=f"{name}_decoder_step",
        )
    return Seq2SeqModels(training, encoder, decoder, attention, num_states)


def rnn_parameters(cell: str, input_dim: int, units: int) -> int:
    """Weights of one Keras LSTM (``4 (U (I + U) + U)``) or GRU (``3 (U (I + U) + 2 U)``,
    ``reset_after=True``: separate input and recurrent biases) layer."""
    check_choice("cell", cell, CELLS)
    if cell == "lstm":
        return 4 * (units * (input_dim + units) + units)
    return 3 * (units * (input_dim + units) + 2 * units)


def expected_parameters(
    source_vocab: int,
    target_vocab: int,
    embedding_dim: int,
    units: int,
    cell: str = "lstm",
    attention: str | None = None,
    encoder_layers: int = 1,
    bidirectional_encoder: bool = False,
    *,
    luong_score: str = "general",
) -> int:
    """The parameter count of :func:`seq2seq`'s training model from the formulas (module docstring)."""
    total = (source_vocab + target_vocab) * embedding_dim
    input_dim = embedding_dim
    for _ in range(encoder_layers):
        if bidirectional_encoder:
            total += 2 * rnn_parameters(cell, input_dim, units // 2)
        else:
            total += rnn_parameters(cell, input_dim, units)
        input_dim = units
    total += rnn_parameters(cell, embedding_dim, units)
    total += units * target_vocab + target_vocab
    if attention == "bahdanau":
        total += 2 * units * units + units
    elif attention == "luong" and luong_score == "general":
        total += units * units
    if attention is not None:
        total += 2 * units * units
    return total
