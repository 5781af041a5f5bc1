"""kerasdl.rl DQN: networks, the TD target (truncation vs termination), validation, resume, export."""

import importlib.util
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from kerasdl.rl.common import TrainingDivergedError, evaluate_policy, linear_schedule
from kerasdl.rl.dqn import DQN, DQNConfig, NumpyGreedyPolicy
from kerasdl.rl.networks import mlp_q_network, nature_dqn


class ConstantEnv(gym.Env):
    """One observation, two actions, reward 1 per step; the episode ends after ``length`` steps,
    by ``terminated`` (a true end) or ``truncated`` (a time limit). ``nan_at`` makes that step's reward NaN."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length=1, truncate=False, nan_at=None):
        self.length, self.truncate, self.nan_at, self.t, self.total = length, truncate, nan_at, 0, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.5, -0.5], np.float32), {}

    def step(self, action):
        self.t += 1
        self.total += 1
        reward = float("nan") if self.total == self.nan_at else 1.0
        done = self.t >= self.length
        return np.array([0.5, -0.5], np.float32), reward, done and not self.truncate, done and self.truncate, {}


TINY = dict(
    learning_starts=16,
    batch_size=16,
    buffer_size=500,
    train_frequency=8,
    gradient_steps=8,
    target_update_interval=25,
    hidden_units=(16,),
    learning_rate=1e-2,
    exploration_fraction=0.1,
)


def test_nature_dqn_parameter_count_matches_the_paper_formula():
    conv = (8 * 8 * 4 * 32 + 32) + (4 * 4 * 32 * 64 + 64) + (3 * 3 * 64 * 64 + 64)
    fc = 7 * 7 * 64 * 512 + 512
    for actions in (4, 6):
        model = nature_dqn((84, 84, 4), actions)
        assert model.count_params() == conv + fc + 512 * actions + actions
        assert model.output_shape == (None, actions)
    assert nature_dqn((84, 84, 4), 4).count_params() == 1_686_180
    assert [layer.name for layer in model.layers[2:5]] == ["conv1", "conv2", "conv3"]
    assert model.get_layer("conv3").output.shape[1:] == (7, 7, 64)


def test_mlp_q_network_shape_and_count():
    model = mlp_q_network((4,), 2, hidden_units=(256, 256))
    assert model.count_params() == (4 * 256 + 256) + (256 * 256 + 256) + (256 * 2 + 2)
    assert model.output_shape == (None, 2) and model.name == "q_network"


def test_epsilon_schedule_is_linear_then_flat():
    assert linear_schedule(1.0, 0.05, 100, 0) == 1.0
    assert linear_schedule(1.0, 0.05, 100, 50) == pytest.approx(0.525)
    assert linear_schedule(1.0, 0.05, 100, 100) == pytest.approx(0.05)
    assert linear_schedule(1.0, 0.05, 100, 10_000) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "env, config, match",
    [
        ("CartPol-v1", {}, "unknown environment id 'CartPol-v1'.*CartPole-v1"),
        ("Pendulum-v1", {}, "discrete action space"),
        ("CartPole-v1", {"buffer_size": 32, "batch_size": 64}, "buffer_size .32. must be >= batch_size .64."),
        ("CartPole-v1", {"gamma": 1.5}, "gamma must be <= 1.0"),
        ("CartPole-v1", {"gamma": -0.1}, "gamma must be >= 0.0"),
    ],
)
def test_bad_input_is_refused_before_training(env, config, match):
    with pytest.raises(ValueError, match=match):
        DQN(env, DQNConfig(**config))


def test_learning_starts_zero_trains_from_the_first_transitions():
    # rl-baselines3-zoo's Acrobot-v1 setting: learning_starts=0, batch 128, an update every 4 steps.
    # The first phase (step 4) draws 128 rows from 4 stored transitions, with replacement, as SB3 does;
    # this crashed with "cannot sample batch_size=128 from a buffer holding 4 transitions".
    config = DQNConfig(**{**TINY, "learning_starts": 0, "batch_size": 128, "train_frequency": 4, "gradient_steps": 4})
    agent = DQN(lambda: ConstantEnv(length=3), DQNConfig(**{**config.__dict__, "total_timesteps": 40}))
    result = agent.learn(lambda: ConstantEnv(length=3), progress=False)
    steps, losses = result.curves["loss"]
    assert steps[:2] == [4, 8] and len(steps) == 10 and np.isfinite(losses).all()


def test_q_network_that_does_not_fit_the_observations_is_refused():
    with pytest.raises(ValueError, match=r"takes observations of shape \(3,\), the environment gives \(4,\)"):
        DQN("CartPole-v1", q_network=mlp_q_network((3,), 2, hidden_units=(8,)))
    with pytest.raises(ValueError, match="has 3 outputs, the environment has 2 actions"):
        DQN("CartPole-v1", q_network=mlp_q_network((4,), 3, hidden_units=(8,)))


@pytest.mark.parametrize("truncate, expected", [(True, 2.0), (False, 1.0)])
def test_bootstraps_on_truncation_but_not_on_termination(truncate, expected):
    # One-step episodes, reward 1, γ = 0.5. A time-limit cut (truncated) keeps the next state's
    # value: Q = 1 + γQ → 1/(1 − γ) = 2. A true end (terminated) does not: Q = 1.
    config = DQNConfig(total_timesteps=450, gamma=0.5, **TINY)
    agent = DQN(lambda: ConstantEnv(length=1, truncate=truncate), config)
    agent.learn(lambda: ConstantEnv(length=1, truncate=truncate), progress=False)
    stored = agent.replay.terminated[: len(agent.replay)]
    assert stored.min() == stored.max() == (0.0 if truncate else 1.0)
    q = agent.q_network(np.array([[0.5, -0.5]], np.float32)).numpy()
    np.testing.assert_allclose(q, expected, atol=0.15)


def test_cartpole_steps_update_q_values_checkpoint_resume_and_tensorboard(tmp_path):
    import tensorflow as tf

    config = DQNConfig(
        total_timesteps=400,
        learning_starts=100,
        train_frequency=4,
        gradient_steps=2,
        target_update_interval=50,
        batch_size=32,
        hidden_units=(32,),
        exploration_fraction=0.5,
    )
    agent = DQN("CartPole-v1", config)
    probe = np.random.default_rng(0).normal(0, 0.1, (64, 4)).astype(np.float32)
    q_before = agent.q_network(probe).numpy()
    result = agent.learn(
        "CartPole-v1", run_dir=tmp_path, checkpoint_every=200, eval_every=400, eval_episodes=3, progress=False
    )
    steps, losses = result.curves["loss"]
    assert steps[0] == 104 and len(losses) == (400 - 100) // 4 and np.isfinite(losses).all()
    # rewards of +1 per step pull Q(s, a) up from ~0 towards the return
    assert agent.q_network(probe).numpy().mean() > q_before.mean() + 0.3
    assert result.steps == 400 and result.episodes > 5 and len(result.curves["eval_return"][1]) == 1
    assert result.eval_seconds > 0 and result.eval_cpu_seconds > 0  # benchmarks subtract both
    assert (tmp_path / "learning_curve.png").stat().st_size > 1000
    tags = {
        v.tag
        for f in (tmp_path / "tensorboard").iterdir()
        for e in tf.compat.v1.train.summary_iterator(str(f))
        for v in e.summary.value
    }
    assert {"loss", "q_mean", "episode_return", "eval_return"} <= tags

    # resume: a fresh agent picks up weights, step counter and replay memory, then goes on to 500
    resumed = DQN("CartPole-v1", DQNConfig(**{**config.__dict__, "total_timesteps": 500}))
    assert not np.allclose(resumed.q_network(probe).numpy(), agent.q_network(probe).numpy())
    result2 = resumed.learn("CartPole-v1", run_dir=tmp_path, resume=True, progress=False)
    assert result2.steps == 500 and len(resumed.replay) == 500
    assert min(result2.curves["loss"][0]) > 400
    assert result2.checkpoint.endswith("ckpt-500")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    config = DQNConfig(total_timesteps=300, **TINY)
    agent = DQN(lambda: ConstantEnv(length=5), config)
    with pytest.raises(TrainingDivergedError, match=r"non-finite at step \d+.*ckpt-100"):
        agent.learn(lambda: ConstantEnv(length=5, nan_at=150), run_dir=tmp_path, checkpoint_every=100, progress=False)
    # the checkpoint left behind is the good one of step 100: it restores to finite weights
    restored = DQN(lambda: ConstantEnv(length=5), DQNConfig(**{**config.__dict__, "total_timesteps": 100}))
    result = restored.learn(lambda: ConstantEnv(length=5), run_dir=tmp_path, resume=True, progress=False)
    assert result.steps == 100
    assert all(np.isfinite(w).all() for w in restored.q_network.get_weights())


def test_greedy_evaluation_and_export_give_the_same_actions(tmp_path):
    from kerasdl.export import load_saved_model

    agent = DQN("CartPole-v1", DQNConfig(hidden_units=(16,)))
    returns = evaluate_policy("CartPole-v1", agent.greedy_actions, episodes=4, seed=3)
    assert returns.shape == (4,) and (returns >= 1).all()
    path = agent.export(tmp_path / "policy")
    observations = np.random.default_rng(1).normal(0, 1, (256, 4)).astype(np.float32)
    exported = np.asarray(load_saved_model(path)(observations))
    assert exported.dtype == np.int32
    np.testing.assert_array_equal(exported, agent.greedy_actions(observations))


def test_the_rl_benchmark_evaluates_the_peers_exactly_as_kerasdl_does():
    # benchmarks/rl.py runs SB3 and SBX in their own venvs (no kerasdl there) with EVAL_SOURCE,
    # which must stay kerasdl's evaluate_policy: same seeds, same vectorisation, same returns.
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "rl.py"
    spec = importlib.util.spec_from_file_location("rl_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    namespace = {}
    exec(module.EVAL_SOURCE, namespace)
    agent = DQN("CartPole-v1", DQNConfig(hidden_units=(16,), seed=2))
    for parallel in (5, 2):
        ours = evaluate_policy("CartPole-v1", agent.greedy_actions, episodes=5, seed=7, max_parallel=parallel)
        theirs = namespace["evaluate"]("CartPole-v1", agent.greedy_actions, 5, 7, max_parallel=parallel)
        np.testing.assert_array_equal(ours, theirs)
    assert len(set(ours.tolist())) > 1  # seeds differ between copies


def test_numpy_greedy_policy_matches_the_network_and_follows_refresh():
    import keras

    model = mlp_q_network((6,), 3, hidden_units=(32, 16))
    policy = NumpyGreedyPolicy(model)
    observations = np.random.default_rng(0).normal(0, 1, (64, 6)).astype(np.float32)
    expected = model(observations).numpy()
    np.testing.assert_allclose([policy.q_values(o) for o in observations], expected, rtol=1e-5, atol=1e-5)
    margin = np.sort(expected, axis=1)[:, -1] - np.sort(expected, axis=1)[:, -2]
    clear = margin > 1e-4  # argmax agrees wherever the two best Q-values are not a float32 tie
    assert clear.sum() > 50
    np.testing.assert_array_equal([policy(o) for o in observations[clear]], expected.argmax(1)[clear])
    # a copy: a change to the network shows only after refresh()
    model.layers[-1].bias.assign([0.0, 0.0, 100.0])
    assert {policy(o) for o in observations} != {2}
    policy.refresh()
    assert {policy(o) for o in observations} == {2}
    assert not NumpyGreedyPolicy.supports(nature_dqn((84, 84, 4), 4))
    assert not NumpyGreedyPolicy.supports(mlp_q_network((6,), 3, hidden_units=(8,), activation="tanh"))
    inputs = keras.Input((4,))
    branched = keras.Model(inputs, keras.layers.Add()([keras.layers.Dense(2)(inputs), keras.layers.Dense(2)(inputs)]))
    assert not NumpyGreedyPolicy.supports(branched)
    with pytest.raises(ValueError, match="not a float32 stack"):
        NumpyGreedyPolicy(branched)
