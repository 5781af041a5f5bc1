"""kerasdl.rl REINFORCE: reward-to-go, learning a contextual bandit, validation."""

import gymnasium as gym
import numpy as np
import pytest

from kerasdl.rl.reinforce import REINFORCE, REINFORCEConfig, reward_to_go


class ContextBandit(gym.Env):
    """One-step episodes: the observation is a one-hot context (3 of them); the action equal to
    the context pays 1, any other 0. A policy must read the observation to score."""

    observation_space = gym.spaces.Box(0.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.context = int(self.np_random.integers(3))
        return np.eye(3, dtype=np.float32)[self.context], {}

    def step(self, action):
        return np.zeros(3, np.float32), float(action == self.context), True, False, {}


def test_reward_to_go_discounts_and_masks_finished_steps():
    rewards = np.array([[1.0, 1.0], [1.0, 5.0], [1.0, 7.0]])  # (T=3, N=2)
    alive = np.array([[1, 1], [1, 1], [1, 0]])  # episode 2 ended after its second step
    returns = reward_to_go(rewards, 0.5, alive)
    np.testing.assert_allclose(returns[:, 0], [1 + 0.5 + 0.25, 1 + 0.5, 1])
    np.testing.assert_allclose(returns[:, 1], [1 + 0.5 * 5, 5, 0])


@pytest.mark.learned
def test_learns_a_contextual_bandit(tmp_path):
    config = REINFORCEConfig(
        total_episodes=32 * 25,
        episodes_per_update=32,
        learning_rate=0.05,
        value_learning_rate=0.05,
        hidden_units=(16,),
        entropy_coef=0.01,
        seed=1,
    )
    agent = REINFORCE(ContextBandit, config)
    assert agent.evaluate(episodes=30, seed=5).mean() < 0.9  # the untrained greedy policy ignores the context
    result = agent.learn(run_dir=tmp_path, progress=False)
    assert result.episodes == 800 and result.updates == 25 and result.env_steps == 800
    returns = result.curves["episode_return"][1]
    assert np.mean(returns[-5:]) > np.mean(returns[:5]) + 0.3
    assert agent.evaluate(episodes=30, seed=5).mean() == 1.0
    assert np.isfinite(result.curves["value_loss"][1]).all() and result.checkpoint.endswith("ckpt-800")
    assert (tmp_path / "learning_curve.png").is_file()


def test_cartpole_batch_collection_and_update_shapes():
    agent = REINFORCE("CartPole-v1", REINFORCEConfig(episodes_per_update=3, hidden_units=(8,)))
    envs = gym.vector.SyncVectorEnv([agent.env_fn] * 3)
    observations, actions, rewards, alive = agent.collect(envs, seed=[0, 1, 2])
    envs.close()
    assert observations.shape[1:] == (3, 4) and actions.shape == rewards.shape == alive.shape
    lengths = alive.sum(axis=0)  # steps per episode; collection stops when the longest one ends
    assert alive[0].all() and (lengths >= 8).all() and lengths.max() == len(alive)
    stats = agent.update(observations, actions, rewards, alive)
    assert set(stats) == {"policy_loss", "value_loss", "entropy"}
    assert 0 < stats["entropy"] <= np.log(2) + 1e-6


@pytest.mark.parametrize(
    "env, config, match",
    [
        ("NoSuchEnv-v0", {}, "unknown environment id"),
        ("MountainCarContinuous-v0", {}, "discrete action space"),
        ("CartPole-v1", {"gamma": 2.0}, "gamma must be <= 1.0"),
        ("CartPole-v1", {"episodes_per_update": 0}, "episodes_per_update must be >= 1"),
    ],
)
def test_bad_input_is_refused(env, config, match):
    with pytest.raises(ValueError, match=match):
        REINFORCE(env, REINFORCEConfig(**config))
