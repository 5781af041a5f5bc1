"""kerasdl.ensembles: combining members (mean / geometric / vote), training them (independent
seeds, snapshots of one cyclic-cosine run), one SavedModel for the ensemble, and the app flags."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.ensembles import (
    EnsembleCombine,
    SnapshotCallback,
    average_ensemble,
    combine_probabilities,
    fit_and_evaluate_ensemble,
    snapshot_schedule,
    train_ensemble,
    train_snapshot_ensemble,
    vote_tie_epsilon,
)


def _fixed_member(probabilities, name="member"):
    """A model that ignores its input's values and returns ``probabilities`` (one row per class set)."""
    probabilities = np.asarray(probabilities, dtype="float32")
    inputs = keras.Input((1,))
    logits = keras.layers.Dense(
        probabilities.shape[-1],
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(np.log(probabilities)),
    )(inputs)
    return keras.Model(inputs, keras.layers.Softmax()(logits), name=name)


def _mlp(hidden=8, classes=3, features=4, name="mlp"):
    return keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(classes, activation="softmax"),
        ],
        name=name,
    )


# ------------------------------------------------------------------ combining


def test_combination_formulas_by_hand():
    p = np.array([[[0.5, 0.5]], [[0.9, 0.1]]])  # 2 members, 1 example, 2 classes
    np.testing.assert_allclose(combine_probabilities(p, method="mean"), [[0.7, 0.3]])
    # geometric: sqrt(.5*.9) : sqrt(.5*.1) renormalised = 0.75 : 0.25
    np.testing.assert_allclose(combine_probabilities(p, method="geometric"), [[0.75, 0.25]])
    np.testing.assert_allclose(combine_probabilities(p, weights=[3, 1], method="mean"), [[0.6, 0.4]])
    # vote: 3 members, one vote each for classes 0, 1, 1 -> class 1 with share 2/3
    votes = np.array([[[0.6, 0.4, 0.0]], [[0.1, 0.5, 0.4]], [[0.2, 0.3, 0.5]]])
    # members vote 0, 1, 2: a three-way tie, broken by the mean probability (0.3, 0.4, 0.3) -> class 1
    assert combine_probabilities(votes, method="vote").argmax() == 1
    np.testing.assert_allclose(combine_probabilities(votes, method="vote").sum(), 1.0)
    # two-two-one: classes 0 and 2 tie on 2 votes; class 2 has the higher mean probability
    five = np.array([[0.5, 0.1, 0.4], [0.5, 0.1, 0.4], [0.3, 0.1, 0.6], [0.1, 0.2, 0.7], [0.1, 0.8, 0.1]])[:, None]
    assert combine_probabilities(five, method="vote").argmax() == 2
    # unweighted vote: the shares themselves survive up to eps = 1/(2M)
    assert vote_tie_epsilon([0.2] * 5) == pytest.approx(0.1)
    assert vote_tie_epsilon([0.5, 0.25, 0.25]) == pytest.approx(0.125)
    shares = combine_probabilities(five, method="vote")[0]
    assert shares[0] == pytest.approx(shares[2], abs=0.1) and shares[1] < shares[0]


