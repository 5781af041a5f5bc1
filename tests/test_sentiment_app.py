"""Sentiment app end to end on a small generated CSV (one export, reloaded), and the predict app.

The app parses its flags into :func:`kerasdl.text.classifier.train_text_classifier`'s keyword
arguments (``sentiment.classifier_options``); the runs here go through that same path."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

import kerasdl  # noqa: F401
from kerasdl.apps import predict, sentiment
from kerasdl.text.classifier import as_strings, build_text_classifier, load_text_data, train_text_classifier

POSITIVE = ["great", "wonderful", "superb", "delightful", "brilliant", "moving"]
NEGATIVE = ["awful", "boring", "dreadful", "tedious", "clumsy", "dull"]
FILLER = ["the", "film", "plot", "was", "acting", "story", "quite", "and", "a", "cast", "really", "its"]


def make_reviews(path, n=320, seed=0):
    """A CSV whose label is carried by one sentiment word placed among filler words."""
    rng = np.random.default_rng(seed)
    rows = ["id,review,sentiment"]
    for i in range(n):
        label = i % 2
        words = list(rng.choice(FILLER, size=rng.integers(3, 9)))
        words.insert(int(rng.integers(0, len(words) + 1)), rng.choice(POSITIVE if label else NEGATIVE))
        rows.append(f'{i},"{" ".join(words)}",{"pos" if label else "neg"}')
    path.write_text("\n".join(rows) + "\n")
    return path


def parse(argv):
    parser = argparse.ArgumentParser()
    sentiment.add_arguments(parser)
    return parser.parse_args(argv)


# the reviews CSV's columns, and a small GRU/LSTM that trains in seconds
def csv_flags(csv_path):
    return ["--csv", str(csv_path), "--text-column", "review", "--label-column", "sentiment"]


TINY_RNN = [
    *("--epochs", "4", "--units", "8", "--embedding-dim", "16"),
    *("--max-length", "12", "--batch-size", "32", "--learning-rate", "0.01"),
]


def train(args):
    """``kerasdl sentiment`` with these parsed flags, minus the printing: the library flow's summary."""
    return train_text_classifier(**sentiment.classifier_options(args), log=lambda *a: None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sentiment")
    csv_path = make_reviews(tmp / "reviews.csv")
    args = parse(
        [
            *csv_flags(csv_path),
            *TINY_RNN,
            "--cell",
            "gru",
            "--no-bidirectional",
            "--runs-dir",
            str(tmp / "runs"),
            "--export",
            str(tmp / "exports"),
        ]
    )
    result = train(args)
    return result.summary, result.serving


@pytest.mark.learned
def test_app_learns_reports_and_exports(trained):
    summary, _ = trained
    assert summary["class_names"] == ["neg", "pos"]
    assert summary["accuracy"] >= 0.85, summary
    assert summary["history"]["loss"][-1] < summary["history"]["loss"][0]
    for key in ("precision", "recall", "f1"):
        assert 0.0 <= summary[key] <= 1.0
    assert np.sum(summary["confusion_matrix"]) == summary["test_texts"] == 64
    run_dir = Path(summary["run_dir"])
    for name in ("summary.json", "training_curves.png", "confusion_matrix.png", "history.csv"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "summary.json").read_text())["f1"] == summary["f1"]
    assert summary["export_max_abs_diff"] <= 1e-5


def test_export_takes_raw_strings_and_matches_the_model(trained):
    import tensorflow as tf

    summary, serving = trained
    loaded = tf.saved_model.load(summary["export_path"])  # plain TensorFlow, no kerasdl
    signature = loaded.signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    assert spec.dtype == tf.string and spec.shape.as_list() == [None]
    sentences = [
        "a wonderful and moving story",
        "the plot was dull and tedious",
        " ".join(["the film"] * 400) + " brilliant",
    ]  # far over --max-length: truncated, not rejected
    reloaded = next(iter(signature(tf.constant(sentences)).values())).numpy()
    in_memory = serving.predict(tf.constant(sentences), verbose=0)
    assert reloaded.shape == (3,)
    np.testing.assert_allclose(reloaded, in_memory, atol=1e-5)
    assert reloaded[0] > 0.5 > reloaded[1]
    assert (Path(summary["export_path"]) / "assets.extra" / "class_names.txt").read_text().split() == ["neg", "pos"]


