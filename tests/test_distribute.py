"""Scale-out: custom train_step models under MirroredStrategy and MultiWorkerMirroredStrategy.

Each configuration runs in its own process (logical devices and cluster membership are fixed
when TensorFlow starts), bounded by a timeout, on loopback ports only.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("distributed_worker.py")
REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 240


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _run(mode, out, **env):
    return subprocess.Popen(
        [sys.executable, str(WORKER), mode, str(out)],
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process, name):
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"{name} did not finish within {TIMEOUT_S} s")
    assert process.returncode == 0, f"{name} failed:\n{output[-3000:]}"


def _weights(path):
    data = np.load(path)
    return [data[k] for k in sorted((k for k in data.files if k.startswith("w")), key=lambda k: int(k[1:]))], data


def test_mirrored_two_cpu_replicas_match_one_device(tmp_path):
    single, mirrored = _run("single", tmp_path / "single.npz"), _run("mirrored", tmp_path / "mirrored.npz")
    _finish(single, "single-device run")
    _finish(mirrored, "mirrored run")
    (w_single, d_single), (w_mirrored, d_mirrored) = (
        _weights(tmp_path / "single.npz"),
        _weights(tmp_path / "mirrored.npz"),
    )
    assert int(d_mirrored["replicas"]) == 2 and int(d_single["replicas"]) == 1
    assert not np.allclose(w_single[0], 0)
    for a, b in zip(w_single, w_mirrored):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(d_single["loss"], d_mirrored["loss"], rtol=1e-4)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_multi_worker_processes_end_with_identical_weights(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    workers = [
        _run(
            "multiworker",
            tmp_path / f"worker{i}.npz",
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
        )
        for i in range(2)
    ]
    for i, process in enumerate(workers):
        _finish(process, f"worker {i}")
    (w0, d0), (w1, _) = _weights(tmp_path / "worker0.npz"), _weights(tmp_path / "worker1.npz")
    assert int(d0["replicas"]) == 2
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(d0["loss"]).all()
