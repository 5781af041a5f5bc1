"""One contract per shared setting (issue 20): ``jit_compile``, custom-model ``compile``, the RL agents.

* every entry point that takes ``jit_compile`` accepts ``"auto"``/``True``/``False`` and resolves
  it through :func:`kerasdl.training.runtime.resolve_jit_compile` (``gpu_available`` is
  replaced, so ``"auto"`` is checked both ways on any machine), and rejects anything else
  with the one message of :func:`~kerasdl.training.runtime.check_jit_compile`;
* every custom ``train_step`` model compiles through the one contract and trains a step;
* DQN and REINFORCE share ``learn``/``evaluate``/``save``/``load``/``export`` with the
  environment optional, and ``save`` → ``load`` restores the weights.
"""

import inspect

import gymnasium as gym
import keras
import numpy as np
import pytest

from kerasdl.attacks import FGSM, PGD
from kerasdl.rl.common import Agent
from kerasdl.rl.dqn import DQN, DQNConfig
from kerasdl.rl.reinforce import REINFORCE, REINFORCEConfig
from kerasdl.training import runtime
from kerasdl.training.adversarial import AdversarialModel
from kerasdl.generative.autoencoder import DenoisingAutoencoder
from kerasdl.training.compile import compile_model
from kerasdl.generative.gan import GAN
from kerasdl.verification.siamese import SiameseModel
from kerasdl.generative.vae import VAE

BAD_JIT = r"jit_compile must be one of \['auto', True, False\], got 'yes'"


# --------------------------------------------------------------------------- tiny models


def _classifier():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="logits")])


def _vae():
    inputs = keras.Input((4, 4, 1))
    h = keras.layers.Flatten()(inputs)
    z_mean, z_log_var = keras.layers.Dense(2)(h), keras.layers.Dense(2)(h)
    encoder = keras.Model(inputs, [z_mean, z_log_var, z_mean], name="encoder")  # z = μ: deterministic, still trains
    z = keras.Input((2,))
    pixels = keras.layers.Reshape((4, 4, 1))(keras.layers.Dense(16, activation="sigmoid")(z))
    return VAE(encoder, keras.Model(z, pixels, name="decoder"))


def _autoencoder():
    inputs = keras.Input((4, 4, 1))
    code = keras.layers.Dense(3, activation="relu")(keras.layers.Flatten()(inputs))
    outputs = keras.layers.Reshape((4, 4, 1))(keras.layers.Dense(16, activation="sigmoid")(code))
    return DenoisingAutoencoder(keras.Model(inputs, outputs), noise_std=0.1)


def _siamese():
    inputs = keras.Input((4,))
    return SiameseModel(keras.Model(inputs, keras.layers.Dense(3)(inputs)), mining="batch_all")


def _adversarial():
    return AdversarialModel(_classifier(), "fgsm", eps=0.1, attack_options={"from_logits": True})


def _gan():
    z = keras.Input((2,))
    generator = keras.Model(z, keras.layers.Dense(4, activation="tanh")(z), name="generator")
    x = keras.Input((4,))
    discriminator = keras.Model(x, keras.layers.Dense(1)(x), name="discriminator")
    return GAN(generator, discriminator)


LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _compile_one(model, jit_compile):
    """Compile a one-optimizer custom model through the contract (the adversarial one needs its loss)."""
    extra = {"loss": LOSS} if isinstance(model, AdversarialModel) else {}
    model.compile("adam", 1e-2, jit_compile=jit_compile, **extra)
    return model.jit_compile


