"""Atari environments preprocessed as in the Nature DQN paper, with Gymnasium's own wrappers.

``make_atari_env("ALE/Pong-v5")`` gives: no-op starts (up to 30), frame skip 4 with max
pooling of the last two frames, 84x84 greyscale (``gymnasium.wrappers.AtariPreprocessing``),
an optional time limit counted in agent steps, optional life-loss-as-terminal
(:class:`LifeLossTerminal`), then the last 4 frames stacked
(``gymnasium.wrappers.FrameStackObservation``) and moved to the channel axis, so an
observation is a uint8 array of shape (84, 84, 4) that :func:`kerasdl.rl.networks.nature_dqn`
takes directly.

The emulator and its ROMs come from the ``ale-py`` package (its wheels bring the ROMs), and
``AtariPreprocessing`` resizes with OpenCV (``opencv-python-headless``):
``pip install 'kerasdl[atari]'`` installs both; nothing is downloaded at run time.
"""

from __future__ import annotations

import gymnasium as gym
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
    gym.register_envs(ale_py)


class LifeLossTerminal(gym.Wrapper):
    """A lost life ends the *episode* but not the *game* (Mnih et al. 2015, Methods).

    ``step`` returns ``terminated=True`` when the ALE's life counter drops; the next
    ``reset`` then continues the same game with one no-op step (its ``seed`` is ignored),
    and only a real game over (or a time-limit truncation) resets the emulator.
    Gymnasium's ``AtariPreprocessing(terminal_on_life_loss=True)`` instead resets the
    whole game at every life loss, so an agent would never see the game with fewer lives
    (or fewer bricks) than at the start; this wrapper does what the paper describes.
    """

    def __init__(self, env):
        super().__init__(env)
        self.lives = 0
        self.game_over = True

    def step(self, action):
        """One agent step; ``terminated`` is also True when a life was lost in it."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.game_over = bool(terminated or truncated)
        lives = self.env.unwrapped.ale.lives()
        if lives < self.lives:
            terminated = True
        self.lives = lives
        return observation, reward, terminated, truncated, info

    def reset(self, *, seed=None, options=None):
        """Continue the game after a lost life (one no-op step), or reset the emulator after a game over."""
        if not self.game_over:
            observation, _, terminated, truncated, info = self.env.step(0)  # action 0 is NOOP in every game
            if not (terminated or truncated):
                self.lives = self.env.unwrapped.ale.lives()
                return observation, info
        observation, info = self.env.reset(seed=seed, options=options)
        self.lives = self.env.unwrapped.ale.lives()
        self.game_over = False
        return observation, info


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

    Args:
        env_id: a registered ``ALE/…`` id (``ValueError`` otherwise; ``ImportError`` without ale-py).
        frame_skip: emulator frames per agent step (the last two max-pooled).
        screen_size: side of the square greyscale observation.
        stack: frames stacked on the channel axis, the newest last.
        noop_max: at most this many no-op agent steps after a reset (random starts).
        terminal_on_life_loss: a lost life ends the episode, the game goes on
            (:class:`LifeLossTerminal`). An evaluation on such an environment scores one life,
            not one game: evaluate on an environment made without it.
        max_episode_steps: truncate an episode (a game, with life loss as terminal) after this
            many *agent* steps (``frame_skip`` emulator frames each); None: the ALE's own limit
            of 108,000 frames.
        **kwargs: go to ``gymnasium.make`` (e.g. ``repeat_action_probability``). The base
            environment is made with ``frameskip=1`` because ``AtariPreprocessing`` does the skipping.

    Returns:
        A ``gymnasium.Env`` whose observations are uint8 arrays ``(screen_size, screen_size, stack)``.
    """
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TimeLimit, TransformObservation

    from kerasdl.rl.common import check_env_id

    check_env_id(env_id)
    for name, value in (("frame_skip", frame_skip), ("screen_size", screen_size), ("stack", stack)):
        check_int(name, value, minimum=1)
    check_int("noop_max", noop_max, minimum=0)
    if max_episode_steps is not None:
        check_int("max_episode_steps", max_episode_steps, minimum=1)
    env = gym.make(env_id, frameskip=1, **kwargs)
    env = AtariPreprocessing(
        env,
        noop_max=noop_max,
        frame_skip=frame_skip,
        screen_size=screen_size,
        terminal_on_life_loss=False,
        grayscale_obs=True,
        scale_obs=False,
    )
    # The limit goes above the frame skipping so that it counts agent steps (gym.make's own
    # max_episode_steps would sit under AtariPreprocessing and count emulator frames).
    if max_episode_steps is not None:
        env = TimeLimit(env, max_episode_steps)
    if terminal_on_life_loss:
        env = LifeLossTerminal(env)
    env = FrameStackObservation(env, stack_size=stack)  # (stack, H, W)
    channels_last = gym.spaces.Box(0, 255, (screen_size, screen_size, stack), np.uint8)
    return TransformObservation(env, lambda frames: np.moveaxis(np.asarray(frames), 0, -1), channels_last)


def atari_factory(env_id: str = "ALE/Pong-v5", **kwargs):
    """A zero-argument factory for :func:`make_atari_env` (what DQN's evaluation copies need).

    Args:
        env_id: a registered ``ALE/…`` id.
        **kwargs: keyword arguments of :func:`make_atari_env`.

    Returns:
        A function that makes a fresh preprocessed environment on each call.

    Raises:
        ImportError: ale-py or OpenCV is not installed.
    """
    require_ale()
    return lambda: make_atari_env(env_id, **kwargs)
