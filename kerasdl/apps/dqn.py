"""Train a DQN agent on a Gymnasium environment, evaluate it greedily, plot, and export the policy.

    python -m apps.dqn --env CartPole-v1                    # rl-baselines3-zoo's CartPole settings
    python -m apps.dqn --env CartPole-v1 --timesteps 20000 --double-dqn
    python -m apps.dqn --env ALE/Pong-v5 --timesteps 5000   # Atari (pip install 'kerasdl[atari]')
    python -m apps.dqn --resume runs/dqn/<run-id>           # continue a run from its checkpoint

Every ``--eval-every`` steps (default 1,000) the greedy policy plays ``--eval-episodes``
episodes (20, side by side in a vector env: about a second); the weights of the best
evaluation are kept (also in the checkpoints) and are what gets exported, because DQN on
CartPole often peaks and then collapses. Training stops once an evaluation reaches
``--target-return``, by default the environment's own "solved" threshold
(``reward_threshold`` of its Gymnasium spec: 475 for CartPole-v1; ``none`` never stops early).
The summary reports the best evaluation and, on fresh episodes, both the exported (best)
and the final policy.

Writes ``runs/dqn/<run-id>/`` (learning_curve.png, tensorboard/, checkpoints/, summary.json)
and a SavedModel ``observation → action`` to ``saved_models/dqn/<run-id>/``, which is
reloaded and checked against the in-memory policy.
"""

from __future__ import annotations

import sys

from kerasdl.apps._common import jit_flag

DESCRIPTION = "train a DQN agent on a Gymnasium environment (CartPole, Atari) and export its policy"


def target_return_flag(value: str):
    """``--target-return``: a number, ``auto`` (the environment's reward_threshold) or ``none``."""
    import argparse

    if value.lower() in ("auto", "none"):
        return value.lower()
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, 'auto' or 'none', got {value!r}") from None


def add_rl_arguments(parser, *, runs_dir: str, export_dir: str, eval_episodes: int = 20) -> None:
    """Flags DQN and REINFORCE share: evaluation, run folder, export, seed, XLA."""
    parser.add_argument("--eval-episodes", type=int, default=eval_episodes, help="greedy episodes per evaluation")
    parser.add_argument(
        "--target-return",
        type=target_return_flag,
        default="auto",
        help="stop once an evaluation's greedy mean return reaches this; auto: the environment's "
        "reward_threshold (475 for CartPole-v1) if it has one; none: never stop early",
    )
    parser.add_argument("--max-seconds", type=float, default=None, help="wall-time cap for training")
    parser.add_argument("--runs-dir", default=runs_dir, help="folder for <run-id>/ (curves, logs, checkpoints)")
    parser.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the run in RUN_DIR")
    parser.add_argument("--export", dest="export_dir", default=export_dir, help="folder that receives <run-id>/")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--jit-compile",
        choices=["auto", "on", "off"],
        default="auto",
        help="XLA for the update step (auto: on with a GPU)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_arguments(parser):
    parser.add_argument("--env", default="CartPole-v1", help="Gymnasium id (ALE/… ids get Atari preprocessing)")
    parser.add_argument("--timesteps", type=int, default=50_000, help="environment steps in total")
    parser.add_argument("--learning-rate", type=float, default=2.3e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--buffer-size", type=int, default=100_000, help="replay capacity (transitions)")
    parser.add_argument("--learning-starts", type=int, default=1_000, help="random steps before training")
    parser.add_argument("--gamma", type=float, default=0.99, help="discount γ in [0, 1]")
    parser.add_argument("--train-frequency", type=int, default=256, help="env steps between training phases")
    parser.add_argument("--gradient-steps", type=int, default=128, help="updates per training phase")
    parser.add_argument("--target-update-interval", type=int, default=10, help="env steps between target syncs")
    parser.add_argument("--tau", type=float, default=1.0, help="target sync: 1 = hard copy, <1 = Polyak")
    parser.add_argument("--exploration-fraction", type=float, default=0.16, help="part of the run over which ε decays")
    parser.add_argument("--final-epsilon", type=float, default=0.04)
    parser.add_argument("--double-dqn", action="store_true", help="Double DQN targets")
    parser.add_argument("--hidden-units", type=int, nargs="+", default=[256, 256], help="MLP Q-network widths")
    parser.add_argument(
        "--eval-every",
        type=int,
        default=1_000,
        help="env steps between greedy evaluations (0: never; then the last policy is exported)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=10_000,
        help="env steps between checkpoints (one is also written at the end)",
    )
    add_rl_arguments(parser, runs_dir="runs/dqn", export_dir="saved_models/dqn")


def check_rl_flags(args) -> float | None:
    """Refuse bad evaluation/checkpoint flags before a run folder is made; returns the target
    return (``--target-return auto`` resolved to the environment's reward_threshold)."""
    from kerasdl._validation import check_int
    from kerasdl.rl.common import default_target_return

    check_int("eval_every", args.eval_every, minimum=0)
    check_int("eval_episodes", args.eval_episodes, minimum=1)
    check_int("checkpoint_every", args.checkpoint_every, minimum=1)
    if args.target_return == "auto":
        return default_target_return(args.env)
    return None if args.target_return == "none" else args.target_return


def start_run(args):
    """(run_dir, run_id) for a new run or the ``--resume`` folder."""
    from pathlib import Path

    from kerasdl.apps._common import new_run_dir

    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "checkpoints" / "checkpoint").is_file():
            raise FileNotFoundError(f"--resume {run_dir}: no checkpoints/ in that folder")
        return run_dir, run_dir.name
    run_dir = new_run_dir(args.runs_dir)
    return run_dir, run_dir.name


