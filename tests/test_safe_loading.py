"""Data files cannot run code: the IMDB npz loader and kerasdl.data.safe_npz (issue 21, item 11)."""

import os
import pickle
import pickletools
import zipfile

import numpy as np
import pytest

from kerasdl.data import text
from kerasdl.data.safe_npz import int_sequences, load_npz


class _RunsCommand:
    """Pickles as ``os.system(command)``: what a crafted data file hides inside an object array."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _object_array(items):
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _imdb_like_npz(path, train, test):
    """An ``np.savez`` laid out like ``imdb_keras_subset.npz``: arr_0/arr_2 object arrays of id
    lists, arr_1/arr_3 int64 labels (pickled with the running numpy, whatever its major version)."""
    np.savez(path, _object_array(train), np.arange(len(train)) % 2, _object_array(test), np.arange(len(test)) % 2)
    return path


TRAIN = [[1, 14, 22, 16], [1, 2, 2, 499, 5], [1]]
TEST = [[1, 7], [1, 8, 9]]


@pytest.fixture
def data_folder(tmp_path, monkeypatch):
    """A fresh data folder with an empty ``text/``; the loaders read from it."""
    from kerasdl.data import sources

    (tmp_path / "data" / "text").mkdir(parents=True)
    monkeypatch.setattr(sources, "_data_dir_override", tmp_path / "data")
    return tmp_path / "data"


def test_crafted_npz_raises_and_runs_nothing(data_folder, tmp_path):
    marker = tmp_path / "marker"
    crafted = _imdb_like_npz(
        data_folder / "text" / "imdb_keras_subset.npz", [[1, 2], _RunsCommand(f"touch {marker}")], TEST
    )
    # The threat is real, shown without running it: the payload's pickle names os.system, which
    # np.load(..., allow_pickle=True) would call; numpy's pickle-free default refuses the array.
    with zipfile.ZipFile(crafted) as archive:
        payload = archive.read("arr_0.npy")
    opcodes = [(op.name, arg) for op, arg, _ in pickletools.genops(payload[payload.index(b"\x80") :])]
    assert any(name in ("GLOBAL", "STACK_GLOBAL") for name, _ in opcodes)
    assert any(arg == "system" or (isinstance(arg, str) and arg.endswith(" system")) for _, arg in opcodes)
    with np.load(crafted) as default, pytest.raises(ValueError, match="allow_pickle"):
        default["arr_0"]

    with pytest.raises(
        ValueError,
        match=r"imdb_keras_subset\.npz \(arr_0\.npy\): refusing to unpickle "
        r"(posix|os|nt)\.system",
    ):
        text.load_imdb_keras_subset(decode=False)
    with pytest.raises(ValueError, match="refusing to unpickle"):
        text.load_text_classification("imdb_keras_subset", decode=False)
    assert not marker.exists()


def test_sentiment_app_refuses_the_crafted_file(data_folder, tmp_path, capsys):
    from kerasdl.apps import sentiment

    marker = tmp_path / "marker"
    _imdb_like_npz(data_folder / "text" / "imdb_keras_subset.npz", [_RunsCommand(f"touch {marker}")], TEST)
    assert sentiment.main(["--dataset", "imdb_keras_subset", "--runs-dir", str(tmp_path / "runs"), "--export", ""]) != 0
    assert "refusing to unpickle" in capsys.readouterr().err
    assert not marker.exists()


def test_legit_npz_loads_as_int_lists(data_folder):
    _imdb_like_npz(data_folder / "text" / "imdb_keras_subset.npz", TRAIN, TEST)
    data = text.load_imdb_keras_subset(decode=False)
    assert data.x_train.dtype == object and data.x_train.shape == (3,)
    assert [list(s) for s in data.x_train] == TRAIN and [list(s) for s in data.x_test] == TEST
    assert data.y_train.tolist() == [0, 1, 0] and data.y_test.dtype == np.int32


def test_numpy1_pickles_load_too(tmp_path):
    """Files written by numpy 1 (like the shared one) name ``numpy.core.multiarray._reconstruct``."""
    array = _object_array(TRAIN)
    payload = pickle.dumps(array, protocol=3)  # what np.save writes
    for new in (b"numpy._core.multiarray", b"numpy.core.multiarray"):
        payload = payload.replace(new, b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in payload
    header = {"descr": "|O", "fortran_order": False, "shape": (3,)}
    path = tmp_path / "old.npz"
    import io

    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, header)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("arr_0.npy", member.getvalue() + payload)
    assert [list(s) for s in load_npz(path)["arr_0"]] == TRAIN


@pytest.mark.parametrize(
    "items, message",
    [
        ([[1, 2], (3, 4)], r"arr_0\[1\]: expected a list of ints, got tuple"),
        ([[1, 2], [3, "x"]], r"arr_0\[1\]: expected a list of ints, found str 'x'"),
        ([[1, 2.5]], r"arr_0\[0\]: expected a list of ints, found float 2.5"),
    ],
)
def test_npz_with_other_contents_is_refused(data_folder, items, message):
    _imdb_like_npz(data_folder / "text" / "imdb_keras_subset.npz", items, TEST)
    with pytest.raises(ValueError, match=message):
        text.load_imdb_keras_subset(decode=False)


def test_npz_that_is_no_archive_or_lacks_arrays(data_folder):
    path = data_folder / "text" / "imdb_keras_subset.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an .npz archive"):
        text.load_imdb_keras_subset(decode=False)
    np.savez(path, np.zeros(3))
    with pytest.raises(ValueError, match=r"no array\(s\) \['arr_1', 'arr_2', 'arr_3'\]"):
        text.load_imdb_keras_subset(decode=False)
    with pytest.raises(ValueError, match="expected a 1-D object array of int lists"):
        int_sequences(np.zeros(3), "x")


def test_numeric_arrays_round_trip_without_pickle(tmp_path):
    path = tmp_path / "numbers.npz"
    np.savez_compressed(path, a=np.arange(6).reshape(2, 3), b=np.array([0.5], np.float32))
    arrays = load_npz(path)
    np.testing.assert_array_equal(arrays["a"], np.arange(6).reshape(2, 3))
    assert arrays["b"].dtype == np.float32


def test_real_file_matches_the_trusted_reference(shared_data):
    path = shared_data / "text" / "imdb_keras_subset.npz"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    data = text.load_imdb_keras_subset(decode=False)
    # The reference without unpickling: numpy reads the label arrays itself, and the reviews are
    # checked against the facts MANIFEST.md records for this file (lengths, labels, vocabulary).
    with np.load(path) as reference:
        np.testing.assert_array_equal(data.y_train, reference["arr_1"])
        np.testing.assert_array_equal(data.y_test, reference["arr_3"])
    assert [len(r) for r in data.x_train[:5]] == [218, 189, 141, 550, 147]
    assert [len(r) for r in data.x_test[:5]] == [68, 260, 603, 181, 108]
    assert list(data.y_train[:10]) == [1, 0, 0, 1, 0, 0, 1, 0, 1, 0] and int(data.y_train.sum()) == 2546
    assert list(data.y_test[:10]) == [0, 1, 1, 0, 1, 1, 1, 0, 0, 1] and int(data.y_test.sum()) == 474
    reviews = list(data.x_train) + list(data.x_test)
    assert all(r[0] == 1 for r in reviews) and max(max(r) for r in reviews) == 499
    assert (len(data.x_train), len(data.x_test)) == (5000, 1000) and data.x_train[0][:3] == [1, 14, 22]


def test_object_arrays_load_without_any_unpickler(data_folder, monkeypatch):
    """The ragged arrays are rebuilt from decoded opcodes: no pickle.Unpickler / loads runs."""

    def forbidden(*args, **kwargs):
        raise AssertionError("an unpickler ran")

    path = _imdb_like_npz(data_folder / "text" / "imdb_keras_subset.npz", TRAIN, TEST)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    arrays = load_npz(path)
    assert [list(s) for s in arrays["arr_0"]] == TRAIN and [list(s) for s in arrays["arr_2"]] == TEST
