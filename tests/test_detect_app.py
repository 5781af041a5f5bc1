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


def _write_voc(root, data):
    """A Pascal VOC folder (PNG images, 1-based XML boxes) holding ``data``."""
    from PIL import Image

    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    for i, (image, boxes, labels) in enumerate(zip(data.images, data.boxes, data.labels)):
        Image.fromarray(image).save(root / "JPEGImages" / f"{i}.png")
        objects = "".join(
            f"<object><name>{data.class_names[k]}</name><difficult>0</difficult><bndbox><xmin>{b[0] + 1:.0f}</xmin>"
            f"<ymin>{b[1] + 1:.0f}</ymin><xmax>{b[2]:.0f}</xmax><ymax>{b[3]:.0f}</ymax></bndbox></object>"
            for b, k in zip(boxes, labels)
        )
        size = f"<size><width>{image.shape[1]}</width><height>{image.shape[0]}</height></size>"
        (root / "Annotations" / f"{i}.xml").write_text(
            f"<annotation><filename>{i}.png</filename>{size}{objects}</annotation>"
        )


def test_detect_app_two_stage_on_a_voc_folder_with_export(tmp_path, capsys):
    from kerasdl.detection.data import synthetic_digit_detection

    _write_voc(tmp_path / "voc", synthetic_digit_detection(10, image_size=32, digit_size=(8, 14), seed=3))
    argv = ["--model", "two-stage", "--data", "voc", "--voc-dir", str(tmp_path / "voc"), "--image-size", "32"]
    argv += ["--epochs", "1", "--batch-size", "4", "--verbose", "0", "--runs-dir", str(tmp_path / "runs")]
    assert detect.main([*argv, "--export-dir", str(tmp_path / "export")]) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["model"] == "two-stage" and "yolo" not in summary
    assert summary["train_images"] == 8 and summary["test_images"] == 2 and summary["feature_map"] == [8, 8]
    assert 0.0 <= summary["two_stage"]["map_50"] <= 1.0
    assert summary["export_max_abs_diff"] < 1e-3  # the uint8 export, reloaded and compared
    assert (tmp_path / "export" / run_dir.name / "saved_model.pb").is_file()
    assert "two-stage: mAP@0.5" in capsys.readouterr().out
    assert detect.main(["--model", "two-stage", "--grid-size", "4"]) == 2  # a YOLO-only flag
