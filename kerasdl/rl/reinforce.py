"""REINFORCE (Williams 1992) with reward-to-go, return normalisation, a learned baseline and an entropy bonus.

The seeds' policy-gradient loss is ``L = −log π(a_t|s_t) · R_t``. Here, per batch of
complete episodes:

* ``R_t = Σ_{k≥t} γ^{k−t} r_k`` — the discounted reward-to-go (an action is credited only
  with the rewards that follow it);
* ``normalize_returns``: ``R_t`` is standardised over the batch (zero mean, unit variance),
  which keeps the step size independent of the reward scale;
* ``baseline``: a value network ``V(s)`` is regressed on ``R_t`` (mean squared error) and the
  policy uses the advantage ``A_t = R_t − V(s_t)`` (no gradient through V): same expected
  gradient, lower variance;
* ``entropy_coef``: ``− β · H(π(·|s_t))`` is added to the loss to keep exploring.

So ``policy_loss = −mean_t[log π(a_t|s_t) · A_t] − β · mean_t H(π(·|s_t))`` and
``value_loss = mean_t (R_t − V(s_t))²``.

Episodes are collected ``episodes_per_update`` at a time in a ``SyncVectorEnv`` (one
batched forward pass per time step); each copy contributes its first episode.
"""

from __future__ import annotations

import math
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
    env_factory,
    greedy_action_fn,
)
from kerasdl.rl.networks import policy_network, value_network


def reward_to_go(rewards: np.ndarray, gamma: float, alive: np.ndarray | None = None) -> np.ndarray:
    """``R_t = r_t + γ R_{t+1}`` along axis 0 (time) of ``rewards`` (T, …); steps with ``alive == 0`` count 0."""
    rewards = np.asarray(rewards, np.float64)
    if alive is not None:
        rewards = rewards * alive
    returns = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[1:])
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns.astype(np.float32)


@dataclass
class REINFORCEConfig:
    """REINFORCE hyperparameters (defaults work for CartPole-v1).

    ``jit_compile``: ``"auto"`` (XLA with a GPU, off on CPU), ``True`` or ``False``; kept as
    given, resolved by the agent (:func:`kerasdl.training.runtime.resolve_jit_compile`,
    stored as ``REINFORCE.jit_compile``).
    """

    total_episodes: int = 2_000
    episodes_per_update: int = 8
    learning_rate: float = 1e-2
    value_learning_rate: float = 1e-2
    gamma: float = 0.99
    normalize_returns: bool = True
    baseline: bool = True
    entropy_coef: float = 0.0
    hidden_units: tuple = (64, 64)
    max_grad_norm: float = 1.0
    max_episode_steps: int | None = None
    jit_compile: bool | str = "auto"
    seed: int = 0

    def __post_init__(self):
        from kerasdl.training.runtime import check_jit_compile

        check_jit_compile(self.jit_compile)
        check_int("total_episodes", self.total_episodes, minimum=1)
        check_int("episodes_per_update", self.episodes_per_update, minimum=1)
        check_int("seed", self.seed, minimum=0)
        check_gamma(self.gamma)
        check_float("learning_rate", self.learning_rate, minimum=0.0, min_inclusive=False)
        check_float("value_learning_rate", self.value_learning_rate, minimum=0.0, min_inclusive=False)
        check_float("entropy_coef", self.entropy_coef, minimum=0.0)
        check_float("max_grad_norm", self.max_grad_norm, minimum=0.0, min_inclusive=False)
        if self.max_episode_steps is not None:
            check_int("max_episode_steps", self.max_episode_steps, minimum=1)
        self.hidden_units = tuple(self.hidden_units)


@dataclass
class REINFORCEResult:
    """What :meth:`REINFORCE.learn` reports; ``curves`` are ``{name: (episodes, values)}``.

    ``last_eval_mean`` is the last evaluation's mean return; ``best_eval_mean`` /
    ``best_eval_episode`` the best one's, whose weights :attr:`REINFORCE.best` holds."""

    episodes: int
    updates: int
    env_steps: int
    seconds: float
    eval_seconds: float
    solved_at_episode: int | None
    last_eval_mean: float | None
    best_eval_mean: float | None = None
    best_eval_episode: int | None = None
    curves: dict = field(default_factory=dict)
    checkpoint: str | None = None
    curve_png: str | None = None


