"""kerasdl.rl.replay: the preallocated ring buffer."""

import numpy as np
import pytest

from kerasdl.rl.replay import ReplayBuffer


def _fill(buffer, n, start=0):
    for i in range(start, start + n):
        buffer.add(
            np.full(buffer.observation_shape, i),
            i % 3,
            float(i),
            np.full(buffer.observation_shape, i + 1),
            terminated=(i % 2 == 0),
        )


def test_preallocated_arrays_and_dtypes():
    buffer = ReplayBuffer(10, (84, 84, 4), "uint8")
    assert buffer.observations.shape == (10, 84, 84, 4) and buffer.observations.dtype == np.uint8
    assert buffer.next_observations.dtype == np.uint8
    assert buffer.actions.dtype == np.int32 and buffer.rewards.dtype == np.float32
    assert len(buffer) == 0


def test_ring_overwrites_oldest_and_samples_uniformly():
    buffer = ReplayBuffer(4, (2,), seed=0)
    _fill(buffer, 6)  # transitions 0..5; 0 and 1 are overwritten
    assert len(buffer) == 4 and buffer.position == 2
    assert sorted(buffer.rewards.tolist()) == [2.0, 3.0, 4.0, 5.0]
    batch = buffer.sample(4)
    assert batch.observations.shape == (4, 2) and batch.actions.shape == (4,)
    rewards = np.concatenate([buffer.sample(4).rewards for _ in range(1000)])
    counts = np.bincount(rewards.astype(int), minlength=6)[2:]
    assert counts.min() > 850 and counts.max() < 1150  # each of 4 slots ~1000 times
    batch = buffer.sample(4)
    # fields stay aligned row by row
    np.testing.assert_array_equal(batch.next_observations[:, 0], batch.rewards + 1)
    np.testing.assert_array_equal(batch.terminated, (batch.rewards.astype(int) % 2 == 0).astype(np.float32))


def test_batch_larger_than_content_samples_with_replacement_and_empty_or_bad_input_is_refused():
    buffer = ReplayBuffer(8, (3,), seed=0)
    with pytest.raises(ValueError, match="batch_size=5 from an empty replay buffer"):
        buffer.sample(5)
    _fill(buffer, 2)
    # SB3's sample: np.random.randint(0, stored, batch_size), i.e. with replacement (learning_starts=0)
    batch = buffer.sample(128, batches=4)
    assert batch.observations.shape == (512, 3) and set(batch.rewards.tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(batch.next_observations[:, 0], batch.rewards + 1)
    with pytest.raises(ValueError, match="batches"):
        buffer.sample(4, batches=0)
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, (3,))
    with pytest.raises(ValueError, match="observation_shape"):
        ReplayBuffer(4, (0,))


def test_save_and_load_round_trip(tmp_path):
    buffer = ReplayBuffer(5, (2,), seed=1)
    _fill(buffer, 7)
    path = buffer.save(tmp_path / "replay.npz")
    restored = ReplayBuffer(5, (2,)).load(path)
    assert (len(restored), restored.position) == (len(buffer), buffer.position)
    for field in ("observations", "actions", "rewards", "next_observations", "terminated"):
        np.testing.assert_array_equal(getattr(restored, field), getattr(buffer, field))
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(6, (2,)).load(path)
