"""Character vocabularies for sequence-to-sequence models, usable in Python and inside a graph.

Ids: 0 padding, 1 start of sequence, 2 end of sequence, 3 unknown character, 4… the characters.
Characters, not words, as in keras.io's character-level English→French seq2seq and number
addition examples: dates and sums are character strings, and a character vocabulary never
meets an unknown word. :meth:`CharTokenizer.encode_graph` and :meth:`CharTokenizer.decode_graph`
are TensorFlow ops (a ``tf.lookup.StaticHashTable`` and a ``tf.gather`` over the characters), so
an exported translator takes and returns strings.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kerasdl._validation import check_characters

PAD, START, END, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")


class CharTokenizer(tf.Module):
    """Characters ↔ ids (see the module docstring for the reserved ids).

    Args:
        characters: the distinct single characters of the vocabulary (ids 4, 5, … in order).
    """

    def __init__(self, characters, name: str = "char_tokenizer"):
        super().__init__(name=name)
        self.characters = characters = check_characters("characters", characters)
        self._ids = {c: i + len(SPECIALS) for i, c in enumerate(characters)}
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(characters), tf.range(len(SPECIALS), len(SPECIALS) + len(characters), dtype=tf.int32)
            ),
            default_value=UNK,
        )
        # Specials decode to nothing (UNK to U+FFFD, the replacement character).
        self._strings = tf.constant(["", "", "", "\ufffd", *characters])

    @classmethod
    def from_texts(cls, texts, name: str = "char_tokenizer") -> "CharTokenizer":
        """The sorted distinct characters of ``texts``."""
        return cls(sorted(set("".join(texts))), name=name)

    @property
    def size(self) -> int:
        """Vocabulary size including the four reserved ids (a model's ``source_vocab``/``target_vocab``)."""
        return len(self.characters) + len(SPECIALS)

    def encode(self, texts, *, add_start: bool = False, add_end: bool = False, length: int | None = None) -> np.ndarray:
        """``(len(texts), length)`` int32 ids, right-padded with 0 (``length``: the longest by default)."""
        rows = [
            ([START] if add_start else []) + [self._ids.get(c, UNK) for c in text] + ([END] if add_end else [])
            for text in texts
        ]
        length = max((len(r) for r in rows), default=0) if length is None else length
        out = np.zeros((len(rows), length), "int32")
        for i, row in enumerate(rows):
            row = row[:length]
            out[i, : len(row)] = row
        return out

    def decode(self, ids) -> str:
        """The text of ``ids`` up to the first end token (padding and start skipped)."""
        chars = []
        for i in np.asarray(ids).ravel():
            if i == END:
                break
            if i >= len(SPECIALS):
                chars.append(self.characters[i - len(SPECIALS)])
            elif i == UNK:
                chars.append("\ufffd")
        return "".join(chars)

    def encode_graph(self, texts):
        """``texts`` (``(B,)`` string tensor) → ``(B, S)`` int32 ids, 0-padded (at least one column)."""
        chars = tf.strings.unicode_split(texts, "UTF-8")
        ids = tf.ragged.map_flat_values(self._table.lookup, chars)
        dense = ids.to_tensor(default_value=PAD)
        return tf.pad(dense, [[0, 0], [0, tf.maximum(1 - tf.shape(dense)[1], 0)]])

    def decode_graph(self, ids, lengths):
        """``(B, T)`` ids and ``(B,)`` lengths (end token included) → ``(B,)`` strings, the end dropped."""
        ids = tf.convert_to_tensor(ids)
        keep = tf.logical_and(tf.range(tf.shape(ids)[-1])[None, :] < lengths[:, None], tf.not_equal(ids, END))
        chars = tf.gather(self._strings, tf.where(keep, ids, tf.zeros_like(ids)))
        return tf.strings.reduce_join(chars, axis=-1)
