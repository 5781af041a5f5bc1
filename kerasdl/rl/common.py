"""What DQN and REINFORCE share: environment checks, greedy evaluation, logging, checkpoints, export.

* :func:`make_env` / :func:`check_env_id` — a Gymnasium environment from an id, a factory
  or an instance; an unknown id is a ``ValueError`` naming close matches.
* :func:`evaluate_policy` — greedy evaluation episodes, run side by side in a
  ``gymnasium.vector.SyncVectorEnv`` so one batched forward pass serves every episode.
* :class:`RunLog` — learning curves kept in memory, written as TensorBoard scalars
  (``tf.summary``) and plotted to PNG with :func:`kerasdl.plots.plot_curves`.
* :class:`BestPolicy` and :class:`GreedyEvaluation` — greedy evaluation every so many
  steps during training, keeping a copy of the best policy's weights (DQN on CartPole
  peaks and then collapses: the last weights are often far from the best) and stopping
  at a target return; :func:`default_target_return` is the environment's own threshold.
* :class:`Checkpointer` — ``tf.train.CheckpointManager`` with resume; a non-finite loss
  raises :class:`TrainingDivergedError` and the last good checkpoint stays the latest.
* :func:`export_policy` — a SavedModel ``observation → action`` (argmax of the network's
  outputs), written atomically by :mod:`kerasdl.export`.
* :class:`Agent` — the interface both agents share: ``learn(env=None, ...)``,
  ``evaluate(env=None, ...)``, ``save(path)`` / ``load(path)``, ``export(path)``; the
  environment defaults to the one the agent was built for.
"""

from __future__ import annotations

import abc
import difflib
from pathlib import Path

import numpy as np

from kerasdl._validation import check_choice, check_float, check_int


class TrainingDivergedError(FloatingPointError):
    """Raised when a loss becomes NaN/inf; the message names the last good checkpoint.

    A ``FloatingPointError`` like :class:`kerasdl.training.callbacks.TrainingDiverged`, so the
    ``kerasdl`` command reports it as one line with exit status 1.
    """


def check_gamma(gamma) -> float:
    """The discount γ must lie in [0, 1]."""
    return check_float("gamma", gamma, minimum=0.0, maximum=1.0)


def check_env_id(env_id: str) -> str:
    """Raise ``ValueError`` unless ``env_id`` is registered with Gymnasium (``ALE/`` ids need ale-py)."""
    import gymnasium as gym

    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env must be a Gymnasium environment id, a factory or an Env, got {env_id!r}")
    if env_id.startswith("ALE/"):
        from kerasdl.rl.atari import require_ale

        require_ale()
    if env_id not in gym.registry:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown environment id {env_id!r}{hint} (see gymnasium.registry)")
    return env_id


def make_env(env, **kwargs):
    """A Gymnasium environment from an id (checked first), a zero-argument factory, or an Env."""
    import gymnasium as gym

    if isinstance(env, gym.Env):
        return env
    if callable(env):
        made = env(**kwargs)
        if not isinstance(made, gym.Env):
            raise ValueError(f"the environment factory returned {type(made).__name__}, not a gymnasium.Env")
        return made
    return gym.make(check_env_id(env), **kwargs)


def env_factory(env, **kwargs):
    """A zero-argument factory for ``env`` (id or factory), for vector environments."""
    import gymnasium as gym

    if isinstance(env, gym.Env):
        raise ValueError("evaluation needs fresh copies of the environment: pass its id or a factory, not an instance")
    if callable(env):
        return lambda: env(**kwargs)
    check_env_id(env)
    return lambda: gym.make(env, **kwargs)


def check_discrete_actions(action_space, algorithm: str) -> int:
    """Number of actions of a ``Discrete`` space; any other space is a ``ValueError``."""
    import gymnasium as gym

    if not isinstance(action_space, gym.spaces.Discrete):
        raise ValueError(
            f"{algorithm} needs a discrete action space (gymnasium.spaces.Discrete), got {action_space}; "
            "continuous actions need an actor-critic method (DDPG, SAC, PPO)"
        )
    return int(action_space.n)


def check_network_fits(model, observation_space, num_actions: int, what: str = "q_network") -> None:
    """The network's input shape must equal the observation's and its output width the action count."""
    expected = tuple(observation_space.shape)
    got = tuple(model.input_shape[1:])
    if got != expected:
        raise ValueError(f"{what} takes observations of shape {got}, the environment gives {expected}")
    if model.output_shape[-1] != num_actions:
        raise ValueError(f"{what} has {model.output_shape[-1]} outputs, the environment has {num_actions} actions")


