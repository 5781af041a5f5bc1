"""Sequence-to-sequence learning: encoder–decoder RNNs, Bahdanau/Luong attention, beam search.

The seed notes' machine-translation system (IBM *Deep & Reinforcement Learning*, section 5.11):
an encoder reads the source, a decoder writes the target one token at a time, attention lets
every decoder step look at every encoder state, and beam search keeps several partial outputs.

- :mod:`~kerasdl.seq2seq.models`: :func:`seq2seq` (training, encoder and one-step decoder models);
- :mod:`~kerasdl.seq2seq.decoding`: greedy decoding and beam search (Wu et al. 2016 length
  normalisation) as ``tf.while_loop`` over the one-step decoder, the state carried;
- :mod:`~kerasdl.seq2seq.vocab`: character tokenizers usable inside a graph;
- :mod:`~kerasdl.seq2seq.translator`: :class:`Translator`, strings in and strings out;
- :mod:`~kerasdl.seq2seq.data`: dates (Faker + Babel), number addition, TSV parallel corpora;
- :mod:`~kerasdl.seq2seq.training`, :mod:`~kerasdl.seq2seq.metrics` (exact match, CER, BLEU),
  :mod:`~kerasdl.seq2seq.export` (string → string SavedModel), :mod:`~kerasdl.seq2seq.plots`
  (attention heat maps), :mod:`~kerasdl.seq2seq.flow` (the translate app's whole run).
"""

from kerasdl.seq2seq.models import Seq2SeqModels, expected_parameters, rnn_parameters, seq2seq

__all__ = ["Seq2SeqModels", "expected_parameters", "rnn_parameters", "seq2seq"]
