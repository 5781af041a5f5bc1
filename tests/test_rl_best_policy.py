"""DQN and REINFORCE keep, checkpoint and export the best evaluated policy, not the last one
(issue 21, item 15), and checkpoint as often as asked (item 6).

Evaluation returns are scripted (``kerasdl.rl.common.evaluate_policy`` is replaced), so what
is checked does not depend on how well a tiny run happens to learn.
"""

import gymnasium as gym
import numpy as np
import pytest

from kerasdl.rl import common
from kerasdl.rl.common import BestPolicy, Checkpointer, default_target_return
from kerasdl.rl.dqn import DQN, DQNConfig
from kerasdl.rl.networks import mlp_q_network
from kerasdl.rl.reinforce import REINFORCE, REINFORCEConfig


class ConstantEnv(gym.Env):
    """One observation, two actions, reward 1 per step, episodes of 5 steps."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.5, -0.5], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([0.5, -0.5], np.float32), 1.0, self.t >= 5, False, {}


TINY_DQN = dict(
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


class ScriptedEvaluations:
    """Stands in for ``evaluate_policy`` during training: returns the scripted means in turn and
    records a copy of the network's weights at each call (what that evaluation 'saw')."""

    def __init__(self, network, means):
        self.network, self.means, self.seen = network, list(means), []

    def __call__(self, env, action_fn, episodes=10, seed=0, **kwargs):
        self.seen.append([w.copy() for w in self.network.get_weights()])
        return np.full(episodes, self.means[len(self.seen) - 1], dtype=float)


def _assert_weights_equal(model, expected):
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(got, want)


def _weights_differ(a, b):
    return any(not np.array_equal(x, y) for x, y in zip(a, b))


def test_best_policy_keeps_the_highest_and_the_earlier_of_ties():
    network = mlp_q_network((2,), 2, hidden_units=(4,))
    best = BestPolicy(network)
    assert not best.found and best.summary() == (None, None)
    snapshots = []
    for step, mean in enumerate([3.0, 7.0, 7.0, 5.0], start=1):
        network.set_weights([w + step for w in network.get_weights()])
        snapshots.append(network.get_weights())
        best.offer(network, mean, step)
    assert best.summary() == (7.0, 2)  # the tie at step 3 keeps step 2
    _assert_weights_equal(best.network, snapshots[1])
    assert _weights_differ(best.network.get_weights(), network.get_weights())


def test_dqn_exports_the_best_evaluation_not_the_last(tmp_path, monkeypatch):
    from kerasdl.export import load_saved_model

    agent = DQN(ConstantEnv, DQNConfig(total_timesteps=200, **TINY_DQN))
    script = ScriptedEvaluations(agent.q_network, [1.0, 5.0, 3.0, 5.0, 2.0])
    monkeypatch.setattr(common, "evaluate_policy", script)
    result = agent.learn(ConstantEnv, eval_every=40, eval_episodes=3, progress=False)

    assert len(script.seen) == 5  # steps 40 … 200; the last step was evaluated, no extra final one
    assert (result.best_eval_mean, result.best_eval_step, result.last_eval_mean) == (5.0, 80, 2.0)
    assert result.solved_at_step is None and result.steps == 200
    _assert_weights_equal(agent.policy_network("best"), script.seen[1])
    assert _weights_differ(script.seen[1], agent.q_network.get_weights())  # training went on after step 80
    assert agent.policy_network("final") is agent.q_network

    path = agent.export(tmp_path / "policy")
    exported = load_saved_model(path)
    kept = sorted((w.numpy() for w in exported.weights), key=lambda w: (w.shape, w.sum()))
    want = sorted(script.seen[1], key=lambda w: (w.shape, w.sum()))
    assert len(kept) == len(want) and all(np.array_equal(a, b) for a, b in zip(kept, want))
    empty = np.asarray(exported(np.zeros((0, 2), np.float32)))  # an empty batch gives no actions
    assert empty.shape == (0,) and empty.dtype == np.int32

    # the apps' reload-and-compare check: the exported best policy, not the final network
    from kerasdl.rl.common import check_exported_policy, greedy_action_fn

    observations = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
    assert check_exported_policy(path, greedy_action_fn(agent.policy_network("best")), observations) == 32
    with pytest.raises(RuntimeError, match="disagrees with the agent on 100.0%"):
        check_exported_policy(path, lambda obs: greedy_action_fn(agent.policy_network("best"))(obs) + 1, observations)


def test_dqn_stops_at_the_target_and_evaluates_the_final_policy(monkeypatch):
    agent = DQN(ConstantEnv, DQNConfig(total_timesteps=200, **TINY_DQN))
    script = ScriptedEvaluations(agent.q_network, [1.0, 9.0])
    monkeypatch.setattr(common, "evaluate_policy", script)
    result = agent.learn(ConstantEnv, eval_every=40, target_return=8.0, progress=False)
    assert result.solved_at_step == 80 == result.steps and len(script.seen) == 2

    # 130 steps with evaluations every 40: the final policy (step 130) is evaluated too
    agent = DQN(ConstantEnv, DQNConfig(total_timesteps=130, **TINY_DQN))
    script = ScriptedEvaluations(agent.q_network, [1.0, 2.0, 3.0, 4.0])
    monkeypatch.setattr(common, "evaluate_policy", script)
    result = agent.learn(ConstantEnv, eval_every=40, progress=False)
    assert result.curves["eval_return"][0] == [40, 80, 120, 130]
    assert (result.best_eval_mean, result.best_eval_step) == (4.0, 130)
    _assert_weights_equal(agent.policy_network(), agent.q_network.get_weights())


