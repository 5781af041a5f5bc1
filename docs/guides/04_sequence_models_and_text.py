# %% [markdown]
# # 4. Sequence models and text
#
# Course notes: RNNs, LSTMs and GRUs in *Fundamentals of Deep Learning* (`002_…`), the IBM course
# (`003_…`) and MIT 6.S191 lecture 2 (`004_…`: vanishing gradients, gating, gradient clipping).
#
# Three tasks: sentence classification with a bidirectional LSTM, a character-level language
# model that writes text one character at a time, and an encoder–decoder with attention that
# rewrites human-written dates as ISO dates (the IBM notes' section 5.11: the one-vector
# bottleneck, beam search, attention). The apps `kerasdl sentiment`, `kerasdl textgen` and
# `kerasdl translate` run the full versions (SST-2, IMDB, tiny Shakespeare, dates, addition).

# %%
import codecs
import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

import kerasdl  # noqa: F401
import keras
import matplotlib.pyplot as plt
from kerasdl.data import data_dir
from kerasdl.models import char_language_model, rnn_classifier
from kerasdl.models.rnn import recurrent_params
from kerasdl.text import CharVocabulary, char_windows, generate_text
from kerasdl.training import compile_model, set_seed

SMOKE = os.environ.get("KERASDL_GUIDE_SMOKE") == "1"
set_seed(0)

# %% [markdown]
# ## Counting an LSTM's parameters
#
# An LSTM has four gates, each a dense layer on $[h_{t-1}, x_t]$: $4 (u (u + d) + u)$ weights for
# $u$ units and $d$ inputs; a GRU has three (Keras' GRU keeps two bias vectors, `reset_after`).

# %%
for cell in ("simple", "gru", "lstm"):
    print(f"{cell:6s} 64 units on 128 inputs: {recurrent_params(cell, 128, 64):,d} parameters")
print("by hand, LSTM:", 4 * (64 * (64 + 128) + 64))

# %% [markdown]
# ## Sentence classification with a bidirectional LSTM
#
# With IMDB on disk (`keras/datasets/imdb.npz` in the data folder) the guide trains on the reviews;
# otherwise (and in smoke mode) on a small synthetic set of templated sentences, which shows the
# mechanics only. `rnn_classifier` masks the padding (`mask_zero`) so the LSTM's last state is the
# one after the last real word.

# %%
imdb = data_dir() is not None and (data_dir() / "keras" / "datasets" / "imdb.npz").exists()
if imdb and not SMOKE:
    from kerasdl.data import load_imdb

    (x_train, y_train), (x_test, y_test) = load_imdb(num_words=10_000, maxlen=200)
    pad = lambda seqs: keras.utils.pad_sequences(seqs, maxlen=200)  # noqa: E731
    x_train, x_test, vocab_size = pad(x_train), pad(x_test), 10_000
else:
    rng = np.random.default_rng(0)
    good, bad = ["great", "wonderful", "moving", "funny"], ["dull", "awful", "boring", "clumsy"]
    fillers = ["the", "film", "was", "and", "plot", "acting", "really", "quite", "a", "story"]

    def sentence(label):
        words = list(rng.choice(fillers, rng.integers(4, 10))) + [rng.choice(good if label else bad)]
        rng.shuffle(words)
        return " ".join(words)

    labels = rng.integers(0, 2, 600)
    texts = [sentence(y) for y in labels]
    vectorize = keras.layers.TextVectorization(output_sequence_length=12)
    vectorize.adapt(texts)
    ids = vectorize(texts).numpy()
    x_train, y_train, x_test, y_test = ids[:500], labels[:500], ids[500:], labels[500:]
    vocab_size = vectorize.vocabulary_size()
print(f"{len(x_train)} training / {len(x_test)} test sequences of length {x_train.shape[1]}, vocabulary {vocab_size}")

# %%
model = rnn_classifier(vocab_size=vocab_size, embedding_dim=32, cell="lstm", units=32, bidirectional=True)
model = compile_model(model, "adam", 3e-3, loss="binary_crossentropy", clipnorm=1.0)
epochs = 1 if SMOKE else 3
model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0)
print(
    f"{model.count_params():,d} parameters; test accuracy after {epochs} epoch(s): "
    f"{model.evaluate(x_test, y_test, verbose=0)[1]:.3f}"
)

# %% [markdown]
# `clipnorm=1.0` rescales any gradient whose norm exceeds 1: the notes' remedy for exploding
# gradients in recurrent networks.
#
# ## A character language model
#
# The model reads characters and predicts the next one at every step (logits over the
# vocabulary); sampling from $\mathrm{softmax}(\text{logits}/T)$ writes new text. The corpus is the
# Zen of Python, or tiny Shakespeare when it is on disk and the guide runs in full.