def linear_schedule(start: float, end: float, duration: int, step: int) -> float:
    """``start`` → ``end`` linearly over ``duration`` steps, then ``end`` (the ε-greedy schedule)."""
    slope = (end - start) / max(duration, 1)
    return max(slope * step + start, end) if end <= start else min(slope * step + start, end)


def greedy_action_fn(model):
    """A compiled ``observations (batch) → argmax actions`` function for acting and evaluating."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def act(observations):
        return tf.argmax(model(observations, training=False), axis=-1, output_type=tf.int32)

    return lambda observations: act(observations).numpy()


def evaluate_policy(env, action_fn, episodes: int = 10, seed: int = 0, max_parallel: int = 100) -> np.ndarray:
    """Undiscounted returns of ``episodes`` episodes played by ``action_fn`` (batch obs → actions).

    Episodes run in parallel in a ``SyncVectorEnv`` (at most ``max_parallel`` at once), env
    ``i`` seeded with ``seed + i``; each copy contributes its first episode only.
    """
    import gymnasium as gym

    episodes = check_int("episodes", episodes, minimum=1)
    factory = env_factory(env)
    returns = []
    while len(returns) < episodes:
        n = min(max_parallel, episodes - len(returns))
        envs = gym.vector.SyncVectorEnv([factory] * n)
        try:
            observations, _ = envs.reset(seed=[seed + len(returns) + i for i in range(n)])
            totals, running = np.zeros(n), np.ones(n, bool)
            while running.any():
                observations, rewards, terminated, truncated, _ = envs.step(action_fn(observations))
                totals += rewards * running
                running &= ~(terminated | truncated)
        finally:
            envs.close()
        returns.extend(totals.tolist())
    return np.asarray(returns)


def default_target_return(env_id) -> float | None:
    """The return at which Gymnasium counts ``env_id`` as solved (its spec's ``reward_threshold``:
    475 for CartPole-v1), or ``None`` when it has none or ``env_id`` is not a registered id."""
    import gymnasium as gym

    if not isinstance(env_id, str) or env_id not in gym.registry:
        return None
    threshold = gym.spec(env_id).reward_threshold
    return None if threshold is None else float(threshold)


class BestPolicy:
    """A copy of the best greedy policy seen in evaluations, with its mean return and step.

    Evaluation returns are compared as they come; a strictly higher one replaces the copy
    (a tie keeps the earlier policy). The copy is a clone of the network, so it can be
    evaluated and exported like it; :meth:`trackables` adds it to a :class:`Checkpointer`,
    so the best policy of a run survives ``resume``.
    """

    def __init__(self, network):
        import keras
        import tensorflow as tf

        self.network = keras.models.clone_model(network)
        self.network.set_weights(network.get_weights())
        self.mean_return = tf.Variable(-np.inf, dtype=tf.float64, trainable=False, name="best_mean_return")
        self.step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="best_step")
        self.greedy_actions = greedy_action_fn(self.network)

    @property
    def found(self) -> bool:
        """Whether any evaluation has been offered yet."""
        return int(self.step.numpy()) >= 0

    def offer(self, network, mean_return: float, step: int) -> bool:
        """Keep ``network``'s weights if ``mean_return`` beats the best so far; returns whether it did."""
        if not mean_return > float(self.mean_return.numpy()):
            return False
        for kept, current in zip(self.network.weights, network.weights):
            kept.assign(current)
        self.mean_return.assign(float(mean_return))
        self.step.assign(int(step))
        return True

    def summary(self) -> tuple[float | None, int | None]:
        """``(best mean return, its step)``, or ``(None, None)`` before any evaluation."""
        if not self.found:
            return None, None
        return float(self.mean_return.numpy()), int(self.step.numpy())

    def trackables(self) -> dict:
        """What a checkpoint saves of the best policy: its network, mean return and step."""
        return {"best_network": self.network, "best_mean_return": self.mean_return, "best_step": self.step}


