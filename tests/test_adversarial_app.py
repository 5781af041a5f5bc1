"""apps.adversarial end to end on the embedded digits (one SavedModel export)."""

import json
from pathlib import Path

import numpy as np
import pytest

from kerasdl import cli


@pytest.mark.learned
def test_app_trains_adversarially_attacks_and_exports(tmp_path, no_data_dir, capsys):
    runs, exports = tmp_path / "runs", tmp_path / "exports"
    code = cli.main(
        [
            "adversarial",
            "--epochs",
            "1",
            "--max-train",
            "300",
            "--max-test",
            "48",
            "--eps",
            "0,0.2",
            "--pgd-steps",
            "3",
            "--adversarial-training",
            "fgsm",
            "--train-eps",
            "0.1",
            "--examples",
            "4",
            "--export",
            str(exports),
            "--runs-dir",
            str(runs),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "MNIST not found" in out and "| attack | ε |" in out
    (run_dir,) = list(runs.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["dataset"] == "digits" and summary["adversarial_training"] == "fgsm"
    assert summary["epochs_run"] == 1
    rows = {(r["attack"], r["eps"]): r for r in summary["results"]}
    assert set(rows) == {("fgsm", 0.0), ("pgd-3", 0.0), ("fgsm", 0.2), ("pgd-3", 0.2)}
    clean = rows[("fgsm", 0.0)]["clean_accuracy"]
    assert rows[("fgsm", 0.0)]["robust_accuracy"] == clean and rows[("pgd-3", 0.0)]["success_rate"] == 0.0
    assert rows[("pgd-3", 0.2)]["robust_accuracy"] < clean
    assert json.loads((run_dir / "results.json").read_text()) == summary["results"]
    assert (run_dir / "results.md").read_text().startswith("| attack |")
    assert Path(summary["examples_png"]).stat().st_size > 0 and (run_dir / "training_curves.png").is_file()

    # the export takes uint8 images and predicts what the trained model predicts
    import tensorflow as tf

    from kerasdl.data import load_digits
    from kerasdl.export import load_keras

    (_, _), (x_test, _) = load_digits()
    raw = x_test[:16, ..., None]  # uint8 28x28, what a client has
    loaded = tf.saved_model.load(summary["export_path"])  # keep a reference while serving
    served = loaded.serve(tf.constant(raw)).numpy()
    model = load_keras(summary["model_path"])
    np.testing.assert_allclose(served, model.predict(raw.astype("float32") / 255, verbose=0), atol=1e-5)
    assert summary["export_max_abs_diff"] <= 1e-5


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--eps", "0,-0.1"], "eps must be >= 0.0"),
        (["--pgd-steps", "0"], "pgd_steps must be >= 1"),
        (["--alpha", "1.5"], "alpha must be <= 1.0"),
    ],
)
def test_bad_arguments_exit_2(argv, message, capsys, tmp_path):
    assert cli.main(["adversarial", *argv, "--runs-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_missing_model_file_exits_1(capsys, tmp_path):
    assert cli.main(["adversarial", "--model", str(tmp_path / "nope.keras"), "--runs-dir", str(tmp_path)]) == 1
    assert "no .keras file" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["adversarial", "--help"])
    assert info.value.code == 0
    assert "--adversarial-training" in capsys.readouterr().out
