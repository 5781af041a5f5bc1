"""Character-level text generation: vocabulary, next-character windows, stateful sampling.

The char-RNN recipe (Karpathy 2015, "The Unreasonable Effectiveness of Recurrent Neural
Networks"; the TensorFlow text-generation tutorial) with
:func:`kerasdl.models.rnn.char_language_model`:

- :class:`CharVocabulary` maps characters to ids with ``keras.layers.StringLookup`` (id 0 is
  the out-of-vocabulary character, ids 1… the characters of the training text);
- :func:`char_windows` cuts the id sequence into ``(input, target)`` windows where the
  target is the input shifted by one character; the loss is the mean cross-entropy of the
  next character in **nats per character** (natural log; ÷ ln 2 for bits per character);
- :class:`CharGenerator` samples with temperature and top-k and **carries the recurrent
  state** from step to step: the prompt is read once (one call of the step model over the
  whole prompt from zero states), then each new character is fed alone with the states the
  previous call returned — O(1) work per character instead of re-reading the prefix
  (O(length)). The whole loop is one ``tf.function`` (``tf.while_loop``), so it is also what
  the text-generation app exports as its SavedModel.

Sampling: ``p(c) ∝ exp(logit_c / T)``; ``T → 0`` is greedy (argmax, used for ``T = 0``),
``T = 1`` the model's distribution, ``T > 1`` flatter. ``top_k = k > 0`` keeps only the
``k`` most likely characters (Fan et al. 2018, "Hierarchical Neural Story Generation");
``top_k = 0`` keeps all.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerasdl._validation import check_characters, check_float, check_int

DEFAULT_TEXT = ("text", "tinyshakespeare.txt")


def load_text_file(path=None) -> str:
    """Read a UTF-8 text file; default ``$KERASDL_DATA_DIR/text/tinyshakespeare.txt``.

    A missing default raises :class:`kerasdl.data.DatasetNotFoundError` saying where to put
    it; a missing ``path`` ``FileNotFoundError``; undecodable bytes or a text shorter than two
    characters ``ValueError``.
    """
    if path is None:
        from kerasdl.data.text import _text_file  # the data-folder lookup with its clear error

        path = _text_file(*DEFAULT_TEXT[1:])
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"text file {str(path)!r} does not exist")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path}: line {line} is not valid UTF-8 ({error.reason} at byte {error.start}); "
            "convert the file to UTF-8 first"
        ) from None
    if len(text) < 2:
        raise ValueError(f"{path} holds {len(text)} character(s); at least 2 are needed to learn a next character")
    return text


class CharVocabulary:
    """Characters ↔ ids through ``keras.layers.StringLookup`` (id 0: out-of-vocabulary).

    ``size`` (= number of characters + 1) is the language model's ``vocab_size``.
    """

    def __init__(self, characters):
        self.characters = characters = check_characters("characters", characters)
        self.ids_from_chars = keras.layers.StringLookup(vocabulary=characters, mask_token=None, name="ids_from_chars")
        self.chars_from_ids = keras.layers.StringLookup(
            vocabulary=characters, mask_token=None, invert=True, name="chars_from_ids"
        )

    @classmethod
    def from_text(cls, text: str) -> "CharVocabulary":
        """The sorted distinct characters of ``text``."""
        return cls(sorted(set(text)))

    @property
    def size(self) -> int:
        return len(self.characters) + 1

    def encode(self, text: str) -> np.ndarray:
        """int32 ids of ``text``'s characters (unknown characters → 0)."""
        import tensorflow as tf

        return self.ids_from_chars(tf.strings.unicode_split(text, "UTF-8")).numpy().astype("int32")

    def decode(self, ids) -> str:
        """The text of ``ids`` (id 0 decodes to ``[UNK]``)."""
        import tensorflow as tf

        return tf.strings.reduce_join(self.chars_from_ids(np.asarray(ids, "int64"))).numpy().decode("utf-8")


def split_ids(ids, validation_fraction: float = 0.1):
    """(train, validation): the first and the last ``validation_fraction`` of the sequence,
    contiguous (a random split of overlapping text would leak)."""
    check_float(
        "validation_fraction", validation_fraction, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False
    )
    ids = np.asarray(ids)
    cut = int(round(len(ids) * (1 - validation_fraction)))
    return ids[:cut], ids[cut:]