def test_predict_app_classifies_sentences(trained, capsys):
    summary, _ = trained
    assert predict.main([summary["export_path"], "a superb and delightful film", "clumsy and dreadful"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[0] == "pos" and lines[1].split()[0] == "neg"
    assert "p(positive)=" in lines[0]


def test_predict_app_reads_images_for_an_image_model(tmp_path, capsys):
    import keras
    import tensorflow as tf

    from kerasdl.export import export_saved_model

    inputs = keras.Input((8, 8, 3), dtype="uint8")
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    export = export_saved_model(model, tmp_path / "image_model")
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3)).astype("uint8")
    (tmp_path / "a.png").write_bytes(tf.io.encode_png(image).numpy())
    rows = predict.predict(export, [str(tmp_path / "a.png")], labels=["cat", "dog", "fox"], top_k=2)
    expected = model.predict(tf.image.resize(image, (8, 8))[None].numpy().round().astype("uint8"), verbose=0)[0]
    (name, score), _ = rows[0][1]
    assert name == ["cat", "dog", "fox"][int(np.argmax(expected))]
    assert score == pytest.approx(float(expected.max()), abs=1e-5)
    assert predict.main([str(export), "a sentence, not a file"]) == 1
    assert "takes images" in capsys.readouterr().err


def test_predict_app_missing_model(tmp_path, capsys):
    assert predict.main([str(tmp_path / "nope"), "hello"]) == 1
    assert "no SavedModel folder" in capsys.readouterr().err


def test_sentiment_without_data_fails_clearly(no_data_dir, capsys):
    assert sentiment.main(["--epochs", "1", "--runs-dir", str(no_data_dir / "runs")]) == 1
    assert "SST-2" in capsys.readouterr().err


def test_sentiment_bad_csv_and_flags(tmp_path, capsys):
    path = make_reviews(tmp_path / "r.csv", n=10)
    assert sentiment.main(["--csv", str(path), "--text-column", "body", "--label-column", "sentiment"]) == 2
    assert "no column(s) ['body']" in capsys.readouterr().err
    assert sentiment.main(["--csv", str(path), "--dataset", "sst2"]) == 2
    assert "give one data source" in capsys.readouterr().err
    assert (
        sentiment.main(["--csv", str(path), "--text-column", "review", "--label-column", "sentiment", "--epochs", "0"])
        == 2
    )
    assert "epochs must be >= 1" in capsys.readouterr().err
    assert (
        sentiment.main(
            [
                "--csv",
                str(path),
                "--text-column",
                "review",
                "--label-column",
                "sentiment",
                "--model",
                "bag",
                "--pooling",
                "max",
            ]
        )
        == 2
    )
    assert "--pooling applies to the recurrent model" in capsys.readouterr().err


@pytest.mark.learned
@pytest.mark.slow  # about 12 s of CPU: a Hub-format export plus training through HubLayer
def test_encoder_path_fine_tunes_a_hub_format_encoder(tmp_path):
    pytest.importorskip("kerasdl.text.encoders")
    from kerasdl.text.encoders import export_small_text_encoder

    csv_path = make_reviews(tmp_path / "reviews.csv", n=200)
    encoder = export_small_text_encoder(tmp_path / "encoder", POSITIVE + NEGATIVE + FILLER, embedding_dim=8)
    args = parse(
        [
            *csv_flags(csv_path),
            "--encoder",
            str(encoder),
            "--fine-tune",
            "--epochs",
            "4",
            "--batch-size",
            "32",
            "--learning-rate",
            "0.05",
            "--dropout",
            "0",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--export",
            "",
        ]
    )
    summary = train(args).summary
    assert summary["model"] == "encoder_sentiment" and summary["export_path"] is None
    assert summary["history"]["loss"][-1] < summary["history"]["loss"][0]
    assert summary["accuracy"] >= 0.8, summary


