"""Greedy and beam-search decoding over a one-step decoder, the recurrent state carried.

Both decoders are plain TensorFlow functions built from ``tf.while_loop`` (AutoGraph turns
them into one graph inside a ``tf.function``, and the translate app exports that graph in its
SavedModel). Each iteration feeds only the newest token and the states the previous step
returned, so a sequence of length ``T`` costs ``T`` decoder steps, not ``T (T + 1) / 2``.

They take a *step function* ``step(tokens (N,), states) -> (logits (N, V), new_states,
attention (N, S))`` where ``states`` is any nest of ``(N, ...)`` tensors: for a trained model
:class:`Translator` builds it from :func:`kerasdl.seq2seq.models.seq2seq`'s encoder and
one-step decoder; the tests hand-build one from a table of next-token probabilities.

Beam search (the seed notes: keep several partial translations, pick the most probable
complete one) follows Wu et al. 2016 ("Google's Neural Machine Translation System", eq. 14):
a finished hypothesis ``Y`` is ranked by ``log P(Y|X) / lp(Y)`` with the length penalty
``lp(Y) = (5 + |Y|)^α / (5 + 1)^α`` (``α = 0``: raw log-probability; ``|Y|`` counts the
end token). Every step expands each live beam by every token and keeps the ``k`` best
continuations by log-probability; a kept continuation that ends in the end-of-sequence token
moves to the finished list and its beam slot dies (the beam shrinks, as in OpenNMT), so width
1 is exactly greedy decoding. The search stops at ``max_length`` or when no live beam remains
or none can still beat the worst of ``k`` finished hypotheses (its best possible normalised
score is its log-probability over ``lp(max_length)``, since log-probabilities only fall);
beams still alive at ``max_length`` compete as they are. Results come back sorted by score.

Why not ``keras_hub.samplers.BeamSampler``: it decodes in place into a fixed-length prompt
buffer and ranks beams by raw accumulated log-probability, with no length normalisation and no
separate list of finished hypotheses (a beam that emitted the end token keeps its slot), so it
cannot give Wu et al.'s α-normalised ranking or the shrinking beam that makes width 1 equal
greedy; and KerasHub would be a new dependency (with tensorflow-text) for a 100-line loop.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from kerasdl._validation import check_float, check_int

NEG_INF = -1e9  # a finite "minus infinity": sums and divisions of it never make NaN
_DEAD = -1e8  # log-probabilities below this belong to dead beams


class GreedyResult(NamedTuple):
    """Output of :func:`greedy_decode`.

    Attributes:
        tokens: ``(B, max_length)`` int32, the end token included, padding (0) after it.
        lengths: ``(B,)`` tokens up to and including the end token (``max_length`` if none).
        log_probs: ``(B,)`` summed log-probabilities of the tokens.
        attention: ``(B, max_length, S)`` attention weights of each step (zeros after the end).
    """

    tokens: tf.Tensor
    lengths: tf.Tensor
    log_probs: tf.Tensor
    attention: tf.Tensor


class BeamResult(NamedTuple):
    """Output of :func:`beam_search`, best hypothesis first along axis 1.

    Attributes:
        tokens: ``(B, k, max_length)`` int32, the end token included, padding (0) after it.
        lengths: ``(B, k)`` tokens up to and including the end token.
        scores: ``(B, k)`` ``log P / lp`` (Wu et al. 2016), sorted in descending order.
        log_probs: ``(B, k)`` summed log-probabilities.
        attention: ``(B, k, max_length, S)`` attention weights along each hypothesis.
    """

    tokens: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor
    log_probs: tf.Tensor
    attention: tf.Tensor


def length_penalty(length, alpha: float):
    """Wu et al. 2016's ``lp(Y) = ((5 + |Y|) / 6)^α`` (float32 tensor)."""
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def greedy_decode(step, states, *, batch_size, source_length, start_id: int, end_id: int, max_length: int):
    """Pick the most probable token at every step until the end token or ``max_length``.

    Args:
        step: ``step(tokens (N,), states) -> (logits (N, V), states, attention (N, S))``.
        states: the initial states (a nest of ``(batch_size, ...)`` tensors).
        batch_size: ``B`` (a scalar tensor or int).
        source_length: ``S``, the attention width (a scalar tensor or int).
        start_id: the token fed first.
        end_id: the end-of-sequence token; a row stops after emitting it.
        max_length: most tokens emitted per row.

    Returns:
        :class:`GreedyResult`.
    """
    max_length = check_int("max_length", max_length, minimum=1)
    tokens = tf.fill([batch_size], tf.constant(start_id, tf.int32))
    output = tf.zeros([batch_size, max_length], tf.int32)
    attention = tf.zeros([batch_size, max_length, source_length], tf.float32)
    log_probs = tf.zeros([batch_size], tf.float32)
    finished = tf.zeros([batch_size], tf.bool)
    lengths = tf.fill([batch_size], tf.constant(max_length, tf.int32))
    positions = tf.range(max_length)

    def body(t, tokens, states, output, attention, log_probs, finished, lengths):
        logits, states, weights = step(tokens, states)
        step_log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
        chosen = tf.argmax(step_log_probs, axis=-1, output_type=tf.int32)
        chosen = tf.where(finished, tf.zeros_like(chosen), chosen)
        gained = tf.gather(step_log_probs, chosen, batch_dims=1)
        log_probs = log_probs + tf.where(finished, 0.0, gained)
        here = tf.equal(positions, t)[None, :]
        output = tf.where(here, chosen[:, None], output)
        weights = tf.where(finished[:, None], 0.0, tf.cast(weights, tf.float32))
        attention = tf.where(here[:, :, None], weights[:, None, :], attention)
        ended = tf.logical_and(tf.logical_not(finished), tf.equal(chosen, end_id))
        lengths = tf.where(ended, t + 1, lengths)
        finished = tf.logical_or(finished, ended)
        return t + 1, chosen, states, output, attention, log_probs, finished, lengths

    def cond(t, tokens, states, output, attention, log_probs, finished, lengths):
        return tf.logical_and(t < max_length, tf.logical_not(tf.reduce_all(finished)))

    _, _, _, output, attention, log_probs, _, lengths = tf.while_loop(
        cond, body, (tf.constant(0), tokens, states, output, attention, log_probs, finished, lengths)
    )
    return GreedyResult(output, lengths, log_probs, attention)