class GreedyEvaluation:
    """Greedy evaluation during training, every ``every`` steps (0: never).

    Each evaluation plays ``episodes`` episodes of ``env`` (an id or factory; seeds
    ``10_000 + step + i``, so each evaluation sees fresh episodes) with ``network``'s argmax
    policy, logs the mean as ``eval_return``, offers the network to ``best``, prints a line
    through ``write``, and returns whether the mean reached ``target_return``. ``unit``
    names the step in that line ("step", "episode"). ``seconds`` adds up the wall time spent,
    ``cpu_seconds`` the process CPU time (``time.process_time``), so that a benchmark can
    report training speed without the evaluations.
    """

    def __init__(
        self,
        env,
        network,
        best: BestPolicy,
        log: RunLog,
        *,
        every: int,
        episodes: int,
        target_return: float | None,
        write=print,
        unit: str = "step",
    ):
        self.every = check_int("eval_every", every, minimum=0)
        self.episodes = check_int("eval_episodes", episodes, minimum=1)
        if target_return is not None:
            target_return = check_float("target_return", target_return)
        self.env = env_factory(env) if self.every else None  # fails early for an Env instance
        self.network, self.best, self.log, self.target_return = network, best, log, target_return
        self.write, self.unit = write, unit
        self.actions = greedy_action_fn(network)
        self.seconds, self.cpu_seconds, self.last_step = 0.0, 0.0, None

    def due(self, step: int) -> bool:
        """Whether an evaluation falls at ``step`` (every ``every`` steps; never when ``every`` is 0)."""
        return bool(self.every) and step % self.every == 0

    def __call__(self, step: int) -> bool:
        """Evaluate now; True when the target return is reached."""
        import time

        start, cpu_start = time.perf_counter(), time.process_time()
        mean_return = float(np.mean(evaluate_policy(self.env, self.actions, self.episodes, seed=10_000 + step)))
        self.seconds += time.perf_counter() - start
        self.cpu_seconds += time.process_time() - cpu_start
        self.last_step = step
        self.log.scalar("eval_return", mean_return, step)
        improved = self.best.offer(self.network, mean_return, step)
        self.write(
            f"{self.unit} {step}: greedy return {mean_return:.1f} over {self.episodes} episodes"
            + (" (best so far, kept)" if improved else f" (best {self.best.summary()[0]:.1f})")
        )
        return self.target_return is not None and mean_return >= self.target_return

    def final(self, step: int) -> None:
        """Evaluate the last policy too (unless it just was), so that it competes for the best."""
        if self.every and self.last_step != step:
            self(step)


def _scalar_metadata():
    from tensorflow.core.framework.summary_pb2 import SummaryMetadata

    metadata = SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"  # TensorBoard's scalar dashboard
    return metadata.SerializeToString()


_SCALAR_METADATA = None


class RunLog:
    """Named learning curves ``{name: ([steps], [values])}``, mirrored to TensorBoard when ``log_dir`` is set."""

    def __init__(self, log_dir=None):
        self.curves: dict[str, tuple[list, list]] = {}
        self.writer = None
        if log_dir is not None:
            import tensorflow as tf

            global _SCALAR_METADATA
            _SCALAR_METADATA = _SCALAR_METADATA or _scalar_metadata()
            self.writer = tf.summary.create_file_writer(str(log_dir))

    def scalar(self, name: str, value, step: int) -> None:
        """Append ``(step, value)`` to the curve ``name`` (and to TensorBoard when logging there)."""
        xs, ys = self.curves.setdefault(name, ([], []))
        xs.append(int(step))
        ys.append(float(value))
        if self.writer is not None:
            import tensorflow as tf

            # What tf.summary.scalar writes, without needing the tensorboard package installed.
            with self.writer.as_default():
                tf.summary.write(name, tf.constant(float(value), tf.float32), step=int(step), metadata=_SCALAR_METADATA)

    def last(self, name: str, default=None):
        """The latest value of the curve ``name``, or ``default`` when it has none."""
        return self.curves[name][1][-1] if self.curves.get(name, ([], []))[1] else default

    def plot(self, path, names, *, xlabel="environment step", ylabel="return", title=None, hline=None):
        """PNG of the named curves that have data (``None`` when none has)."""
        from kerasdl.plots import plot_curves

        curves = {name: tuple(self.curves[name]) for name in names if self.curves.get(name, ([], []))[0]}
        if not curves:
            return None
        return plot_curves(curves, path, xlabel=xlabel, ylabel=ylabel, title=title, hline=hline)

    def close(self):
        """Flush and close the TensorBoard writer, if any."""
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()


