"""Test set-up: quiet TensorFlow, use ../shared/data as the data folder when it exists.

Markers: ``slow`` (excluded by default), ``learned`` (asserts on what a model learned) and
``e2e`` (end to end: a whole app run, a subprocess, several processes or a wheel build; set
here for the modules in :data:`END_TO_END_MODULES`). ``make test-fast`` runs what is none of
these (about 3.5 minutes on 2 cores); ``make test`` runs everything but ``slow``.

``--seed-offset N`` (or ``KERASDL_TEST_SEED_OFFSET=N``) adds ``N`` to every seed a test sets
through ``keras.utils.set_random_seed`` (kerasdl's ``set_seed`` included). Learned-threshold
tests (a loss falls by a factor, an accuracy passes a bar) are checked over several offsets
and both oneDNN settings (``TF_ENABLE_ONEDNN_OPTS=0``/``1``) so that none depends on one
lucky trajectory or one host's kernels: ``make test-margins`` runs that sweep.

``@pytest.mark.early_start("starter")``: a test whose work is one long subprocess (the guides in
smoke mode, the JAX probe) names a module-level ``starter()`` that launches it and returns the
``subprocess.Popen``. It is launched as soon as collection ends, so it runs on the second core
while the suite's in-process tests (mostly one busy core) run; the test then takes it from the
:func:`early_process` fixture and waits. A deselected test starts nothing.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERASDL_OFFLINE", "1")  # never wait on a download in tests

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--seed-offset",
        type=int,
        default=int(os.environ.get("KERASDL_TEST_SEED_OFFSET", "0")),
        help="add this to every seed set through keras.utils.set_random_seed (margin sweeps)",
    )


def pytest_configure(config):
    offset = config.getoption("--seed-offset")
    if offset:
        import keras

        set_random_seed = keras.utils.set_random_seed
        keras.utils.set_random_seed = lambda seed: set_random_seed(seed + offset)


# Test modules that run whole apps, subprocesses or several processes: marked e2e.
END_TO_END_MODULES = {
    "test_adversarial_app",
    "test_cli",
    "test_dcgan_jax",
    "test_ensembles_benchmark",
    "test_detect_app",
    "test_distribute",
    "test_generative_apps",
    "test_jax_backend",
    "test_nas",
    "test_rl_apps",
    "test_run_safety",
    "test_run_safety_followups",
    "test_sentiment_app",
    "test_textgen",
    "test_tuner",
    "test_vision_apps",
    "test_wheel",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in END_TO_END_MODULES:
            item.add_marker(pytest.mark.e2e)


_EARLY = pytest.StashKey()
_EARLY_PROCESSES = []


def _start_early(item):
    process = getattr(item.module, item.get_closest_marker("early_start").args[0])()
    _EARLY_PROCESSES.append(process)
    return process


def pytest_collection_finish(session):
    for item in session.items:  # the selected tests only
        if item.get_closest_marker("early_start"):
            item.stash[_EARLY] = _start_early(item)


def pytest_sessionfinish(session):
    for process in _EARLY_PROCESSES:  # one whose test never ran (-x, a crash) must not outlive the run
        if process.poll() is None:
            process.kill()


@pytest.fixture
def early_process(request):
    """The subprocess this test's ``early_start`` starter launched (launched now if it was not)."""
    process = request.node.stash.get(_EARLY, None)
    return process if process is not None else _start_early(request.node)


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "KERASDL_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["KERASDL_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture
def shared_data():
    """The shared data folder, or skip the test when this machine has none."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA


@pytest.fixture
def no_data_dir(monkeypatch, tmp_path):
    """No data folder and an empty Keras cache: only embedded data is available."""
    monkeypatch.delenv("KERASDL_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    monkeypatch.setenv("KERASDL_OFFLINE", "1")
    from kerasdl.data import sources

    monkeypatch.setattr(sources, "_data_dir_override", None)
    return tmp_path


@pytest.fixture
def imagenet_file_from(tmp_path, monkeypatch):
    """Store a model's weights as a keras.applications ImageNet file in a fresh data folder.

    ``imagenet_file_from(reference_model, file_name)`` writes ``reference_model``'s weights in
    the legacy HDF5 layout of the official files to ``<tmp>/keras/models/<file_name>``, makes
    that folder the data folder, and skips Keras' hash check (only Google's own file can
    pass it). A builder's ``weights="imagenet"`` then goes through the real lookup path.
    """
    import h5py
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    from kerasdl.models import weights

    def store(reference_model, file_name):
        folder = tmp_path / "weights-data" / "keras" / "models"
        folder.mkdir(parents=True, exist_ok=True)
        with h5py.File(folder / file_name, "w") as f:
            save_weights_to_hdf5_group(f, reference_model)
        monkeypatch.setenv("KERASDL_DATA_DIR", str(folder.parents[1]))
        real_get_file = weights._get_file
        monkeypatch.setattr(
            weights, "_get_file", lambda *a, file_hash=None, **k: real_get_file(*a, file_hash=None, **k)
        )
        return folder / file_name

    return store


@pytest.fixture
def tiny_bert_preset(tmp_path):
    """``make(vocabulary)`` → ``(preset_folder, tokenizer, backbone)``: a random one-layer, 8-wide
    KerasHub BERT saved as a preset (skips the test without keras-hub)."""
    keras_hub = pytest.importorskip("keras_hub", reason="keras-hub not installed (pip install 'kerasdl[hub]')")

    def make(vocabulary):
        tokenizer = keras_hub.models.BertTokenizer(vocabulary=list(vocabulary))
        backbone = keras_hub.models.BertBackbone(
            vocabulary_size=len(vocabulary),
            num_layers=1,
            num_heads=2,
            hidden_dim=8,
            intermediate_dim=16,
            max_sequence_length=16,
        )
        folder = tmp_path / "tiny_bert"
        backbone.save_to_preset(str(folder))
        tokenizer.save_to_preset(str(folder))
        return folder, tokenizer, backbone

    return make


@pytest.fixture
def interrupt_when():
    """``interrupt_when(command, ready, what, cwd=..., env=...)``: start ``command``, wait (up to
    120 s) until ``ready()`` is true, send it SIGINT (Ctrl-C) and return ``(returncode, stdout,
    stderr)``. Fails the test if the process ends before it is ready or still runs 60 s after
    the SIGINT (a lost interrupt: what the Ctrl-C tests are there to catch); never leaves it
    running."""

    def run(command, ready, what, **popen):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
        try:
            deadline = time.monotonic() + 120
            while not ready():
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, f"no {what} within 120 s"
                time.sleep(0.1)
            process.send_signal(signal.SIGINT)
            try:
                out, err = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
                pytest.fail(
                    f"still running 60 s after SIGINT; stderr ends:\n{err[-4000:]}\nstdout ends:\n{out[-2000:]}"
                )
        finally:
            if process.poll() is None:
                process.kill()
        return process.returncode, out, err

    return run
