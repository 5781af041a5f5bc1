"""Runtime switches: seeds, determinism, XLA, mixed precision and distribution strategy."""

from __future__ import annotations

from kerasdl._validation import check_choice, check_int


def gpu_available() -> bool:
    """True when TensorFlow sees at least one GPU."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


# What every kerasdl entry point with an XLA switch accepts: compile_model, the custom
# models' compile(), the attacks, DQNConfig / REINFORCEConfig, style transfer, NAS.
JIT_COMPILE_CHOICES = ("auto", True, False)


def check_jit_compile(jit_compile, name: str = "jit_compile"):
    """Return ``jit_compile`` unchanged if it is ``"auto"``, ``True`` or ``False``; else raise.

    The one validator of the setting: for objects that store the request and resolve it
    later (a config dataclass, an attack's ``get_config``), so that a bad value fails where
    it is given, with the same message everywhere.
    """
    return check_choice(name, jit_compile, JIT_COMPILE_CHOICES)


def resolve_jit_compile(jit_compile="auto") -> bool:
    """``"auto"`` → XLA on when a GPU is present, off on CPU; ``True``/``False`` force it.

    The one place the setting is resolved: every entry point that takes ``jit_compile``
    calls this (apps pass the ``--jit-compile`` flag's value through unresolved). On CPU,
    XLA compilation time rarely pays back for the small models here; on a GPU, fusing the
    step's kernels usually does. ``benchmarks/mnist_cnn.py`` measures the ratio.
    """
    check_jit_compile(jit_compile)
    return gpu_available() if jit_compile == "auto" else bool(jit_compile)


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``).

    ``deterministic=True`` also turns on TensorFlow op determinism
    (``tf.config.experimental.enable_op_determinism``): bit-identical reruns, at some speed cost.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(check_int("seed", seed, minimum=0))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def set_mixed_precision(enabled: bool = True, policy: str | None = None) -> str:
    """Switch Keras' global dtype policy; returns the policy name now in force.

    ``enabled=True`` picks ``mixed_float16`` on a GPU and ``mixed_bfloat16`` on CPU (the
    CPU has no fast float16 path); pass ``policy`` to choose. Keep the last layer's
    output in float32 (``dtype="float32"``) for a numerically stable softmax/loss.
    """
    import keras

    if policy is None:
        policy = ("mixed_float16" if gpu_available() else "mixed_bfloat16") if enabled else "float32"
    check_choice("policy", policy, ("float32", "mixed_float16", "mixed_bfloat16", "bfloat16", "float16"))
    keras.mixed_precision.set_global_policy(policy)
    return policy


STRATEGIES = ("auto", "default", "mirrored", "multiworker")


def strategy(name: str = "auto"):
    """The distribution strategy builders, apps and custom loops build under.

    ``"auto"``: ``MirroredStrategy`` when several GPUs are visible, else the default
    strategy (everything on the one device). ``"mirrored"``: synchronous data parallelism
    over every visible device of this machine. ``"multiworker"``:
    ``MultiWorkerMirroredStrategy``, the workers listed in the ``TF_CONFIG`` environment
    variable. Use ``with strategy(name).scope(): model = ...``; the batch size given to
    ``fit`` is the global batch, split across replicas.
    """
    import tensorflow as tf

    check_choice("strategy", name, STRATEGIES)
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return _keras_multi_worker_strategy()
    if name == "auto" and len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _keras_multi_worker_strategy():
    """``MultiWorkerMirroredStrategy`` whose ``reduce`` accepts what Keras 3's ``fit()`` passes.

    Keras 3.15's TensorFlow trainer calls ``strategy.reduce`` on (a) the first input batch, a
    nested (x, y) structure, and (b) every scalar log with ``axis=0``. The collective
    strategy handles neither: (a) fails converting a ``PerReplica`` to a tensor, (b) fails
    summing a scalar over axis 0 — so plain ``fit()`` under this strategy crashes before
    the first step (measured; ``tests/test_distribute.py`` runs two workers). Reducing leaf
    by leaf, and scalars across replicas (``axis=None``), is what Keras means in both cases.
    """
    import tensorflow as tf

    class KerasMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            def reduce_leaf(leaf):
                rank = self.experimental_local_results(leaf)[0].shape.rank
                return super(KerasMultiWorkerMirroredStrategy, self).reduce(
                    reduce_op, leaf, None if rank == 0 else axis
                )

            return tf.nest.map_structure(reduce_leaf, value)

    return KerasMultiWorkerMirroredStrategy()