# %%
shakespeare = data_dir() / "text" / "tinyshakespeare.txt" if data_dir() is not None else None
if shakespeare is not None and shakespeare.exists() and not SMOKE:
    text = shakespeare.read_text(encoding="utf-8")
else:
    # The Zen of Python: the standard library's `this` module holds it rot13-encoded (and prints it
    # on import, hence the redirect). An embedded corpus, if a short one.
    with contextlib.redirect_stdout(io.StringIO()):
        import this
    text = codecs.decode(this.s, "rot13")
vocabulary = CharVocabulary.from_text(text)
ids = vocabulary.encode(text)
sequence_length = 32 if SMOKE else 100
windows = char_windows(ids, sequence_length=sequence_length, batch_size=16 if SMOKE else 64)
print(f"{len(text):,d} characters, {vocabulary.size} distinct")

# %%
lm = char_language_model(vocab_size=vocabulary.size, embedding_dim=32, units=64 if SMOKE else 256, cell="gru")
lm.compile(
    optimizer=keras.optimizers.Adam(3e-3, clipnorm=5.0),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)
steps = 2 if SMOKE else 1500
history = lm.fit(windows.repeat(), steps_per_epoch=steps, epochs=1, verbose=0)
loss = history.history["loss"][-1]
print(
    f"after {steps} steps: {loss:.3f} nats/char ({loss / np.log(2):.3f} bits/char); uniform guessing: {np.log(vocabulary.size):.3f}"
)

# %%
for temperature in (0.5, 1.0):
    sample = generate_text(lm, vocabulary, prompt="Beautiful", num_chars=80, temperature=temperature, seed=0)
    print(f"T={temperature}: {sample!r}")

# %% [markdown]
# Lower temperatures sharpen the distribution (T → 0 is argmax), higher ones flatten it. Trained on
# tiny Shakespeare for 600 s, `benchmarks/textgen.py` reaches 1.561 nats/char on held-out text
# (see [Benchmarks](../benchmarks.md)); `kerasdl textgen` exports a SavedModel with a `generate`
# signature.

#
# ## Sequence to sequence with attention
#
# An encoder reads the source; a decoder writes the target one token at a time, fed its own
# previous token (teacher forcing in training). With only the encoder's final state to go on, the
# decoder must squeeze the whole source through one vector: the bottleneck the notes point at.
# Attention lets every decoder step score all encoder states against its own state (Bahdanau's
# additive score $v^\top \tanh(W_1 h_s + W_2 s_t)$) and read their weighted average. Beam search
# keeps the $k$ best prefixes instead of the one greedy choice, ranked by log-probability divided
# by Wu et al.'s length penalty $((5 + |Y|)/6)^{\alpha}$.
#
# The data: dates written by Faker in Babel's formats for eight locales ("3 mai 1979",
# "Thursday, May 3, 1979", "03.05.79"), each paired with its ISO form; held-out dates never
# occur in training.

# %%
from kerasdl.seq2seq.data import date_pairs
from kerasdl.seq2seq.metrics import exact_match
from kerasdl.seq2seq.plots import plot_attention
from kerasdl.seq2seq.training import build_translator, train_translator

train_pairs, test_pairs = date_pairs(400 if SMOKE else 20_000, 50 if SMOKE else 2_000, seed=0)
print(*train_pairs[:3], sep="\n")
translator = build_translator(
    train_pairs, attention="bahdanau", embedding_dim=32, units=64 if SMOKE else 128, bidirectional_encoder=True
)
date_epochs = 1 if SMOKE else 8
train_translator(translator, train_pairs, epochs=date_epochs, batch_size=128, learning_rate=4e-3)
sources, references = [s for s, _ in test_pairs], [t for _, t in test_pairs]
for method in ("greedy", "beam"):
    outputs, attention = translator.decode(sources, method=method, beam_width=5)
    print(f"{method:6s}: held-out exact match {exact_match(outputs, references):.3f} after {date_epochs} epoch(s)")

# %% [markdown]
# The attention weights of each output character over the source characters: trained, the year's
# digits look at the year, the month's at the month's name or number, the day's at the day.

# %%
png = plot_attention(
    [(sources[i], outputs[i], attention[i]) for i in range(2)],
    Path(tempfile.mkdtemp(prefix="kerasdl-guide-")) / "attention.png",
)
fig, ax = plt.subplots(figsize=(9, 2.6))
ax.imshow(plt.imread(png))
ax.axis("off")

# %% [markdown]
# `kerasdl translate` trains the same model (20,000 dates, 8 epochs), scores greedy and beam
# decoding with exact match, character error rate and BLEU, and exports a SavedModel that takes
# strings and returns strings. `benchmarks/seq2seq.py` adds keras.io's number addition with and
# without attention (see [Benchmarks](../benchmarks.md)).
