"""Atari environments preprocessed as in the Nature DQN paper, with Gymnasium's own wrappers.

``make_atari_env("ALE/Pong-v5")`` gives: no-op starts (up to 30), frame skip 4 with max
pooling of the last two frames, 84x84 greyscale, optional life-loss-as-terminal
(``gymnasium.wrappers.AtariPreprocessing``), then the last 4 frames stacked
(``gymnasium.wrappers.FrameStackObservation``) and moved to the channel axis, so an
observation is a uint8 array of shape (84, 84, 4) that :func:`kerasdl.rl.networks.nature_dqn`
takes directly.

The emulator and its ROMs come from the ``ale-py`` package, and ``AtariPreprocessing``
resizes with OpenCV (``opencv-python-headless``): ``pip install 'kerasdl[atari]'`` installs
both; nothing is downloaded at run time.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_int


def ale_available() -> bool:
    """True when ``ale_py`` (emulator + ROMs) and ``cv2`` (used by AtariPreprocessing) import."""
    try:
        import ale_py  # noqa: F401
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def require_ale() -> None:
    """Import ``ale_py`` and register its ``ALE/…`` environments, or explain how to get it."""
    try:
        import ale_py
        import cv2  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"Atari environments need ale-py (emulator and ROMs) and opencv-python-headless ({error}): "
            "pip install 'kerasdl[atari]' or pip install ale-py opencv-python-headless"
        ) from error
    import gymnasium as gym

    gym.register_envs(ale_py)


def make_atari_env(
    env_id: str = "ALE/Pong-v5",
    *,
    frame_skip: int = 4,
    screen_size: int = 84,
    stack: int = 4,
    noop_max: int = 30,
    terminal_on_life_loss: bool = False,
    max_episode_steps: int | None = None,
    **kwargs,
):
    """An Atari environment with DQN preprocessing; observations uint8 (screen, screen, stack).

    ``kwargs`` go to ``gymnasium.make`` (e.g. ``repeat_action_probability``). The base
    environment is made with ``frameskip=1`` because ``AtariPreprocessing`` does the skipping.
    """
    import gymnasium as gym
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TransformObservation

    from kerasdl.rl.common import check_env_id

    check_env_id(env_id)
    for name, value in (("frame_skip", frame_skip), ("screen_size", screen_size), ("stack", stack)):
        check_int(name, value, minimum=1)
    check_int("noop_max", noop_max, minimum=0)
    env = gym.make(env_id, frameskip=1, max_episode_steps=max_episode_steps, **kwargs)
    env = AtariPreprocessing(
        env,
        noop_max=noop_max,
        frame_skip=frame_skip,
        screen_size=screen_size,
        terminal_on_life_loss=terminal_on_life_loss,
        grayscale_obs=True,
        scale_obs=False,
    )
    env = FrameStackObservation(env, stack_size=stack)  # (stack, H, W)
    channels_last = gym.spaces.Box(0, 255, (screen_size, screen_size, stack), np.uint8)
    return TransformObservation(env, lambda frames: np.moveaxis(np.asarray(frames), 0, -1), channels_last)


def atari_factory(env_id: str = "ALE/Pong-v5", **kwargs):
    """A zero-argument factory for :func:`make_atari_env` (what DQN's evaluation copies need)."""
    require_ale()
    return lambda: make_atari_env(env_id, **kwargs)