@pytest.mark.parametrize(
    "method, weights",
    [("mean", None), ("mean", [1.0, 2.0, 0.5]), ("geometric", None), ("vote", [1.0, 2.0, 0.5])],
)
def test_ensemble_model_equals_the_formula(method, weights):
    keras.utils.set_random_seed(0)
    members = [_mlp(name="mlp") for _ in range(3)]  # equal names: the wrapper keeps them apart
    ensemble = average_ensemble(members, weights, method)
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    probs = np.stack([m.predict(x, verbose=0) for m in members])
    got = ensemble.predict(x, verbose=0)
    np.testing.assert_allclose(got, combine_probabilities(probs, weights, method), atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
    layer_types = {type(layer).__name__ for layer in ensemble.layers}
    assert ("Average" in layer_types) == (method == "mean" and weights is None)
    assert [layer.name for layer in ensemble.layers if layer.name.startswith("member_")] == [
        "member_0",
        "member_1",
        "member_2",
    ]


def test_ensemble_exports_as_one_saved_model_and_round_trips_as_keras(tmp_path):
    from kerasdl.export import check_export_agrees, export_saved_model, load_saved_model, with_preprocessing

    keras.utils.set_random_seed(1)
    members = [_mlp() for _ in range(3)]
    x = np.random.default_rng(1).integers(0, 255, size=(16, 4)).astype("uint8")
    ensemble = average_ensemble(members, [1, 2, 3], "vote")  # EnsembleCombine inside
    serving = with_preprocessing(ensemble, keras.layers.Rescaling(1 / 255))
    path = export_saved_model(serving, tmp_path / "vote")
    expected = ensemble.predict(x.astype("float32") / 255, verbose=0)
    assert check_export_agrees(load_saved_model(path)(x), expected) <= 1e-5
    assert np.asarray(load_saved_model(path)(x[:0])).shape == (0, 3)  # empty batch answered
    ensemble.save(tmp_path / "ensemble.keras")
    reloaded = keras.saving.load_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(reloaded.predict(x / 255, verbose=0), ensemble.predict(x / 255, verbose=0), atol=1e-6)
    assert isinstance(reloaded.get_layer("combine_vote"), EnsembleCombine)


def test_bad_arguments_are_refused():
    a, b = _mlp(), _mlp()
    with pytest.raises(ValueError, match="at least 2 models"):
        average_ensemble([a])
    with pytest.raises(TypeError, match="sequence of keras.Model"):
        average_ensemble(a)
    with pytest.raises(TypeError, match=r"models\[1\] must be a keras.Model"):
        average_ensemble([a, "b"])
    with pytest.raises(ValueError, match=r"models\[1\] gives outputs of shape \(None, 5\)"):
        average_ensemble([a, _mlp(classes=5)])
    with pytest.raises(ValueError, match=r"models\[1\] takes inputs of shape \(None, 6\)"):
        average_ensemble([a, _mlp(features=6)])
    with pytest.raises(ValueError, match=r"weights must have one value per member \(2\), got 3"):
        average_ensemble([a, b], weights=[1, 1, 1])
    with pytest.raises(ValueError, match=r"weights\[1\] must be >= 0"):
        average_ensemble([a, b], weights=[1, -1])
    with pytest.raises(ValueError, match="must not all be 0"):
        average_ensemble([a, b], weights=[0, 0])
    with pytest.raises(ValueError, match="method must be one of"):
        average_ensemble([a, b], method="median")
    two_outputs = keras.Model(a.inputs, [a.outputs[0], a.outputs[0]])
    with pytest.raises(ValueError, match="several outputs"):
        average_ensemble([a, two_outputs])
    data = (np.zeros((8, 4), "float32"), np.zeros(8, "int64"))
    with pytest.raises(ValueError, match="members must be >= 2"):
        train_ensemble(_mlp, data, members=1)
    with pytest.raises(ValueError, match="one seed per member"):
        train_ensemble(_mlp, data, members=3, seeds=[0, 1])
    with pytest.raises(ValueError, match="seeds must be distinct"):
        train_ensemble(_mlp, data, members=2, seeds=[4, 4])
    with pytest.raises(TypeError, match="builder must be a callable"):
        train_ensemble(_mlp(), data, members=2)
    with pytest.raises(TypeError, match="data must be an"):
        train_ensemble(_mlp, np.zeros((8, 4)), members=2)
    with pytest.raises(ValueError, match="snapshots must be >= 2"):
        train_snapshot_ensemble(_mlp, data, snapshots=1)
    with pytest.raises(ValueError, match="new model per call"):
        model = _mlp()
        train_ensemble(lambda: model, data, members=2, epochs=1)
    with pytest.raises(TypeError, match="augment must be None or a dict"):
        train_ensemble(_mlp, data, members=2, augment="shift")
    with pytest.raises(ValueError, match="leave out 'seed'"):
        train_ensemble(_mlp, data, members=2, augment={"translation": 0.1, "seed": 3})
    with pytest.raises(TypeError, match="zoom_factor|unexpected keyword"):
        train_snapshot_ensemble(_mlp, data, augment={"zoom_factor": 0.1})


def _tiny_cnn():
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ],
        name="tiny_cnn",
    )


def test_each_member_trains_on_its_own_augmented_images():
    """``augment``: every member's random shifts are seeded with its seed, so a rerun repeats
    them exactly, while the same seeds without augmentation (or with other shifts) train other
    weights: the layers really sit in the training pipeline."""
    rng = np.random.default_rng(0)
    data = (rng.random((48, 8, 8, 1), dtype="float32"), rng.integers(0, 3, 48))
    common = dict(members=2, seeds=[3, 4], epochs=1, batch_size=16, jit_compile=False)
    shift = {"translation": 0.25, "rotation": 0.0}
    first = train_ensemble(_tiny_cnn, data, augment=shift, **common)
    again = train_ensemble(_tiny_cnn, data, augment=shift, **common)
    plain = train_ensemble(_tiny_cnn, data, **common)
    for a, b, c in zip(first.models, again.models, plain.models):
        np.testing.assert_allclose(a.get_weights()[0], b.get_weights()[0], atol=1e-6)
        assert np.max(np.abs(a.get_weights()[0] - c.get_weights()[0])) > 1e-4
    snapshots = train_snapshot_ensemble(_tiny_cnn, data, snapshots=2, epochs_per_cycle=1, batch_size=16, augment=shift)
    assert len(snapshots.models) == 2


