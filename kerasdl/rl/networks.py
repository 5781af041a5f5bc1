"""Networks for value-based and policy-gradient agents.

* :func:`mlp_q_network` — Q(s, ·) for vector observations (CartPole): an MLP with one
  linear output per action, built with :func:`kerasdl.models.mlp`.
* :func:`nature_dqn` — the convolutional Q-network of Mnih et al. 2015, "Human-level
  control through deep reinforcement learning" (Nature 518), for 84x84x4 stacked frames:
  conv 8x8/4 x32 → conv 4x4/2 x64 → conv 3x3/1 x64 → dense 512 → one output per action,
  ReLU throughout. It takes the uint8 frames as stored and scales them by 1/255 inside.
  Parameters: 8,224 + 32,832 + 36,928 + 1,606,144 + 513·A (1,686,180 for Breakout's 4
  actions, 1,687,206 for Pong's 6).
* :func:`policy_network` / :func:`value_network` — π(a|s) logits and V(s) for REINFORCE.

All of them map a batch of observations to a batch of outputs; the agents pick the
network by the rank of the observation (1-D → MLP, 3-D frames → Nature DQN).
"""

from __future__ import annotations

import keras

from kerasdl._validation import check_image_shape, check_int, check_shape
from kerasdl.models.mlp import mlp


def mlp_q_network(observation_shape, num_actions: int, hidden_units=(256, 256), activation="relu"):
    """Q-network for vector observations: Flatten → Dense hidden layers → Dense(num_actions), linear.

    Layer names come from :func:`kerasdl.models.mlp` (``hidden{i}_dense`` … ``predictions``);
    the model is named ``q_network``.
    """
    observation_shape = check_shape("observation_shape", observation_shape)
    num_actions = check_int("num_actions", num_actions, minimum=1)
    model = mlp(
        observation_shape, num_actions, hidden_units=hidden_units, activation=activation, output_activation=None
    )
    model.name = "q_network"
    return model


def nature_dqn(input_shape=(84, 84, 4), num_actions: int = 6):
    """The Nature-DQN Q-network (Mnih et al. 2015, Methods "Model architecture").

    Takes uint8 (or float) frames of shape ``input_shape`` (channels-last, the stacked
    frames as channels) and scales them to [0, 1] with a ``Rescaling`` layer, so replay
    memory can store compact uint8 frames. The conv stack needs at least 36x36 inputs.
    """
    input_shape = check_image_shape("input_shape", input_shape, min_size=36)
    num_actions = check_int("num_actions", num_actions, minimum=1)
    inputs = keras.Input(input_shape, name="frames")
    x = keras.layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    for index, (filters, kernel, stride) in enumerate(((32, 8, 4), (64, 4, 2), (64, 3, 1)), start=1):
        x = keras.layers.Conv2D(filters, kernel, strides=stride, activation="relu", name=f"conv{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(512, activation="relu", name="fc")(x)
    outputs = keras.layers.Dense(num_actions, name="q_values")(x)
    return keras.Model(inputs, outputs, name="nature_dqn")


def q_network_for(observation_shape, num_actions: int, hidden_units=(256, 256)):
    """The Q-network that fits an observation: MLP for vectors, Nature DQN for (H, W, C) frames."""
    observation_shape = check_shape("observation_shape", observation_shape)
    if len(observation_shape) == 3:
        return nature_dqn(observation_shape, num_actions)
    return mlp_q_network(observation_shape, num_actions, hidden_units)


def policy_network(observation_shape, num_actions: int, hidden_units=(64, 64), activation="tanh"):
    """π(a|s) as logits over ``num_actions`` (softmax is applied by the loss / sampler)."""
    observation_shape = check_shape("observation_shape", observation_shape)
    model = mlp(
        observation_shape,
        check_int("num_actions", num_actions, minimum=1),
        hidden_units=hidden_units,
        activation=activation,
        output_activation=None,
    )
    model.name = "policy_network"
    return model


def value_network(observation_shape, hidden_units=(64, 64), activation="tanh"):
    """V(s) as one linear output, shape (batch, 1): the learned baseline of REINFORCE."""
    observation_shape = check_shape("observation_shape", observation_shape)
    model = mlp(observation_shape, 1, hidden_units=hidden_units, activation=activation, output_activation="linear")
    model.name = "value_network"
    return model
