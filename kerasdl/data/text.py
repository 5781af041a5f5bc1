"""Text classification data: sentiment corpora, text folders, CSV/TSV files, word vectors.

Every loader returns a :class:`TextClassificationData`: NumPy arrays of Python strings and
integer labels (0 = negative, 1 = positive for the sentiment sets), ready for
``keras.layers.TextVectorization``. The real corpora are read from the data folder
(``$KERASDL_DATA_DIR/text/...``, laid out like ``../shared/data``; see its MANIFEST.md):

===================  ============================================  ==========================
name                 file(s) under ``<data_dir>/text/``            split
===================  ============================================  ==========================
``sst2``             ``sentiment/SST-2/{train,dev}.tsv`` (GLUE)    67,349 train / 872 dev
``polarity``         ``sentiment/rt-polaritydata-utf8/rt-polarity  10,662 sentences, fixed
                     .{pos,neg}`` (or the cp1252 originals)         stratified 90/10, seed 0
``uci``              ``sentiment/sentiment labelled sentences/     3,000 sentences, fixed
                     {amazon_cells,imdb,yelp}_labelled.txt``        stratified 80/20, seed 0
``imdb_subset``      ``imdb_subset/{train,test}/{pos,neg}/*.txt``   5,000 / 5,000 raw reviews
                     (aclImdb layout)
``imdb_keras_subset``  ``imdb_keras_subset.npz`` (Keras-encoded,   5,000 / 1,000, decoded
                     ``num_words=500``)                             to words (OOV → ``oov``)
``imdb``             ``keras.datasets.imdb`` (the Keras cache)      25,000 / 25,000, decoded
===================  ============================================  ==========================

Bad input fails with a ``ValueError`` that names the file and line: bytes that are not
valid in the expected encoding, an empty text, a CSV without the named columns, a label
column with other than two classes. Over-long texts are kept whole here; the model's
``TextVectorization(output_sequence_length=...)`` truncates them.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import numpy as np

from kerasdl._validation import check_choice, check_float, check_int
from kerasdl.data.pipeline import train_val_split
from kerasdl.data.safe_npz import int_sequences, load_npz
from kerasdl.data.sources import DatasetNotFoundError, data_dir, run_keras_loader


@dataclasses.dataclass
class TextClassificationData:
    """Texts and integer labels; ``class_names[i]`` names label ``i``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    name: str
    test_name: str = "test"

    def __post_init__(self):
        for split, texts, labels in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            if len(texts) != len(labels):
                raise ValueError(f"{self.name} {split}: {len(texts)} texts but {len(labels)} labels")


# --------------------------------------------------------------------------- reading files


def _decode_lines(path: Path, encoding: str) -> list[str]:
    """The file's lines (split on ``\\n`` only: U+0085 inside a line is not a break),
    each decoded strictly; a bad byte raises naming the file, line and byte."""
    raw = Path(path).read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    decoded = []
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode(encoding).rstrip("\r"))
        except UnicodeDecodeError as error:
            bad = line[error.start : error.start + 1]
            raise ValueError(
                f"{path}, line {number}: byte 0x{bad.hex()} at column {error.start + 1} is not valid {encoding}; "
                f"give the file's encoding (for example encoding='cp1252' for Windows-1252 text such as the "
                f"original rt-polarity files)"
            ) from None
    return decoded


def _check_texts(texts, where: str, lines=None) -> np.ndarray:
    """Refuse empty (or blank) texts, naming where each came from."""
    texts = [str(t) for t in texts]
    for index, text in enumerate(texts):
        if not text.strip():
            place = f"line {lines[index]}" if lines is not None else f"item {index}"
            raise ValueError(f"{where}, {place}: empty text (remove the row or fill it in)")
    return np.array(texts, dtype=object)


def _binary_labels(values, where: str, *, class_names=None, lines=None):
    """Map a label column with exactly two classes to 0/1.

    Numeric labels 0/1 stay as they are; any other two values are sorted and numbered
    (``["neg", "pos"]`` → 0, 1). Returns ``(labels, class_names)``.
    """
    values = [str(v).strip() for v in values]
    for index, value in enumerate(values):
        if not value:
            place = f"line {lines[index]}" if lines is not None else f"item {index}"
            raise ValueError(f"{where}, {place}: empty label")
    classes = sorted(set(values))
    if len(classes) != 2:
        shown = classes[:10] + (["..."] if len(classes) > 10 else [])
        raise ValueError(f"{where}: the label column must hold exactly two classes, found {len(classes)}: {shown}")
    if set(classes) == {"0", "1"}:
        mapping = {"0": 0, "1": 1}
        names = class_names or ["negative", "positive"]
    else:
        mapping = {value: i for i, value in enumerate(classes)}
        names = class_names or classes
    return np.array([mapping[v] for v in values], dtype="int32"), list(names)


