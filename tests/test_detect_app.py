"""kerasdl.apps.detect: a tiny end-to-end run and its exit codes (the export itself: test_detection_export.py)."""

import json

import kerasdl  # noqa: F401
from kerasdl.apps import detect


def test_detect_app_runs_end_to_end(tmp_path, capsys):
    argv = [
        "--train-images",
        "24",
        "--test-images",
        "6",
        "--image-size",
        "32",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--sliding-window",
        "--sliding-epochs",
        "1",
        "--no-export",
        "--verbose",
        "0",
        "--runs-dir",
        str(tmp_path / "runs"),
    ]
    assert detect.main(argv) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("yolo", "sliding_window"):
        assert 0.0 <= summary[key]["map_50"] <= 1.0 and 0.0 <= summary[key]["coco_map_50_95"] <= 1.0
    assert summary["grid"] == [4, 4] and len(summary["anchors"]) == 3
    assert (run_dir / "detections.png").stat().st_size > 1000
    assert (run_dir / "training_curves.png").is_file()
    assert "mAP@0.5" in capsys.readouterr().out


def test_detect_app_bad_input_exit_codes(tmp_path):
    assert detect.main(["--data", "voc"]) == 2  # ValueError: needs --voc-dir
    assert detect.main(["--data", "voc", "--voc-dir", str(tmp_path / "none"), "--runs-dir", str(tmp_path)]) == 1
    assert detect.main(["--epochs", "0"]) == 2