def test_member_dir_resumes_and_splits_a_run_into_parts(tmp_path):
    """``member_dir``: members trained in two parts (seeds 3, 4, then 3, 4, 5 with 3 and 4
    loaded) equal the members of one run of seeds 3, 4, 5; a member saved with other settings
    is refused, naming the setting; a member whose record is missing (killed while saving) is
    trained again."""
    rng = np.random.default_rng(1)
    data = (rng.random((48, 8, 8, 1), dtype="float32"), rng.integers(0, 3, 48))
    common = dict(epochs=1, batch_size=16, jit_compile=False, augment={"translation": 0.2, "rotation": 0.0})
    lines = []
    first = train_ensemble(_tiny_cnn, data, members=2, seeds=[3, 4], member_dir=tmp_path, **common)
    assert first.loaded_seeds == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"member_seed{s}.{ext}" for s in (3, 4) for ext in ("json", "keras")
    ]
    both = train_ensemble(_tiny_cnn, data, members=3, seeds=[3, 4, 5], member_dir=tmp_path, log=lines.append, **common)
    assert both.loaded_seeds == [3, 4] and "loaded from" in lines[0] and "loaded from" not in lines[2]
    assert both.seconds[:2] == first.seconds and both.histories[:2] == first.histories
    whole = train_ensemble(_tiny_cnn, data, members=3, seeds=[3, 4, 5], **common)
    x = data[0][:8]
    for parted, single in zip(both.models, whole.models):
        np.testing.assert_allclose(parted.predict(x, verbose=0), single.predict(x, verbose=0), atol=1e-6)
    # a loaded member comes back compiled, like a trained one (same loss and metrics)
    assert both.models[0].evaluate(*data, verbose=0, return_dict=True) == pytest.approx(
        whole.models[0].evaluate(*data, verbose=0, return_dict=True), abs=1e-6
    )
    with pytest.raises(
        ValueError, match=r"member_seed3.json holds a member trained otherwise \(epochs: saved 1, now 2"
    ):
        train_ensemble(_tiny_cnn, data, members=2, seeds=[3, 4], member_dir=tmp_path, **{**common, "epochs": 2})
    other_data = (data[0] + 0.01, data[1])
    with pytest.raises(ValueError, match="training_data"):
        train_ensemble(_tiny_cnn, other_data, members=2, seeds=[3, 4], member_dir=tmp_path, **common)
    # other TensorFlow/Keras versions or oneDNN setting: loaded, and the log says so
    record_path = tmp_path / "member_seed3.json"
    record = json.loads(record_path.read_text())
    assert set(record["trained_with"]) == {"tensorflow", "keras", "TF_ENABLE_ONEDNN_OPTS"}
    assert "trained with" not in lines[0]
    record["trained_with"]["tensorflow"] = "0.0"
    record_path.write_text(json.dumps(record))
    lines.clear()
    train_ensemble(_tiny_cnn, data, members=2, seeds=[3, 4], member_dir=tmp_path, log=lines.append, **common)
    assert f"trained with tensorflow 0.0 (now {tf.__version__}): valid, not bit-identical" in lines[0]
    assert "trained with" not in lines[1]
    (tmp_path / "member_seed4.json").unlink()
    again = train_ensemble(_tiny_cnn, data, members=2, seeds=[3, 4], member_dir=tmp_path, **common)
    assert again.loaded_seeds == [3] and (tmp_path / "member_seed4.json").is_file()


# ------------------------------------------------------------------ snapshots


def test_snapshot_schedule_is_huangs_cyclic_cosine():
    schedule = snapshot_schedule(0.1, steps_per_cycle=10)
    expected = [0.05 * (np.cos(np.pi * (t % 10) / 10) + 1) for t in range(30)]
    got = [float(schedule(t)) for t in range(30)]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert got[10] == pytest.approx(0.1) and got[9] < 0.003  # restart after the near-zero end of a cycle