def export_and_check(agent, args, run_id, probe_env, log=print) -> dict:
    """Export the best evaluated policy (the last one when no evaluation ran), reload it, and
    compare its actions with that policy's on sampled observations."""
    from pathlib import Path

    from kerasdl.rl.common import check_exported_policy, greedy_action_fn, sample_observations

    which = "best" if agent.best.found else "final"
    if args.no_export:
        return {"export_path": None}
    path = agent.export(Path(args.export_dir) / run_id, overwrite=bool(args.resume), policy=which)
    observations = sample_observations(probe_env, 64, seed=args.seed)
    checked = check_exported_policy(path, greedy_action_fn(agent.policy_network(which)), observations)
    log(f"exported the {which} policy to {path} (reloaded: same actions on {len(observations)} observations)")
    return {"export_path": str(path), "exported_policy": which, "export_checked_observations": checked}


def policy_figures(evaluate, result_best, episodes: int) -> dict:
    """The summary's return figures: the best evaluation during training, then the best and the
    final policy each played on ``episodes`` fresh episodes (the selection of the best was made
    on other episodes, so its figure here is not inflated by that choice).

    ``evaluate(policy)`` returns the episode returns of ``"best"`` or ``"final"``;
    ``result_best`` is ``(best evaluation mean, its step)`` from the run.
    """
    import numpy as np

    figures = {"best_eval_return": result_best[0], "best_eval_at": result_best[1], "eval_episodes": episodes}
    for policy in ("best", "final"):
        returns = evaluate(policy)
        figures[f"{policy}_greedy_return_mean"] = float(np.mean(returns))
        figures[f"{policy}_greedy_return_std"] = float(np.std(returns))
    return figures


