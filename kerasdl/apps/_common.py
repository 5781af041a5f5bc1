"""Command-line pieces every app shares: runtime flags (seed, XLA, mixed precision,
distribution strategy) and the run folder with its ``summary.json``."""

from __future__ import annotations

from pathlib import Path

from kerasdl._runs import write_summary  # noqa: F401  (one summary writer for apps and library flows)


def jit_flag(value: str):
    """``--jit-compile auto|on|off`` → ``"auto"``/``True``/``False``, the value every kerasdl entry
    point's ``jit_compile`` takes; apps pass it on unresolved and the library resolves it
    (:func:`kerasdl.training.runtime.resolve_jit_compile`, the one place that does)."""
    return {"auto": "auto", "on": True, "off": False}[value]


# kerasdl.training.runtime.STRATEGIES, repeated so that `--help` does not import Keras
# (tests/test_shared_utils.py checks they agree).
STRATEGY_CHOICES = ("auto", "default", "mirrored", "multiworker")


def weights_value(value: str):
    """A ``--weights`` argument for :func:`kerasdl.transfer.load_backbone`: ``none`` (any
    case) → ``None`` (random initialisation); ``imagenet`` or a file path as given."""
    return None if value.lower() == "none" else value


def add_runtime_arguments(parser, *, seed: int = 0) -> None:
    """Add ``--seed``, ``--jit-compile``, ``--mixed-precision`` and ``--strategy``."""
    parser.add_argument("--seed", type=int, default=seed, help="random seed")
    parser.add_argument(
        "--jit-compile", choices=["auto", "on", "off"], default="auto", help="XLA compilation (auto: on with a GPU)"
    )
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="mixed_float16 on GPU, mixed_bfloat16 on CPU; outputs stay float32",
    )
    parser.add_argument(
        "--strategy",
        choices=STRATEGY_CHOICES,
        default="auto",
        help="tf.distribute strategy; --batch-size is the global batch",
    )


def setup_runtime(args):
    """Apply the runtime flags parsed by :func:`add_runtime_arguments`; returns the strategy.

    Also sets ``args.jit`` to the ``jit_compile`` value to pass on (``"auto"``, ``True`` or
    ``False``, see :func:`jit_flag`); the library entry point it goes to resolves it.
    """
    from kerasdl._runs import setup_runtime as setup

    args.jit = jit_flag(args.jit_compile)
    return setup(
        seed=args.seed,
        mixed_precision=getattr(args, "mixed_precision", False),
        strategy=getattr(args, "strategy", "auto"),
    )


def new_run_dir(runs_dir, app: str | None = None) -> Path:
    """``runs_dir/<run-id>/``, created exclusively (:func:`kerasdl.export.create_run_dir`), for one
    run's curves, logs, checkpoints and summary; no other run can be handed the same folder."""
    from kerasdl.export import create_run_dir

    return create_run_dir(runs_dir)
