"""benchmarks/ensembles.py's plumbing on a tiny stand-in for MNIST (random 28x28 images in a
data folder): ``--holdout`` scores on held-out training images and says so, ``--snapshots 0``
skips the snapshot run, and ``--members-dir`` makes a second run load the members the first
one trained (the way a 10-member run is split over two sessions). The accuracies here mean
nothing; the real figures come from the full protocol on real MNIST."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _benchmark():
    spec = importlib.util.spec_from_file_location("ensembles_benchmark", REPO / "benchmarks" / "ensembles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    np.savez(
        folder / "mnist.npz",
        x_train=rng.integers(0, 256, (160, 28, 28), dtype="uint8"),
        y_train=rng.integers(0, 10, 160, dtype="uint8"),
        x_test=rng.integers(0, 256, (40, 28, 28), dtype="uint8"),
        y_test=rng.integers(0, 10, 40, dtype="uint8"),
    )
    monkeypatch.setenv("KERASDL_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_holdout_and_members_dir_split_a_run_in_two(tiny_mnist, capsys):
    benchmark = _benchmark()
    members_dir, out = tiny_mnist / "members", tiny_mnist / "result.json"
    common = ["--epochs", "1", "--batch-size", "32", "--snapshots", "0", "--holdout", "60"]
    common += ["--members-dir", str(members_dir), "--out", str(out)]

    assert benchmark.main(["--seed", "1", "--members", "2", *common]) == 0
    first = json.loads(out.read_text())
    assert first["evaluated_on"].startswith("60 held-out training images") and first["test_images"] == 60
    assert first["train_images"] == 100 and not first["full_protocol"] and first["snapshot"] is None
    assert first["independent"]["seeds"] == [1, 2] and first["independent"]["seeds_loaded_not_trained"] == []
    assert sorted(p.name for p in members_dir.glob("*.keras")) == ["member_seed1.keras", "member_seed2.keras"]
    assert out.with_suffix(".png").is_file()

    assert benchmark.main(["--members", "3", *common]) == 0  # seeds 0..2: trains 0, loads 1 and 2
    second = json.loads(out.read_text())["independent"]
    assert second["seeds"] == [0, 1, 2] and second["seeds_loaded_not_trained"] == [1, 2]
    assert second["member_test_accuracies"][1:] == first["independent"]["member_test_accuracies"]
    assert "loaded from" in capsys.readouterr().out

    with pytest.raises(ValueError, match="trained otherwise .*dropout|architecture"):
        benchmark.main(["--members", "2", "--dropout", "0.3", *common])
