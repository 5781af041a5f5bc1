import numpy as np
import pytest

import keras

from kerasdl import training
from kerasdl.export import load_keras, save_keras


def _toy_problem(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    return x, y


def _small_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2, activation="softmax")]
    )


@pytest.mark.parametrize(
    "name, cls, momentum, nesterov",
    [
        ("sgd", keras.optimizers.SGD, 0.0, False),
        ("momentum", keras.optimizers.SGD, 0.9, False),
        ("nesterov", keras.optimizers.SGD, 0.9, True),
    ],
)
def test_sgd_family(name, cls, momentum, nesterov):
    opt = training.make_optimizer(name, 0.1)
    assert type(opt) is cls and opt.momentum == pytest.approx(momentum) and opt.nesterov is nesterov


@pytest.mark.parametrize(
    "name, cls",
    [("adagrad", keras.optimizers.Adagrad), ("rmsprop", keras.optimizers.RMSprop), ("adam", keras.optimizers.Adam)],
)
def test_adaptive_optimizers(name, cls):
    opt = training.make_optimizer(name, 0.01, clipnorm=1.0)
    assert type(opt) is cls and opt.clipnorm == 1.0
    assert float(opt.learning_rate) == pytest.approx(0.01)


def test_optimizer_errors():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        training.make_optimizer("adamax2")
    with pytest.raises(ValueError, match="learning_rate"):
        training.make_optimizer("adam", -1.0)
    with pytest.raises(ValueError, match="clipnorm"):
        training.make_optimizer("adam", clipnorm=0)
    instance = keras.optimizers.Adam()
    assert training.make_optimizer(instance) is instance


def test_clipnorm_bounds_the_applied_update():
    # SGD with lr=1: the update equals the (clipped) gradient; a huge loss gives a huge gradient.
    var = keras.Variable(np.zeros(4, "float32"))
    opt = training.make_optimizer("sgd", 1.0, clipnorm=0.5)
    grad = np.full(4, 1e6, "float32")
    opt.apply_gradients([(grad, var)])
    assert np.linalg.norm(var.numpy()) == pytest.approx(0.5, rel=1e-5)


def test_schedules():
    exp = training.make_schedule("exponential", 0.1, decay_steps=10, decay_rate=0.5)
    assert float(exp(10)) == pytest.approx(0.05)
    cos = training.make_schedule("cosine", 0.1, decay_steps=100)
    assert float(cos(0)) == pytest.approx(0.1) and float(cos(100)) == pytest.approx(0.0, abs=1e-7)
    assert training.make_schedule("constant", 0.1) == 0.1
    with pytest.raises(ValueError, match="decay_steps"):
        training.make_schedule("cosine", 0.1)
    with pytest.raises(ValueError, match="schedule"):
        training.make_schedule("linear", 0.1, decay_steps=3)


def test_one_cycle_shape_and_serialization(tmp_path):
    sched = training.OneCycle(max_lr=1.0, total_steps=100, pct_start=0.3, div_factor=10, final_div_factor=100)
    lrs = np.array([float(sched(s)) for s in range(101)])
    assert lrs[0] == pytest.approx(0.1)
    assert lrs.argmax() == 30 and lrs.max() == pytest.approx(1.0)
    assert np.all(np.diff(lrs[:31]) > 0) and np.all(np.diff(lrs[30:]) < 0)
    assert lrs[100] == pytest.approx(1e-3, rel=1e-4)
    # round trip through a .keras archive as the optimizer's schedule
    model = _small_model()
    model.compile(optimizer=keras.optimizers.SGD(sched), loss="sparse_categorical_crossentropy")
    path = save_keras(model, tmp_path / "m.keras")
    restored = load_keras(path)
    assert isinstance(restored.optimizer.learning_rate, training.OneCycle) or isinstance(
        restored.optimizer._learning_rate, training.OneCycle
    )


def test_jit_auto_resolves_to_hardware():
    assert training.resolve_jit_compile("auto") is training.gpu_available()
    assert training.resolve_jit_compile(True) is True and training.resolve_jit_compile(False) is False
    with pytest.raises(ValueError, match="jit_compile"):
        training.resolve_jit_compile("yes")