def _tile_beams(nest, beam_width):
    """``(B, ...)`` → ``(B * k, ...)``, each row repeated ``k`` times in place."""
    return tf.nest.map_structure(lambda t: tf.repeat(t, beam_width, axis=0), nest)


def beam_search(
    step,
    states,
    *,
    batch_size,
    source_length,
    start_id: int,
    end_id: int,
    max_length: int,
    beam_width: int = 5,
    alpha: float = 0.6,
):
    """Beam search with Wu et al. 2016's length normalisation (see the module docstring).

    Args:
        step: ``step(tokens (N,), states) -> (logits (N, V), states, attention (N, S))`` with
            ``N = batch_size * beam_width``; anything it closes over that has a batch axis (the
            encoder outputs) must already be repeated per beam (:func:`tile_beams`).
        states: the initial states, ``(batch_size, ...)`` each (repeated per beam here).
        batch_size: ``B``.
        source_length: ``S``, the attention width.
        start_id: the token fed first.
        end_id: the end-of-sequence token.
        max_length: most tokens per hypothesis.
        beam_width: ``k``, hypotheses kept per input.
        alpha: length-normalisation exponent ``α`` (0: raw log-probability).

    Returns:
        :class:`BeamResult`, hypotheses sorted best first.
    """
    max_length = check_int("max_length", max_length, minimum=1)
    k = check_int("beam_width", beam_width, minimum=1)
    alpha = check_float("alpha", alpha, minimum=0.0)
    positions = tf.range(max_length)
    states = _tile_beams(states, k)
    tokens = tf.fill([batch_size * k], tf.constant(start_id, tf.int32))
    # Only beam 0 is alive at first, so the first expansion does not pick the same token k times.
    alive_log_probs = tf.tile(tf.concat([[0.0], tf.fill([k - 1], NEG_INF)], axis=0)[None, :], [batch_size, 1])
    alive_tokens = tf.zeros([batch_size, k, max_length], tf.int32)
    alive_attention = tf.zeros([batch_size, k, max_length, source_length], tf.float32)
    done_tokens = tf.zeros([batch_size, k, max_length], tf.int32)
    done_attention = tf.zeros([batch_size, k, max_length, source_length], tf.float32)
    done_scores = tf.fill([batch_size, k], NEG_INF)
    done_log_probs = tf.fill([batch_size, k], NEG_INF)
    done_lengths = tf.zeros([batch_size, k], tf.int32)
    best_possible = length_penalty(max_length, alpha)

    def body(t, tokens, states, alive_log_probs, alive_tokens, alive_attention, done):
        done_tokens, done_attention, done_scores, done_log_probs, done_lengths = done
        logits, states, weights = step(tokens, states)
        vocab = tf.shape(logits)[-1]
        step_log_probs = tf.reshape(tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1), [batch_size, k, vocab])
        candidates = tf.reshape(alive_log_probs[:, :, None] + step_log_probs, [batch_size, k * vocab])
        top_log_probs, top_index = tf.math.top_k(candidates, k=k)  # (B, k), sorted
        parent = top_index // vocab
        token = top_index % vocab
        # Reorder what each surviving beam carries by its parent beam.
        flat_parent = tf.reshape(parent + k * tf.range(batch_size)[:, None], [-1])
        states = tf.nest.map_structure(lambda s: tf.gather(s, flat_parent), states)
        weights = tf.gather(tf.reshape(tf.cast(weights, tf.float32), [batch_size, k, -1]), parent, batch_dims=1)
        here = tf.equal(positions, t)[None, None, :]
        alive_tokens = tf.where(here, token[:, :, None], tf.gather(alive_tokens, parent, batch_dims=1))
        alive_attention = tf.where(
            here[..., None], weights[:, :, None, :], tf.gather(alive_attention, parent, batch_dims=1)
        )
        live = top_log_probs > _DEAD
        ended = tf.logical_and(live, tf.equal(token, end_id))
        # Finished hypotheses: merge the ones that just ended into the k best so far.
        new_scores = tf.where(ended, top_log_probs / length_penalty(t + 1, alpha), NEG_INF)
        pool_scores = tf.concat([done_scores, new_scores], axis=1)
        best_scores, best = tf.math.top_k(pool_scores, k=k)
        done = (
            tf.gather(tf.concat([done_tokens, alive_tokens], axis=1), best, batch_dims=1),
            tf.gather(tf.concat([done_attention, alive_attention], axis=1), best, batch_dims=1),
            best_scores,
            tf.gather(tf.concat([done_log_probs, top_log_probs], axis=1), best, batch_dims=1),
            tf.gather(tf.concat([done_lengths, tf.fill([batch_size, k], t + 1)], axis=1), best, batch_dims=1),
        )
        alive_log_probs = tf.where(tf.logical_and(live, tf.logical_not(ended)), top_log_probs, NEG_INF)
        return t + 1, tf.reshape(token, [-1]), states, alive_log_probs, alive_tokens, alive_attention, done

    def cond(t, tokens, states, alive_log_probs, alive_tokens, alive_attention, done):
        done_scores = done[2]
        best_alive = tf.reduce_max(alive_log_probs, axis=1) / best_possible  # (B,)
        worst_done = tf.reduce_min(done_scores, axis=1)
        can_improve = tf.logical_and(tf.reduce_max(alive_log_probs, axis=1) > _DEAD, best_alive > worst_done)
        return tf.logical_and(t < max_length, tf.reduce_any(can_improve))

    done = (done_tokens, done_attention, done_scores, done_log_probs, done_lengths)
    t, _, _, alive_log_probs, alive_tokens, alive_attention, done = tf.while_loop(
        cond, body, (tf.constant(0), tokens, states, alive_log_probs, alive_tokens, alive_attention, done)
    )
    done_tokens, done_attention, done_scores, done_log_probs, done_lengths = done
    # Beams still alive (cut at max_length, or stopped early because they cannot win) compete as they are.
    alive_scores = tf.where(alive_log_probs > _DEAD, alive_log_probs / length_penalty(t, alpha), NEG_INF)
    scores, best = tf.math.top_k(tf.concat([done_scores, alive_scores], axis=1), k=k)
    return BeamResult(
        tokens=tf.gather(tf.concat([done_tokens, alive_tokens], axis=1), best, batch_dims=1),
        lengths=tf.gather(tf.concat([done_lengths, tf.fill([batch_size, k], t)], axis=1), best, batch_dims=1),
        scores=scores,
        log_probs=tf.gather(tf.concat([done_log_probs, alive_log_probs], axis=1), best, batch_dims=1),
        attention=tf.gather(tf.concat([done_attention, alive_attention], axis=1), best, batch_dims=1),
    )


def tile_beams(tensor, beam_width: int):
    """Repeat each row of ``tensor`` ``beam_width`` times (``(B, ...)`` → ``(B * k, ...)``), the
    layout :func:`beam_search` gives its step function."""
    return _tile_beams(tensor, beam_width)
