"""Benchmark: reinforcement learning and architecture search (issues 8 and 23).

    python benchmarks/rl.py --parts dqn --envs CartPole-v1,Acrobot-v1 --libs kerasdl,sb3,sbx --seeds 0 1 2
    python benchmarks/rl.py --parts dqn --envs CartPole-v1 --seeds $(seq 0 9) --stop-at-solve   # steps to solve
    python benchmarks/rl.py --parts reinforce,nas

Parts (each result is merged into ``benchmarks/results/rl.json`` under its own key):

* ``dqn`` — DQN side by side: kerasdl, Stable-Baselines3 (PyTorch) and SBX (Stable-Baselines3
  in JAX, jitted updates) on CartPole-v1, Acrobot-v1 and MountainCar-v0, every library with
  rl-baselines3-zoo's tuned hyperparameters for the environment (``hyperparams/dqn.yml``; see
  :data:`ZOO`). Each run is one fresh process (``sys.executable`` for kerasdl, ``--sb3-python``
  and ``--sbx-python`` for the peers: separate virtual environments, so the project's stays
  untouched) that trains for ``--timesteps`` environment steps (default: the zoo's budget).
  The protocol, the same for every library:

  - **speed without evaluation**: wall and process CPU seconds of ``learn`` minus those spent in
    evaluations, as environment steps per wall second, per CPU second and milliseconds per step;
  - **the same evaluation**: every ``--eval-every`` steps the greedy policy plays
    ``--eval-episodes`` episodes, seeds ``10_000 + step + i``, all at once in one
    ``gymnasium.vector.SyncVectorEnv`` (at most 100 copies) with one batched forward pass per
    step: kerasdl's ``evaluate_policy``, and :data:`EVAL_SOURCE` (the same algorithm) for the
    peers; a run counts as solved at the first evaluation whose mean reaches the environment's
    ``reward_threshold`` (CartPole-v1 475, Acrobot-v1 −100, MountainCar-v0 −110);
  - **interleaved order**: seed ``k`` runs the libraries in the order rotated by ``k``, so no
    library always runs first or last on a machine whose load drifts; the load average is
    recorded before and after every run;
  - **distributions over seeds**: per library the median and interquartile range
    (:func:`kerasdl.benchmarking.summarize`) of steps per second, of steps to solve and of the
    final evaluation, and per seed the ratio kerasdl / peer of the speeds (the two runs of one
    seed are neighbours in time, so the ratio cancels most of the load drift).

  ``--stop-at-solve`` ends a run at its first solving evaluation (for steps-to-solve over many
  seeds); without it every run trains for the whole budget, so speeds compare equal step counts.
  Capping ``--timesteps`` below the zoo budget keeps the zoo's ε schedule in steps (the
  exploration fraction is rescaled for every library alike).
* ``reinforce`` — kerasdl REINFORCE on CartPole-v1 until the greedy policy's mean return
  over 100 episodes is ≥ 475.
* ``nas`` — controller NAS versus random search on sklearn digits, the same number of
  child trainings each.

Each part has a wall-time cap (``--max-seconds``, per run for ``dqn``, recorded in the JSON); a
run that hits it reports what it reached. The machine is shared, so CPU seconds are given
beside wall seconds and load averages beside both.
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

from kerasdl.benchmarking import load_average

PROCESS_START = time.perf_counter()
REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "rl.json"
TARGET = 475.0

# rl-baselines3-zoo hyperparams/dqn.yml (DLR-RM/rl-baselines3-zoo, commit ce95481b), as written there.
# gradient_steps=-1 means "as many gradient steps as environment steps collected" (train_freq with
# one environment); SB3 and SBX take -1 as is, kerasdl gets train_freq.
ZOO = {
    "CartPole-v1": dict(
        n_timesteps=50_000,
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
    ),
    "Acrobot-v1": dict(
        n_timesteps=100_000,
        learning_rate=6.3e-4,
        batch_size=128,
        buffer_size=50_000,
        learning_starts=0,
        gamma=0.99,
        target_update_interval=250,
        train_freq=4,
        gradient_steps=-1,
        exploration_fraction=0.12,
        exploration_final_eps=0.1,
        net_arch=[256, 256],
    ),
    "MountainCar-v0": dict(
        n_timesteps=120_000,
        learning_rate=4e-3,
        batch_size=128,
        buffer_size=10_000,
        learning_starts=1_000,
        gamma=0.98,
        target_update_interval=600,
        train_freq=16,
        gradient_steps=8,
        exploration_fraction=0.2,
        exploration_final_eps=0.07,
        net_arch=[256, 256],
    ),
}
ZOO_CARTPOLE = ZOO["CartPole-v1"]
LIBS = ("kerasdl", "sb3", "sbx")

# The peers' evaluation: kerasdl.rl.common.evaluate_policy's algorithm, line for line (the peers'
# virtual environments do not have kerasdl): min(episodes, 100) copies in one SyncVectorEnv,
# copy i seeded with seed + i, each copy's first episode, one batched action call per step.
EVAL_SOURCE = r"""
def evaluate(env_id, act, episodes, seed, max_parallel=100):
    import gymnasium as gym
    import numpy as np

    returns = []
    while len(returns) < episodes:
        n = min(max_parallel, episodes - len(returns))
        envs = gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * n)
        try:
            observations, _ = envs.reset(seed=[seed + len(returns) + i for i in range(n)])
            totals, running = np.zeros(n), np.ones(n, bool)
            while running.any():
                observations, rewards, terminated, truncated, _ = envs.step(act(observations))
                totals += rewards * running
                running &= ~(terminated | truncated)
        finally:
            envs.close()
        returns.extend(totals.tolist())
    return np.asarray(returns)
