"""apps.dqn, apps.reinforce, apps.nas: tiny end-to-end runs, exports reloaded and compared inside the apps."""

import json
from pathlib import Path

import numpy as np
import pytest


def _summary(runs_dir: Path) -> dict:
    (run,) = list(runs_dir.iterdir())
    return json.loads((run / "summary.json").read_text())


@pytest.mark.learned
def test_dqn_app_trains_plots_exports_and_resumes(tmp_path):
    from kerasdl.apps import dqn
    from kerasdl.export import load_saved_model

    argv = [
        "--env",
        "CartPole-v1",
        "--timesteps",
        "300",
        "--learning-starts",
        "100",
        "--train-frequency",
        "50",
        "--gradient-steps",
        "5",
        "--batch-size",
        "32",
        "--hidden-units",
        "16",
        "--eval-every",
        "300",
        "--eval-episodes",
        "3",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
        "--quiet",
    ]
    assert dqn.main(argv) == 0
    summary = _summary(tmp_path / "runs")
    assert summary["steps"] == 300 and summary["export_checked_observations"] == 64
    assert Path(summary["learning_curve"]).is_file() and summary["final_greedy_return_mean"] >= 8
    # the last (only) evaluation is the best; it is what was exported and both are reported
    assert summary["exported_policy"] == "best" and summary["best_eval_at"] == 300
    assert summary["best_greedy_return_mean"] == summary["final_greedy_return_mean"]
    assert summary["target_return"] == 475.0  # --target-return auto: CartPole-v1's reward_threshold
    policy = load_saved_model(summary["export_path"])
    actions = np.asarray(policy(np.zeros((2, 4), np.float32)))
    assert actions.shape == (2,) and set(actions.tolist()) <= {0, 1}
    # resume the same run to 400 steps, without exporting again
    assert dqn.main(argv[:3] + ["400"] + argv[4:] + ["--resume", summary["run_dir"], "--no-export"]) == 0
    assert _summary(tmp_path / "runs")["steps"] == 400


def test_dqn_app_checkpoints_as_often_as_asked(tmp_path):
    import tensorflow as tf

    from kerasdl.apps import dqn

    argv = [
        "--timesteps",
        "250",
        "--learning-starts",
        "100",
        "--train-frequency",
        "50",
        "--gradient-steps",
        "2",
        "--batch-size",
        "32",
        "--hidden-units",
        "8",
        "--eval-every",
        "0",
        "--checkpoint-every",
        "100",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--no-export",
        "--quiet",
    ]
    assert dqn.main(argv) == 0
    summary = _summary(tmp_path / "runs")
    state = tf.train.get_checkpoint_state(str(Path(summary["run_dir"]) / "checkpoints"))
    # every 100 steps and at the end (two kept); the default (10,000) would have written only the last
    assert [p.rsplit("-", 1)[1] for p in state.all_model_checkpoint_paths] == ["200", "250"]
    assert summary["export_path"] is None and summary["best_eval_return"] is None  # --no-export, no evaluation


def test_reinforce_app_trains_and_exports(tmp_path):
    from kerasdl.apps import reinforce

    argv = [
        "--episodes",
        "16",
        "--episodes-per-update",
        "8",
        "--hidden-units",
        "8",
        "--eval-every",
        "1",
        "--eval-episodes",
        "2",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
        "--quiet",
    ]
    assert reinforce.main(argv) == 0
    summary = _summary(tmp_path / "runs")
    assert summary["episodes"] == 16 and summary["export_checked_observations"] == 64
    assert Path(summary["learning_curve"]).is_file()
    assert summary["best_eval_at"] in (8, 16) and summary["exported_policy"] == "best"
    assert {"best_greedy_return_mean", "final_greedy_return_mean", "best_eval_return"} <= set(summary)


def test_nas_app_searches_retrains_and_exports(tmp_path):
    from kerasdl.apps import nas

    argv = [
        "--trials",
        "2",
        "--child-epochs",
        "1",
        "--layers",
        "1",
        "--final-epochs",
        "1",
        "--no-random",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--export",
        str(tmp_path / "sm"),
        "--quiet",
    ]
    assert nas.main(argv) == 0
    summary = _summary(tmp_path / "runs")
    assert set(summary["searches"]) == {"nas"} and summary["searches"]["nas"]["child_trainings"] == 2
    assert 0.0 < summary["test_accuracy"] <= 1.0 and summary["export_max_abs_diff"] <= 1e-5
    assert Path(summary["search_curve"]).is_file()


@pytest.mark.parametrize(
    "app, argv, message",
    [
        ("dqn", ["--env", "CartPole-v9"], "unknown environment id 'CartPole-v9'"),
        ("dqn", ["--env", "Pendulum-v1"], "discrete action space"),
        ("dqn", ["--gamma", "1.5"], "gamma must be <= 1.0"),
        ("dqn", ["--buffer-size", "16", "--batch-size", "32"], "buffer_size (16) must be >= batch_size (32)"),
        ("reinforce", ["--gamma", "-1"], "gamma must be >= 0.0"),
        ("dqn", ["--checkpoint-every", "0"], "checkpoint_every must be >= 1"),
        ("dqn", ["--eval-every", "-1"], "eval_every must be >= 0"),
        ("reinforce", ["--checkpoint-every", "-2"], "checkpoint_every must be >= 1"),
        ("reinforce", ["--eval-episodes", "0"], "eval_episodes must be >= 1"),
        ("nas", ["--trials", "0"], "trials must be >= 1"),
    ],
)
def test_bad_input_exits_with_status_2(app, argv, message, tmp_path, capsys):
    import importlib

    module = importlib.import_module(f"kerasdl.apps.{app}")
    assert module.main(argv + ["--runs-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before a run folder was made


def test_target_return_flag_takes_a_number_auto_or_none(capsys):
    import argparse

    from kerasdl.apps import dqn

    assert dqn.target_return_flag("AUTO") == "auto" and dqn.target_return_flag("none") == "none"
    assert dqn.target_return_flag("195") == 195.0
    args = argparse.Namespace(
        env="CartPole-v1", eval_every=1000, eval_episodes=20, checkpoint_every=10_000, target_return="auto"
    )
    assert dqn.check_rl_flags(args) == 475.0
    args.target_return = "none"
    assert dqn.check_rl_flags(args) is None
    with pytest.raises(SystemExit) as exit_info:
        dqn.main(["--target-return", "high"])
    assert exit_info.value.code == 2
    assert "expected a number, 'auto' or 'none', got 'high'" in capsys.readouterr().err


def test_help_is_instant_and_lists_the_flags(capsys):
    from kerasdl.apps import dqn, nas, reinforce

    for module, flag in (
        (dqn, "--double-dqn"),
        (dqn, "--checkpoint-every"),
        (reinforce, "--checkpoint-every"),
        (reinforce, "--entropy-coef"),
        (nas, "--controller-lr"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            module.main(["--help"])
        assert exit_info.value.code == 0 and flag in capsys.readouterr().out
