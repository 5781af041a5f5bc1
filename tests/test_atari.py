"""kerasdl.rl.atari: Gymnasium's Atari preprocessing + frame stacking, and a few DQN steps on Pong."""

import numpy as np
import pytest

from kerasdl.rl.atari import ale_available

pytestmark = pytest.mark.skipif(
    not ale_available(), reason="ale-py or opencv-python-headless not installed (pip install 'kerasdl[atari]')"
)


def test_preprocessed_observations_are_stacked_84x84_uint8_frames():
    from kerasdl.rl.atari import make_atari_env

    env = make_atari_env("ALE/Pong-v5")
    observation, _ = env.reset(seed=0)
    assert env.observation_space.shape == observation.shape == (84, 84, 4)
    assert observation.dtype == np.uint8
    for _ in range(8):
        observation, reward, terminated, truncated, _ = env.step(env.action_space.sample())
    # the newest frame is the last channel; the stack moves by one frame per step
    previous = observation
    observation, *_ = env.step(0)
    np.testing.assert_array_equal(observation[..., :3], previous[..., 1:])
    env.close()


def test_a_few_dqn_steps_on_pong_with_the_nature_network():
    from kerasdl.rl.atari import atari_factory
    from kerasdl.rl.dqn import DQN, DQNConfig

    factory = atari_factory("ALE/Pong-v5")
    config = DQNConfig(
        total_timesteps=48,
        learning_starts=16,
        batch_size=8,
        buffer_size=64,
        train_frequency=8,
        gradient_steps=1,
        target_update_interval=16,
        clip_rewards=True,
    )
    agent = DQN(factory, config)
    assert agent.q_network.name == "nature_dqn" and agent.q_network.output_shape == (None, 6)
    result = agent.learn(factory, progress=False)
    assert result.steps == 48 and len(result.curves["loss"][1]) == (48 - 16) // 8
    assert agent.replay.observations.dtype == np.uint8
    assert np.isfinite(result.curves["loss"][1]).all()


def test_unknown_atari_game_is_refused():
    from kerasdl.rl.atari import make_atari_env

    with pytest.raises(ValueError, match="unknown environment id 'ALE/Pongg-v5'"):
        make_atari_env("ALE/Pongg-v5")
