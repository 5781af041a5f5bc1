"""Character-level text generation: vocabulary, windows, sampling, state carried step to
step (checked against re-reading the prefix), and the textgen app with its export."""

import json
import math

import numpy as np
import pytest

TEXT = "the cat sat on the mat. the dog sat on the log. " * 40


@pytest.fixture(scope="module")
def trained():
    import keras

    from kerasdl.models.rnn import char_language_model
    from kerasdl.text.generation import CharVocabulary, char_windows

    keras.utils.set_random_seed(0)
    vocabulary = CharVocabulary.from_text(TEXT)
    model = char_language_model(vocabulary.size, 8, 32, "lstm")
    model.compile(keras.optimizers.Adam(0.02), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(char_windows(vocabulary.encode(TEXT), 24, 8), epochs=8, verbose=0)
    return model, vocabulary, history.history["loss"]


def test_vocabulary_round_trip_and_unknown_characters():
    from kerasdl.text.generation import CharVocabulary

    vocabulary = CharVocabulary.from_text("hello")
    assert vocabulary.characters == ["e", "h", "l", "o"] and vocabulary.size == 5
    ids = vocabulary.encode("hole")
    assert ids.dtype == np.int32 and list(ids) == [2, 4, 3, 1]
    assert vocabulary.decode(ids) == "hole"
    assert list(vocabulary.encode("hx")) == [2, 0]  # unknown character → 0 (out of vocabulary)
    with pytest.raises(ValueError, match="distinct"):
        CharVocabulary(["a", "a"])


def test_windows_target_is_input_shifted_by_one():
    from kerasdl.text.generation import char_windows, split_ids

    ids = np.arange(1, 44)
    x, y = next(iter(char_windows(ids, 6, 2, shuffle=False)))
    assert x.shape == (2, 6) and y.shape == (2, 6)
    np.testing.assert_array_equal(x[0], [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(y[0], [2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(x[1], [8, 9, 10, 11, 12, 13])
    train, val = split_ids(ids, 0.1)
    assert len(train) + len(val) == len(ids) and train[-1] + 1 == val[0]
    with pytest.raises(ValueError, match="window"):
        char_windows(ids[:5], 6, 2)


def test_sampling_temperature_and_top_k():
    import tensorflow as tf

    from kerasdl.text.generation import sample_next

    logits = tf.constant([[0.0, 3.0, 2.9, -1.0, 1.0]])
    assert int(sample_next(logits, 0.0)[0]) == 1  # temperature 0: greedy
    draws = [int(sample_next(logits, 5.0, top_k=2, seed=tf.constant([7, i]))[0]) for i in range(60)]
    assert set(draws) == {1, 2}  # only the two most likely, even at a high temperature
    wide = {int(sample_next(logits, 5.0, top_k=0, seed=tf.constant([7, i]))[0]) for i in range(60)}
    assert len(wide) >= 4
    again = [int(sample_next(logits, 5.0, top_k=2, seed=tf.constant([7, i]))[0]) for i in range(60)]
    assert draws == again  # a seed makes sampling reproducible


@pytest.mark.learned
def test_state_carrying_generation_equals_rereading_the_prefix(trained):
    """Greedy generation with the carried state must equal the slow way: re-run the whole
    model on the whole prefix for every new character."""
    from kerasdl.text.generation import CharGenerator, generate_text

    model, vocabulary, losses = trained
    assert losses[-1] < 0.6 * losses[0], losses  # it learned
    generator = CharGenerator(model, vocabulary)
    fast = generate_text(model, vocabulary, "the c", 30, temperature=0.0, generator=generator)
    ids = list(vocabulary.encode("the c"))
    for _ in range(30):
        logits = model(np.array([ids], "int32"), training=False).numpy()
        ids.append(int(np.argmax(logits[0, -1, 1:])) + 1)  # id 0 ([UNK]) is never generated
    assert fast == vocabulary.decode(ids)
    assert "sat on the" in fast
    sampled = generate_text(model, vocabulary, "the", 40, temperature=1.0, top_k=3, seed=3, generator=generator)
    assert sampled.startswith("the") and len(sampled) == 43
    assert sampled == generate_text(model, vocabulary, "the", 40, temperature=1.0, top_k=3, seed=3, generator=generator)
    with pytest.raises(ValueError, match="temperature"):
        generate_text(model, vocabulary, "the", 5, temperature=-1.0, generator=generator)


def test_load_text_file_errors(tmp_path, no_data_dir):
    from kerasdl.data import DatasetNotFoundError
    from kerasdl.text.generation import load_text_file

    with pytest.raises(DatasetNotFoundError, match="tinyshakespeare.txt"):
        load_text_file()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbad \xff byte\n")
    with pytest.raises(ValueError, match="line 2 is not valid UTF-8"):
        load_text_file(bad)
    with pytest.raises(FileNotFoundError):
        load_text_file(tmp_path / "missing.txt")


def test_app_without_default_text_exits_1(no_data_dir, capsys):
    from kerasdl.apps import textgen

    assert textgen.main(["--epochs", "1"]) == 1
    assert "tinyshakespeare.txt" in capsys.readouterr().err


@pytest.mark.learned
def test_textgen_app_trains_samples_and_exports(tmp_path):
    import tensorflow as tf

    from kerasdl.apps import textgen

    text_file = tmp_path / "tiny.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    argv = [
        "--text",
        str(text_file),
        "--units",
        "16",
        "--embedding-dim",
        "8",
        "--sequence-length",
        "20",
        "--batch-size",
        "8",
        "--epochs",
        "3",
        "--learning-rate",
        "0.01",
        "--prompt",
        "the ",
        "--num-chars",
        "25",
        "--temperature",
        "0",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export-dir",
        str(tmp_path / "exports"),
        "--quiet",
    ]
    assert textgen.main(argv) == 0
    run_dir = next((tmp_path / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (run_dir / "training_curves.png").stat().st_size > 0
    losses = summary["history"]["loss"]
    assert losses[-1] < losses[0]
    assert summary["val_loss_nats_per_char"] < math.log(summary["vocabulary_size"])  # better than uniform
    assert summary["sample"].startswith("the ") and len(summary["sample"]) == 29

    loaded = tf.saved_model.load(summary["export_dir"])
    greedy = loaded.generate(tf.constant("the "), tf.constant(25), tf.constant(0.0), tf.constant(0), tf.constant(0))
    assert greedy.numpy().decode() == summary["sample"]  # the export generates what the app sampled
    served = loaded.signatures["serving_default"](prompt=tf.constant("the "))["text"].numpy().decode()
    assert served.startswith("the ") and len(served) == 204
    by_signature = loaded.signatures["generate"](
        prompt=tf.constant("the "),
        num_chars=tf.constant(25),
        temperature=tf.constant(0.0),
        top_k=tf.constant(0),
        seed=tf.constant(0),
    )["text"]
    assert by_signature.numpy().decode() == summary["sample"]


def test_library_flow_trains_samples_and_exports_from_keyword_arguments(tmp_path):
    """``train_char_language_model`` called directly (no flags): one short epoch returns its
    result, writes the summary it returns, and exports a generator that samples what it did."""
    import tensorflow as tf

    from kerasdl.text.char_lm import CharLanguageModelResult, train_char_language_model

    text_file = tmp_path / "tiny.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    result = train_char_language_model(
        text=text_file,
        units=8,
        embedding_dim=4,
        sequence_length=16,
        batch_size=8,
        epochs=1,
        steps_per_epoch=3,
        prompt="the ",
        num_chars=10,
        temperature=0.0,
        runs_dir=tmp_path / "runs",
        export_dir=tmp_path / "exports",
        quiet=True,
        jit_compile=False,
        log=lambda *a: None,
    )
    assert isinstance(result, CharLanguageModelResult)
    summary = result.summary
    assert summary["training"]["epochs_run"] == 1 and summary["training"]["steps_per_epoch"] == 3
    assert summary["text"] == str(text_file) and summary["characters"] == len(TEXT)
    assert summary["vocabulary_size"] == len(set(TEXT)) + 1  # + the unknown-character id
    assert math.isfinite(result.val_loss_nats_per_char)
    assert result.sample.startswith("the ") and len(result.sample) == 14
    assert json.loads((result.run_dir / "summary.json").read_text())["sample"] == result.sample
    assert result.export_path == tmp_path / "exports" / result.run_dir.name
    loaded = tf.saved_model.load(str(result.export_path))
    greedy = loaded.generate(tf.constant("the "), tf.constant(10), tf.constant(0.0), tf.constant(0), tf.constant(0))
    assert greedy.numpy().decode() == result.sample
    no_export = train_char_language_model(
        text=text_file,
        units=4,
        embedding_dim=4,
        sequence_length=16,
        batch_size=8,
        epochs=1,
        steps_per_epoch=1,
        num_chars=2,
        runs_dir=tmp_path / "runs2",
        export_dir=None,
        quiet=True,
        log=lambda *a: None,
    )
    assert no_export.export_path is None and "export_dir" not in no_export.summary
    with pytest.raises(ValueError, match="units must be >= 1"):
        train_char_language_model(text=text_file, units=0, runs_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()
