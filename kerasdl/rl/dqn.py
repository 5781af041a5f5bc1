"""Deep Q-Network (Mnih et al. 2015), laid out like CleanRL's ``dqn.py``.

The update, for a batch of transitions ``(s, a, r, s', terminated)`` from replay::

    y      = r + γ · (1 − terminated) · max_a' Q_target(s', a')        # TD target, no gradient
    loss   = Huber(y − Q(s, a))                                        # the seeds' (y − Q(s, a))²,
                                                                        # linear beyond |δ| > 1
Double DQN (van Hasselt et al. 2016) picks ``a'`` with the online network and values it
with the target: ``y = r + γ (1 − terminated) Q_target(s', argmax_a' Q(s', a'))``.

Everything else is the standard recipe: ε-greedy exploration with ε decayed linearly
over ``exploration_fraction`` of the run; a replay buffer; a target network synced every
``target_update_interval`` environment steps (hard copy when ``tau == 1``, Polyak
averaging ``θ⁻ ← τθ + (1 − τ)θ⁻`` otherwise); Adam with the gradient's global norm
clipped to ``max_grad_norm``; the update compiled with ``tf.function`` (``jit_compile``:
XLA; ``"auto"`` turns it on with a GPU).

Gymnasium's API: ``reset(seed=...)`` once, then ``step`` returns ``terminated`` (a true
end: no bootstrap) and ``truncated`` (a time limit: the next state still has value, so
the transition is stored as not terminated and bootstraps). Either one ends the episode.

Example::

    from kerasdl.rl.dqn import DQN, DQNConfig
    agent = DQN("CartPole-v1", DQNConfig(total_timesteps=50_000))
    result = agent.learn(run_dir="runs/dqn/demo", eval_every=1_000, eval_episodes=20, target_return=475)
    agent.save("runs/dqn/demo/agent.npz")          # the networks' weights and the best policy
    agent.export("saved_models/dqn/demo")          # observation → action, the best evaluated policy
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerasdl._validation import check_float, check_int
from kerasdl.rl.common import (
    Agent,
    BestPolicy,
    Checkpointer,
    GreedyEvaluation,
    RunLog,
    check_discrete_actions,
    check_gamma,
    check_network_fits,
    diverged,
    greedy_action_fn,
    linear_schedule,
    make_env,
)
from kerasdl.rl.networks import q_network_for
from kerasdl.rl.replay import ReplayBuffer


@dataclass
class DQNConfig:
    """DQN hyperparameters. Defaults: rl-baselines3-zoo's tuned CartPole-v1 settings.

    Step counts are environment steps. ``train_frequency`` env steps pass between
    training phases of ``gradient_steps`` updates each; ``learning_starts`` steps of
    random play fill the buffer first. ``learning_starts=0`` (rl-baselines3-zoo's Acrobot-v1
    setting) is allowed: the first updates then draw their batches with replacement from the
    few transitions stored, as Stable-Baselines3 does (:meth:`~kerasdl.rl.replay.ReplayBuffer.sample`). ``jit_compile``: ``"auto"`` (XLA with a GPU, off on
    CPU), ``True`` or ``False``; kept as given, resolved by the agent
    (:func:`kerasdl.training.runtime.resolve_jit_compile`, stored as ``DQN.jit_compile``).
    """

    total_timesteps: int = 50_000
    learning_rate: float = 2.3e-3
    buffer_size: int = 100_000
    batch_size: int = 64
    learning_starts: int = 1_000
    gamma: float = 0.99
    train_frequency: int = 256
    gradient_steps: int = 128
    target_update_interval: int = 10
    tau: float = 1.0
    exploration_fraction: float = 0.16
    start_epsilon: float = 1.0
    end_epsilon: float = 0.04
    double_dqn: bool = False
    max_grad_norm: float = 10.0
    huber_delta: float = 1.0
    hidden_units: tuple = (256, 256)
    clip_rewards: bool = False
    jit_compile: bool | str = "auto"
    seed: int = 0

    def __post_init__(self):
        from kerasdl.training.runtime import check_jit_compile

        check_jit_compile(self.jit_compile)
        for name in (
            "total_timesteps",
            "buffer_size",
            "batch_size",
            "train_frequency",
            "gradient_steps",
            "target_update_interval",
        ):
            check_int(name, getattr(self, name), minimum=1)
        check_int("learning_starts", self.learning_starts, minimum=0)
        check_int("seed", self.seed, minimum=0)
        if self.buffer_size < self.batch_size:
            raise ValueError(
                f"buffer_size ({self.buffer_size}) must be >= batch_size ({self.batch_size}): "
                "the replay buffer could never fill one batch"
            )
        check_gamma(self.gamma)
        check_float("learning_rate", self.learning_rate, minimum=0.0, min_inclusive=False)
        check_float("tau", self.tau, minimum=0.0, maximum=1.0, min_inclusive=False)
        check_float("exploration_fraction", self.exploration_fraction, minimum=0.0, maximum=1.0)
        check_float("start_epsilon", self.start_epsilon, minimum=0.0, maximum=1.0)
        check_float("end_epsilon", self.end_epsilon, minimum=0.0, maximum=1.0)
        check_float("max_grad_norm", self.max_grad_norm, minimum=0.0, min_inclusive=False)
        check_float("huber_delta", self.huber_delta, minimum=0.0, min_inclusive=False)
        self.hidden_units = tuple(self.hidden_units)


@dataclass
class DQNResult:
    """What :meth:`DQN.learn` reports; ``curves`` are ``{name: (steps, values)}``.

    ``last_eval_mean`` is the last evaluation's mean return (the final policy's, when
    evaluations ran); ``best_eval_mean`` / ``best_eval_step`` the best one's, whose weights
    :attr:`DQN.best` holds. ``seconds`` is the wall time of the whole loop, ``eval_seconds`` /
    ``eval_cpu_seconds`` the wall / process CPU time its evaluations took."""

    steps: int
    episodes: int
    seconds: float
    eval_seconds: float
    solved_at_step: int | None
    last_eval_mean: float | None
    best_eval_mean: float | None = None
    best_eval_step: int | None = None
    curves: dict = field(default_factory=dict)
    checkpoint: str | None = None
    curve_png: str | None = None
    eval_cpu_seconds: float = 0.0


class NumpyGreedyPolicy:
    """Greedy action for one observation of a Dense-only Q-network, computed in NumPy.

    Why hand-written: the training loop asks the Q-network for one action per environment step,
    a batch of one. A ``tf.function`` call costs about 0.45 ms of CPU there (dispatch, plus a
    hand-off to TensorFlow's thread pool that costs far more wall time on a busy machine: 3.1 ms
    median at load average 17), the same forward pass in NumPy 0.01 ms (256-256 MLP, 6 inputs;
    :func:`kerasdl.benchmarking.compare`, 20 rounds of 200 calls). For CartPole's 50k steps
    that is most of the loop's CPU time outside the updates.

    It serves only networks made of ``InputLayer``, ``Flatten`` and ``Dense`` layers with ReLU
    or linear activations computing in float32 (:func:`kerasdl.rl.networks.mlp_q_network`);
    :meth:`supports` says whether a model qualifies. The weights are a copy: call
    :meth:`refresh` after every change to the network (the DQN loop does after each training phase).

    Args:
        model: the Q-network (observation batch → Q-values).
    """

    def __init__(self, model):
        if not self.supports(model):
            raise ValueError(f"{model.name} is not a float32 stack of Flatten/Dense(relu|linear) layers")
        self.model = model
        self.layers = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
        self.refresh()

    @staticmethod
    def supports(model) -> bool:
        """Whether ``model`` is a float32 chain of InputLayer/Flatten/Dense(relu|linear) layers."""
        import keras

        layers = list(getattr(model, "layers", []))
        if not layers or not isinstance(model, (keras.Sequential, keras.Model)):
            return False
        # a chain: every layer after the first takes the previous one's output (no branches)
        if isinstance(model, keras.Model) and not isinstance(model, keras.Sequential):
            if len(model.inputs) != 1 or len(model.outputs) != 1:
                return False
        dense = 0
        for layer in layers:
            kind = type(layer).__name__
            if kind in ("InputLayer", "Flatten"):
                continue
            if kind != "Dense" or not layer.use_bias or layer.compute_dtype != "float32":
                return False
            if getattr(layer.activation, "__name__", None) not in ("relu", "linear"):
                return False
            dense += 1
        return dense > 0

    def refresh(self) -> None:
        """Copy the current weights of the network."""
        self.weights = [
            (np.asarray(layer.kernel), np.asarray(layer.bias), layer.activation.__name__ == "relu")
            for layer in self.layers
        ]

    def q_values(self, observation) -> np.ndarray:
        """Q-values of one observation (any shape that flattens to the network's input)."""
        h = np.asarray(observation, np.float32).reshape(1, -1)
        for kernel, bias, relu in self.weights:
            h = h @ kernel + bias
            if relu:
                h = np.maximum(h, 0.0)
        return h[0]

    def __call__(self, observation) -> int:
        return int(np.argmax(self.q_values(observation)))


class DQN(Agent):
    """A DQN agent for one environment (its spaces fix the networks); the interface
    (``learn``, ``evaluate``, ``save``/``load``, ``export``) is :class:`~kerasdl.rl.common.Agent`'s.

    Args:
        env: a Gymnasium id, a factory, or an Env (only its spaces are read here); the
            default environment of :meth:`learn` and :meth:`evaluate` (which needs an id
            or a factory, to make copies).
        config: :class:`DQNConfig`.
        q_network: a Keras model ``observation batch → Q-values``; default
            :func:`kerasdl.rl.networks.q_network_for` (MLP or Nature DQN by observation rank).
    """

    algorithm = "DQN"

    def __init__(self, env, config: DQNConfig | None = None, q_network=None):
        from kerasdl._backend import require_tensorflow

        require_tensorflow("DQN")
        import keras
        import tensorflow as tf

        from kerasdl.training.compile import make_optimizer
        from kerasdl.training.runtime import resolve_jit_compile

        self.config = config = config or DQNConfig()
        self.env = env
        probe = make_env(env)
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        if probe is not env:
            probe.close()
        self.num_actions = check_discrete_actions(self.action_space, "DQN")
        shape = tuple(self.observation_space.shape or ())
        if not shape:
            raise ValueError(f"DQN needs array observations (a Box space), got {self.observation_space}")
        keras.utils.set_random_seed(config.seed)
        self.q_network = (
            q_network if q_network is not None else q_network_for(shape, self.num_actions, config.hidden_units)
        )
        check_network_fits(self.q_network, self.observation_space, self.num_actions)
        self.target_network = keras.models.clone_model(self.q_network)
        self.target_network.set_weights(self.q_network.get_weights())
        self.optimizer = make_optimizer("adam", config.learning_rate, global_clipnorm=config.max_grad_norm)
        self.optimizer.build(self.q_network.trainable_variables)
        self.loss_fn = keras.losses.Huber(delta=config.huber_delta)
        self.jit_compile = resolve_jit_compile(config.jit_compile)
        self._update = tf.function(self._update_step, jit_compile=self.jit_compile, reduce_retracing=True)
        self._train_phase = tf.function(self._train_phase_steps, jit_compile=self.jit_compile, reduce_retracing=True)
        self.greedy_actions = greedy_action_fn(self.q_network)
        self.best = BestPolicy(self.q_network)  # the best evaluated policy, filled by learn()
        self.rng = np.random.default_rng(config.seed)

    def networks(self) -> dict:
        """The online Q-network (the acting one) and the target network."""
        return {"q_network": self.q_network, "target_network": self.target_network}

    # -- the update ------------------------------------------------------------------------
    def _update_step(self, observations, actions, rewards, next_observations, terminated):
        import tensorflow as tf

        gamma = self.config.gamma
        next_q_target = self.target_network(tf.cast(next_observations, tf.float32), training=False)
        if self.config.double_dqn:  # online net chooses a', target net values it
            next_actions = tf.argmax(self.q_network(tf.cast(next_observations, tf.float32), training=False), axis=1)
            next_value = tf.gather(next_q_target, next_actions, batch_dims=1)
        else:
            next_value = tf.reduce_max(next_q_target, axis=1)
        td_target = tf.stop_gradient(rewards + gamma * (1.0 - terminated) * next_value)
        with tf.GradientTape() as tape:
            q_values = self.q_network(tf.cast(observations, tf.float32), training=True)
            q_taken = tf.gather(q_values, actions, batch_dims=1)  # Q(s, a)
            loss = self.loss_fn(td_target, q_taken)
        variables = self.q_network.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))  # global-norm clipped
        return loss, tf.reduce_mean(q_taken)

    def _train_phase_steps(self, observations, actions, rewards, next_observations, terminated):
        """``_update_step`` on each of K stacked batches in one compiled loop (no Python per update)."""
        import tensorflow as tf

        steps = tf.shape(actions)[0]
        losses = tf.TensorArray(tf.float32, size=steps)
        q_means = tf.TensorArray(tf.float32, size=steps)
        for k in tf.range(steps):
            loss, q_mean = self._update_step(
                observations[k], actions[k], rewards[k], next_observations[k], terminated[k]
            )
            losses = losses.write(k, loss)
            q_means = q_means.write(k, q_mean)
        return losses.stack(), q_means.stack()

    def train_phase(self, replay: ReplayBuffer, gradient_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """``gradient_steps`` updates on fresh uniform batches; returns their losses and mean Q(s, a)."""
        c = self.config
        batch = replay.sample(c.batch_size, batches=gradient_steps)
        stack = lambda a: a.reshape(gradient_steps, c.batch_size, *a.shape[1:])  # noqa: E731
        losses, q_means = self._train_phase(
            stack(batch.observations),
            stack(batch.actions),
            stack(batch.rewards),
            stack(batch.next_observations),
            stack(batch.terminated),
        )
        return losses.numpy(), q_means.numpy()

    def update(self, batch) -> tuple[float, float]:
        """One gradient step on a :class:`~kerasdl.rl.replay.Batch`; returns (loss, mean Q(s, a))."""
        loss, q_mean = self._update(
            batch.observations, batch.actions, batch.rewards, batch.next_observations, batch.terminated
        )
        return float(loss), float(q_mean)

    def sync_target(self) -> None:
        """θ⁻ ← τθ + (1 − τ)θ⁻ (a hard copy when τ = 1)."""
        tau = self.config.tau
        for target, online in zip(self.target_network.weights, self.q_network.weights):
            target.assign(online if tau == 1.0 else tau * online + (1.0 - tau) * target)

    def epsilon(self, step: int) -> float:
        """Exploration rate at ``step``: linear from ``start_epsilon`` to ``end_epsilon`` over
        ``exploration_fraction * total_timesteps`` steps, then constant (Mnih et al. 2015)."""
        c = self.config
        return linear_schedule(c.start_epsilon, c.end_epsilon, int(c.exploration_fraction * c.total_timesteps), step)

    def act(self, observation, epsilon: float, greedy=None) -> int:
        """ε-greedy action for one observation; ``greedy`` (optional) picks the greedy one
        (default: the compiled :attr:`greedy_actions` on a batch of one)."""
        if self.rng.random() < epsilon:
            return int(self.rng.integers(self.num_actions))
        if greedy is not None:
            return greedy(observation)
        return int(self.greedy_actions(observation[None])[0])

    # -- the loop ----------------------------------------------------------------------------
    def learn(
        self,
        env=None,
        *,
        run_dir=None,
        resume: bool = False,
        checkpoint_every: int = 10_000,
        eval_env=None,
        eval_every: int = 0,
        eval_episodes: int = 10,
        target_return: float | None = None,
        log_every: int = 1_000,
        max_seconds: float | None = None,
        progress: bool = True,
    ) -> DQNResult:
        """Train on ``env`` (default: the construction environment) for ``config.total_timesteps``
        environment steps (in total, across resumes).

        ``run_dir`` (optional) receives ``checkpoints/`` (every ``checkpoint_every`` steps and
        at the end, with the replay buffer and the best policy), ``tensorboard/`` scalars and
        ``learning_curve.png``. ``resume=True`` continues from its latest checkpoint.

        Every ``eval_every`` steps (0: never), and once more at the end, the greedy policy
        plays ``eval_episodes`` episodes of ``eval_env`` (default: ``env`` when it is an id
        or factory); the weights of the best evaluation are kept in :attr:`best` (see
        :class:`~kerasdl.rl.common.BestPolicy`), which :meth:`export` and :meth:`evaluate`
        use by default. With ``target_return`` set, training stops once an evaluation's mean
        return reaches it.
        """
        from tqdm.auto import tqdm

        c = self.config
        for name, value in (("checkpoint_every", checkpoint_every), ("log_every", log_every)):
            check_int(name, value, minimum=1)
        env_id = env = self.environment(env)
        env = make_env(env)
        check_network_fits(self.q_network, env.observation_space, check_discrete_actions(env.action_space, "DQN"))
        self.replay = buffer = ReplayBuffer(
            c.buffer_size, env.observation_space.shape, env.observation_space.dtype, seed=c.seed
        )
        run_dir = Path(run_dir) if run_dir is not None else None
        log = RunLog(run_dir / "tensorboard" if run_dir else None)
        evaluation = GreedyEvaluation(
            eval_env if eval_env is not None else env_id,
            self.q_network,
            self.best,
            log,
            every=eval_every,
            episodes=eval_episodes,
            target_return=target_return,
            write=lambda line: bar.write(line),
        )  # the progress bar made below
        checkpointer = None
        if run_dir is not None:
            checkpointer = Checkpointer(
                run_dir / "checkpoints",
                q_network=self.q_network,
                target_network=self.target_network,
                optimizer=self.optimizer,
                optional=self.best.trackables(),
                on_save=lambda d: buffer.save(d / "replay.npz"),
                on_restore=lambda d: buffer.load(d / "replay.npz") if (d / "replay.npz").exists() else None,
            )
        start_step = checkpointer.restore() if (checkpointer and resume) else 0

        start, solved_at, episodes, episode_return = time.perf_counter(), None, 0, 0.0
        observation, _ = env.reset(seed=c.seed + start_step)
        bar = tqdm(total=c.total_timesteps, initial=start_step, disable=not progress, unit="step", desc="DQN")
        # one action per step from a batch of one: NumPy for MLPs (see NumpyGreedyPolicy), after any restore
        greedy = NumpyGreedyPolicy(self.q_network) if NumpyGreedyPolicy.supports(self.q_network) else None
        step = start_step
        for step in range(start_step + 1, c.total_timesteps + 1):
            epsilon = self.epsilon(step)
            action = self.act(observation, epsilon, greedy)
            next_observation, reward, terminated, truncated, _ = env.step(action)
            stored_reward = np.sign(reward) if c.clip_rewards else reward
            # Truncation is not termination: the stored flag is `terminated` only, so a
            # time-limit cut still bootstraps from next_observation.
            buffer.add(observation, action, stored_reward, next_observation, terminated)
            episode_return += float(reward)
            observation = next_observation
            if terminated or truncated:
                episodes += 1
                log.scalar("episode_return", episode_return, step)
                bar.set_postfix(ret=f"{episode_return:.0f}", eps=f"{epsilon:.2f}")
                episode_return = 0.0
                observation, _ = env.reset()

            if step > c.learning_starts and step % c.train_frequency == 0:
                losses, q_means = self.train_phase(buffer, c.gradient_steps)
                if greedy is not None:
                    greedy.refresh()
                if not np.isfinite(losses).all():
                    bar.close()
                    log.close()
                    raise diverged("DQN loss", step, checkpointer)
                log.scalar("loss", losses.mean(), step)
                log.scalar("q_mean", q_means.mean(), step)
            if step % c.target_update_interval == 0:
                self.sync_target()
            if step % log_every == 0:
                log.scalar("epsilon", epsilon, step)
            bar.update(1)
            if evaluation.due(step) and evaluation(step):  # before the checkpoint, which then holds the best
                solved_at = step
                break
            if checkpointer is not None and step % checkpoint_every == 0:
                checkpointer.save(step)
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                bar.write(f"stopping at step {step}: max_seconds={max_seconds} reached")
                break
        evaluation.final(step)
        bar.close()
        env.close()

        best_mean, best_step = self.best.summary()
        result = DQNResult(
            steps=step,
            episodes=episodes,
            seconds=round(time.perf_counter() - start, 2),
            eval_seconds=round(evaluation.seconds, 2),
            eval_cpu_seconds=round(evaluation.cpu_seconds, 2),
            solved_at_step=solved_at,
            last_eval_mean=log.last("eval_return"),
            best_eval_mean=best_mean,
            best_eval_step=best_step,
            curves=log.curves,
        )
        if checkpointer is not None:
            result.checkpoint = checkpointer.save(step)
            png = log.plot(
                run_dir / "learning_curve.png",
                ["episode_return", "eval_return"],
                title="DQN learning curve",
                hline=target_return,
            )
            result.curve_png = str(png) if png else None
        log.close()
        return result
