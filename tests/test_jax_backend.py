"""kerasdl's backend contract (kerasdl/__init__.py): TensorFlow by default, and the
backend-neutral core (builders, layers, losses) on Keras' JAX backend.

The JAX half runs in one subprocess with ``KERAS_BACKEND=jax`` (Keras fixes its backend at
import, and this test process runs on TensorFlow): it builds several builders, runs a forward
pass and a few losses, and reports shapes, parameter counts and loss values, which must equal
what the same calls give here under TensorFlow.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before keras is imported)

REPO = Path(__file__).resolve().parents[1]

# (label, builder in kerasdl.models, keyword arguments): small inputs, so the run stays fast.
BUILDS = [
    ("mnist_cnn", "mnist_cnn", {}),
    ("lenet5", "lenet5", {}),
    ("mlp", "mlp", {"input_shape": [28, 28, 1], "num_classes": 10}),
    ("resnet_cifar", "resnet_cifar", {"depth": 20}),
    ("unet", "unet", {"input_shape": [32, 32, 1], "depth": 2, "base_filters": 4}),
    ("dcgan", "dcgan", {"filters": 8}),
    ("rnn_classifier", "rnn_classifier", {"vocab_size": 50, "embedding_dim": 8, "units": 4}),
    ("vae_encoder", "vae_encoder", {"seed": 0}),
    ("vae_decoder", "vae_decoder", {}),
]
# Building these takes about a minute on Keras' JAX backend on a CPU (each new weight shape
# compiles its initializer), so they run with the slow tests (pytest -m slow).
SLOW_BUILDS = [
    ("mobilenet_v2", "mobilenet_v2", {"alpha": 0.35, "input_shape": [32, 32, 3], "num_classes": 10}),
    ("efficientnet_b0", "efficientnet_b0", {"input_shape": [32, 32, 3], "num_classes": 10}),
]

# Runs under either backend; prints one JSON line: the backend, per build the parameter
# count and output shapes of every model, and the values of a few losses.
PROBE = r'''
import json, sys
import numpy as np
import keras
import kerasdl
from kerasdl import losses, models

builds = json.loads(sys.argv[1])


def forward(model):
    feed = []
    for spec in model.inputs:
        shape = [2] + [7 if d is None else d for d in spec.shape[1:]]
        if "int" in str(spec.dtype):
            feed.append(np.arange(int(np.prod(shape))).reshape(shape) % 40 + 1)
        else:
            feed.append(np.random.default_rng(0).normal(size=shape).astype("float32"))
    outputs = model(feed if len(feed) > 1 else feed[0], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [list(np.asarray(o).shape) for o in outputs]


report = {"backend": keras.backend.backend(), "builds": {}}
for label, name, kwargs in builds:
    built = getattr(models, name)(**kwargs)
    built = built if isinstance(built, (list, tuple)) else [built]
    report["builds"][label] = [{"parameters": m.count_params(), "shapes": forward(m)} for m in built]

rng = np.random.default_rng(1)
embeddings = rng.normal(size=(8, 4)).astype("float32")
labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
grid = np.zeros((2, 3, 3, 2, 7), "float32")
grid[0, 1, 1, 0, [0, 5]] = 1.0
report["losses"] = {
    "semi_hard_triplet": float(losses.TripletLoss(mining="semi_hard")(labels, embeddings)),
    "batch_all_triplet": float(losses.TripletLoss(mining="batch_all")(labels, embeddings)),
    "yolo": float(losses.YoloLoss()(grid, rng.normal(size=grid.shape).astype("float32"))),
    "dirichlet": float(losses.DirichletEvidentialLoss()(np.array([0, 2]), rng.uniform(1, 3, (2, 3)).astype("float32"))),
    "style": float(losses.style_loss([rng.random((1, 4, 4, 3))], [rng.random((1, 4, 4, 3))])),
    "total_variation": float(losses.total_variation_loss(rng.random((2, 5, 6, 3)))),
    "discriminator": float(np.mean(losses.discriminator_loss(rng.normal(size=4), rng.normal(size=4), 0.1))),
}
if report["backend"] != "tensorflow":
    from kerasdl._backend import TensorFlowBackendRequired
    from kerasdl.layers import HubLayer
    try:
        HubLayer("/nonexistent/saved_model")
    except TensorFlowBackendRequired as error:
        report["hub_error"] = str(error)
    from kerasdl.layers import RandomElasticDistortion
    try:
        RandomElasticDistortion(34.0)
    except TensorFlowBackendRequired as error:
        report["elastic_error"] = str(error)
report["tensorflow_imported"] = "tensorflow" in sys.modules
print(json.dumps(report))
'''


def _start_probe(env_backend: str, builds) -> subprocess.Popen:
    """The probe in a fresh interpreter on ``env_backend``; read it with :func:`_probe_report`."""
    env = {**os.environ, "KERAS_BACKEND": env_backend, "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen(
        [sys.executable, "-c", PROBE, json.dumps(builds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def _probe_report(process: subprocess.Popen) -> dict:
    try:
        stdout, stderr = process.communicate(timeout=600)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1])


def _in_this_process(builds) -> dict:
    """The probe's figures under TensorFlow, computed here (this process runs on TensorFlow)."""
    import keras

    assert keras.backend.backend() == "tensorflow"
    namespace = {"__name__": "probe"}
    argv = sys.argv
    try:
        sys.argv = ["probe", json.dumps(builds)]
        from contextlib import redirect_stdout
        from io import StringIO

        out = StringIO()
        with redirect_stdout(out):
            exec(PROBE, namespace)  # noqa: S102  (the same code the JAX subprocess runs)
    finally:
        sys.argv = argv
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _compare(builds, jax_probe=None) -> tuple[dict, dict]:
    """Run the probe under JAX (subprocess; ``jax_probe`` if already started) and TensorFlow
    (here); check what both must agree on."""
    pytest.importorskip("jax")
    if jax_probe is None:
        jax_probe = _start_probe("jax", builds)  # runs while this process computes the TensorFlow figures
    tf_report = _in_this_process(builds)
    jax_report = _probe_report(jax_probe)
    assert jax_report["backend"] == "jax"
    assert tf_report["backend"] == "tensorflow"
    # Nothing on the builder / layer / loss path imports TensorFlow under JAX.
    assert jax_report["tensorflow_imported"] is False
    assert set(jax_report["builds"]) == {label for label, _, _ in builds}
    for label, _, _ in builds:
        assert jax_report["builds"][label] == tf_report["builds"][label], label
    return jax_report, tf_report


