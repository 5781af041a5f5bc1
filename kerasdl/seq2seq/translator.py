"""A trained encoder–decoder with its tokenizers: strings in, decoded strings out, in one graph.

:class:`Translator` joins :func:`kerasdl.seq2seq.models.seq2seq`'s encoder and one-step decoder
to :mod:`kerasdl.seq2seq.decoding`'s greedy and beam-search loops and to the character
tokenizers, so ``translate(texts)`` tokenises, runs beam search and detokenises inside one
``tf.function``: the graph :func:`kerasdl.seq2seq.export.export_translator` saves.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kerasdl._validation import check_choice, check_float, check_int
from kerasdl.seq2seq.decoding import beam_search, greedy_decode, tile_beams
from kerasdl.seq2seq.vocab import END, START, CharTokenizer


class _FunctionCache:
    """Compiled decoding functions by (method, width); a plain object so tracking skips it."""

    def __init__(self):
        self.functions = {}


class Translator(tf.Module):
    """Source strings → target strings with a trained seq2seq model.

    Args:
        models: :class:`~kerasdl.seq2seq.models.Seq2SeqModels` (trained).
        source_tokenizer: :class:`~kerasdl.seq2seq.vocab.CharTokenizer` of the source side.
        target_tokenizer: the same for the target side.
        max_length: most target tokens decoded (the end token included).
        beam_width: ``k`` of the beam search that :meth:`translate` runs.
        alpha: Wu et al. 2016 length-normalisation exponent of that beam search.
    """

    def __init__(
        self,
        models,
        source_tokenizer: CharTokenizer,
        target_tokenizer: CharTokenizer,
        *,
        max_length: int,
        beam_width: int = 5,
        alpha: float = 0.6,
        name: str = "translator",
    ):
        super().__init__(name=name)
        self.encoder = models.encoder
        self.decoder = models.decoder
        self.training_model = models.training
        self.attention = models.attention
        self.num_states = models.num_states
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_length = check_int("max_length", max_length, minimum=1)
        self.beam_width = check_int("beam_width", beam_width, minimum=1)
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self._compiled_fns = _FunctionCache()  # a plain object: not saved with the SavedModel

    # ------------------------------------------------------------------ graph pieces
    def _encode(self, source_ids):
        memory, *states = self.encoder(source_ids, training=False)
        # tf.identity drops the Keras mask riding on the eager tensor: the step model takes the
        # mask as its own input (and would warn that it cannot use an attached one).
        return tf.identity(memory), tf.not_equal(source_ids, 0), [tf.identity(s) for s in states]

    def _step_fn(self, memory, mask):
        def step(tokens, states):
            if self.attention is None:
                logits, *new_states = self.decoder([tokens[:, None], *states], training=False)
                weights = tf.zeros(tf.shape(mask), tf.float32)
            else:
                *outputs, weights = self.decoder([tokens[:, None], memory, mask, *states], training=False)
                logits, new_states = outputs[0], outputs[1:]
            return logits, list(new_states), weights

        return step

    def greedy_ids(self, source_ids):
        """:class:`~kerasdl.seq2seq.decoding.GreedyResult` for ``(B, S)`` source ids."""
        memory, mask, states = self._encode(source_ids)
        shape = tf.shape(source_ids)
        return greedy_decode(
            self._step_fn(memory, mask),
            states,
            batch_size=shape[0],
            source_length=shape[1],
            start_id=START,
            end_id=END,
            max_length=self.max_length,
        )

    def beam_ids(self, source_ids, beam_width: int | None = None, alpha: float | None = None):
        """:class:`~kerasdl.seq2seq.decoding.BeamResult` for ``(B, S)`` source ids."""
        k = self.beam_width if beam_width is None else beam_width
        memory, mask, states = self._encode(source_ids)
        shape = tf.shape(source_ids)
        return beam_search(
            self._step_fn(tile_beams(memory, k), tile_beams(mask, k)),
            states,
            batch_size=shape[0],
            source_length=shape[1],
            start_id=START,
            end_id=END,
            max_length=self.max_length,
            beam_width=k,
            alpha=self.alpha if alpha is None else alpha,
        )

    # ------------------------------------------------------------------ string in, string out
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def translate(self, texts):
        """Beam search (``beam_width``, ``alpha``): ``{"translation": (B,) strings, "score": (B,)}``."""
        from kerasdl.export import call_on_batch

        def run(texts):
            result = self.beam_ids(self.source_tokenizer.encode_graph(texts))
            return {
                "translation": self.target_tokenizer.decode_graph(result.tokens[:, 0], result.lengths[:, 0]),
                "score": result.scores[:, 0],
            }

        return call_on_batch(run, texts)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def translate_greedy(self, texts):
        """Greedy decoding: ``{"translation": (B,) strings, "score": (B,) summed log-probabilities}``."""
        from kerasdl.export import call_on_batch

        def run(texts):
            result = self.greedy_ids(self.source_tokenizer.encode_graph(texts))
            return {
                "translation": self.target_tokenizer.decode_graph(result.tokens, result.lengths),
                "score": result.log_probs,
            }

        return call_on_batch(run, texts)

    # ------------------------------------------------------------------ Python conveniences
    def _compiled(self, method: str, beam_width: int | None):
        cache = self._compiled_fns.functions
        key = (method, beam_width)
        if key not in cache:
            if method == "greedy":
                cache[key] = tf.function(self.greedy_ids, reduce_retracing=True)
            else:
                cache[key] = tf.function(lambda ids: self.beam_ids(ids, beam_width), reduce_retracing=True)
        return cache[key]

    def decode(self, sources, *, method: str = "beam", beam_width: int | None = None, batch_size: int = 256):
        """Translate a list of strings in batches; returns ``(translations, attention)``.

        ``attention[i]`` is the ``(output length, source length)`` weight matrix of the chosen
        hypothesis (all zeros without attention). ``method``: ``"greedy"`` or ``"beam"``.
        """
        check_choice("method", method, ("greedy", "beam"))
        batch_size = check_int("batch_size", batch_size, minimum=1)
        if beam_width is not None:
            beam_width = check_int("beam_width", beam_width, minimum=1)
        fn = self._compiled(method, beam_width)
        texts, attention = [], []
        for start in range(0, len(sources), batch_size):
            chunk = list(sources[start : start + batch_size])
            ids = self.source_tokenizer.encode(chunk)
            if ids.shape[1] == 0:
                ids = np.zeros((len(chunk), 1), "int32")
            result = fn(tf.constant(ids))
            tokens, lengths, weights = result.tokens.numpy(), result.lengths.numpy(), result.attention.numpy()
            if method == "beam":
                tokens, lengths, weights = tokens[:, 0], lengths[:, 0], weights[:, 0]
            for row, length, w, source in zip(tokens, lengths, weights, chunk):
                text = self.target_tokenizer.decode(row[:length])
                texts.append(text)
                attention.append(w[: len(text), : len(source)])
        return texts, attention