def test_contextual_word_vectors_initialise_the_embedding(tmp_path, tiny_bert_preset, capsys):
    """--word-vectors contextual:PRESET: the embedding rows are the preset's averaged contextual vectors."""
    from kerasdl.text.encoders import export_contextual_word_vectors

    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *FILLER]
    preset, _, _ = tiny_bert_preset(vocabulary)
    csv_path = make_reviews(tmp_path / "reviews.csv", n=60)
    argv = [
        *csv_flags(csv_path),
        "--embedding-dim",
        "8",
        "--freeze-embeddings",
        "--epochs",
        "1",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        "",
    ]
    args = parse([*argv, "--word-vectors", f"contextual:{preset}"])
    data = load_text_data(csv=args.csv, text_column=args.text_column, label_column=args.label_column)
    model, _, vectorizer = build_text_classifier(
        data.x_train,
        embedding_dim=args.embedding_dim,
        freeze_embeddings=args.freeze_embeddings,
        word_vectors=args.word_vectors,
    )
    expected = export_contextual_word_vectors(preset, data.x_train, tmp_path / "expected.txt", verbose=0)
    rows = {line.split(" ")[0]: np.array(line.split(" ")[1:], "float32") for line in expected.read_text().splitlines()}
    table = next(w for w in model.weights if "embedding" in w.path).numpy()
    words = vectorizer.get_vocabulary()
    assert set(POSITIVE + NEGATIVE) <= set(rows) <= set(words)
    for word, vector in rows.items():
        np.testing.assert_allclose(table[words.index(word)], vector, rtol=1e-3, atol=1e-4)
    assert sentiment.main([*argv, "--word-vectors", f"contextual:{tmp_path / 'missing'}"]) == 2
    assert "is not a KerasHub/Hugging Face preset folder" in capsys.readouterr().err


@pytest.mark.learned
def test_student_distils_a_teacher_with_max_pooling(tmp_path, trained, capsys):
    """--teacher-labels: a BiLSTM-max student trained only on the teacher's probabilities learns the task."""
    from kerasdl.data.text import read_text_csv
    from kerasdl.text.distillation import write_teacher_probabilities

    _, teacher = trained
    csv_path = make_reviews(tmp_path / "reviews.csv")  # the teacher's CSV: same seed, same texts
    texts, _, _ = read_text_csv(csv_path, "review", "sentiment")
    probabilities = teacher.predict(as_strings(texts), verbose=0)
    teacher_file = write_teacher_probabilities(tmp_path / "teacher.tsv", texts, probabilities)
    argv = [
        *csv_flags(csv_path),
        *TINY_RNN,
        "--pooling",
        "max",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        "",
    ]
    summary = train(parse([*argv, "--teacher-labels", str(teacher_file)])).summary
    assert summary["accuracy"] >= 0.85, summary
    assert summary["history"]["loss"][-1] < summary["history"]["loss"][0]
    assert summary["history"]["accuracy"][-1] >= 0.85  # agreement with the teacher's decisions, not 0
    write_teacher_probabilities(tmp_path / "partial.tsv", texts[:10], probabilities[:10])
    assert sentiment.main([*argv, "--teacher-labels", str(tmp_path / "partial.tsv")]) == 2
    assert "training texts are not in" in capsys.readouterr().err


def test_library_flow_trains_evaluates_and_exports_from_keyword_arguments(tmp_path):
    """``train_text_classifier`` called directly (no flags): one epoch on a tiny CSV returns its
    result, writes the summary it returns and an export that answers raw strings like the model."""
    import tensorflow as tf

    from kerasdl.text.classifier import TextClassifierResult

    csv_path = make_reviews(tmp_path / "reviews.csv", n=80)
    result = train_text_classifier(
        csv=csv_path,
        text_column="review",
        label_column="sentiment",
        epochs=1,
        units=4,
        embedding_dim=8,
        max_length=8,
        batch_size=16,
        model="bag",
        runs_dir=tmp_path / "runs",
        export_dir=tmp_path / "exports",
        jit_compile=False,
        log=lambda *a: None,
    )
    assert isinstance(result, TextClassifierResult)
    summary = result.summary
    assert summary["epochs"] == 1 and summary["model"] == result.serving.name.removesuffix("_serving")
    assert summary["test_texts"] == 16 and summary["train_texts"] + summary["validation_texts"] == 64
    assert summary["settings"]["csv"] == str(csv_path) and summary["settings"]["jit_compile"] is False
    assert 0.0 <= result.accuracy <= 1.0 and result.f1 == summary["f1"]
    assert result.run_dir == tmp_path / "runs" / result.run_dir.name
    assert json.loads((result.run_dir / "summary.json").read_text())["accuracy"] == result.accuracy
    assert result.export_path == tmp_path / "exports" / result.run_dir.name
    loaded = tf.saved_model.load(str(result.export_path))
    texts = tf.constant(["a wonderful film", "dull and tedious"])
    served = next(iter(loaded.signatures["serving_default"](texts).values())).numpy()
    np.testing.assert_allclose(served, result.serving.predict(texts, verbose=0), atol=1e-5)
    assert summary["export_max_abs_diff"] <= 1e-5
    with pytest.raises(ValueError, match="give one data source"):
        train_text_classifier(csv=csv_path, dataset="sst2", runs_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()