class REINFORCE(Agent):
    """A REINFORCE agent for one environment with a discrete action space; the interface
    (``learn``, ``evaluate``, ``save``/``load``, ``export``) is :class:`~kerasdl.rl.common.Agent`'s.

    Args:
        env: a Gymnasium id or a factory (copies are made for batched collection); the
            default environment of :meth:`learn` and :meth:`evaluate`.
        config: :class:`REINFORCEConfig`.
        policy: optional Keras model ``observations → action logits``.
        value: optional Keras model ``observations → V(s)`` of shape (batch, 1).
    """

    algorithm = "REINFORCE"

    def __init__(self, env, config: REINFORCEConfig | None = None, policy=None, value=None):
        from kerasdl._backend import require_tensorflow

        require_tensorflow("REINFORCE")
        import keras
        import tensorflow as tf

        from kerasdl.training.compile import make_optimizer
        from kerasdl.training.runtime import resolve_jit_compile

        self.config = config = config or REINFORCEConfig()
        self.env = env
        self.env_fn = env_factory(env)
        probe = self.env_fn()
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        probe.close()
        self.num_actions = check_discrete_actions(self.action_space, "REINFORCE")
        shape = tuple(self.observation_space.shape or ())
        if not shape:
            raise ValueError(f"REINFORCE needs array observations (a Box space), got {self.observation_space}")
        keras.utils.set_random_seed(config.seed)
        self.policy = policy if policy is not None else policy_network(shape, self.num_actions, config.hidden_units)
        check_network_fits(self.policy, self.observation_space, self.num_actions, what="policy")
        self.value = value if value is not None else value_network(shape, config.hidden_units)
        self.policy_optimizer = make_optimizer("adam", config.learning_rate, global_clipnorm=config.max_grad_norm)
        self.value_optimizer = make_optimizer("adam", config.value_learning_rate, global_clipnorm=config.max_grad_norm)
        self.policy_optimizer.build(self.policy.trainable_variables)
        self.value_optimizer.build(self.value.trainable_variables)
        spec = tf.TensorSpec((None, *shape), tf.float32)
        self.jit_compile = resolve_jit_compile(config.jit_compile)
        self._update = tf.function(
            self._update_step,
            jit_compile=self.jit_compile,
            input_signature=[spec, tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.float32)],
        )
        self._logits = tf.function(lambda obs: self.policy(obs, training=False), input_signature=[spec])
        self.greedy_actions = greedy_action_fn(self.policy)
        self.best = BestPolicy(self.policy)  # the best evaluated policy, filled by learn()
        self.rng = np.random.default_rng(config.seed)

    def networks(self) -> dict:
        """The policy network (the acting one) and the value baseline."""
        return {"policy": self.policy, "value": self.value}

    def _fitting_factory(self, env):
        """A factory for ``env`` (id or factory) after checking that its spaces fit the networks."""
        factory = env_factory(env)
        probe = factory()
        try:
            check_network_fits(
                self.policy,
                probe.observation_space,
                check_discrete_actions(probe.action_space, "REINFORCE"),
                what="policy",
            )
        finally:
            probe.close()
        return factory

    # -- the update ------------------------------------------------------------------------
    def _update_step(self, observations, actions, returns):
        import tensorflow as tf

        c = self.config
        with tf.GradientTape() as value_tape:
            values = tf.squeeze(self.value(observations, training=True), axis=-1)
            value_loss = tf.reduce_mean(tf.square(returns - values))
        if c.baseline:
            advantages = returns - tf.stop_gradient(values)
            value_vars = self.value.trainable_variables
            self.value_optimizer.apply_gradients(zip(value_tape.gradient(value_loss, value_vars), value_vars))
        else:
            advantages = returns
        with tf.GradientTape() as tape:
            logits = self.policy(observations, training=True)
            log_probs = tf.nn.log_softmax(logits)
            log_prob_taken = tf.gather(log_probs, actions, batch_dims=1)  # log π(a_t|s_t)
            entropy = -tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=-1)
            policy_loss = -tf.reduce_mean(log_prob_taken * advantages) - c.entropy_coef * tf.reduce_mean(entropy)
        policy_vars = self.policy.trainable_variables
        self.policy_optimizer.apply_gradients(zip(tape.gradient(policy_loss, policy_vars), policy_vars))
        return policy_loss, value_loss, tf.reduce_mean(entropy)

    def sample_actions(self, observations) -> np.ndarray:
        """One action per row, drawn from π(·|s) = softmax(logits)."""
        logits = self._logits(np.asarray(observations, np.float32)).numpy().astype(np.float64)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
        draws = self.rng.random((len(cumulative), 1))
        return np.minimum((draws > cumulative).sum(axis=1), self.num_actions - 1).astype(np.int32)

    def collect(self, envs, seed=None):
        """Play one episode in each copy of ``envs``; returns (obs, actions, rewards, alive) with time first."""
        observations, _ = envs.reset(seed=seed)
        alive = np.ones(envs.num_envs, bool)
        trajectory = {"obs": [], "actions": [], "rewards": [], "alive": []}
        limit = self.config.max_episode_steps
        while alive.any() and (limit is None or len(trajectory["obs"]) < limit):
            actions = self.sample_actions(observations)
            next_observations, rewards, terminated, truncated, _ = envs.step(actions)
            for key, value in zip(trajectory, (observations, actions, rewards, alive.copy())):
                trajectory[key].append(value)
            alive &= ~(terminated | truncated)
            observations = next_observations
        return tuple(np.asarray(trajectory[k]) for k in ("obs", "actions", "rewards", "alive"))

    def update(self, observations, actions, rewards, alive) -> dict:
        """One policy (and baseline) update from a batch of episodes laid out (T, N, …)."""
        returns = reward_to_go(rewards, self.config.gamma, alive)
        mask = alive.astype(bool)
        obs, acts, rets = observations[mask].astype(np.float32), actions[mask].astype(np.int32), returns[mask]
        if self.config.normalize_returns and len(rets) > 1:
            rets = (rets - rets.mean()) / (rets.std() + 1e-8)
        policy_loss, value_loss, entropy = self._update(obs, acts, rets)
        return {"policy_loss": float(policy_loss), "value_loss": float(value_loss), "entropy": float(entropy)}

    # -- the loop ----------------------------------------------------------------------------
    def learn(
        self,
        env=None,
        *,
        run_dir=None,
        resume: bool = False,
        checkpoint_every: int = 50,
        eval_env=None,
        eval_every: int = 0,
        eval_episodes: int = 10,
        target_return: float | None = None,
        max_seconds: float | None = None,
        progress: bool = True,
    ) -> REINFORCEResult:
        """Train on ``env`` (an id or a factory; default: the construction environment) for
        ``config.total_episodes`` episodes (counted across resumes).

        ``checkpoint_every`` and ``eval_every`` count updates (0: never evaluate); the rest is
        as in :meth:`kerasdl.rl.dqn.DQN.learn`: ``run_dir`` gets checkpoints (with the best
        policy), TensorBoard scalars and ``learning_curve.png``; the greedy policy is
        evaluated on ``eval_episodes`` episodes every ``eval_every`` updates and at the end,
        the best one is kept in :attr:`best` (what :meth:`export` and :meth:`evaluate` use),
        and training stops once an evaluation's mean return reaches ``target_return``.
        Evaluations play ``eval_env`` (default: ``env``).
        """
        import gymnasium as gym
        from tqdm.auto import tqdm

        c = self.config
        check_int("checkpoint_every", checkpoint_every, minimum=1)
        check_int("eval_every", eval_every, minimum=0)
        env_fn = self.env_fn if env is None else self._fitting_factory(env)
        run_dir = Path(run_dir) if run_dir is not None else None
        log = RunLog(run_dir / "tensorboard" if run_dir else None)
        # eval_every counts updates, the evaluation's steps are episodes: every k updates = every k·n episodes
        evaluation = GreedyEvaluation(
            env_fn if eval_env is None else eval_env,
            self.policy,
            self.best,
            log,
            every=eval_every * c.episodes_per_update,
            episodes=eval_episodes,
            target_return=target_return,
            unit="episode",
            write=lambda line: bar.write(line),
        )  # the progress bar made below
        checkpointer = None
        if run_dir is not None:
            checkpointer = Checkpointer(
                run_dir / "checkpoints",
                policy=self.policy,
                value=self.value,
                policy_optimizer=self.policy_optimizer,
                value_optimizer=self.value_optimizer,
                optional=self.best.trackables(),
            )
        episodes = checkpointer.restore() if (checkpointer and resume) else 0
        envs = gym.vector.SyncVectorEnv([env_fn] * c.episodes_per_update)
        bar = tqdm(total=c.total_episodes, initial=episodes, disable=not progress, unit="episode", desc="REINFORCE")
        start, env_steps, updates, solved_at = time.perf_counter(), 0, 0, None
        try:
            first_seed = [c.seed + episodes + i for i in range(c.episodes_per_update)]
            while episodes < c.total_episodes:
                observations, actions, rewards, alive = self.collect(envs, seed=first_seed if updates == 0 else None)
                stats = self.update(observations, actions, rewards, alive)
                updates += 1
                episodes += c.episodes_per_update
                env_steps += int(alive.sum())
                if not all(math.isfinite(v) for v in stats.values()):
                    raise diverged("REINFORCE loss", episodes, checkpointer)
                mean_return = float((rewards * alive).sum(axis=0).mean())
                log.scalar("episode_return", mean_return, episodes)
                for name, value in stats.items():
                    log.scalar(name, value, episodes)
                bar.update(c.episodes_per_update)
                bar.set_postfix(ret=f"{mean_return:.0f}")
                # evaluated before the checkpoint, so that it holds the best policy so far
                if evaluation.due(episodes) and evaluation(episodes):
                    solved_at = episodes
                    break
                if checkpointer is not None and updates % checkpoint_every == 0:
                    checkpointer.save(episodes)
                if max_seconds is not None and time.perf_counter() - start > max_seconds:
                    bar.write(f"stopping at episode {episodes}: max_seconds={max_seconds} reached")
                    break
            evaluation.final(episodes)
        finally:
            bar.close()
            envs.close()

        best_mean, best_episode = self.best.summary()
        result = REINFORCEResult(
            episodes=episodes,
            updates=updates,
            env_steps=env_steps,
            seconds=round(time.perf_counter() - start, 2),
            eval_seconds=round(evaluation.seconds, 2),
            solved_at_episode=solved_at,
            last_eval_mean=log.last("eval_return"),
            best_eval_mean=best_mean,
            best_eval_episode=best_episode,
            curves=log.curves,
        )
        if checkpointer is not None:
            result.checkpoint = checkpointer.save(episodes)
            png = log.plot(
                run_dir / "learning_curve.png",
                ["episode_return", "eval_return"],
                xlabel="episode",
                title="REINFORCE learning curve",
                hline=target_return,
            )
            result.curve_png = str(png) if png else None
        log.close()
        return result