def test_dqn_best_policy_survives_resume_and_checkpoint_every_is_honoured(tmp_path, monkeypatch):
    import tensorflow as tf

    config = DQNConfig(total_timesteps=120, **TINY_DQN)
    agent = DQN(ConstantEnv, config)
    script = ScriptedEvaluations(agent.q_network, [4.0, 6.0, 1.0])
    monkeypatch.setattr(common, "evaluate_policy", script)
    agent.learn(ConstantEnv, run_dir=tmp_path, checkpoint_every=30, eval_every=40, progress=False)
    state = tf.train.get_checkpoint_state(str(tmp_path / "checkpoints"))
    assert [p.rsplit("-", 1)[1] for p in state.all_model_checkpoint_paths] == ["90", "120"]  # max_to_keep=2

    resumed = DQN(ConstantEnv, DQNConfig(**{**config.__dict__, "total_timesteps": 160}))
    script2 = ScriptedEvaluations(resumed.q_network, [5.0])  # step 160: worse than the restored best
    monkeypatch.setattr(common, "evaluate_policy", script2)
    result = resumed.learn(ConstantEnv, run_dir=tmp_path, resume=True, eval_every=40, progress=False)
    assert (result.best_eval_mean, result.best_eval_step) == (6.0, 80)
    _assert_weights_equal(resumed.policy_network("best"), script.seen[1])


@pytest.mark.parametrize("checkpoint_every", [0, -5, 2.5])
def test_bad_checkpoint_every_is_refused(checkpoint_every):
    agent = DQN(ConstantEnv, DQNConfig(total_timesteps=50, **TINY_DQN))
    with pytest.raises(ValueError, match="checkpoint_every must be"):
        agent.learn(ConstantEnv, checkpoint_every=checkpoint_every, progress=False)


def test_reinforce_exports_the_best_evaluation_and_stops_at_the_target(tmp_path, monkeypatch):
    config = REINFORCEConfig(total_episodes=48, episodes_per_update=4, hidden_units=(8,), learning_rate=0.05)
    agent = REINFORCE(ConstantEnv, config)
    script = ScriptedEvaluations(agent.policy, [2.0, 4.0, 3.0])
    monkeypatch.setattr(common, "evaluate_policy", script)
    result = agent.learn(run_dir=tmp_path, eval_every=4, checkpoint_every=1, progress=False)  # every 16 episodes
    assert result.curves["eval_return"][0] == [16, 32, 48]
    assert (result.best_eval_mean, result.best_eval_episode, result.last_eval_mean) == (4.0, 32, 3.0)
    _assert_weights_equal(agent.policy_network(), script.seen[1])
    assert _weights_differ(script.seen[1], agent.policy.get_weights())

    resumed = REINFORCE(ConstantEnv, REINFORCEConfig(**{**config.__dict__, "total_episodes": 64}))
    monkeypatch.setattr(common, "evaluate_policy", ScriptedEvaluations(resumed.policy, [9.0]))
    result = resumed.learn(run_dir=tmp_path, resume=True, eval_every=4, target_return=9.0, progress=False)
    assert result.solved_at_episode == 64 and result.best_eval_episode == 64


def test_default_target_return_is_the_spec_threshold():
    assert default_target_return("CartPole-v1") == 475.0
    assert default_target_return("Acrobot-v1") == -100.0
    assert default_target_return(ConstantEnv) is None and default_target_return("NoSuchEnv-v0") is None


def test_checkpointer_restores_the_best_policy_and_resumes_checkpoints_without_one(tmp_path):
    import tensorflow as tf

    network = mlp_q_network((2,), 2, hidden_units=(4,))
    best = BestPolicy(network)
    best.offer(network, 12.5, 7)
    Checkpointer(tmp_path / "new", q_network=network, optional=best.trackables()).save(7)
    other = BestPolicy(mlp_q_network((2,), 2, hidden_units=(4,)))
    assert Checkpointer(tmp_path / "new", q_network=network, optional=other.trackables()).restore() == 7
    assert other.summary() == (12.5, 7)
    _assert_weights_equal(other.network, network.get_weights())

    # A checkpoint written before the best policy was kept still resumes (with no best yet) ...
    Checkpointer(tmp_path / "old", q_network=network).save(3)
    fresh, none_yet = mlp_q_network((2,), 2, hidden_units=(4,)), BestPolicy(network)
    assert Checkpointer(tmp_path / "old", q_network=fresh, optional=none_yet.trackables()).restore() == 3
    _assert_weights_equal(fresh, network.get_weights())
    assert not none_yet.found
    # ... while a missing required object is still an error
    with pytest.raises(AssertionError):
        Checkpointer(tmp_path / "old", q_network=fresh, value=tf.Variable(1.0)).restore()
