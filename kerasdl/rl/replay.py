"""Experience replay (Lin 1992; Mnih et al. 2015): a preallocated NumPy ring buffer.

Every field lives in one array of ``capacity`` rows allocated up front, so adding a
transition is a handful of row writes and sampling a batch is one fancy-indexing gather
per field; no Python lists of tuples on the hot path. When full, the oldest transition
is overwritten. Observations keep their environment dtype (uint8 Atari frames stay 1 byte
per pixel).

Only ``terminated`` is stored as the "done" flag: a transition cut by a time limit
(``truncated``) still bootstraps from its next observation (Pardo et al. 2018, "Time
Limits in Reinforcement Learning").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerasdl._validation import check_int, check_shape

_FIELDS = ("observations", "actions", "rewards", "next_observations", "terminated")


@dataclass
class Batch:
    """A sampled mini-batch; every field has ``batch_size`` rows."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminated: np.ndarray


class ReplayBuffer:
    """Fixed-capacity ring buffer of ``(s, a, r, s', terminated)`` transitions, uniform sampling.

    Args:
        capacity: the most transitions kept (older ones are overwritten).
        observation_shape: shape of one observation.
        observation_dtype: dtype of the stored observations (the environment's).
        seed: seed of the sampler's ``numpy.random.Generator``.
    """

    def __init__(self, capacity: int, observation_shape, observation_dtype="float32", seed: int | None = None):
        self.capacity = check_int("capacity", capacity, minimum=1)
        self.observation_shape = check_shape("observation_shape", observation_shape)
        self.observation_dtype = np.dtype(observation_dtype)
        self.observations = np.zeros((self.capacity, *self.observation_shape), self.observation_dtype)
        self.next_observations = np.zeros_like(self.observations)
        self.actions = np.zeros(self.capacity, np.int32)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.terminated = np.zeros(self.capacity, np.float32)
        self.position = 0  # next row to write
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, observation, action, reward, next_observation, terminated) -> None:
        """Store one transition (overwriting the oldest when full)."""
        i = self.position
        self.observations[i] = observation
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.terminated[i] = float(terminated)
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, batches: int = 1) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement from those stored.

        Sampling is with replacement, so a batch may be larger than the buffer's content:
        with ``learning_starts=0`` (rl-baselines3-zoo's Acrobot-v1 and LunarLander settings)
        the first update draws e.g. 128 rows from 4 stored transitions, each about 32 times.
        Stable-Baselines3's ``ReplayBuffer.sample`` does the same
        (``np.random.randint(0, upper_bound, size=batch_size)``). Only an empty buffer is refused.
        ``batches > 1`` draws that many batches at once, concatenated (``batches * batch_size`` rows).

        Raises:
            ValueError: the buffer is empty, or ``batch_size`` / ``batches`` is not a positive int.
        """
        batch_size = check_int("batch_size", batch_size, minimum=1)
        batches = check_int("batches", batches, minimum=1)
        if self.size == 0:
            raise ValueError(
                f"cannot sample batch_size={batch_size} from an empty replay buffer: add transitions first"
            )
        index = self.rng.integers(0, self.size, size=batch_size * batches)
        return Batch(*(getattr(self, field)[index] for field in _FIELDS))

    # -- persistence, so a resumed run keeps its experience ------------------------------
    def save(self, path) -> Path:
        """Write the stored transitions and the write position to ``path`` (.npz), atomically."""
        from kerasdl.export import atomic_file

        path = Path(path)
        arrays = {field: getattr(self, field)[: self.size] for field in _FIELDS}
        with atomic_file(path, suffix=".npz") as tmp:
            np.savez(tmp, position=self.position, size=self.size, capacity=self.capacity, **arrays)
        return path

    def load(self, path) -> "ReplayBuffer":
        """Restore what :meth:`save` wrote; the buffer's capacity and shapes must match."""
        with np.load(path) as data:
            if int(data["capacity"]) != self.capacity or data["observations"].shape[1:] != self.observation_shape:
                raise ValueError(
                    f"replay file {path} holds capacity {int(data['capacity'])} and observations "
                    f"{data['observations'].shape[1:]}, this buffer has {self.capacity} and {self.observation_shape}"
                )
            self.size, self.position = int(data["size"]), int(data["position"])
            for field in _FIELDS:
                getattr(self, field)[: self.size] = data[field]
        return self