"""

# One run of SB3's or SBX's DQN (same API): train, evaluate in a callback, print one JSON line.
PEER_SCRIPT = (
    EVAL_SOURCE
    + r"""
import json, os, sys, time
import numpy as np

a = json.loads(sys.argv[1])
h = a["hp"]
if a["lib"] == "sbx":
    import jax, sbx
    from sbx import DQN
    versions = {"sbx": sbx.__version__, "jax": jax.__version__, "jax_backend": jax.default_backend()}
else:
    import stable_baselines3, torch
    from stable_baselines3 import DQN
    torch.set_num_threads(a["threads"])
    versions = {"stable_baselines3": stable_baselines3.__version__, "torch": torch.__version__,
                "torch_threads": torch.get_num_threads()}
from stable_baselines3.common.callbacks import BaseCallback


class EvalAndStop(BaseCallback):
    def __init__(self):
        super().__init__()
        self.evals, self.eval_wall, self.eval_cpu, self.solved_at = [], 0.0, 0.0, None

    def _on_step(self):
        if a["eval_every"] and self.num_timesteps % a["eval_every"] == 0:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            act = lambda obs: self.model.predict(obs, deterministic=True)[0]
            mean = float(np.mean(evaluate(a["env"], act, a["eval_episodes"], 10_000 + self.num_timesteps)))
            self.eval_wall += time.perf_counter() - wall0
            self.eval_cpu += time.process_time() - cpu0
            self.evals.append([self.num_timesteps, round(mean, 2)])
            print(f"{a['lib']} step {self.num_timesteps}: greedy return {mean:.1f}", flush=True)
            if self.solved_at is None and mean >= a["target"]:
                self.solved_at = self.num_timesteps
                if a["stop_at_solve"]:
                    return False
        return time.time() < a["deadline"]


model = DQN("MlpPolicy", a["env"], learning_rate=h["learning_rate"], batch_size=h["batch_size"],
            buffer_size=h["buffer_size"], learning_starts=h["learning_starts"], gamma=h["gamma"],
            target_update_interval=h["target_update_interval"], train_freq=h["train_freq"],
            gradient_steps=h["gradient_steps"], exploration_fraction=a["exploration_fraction"],
            exploration_final_eps=h["exploration_final_eps"], policy_kwargs=dict(net_arch=h["net_arch"]),
            seed=a["seed"], verbose=0, **({} if a["lib"] == "sbx" else {"device": "cpu"}))
