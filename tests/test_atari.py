"""kerasdl.rl.atari on the real emulator: Gymnasium's Atari preprocessing + frame stacking over a
few hundred Breakout steps, life loss as terminal, the time limit in agent steps, a Nature-DQN
smoke run and its exported policy called on real frames.

ale-py's wheels bring the ROMs, so nothing is downloaded; without ale-py (or OpenCV, which
``AtariPreprocessing`` resizes with) the module skips, saying what to install.
"""

import numpy as np
import pytest

from kerasdl.rl.atari import ale_available

pytestmark = pytest.mark.skipif(
    not ale_available(),
    reason="ale-py or opencv-python-headless cannot be imported (pip install 'kerasdl[atari]')",
)


def test_the_roms_come_with_ale_py_and_pong_frames_are_stacked_84x84_uint8():
    import ale_py.roms

    from kerasdl.rl.atari import make_atari_env

    assert ale_py.roms.get_rom_path("breakout").is_file()  # bundled in the wheel: offline
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


def test_three_hundred_breakout_steps_with_life_loss_as_terminal_keep_playing_the_game():
    from kerasdl.rl.atari import make_atari_env

    env = make_atari_env("ALE/Breakout-v5", terminal_on_life_loss=True)
    env.action_space.seed(0)
    observation, _ = env.reset(seed=0)
    ale = env.unwrapped.ale
    lives_after_reset, frames, total_reward = [ale.lives()], set(), 0.0
    for _ in range(300):
        observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert observation.shape == (84, 84, 4) and observation.dtype == np.uint8
        frames.add(observation[..., -1].tobytes())
        total_reward += reward
        if terminated or truncated:
            observation, _ = env.reset()
            lives_after_reset.append(ale.lives())
    env.close()
    assert len(frames) > 100 and total_reward >= 0
    # a lost life ends the episode but the game goes on: 5 lives, then 4, 3, ... (Gymnasium's
    # own terminal_on_life_loss would restart at 5 every time); a game over starts a new game
    assert len(lives_after_reset) >= 6, lives_after_reset
    assert lives_after_reset[:5] == [5, 4, 3, 2, 1]
    assert 5 in lives_after_reset[5:]


def test_the_time_limit_counts_agent_steps_not_emulator_frames():
    from kerasdl.rl.atari import make_atari_env

    env = make_atari_env("ALE/Breakout-v5", max_episode_steps=50)
    env.reset(seed=1)
    for step in range(1, 51):
        _, _, terminated, truncated, info = env.step(0)
        assert not terminated and truncated == (step == 50)
    assert info["episode_frame_number"] >= 4 * 50  # frame skip 4
    env.close()
    with pytest.raises(ValueError, match="max_episode_steps must be >= 1"):
        make_atari_env("ALE/Breakout-v5", max_episode_steps=0)


def test_nature_dqn_learns_a_few_hundred_breakout_steps_and_its_export_plays_real_frames(tmp_path):
    from kerasdl.export import load_saved_model
    from kerasdl.rl.atari import atari_factory
    from kerasdl.rl.common import check_exported_policy, sample_observations
    from kerasdl.rl.dqn import DQN, DQNConfig

    factory = atari_factory("ALE/Breakout-v5", max_episode_steps=100)
    config = DQNConfig(
        total_timesteps=256,
        learning_starts=64,
        batch_size=16,
        buffer_size=256,
        train_frequency=16,
        gradient_steps=2,
        target_update_interval=64,
        learning_rate=1e-4,
        clip_rewards=True,
    )
    agent = DQN(factory, config)
    assert agent.q_network.name == "nature_dqn" and agent.q_network.output_shape == (None, 4)
    result = agent.learn(factory, progress=False, eval_every=128, eval_episodes=2)
    assert result.steps == 256 and len(result.curves["loss"][1]) == (256 - 64) // 16
    assert np.isfinite(result.curves["loss"][1]).all()
    assert agent.replay.observations.dtype == np.uint8
    assert result.best_eval_mean is not None and result.best_eval_step in (128, 256)

    path = agent.export(tmp_path / "policy")
    frames = sample_observations(factory, count=16, seed=3)
    assert frames.shape == (16, 84, 84, 4) and frames.dtype == np.uint8
    assert check_exported_policy(path, agent.best.greedy_actions, frames) == 16
    actions = np.asarray(load_saved_model(path)(frames[:1]))
    assert actions.shape == (1,) and actions.dtype == np.int32 and 0 <= actions[0] < 4


def test_unknown_atari_game_is_refused():
    from kerasdl.rl.atari import make_atari_env

    with pytest.raises(ValueError, match="unknown environment id 'ALE/Pongg-v5'"):
        make_atari_env("ALE/Pongg-v5")
