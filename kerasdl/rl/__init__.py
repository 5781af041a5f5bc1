"""Reinforcement learning with Gymnasium: DQN, REINFORCE, Atari preprocessing.

* :mod:`kerasdl.rl.dqn` — :class:`DQN`, :class:`DQNConfig` (replay, target network,
  ε-greedy, Huber loss, Double DQN, gradient clipping, compiled update).
* :mod:`kerasdl.rl.reinforce` — :class:`REINFORCE`, :class:`REINFORCEConfig` (reward-to-go,
  return normalisation, learned value baseline, entropy bonus).
* :mod:`kerasdl.rl.networks` — MLP and Nature-DQN Q-networks, policy and value networks.
* :mod:`kerasdl.rl.replay` — :class:`ReplayBuffer` (preallocated NumPy ring buffer).
* :mod:`kerasdl.rl.atari` — ``make_atari_env`` (AtariPreprocessing + frame stacking, ale-py).
* :mod:`kerasdl.rl.common` — :class:`Agent`, the interface both agents share
  (``learn``/``evaluate`` with an optional environment, ``save``/``load``, ``export``);
  evaluation (keeping the best policy, stopping at a target return), logging, checkpoints,
  policy export.
"""

from kerasdl.rl.common import Agent, TrainingDivergedError, evaluate_policy, export_policy
from kerasdl.rl.dqn import DQN, DQNConfig, DQNResult
from kerasdl.rl.networks import mlp_q_network, nature_dqn, policy_network, q_network_for, value_network
from kerasdl.rl.reinforce import REINFORCE, REINFORCEConfig, REINFORCEResult
from kerasdl.rl.replay import Batch, ReplayBuffer

__all__ = [
    "Agent",
    "DQN",
    "DQNConfig",
    "DQNResult",
    "REINFORCE",
    "REINFORCEConfig",
    "REINFORCEResult",
    "Batch",
    "ReplayBuffer",
    "TrainingDivergedError",
    "evaluate_policy",
    "export_policy",
    "mlp_q_network",
    "nature_dqn",
    "policy_network",
    "q_network_for",
    "value_network",
]
