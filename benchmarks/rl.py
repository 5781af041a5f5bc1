"""Benchmark: reinforcement learning and architecture search (issue 8).

    python benchmarks/rl.py --parts dqn,sb3,reinforce,nas     # all parts, one after another
    python benchmarks/rl.py --parts sb3 --sb3-python /tmp/sb3venv/bin/python
    python benchmarks/rl.py --parts dqn,sb3 --seeds 0 1 2     # one run per seed, plus a summary

Parts (each result is merged into ``benchmarks/results/rl.json`` under its own key):

* ``dqn`` — kerasdl DQN on CartPole-v1 with rl-baselines3-zoo's tuned hyperparameters
  (lr 2.3e-3, batch 64, buffer 100k, learning_starts 1000, γ 0.99, target update every 10
  steps, train_freq 256 with 128 gradient steps, ε 1 → 0.04 over 16% of 50k steps, MLP
  256-256). Every ``--eval-every`` steps the greedy policy plays 100 episodes; the run is
  "solved" at the first evaluation whose mean return is ≥ 475 (CartPole-v1's threshold).
  Reports environment steps and seconds to solve (wall, wall without evaluation, CPU).
* ``sb3`` — Stable-Baselines3's DQN with the same hyperparameters and the same evaluation
  protocol, run by ``--sb3-python`` (a separate virtual environment with SB3 and CPU
  torch, so the project's environment is untouched).
* ``reinforce`` — kerasdl REINFORCE on CartPole-v1 until the greedy policy's mean return
  over 100 episodes is ≥ 475.
* ``nas`` — controller NAS versus random search on sklearn digits, the same number of
  child trainings each.

Each part has a wall-time cap (``--max-seconds``, recorded in the JSON); a part that hits
it reports what it reached. The machine is shared, so CPU seconds are given beside wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

PROCESS_START = time.perf_counter()
REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "rl.json"
TARGET = 475.0

# rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1.
ZOO_CARTPOLE = dict(
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1_000,
    gamma=0.99,
    target_update_interval=10,
    train_freq=256,
    gradient_steps=128,
    exploration_fraction=0.16,
    exploration_final_eps=0.04,
    net_arch=[256, 256],
    n_timesteps=50_000,
)

SB3_SCRIPT = r"""
import json, sys, time
import numpy as np
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
import stable_baselines3, torch

a = json.loads(sys.argv[1])
z = a["zoo"]

class EvalAndStop(BaseCallback):
    def __init__(self):
        super().__init__()
        self.evals, self.eval_seconds, self.solved_at = [], 0.0, None
    def _on_step(self):
        if self.num_timesteps % a["eval_every"] == 0:
            t0 = time.perf_counter()
            mean, _ = evaluate_policy(self.model, eval_env, n_eval_episodes=a["eval_episodes"], deterministic=True)
            self.eval_seconds += time.perf_counter() - t0
            self.evals.append([self.num_timesteps, float(mean)])
            print(f"sb3 step {self.num_timesteps}: greedy return {mean:.1f}", flush=True)
            if mean >= a["target"]:
                self.solved_at = self.num_timesteps
                return False
        return time.time() < a["deadline"]

eval_env = make_vec_env("CartPole-v1", n_envs=10, seed=10_000)
model = DQN("MlpPolicy", "CartPole-v1", learning_rate=z["learning_rate"], batch_size=z["batch_size"],
            buffer_size=z["buffer_size"], learning_starts=z["learning_starts"], gamma=z["gamma"],
            target_update_interval=z["target_update_interval"], train_freq=z["train_freq"],
            gradient_steps=z["gradient_steps"], exploration_fraction=z["exploration_fraction"],
            exploration_final_eps=z["exploration_final_eps"], policy_kwargs=dict(net_arch=z["net_arch"]),
            seed=a["seed"], device="cpu", verbose=0)
