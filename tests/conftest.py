"""Test set-up: quiet TensorFlow, use ../shared/data as the data folder when it exists."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERASDL_OFFLINE", "1")  # never wait on a download in tests

import pytest  # noqa: E402

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
