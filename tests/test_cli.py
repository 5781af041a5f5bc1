import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kerasdl import cli

REPO = Path(__file__).resolve().parents[1]


def run_cli(*argv):
    return cli.main(list(argv))


def test_console_script_and_module_entry_points():
    """``kerasdl``, ``python -m kerasdl.apps.NAME`` and the repository shim ``python -m apps.NAME``;
    each app names itself the way it was started (the resume command repeats it)."""
    commands = {
        "usage: kerasdl": ["kerasdl", "--help"],
        "usage: python -m kerasdl.apps.demo": [sys.executable, "-m", "kerasdl.apps.demo", "--help"],
        "usage: python -m apps.demo": [sys.executable, "-m", "apps.demo", "--help"],
    }
    for usage, command in commands.items():
        if command[0] == "kerasdl":
            command[0] = str(Path(sys.executable).with_name("kerasdl"))
        out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(usage), out.stdout
        assert "RuntimeWarning" not in out.stderr, out.stderr  # runpy: module imported before it ran


def test_every_app_has_a_repository_shim():
    """``apps/NAME.py`` exists for every app in :mod:`kerasdl.apps` and runs that app's ``main``."""
    import importlib

    from kerasdl.apps import APPS

    shims = {path.stem for path in (REPO / "apps").glob("*.py")} - {"__init__"}
    assert shims == set(APPS)
    for name, module_name in APPS.items():
        assert importlib.import_module(f"apps.{name}").main is importlib.import_module(module_name).main


def test_list_shows_builders_datasets_and_apps(capsys):
    assert run_cli("list") == 0
    out = capsys.readouterr().out
    for name in ("mnist_cnn", "lenet5", "vgg16", "alexnet", "mlp", "digits", "mnist", "demo", "train"):
        assert name in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "resnet9000", "--dataset", "digits"], "unknown builder 'resnet9000'"),
        (["train", "vgg16", "--dataset", "digits", "--epochs", "1"], "32"),
        (["train", "mnist_cnn", "--dataset", "digits", "--epochs", "0"], "epochs must be >= 1"),
        (["train", "mnist_cnn", "--dataset", "digits", "--optimizer", "adamant"], "optimizer must be one of"),
        (
            ["train", "mnist_cnn", "--dataset", "digits", "--depth", "20"],
            "has no option --depth; its options: --dropout",
        ),
        (["train", "mlp", "--dataset", "digits", "--dropout", "1.5"], "dropout"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(argv, message, capsys, no_data_dir):
    assert run_cli(*argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "mnist_cnn", "--dataset", "imagenet"],
        ["demo", "--bogus"],
        ["nosuch"],
        ["train", "mlp", "--dataset", "digits", "--dropout"],
    ],
)
def test_argparse_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(*argv)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_builder_options_parse_as_literals():
    assert cli.parse_builder_options(
        ["--depth", "20", "--alpha=0.5", "--hidden-units", "(64, 32)", "--cell", "gru"]
    ) == {"depth": 20, "alpha": 0.5, "hidden_units": (64, 32), "cell": "gru"}
    with pytest.raises(cli.UsageError, match="needs a value"):
        cli.parse_builder_options(["--depth"])


