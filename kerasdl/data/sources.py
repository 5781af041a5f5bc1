"""Where data comes from: a configured data folder, the Keras cache, or scikit-learn.

One documented way to point kerasdl at data on disk: the environment variable
``KERASDL_DATA_DIR`` (or :func:`set_data_dir`). The folder is laid out like
``../shared/data``::

    $KERASDL_DATA_DIR/
      keras/datasets/...   files exactly as Keras caches them (fashion-mnist/, imdb_word_index.json, ...)
      keras/models/...     keras.applications weight files
      mnist/mnist.npz      MNIST with Keras' keys (or the four official IDX .gz files)

kerasdl never writes into that folder. To let the *real* ``keras.datasets`` loaders read
it, :func:`keras_home` builds a temporary ``KERAS_HOME`` whose files are symbolic links
to the folder's ``keras/`` files, one by one. Keras deletes a cached file whose hash
check fails and then downloads it again; with links, only the link is deleted.

When a data set is neither in the folder nor in the Keras cache, the loader tries the
download once with a short socket timeout (or not at all when ``KERASDL_OFFLINE=1``) and
raises :class:`DatasetNotFoundError` naming the missing file and where to put it.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import socket
import tempfile
from pathlib import Path

import numpy as np

DATA_DIR_ENV = "KERASDL_DATA_DIR"
OFFLINE_ENV = "KERASDL_OFFLINE"
DOWNLOAD_TIMEOUT_S = 20

_data_dir_override: Path | None = None


class DatasetNotFoundError(FileNotFoundError):
    """A data set is not on disk and could not be downloaded."""


def set_data_dir(path: str | os.PathLike | None) -> None:
    """Use ``path`` as the data folder for this process (``None`` reverts to the env var)."""
    global _data_dir_override
    if path is None:
        _data_dir_override = None
        return
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ValueError(f"data_dir must be an existing folder, got {str(path)!r}")
    _data_dir_override = path


def data_dir() -> Path | None:
    """The configured data folder (:func:`set_data_dir`, else ``$KERASDL_DATA_DIR``), or None."""
    if _data_dir_override is not None:
        return _data_dir_override
    value = os.environ.get(DATA_DIR_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DatasetNotFoundError(
            f"{DATA_DIR_ENV}={value!r} is not a folder. Point it at a folder laid out as "
            "described in kerasdl.data.sources (keras/datasets, mnist/, ...), or unset it."
        )
    return path


def user_keras_home() -> Path:
    """The Keras cache Keras itself uses: ``$KERAS_HOME`` or ``~/.keras``."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@contextlib.contextmanager
def keras_home(source: str | os.PathLike | None = None):
    """Run Keras' own loaders against a temporary ``KERAS_HOME`` linked to ``source``.

    ``source`` defaults to ``<data_dir>/keras``. Every file under it is symlinked (never
    copied, never written) into a fresh temporary folder that serves as Keras' cache for
    the duration of the ``with`` block::

        with kerasdl.data.keras_home():
            base = keras.applications.MobileNetV2(include_top=False, weights="imagenet")
    """
    if source is None:
        root = data_dir()
        if root is None:
            raise DatasetNotFoundError(
                f"No data folder configured: set {DATA_DIR_ENV} or call kerasdl.data.set_data_dir()."
            )
        source = root / "keras"
    source = Path(source)
    with tempfile.TemporaryDirectory(prefix="kerasdl-keras-home-") as tmp:
        for path in source.rglob("*"):
            if path.is_file():
                link = Path(tmp) / path.relative_to(source)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(path.resolve())
        with _keras_dir(tmp):
            yield Path(tmp)


@contextlib.contextmanager
def _keras_dir(path: str):
    """Point Keras' cache at ``path``.

    Keras reads ``KERAS_HOME`` once, when it is imported, into
    ``keras.src.backend.config._KERAS_DIR``; setting the environment variable afterwards
    changes nothing, so the module attribute is switched too (and restored after).
    """
    from keras.src.backend import config as keras_config

    old_env = os.environ.get("KERAS_HOME")
    old_dir = getattr(keras_config, "_KERAS_DIR", None)
    os.environ["KERAS_HOME"] = str(path)
    keras_config._KERAS_DIR = str(path)
    try:
        yield
    finally:
        keras_config._KERAS_DIR = old_dir
        if old_env is None:
            os.environ.pop("KERAS_HOME", None)
        else:
            os.environ["KERAS_HOME"] = old_env


def _missing_message(name: str, files: list[str]) -> str:
    wanted = ", ".join(files)
    folders = sorted({str(Path(f).parent) for f in files})
    return (
        f"{name} is not available: {wanted} was found neither in the data folder "
        f"({DATA_DIR_ENV}={os.environ.get(DATA_DIR_ENV, '<unset>')}, looked in <folder>/keras/) "
        f"nor in the Keras cache ({user_keras_home()}), and it could not be downloaded. "
        f"Put the file(s) under $KERASDL_DATA_DIR/keras/{folders[0]}/ (or {user_keras_home()}/{folders[0]}/) "
        f"and try again."
    )


def run_keras_loader(name: str, files: list[str], loader):
    """Call a Keras function that reads ``files`` from Keras' cache (paths relative to
    ``KERAS_HOME``, e.g. ``"datasets/mnist.npz"`` or ``"models/<weights>.h5"``).

    Order: the configured data folder's ``keras/`` (through a linked temporary cache), then
    the user's Keras cache, then one download attempt with a short timeout.
    """
    root = data_dir()
    if root is not None and all((root / "keras" / f).exists() for f in files):
        with keras_home(root / "keras"), _download_guard(name, files, found=True):
            return loader()
    in_cache = all((user_keras_home() / f).exists() for f in files)
    if not in_cache and _offline():
        raise DatasetNotFoundError(_missing_message(name, files) + f" ({OFFLINE_ENV} is set.)")
    with _download_guard(name, files, found=in_cache):
        return loader()