def learn_evaluate_export(agent, args, headline: str, probe_env, best_at: str):
    """What both RL apps do after building the agent: check the flags, claim the run folder,
    train (a NaN/inf loss raises ``TrainingDivergedError``, which the CLI reports in one line
    with exit 1), play the best and final policies on fresh episodes and export the best.

    ``headline`` starts the first line printed; ``best_at`` names the result's attribute
    holding the best evaluation's step or episode. Returns ``(run_dir, target_return,
    result, figures, export)``.
    """
    target_return = check_rl_flags(args)
    run_dir, run_id = start_run(args)
    stops = target_return is not None and args.eval_every
    print(f"{headline}; run folder {run_dir}" + (f"; stops at a greedy return of {target_return:g}" if stops else ""))
    result = agent.learn(
        run_dir=run_dir,
        resume=bool(args.resume),
        checkpoint_every=args.checkpoint_every,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        target_return=target_return,
        max_seconds=args.max_seconds,
        progress=not args.quiet,
    )
    figures = policy_figures(
        lambda policy: agent.evaluate(episodes=args.eval_episodes, seed=args.seed + 1, policy=policy),
        (result.best_eval_mean, getattr(result, best_at)),
        args.eval_episodes,
    )
    export = export_and_check(agent, args, run_id, probe_env)
    return run_dir, target_return, result, figures, export


def print_returns(figures: dict, unit: str) -> None:
    best, at = figures["best_eval_return"], figures["best_eval_at"]
    n = figures["eval_episodes"]
    if best is not None:
        print(f"  best evaluation {best:.1f} at {unit} {at:,}")
    print(
        f"  best policy     {figures['best_greedy_return_mean']:.1f} ± {figures['best_greedy_return_std']:.1f} "
        f"over {n} fresh episodes" + (" (no evaluation ran: the final policy)" if best is None else "")
    )
    print(
        f"  final policy    {figures['final_greedy_return_mean']:.1f} ± "
        f"{figures['final_greedy_return_std']:.1f} over {n} fresh episodes"
    )


def run(args) -> int:
    from kerasdl.apps._common import write_summary
    from kerasdl.rl.common import check_env_id
    from kerasdl.rl.dqn import DQN, DQNConfig

    atari = args.env.startswith("ALE/")
    check_env_id(args.env)
    if atari:
        from kerasdl.rl.atari import atari_factory

        env = atari_factory(args.env)
    else:
        env = args.env
    config = DQNConfig(
        total_timesteps=args.timesteps,
        learning_rate=args.learning_rate,
        buffer_size=args.buffer_size,
        batch_size=args.batch_size,
        learning_starts=args.learning_starts,
        gamma=args.gamma,
        train_frequency=args.train_frequency,
        gradient_steps=args.gradient_steps,
        target_update_interval=args.target_update_interval,
        tau=args.tau,
        exploration_fraction=args.exploration_fraction,
        end_epsilon=args.final_epsilon,
        double_dqn=args.double_dqn,
        hidden_units=tuple(args.hidden_units),
        clip_rewards=atari,
        jit_compile=jit_flag(args.jit_compile),
        seed=args.seed,
    )
    agent = DQN(env, config)  # validates env, spaces and network before anything runs
    run_dir, target_return, result, figures, export = learn_evaluate_export(
        agent,
        args,
        f"DQN on {args.env}: {agent.q_network.name} ({agent.q_network.count_params():,} parameters), "
        f"{args.timesteps:,} steps",
        env,
        "best_eval_step",
    )
    summary = {
        "app": "dqn",
        "env": args.env,
        "steps": result.steps,
        "episodes": result.episodes,
        "target_return": target_return,
        "solved_at_step": result.solved_at_step,
        **figures,
        "seconds": result.seconds,
        "eval_seconds": result.eval_seconds,
        "parameters": agent.q_network.count_params(),
        "learning_curve": result.curve_png,
        "checkpoint": result.checkpoint,
        "run_dir": str(run_dir),
        **export,
        "jit_compile": agent.jit_compile,
        "config": config.__dict__,
    }
    write_summary(run_dir, summary)
    print("\nSummary")
    print_returns(figures, "step")
    print(
        f"  steps           {result.steps:,} ({result.episodes} episodes, {result.seconds:.0f} s)"
        + (f"; reached the target {target_return:g} at step {result.solved_at_step:,}" if result.solved_at_step else "")
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
