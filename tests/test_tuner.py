"""kerasdl.automl.tuner: KerasTuner over kerasdl builders (log-scale learning rate, units, dropout)."""

import pytest

keras_tuner = pytest.importorskip("keras_tuner")

from kerasdl.automl.tuner import make_hypermodel, tune  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    from kerasdl.data import load_digits, scale_images

    (x_train, y_train), (x_val, y_val) = load_digits(image_size=8)
    return (scale_images(x_train[:400]), y_train[:400]), (scale_images(x_val[:100]), y_val[:100])


def test_hypermodel_samples_only_what_the_builder_has():
    hp = keras_tuner.HyperParameters()
    model = make_hypermodel("mlp", (8, 8, 1), 10, hidden_units=(64, 64))(hp)
    assert set(hp.values) == {"units", "dropout", "learning_rate"}
    assert hp.get("units") in range(32, 257, 32) and 1e-4 <= hp.get("learning_rate") <= 1e-2
    assert model.get_layer("hidden2_dense").units == hp.get("units") and model.optimizer is not None
    lr = next(h for h in hp.space if h.name == "learning_rate")
    assert lr.sampling == "log"  # the seeds: search learning rates on a log scale

    hp = keras_tuner.HyperParameters()
    make_hypermodel("lenet5", (32, 32, 1), 10)(hp)
    assert set(hp.values) == {"learning_rate"}
    with pytest.raises(ValueError, match="builder must be one of"):
        make_hypermodel("nonexistent", (8, 8, 1), 10)


def test_random_search_two_trials(digits, tmp_path):
    (x, y), validation = digits
    tuner, best, model = tune(
        "mlp",
        x,
        y,
        validation_data=validation,
        tuner="random",
        max_trials=2,
        epochs=1,
        directory=tmp_path,
        hidden_units=(32,),
    )
    assert len(tuner.oracle.trials) == 2
    assert set(best) == {"units", "dropout", "learning_rate"} and 1e-4 <= best["learning_rate"] <= 1e-2
    assert model.predict(validation[0][:5], verbose=0).shape == (5, 10)
    scores = [t.score for t in tuner.oracle.trials.values()]
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_bad_tuner_name(digits, tmp_path):
    (x, y), validation = digits
    with pytest.raises(ValueError, match="tuner must be one of"):
        tune("mlp", x, y, validation_data=validation, tuner="grid", directory=tmp_path)


@pytest.mark.slow
def test_hyperband_runs(digits, tmp_path):
    (x, y), validation = digits
    tuner, best, _ = tune(
        "softmax_regression", x, y, validation_data=validation, tuner="hyperband", max_epochs=2, directory=tmp_path
    )
    assert isinstance(tuner, keras_tuner.Hyperband) and set(best) == {"learning_rate"}
