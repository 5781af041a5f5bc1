"""benchmarks/ensembles.py's plumbing on a tiny stand-in for MNIST (random 28x28 images in a
data folder): ``--holdout`` scores on held-out training images and says so, ``--snapshots 0``
skips the snapshot run, and ``--members-dir`` makes a second run load the members the first
one trained (the way a 10-member run is split over two sessions), a published run is kept
(``--previous-as``, ``--record-as``), never overwritten, and Ctrl-C stops a run with exit 130,
keeping the members it saved. The accuracies here mean nothing; the
real figures come from the full protocol on real MNIST."""

import importlib.util
import json
import os
import sys
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


def test_holdout_members_dir_and_earlier_runs_kept(tiny_mnist, capsys):
    benchmark = _benchmark()
    members_dir, out = tiny_mnist / "members", tiny_mnist / "result.json"
    common = ["--epochs", "1", "--batch-size", "32", "--snapshots", "0", "--holdout", "60"]
    common += ["--members-dir", str(members_dir), "--out", str(out)]

    assert benchmark.main(["--seed", "1", "--members", "2", *common]) == 0
    first = json.loads(out.read_text())
    assert first["evaluated_on"].startswith("60 held-out training images") and first["test_images"] == 60
    assert first["train_images"] == 100 and not first["full_protocol"] and first["snapshot"] is None
    assert first["independent"]["seeds"] == [1, 2] and first["independent"]["seeds_loaded_not_trained"] == []
    assert first["target_met"] is False and first["measured_at"].endswith("UTC")
    assert sorted(p.name for p in members_dir.glob("*.keras")) == ["member_seed1.keras", "member_seed2.keras"]
    assert out.with_suffix(".png").is_file()

    # A published run is never overwritten by accident, nor an earlier entry: refused before training.
    for flags, message in (([], "holds a published run"), (["--previous-as", "independent"], "new entry name")):
        with pytest.raises(SystemExit) as refused:
            benchmark.main(["--members", "3", *flags, *common])
        assert refused.value.code == 2 and message in capsys.readouterr().err

    # Seeds 0..2: trains 0, loads 1 and 2 (a run split in two); the first run becomes an entry.
    assert benchmark.main(["--members", "3", "--previous-as", "first_try", *common]) == 0
    second = json.loads(out.read_text())
    assert second["independent"]["seeds"] == [0, 1, 2] and second["independent"]["seeds_loaded_not_trained"] == [1, 2]
    assert second["independent"]["member_test_accuracies"][1:] == first["independent"]["member_test_accuracies"]
    assert "loaded from" in capsys.readouterr().out
    kept = second["first_try"]
    assert kept["seeds"] == [1, 2] and "--seed 1 --members 2" in kept["what"] and "measured at" in kept["what"]

    # A replicate beside the published run: loads both members, trains nothing, top level unchanged.
    assert benchmark.main(["--seed", "1", "--members", "2", "--record-as", "replicate", *common]) == 0
    third = json.loads(out.read_text())
    assert third["independent"] == second["independent"] and third["first_try"] == kept
    assert third["replicate"]["seeds_loaded_not_trained"] == [1, 2]
    with pytest.raises(SystemExit):
        benchmark.main(["--seed", "1", "--members", "2", "--record-as", "replicate", *common])
    assert "already has an entry 'replicate'" in capsys.readouterr().err


def test_ctrl_c_stops_the_script_with_exit_130_and_keeps_the_saved_members(tiny_mnist, interrupt_when):
    members_dir, out = tiny_mnist / "members", tiny_mnist / "result.json"
    command = [sys.executable, str(REPO / "benchmarks" / "ensembles.py"), "--members", "50", "--epochs", "2"]
    command += ["--batch-size", "32", "--snapshots", "0", "--members-dir", str(members_dir), "--out", str(out)]
    returncode, _, err = interrupt_when(
        command, (members_dir / "member_seed0.json").is_file, "member saved", cwd=REPO, env=os.environ
    )
    assert returncode == 130, err
    assert "ensembles.py: interrupted" in err and "Traceback" not in err
    assert not out.exists() and not out.with_suffix(".png").exists()
    saved = sorted(members_dir.iterdir())
    assert saved and all(path.suffix in (".json", ".keras") for path in saved)  # no half-written temporary
    for record in members_dir.glob("*.json"):
        assert json.loads(record.read_text())["seed"] >= 0 and record.with_suffix(".keras").is_file()