def test_snapshot_ensemble_takes_one_member_per_cycle(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)
    members = train_snapshot_ensemble(
        _mlp, (x, y), snapshots=3, epochs_per_cycle=2, batch_size=16, learning_rate=0.05, snapshot_dir=tmp_path
    )
    assert members.kind == "snapshot" and len(members.models) == 3 and len(members.seconds) == 3
    assert len(members.histories[0]["loss"]) == 6  # one run of 3 cycles x 2 epochs
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"snapshot_{k}.keras" for k in range(3)]
    weights = [m.get_weights()[0] for m in members.models]
    assert not np.allclose(weights[0], weights[1]) and not np.allclose(weights[1], weights[2])  # distinct copies
    saved = keras.saving.load_model(tmp_path / "snapshot_2.keras")
    np.testing.assert_allclose(saved.predict(x, verbose=0), members.models[2].predict(x, verbose=0), atol=1e-6)
    ensemble = members.ensemble("geometric")
    assert ensemble.predict(x, verbose=0).shape == (64, 3)


def test_snapshot_callback_refuses_non_finite_weights():
    from kerasdl.training import TrainingDiverged

    model = _mlp()
    model.layers[0].kernel.assign(np.full((4, 8), np.nan))
    callback = SnapshotCallback(1)
    callback.set_model(model)
    callback.on_train_begin()
    with pytest.raises(TrainingDiverged, match="snapshot 0"):
        callback.on_epoch_end(0)


# ------------------------------------------------------------------ learned


@pytest.mark.learned
def test_ensemble_beats_its_mean_member_on_digits():
    """5 small MLPs on scikit-learn's 8x8 digits, 3 epochs each. Gain of the ensemble over the
    mean member, measured over seed offsets 0/1/2 x oneDNN on/off (identical on both):
    mean +0.026/+0.042/+0.032, geometric +0.023/+0.039/+0.026, vote +0.029/+0.034/+0.026;
    asserted: >= +0.01 for each rule."""
    from kerasdl.data import load_digits
    from kerasdl.data.pipeline import ImageClassificationData

    (x_train, y_train), (x_test, y_test) = load_digits(image_size=8)
    flat = lambda x: x.reshape(len(x), -1).astype("float32") / 255  # noqa: E731
    data = ImageClassificationData("digits8", "sklearn", flat(x_train), y_train, flat(x_test), y_test, 10)
    run = fit_and_evaluate_ensemble(
        lambda: _mlp(hidden=32, classes=10, features=64),
        data,
        members=5,
        epochs=3,
        learning_rate=3e-3,
        validation_fraction=None,
    )
    assert run.members.kind == "independent" and run.members.seeds == [0, 1, 2, 3, 4]
    result = run.evaluation  # the Keras ensemble model (mean) on the test split
    assert result.mean_member_accuracy > 0.8  # members that learned something
    assert result.ensemble_accuracy >= result.mean_member_accuracy + 0.01, result
    probabilities = np.stack([m.predict(data.x_test, verbose=0) for m in run.members.models])
    for method in ("geometric", "vote"):
        accuracy = np.mean(combine_probabilities(probabilities, method=method).argmax(-1) == data.y_test)
        assert accuracy >= result.mean_member_accuracy + 0.01, (method, accuracy, result)


# ------------------------------------------------------------------ the app


@pytest.mark.e2e
def test_train_app_snapshot_ensemble(tmp_path, capsys, no_data_dir):
    from kerasdl.cli import main

    code = main(
        [
            "train",
            "mlp",
            "--dataset",
            "digits",
            "--epochs",
            "2",
            "--snapshot-ensemble",
            "2",
            "--ensemble-method",
            "vote",
            "--augment",
            "--hidden-units",
            "(16,)",
            "--export",
            str(tmp_path / "sm"),
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    [run_dir] = list((tmp_path / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["ensemble"]["kind"] == "snapshot" and summary["ensemble"]["method"] == "vote"
    assert summary["ensemble"]["augment"] is True
    assert len(summary["ensemble"]["member_test_accuracies"]) == 2
    assert 0 <= summary["test_accuracy"] <= 1 and summary["export_max_abs_diff"] <= 1e-5
    assert "member 1" in out and "member 2" in out and "ensemble" in out
    assert (tmp_path / "sm" / run_dir.name / "saved_model.pb").is_file()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--ensemble", "1"], "members must be >= 2"),
        (
            ["--snapshot-ensemble", "2", "--epochs", "3"],
            r"--epochs \(3\) must be a multiple of --snapshot-ensemble \(2\)",
        ),
        (["--ensemble", "2", "--snapshot-ensemble", "2"], "not allowed with argument"),
    ],
)
def test_train_app_ensemble_flag_errors(tmp_path, capsys, no_data_dir, flags, message):
    """Bad ensemble flags exit with status 2 and a clear message, before any data is read."""
    import re

    from kerasdl.cli import main

    argv = ["train", "mlp", "--dataset", "digits", "--runs-dir", str(tmp_path / "runs"), *flags]
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    assert code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "runs").exists()