callback = EvalAndStop()
wall0, cpu0 = time.perf_counter(), time.process_time()
model.learn(total_timesteps=a["timesteps"], callback=callback)
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
print(json.dumps({"steps": int(model.num_timesteps), "wall_seconds": wall, "cpu_seconds": cpu,
                  "eval_wall_seconds": callback.eval_wall, "eval_cpu_seconds": callback.eval_cpu,
                  "evals": callback.evals, "versions": versions}))
"""
)

# One run of kerasdl's DQN, in a fresh process like the peers'.
KERASDL_SCRIPT = r"""
import json, os, sys, time
import numpy as np

a = json.loads(sys.argv[1])
h = a["hp"]
import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(a["threads"])
tf.config.threading.set_inter_op_parallelism_threads(a["threads"])
import keras, kerasdl
from kerasdl.rl.dqn import DQN, DQNConfig

config = DQNConfig(
    total_timesteps=a["timesteps"], learning_rate=h["learning_rate"], buffer_size=h["buffer_size"],
    batch_size=h["batch_size"], learning_starts=h["learning_starts"], gamma=h["gamma"],
    train_frequency=h["train_freq"],
    gradient_steps=h["train_freq"] if h["gradient_steps"] == -1 else h["gradient_steps"],
    target_update_interval=h["target_update_interval"], exploration_fraction=a["exploration_fraction"],
    end_epsilon=h["exploration_final_eps"], hidden_units=tuple(h["net_arch"]), seed=a["seed"],
)
agent = DQN(a["env"], config)
wall0, cpu0 = time.perf_counter(), time.process_time()
result = agent.learn(a["env"], eval_every=a["eval_every"], eval_episodes=a["eval_episodes"],
                     target_return=a["target"] if a["stop_at_solve"] else None,
                     max_seconds=max(1.0, a["deadline"] - time.time()), progress=False)
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
steps, values = result.curves.get("eval_return", ([], []))
print(json.dumps({"steps": result.steps, "wall_seconds": wall, "cpu_seconds": cpu,
                  "eval_wall_seconds": result.eval_seconds, "eval_cpu_seconds": result.eval_cpu_seconds,
                  "evals": [[int(s), round(float(v), 2)] for s, v in zip(steps, values)],
                  "versions": {"kerasdl": getattr(kerasdl, "__version__", None), "tensorflow": tf.__version__,
                               "keras": keras.__version__, "jit_compile": agent.jit_compile,
                               "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                               "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads()},
                  "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.__dict__.items()}}))
"""


def remaining(args) -> float:
    """Seconds left of this part's cap, counted from the part's start (imports included)."""
    return max(1.0, args.max_seconds - (time.perf_counter() - args.part_start))


def run_once(lib: str, env_id: str, seed: int, args) -> dict:
    """One training run of ``lib`` in a fresh process; its timings, evaluations and derived speeds."""
    import gymnasium as gym

    z = ZOO[env_id]
    timesteps = args.timesteps or z["n_timesteps"]
    python = {"kerasdl": sys.executable, "sb3": args.sb3_python, "sbx": args.sbx_python}[lib]
    if not Path(python).exists():
        return {"lib": lib, "seed": seed, "skipped": f"{python} not found: create a venv with the peer library"}
    payload = {
        "lib": lib,
        "env": env_id,
        "hp": z,
        "seed": seed,
        "timesteps": timesteps,
        # the zoo's ε decay length in steps, whatever the step budget
        "exploration_fraction": min(1.0, z["exploration_fraction"] * z["n_timesteps"] / timesteps),
        "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
        "target": float(gym.spec(env_id).reward_threshold),
        "stop_at_solve": args.stop_at_solve,
        "deadline": time.time() + args.max_seconds,
        "threads": args.threads,
    }
    # The same thread budget for every library: TF's intra/inter-op pools (set in the script),
    # torch.set_num_threads, XLA's CPU client (XLA_FLAGS) and OpenMP.
    threads = str(args.threads)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    if lib == "sbx" and args.threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    script = KERASDL_SCRIPT if lib == "kerasdl" else PEER_SCRIPT
    load_before = load_average()
    started = time.perf_counter()
    proc = subprocess.run(
        [python, "-c", script, json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=args.max_seconds + 300,
        env=env,
    )
    process_seconds = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-3000:], sep="\n")
        return {"lib": lib, "seed": seed, "error": proc.stderr[-2000:]}
    raw = json.loads(proc.stdout.strip().splitlines()[-1])
    wall = raw["wall_seconds"] - raw["eval_wall_seconds"]
    cpu = raw["cpu_seconds"] - raw["eval_cpu_seconds"]
    evals = raw["evals"]
    solved = next((s for s, v in evals if v >= payload["target"]), None)
    run = {
        "lib": lib,
        "seed": seed,
        "steps": raw["steps"],
        "steps_per_wall_second": round(raw["steps"] / wall, 1),
        "steps_per_cpu_second": round(raw["steps"] / cpu, 1),
        "ms_per_step": round(1e3 * wall / raw["steps"], 4),
        "wall_seconds_without_eval": round(wall, 2),
        "cpu_seconds_without_eval": round(cpu, 2),
        "wall_seconds": round(raw["wall_seconds"], 2),
        "cpu_seconds": round(raw["cpu_seconds"], 2),
        "eval_wall_seconds": round(raw["eval_wall_seconds"], 2),
        "eval_cpu_seconds": round(raw["eval_cpu_seconds"], 2),
        "solved_at_step": solved,
        "final_eval": evals[-1][1] if evals else None,
        "best_eval": max((v for _, v in evals), default=None),
        "evals": evals,
        "process_seconds": round(process_seconds, 1),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "versions": raw["versions"],
        "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if "config" in raw:
        run["kerasdl_config"] = raw["config"]
    return run


def summarize_runs(runs: list, libs: list) -> dict:
    """Per library: median/IQR of the speeds, steps to solve, final evaluation; per peer the
    per-seed speed ratios kerasdl / peer (``> 1``: kerasdl faster)."""
    from kerasdl.benchmarking import summarize

    ok = [r for r in runs if "steps" in r]
    summary = {}
    for lib in libs:
        mine = [r for r in ok if r["lib"] == lib]
        if not mine:
            continue
        solved = sorted(r["solved_at_step"] for r in mine if r["solved_at_step"] is not None)
        summary[lib] = {
            "runs": len(mine),
            "steps_per_wall_second": summarize(r["steps_per_wall_second"] for r in mine),
            "steps_per_cpu_second": summarize(r["steps_per_cpu_second"] for r in mine),
            "ms_per_step": summarize(r["ms_per_step"] for r in mine),
            "solved": f"{len(solved)}/{len(mine)}",
            "steps_to_solve": solved,
            "steps_to_solve_summary": summarize(solved) if solved else None,
            "final_eval": summarize(r["final_eval"] for r in mine if r["final_eval"] is not None)
            if any(r["final_eval"] is not None for r in mine)
            else None,
        }
    ours = {r["seed"]: r for r in ok if r["lib"] == "kerasdl"}
    ratios = {}
    for lib in libs:
        if lib == "kerasdl":
            continue
        pairs = [(ours[r["seed"]], r) for r in ok if r["lib"] == lib and r["seed"] in ours]
        if pairs:
            ratios[f"kerasdl_over_{lib}"] = {
                "seeds": [p["seed"] for _, p in pairs],
                "steps_per_wall_second": summarize(
                    k["steps_per_wall_second"] / p["steps_per_wall_second"] for k, p in pairs
                ),
                "steps_per_cpu_second": summarize(
                    k["steps_per_cpu_second"] / p["steps_per_cpu_second"] for k, p in pairs
                ),
            }
    return {"by_library": summary, "speed_ratios_per_seed": ratios}


def part_dqn(args, write=None) -> dict:
    """Every requested environment × seed × library, in rotated order; one JSON entry per environment,
    passed to ``write({env_id: entry})`` after every run (so a run cut short keeps what finished)."""
    import gymnasium as gym

    envs = args.envs.split(",")
    libs = args.libs.split(",")
    for name in envs:
        if name not in ZOO:
            raise SystemExit(f"unknown environment {name!r}; choose from {', '.join(ZOO)}")
    for lib in libs:
        if lib not in LIBS:
            raise SystemExit(f"unknown library {lib!r}; choose from {', '.join(LIBS)}")
    seeds = args.seeds if args.seeds else [args.seed]
    out = {}
    for env_id in envs:
        load_before = load_average()
        timesteps = args.timesteps or ZOO[env_id]["n_timesteps"]
        runs, all_seeds, commands = [], list(seeds), []
        if args.append:  # earlier runs of the same protocol count too (more seeds, later)
            previous = json.loads(args.out.read_text()).get("dqn", {}).get(env_id) if args.out.exists() else None
            same = previous and previous.get("timesteps") == timesteps
            same = same and {k: v for k, v in previous["protocol"].items() if k != "max_seconds_per_run"} == {
                "eval_every": args.eval_every,
                "eval_episodes": args.eval_episodes,
                "eval_vectorisation": previous["protocol"].get("eval_vectorisation"),
                "stop_at_solve": args.stop_at_solve,
                "order": previous["protocol"].get("order"),
                "speed": previous["protocol"].get("speed"),
                "threads_per_library": args.threads,
            }
            if not same:
                raise SystemExit(
                    f"--append: no earlier {env_id} entry with the same timesteps and protocol in {args.out}"
                )
            runs = [r for r in previous["runs"] if r["seed"] not in seeds]
            load_before = previous.get("load_average_before", load_before)
            all_seeds = sorted({r["seed"] for r in runs} | set(seeds))
            commands = list(previous.get("commands") or ([previous["command"]] if "command" in previous else []))
        out[env_id] = entry = {
            "zoo_hyperparameters": ZOO[env_id],
            "timesteps": timesteps,
            "exploration_fraction_used": min(
                1.0, ZOO[env_id]["exploration_fraction"] * ZOO[env_id]["n_timesteps"] / timesteps
            ),
            "target_return": float(gym.spec(env_id).reward_threshold),
            "seeds": all_seeds,
            "libraries_requested": libs,
            "protocol": {
                "eval_every": args.eval_every,
                "eval_episodes": args.eval_episodes,
                "eval_vectorisation": "one SyncVectorEnv of min(eval_episodes, 100) copies, batched greedy actions",
                "stop_at_solve": args.stop_at_solve,
                "order": "seed k runs the libraries rotated by k",
                "speed": "environment steps / (learn time minus evaluation time), wall and process CPU",
                "max_seconds_per_run": args.max_seconds,
                "threads_per_library": args.threads,
            },
            "load_average_before": load_before,
            "commands": commands,
            "runs": runs,
        }
        for seed in seeds:
            k = all_seeds.index(seed)
            order = libs[k % len(libs) :] + libs[: k % len(libs)]
            for lib in order:
                print(f"-- {env_id} seed {seed} {lib}", flush=True)
                run = run_once(lib, env_id, seed, args)
                keys = ("steps", "steps_per_wall_second", "steps_per_cpu_second", "solved_at_step", "final_eval")
                print(json.dumps({key: run.get(key) for key in ("lib", "seed", *keys, "error", "skipped")}), flush=True)
                runs.append(run)
                entry["load_average_after"] = load_average()
                entry["summary"] = summarize_runs(runs, libs)
                entry["complete"] = len(runs) == len(all_seeds) * len(libs)
                if write is not None:
                    write({env_id: entry})
        print(json.dumps(entry["summary"], indent=1), flush=True)
    return out


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


PARTS = {"dqn": part_dqn, "reinforce": part_reinforce, "nas": part_nas}


def write_results(out: Path, updates: dict, drop=()) -> None:
    """Merge ``updates`` into the JSON file (re-read just before writing: parts may run in
    parallel processes on the same file) and replace it atomically."""
    import tensorflow as tf

    from kerasdl.benchmarking import write_json

    results = json.loads(out.read_text()) if out.exists() else {}
    for key in drop:
        results.pop(key, None)
    for key, value in updates.items():
        if key == "dqn" and isinstance(results.get(key), dict):  # one entry per environment, kept across runs
            kept = {env_id: entry for env_id, entry in results[key].items() if env_id in ZOO}
            results[key] = {**kept, **value}
        else:
            results[key] = value
    results["machine"] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "load_average": load_average(),
        "note": "shared CPU machine",
    }
    write_json(out, results)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="dqn,reinforce,nas")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="dqn: one run per seed and library (steps to solve vary a lot from seed to seed: give >= 10 "
        "for a distribution); the JSON holds every run and a summary",
    )
    parser.add_argument("--envs", default="CartPole-v1,Acrobot-v1,MountainCar-v0", help="dqn: " + ", ".join(ZOO))
    parser.add_argument("--libs", default=",".join(LIBS), help="dqn: libraries side by side (kerasdl first)")
    parser.add_argument("--timesteps", type=int, default=None, help="dqn: steps per run (default: the zoo budget)")
    parser.add_argument("--stop-at-solve", action="store_true", help="dqn: end a run at its first solving evaluation")
    parser.add_argument(
        "--append", action="store_true", help="dqn: keep the earlier runs of the same protocol (add seeds later)"
    )
    parser.add_argument("--eval-every", type=int, default=5_000, help="dqn: env steps between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=20, help="dqn: episodes per evaluation")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="dqn: compute threads for every library alike (TF intra/inter-op, torch, XLA, OpenMP); on a shared "
        "2-core machine torch's 2-thread default stalls under load (500 Acrobot steps: 225 s wall vs 7.8 s with 1)",
    )
    parser.add_argument("--max-seconds", type=float, default=600, help="wall-time cap per part (dqn: per run)")
    parser.add_argument("--reinforce-episodes", type=int, default=3_000)
    parser.add_argument("--nas-trials", type=int, default=20)
    parser.add_argument("--nas-epochs", type=int, default=3)
    parser.add_argument("--sb3-python", default="/tmp/sb3venv/bin/python", help="a venv with stable-baselines3, torch")
    parser.add_argument("--sbx-python", default="/tmp/sbxvenv/bin/python", help="a venv with sbx-rl (JAX)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = "python benchmarks/rl.py " + " ".join(sys.argv[1:] if argv is None else argv)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "kerasdl"], capture_output=True, text=True)
    command += f"  # at commit {commit.stdout.strip() or 'unknown'}" + (" (kerasdl/ modified)" if dirty.stdout else "")

    for name in args.parts.split(","):
        if name not in PARTS:
            raise SystemExit(f"unknown part {name!r}; choose from {', '.join(PARTS)}")
    for name in args.parts.split(","):
        print(f"== {name}", flush=True)
        start = args.part_start = time.perf_counter() if name != args.parts.split(",")[0] else PROCESS_START
        if name == "dqn":

            def write(per_env):
                for entry in per_env.values():
                    if command not in entry["commands"]:
                        entry["commands"].append(command)
                # "sb3" held the old CartPole-only SB3 runs, now inside each environment's entry
                write_results(args.out, {"dqn": per_env}, drop=("sb3",))

            part_dqn(args, write)
            continue
        run = PARTS[name](args)
        run.update(
            {
                "seed": args.seed,
                "max_seconds_cap": args.max_seconds,
                "part_wall_seconds": round(time.perf_counter() - start, 1),
                "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": command,
            }
        )
        print(json.dumps({k: v for k, v in run.items() if k not in ("evals", "config")}), flush=True)
        write_results(args.out, {name: run})
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    from kerasdl.benchmarking import run_script

    sys.exit(run_script(main))
