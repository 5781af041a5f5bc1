"""Text loaders (CSV/TSV, aclImdb folders, named corpora), bad input, and word vectors."""

import numpy as np
import pytest

from kerasdl.data import DatasetNotFoundError
from kerasdl.data import text


def write(path, content, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


# --------------------------------------------------------------------------- CSV / TSV


def test_csv_with_named_columns_and_string_labels(tmp_path):
    path = write(
        tmp_path / "reviews.csv", 'id,review,stars\n1,"Great, really great",pos\n2,Bad.,neg\n3,"ok ""fine""",pos\n'
    )
    texts, labels, names = text.read_text_csv(path, "review", "stars")
    assert list(texts) == ["Great, really great", "Bad.", 'ok "fine"']
    assert labels.tolist() == [1, 0, 1] and names == ["neg", "pos"]


def test_numeric_labels_keep_their_meaning(tmp_path):
    path = write(tmp_path / "data.tsv", "sentence\tlabel\nnice \t1\nawful \t0\n")
    texts, labels, names = text.read_text_csv(path, "sentence", "label")
    assert labels.tolist() == [1, 0] and names == ["negative", "positive"]


def test_headerless_file_with_stray_quotes_needs_quote_none(tmp_path):
    lines = ['"Wow, he said\t1', "Plain line\t0", 'Another one" ok\t1', "Last\t0"]
    path = write(tmp_path / "uci.txt", "\n".join(lines) + "\n")
    texts, labels, _ = text.read_text_csv(path, 0, 1, header=False, quoting="none")
    assert len(texts) == 4 and texts[0] == '"Wow, he said' and labels.tolist() == [1, 0, 1, 0]
    swallowed, _, _ = text.read_text_csv(path, 0, 1, header=False, quoting="minimal")
    assert len(swallowed) == 2  # the quoting reader runs lines 1-3 into one field (the UCI quirk)


@pytest.mark.parametrize(
    "content, message",
    [
        ("text,label\nfine,1\nbad,0\n", "no column(s) ['review']"),
        ("review,label\nfine,1\nbad,0\nmeh,2\n", "exactly two classes, found 3"),
        ("review,label\nfine,1\nbad,1\n", "exactly two classes, found 1"),
        ("review,label\nfine,1\n  ,0\n", "line 3: empty text"),
        ("review,label\nfine,1\nbad,\n", "line 3: empty label"),
        ("review,label\n", "no data rows"),
    ],
)
def test_bad_csv_gives_a_clear_error(tmp_path, content, message):
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        text.read_text_csv(path, "review", "label")


def test_non_utf8_bytes_name_file_and_line(tmp_path):
    path = write(tmp_path / "latin.csv", b"review,label\nfine,1\ncaf\xe9 \x96 bad,0\n")
    with pytest.raises(ValueError, match=r"latin.csv, line 3: byte 0xe9 .* not valid utf-8"):
        text.read_text_csv(path, "review", "label")
    texts, _, _ = text.read_text_csv(path, "review", "label", encoding="cp1252")
    assert texts[1] == "café – bad"


def test_csv_split_is_stratified_and_reproducible(tmp_path):
    rows = "".join(f"text number {i},{i % 2}\n" for i in range(40))
    path = write(tmp_path / "d.csv", "review,label\n" + rows)
    a = text.load_text_csv(path, "review", "label", test_fraction=0.25, seed=3)
    b = text.load_text_csv(path, "review", "label", test_fraction=0.25, seed=3)
    assert len(a.x_test) == 10 and a.y_test.sum() == 5
    assert list(a.x_test) == list(b.x_test)
    with pytest.raises(FileNotFoundError):
        text.read_text_csv(tmp_path / "nope.csv", "review", "label")


# --------------------------------------------------------------------------- folders


def make_aclimdb(root, per_class=3):
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            for i in range(per_class):
                write(root / split / label / f"{i}_{1 if label == 'neg' else 9}.txt", f"{label} review {i} of {split}")
    return root


def test_aclimdb_layout_folder(tmp_path):
    data = text.load_aclimdb_folder(make_aclimdb(tmp_path / "acl"))
    assert data.class_names == ["neg", "pos"]
    assert len(data.x_train) == 6 and len(data.x_test) == 6
    for texts, labels in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        for t, y in zip(texts, labels):
            assert t.startswith("pos" if y == 1 else "neg")


def test_folder_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        text.load_text_folder(tmp_path / "missing")
    root = make_aclimdb(tmp_path / "acl", per_class=1)
    write(root / "train" / "pos" / "bad.txt", b"ok\nnot \xff utf8")
    with pytest.raises(ValueError, match=r"bad.txt, line 2: .*not valid utf-8"):
        text.load_text_folder(root / "train")
    write(root / "test" / "pos" / "empty.txt", "   ")
    with pytest.raises(ValueError, match="empty text"):
        text.load_text_folder(root / "test")


# --------------------------------------------------------------------------- named corpora


@pytest.mark.parametrize("name", ["sst2", "polarity", "uci", "imdb_subset", "imdb_keras_subset"])
def test_named_corpus_missing_says_where_to_put_it(name, no_data_dir):
    with pytest.raises(DatasetNotFoundError, match=r"KERASDL_DATA_DIR/text/"):
        text.load_text_classification(name)


def test_unknown_corpus_name():
    with pytest.raises(ValueError, match="dataset must be one of"):
        text.load_text_classification("sst5")


def test_real_corpora(shared_data):
    sst2 = text.load_sst2()
    assert (len(sst2.x_train), len(sst2.x_test)) == (67349, 872)
    assert (int(sst2.y_train.sum()), int(sst2.y_test.sum())) == (37569, 444)
    utf8, cp1252 = text.load_polarity(), text.load_polarity(encoding="cp1252")
    assert len(utf8.x_train) + len(utf8.x_test) == 10662 and len(utf8.x_test) == 1067
    assert list(utf8.x_test) == list(cp1252.x_test)  # same text, same split
    uci = text.load_uci_sentences()
    assert len(uci.x_train) + len(uci.x_test) == 3000 and uci.y_train.mean() == 0.5
    assert len(text.load_uci_sentences("imdb").x_train) == 800  # 1000 rows despite the stray quotes
    encoded = text.load_imdb_keras_subset()
    assert (len(encoded.x_train), len(encoded.x_test)) == (5000, 1000)
    assert encoded.x_train[0].startswith("this film was just")


def test_decode_imdb():
    decoded = text.decode_imdb([[1, 4, 2, 5, 0]], {"the": 1, "film": 2})
    assert decoded.tolist() == ["the oov film"]


# --------------------------------------------------------------------------- word vectors

GLOVE = "the 0.1 0.2 0.3 0.4\nfilm 1 2 3 4\ngreat -1 -2 -3 -4.5\nunused 9 9 9 9\n"


def test_word_vectors_rows_missing_words_and_padding(tmp_path):
    path = write(tmp_path / "glove.4d.txt", GLOVE)
    vocabulary = ["", "[UNK]", "the", "great", "boring", "film"]
    matrix, found = text.load_word_vectors(path, vocabulary, return_found=True)
    assert matrix.shape == (6, 4) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[2], [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(matrix[3], [-1, -2, -3, -4.5])
    np.testing.assert_allclose(matrix[5], [1, 2, 3, 4])
    assert found.tolist() == [False, False, True, True, False, True]
    np.testing.assert_array_equal(matrix[0], 0)  # padding row
    assert np.all(matrix[[1, 4]] != 0)  # random normal rows for missing words
    again = text.load_word_vectors(path, vocabulary, seed=0)
    np.testing.assert_array_equal(matrix, again)  # seeded
    zeros = text.load_word_vectors(path, {"film": 0, "zzz": 1}, missing="zeros")
    np.testing.assert_array_equal(zeros, [[1, 2, 3, 4], [0, 0, 0, 0]])
    # the default scale is the spread of the found vectors
    big = text.load_word_vectors(path, ["the", "film", "great"] + [f"w{i}" for i in range(3000)], seed=1)
    found_std = np.std(big[:3])
    assert np.std(big[3:]) == pytest.approx(found_std, rel=0.05)


def test_word_vectors_header_and_blank_words(tmp_path):
    path = write(tmp_path / "w2v.txt", "2 3\nnew york 1 2 3\ncat 4 5 6\n")
    matrix = text.load_word_vectors(path, ["new york", "cat"], embedding_dim=3)
    np.testing.assert_array_equal(matrix, [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize(
    "content, kwargs, message",
    [
        (
            GLOVE + "bad 1 2 x 4\n",
            {"vocabulary": ["bad"]},
            "line 5: the vector of 'bad' holds a value that is not a number",
        ),
        (GLOVE + "short 1 2\n", {"vocabulary": ["the"]}, "line 5: 2 value.* expected 4"),
        (GLOVE, {"vocabulary": ["the"], "embedding_dim": 50}, "line 1: 4 value.* expected 50"),
        ("", {"vocabulary": ["the"]}, "no vectors"),
        (GLOVE, {"vocabulary": []}, "vocabulary is empty"),
        (GLOVE, {"vocabulary": ["the"], "missing": "uniform"}, "missing must be one of"),
    ],
)
def test_word_vectors_bad_input(tmp_path, content, kwargs, message):
    path = write(tmp_path / "v.txt", content)
    with pytest.raises(ValueError, match=message):
        text.load_word_vectors(path, **kwargs)


def test_word_vectors_into_a_frozen_classifier(tmp_path):
    from kerasdl.models.rnn import rnn_classifier

    vocabulary = ["", "[UNK]", "the", "film"]
    matrix = text.load_word_vectors(write(tmp_path / "g.txt", GLOVE), vocabulary)
    model = rnn_classifier(len(vocabulary), 4, "gru", 2, embedding_matrix=matrix, trainable_embedding=False)
    np.testing.assert_array_equal(model.get_layer("embedding").embeddings.numpy(), matrix)