class Checkpointer:
    """``tf.train.CheckpointManager`` over the trackables given, plus a ``step`` counter.

    ``save(step)`` writes a checkpoint (and calls ``on_save(directory)`` for extra state such
    as the replay buffer); ``restore()`` loads the latest one and returns its step (0 when
    there is none). Every trackable must be found in the checkpoint, except the ``optional``
    ones (``{name: trackable}``, e.g. :meth:`BestPolicy.trackables`), which a checkpoint
    written before they existed lacks: they are restored when present and left as they are
    otherwise, so such a run can still be resumed.
    """

    def __init__(self, directory, max_to_keep: int = 2, on_save=None, on_restore=None, optional=None, **trackables):
        import tensorflow as tf

        self.directory = Path(directory)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.required = dict(step=self.step, **trackables)
        self.optional = dict(optional or {})
        self.checkpoint = tf.train.Checkpoint(**self.required, **self.optional)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), max_to_keep=max_to_keep)
        self.on_save, self.on_restore = on_save, on_restore

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def save(self, step: int) -> str:
        """Save a checkpoint numbered ``step`` (extra state first, via ``on_save``); return its path prefix."""
        self.step.assign(int(step))
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.on_save is not None:  # extra state first: a checkpoint never points at missing state
            self.on_save(self.directory)
        return self.manager.save(checkpoint_number=int(step))

    def restore(self) -> int:
        """Restore the latest checkpoint, if any; return its step (0 when there is none)."""
        import tensorflow as tf

        if self.latest is None:
            return 0
        # Objects are matched by their names from the root, so a root holding a subset of the
        # saved names restores just those.
        tf.train.Checkpoint(**self.required).restore(self.latest).assert_existing_objects_matched().expect_partial()
        if self.optional:
            tf.train.Checkpoint(**self.optional).restore(self.latest).expect_partial()
        if self.on_restore is not None:
            self.on_restore(self.directory)
        return int(self.step.numpy())


def diverged(what: str, step: int, checkpointer: Checkpointer | None = None) -> TrainingDivergedError:
    """The error a loop raises when ``what`` turns NaN/inf; it names the last good checkpoint."""
    where = checkpointer.latest if checkpointer is not None else None
    return TrainingDivergedError(
        f"{what} became non-finite at step {step}; training stopped. Last good checkpoint: {where or 'none written'}"
    )


def export_policy(model, path, *, observation_dtype="float32", overwrite: bool = False) -> Path:
    """SavedModel whose ``serve`` endpoint maps a batch of observations to int32 actions (argmax).

    The observations keep the environment's dtype (float32 vectors, uint8 frames); no
    kerasdl import is needed to use it.
    """
    import keras

    from kerasdl.export import export_saved_model

    inputs = keras.Input(model.input_shape[1:], dtype=observation_dtype, name="observation")
    scores = model(keras.ops.cast(inputs, "float32"))
    action = keras.ops.cast(keras.ops.argmax(scores, axis=-1), "int32")
    policy = keras.Model(inputs, action, name=f"{model.name}_policy")
    return export_saved_model(policy, path, overwrite=overwrite)


def sample_observations(env, count: int = 256, seed: int = 0) -> np.ndarray:
    """``count`` observations from random play (fresh episodes as needed), to probe a policy."""
    env = make_env(env)
    observation, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    observations = []
    for _ in range(check_int("count", count, minimum=1)):
        observations.append(observation)
        observation, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            observation, _ = env.reset()
    env.close()
    return np.asarray(observations)


def check_exported_policy(path, action_fn, observations) -> int:
    """Reload the SavedModel at ``path`` and check that its actions equal ``action_fn``'s on
    ``observations`` exactly (:func:`kerasdl.export.check_export_agrees` with tolerance 0).

    Returns:
        The number of observations checked.

    Raises:
        RuntimeError: the reloaded policy picks another action on some observation.
    """
    from kerasdl.export import check_export_agrees, load_saved_model

    exported = np.asarray(load_saved_model(path)(observations))
    expected = np.asarray(action_fn(observations))
    if exported.shape == expected.shape and np.any(exported != expected):
        share = float(np.mean(exported != expected))
        raise RuntimeError(f"the reloaded SavedModel disagrees with the agent on {share:.1%} of observations")
    check_export_agrees(exported, expected, tolerance=0, what="actions")
    return len(observations)


