"""Neural architecture search with an RNN controller trained by REINFORCE (Zoph & Le 2017).

As in the seeds (AutoML: "a controller network and a child network"): an LSTM controller
emits, one decision per time step, the choices of a small child CNN — for every layer
its number of filters, its kernel size and whether a max-pool follows. Each decision is
a softmax over that decision's options; the chosen option is embedded and fed to the
next step. The child is built, trained briefly on the digits data and its validation
accuracy ``R`` is the reward. The controller's parameters θ follow the policy gradient

    ∇θ J ≈ (R − b) ∇θ Σ_t log P(a_t | a_<t; θ)

with ``b`` an exponential moving average of past rewards (the baseline that reduces the
variance). :func:`random_search` samples the same space uniformly with the same number of
child trainings, the comparison any NAS result should be read against.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from kerasdl._validation import check_float, check_int


@dataclass(frozen=True)
class SearchSpace:
    """Per-layer choices of the child CNN: ``num_layers`` x (filters, kernel size, pooling)."""

    num_layers: int = 3
    filters: tuple = (8, 16, 32)
    kernel_sizes: tuple = (3, 5)
    poolings: tuple = ("none", "max")

    def __post_init__(self):
        check_int("num_layers", self.num_layers, minimum=1)
        for name in ("filters", "kernel_sizes", "poolings"):
            if len(getattr(self, name)) < 1:
                raise ValueError(f"{name} needs at least one option")

    def decisions(self) -> list[tuple[str, tuple]]:
        """The controller's time steps in order: ``[("layer1_filters", options), …]``."""
        per_layer = (("filters", self.filters), ("kernel_size", self.kernel_sizes), ("pooling", self.poolings))
        return [(f"layer{i}_{name}", options) for i in range(1, self.num_layers + 1) for name, options in per_layer]

    def size(self) -> int:
        """Number of distinct architectures in the space: the product of every decision's option count."""
        return int(np.prod([len(options) for _, options in self.decisions()]))

    def decode(self, indices) -> list[dict]:
        """Option indices (one per decision) → ``[{"filters": 16, "kernel_size": 3, "pooling": "max"}, …]``."""
        decisions = self.decisions()
        if len(indices) != len(decisions):
            raise ValueError(f"expected {len(decisions)} decisions, got {len(indices)}")
        values = [options[int(i)] for (_, options), i in zip(decisions, indices)]
        return [dict(zip(("filters", "kernel_size", "pooling"), values[k : k + 3])) for k in range(0, len(values), 3)]