def test_set_seed_reproduces_weights():
    training.set_seed(3)
    a = keras.layers.Dense(4)
    a.build((None, 3))
    training.set_seed(3)
    b = keras.layers.Dense(4)
    b.build((None, 3))
    np.testing.assert_array_equal(a.kernel.numpy(), b.kernel.numpy())
    with pytest.raises(ValueError, match="seed"):
        training.set_seed(-1)


def test_mixed_precision_switch():
    try:
        policy = training.set_mixed_precision(True)
        assert policy == ("mixed_float16" if training.gpu_available() else "mixed_bfloat16")
        assert keras.mixed_precision.global_policy().name == policy
        layer = keras.layers.Dense(2)
        assert layer.compute_dtype != "float32" and layer.variable_dtype == "float32"
    finally:
        assert training.set_mixed_precision(False) == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_strategy_scope_builds_models():
    strategy = training.strategy()
    with strategy.scope():
        model = _small_model()
    assert strategy.num_replicas_in_sync >= 1
    assert model.count_params() == 8 * 16 + 16 + 16 * 2 + 2


@pytest.mark.learned
@pytest.mark.parametrize("optimizer", ["nesterov", "rmsprop", "adam"])
def test_compile_model_learns(optimizer):
    x, y = _toy_problem()
    model = training.compile_model(
        _small_model(),
        optimizer,
        0.05 if optimizer == "nesterov" else 0.01,
        schedule="cosine",
        decay_steps=80,
        clipnorm=1.0,
        jit_compile=False,
    )
    history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    x, y = _toy_problem()
    model = training.compile_model(_small_model(), "adam", 0.01, jit_compile=False)

    def poison(epoch, logs):
        if epoch == 1:  # from the third epoch on, every weight is NaN
            for w in model.trainable_weights:
                w.assign(w * np.nan)

    callbacks = training.make_callbacks(
        checkpoint_path=tmp_path / "best.keras", early_stopping_patience=3, csv_path=tmp_path / "log.csv"
    )
    with pytest.raises(FloatingPointError, match="training diverged at epoch 3.*best.keras"):  # TrainingDiverged
        model.fit(
            x,
            y,
            validation_split=0.25,
            epochs=6,
            verbose=0,
            callbacks=callbacks + [keras.callbacks.LambdaCallback(on_epoch_end=poison)],
        )
    best = load_keras(tmp_path / "best.keras")
    assert all(np.all(np.isfinite(w)) for w in best.get_weights())
    assert best.evaluate(x, y, verbose=0)[1] > 0.6
    assert (tmp_path / "log.csv").read_text().startswith("epoch")
    with pytest.raises(ValueError, match="checkpoint_path"):
        training.make_callbacks(checkpoint_path=tmp_path / "best.h5")


def test_epoch_timer_records_one_duration_per_epoch():
    x, y = _toy_problem(64)
    timer = training.EpochTimer()
    model = training.compile_model(_small_model(), "sgd", 0.01, jit_compile=False)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[timer])
    assert len(timer.epoch_seconds) == 3 and all(s > 0 for s in timer.epoch_seconds)


def test_linear_cooldown_holds_then_decays_and_round_trips(tmp_path):
    sched = training.make_schedule("linear_cooldown", 0.2, decay_steps=100)
    lrs = np.array([float(sched(s)) for s in range(0, 121)])
    np.testing.assert_allclose(lrs[:51], 0.2, rtol=1e-6)  # held for the first half
    assert np.all(np.diff(lrs[50:101]) < 0)  # then a straight line down
    np.testing.assert_allclose(np.diff(lrs[50:101]), -0.2 * 0.95 / 50, rtol=1e-4)
    np.testing.assert_allclose(lrs[100:], 0.2 * 0.05, rtol=1e-5)  # ends at 5% and stays there
    with pytest.raises(ValueError, match="hold_fraction"):
        training.LinearCooldown(0.1, 10, hold_fraction=1.0)
    model = _small_model()
    model.compile(optimizer=keras.optimizers.Adam(sched), loss="sparse_categorical_crossentropy")
    restored = load_keras(save_keras(model, tmp_path / "m.keras"))
    restored_lr = getattr(restored.optimizer, "_learning_rate", restored.optimizer.learning_rate)
    assert isinstance(restored_lr, training.LinearCooldown) and restored_lr.get_config() == sched.get_config()