def start_jax_probe() -> subprocess.Popen:
    """The JAX half of the test below, started early (compiling each weight shape's initializer
    on JAX takes most of a minute): see ``early_start`` in tests/conftest.py."""
    return _start_probe("jax", BUILDS)


@pytest.mark.early_start("start_jax_probe")
def test_builders_and_losses_run_on_jax_with_tensorflow_figures(early_process):
    jax_report, tf_report = _compare(BUILDS, early_process)
    # The figures are real builds, not empty ones.
    assert jax_report["builds"]["resnet_cifar"][0] == {"parameters": 274_042, "shapes": [[2, 10]]}
    assert jax_report["builds"]["dcgan"][0]["shapes"] == [[2, 28, 28, 1]]
    assert [s for s in jax_report["builds"]["vae_encoder"][0]["shapes"]] == [[2, 2]] * 3
    for name, value in tf_report["losses"].items():
        assert value > 0, name
        assert jax_report["losses"][name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    # TensorFlow-only parts say so at once.
    assert "needs Keras' TensorFlow backend; KERAS_BACKEND is 'jax'" in jax_report["hub_error"]
    assert jax_report["elastic_error"].startswith("RandomElasticDistortion (a tf.data augmentation) needs Keras' Tens")


@pytest.mark.slow
def test_mobile_builders_run_on_jax_with_tensorflow_figures():
    jax_report, _ = _compare(SLOW_BUILDS)
    assert jax_report["builds"]["mobilenet_v2"][0]["shapes"] == [[2, 10]]
    assert jax_report["builds"]["efficientnet_b0"][0]["shapes"] == [[2, 10]]


def _backend_after_import(**env_changes) -> str:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.update(env_changes)
    code = "import os, kerasdl; print(os.environ.get('KERAS_BACKEND'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_tensorflow_is_the_default_and_an_explicit_backend_is_kept():
    assert _backend_after_import() == "tensorflow"
    assert _backend_after_import(KERAS_BACKEND="jax") == "jax"


def test_require_tensorflow_names_the_feature_and_the_backend(monkeypatch):
    from kerasdl import _backend

    _backend.require_tensorflow("SavedModel export")  # this process runs on TensorFlow: no error
    monkeypatch.setattr(_backend, "backend", lambda: "jax")
    with pytest.raises(
        RuntimeError, match=r"SavedModel export needs Keras' TensorFlow backend; KERAS_BACKEND is 'jax'"
    ):
        _backend.require_tensorflow("SavedModel export")
    assert issubclass(_backend.TensorFlowBackendRequired, RuntimeError)


def test_tensorflow_only_parts_refuse_another_backend_at_their_start(monkeypatch, tmp_path):
    """Every TensorFlow-only entry point names itself before touching TensorFlow."""
    import numpy as np

    from kerasdl import _backend
    from kerasdl.attacks import FGSM
    from kerasdl.data import make_dataset
    from kerasdl.export import export_saved_model, load_saved_model
    from kerasdl.generative.gan import GAN
    from kerasdl.rl import DQN, REINFORCE
    from kerasdl.training.compile import CustomModelCompile

    monkeypatch.setattr(_backend, "backend", lambda: "jax")
    entry_points = {
        "SavedModel export": lambda: export_saved_model(None, tmp_path / "export"),
        "SavedModel loading": lambda: load_saved_model(tmp_path),
        "make_dataset": lambda: make_dataset(np.zeros((4, 2)), np.zeros(4), 2),
        "custom train_step models": lambda: CustomModelCompile.compile(None),
        "the GAN's train_step": lambda: GAN.compile(None),
        "gradient attacks": lambda: FGSM(0.1),
        "DQN": lambda: DQN("CartPole-v1"),
        "REINFORCE": lambda: REINFORCE("CartPole-v1"),
    }
    for what, call in entry_points.items():
        with pytest.raises(_backend.TensorFlowBackendRequired, match=f"{re.escape(what)}.*KERAS_BACKEND is 'jax'"):
            call()
    assert not (tmp_path / "export").exists()