callback = EvalAndStop()
start, cpu0 = time.perf_counter(), time.process_time()
model.learn(total_timesteps=z["n_timesteps"], callback=callback)
wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
print(json.dumps({"steps": int(model.num_timesteps), "solved_at_step": callback.solved_at,
                  "wall_seconds": round(wall, 1), "wall_seconds_without_eval": round(wall - callback.eval_seconds, 1),
                  "cpu_seconds": round(cpu, 1), "evals": callback.evals,
                  "versions": {"stable_baselines3": stable_baselines3.__version__, "torch": torch.__version__,
                               "torch_threads": torch.get_num_threads()}}))
"""


def remaining(args) -> float:
    """Seconds left of this part's cap, counted from the part's start (imports included)."""
    return max(1.0, args.max_seconds - (time.perf_counter() - args.part_start))


def part_dqn(args) -> dict:
    from kerasdl.rl.dqn import DQN, DQNConfig

    z = ZOO_CARTPOLE
    config = DQNConfig(
        total_timesteps=z["n_timesteps"],
        learning_rate=z["learning_rate"],
        buffer_size=z["buffer_size"],
        batch_size=z["batch_size"],
        learning_starts=z["learning_starts"],
        gamma=z["gamma"],
        train_frequency=z["train_freq"],
        gradient_steps=z["gradient_steps"],
        target_update_interval=z["target_update_interval"],
        exploration_fraction=z["exploration_fraction"],
        end_epsilon=z["exploration_final_eps"],
        hidden_units=tuple(z["net_arch"]),
        seed=args.seed,
    )
    agent = DQN("CartPole-v1", config)
    cpu0 = time.process_time()
    result = agent.learn(
        "CartPole-v1",
        eval_every=args.eval_every,
        eval_episodes=100,
        target_return=TARGET,
        max_seconds=remaining(args),
        progress=False,
    )
    cpu = time.process_time() - cpu0
    evals = [[s, round(v, 1)] for s, v in zip(*result.curves.get("eval_return", ([], [])))]
    return {
        "steps": result.steps,
        "solved_at_step": result.solved_at_step,
        "wall_seconds": result.seconds,
        "wall_seconds_without_eval": round(result.seconds - result.eval_seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "evals": evals,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.__dict__.items()},
    }


def part_sb3(args) -> dict:
    payload = json.dumps(
        {
            "zoo": ZOO_CARTPOLE,
            "eval_every": args.eval_every,
            "eval_episodes": 100,
            "target": TARGET,
            "seed": args.seed,
            "deadline": time.time() + remaining(args),
        }
    )
    if not Path(args.sb3_python).exists():
        return {"skipped": f"{args.sb3_python} not found: create a venv with stable-baselines3 and CPU torch"}
    proc = subprocess.run(
        [args.sb3_python, "-c", SB3_SCRIPT, payload], capture_output=True, text=True, timeout=remaining(args) + 300
    )
    print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n")
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def part_reinforce(args) -> dict:
    from kerasdl.rl.reinforce import REINFORCE, REINFORCEConfig

    config = REINFORCEConfig(
        total_episodes=args.reinforce_episodes,
        episodes_per_update=8,
        learning_rate=1e-2,
        value_learning_rate=1e-2,
        gamma=0.99,
        hidden_units=(32,),
        seed=args.seed,
    )
    agent = REINFORCE("CartPole-v1", config)
    cpu0 = time.process_time()
    result = agent.learn(
        eval_every=10, eval_episodes=100, target_return=TARGET, max_seconds=remaining(args), progress=False
    )
    cpu = time.process_time() - cpu0
    evals = [[s, round(v, 1)] for s, v in zip(*result.curves.get("eval_return", ([], [])))]
    return {
        "episodes": result.episodes,
        "env_steps": result.env_steps,
        "solved_at_episode": result.solved_at_episode,
        "wall_seconds": result.seconds,
        "wall_seconds_without_eval": round(result.seconds - result.eval_seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "best_eval": max((v for _, v in evals), default=None),
        "evals": evals,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.__dict__.items()},
    }


def part_nas(args) -> dict:
    from kerasdl.automl.nas import SearchSpace, digits_search_data, nas_search, plot_search, random_search

    space = SearchSpace()
    data = digits_search_data(seed=args.seed)
    # NAS gets half the time cap; random search then gets exactly as many child trainings.
    nas = nas_search(
        args.nas_trials,
        space=space,
        data=data,
        epochs=args.nas_epochs,
        seed=args.seed,
        max_seconds=remaining(args) / 2,
        progress=False,
    )
    rnd = random_search(
        len(nas.rewards),
        space=space,
        data=data,
        epochs=args.nas_epochs,
        seed=args.seed,
        max_seconds=remaining(args),
        progress=False,
    )
    png = plot_search([nas, rnd], REPO / "benchmarks" / "results" / "rl_nas_search.png")
    return {
        "search_space_size": space.size(),
        "child_trainings_each": len(nas.rewards),
        "child_trainings_requested": args.nas_trials,
        "child_epochs": args.nas_epochs,
        "data": "sklearn digits 8x8, 80/20 train/validation of the train split",
        "nas": {**nas.summary(), "rewards": [round(r, 4) for r in nas.rewards]},
        "random": {**rnd.summary(), "rewards": [round(r, 4) for r in rnd.rewards]},
        "plot": str(png),
    }


PARTS = {"dqn": part_dqn, "sb3": part_sb3, "reinforce": part_reinforce, "nas": part_nas}


def solve_summary(runs: list) -> dict:
    """How many seeds solved, and the median steps / seconds to solve over those that did."""
    import numpy as np

    solved = [r for r in runs if r.get("solved_at_step")]
    median = lambda key: round(float(np.median([r[key] for r in solved])), 1) if solved else None  # noqa: E731
    return {
        "seeds": [r["seed"] for r in runs],
        "solved": f"{len(solved)}/{len(runs)}",
        "median_steps_to_solve": median("solved_at_step"),
        "median_wall_seconds_to_solve": median("wall_seconds"),
        "median_wall_seconds_to_solve_without_eval": median("wall_seconds_without_eval"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="dqn,sb3,reinforce,nas")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="dqn/sb3: one run per seed (DQN on CartPole varies a lot from seed to seed); "
        "the JSON then holds every run and a summary",
    )
    parser.add_argument("--eval-every", type=int, default=2_500, help="DQN: env steps between 100-episode evaluations")
    parser.add_argument("--max-seconds", type=float, default=600, help="wall-time cap per part")
    parser.add_argument("--reinforce-episodes", type=int, default=3_000)
    parser.add_argument("--nas-trials", type=int, default=20)
    parser.add_argument("--nas-epochs", type=int, default=3)
    parser.add_argument("--sb3-python", default="/tmp/sb3venv/bin/python")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import tensorflow as tf

    for name in args.parts.split(","):
        if name not in PARTS:
            raise SystemExit(f"unknown part {name!r}; choose from {', '.join(PARTS)}")
        print(f"== {name}", flush=True)
        seeds = args.seeds if (args.seeds and name in ("dqn", "sb3")) else [args.seed]
        runs = []
        for seed in seeds:
            args.seed = seed
            start = args.part_start = time.perf_counter() if runs or name != args.parts.split(",")[0] else PROCESS_START
            run = PARTS[name](args)
            run.update(
                {
                    "seed": seed,
                    "max_seconds_cap": args.max_seconds,
                    "part_wall_seconds": round(time.perf_counter() - start, 1),
                    "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
            print(json.dumps({k: v for k, v in run.items() if k not in ("evals", "config")}), flush=True)
            runs.append(run)
        part = runs[0] if len(runs) == 1 else {"runs": runs, "summary": solve_summary(runs)}
        # re-read just before writing: parts may run in parallel processes on the same file
        results = json.loads(args.out.read_text()) if args.out.exists() else {}
        results[name] = part
        results["machine"] = {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "note": "shared CPU machine",
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