class TwoStepEnv(gym.Env):
    """Episodes of two steps, reward 1 each; observations of size 2, two actions."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.5, -0.5], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([0.5, -0.5], np.float32), 1.0, self.t >= 2, False, {}


TINY_DQN = dict(
    total_timesteps=40,
    learning_starts=8,
    batch_size=8,
    buffer_size=64,
    train_frequency=8,
    gradient_steps=2,
    hidden_units=(4,),
)
TINY_REINFORCE = dict(total_episodes=4, episodes_per_update=2, hidden_units=(4,))

# name -> resolved jit_compile of that entry point for a requested value
ENTRY_POINTS = {
    "compile_model": lambda v: compile_model(_classifier(), jit_compile=v).jit_compile,
    "VAE.compile": lambda v: _compile_one(_vae(), v),
    "DenoisingAutoencoder.compile": lambda v: _compile_one(_autoencoder(), v),
    "SiameseModel.compile": lambda v: _compile_one(_siamese(), v),
    "AdversarialModel.compile": lambda v: _compile_one(_adversarial(), v),
    "GAN.compile": lambda v: (lambda g: (g.compile(jit_compile=v), g.jit_compile)[1])(_gan()),
    "FGSM": lambda v: FGSM(0.1, jit_compile=v).jit_compile,
    "PGD": lambda v: PGD(0.1, steps=2, jit_compile=v).jit_compile,
    "DQNConfig": lambda v: DQN(TwoStepEnv, DQNConfig(jit_compile=v, **TINY_DQN)).jit_compile,
    "REINFORCEConfig": lambda v: REINFORCE(TwoStepEnv, REINFORCEConfig(jit_compile=v, **TINY_REINFORCE)).jit_compile,
}


# --------------------------------------------------------------------------- jit_compile


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_resolves_jit_compile_the_same_way(name, monkeypatch):
    resolve = ENTRY_POINTS[name]
    for gpu in (False, True):  # "auto" follows the (pretended) GPU; True/False are forced
        monkeypatch.setattr(runtime, "gpu_available", lambda gpu=gpu: gpu)
        assert [resolve(value) for value in ("auto", True, False)] == [gpu, True, False], (name, gpu)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_rejects_a_bad_jit_compile_with_one_message(name):
    with pytest.raises(ValueError, match=BAD_JIT):
        ENTRY_POINTS[name]("yes")


def test_attack_config_keeps_the_request_and_round_trips():
    attack = PGD(0.1, steps=2, jit_compile="auto")
    assert attack.get_config()["jit_compile"] == "auto"  # resolved again where the config is loaded
    assert PGD(**attack.get_config()).jit_compile is attack.jit_compile


def test_configs_keep_the_request_for_the_run_summary():
    assert DQNConfig().jit_compile == "auto" and REINFORCEConfig().jit_compile == "auto"
    with pytest.raises(ValueError, match=BAD_JIT):
        DQNConfig(jit_compile="yes")


def test_apps_pass_the_flag_value_unresolved():
    import argparse

    from kerasdl.apps._common import add_runtime_arguments, jit_flag, setup_runtime

    assert [jit_flag(v) for v in ("auto", "on", "off")] == ["auto", True, False]
    parser = argparse.ArgumentParser()
    add_runtime_arguments(parser)
    args = parser.parse_args(["--jit-compile", "auto", "--strategy", "default"])
    setup_runtime(args)
    assert args.jit == "auto"  # resolved by the library entry point it is given to


# --------------------------------------------------------------------------- custom models compile one way

rng = np.random.default_rng(0)
IMAGES = rng.uniform(0.0, 1.0, (8, 4, 4, 1)).astype("float32")
VECTORS = rng.uniform(0.0, 1.0, (8, 4)).astype("float32")
LABELS = np.array([0, 0, 1, 1, 2, 2, 0, 1])

ONE_STEP = {  # model factory, one training batch, the network whose weights must move
    "VAE": (_vae, (IMAGES,), lambda m: m.encoder),
    "DenoisingAutoencoder": (_autoencoder, (IMAGES,), lambda m: m.autoencoder),
    "SiameseModel": (_siamese, (VECTORS, LABELS), lambda m: m.embedding),
    "AdversarialModel": (_adversarial, (VECTORS, LABELS), lambda m: m.model),
    "GAN": (_gan, (VECTORS * 2 - 1,), lambda m: m.generator),
}


@pytest.mark.parametrize("name", sorted(ONE_STEP))
@pytest.mark.parametrize("optimizer", ["name", "instance"])
def test_each_custom_model_compiled_through_the_contract_trains_one_step(name, optimizer):
    make, batch, network = ONE_STEP[name]
    model = make()
    extra = {"loss": LOSS} if name == "AdversarialModel" else {}
    if name == "GAN":
        args = (
            ("sgd", "sgd", 0.1, 0.1) if optimizer == "name" else (keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
        )
    else:
        args = ("sgd", 0.1) if optimizer == "name" else (keras.optimizers.SGD(0.1),)
    model.compile(*args, jit_compile=False, **extra)
    before = [w.copy() for w in network(model).get_weights()]
    logs = model.train_on_batch(*batch, return_dict=True)
    assert logs and all(np.isfinite(v) for v in logs.values())
    assert any(not np.array_equal(a, b) for a, b in zip(before, network(model).get_weights()))


@pytest.mark.parametrize("name", sorted(ONE_STEP))
def test_a_learning_rate_beside_an_optimizer_instance_is_refused(name):
    model = ONE_STEP[name][0]()
    if name == "GAN":
        with pytest.raises(ValueError, match="d_learning_rate applies only to an optimizer given by name"):
            model.compile(keras.optimizers.Adam(), d_learning_rate=1e-3)
    else:  # e.g. Keras' compile(optimizer, loss) order given to the contract
        with pytest.raises(ValueError, match="learning_rate applies only to an optimizer given by name"):
            model.compile(keras.optimizers.Adam(), LOSS)


@pytest.mark.parametrize("name", sorted(ONE_STEP))
def test_an_unknown_optimizer_name_and_a_bad_rate_are_refused(name):
    model = ONE_STEP[name][0]()
    prefix = "d_" if name == "GAN" else ""
    with pytest.raises(ValueError, match=rf"{prefix}optimizer must be one of \['sgd'"):
        model.compile("nadamx")
    with pytest.raises(ValueError, match=rf"{prefix}learning_rate must be > 0.0, got -1.0"):
        model.compile(**{f"{prefix}learning_rate": -1.0})


# --------------------------------------------------------------------------- RL agents


def _agents():
    return [
        DQN(TwoStepEnv, DQNConfig(**TINY_DQN, jit_compile=False)),
        REINFORCE(TwoStepEnv, REINFORCEConfig(**TINY_REINFORCE, jit_compile=False)),
    ]


def test_both_agents_share_one_interface():
    for cls in (DQN, REINFORCE):
        assert issubclass(cls, Agent)
        for method in ("learn", "evaluate"):
            env = inspect.signature(getattr(cls, method)).parameters["env"]
            assert env.default is None and env.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, (cls, method)
    shared = (
        "run_dir",
        "resume",
        "checkpoint_every",
        "eval_env",
        "eval_every",
        "eval_episodes",
        "target_return",
        "max_seconds",
        "progress",
    )
    for cls in (DQN, REINFORCE):
        assert set(shared) <= set(inspect.signature(cls.learn).parameters), cls
    for method in ("evaluate", "save", "load", "export", "policy_network"):
        assert inspect.signature(getattr(DQN, method)) == inspect.signature(getattr(REINFORCE, method)), method


def test_learn_and_evaluate_default_to_the_construction_env(tmp_path):
    for agent in _agents():
        result = agent.learn(progress=False)
        assert result.curves["episode_return"][1], type(agent).__name__  # it played episodes of TwoStepEnv
        returns = agent.evaluate(episodes=3)
        np.testing.assert_array_equal(returns, [2.0, 2.0, 2.0])  # every episode of TwoStepEnv pays 2
        np.testing.assert_array_equal(agent.evaluate(TwoStepEnv, 2, seed=1), [2.0, 2.0])
        path = agent.export(tmp_path / type(agent).__name__)
        assert (path / "saved_model.pb").is_file()


def test_save_then_load_restores_the_weights_and_the_best_policy(tmp_path):
    for trained, fresh in zip(
        _agents(),
        [
            DQN(TwoStepEnv, DQNConfig(**TINY_DQN, seed=7)),
            REINFORCE(TwoStepEnv, REINFORCEConfig(**TINY_REINFORCE, seed=7)),
        ],
    ):
        name = type(trained).__name__
        acting = trained.policy_network("final")
        acting.set_weights([w + 0.5 for w in acting.get_weights()])
        trained.best.offer(acting, 3.0, 12)
        path = trained.save(tmp_path / f"{name}.npz")
        assert path.is_file() and not list(tmp_path.glob(f".{name}*"))  # no temporary left behind
        assert fresh.load(path) is fresh
        for key, network in trained.networks().items():
            for got, want in zip(fresh.networks()[key].get_weights(), network.get_weights()):
                np.testing.assert_array_equal(got, want)
        for got, want in zip(fresh.best.network.get_weights(), trained.best.network.get_weights()):
            np.testing.assert_array_equal(got, want)
        assert fresh.best.summary() == (3.0, 12)


def test_load_refuses_another_algorithm_and_a_missing_file(tmp_path):
    dqn, reinforce = _agents()
    path = dqn.save(tmp_path / "dqn.npz")
    with pytest.raises(ValueError, match="holds a saved DQN agent, not a REINFORCE agent"):
        reinforce.load(path)
    with pytest.raises(FileNotFoundError, match="no saved DQN agent at"):
        dqn.load(tmp_path / "missing.npz")
    wider = DQN(TwoStepEnv, DQNConfig(**{**TINY_DQN, "hidden_units": (5,)}))
    with pytest.raises(ValueError, match="does not fit this agent: q_network/0000 has shape"):
        wider.load(path)