def char_windows(
    ids,
    sequence_length: int = 100,
    batch_size: int = 64,
    *,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = True,
):
    """``tf.data`` of ``(input, target)`` int32 batches ``(batch, sequence_length)``.

    The sequence is cut into consecutive, non-overlapping chunks of ``sequence_length + 1``
    ids; ``input = chunk[:-1]``, ``target = chunk[1:]`` (the next character at each step).
    """
    import tensorflow as tf

    sequence_length = check_int("sequence_length", sequence_length, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    ids = np.asarray(ids, "int32")
    chunks = len(ids) // (sequence_length + 1)
    if chunks < 1 or (drop_remainder and chunks < batch_size):
        raise ValueError(
            f"{len(ids)} characters make {chunks} window(s) of {sequence_length + 1}; "
            f"need at least {batch_size if drop_remainder else 1}: use a longer text or a smaller "
            "sequence_length/batch_size"
        )
    windows = ids[: chunks * (sequence_length + 1)].reshape(chunks, sequence_length + 1)
    data = tf.data.Dataset.from_tensor_slices((windows[:, :-1], windows[:, 1:]))
    if shuffle:
        data = data.shuffle(chunks, seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def sample_next(logits, temperature=1.0, top_k=0, seed=None):
    """Sample one id per row of ``logits`` ``(batch, vocab)`` (graph-safe; module docstring).

    ``temperature`` 0 → argmax; ``top_k`` 0 → all ids. ``seed``: a ``[2]`` int tensor for the
    stateless sampler (reproducible), or None for a fresh random draw.
    """
    import tensorflow as tf

    logits = tf.convert_to_tensor(logits, tf.float32)
    temperature = tf.convert_to_tensor(temperature, tf.float32)
    top_k = tf.convert_to_tensor(top_k, tf.int32)
    vocab = tf.shape(logits)[-1]
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
    kth = tf.math.top_k(logits, k=k).values[:, -1:]
    masked = tf.where(logits < kth, tf.fill(tf.shape(logits), -np.inf), logits)
    scaled = masked / tf.maximum(temperature, 1e-6)
    if seed is None:
        sampled = tf.random.categorical(scaled, 1, dtype=tf.int32)[:, 0]
    else:
        sampled = tf.random.stateless_categorical(scaled, 1, seed=seed, dtype=tf.int32)[:, 0]
    greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.where(temperature > 0, sampled, greedy)


class CharGenerator(tf.Module):
    """Prompt string → generated text, the recurrent state carried step to step (one graph).

    Wraps a trained :func:`~kerasdl.models.rnn.char_language_model` (its step model from
    :func:`~kerasdl.models.rnn.char_lm_step_model`, sharing the trained layers) and the
    :class:`CharVocabulary`. ``generate(prompt, num_chars, temperature, top_k, seed)``
    returns ``prompt + continuation`` (a scalar string); ``seed < 0`` draws fresh
    randomness, ``seed >= 0`` is reproducible. An empty prompt starts from a newline
    (or the first vocabulary character when the text has none).
    """

    def __init__(self, model, vocabulary: CharVocabulary, name: str = "char_generator"):
        super().__init__(name=name)
        from kerasdl.models.rnn import char_lm_step_model

        self.step_model = char_lm_step_model(model)
        self.vocabulary = vocabulary
        self.ids_from_chars = vocabulary.ids_from_chars
        self.chars_from_ids = vocabulary.chars_from_ids
        self._state_units = [int(t.shape[-1]) for t in self.step_model.inputs[1:]]
        self._start = "\n" if "\n" in vocabulary.characters else vocabulary.characters[0]

    def _step(self, tokens, states):
        logits, *states = self.step_model([tokens, *states], training=False)
        # Never sample id 0, the out-of-vocabulary "[UNK]" (not a character of the text).
        oov = tf.one_hot(0, tf.shape(logits)[-1], on_value=-np.inf, off_value=0.0)
        return logits[:, -1, :] + oov, states

    @tf.function(
        input_signature=[
            tf.TensorSpec([], tf.string, name="prompt"),
            tf.TensorSpec([], tf.int32, name="num_chars"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int32, name="top_k"),
            tf.TensorSpec([], tf.int32, name="seed"),
        ]
    )
    def generate(self, prompt, num_chars, temperature, top_k, seed):
        """``prompt`` followed by ``num_chars`` sampled characters (the SavedModel's ``generate`` signature).

        Args:
            prompt: a scalar string; an empty one starts the model from a newline (or the vocabulary's
                first character when it has no newline).
            num_chars: characters to sample after the prompt (>= 0).
            temperature: softmax temperature of the sampling distribution (0: argmax).
            top_k: sample only among the ``top_k`` most likely characters (0: all).
            seed: a non-negative seed for reproducible samples; negative draws fresh randomness.

        Returns:
            A scalar string: the prompt and the generated characters.
        """
        tf.debugging.assert_non_negative(num_chars, message="num_chars must be >= 0")
        start = tf.where(tf.strings.length(prompt) > 0, prompt, tf.constant(self._start))
        prompt_ids = tf.cast(self.ids_from_chars(tf.strings.unicode_split(start, "UTF-8")), tf.int32)
        states = [tf.zeros([1, units]) for units in self._state_units]
        # Read the prompt once; from here on each step feeds one character and the states.
        logits, states = self._step(prompt_ids[None, :], states)
        seeds = tf.stack([tf.maximum(seed, 0), 0])
        random_seeds = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
        seeds = tf.where(seed >= 0, seeds, random_seeds)
        out = tf.TensorArray(tf.int32, size=num_chars)

        def body(i, logits, states, out):
            next_id = sample_next(logits, temperature, top_k, seed=seeds + tf.stack([0, i]))
            out = out.write(i, next_id[0])
            logits, states = self._step(next_id[:, None], states)
            return i + 1, logits, states, out

        _, _, _, out = tf.while_loop(lambda i, *_: i < num_chars, body, (0, logits, states, out))
        generated = self.chars_from_ids(tf.cast(out.stack(), tf.int64))
        return prompt + tf.strings.reduce_join(generated)

    @tf.function(input_signature=[tf.TensorSpec([], tf.string, name="prompt")])
    def generate_default(self, prompt):
        """``generate(prompt, 200 chars, temperature 1, no top-k, fresh randomness)``."""
        return self.generate(prompt, tf.constant(200), tf.constant(1.0), tf.constant(0), tf.constant(-1))


def generate_text(
    model,
    vocabulary: CharVocabulary,
    prompt: str = "",
    num_chars: int = 200,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    seed: int | None = None,
    generator=None,
) -> str:
    """``prompt`` + ``num_chars`` sampled characters from a trained char language model.

    Builds a :class:`CharGenerator` (pass ``generator=`` to reuse one and its traced graph).
    """
    num_chars = check_int("num_chars", num_chars, minimum=0)
    temperature = check_float("temperature", temperature, minimum=0.0)
    top_k = check_int("top_k", top_k, minimum=0)
    if seed is not None:
        seed = check_int("seed", seed, minimum=0, maximum=2**31 - 1)
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {prompt!r}")
    generator = generator or CharGenerator(model, vocabulary)
    text = generator.generate(prompt, num_chars, temperature, top_k, -1 if seed is None else seed)
    return text.numpy().decode("utf-8")


def export_generator(generator, path, *, overwrite: bool = False) -> Path:
    """Write ``generator`` as a SavedModel (atomic) with two signatures:

    - ``serving_default``: ``prompt`` (string) → ``text`` (200 characters, temperature 1);
    - ``generate``: ``prompt``, ``num_chars`` (int32), ``temperature`` (float32), ``top_k``
      (int32, 0 = all), ``seed`` (int32, < 0 = random) → ``text``.

    A client needs only TensorFlow: ``tf.saved_model.load(path).generate(...)`` or the
    signatures. The generation loop runs inside the SavedModel (see the module docstring).
    """
    import tensorflow as tf

    from kerasdl.export import atomic_directory

    def wrap(fn):
        return lambda *args: {"text": fn(*args)}

    generate = tf.function(wrap(generator.generate), input_signature=generator.generate.input_signature)
    default = tf.function(wrap(generator.generate_default), input_signature=generator.generate_default.input_signature)
    with atomic_directory(path, overwrite=overwrite) as tmp:
        tf.saved_model.save(
            generator,
            os.fspath(tmp),
            signatures={
                "serving_default": default.get_concrete_function(),
                "generate": generate.get_concrete_function(),
            },
        )
    return Path(path)
