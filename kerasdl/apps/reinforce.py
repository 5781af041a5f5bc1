"""Train a REINFORCE policy (reward-to-go, normalised returns, value baseline) and export it.

    python -m apps.reinforce                                # CartPole-v1
    python -m apps.reinforce --episodes 3000 --target-return 475
    python -m apps.reinforce --no-baseline --entropy-coef 0.01

As in ``apps.dqn``: the greedy policy is evaluated every ``--eval-every`` updates (default
10, i.e. 80 episodes) and at the end, the best evaluation's weights are kept and exported,
and training stops at ``--target-return`` (default: the environment's reward_threshold, 475
for CartPole-v1). The summary reports the best evaluation and, on fresh episodes, both the
exported (best) and the final policy.

Writes ``runs/reinforce/<run-id>/`` (learning_curve.png, tensorboard/, checkpoints/,
summary.json) and a SavedModel ``observation → most probable action`` to
``saved_models/reinforce/<run-id>/``, reloaded and checked against the in-memory policy.
"""

from __future__ import annotations

import sys

from kerasdl.apps._common import jit_flag
from kerasdl.apps.dqn import add_rl_arguments, learn_evaluate_export, print_returns

DESCRIPTION = "train a REINFORCE policy-gradient agent on a Gymnasium environment and export it"


def add_arguments(parser):
    parser.add_argument("--env", default="CartPole-v1", help="Gymnasium id with a discrete action space")
    parser.add_argument("--episodes", type=int, default=2_000, help="training episodes in total")
    parser.add_argument("--episodes-per-update", type=int, default=8, help="episodes collected per update")
    parser.add_argument("--learning-rate", type=float, default=1e-2, help="policy learning rate (Adam)")
    parser.add_argument("--value-learning-rate", type=float, default=1e-2, help="baseline learning rate (Adam)")
    parser.add_argument("--gamma", type=float, default=0.99, help="discount γ in [0, 1]")
    parser.add_argument("--no-baseline", action="store_true", help="plain returns instead of R − V(s)")
    parser.add_argument("--no-normalize", action="store_true", help="do not standardise the returns")
    parser.add_argument("--entropy-coef", type=float, default=0.0, help="entropy bonus β")
    parser.add_argument("--hidden-units", type=int, nargs="+", default=[32], help="policy/value MLP widths")
    parser.add_argument(
        "--eval-every",
        type=int,
        default=10,
        help="updates between greedy evaluations (0: never; then the last policy is exported)",
    )
    parser.add_argument(
        "--checkpoint-every", type=int, default=50, help="updates between checkpoints (one is also written at the end)"
    )
    add_rl_arguments(parser, runs_dir="runs/reinforce", export_dir="saved_models/reinforce")


def run(args) -> int:
    from kerasdl.apps._common import write_summary
    from kerasdl.rl.reinforce import REINFORCE, REINFORCEConfig

    config = REINFORCEConfig(
        total_episodes=args.episodes,
        episodes_per_update=args.episodes_per_update,
        learning_rate=args.learning_rate,
        value_learning_rate=args.value_learning_rate,
        gamma=args.gamma,
        baseline=not args.no_baseline,
        normalize_returns=not args.no_normalize,
        entropy_coef=args.entropy_coef,
        hidden_units=tuple(args.hidden_units),
        jit_compile=jit_flag(args.jit_compile),
        seed=args.seed,
    )
    agent = REINFORCE(args.env, config)  # validates env, spaces and networks first
    run_dir, target_return, result, figures, export = learn_evaluate_export(
        agent,
        args,
        f"REINFORCE on {args.env}: policy {agent.policy.count_params():,} parameters, {args.episodes:,} episodes",
        args.env,
        "best_eval_episode",
    )
    summary = {
        "app": "reinforce",
        "env": args.env,
        "episodes": result.episodes,
        "env_steps": result.env_steps,
        "target_return": target_return,
        "solved_at_episode": result.solved_at_episode,
        **figures,
        "seconds": result.seconds,
        "eval_seconds": result.eval_seconds,
        "learning_curve": result.curve_png,
        "checkpoint": result.checkpoint,
        "run_dir": str(run_dir),
        **export,
        "jit_compile": agent.jit_compile,
        "config": config.__dict__,
    }
    write_summary(run_dir, summary)
    print("\nSummary")
    print_returns(figures, "episode")
    print(
        f"  episodes        {result.episodes:,} ({result.env_steps:,} steps, {result.seconds:.0f} s)"
        + (
            f"; reached the target {target_return:g} at episode {result.solved_at_episode:,}"
            if result.solved_at_episode
            else ""
        )
        + f"\n  curve           {result.curve_png}\n  export          {export['export_path']}"
        + (f" ({export['exported_policy']} policy)" if export["export_path"] else "")
        + f"\n  summary         {run_dir / 'summary.json'}"
    )
    return 0


def main(argv=None) -> int:
    from kerasdl.cli import app_main

    return app_main(__name__, argv)


if __name__ == "__main__":
    sys.exit(main())