def child_cnn(architecture, input_shape=(8, 8, 1), num_classes: int = 10):
    """The child network: per layer Conv2D(filters, kernel, same, ReLU) [→ MaxPool 2], then GAP → softmax."""
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, layer in enumerate(architecture, start=1):
        x = keras.layers.Conv2D(
            layer["filters"], layer["kernel_size"], padding="same", activation="relu", name=f"conv{i}"
        )(x)
        if layer["pooling"] == "max" and x.shape[1] > 1:
            x = keras.layers.MaxPooling2D(2, padding="same", name=f"pool{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="child_cnn")


def digits_search_data(validation_fraction: float = 0.2, seed: int = 0):
    """sklearn digits at 8x8, scaled to [0, 1]: ``(x_train, y_train), (x_val, y_val)`` from the training split."""
    from kerasdl.data import load_digits, scale_images, train_val_split

    (x_train, y_train), _ = load_digits(image_size=8, seed=seed)
    return train_val_split(scale_images(x_train), y_train, validation_fraction=validation_fraction, seed=seed)


def train_child(
    architecture,
    data,
    *,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    seed: int = 0,
    jit_compile="auto",
) -> float:
    """Train a child briefly (Adam) and return its validation accuracy — the controller's reward.

    ``jit_compile="auto"``: XLA with a GPU; on CPU each child's compilation would cost more
    than its few epochs save."""
    from kerasdl.training import compile_model

    (x_train, y_train), (x_val, y_val) = data
    keras.utils.set_random_seed(seed)
    model = compile_model(
        child_cnn(architecture, x_train.shape[1:], int(y_train.max()) + 1),
        "adam",
        learning_rate,
        jit_compile=jit_compile,
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
    # one eager forward pass on the small validation split (cheaper than tracing evaluate())
    predictions = np.asarray(model(x_val, training=False))
    return float(np.mean(predictions.argmax(axis=-1) == np.asarray(y_val).reshape(-1)))


class NASController(keras.Model):
    """LSTM controller: at step t the input is the embedding of a_{t−1} (a learned start
    token at t = 0) and the output a softmax over decision t's options.

    ``num_options``: the number of options of each decision, in order
    (``[len(o) for _, o in SearchSpace().decisions()]``).
    """

    def __init__(self, num_options, units: int = 32, embedding_dim: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.num_options = [check_int("num_options[i]", int(n), minimum=1) for n in num_options]
        self.units = check_int("units", units, minimum=1)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        self.cell = keras.layers.LSTMCell(self.units, name="lstm_cell")
        self.start = keras.layers.Embedding(1, self.embedding_dim, name="start_token")
        self.heads = [keras.layers.Dense(n, name=f"decision{t}_logits") for t, n in enumerate(self.num_options)]
        # a choice is embedded to become the next step's input; the last choice feeds nothing
        self.embeddings = [
            keras.layers.Embedding(n, self.embedding_dim, name=f"decision{t}_embedding")
            for t, n in enumerate(self.num_options[:-1])
        ]

    def call(self, actions):
        """Teacher-forced: ``actions`` (batch, T) → (Σ_t log P(a_t | a_<t), mean entropy per step)."""
        actions = tf.cast(actions, tf.int32)
        batch = tf.shape(actions)[0]
        x = self.start(tf.zeros((batch,), tf.int32))
        state = [tf.zeros((batch, self.units)), tf.zeros((batch, self.units))]
        log_prob, entropy = 0.0, 0.0
        for t, head in enumerate(self.heads):
            h, state = self.cell(x, state)
            log_probs = tf.nn.log_softmax(head(h))
            log_prob += tf.gather(log_probs, actions[:, t], batch_dims=1)
            entropy += -tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=-1)
            if t < len(self.embeddings):
                x = self.embeddings[t](actions[:, t])
        return log_prob, entropy / len(self.heads)

    def sample(self, rng: np.random.Generator) -> list[int]:
        """Sample one architecture step by step, each choice fed back as the next input."""
        x = self.start(tf.zeros((1,), tf.int32))
        state = [tf.zeros((1, self.units)), tf.zeros((1, self.units))]
        choices = []
        for t, head in enumerate(self.heads):
            h, state = self.cell(x, state)
            probs = tf.nn.softmax(head(h))[0].numpy().astype(np.float64)
            choices.append(int(rng.choice(len(probs), p=probs / probs.sum())))
            if t < len(self.embeddings):
                x = self.embeddings[t](tf.constant([choices[-1]]))
        return choices


def controller_update(controller, optimizer, architectures, advantages, entropy_coef: float = 0.0) -> float:
    """One REINFORCE step: minimise −mean[(R − b) · log P(arch)] − β·H. Returns the loss."""
    actions = tf.constant(np.asarray(architectures, np.int32))
    advantages = tf.constant(np.asarray(advantages, np.float32))
    with tf.GradientTape() as tape:
        log_prob, entropy = controller(actions)
        loss = -tf.reduce_mean(advantages * log_prob) - entropy_coef * tf.reduce_mean(entropy)
    variables = controller.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return float(loss)


@dataclass
class SearchResult:
    """One search: every sampled architecture with its reward, the best one, and the search curve."""

    method: str
    architectures: list = field(default_factory=list)  # decoded, one per child training
    rewards: list = field(default_factory=list)  # validation accuracies
    baselines: list = field(default_factory=list)  # NAS only: b before each update
    seconds: float = 0.0

    @property
    def best_so_far(self) -> list[float]:
        return list(itertools.accumulate(self.rewards, max))

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.rewards))

    @property
    def best_architecture(self):
        return self.architectures[self.best_index]

    @property
    def best_reward(self) -> float:
        return float(self.rewards[self.best_index])

    def summary(self) -> dict:
        """JSON-ready figures of the search: method, child trainings, best reward and architecture, mean rewards."""
        return {
            "method": self.method,
            "child_trainings": len(self.rewards),
            "best_reward": self.best_reward,
            "best_architecture": self.best_architecture,
            "best_at_trial": self.best_index + 1,
            "mean_reward": float(np.mean(self.rewards)),
            "mean_reward_last_quarter": float(np.mean(self.rewards[-max(1, len(self.rewards) // 4) :])),
            "seconds": round(self.seconds, 1),
        }


def _check_search_args(trials, epochs):
    check_int("trials", trials, minimum=1)
    check_int("epochs", epochs, minimum=1)


def nas_search(
    trials: int = 20,
    *,
    space: SearchSpace | None = None,
    data=None,
    epochs: int = 3,
    controller_lr: float = 0.05,
    baseline_decay: float = 0.8,
    entropy_coef: float = 1e-3,
    units: int = 32,
    seed: int = 0,
    max_seconds: float | None = None,
    progress: bool = True,
) -> SearchResult:
    """Controller-driven search: ``trials`` child trainings, one controller update after each.

    ``max_seconds`` stops the search early (after the child that passes it); compare with
    :func:`random_search` at ``len(result.rewards)`` trials to keep the budgets equal.
    """
    from tqdm.auto import tqdm

    from kerasdl.training import make_optimizer

    _check_search_args(trials, epochs)
    check_float("baseline_decay", baseline_decay, minimum=0.0, maximum=1.0, max_inclusive=False)
    space = space or SearchSpace()
    data = data if data is not None else digits_search_data(seed=seed)
    keras.utils.set_random_seed(seed)
    controller = NASController([len(o) for _, o in space.decisions()], units=units)
    optimizer = make_optimizer("adam", controller_lr)
    rng = np.random.default_rng(seed)
    result, baseline, start = SearchResult("nas"), None, time.perf_counter()
    for trial in tqdm(range(trials), disable=not progress, desc="NAS", unit="child"):
        indices = controller.sample(rng)
        reward = train_child(space.decode(indices), data, epochs=epochs, seed=seed + trial)
        baseline = reward if baseline is None else baseline
        result.baselines.append(baseline)
        controller_update(controller, optimizer, [indices], [reward - baseline], entropy_coef)
        baseline = baseline_decay * baseline + (1 - baseline_decay) * reward  # moving-average baseline
        result.architectures.append(space.decode(indices))
        result.rewards.append(reward)
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    result.seconds = time.perf_counter() - start
    result.controller = controller
    return result


def random_search(
    trials: int = 20,
    *,
    space: SearchSpace | None = None,
    data=None,
    epochs: int = 3,
    seed: int = 0,
    max_seconds: float | None = None,
    progress: bool = True,
) -> SearchResult:
    """Uniform sampling of the same space, ``trials`` child trainings (the baseline for :func:`nas_search`)."""
    from tqdm.auto import tqdm

    _check_search_args(trials, epochs)
    space = space or SearchSpace()
    data = data if data is not None else digits_search_data(seed=seed)
    rng = np.random.default_rng(seed + 1)
    result, start = SearchResult("random"), time.perf_counter()
    for trial in tqdm(range(trials), disable=not progress, desc="random search", unit="child"):
        indices = [int(rng.integers(len(options))) for _, options in space.decisions()]
        result.architectures.append(space.decode(indices))
        result.rewards.append(train_child(result.architectures[-1], data, epochs=epochs, seed=seed + trial))
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    result.seconds = time.perf_counter() - start
    return result


def plot_search(results, path, title: str = "architecture search on digits"):
    """PNG: each search's reward per child training and best-so-far curve."""
    from kerasdl.plots import plot_curves

    curves = {}
    for result in results:
        curves[f"{result.method} reward"] = result.rewards
        curves[f"{result.method} best so far"] = result.best_so_far
    return plot_curves(curves, path, xlabel="child training", ylabel="validation accuracy", title=title)