def test_image_size_resizes_inside_the_exported_model(tmp_path, no_data_dir):
    code = run_cli(
        "train",
        "lenet5",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--image-size",
        "32",
        "--export",
        str(tmp_path / "exp"),
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert code == 0
    [run_dir] = list((tmp_path / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["parameters"] == 61_706  # LeNet-5 at its classic 32x32 input
    from kerasdl.export import load_saved_model

    served = load_saved_model(summary["export_path"])(np.zeros((2, 28, 28, 1), "uint8"))  # native size in
    assert tuple(served.shape) == (2, 10)


def test_missing_dataset_exits_1(capsys, no_data_dir):
    assert run_cli("train", "mnist_cnn", "--dataset", "mnist", "--epochs", "1") == 1
    assert "mnist.npz" in capsys.readouterr().err


@pytest.mark.learned
def test_demo_trains_exports_and_verifies_reload(tmp_path, capsys, no_data_dir):
    code = run_cli("demo", "--epochs", "3", "--export", str(tmp_path / "exports"), "--runs-dir", str(tmp_path / "runs"))
    assert code == 0
    out = capsys.readouterr().out
    assert "training on digits" in out and "MNIST not found" in out
    [export] = list((tmp_path / "exports").iterdir())
    assert (export / "saved_model.pb").is_file()
    [run_dir] = list((tmp_path / "runs").iterdir())
    assert run_dir.name == export.name  # the run id ties curves and export together
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["dataset"] == "digits" and summary["parameters"] == 3_274_634
    assert summary["test_accuracy"] > 0.85
    assert summary["export_max_abs_diff"] <= 1e-5
    png = (run_dir / "training_curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "test accuracy" in out and str(export) in out

    # the export serves raw uint8 images and needs nothing from kerasdl
    from kerasdl.data import load_digits
    from kerasdl.export import load_saved_model

    _, (x_test, y_test) = load_digits()
    probs = np.asarray(load_saved_model(export)(x_test[..., None]))
    assert probs.shape == (len(x_test), 10)
    assert np.mean(probs.argmax(1) == y_test) == pytest.approx(summary["test_accuracy"], abs=0.02)


@pytest.mark.learned
def test_train_and_export_command_round_trip(tmp_path, capsys, no_data_dir):
    code = run_cli(
        "train",
        "mlp",
        "--dataset",
        "digits",
        "--epochs",
        "4",
        "--hidden-units",
        "(64,)",
        "--learning-rate",
        "0.01",
        "--export",
        str(tmp_path / "sm"),
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert code == 0
    [run_dir] = list((tmp_path / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["builder"] == "mlp" and summary["test_accuracy"] > 0.8
    assert summary["parameters"] == 28 * 28 * 64 + 64 + 64 * 10 + 10  # --hidden-units reached the builder

    # `kerasdl export` turns the best checkpoint into a SavedModel that takes uint8 images
    out_dir = tmp_path / "from_keras"
    assert run_cli("export", str(run_dir / "best.keras"), str(out_dir), "--uint8-images") == 0
    assert (out_dir / "saved_model.pb").is_file()
    assert run_cli("export", str(run_dir / "best.keras"), str(out_dir)) == 1  # exists, no --overwrite
    assert "overwrite" in capsys.readouterr().err


@pytest.mark.learned
def test_train_with_mixed_precision_and_a_named_strategy(tmp_path, capsys, no_data_dir):
    import keras

    code = run_cli(
        "train",
        "mlp",
        "--dataset",
        "digits",
        "--epochs",
        "3",
        "--hidden-units",
        "(64,)",
        "--learning-rate",
        "0.01",
        "--mixed-precision",
        "--strategy",
        "default",
        "--export",
        str(tmp_path / "sm"),
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert code == 0
    assert "Mixed precision: mixed_bfloat16" in capsys.readouterr().out
    summary = json.loads(next((tmp_path / "runs").glob("*/summary.json")).read_text())
    assert summary["test_accuracy"] > 0.7
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the command


# One builder per family (the deeper variants share the code path and are slow to build).
_BUILD_ON_DIGITS = [
    name
    for name in __import__("kerasdl.models", fromlist=["BUILDERS"]).BUILDERS
    if name not in {"resnet101", "resnet152", "resnet101_v2", "resnet152_v2"}
    and not (name.startswith("efficientnet_b") and name != "efficientnet_b0")
]


@pytest.mark.parametrize("name", _BUILD_ON_DIGITS)
def test_every_builder_fits_digits_or_says_how(name):
    """What `kerasdl train NAME --dataset digits` builds: the 28x28x1 digits with 10 classes,
    or (for networks that need larger inputs) a clear input_shape error and --image-size."""
    import keras

    from kerasdl.models import BUILDERS

    builder = BUILDERS[name]
    num_classes = 2 if name == "logistic_regression" else 10
    try:
        model = builder(input_shape=(28, 28, 1), num_classes=num_classes)
    except ValueError as error:
        assert "input_shape" in str(error)
        model = builder(input_shape=(72, 72, 1), num_classes=num_classes)
    assert model.output_shape[-1] == (1 if name == "logistic_regression" else 10)
    keras.backend.clear_session()


@pytest.mark.learned
@pytest.mark.slow  # about a minute on 2 idle cores; run with pytest -m slow
def test_train_resnet_cifar_with_builder_flags(tmp_path, no_data_dir):
    code = run_cli(
        "train",
        "resnet_cifar",
        "--depth",
        "20",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--export",
        str(tmp_path / "exp"),
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert code == 0
    [run_dir] = list((tmp_path / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["builder"] == "resnet_cifar" and summary["parameters"] == 274_042  # depth 20 reached it
    losses = [float(line.split(",")[2]) for line in (run_dir / "history.csv").read_text().splitlines()[1:]]
    assert len(losses) == 2 and losses[1] < losses[0]
