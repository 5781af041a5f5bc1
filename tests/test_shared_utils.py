"""Shared helpers the apps use: plots, classification summary, atomic folders, app discovery."""

import numpy as np
import pytest

from kerasdl.evaluation import classification_summary
from kerasdl.export import EXPORT_TOLERANCE, atomic_directory, atomic_file, check_export_agrees
from kerasdl.plots import plot_confusion_matrix, plot_curves, plot_image_grid


def test_classification_summary_binary_uses_positive_class(tmp_path):
    summary = classification_summary(
        [0, 1, 1, 0, 1], [0, 1, 0, 0, 1], class_names=["neg", "pos"], confusion_png=tmp_path / "cm.png"
    )
    assert summary["accuracy"] == pytest.approx(0.8)
    assert summary["precision"] == pytest.approx(1.0)
    assert summary["recall"] == pytest.approx(2 / 3)
    assert summary["f1"] == pytest.approx(0.8)
    assert summary["confusion_matrix"] == [[2, 0], [1, 2]]
    assert (tmp_path / "cm.png").stat().st_size > 0


def test_classification_summary_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="equally long"):
        classification_summary([0, 1], [0])


def test_plots_write_pngs_and_validate(tmp_path):
    assert plot_image_grid(np.random.rand(5, 8, 8, 1), tmp_path / "g.png", titles=list("abcde"), ncols=3).exists()
    assert plot_image_grid(np.random.randint(0, 255, (2, 8, 8, 3)), tmp_path / "rgb.png").exists()
    assert plot_confusion_matrix([[3, 1], [0, 4]], tmp_path / "cm.png", class_names=["a", "b"]).exists()
    assert plot_curves({"loss": [3, 2, 1]}, tmp_path / "c.png", hline=1.5).exists()
    with pytest.raises(ValueError, match="titles"):
        plot_image_grid(np.zeros((2, 4, 4)), tmp_path / "x.png", titles=["one"])
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix([[1, 2, 3]], tmp_path / "x.png")


def test_a_plot_killed_while_written_leaves_the_previous_picture(tmp_path, monkeypatch):
    import matplotlib.figure

    from kerasdl.plots import plot_history

    path = plot_curves({"loss": [3, 2, 1]}, tmp_path / "curves.png")
    before = path.read_bytes()
    assert before.startswith(b"\x89PNG")
    savefig = matplotlib.figure.Figure.savefig

    def killed_halfway(self, fname, *args, **kwargs):
        savefig(self, fname, *args, **kwargs)
        with open(fname, "r+b") as handle:
            handle.truncate(100)
        raise KeyboardInterrupt("killed while saving the figure")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        plot_curves({"loss": [5, 4]}, path)
    with pytest.raises(KeyboardInterrupt):
        plot_history({"loss": [1.0, 0.5]}, tmp_path / "history.png")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]  # no temporary file, no half picture
    monkeypatch.undo()
    # A suffix names the format; none gives a PNG.
    assert plot_curves({"loss": [1, 0]}, tmp_path / "curves.svg").read_text().lstrip().startswith("<?xml")
    assert plot_curves({"loss": [1, 0]}, tmp_path / "curves").read_bytes().startswith(b"\x89PNG")


def test_atomic_directory_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "export"
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "half.txt").write_text("partial")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_directory(target) as tmp:
        (tmp / "done.txt").write_text("complete")
    assert (target / "done.txt").read_text() == "complete"
    with pytest.raises(FileExistsError):
        with atomic_directory(target):
            pass


def test_atomic_file_keeps_the_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "sub" / "table.npz"
    with atomic_file(target, suffix=".npz") as tmp:
        np.savez(tmp, a=np.arange(3))  # np.savez appends .npz unless the name has it
    np.testing.assert_array_equal(np.load(target)["a"], np.arange(3))
    with pytest.raises(RuntimeError):
        with atomic_file(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    np.testing.assert_array_equal(np.load(target)["a"], np.arange(3))
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.npz"]


def test_apps_are_discovered_and_helpers_skipped():
    from kerasdl.apps import APPS

    assert {"demo", "train"} <= set(APPS)
    assert not any(name.startswith("_") for name in APPS)


def test_strategy_names():
    import tensorflow as tf

    from kerasdl.apps._common import STRATEGY_CHOICES
    from kerasdl.training import strategy
    from kerasdl.training.runtime import STRATEGIES

    assert STRATEGY_CHOICES == STRATEGIES

    assert isinstance(strategy("default"), tf.distribute.Strategy)
    with pytest.raises(ValueError, match="strategy"):
        strategy("tpu-pod")


def test_check_export_agrees_returns_the_difference_and_rejects_drift():
    expected = np.array([[0.25, 0.75], [0.5, 0.5]])
    assert check_export_agrees(expected + 1e-7, expected) == pytest.approx(1e-7)
    with pytest.raises(RuntimeError, match="max \\|diff\\| = 0.001"):
        check_export_agrees(expected + 1e-3, expected)
    assert check_export_agrees(expected + 1e-3, expected, tolerance=2e-3) == pytest.approx(1e-3)
    with pytest.raises(RuntimeError, match="shape"):
        check_export_agrees(expected[:1], expected)
    assert EXPORT_TOLERANCE == 1e-5


def test_check_export_agrees_compares_structures_labels_and_nan():
    expected = {"boxes": np.zeros((2, 4)), "classes": np.array([3, 1])}
    assert check_export_agrees({"boxes": np.full((2, 4), 1e-4), "classes": [3, 1]}, expected, tolerance=1e-3) == (
        pytest.approx(1e-4)
    )
    with pytest.raises(RuntimeError, match=r"image 0\['classes'\]"):  # a label off by one is a disagreement
        check_export_agrees({"boxes": np.zeros((2, 4)), "classes": [3, 2]}, expected, tolerance=1e-3, what="image 0")
    with pytest.raises(RuntimeError, match="scores"):
        check_export_agrees({"boxes": np.zeros((2, 4)), "scores": [1, 1]}, expected)
    assert check_export_agrees([np.ones(3), np.zeros(2)], (np.ones(3), np.zeros(2)), tolerance=0) == 0.0
    with pytest.raises(RuntimeError, match="number"):
        check_export_agrees([np.ones(3)], (np.ones(3), np.zeros(2)))
    with pytest.raises(RuntimeError, match="actions"):
        check_export_agrees(np.array([0, 1, 1]), np.array([0, 1, 0]), tolerance=0, what="actions")
    with pytest.raises(RuntimeError, match="nan"):
        check_export_agrees(np.array([np.nan]), np.array([0.0]))