@contextlib.contextmanager
def _download_guard(name: str, files: list[str], found: bool):
    """Bound any download Keras starts (a missing file, or a cached one failing its hash
    check) by a short socket timeout, and report a failure as :class:`DatasetNotFoundError`."""
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        yield
    except Exception as error:
        if "URL fetch failure" not in str(error) and not isinstance(error, OSError):
            raise
        if found:
            message = (
                f"{name}: Keras rejected the file(s) {', '.join(files)} found on disk (their hash "
                f"differs from the one Keras expects) and could not download a replacement."
            )
        else:
            message = _missing_message(name, files)
        raise DatasetNotFoundError(f"{message} Download error: {error}") from error
    finally:
        socket.setdefaulttimeout(old_timeout)


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format), gzip-compressed or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


_MNIST_IDX = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


def local_mnist_source() -> Path | None:
    """The MNIST file(s) in the configured data folder, or None when there are none."""
    root = data_dir()
    if root is None:
        return None
    if (root / "mnist" / "mnist.npz").is_file():
        return root / "mnist" / "mnist.npz"
    if all((root / "mnist" / f).is_file() for f in _MNIST_IDX.values()):
        return root / "mnist"
    return None


def mnist_available() -> bool:
    """True when MNIST can be read without a download (data folder or Keras cache)."""
    return local_mnist_source() is not None or (user_keras_home() / "datasets" / "mnist.npz").is_file()


def load_mnist():
    """MNIST as ``(x_train, y_train), (x_test, y_test)`` uint8 arrays, like Keras.

    Reads ``<data_dir>/mnist/mnist.npz`` (or the IDX files) when a data folder holds it:
    Keras' ``mnist.load_data()`` rejects any npz whose container differs from its own by
    sha256, even with identical arrays, and deletes it. Otherwise calls
    ``keras.datasets.mnist.load_data()``.
    """
    local = local_mnist_source()
    if local is not None and local.suffix == ".npz":
        with np.load(local, allow_pickle=False) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    if local is not None:
        arrays = {key: _read_idx(local / fname) for key, fname in _MNIST_IDX.items()}
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

    import keras

    return run_keras_loader("The MNIST data set", ["datasets/mnist.npz"], keras.datasets.mnist.load_data)


def load_fashion_mnist():
    """Fashion-MNIST through ``keras.datasets.fashion_mnist.load_data()`` (uint8 arrays)."""
    import keras

    files = [f"datasets/fashion-mnist/{f}" for f in _MNIST_IDX.values()]
    return run_keras_loader("The Fashion-MNIST data set", files, keras.datasets.fashion_mnist.load_data)


def load_cifar10():
    """CIFAR-10 through ``keras.datasets.cifar10.load_data()`` (uint8 32x32x3, labels (N, 1))."""
    import keras

    return run_keras_loader(
        "The CIFAR-10 data set", ["datasets/cifar-10-batches-py-target"], keras.datasets.cifar10.load_data
    )


def load_imdb(num_words: int | None = None, maxlen: int | None = None, **kwargs):
    """IMDB reviews as word-index sequences through ``keras.datasets.imdb.load_data``."""
    import keras

    return run_keras_loader(
        "The IMDB data set",
        ["datasets/imdb.npz"],
        lambda: keras.datasets.imdb.load_data(num_words=num_words, maxlen=maxlen, **kwargs),
    )


def load_digits(image_size: int | None = 28, test_size: float = 0.2, seed: int = 0):
    """scikit-learn's bundled 8x8 digits (1,797 images), the embedded default data set.

    Returns ``(x_train, y_train), (x_test, y_test)`` like the Keras loaders: uint8 images of
    shape (N, image_size, image_size) scaled to 0..255 (bilinear ``tf.image.resize`` when
    ``image_size`` is not None or 8), and a stratified split with ``test_size`` held out.
    """
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    from kerasdl._validation import check_float, check_int

    check_float("test_size", test_size, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False)
    bunch = sk_digits()
    images = bunch.images.astype("float32") * (255.0 / 16.0)
    if image_size is not None and check_int("image_size", image_size, minimum=8) != 8:
        import tensorflow as tf

        images = tf.image.resize(images[..., None], (image_size, image_size)).numpy()[..., 0]
    images = np.clip(np.round(images), 0, 255).astype("uint8")
    x_train, x_test, y_train, y_test = train_test_split(
        images, bunch.target.astype("uint8"), test_size=test_size, random_state=seed, stratify=bunch.target
    )
    return (x_train, y_train), (x_test, y_test)


def load_image_folder(
    directory, image_size=(224, 224), batch_size=32, validation_split=None, subset=None, seed=0, **kwargs
):
    """Images in one sub-folder per class, via ``keras.utils.image_dataset_from_directory``."""
    import keras

    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetNotFoundError(
            f"Image folder {str(directory)!r} does not exist; expected one sub-folder per class."
        )
    return keras.utils.image_dataset_from_directory(
        directory,
        image_size=tuple(image_size),
        batch_size=batch_size,
        validation_split=validation_split,
        subset=subset,
        seed=seed,
        **kwargs,
    )