def read_text_csv(
    path,
    text_column,
    label_column,
    *,
    delimiter: str | None = None,
    header: bool = True,
    quoting: str = "minimal",
    encoding: str = "utf-8",
):
    """Texts and binary labels from a CSV/TSV file with named (or, without a header,
    numbered) text and label columns. Returns ``(texts, labels, class_names)``.

    ``delimiter`` defaults to a TAB for ``.tsv``/``.txt`` files and a comma otherwise.
    ``quoting="none"`` reads quote characters as ordinary text (``csv.QUOTE_NONE``):
    needed for the UCI ``imdb_labelled.txt``, whose unbalanced quotes make a quoting
    reader swallow lines (748 rows instead of 1000).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CSV/TSV file at {path}")
    check_choice("quoting", quoting, ["minimal", "none"])
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in {".tsv", ".txt"} else ","
    text = "\n".join(_decode_lines(path, encoding))
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quoting=csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL,
    )
    rows = list(reader)
    line_numbers = list(range(2 if header else 1, len(rows) + 1 + (1 if header else 0)))
    if header:
        if not rows:
            raise ValueError(f"{path}: the file is empty (expected a header row)")
        names, rows = rows[0], rows[1:]
        missing = [c for c in (text_column, label_column) if c not in names]
        if missing:
            raise ValueError(f"{path}: no column(s) {missing} in the header; the columns are {names}")
        text_index, label_index = names.index(text_column), names.index(label_column)
    else:
        text_index = check_int("text_column", text_column, minimum=0)
        label_index = check_int("label_column", label_column, minimum=0)
    if not rows:
        raise ValueError(f"{path}: no data rows")
    width = max(text_index, label_index) + 1
    for row, line in zip(rows, line_numbers):
        if len(row) < width:
            raise ValueError(
                f"{path}, line {line}: {len(row)} field(s), expected at least {width} "
                f"(delimiter {delimiter!r}; for files with stray quotes try quoting='none')"
            )
    texts = _check_texts([row[text_index] for row in rows], str(path), line_numbers)
    labels, class_names = _binary_labels([row[label_index] for row in rows], str(path), lines=line_numbers)
    return texts, labels, class_names


def _split(texts, labels, test_fraction, seed):
    """Stratified ``x_train, x_test, y_train, y_test`` (through :func:`train_val_split`)."""
    check_float("test_fraction", test_fraction, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False)
    (x_train, y_train), (x_test, y_test) = train_val_split(texts, labels, test_fraction, seed=seed)
    return x_train, x_test, y_train, y_test


def load_text_csv(
    path, text_column, label_column, *, test_fraction: float = 0.2, seed: int = 0, test_path=None, **csv_options
) -> TextClassificationData:
    """A CSV/TSV file (:func:`read_text_csv`) as train/test data: a stratified split with
    ``test_fraction`` held out (``seed``), or ``test_path`` for a separate test file."""
    texts, labels, names = read_text_csv(path, text_column, label_column, **csv_options)
    if test_path is not None:
        x_test, y_test, test_names = read_text_csv(test_path, text_column, label_column, **csv_options)
        if test_names != names:
            raise ValueError(f"{test_path}: classes {test_names} differ from the training file's {names}")
        return TextClassificationData(texts, labels, x_test, y_test, names, name=Path(path).name)
    x_train, x_test, y_train, y_test = _split(texts, labels, test_fraction, seed)
    return TextClassificationData(x_train, y_train, x_test, y_test, names, name=Path(path).name)


def load_text_folder(directory, *, encoding: str = "utf-8"):
    """Texts in one sub-folder per class (the aclImdb layout ``pos/``, ``neg/``) through
    ``keras.utils.text_dataset_from_directory``. Returns ``(texts, labels, class_names)``,
    classes numbered in alphabetical order of the folder names (neg = 0, pos = 1)."""
    import keras

    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetNotFoundError(
            f"text folder {str(directory)!r} does not exist; expected one sub-folder per "
            f"class with one .txt file per text (e.g. aclImdb/train/pos, aclImdb/train/neg)"
        )
    files = {p for p in directory.glob("*/*.txt")}
    for path in sorted(files):  # text_dataset_from_directory would replace bad bytes silently
        try:
            path.read_bytes().decode(encoding)
        except UnicodeDecodeError as error:
            line = path.read_bytes()[: error.start].count(b"\n") + 1
            raise ValueError(f"{path}, line {line}: byte at offset {error.start} is not valid {encoding}") from None
    dataset = keras.utils.text_dataset_from_directory(
        directory, batch_size=1024, shuffle=False, label_mode="int", verbose=False
    )
    class_names = list(dataset.class_names)
    texts, labels = [], []
    for text_batch, label_batch in dataset.as_numpy_iterator():
        texts.extend(t.decode(encoding) for t in text_batch)
        labels.extend(int(label) for label in label_batch)
    if len(class_names) != 2:
        raise ValueError(f"{directory}: expected two class sub-folders, found {class_names}")
    if not texts:
        raise ValueError(f"{directory}: no .txt files in the class sub-folders {class_names}")
    return _check_texts(texts, str(directory)), np.array(labels, dtype="int32"), class_names


def load_aclimdb_folder(root, *, train: str = "train", test: str = "test") -> TextClassificationData:
    """A folder in the aclImdb layout: ``root/train/{neg,pos}/*.txt`` and ``root/test/...``."""
    root = Path(root)
    x_train, y_train, names = load_text_folder(root / train)
    x_test, y_test, test_names = load_text_folder(root / test)
    if test_names != names:
        raise ValueError(f"{root}: test classes {test_names} differ from train classes {names}")
    return TextClassificationData(x_train, y_train, x_test, y_test, names, name=root.name)


# --------------------------------------------------------------------------- named corpora


def _text_file(*parts) -> Path:
    """``<data_dir>/text/<parts>``, or DatasetNotFoundError saying where to put it."""
    relative = Path("text", *parts)
    root = data_dir()
    if root is None or not (root / relative).exists():
        where = f"the data folder {root}" if root is not None else "no data folder (KERASDL_DATA_DIR is unset)"
        raise DatasetNotFoundError(
            f"{relative} is not available ({where}). Put the file under $KERASDL_DATA_DIR/{relative} "
            f"(the layout of ../shared/data; see its MANIFEST.md), or use --csv FILE / --data-dir FOLDER."
        )
    return root / relative


def load_sst2() -> TextClassificationData:
    """GLUE SST-2: 67,349 training phrases and the 872-sentence dev set as the test split
    (the GLUE test set has no labels). Socher et al. 2013; Wang et al. 2019."""
    folder = _text_file("sentiment", "SST-2")
    x_train, y_train, _ = read_text_csv(folder / "train.tsv", "sentence", "label", quoting="none")
    x_test, y_test, _ = read_text_csv(folder / "dev.tsv", "sentence", "label", quoting="none")
    return TextClassificationData(x_train, y_train, x_test, y_test, ["negative", "positive"], "sst2", "dev")


def load_polarity(*, encoding: str = "utf-8", test_fraction: float = 0.1, seed: int = 0) -> TextClassificationData:
    """Pang & Lee sentence polarity v1.0 (5,331 positive + 5,331 negative snippets) with a
    fixed stratified split (default 90/10, seed 0). ``encoding="utf-8"`` reads the UTF-8
    copy, ``"cp1252"`` the original Windows-1252 files (the same text)."""
    check_choice("encoding", encoding, ["utf-8", "cp1252"])
    folder = _text_file("sentiment", "rt-polaritydata-utf8" if encoding == "utf-8" else "rt-polaritydata")
    texts, labels = [], []
    for label, suffix in ((0, "neg"), (1, "pos")):
        path = folder / f"rt-polarity.{suffix}"
        lines = _decode_lines(path, encoding)
        texts.extend(_check_texts(lines, str(path), range(1, len(lines) + 1)))
        labels.extend([label] * len(lines))
    x_train, x_test, y_train, y_test = _split(
        np.array(texts, dtype=object), np.array(labels, "int32"), test_fraction, seed
    )
    return TextClassificationData(x_train, y_train, x_test, y_test, ["negative", "positive"], "polarity")


UCI_SOURCES = ("amazon_cells", "imdb", "yelp")


def load_uci_sentences(sources=UCI_SOURCES, *, test_fraction: float = 0.2, seed: int = 0) -> TextClassificationData:
    """UCI Sentiment Labelled Sentences (Kotzias et al. 2015): 1,000 ``sentence<TAB>label``
    lines per source, read with ``quoting="none"`` (the IMDb file's stray quotes), and a
    fixed stratified split (default 80/20, seed 0)."""
    sources = [sources] if isinstance(sources, str) else list(sources)
    texts, labels = [], []
    for source in sources:
        check_choice("sources", source, UCI_SOURCES)
        path = _text_file("sentiment", "sentiment labelled sentences", f"{source}_labelled.txt")
        x, y, _ = read_text_csv(path, 0, 1, header=False, delimiter="\t", quoting="none")
        texts.extend(x)
        labels.extend(y)
    x_train, x_test, y_train, y_test = _split(
        np.array(texts, dtype=object), np.array(labels, "int32"), test_fraction, seed
    )
    return TextClassificationData(x_train, y_train, x_test, y_test, ["negative", "positive"], "uci")


def load_imdb_subset() -> TextClassificationData:
    """The raw-text IMDB subset (aclImdb layout, 2,500 reviews per split and class)."""
    data = load_aclimdb_folder(_text_file("imdb_subset"))
    data.name = "imdb_subset"
    data.class_names = ["negative", "positive"]
    return data


def decode_imdb(sequences, word_index: dict, *, index_from: int = 3, oov: str = "oov") -> np.ndarray:
    """Keras IMDB id sequences → space-joined words (start/padding dropped, OOV → ``oov``)."""
    words = {index + index_from: word for word, index in word_index.items()}
    return np.array([" ".join(words.get(int(i), oov) for i in seq if int(i) >= 2) for seq in sequences], dtype=object)


def _imdb_word_index() -> dict:
    import keras

    return run_keras_loader(
        "The IMDB word index", ["datasets/imdb_word_index.json"], keras.datasets.imdb.get_word_index
    )


def _read_keras_imdb_npz(path):
    """``(x_train, y_train, x_test, y_test)`` from an ``np.savez`` of Keras IMDB encodings
    (``arr_0``..``arr_3``: int-list object arrays and their labels), without running code.

    The sequences are object arrays, which ``np.load`` could only read with
    ``allow_pickle=True`` (a crafted file would run its code on load); they are read by
    :func:`kerasdl.data.safe_npz.load_npz` instead and checked to be lists of ints.
    """
    arrays = load_npz(path)
    missing = [k for k in ("arr_0", "arr_1", "arr_2", "arr_3") if k not in arrays]
    if missing:
        raise ValueError(
            f"{path}: no array(s) {missing}; expected arr_0..arr_3 (train ids, train labels, "
            f"test ids, test labels), found {sorted(arrays)}"
        )
    splits = []
    for ids, labels in (("arr_0", "arr_1"), ("arr_2", "arr_3")):
        x = int_sequences(arrays[ids], f"{path} {ids}")
        y = arrays[labels]
        if y.ndim != 1 or y.dtype.kind not in "iub" or len(y) != len(x):
            raise ValueError(f"{path} {labels}: expected {len(x)} integer labels, got {y.dtype} of shape {y.shape}")
        splits += [x, y]
    return tuple(splits)


def load_imdb_keras_subset(*, decode: bool = True):
    """The Keras-encoded IMDB subset ``text/imdb_keras_subset.npz`` (5,000 train / 1,000
    test reviews, ``num_words=500``, ``index_from=3``). ``decode=True`` returns words (needs
    ``keras/datasets/imdb_word_index.json``); ``decode=False`` the raw id sequences.
    The file is read without pickle's code execution (:func:`_read_keras_imdb_npz`)."""
    path = _text_file("imdb_keras_subset.npz")
    x_train, y_train, x_test, y_test = _read_keras_imdb_npz(path)
    if decode:
        index = _imdb_word_index()
        x_train, x_test = decode_imdb(x_train, index), decode_imdb(x_test, index)
    return TextClassificationData(
        x_train, y_train.astype("int32"), x_test, y_test.astype("int32"), ["negative", "positive"], "imdb_keras_subset"
    )


def load_imdb_text(num_words: int | None = None) -> TextClassificationData:
    """``keras.datasets.imdb`` (through :func:`kerasdl.data.load_imdb`), decoded to words."""
    from kerasdl.data.sources import load_imdb

    (x_train, y_train), (x_test, y_test) = load_imdb(num_words=num_words)
    index = _imdb_word_index()
    return TextClassificationData(
        decode_imdb(x_train, index),
        y_train.astype("int32"),
        decode_imdb(x_test, index),
        y_test.astype("int32"),
        ["negative", "positive"],
        "imdb",
    )


TEXT_DATASETS = {
    "sst2": load_sst2,
    "polarity": load_polarity,
    "uci": load_uci_sentences,
    "imdb_subset": load_imdb_subset,
    "imdb_keras_subset": load_imdb_keras_subset,
    "imdb": load_imdb_text,
}


def load_text_classification(name: str, **kwargs) -> TextClassificationData:
    """One of :data:`TEXT_DATASETS` by name."""
    check_choice("dataset", name, TEXT_DATASETS)
    return TEXT_DATASETS[name](**kwargs)


# --------------------------------------------------------------------------- word vectors


def load_word_vectors(
    path,
    vocabulary,
    embedding_dim: int | None = None,
    *,
    missing: str = "normal",
    std: float | None = None,
    seed: int = 0,
    encoding: str = "utf-8",
    return_found: bool = False,
):
    """An embedding matrix for ``vocabulary`` from a word-vector file in GloVe text format.

    Each line is ``word v1 v2 ... vd`` separated by single blanks (the word itself may
    contain blanks: the last ``d`` fields are the vector). A word2vec-style header line
    ``<count> <dim>`` is skipped. ``vocabulary`` is a list of tokens, row ``i`` for token
    ``i`` (e.g. ``TextVectorization.get_vocabulary()``), or a ``{token: row}`` dict.

    Rows of words not in the file:

    - ``missing="normal"``: drawn from N(0, std²), ``std`` defaulting to the standard
      deviation of all values of the found vectors (so they have the same scale), with
      ``numpy.random.default_rng(seed)``;
    - ``missing="zeros"``: zero vectors.

    The padding token ``""`` always gets a zero row. Returns the float32 matrix
    ``(len(vocabulary), d)`` for ``rnn_classifier(embedding_matrix=...)`` (and, with
    ``return_found``, the boolean mask of rows found in the file). A line whose field
    count or numbers do not fit, or a dimension other than ``embedding_dim``, raises a
    ``ValueError`` naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no word-vector file at {path}")
    check_choice("missing", missing, ["normal", "zeros"])
    if isinstance(vocabulary, dict):
        rows = {str(word): check_int(f"vocabulary[{word!r}]", row, minimum=0) for word, row in vocabulary.items()}
        size = max(rows.values()) + 1 if rows else 0
    else:
        rows = {}
        for row, word in enumerate(vocabulary):
            rows.setdefault(str(word), row)
        size = len(vocabulary)
    if size == 0:
        raise ValueError("vocabulary is empty")
    if embedding_dim is not None:
        embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
    found_vectors: dict[int, np.ndarray] = {}
    dim = embedding_dim
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise ValueError(f"{path}, line {number}: not valid {encoding} (byte offset {error.start})") from None
            if not line.strip():
                continue
            fields = line.rstrip(" ").split(" ")
            if number == 1 and len(fields) == 2 and all(x.isdigit() for x in fields):
                continue  # word2vec text header "<count> <dim>"
            if dim is None:
                dim = len(fields) - 1
                if dim < 1:
                    raise ValueError(f"{path}, line {number}: expected 'word v1 v2 ...', got {line[:80]!r}")
            if len(fields) < dim + 1:
                raise ValueError(
                    f"{path}, line {number}: {len(fields) - 1} value(s) after the word, expected {dim}"
                    + (" (embedding_dim)" if embedding_dim is not None else " (as on the first line)")
                )
            word = " ".join(fields[:-dim])
            row = rows.get(word)
            if row is None or row in found_vectors:
                continue
            try:
                found_vectors[row] = np.array(fields[-dim:], dtype="float32")
            except ValueError:
                raise ValueError(
                    f"{path}, line {number}: the vector of {word!r} holds a value that is not a number"
                ) from None
    if dim is None:
        raise ValueError(f"{path}: no vectors in the file")
    found = np.zeros(size, bool)
    found[list(found_vectors)] = True
    if missing == "zeros" or not found_vectors:
        matrix = np.zeros((size, dim), "float32")
    else:
        scale = (
            float(np.std(np.stack(list(found_vectors.values()))))
            if std is None
            else check_float("std", std, minimum=0.0)
        )
        matrix = np.random.default_rng(seed).normal(0.0, scale, (size, dim)).astype("float32")
    for row, vector in found_vectors.items():
        matrix[row] = vector
    if "" in rows:
        matrix[rows[""]] = 0.0
    return (matrix, found) if return_found else matrix