class Agent(abc.ABC):
    """The interface :class:`~kerasdl.rl.dqn.DQN` and :class:`~kerasdl.rl.reinforce.REINFORCE` share.

    * ``learn(env=None, *, run_dir=None, resume=False, eval_env=None, eval_every, eval_episodes,
      target_return, max_seconds, progress, ...)`` trains; returns the algorithm's result.
    * ``evaluate(env=None, episodes=10, seed=0, policy="best")``: greedy episode returns.
    * ``save(path)`` / ``load(path)``: the networks' weights and the best policy found so
      far, as one ``.npz`` file written atomically (resuming a run with its optimizer and
      replay state is ``learn(run_dir=..., resume=True)``'s job).
    * ``export(path, overwrite=False, policy="best")``: a SavedModel ``observation → action``.

    ``env`` everywhere defaults to the environment given at construction (``self.env``).
    A subclass sets ``self.env``, ``self.best`` (:class:`BestPolicy`), ``self.greedy_actions``
    and ``self.observation_space``, and names its networks in :meth:`networks`; the
    first one is the network being trained, the policy that :meth:`policy_network` returns.
    """

    algorithm = "agent"

    @abc.abstractmethod
    def networks(self) -> dict:
        """``{name: keras.Model}`` saved by :meth:`save`, the trained (acting) network first."""

    @abc.abstractmethod
    def learn(self, env=None, **options):
        """Train on ``env`` (default: the construction environment); see the subclass."""

    def environment(self, env=None):
        """``env``, or the environment given at construction when ``env`` is None."""
        return self.env if env is None else env

    def policy_network(self, policy: str = "best"):
        """The acting network of ``policy``: ``"best"`` (the best evaluation's copy; the current
        network when no evaluation has run) or ``"final"`` (the current network)."""
        check_choice("policy", policy, ["best", "final"])
        return self.best.network if (policy == "best" and self.best.found) else next(iter(self.networks().values()))

    def evaluate(self, env=None, episodes: int = 10, seed: int = 0, policy: str = "best") -> np.ndarray:
        """Returns of ``episodes`` greedy episodes of ``policy`` (see :meth:`policy_network` and
        :func:`evaluate_policy`) on ``env`` (an id or a factory; default: the construction one)."""
        network = self.policy_network(policy)
        actions = self.best.greedy_actions if network is self.best.network else self.greedy_actions
        return evaluate_policy(self.environment(env), actions, episodes, seed=seed)

    def export(self, path, overwrite: bool = False, policy: str = "best") -> Path:
        """SavedModel ``observation → action`` (greedy) of ``policy`` (default: the best one
        evaluated, see :meth:`policy_network`), observations in the environment's dtype."""
        return export_policy(
            self.policy_network(policy), path, observation_dtype=self.observation_space.dtype.name, overwrite=overwrite
        )

    def _saved_arrays(self) -> dict:
        arrays = {"algorithm": np.asarray(self.algorithm)}
        for name, network in {**self.networks(), "best_network": self.best.network}.items():
            for i, weight in enumerate(network.get_weights()):
                arrays[f"{name}/{i:04d}"] = weight
        arrays["best_mean_return"] = np.asarray(self.best.mean_return.numpy())
        arrays["best_step"] = np.asarray(self.best.step.numpy())
        return arrays

    def save(self, path) -> Path:
        """Write the networks' weights and the best policy (with its return and step) to ``path``,
        one ``.npz`` file, atomically: a killed save leaves the previous file or none."""
        from kerasdl.export import atomic_file

        path = Path(path)
        with atomic_file(path, suffix=".npz") as tmp:
            np.savez(tmp, **self._saved_arrays())
        return path

    def load(self, path):
        """Restore what :meth:`save` wrote into this agent (same algorithm and network shapes); returns self."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no saved {self.algorithm} agent at {path} (write one with agent.save(path))")
        with np.load(path, allow_pickle=False) as saved:
            arrays = dict(saved)
        algorithm = str(arrays.get("algorithm", ""))
        if algorithm != self.algorithm:
            raise ValueError(f"{path} holds a saved {algorithm or 'unknown'} agent, not a {self.algorithm} agent")
        expected = self._saved_arrays()
        for key, want in expected.items():
            got = arrays.get(key)
            if got is None or got.shape != want.shape:
                raise ValueError(
                    f"{path} does not fit this agent: {key} has shape "
                    f"{None if got is None else got.shape}, the agent's has {want.shape} "
                    "(same network architecture needed)"
                )
        if set(arrays) != set(expected):
            extra = sorted(set(arrays) - set(expected))
            raise ValueError(f"{path} does not fit this agent: it holds weights the agent lacks ({', '.join(extra)})")
        for name, network in {**self.networks(), "best_network": self.best.network}.items():
            network.set_weights([arrays[f"{name}/{i:04d}"] for i in range(len(network.weights))])
        self.best.mean_return.assign(float(arrays["best_mean_return"]))
        self.best.step.assign(int(arrays["best_step"]))
        return self
