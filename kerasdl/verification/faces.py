"""Face data for verification and one-shot recognition, split **by person**.

Verification must be measured on people the network never saw: :func:`split_by_identity`
puts every image of a person in exactly one of train / validation / test. The Olivetti
faces (AT&T Laboratories Cambridge, 40 people × 10 images, 64x64 grey) are read from
``$KERASDL_DATA_DIR/olivetti/olivetti_faces.npy`` and ``olivetti_faces_target.npy`` (the
layout of scikit-learn's ``fetch_olivetti_faces`` arrays); :func:`load_identities` falls
back to scikit-learn's bundled digits (the ten digits as ten "people") when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerasdl._validation import check_int
from kerasdl.data.pipeline import as_unit_float
from kerasdl.data.sources import DATA_DIR_ENV, DatasetNotFoundError, data_dir

OLIVETTI_FILES = ("olivetti_faces.npy", "olivetti_faces_target.npy")


@dataclass
class IdentityData:
    """uint8 ``(N, H, W, 1)`` images and integer identities, split by identity."""

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])


def olivetti_available() -> bool:
    """Whether the Olivetti faces (``olivetti/olivetti_faces.npy`` and ``..._target.npy``) are in the data folder."""
    root = data_dir()
    return root is not None and all((root / "olivetti" / f).is_file() for f in OLIVETTI_FILES)


def load_olivetti():
    """``(images, identities)``: uint8 ``(400, 64, 64, 1)`` faces and int identities 0..39."""
    root = data_dir()
    folder = None if root is None else root / "olivetti"
    if folder is None or not all((folder / f).is_file() for f in OLIVETTI_FILES):
        raise DatasetNotFoundError(
            f"The Olivetti faces are not available: put {' and '.join(OLIVETTI_FILES)} (as written by "
            f"scikit-learn's fetch_olivetti_faces: images (400, 64, 64) in [0, 1], targets (400,)) into "
            f"$KERASDL_DATA_DIR/olivetti/ ({DATA_DIR_ENV}={root or '<unset>'})."
        )
    images = np.load(folder / OLIVETTI_FILES[0], allow_pickle=False)
    targets = np.load(folder / OLIVETTI_FILES[1], allow_pickle=False)
    if images.ndim != 3 or len(images) != len(targets):
        raise ValueError(f"{folder}: expected images (N, H, W) and N targets, got {images.shape} and {targets.shape}")
    scale = 255.0 if images.max() <= 1.0 else 1.0
    return np.clip(np.round(images * scale), 0, 255).astype("uint8")[..., None], targets.astype("int32")


def split_by_identity(images, identities, *, num_val: int, num_test: int, seed: int = 0):
    """Shuffle the identities with ``seed`` and give ``num_test`` of them to test,
    ``num_val`` to validation and the rest to training; returns ``(x, y)`` three times."""
    images, identities = np.asarray(images), np.asarray(identities)
    people = np.unique(identities)
    num_val = check_int("num_val", num_val, minimum=1)
    num_test = check_int("num_test", num_test, minimum=2)
    if num_val + num_test + 2 > len(people):
        raise ValueError(
            f"num_val={num_val} + num_test={num_test} leaves fewer than 2 of the {len(people)} identities for training"
        )
    order = np.random.default_rng(seed).permutation(people)
    groups = (order[num_val + num_test :], order[num_test : num_test + num_val], order[:num_test])
    return tuple((images[np.isin(identities, g)], identities[np.isin(identities, g)]) for g in groups)


def load_identities(
    name: str = "olivetti", *, num_val: int | None = None, num_test: int | None = None, seed: int = 0
) -> IdentityData:
    """``"olivetti"`` (default split 26 train / 4 val / 10 test people) or ``"digits"``
    (scikit-learn's digits at 32x32 as ten identities: 6 / 2 / 2)."""
    if name == "olivetti":
        images, identities = load_olivetti()
        source = str(data_dir() / "olivetti")
        num_val, num_test = num_val or 4, num_test or 10
    elif name == "digits":
        from kerasdl.data.sources import load_digits

        (x_a, y_a), (x_b, y_b) = load_digits(32)
        images, identities = np.concatenate([x_a, x_b])[..., None], np.concatenate([y_a, y_b]).astype("int32")
        source = "scikit-learn bundled digits (digits as identities)"
        num_val, num_test = num_val or 2, num_test or 2
    else:
        raise ValueError(f"dataset must be one of ['olivetti', 'digits'], got {name!r}")
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = split_by_identity(
        images, identities, num_val=num_val, num_test=num_test, seed=seed
    )
    return IdentityData(name, source, x_tr, y_tr, x_va, y_va, x_te, y_te)


def face_augmentation(seed: int | None = None):
    """The training augmentation for faces: horizontal flip, 5% shift, ±0.03·2π rotation,
    5% zoom (:func:`kerasdl.data.image_augmentation`); a face stays the same person under each."""
    from kerasdl.data.pipeline import image_augmentation

    return image_augmentation(translation=0.05, rotation=0.03, zoom=0.05, flip=True, seed=seed)


def identity_batches(
    images, identities, *, identities_per_batch: int = 8, images_per_identity: int = 4, seed: int = 0, augment=None
):
    """An endless ``tf.data.Dataset`` of ``(images, identities)`` batches of P identities × K
    images each (Hermans et al. 2017's P×K sampling), so every anchor has positives and
    negatives for online triplet mining. Images are float32 in [0, 1].

    ``augment``: a callable on an image batch (e.g. :func:`face_augmentation`), applied to
    the training batches only, as in :func:`kerasdl.data.make_dataset`.
    """
    import tensorflow as tf

    from kerasdl.data.pipeline import batch_augmenter

    images, identities = np.asarray(images), np.asarray(identities)
    p = check_int("identities_per_batch", identities_per_batch, minimum=2)
    k = check_int("images_per_identity", images_per_identity, minimum=2)
    apply = batch_augmenter(augment)
    by_identity = {c: np.flatnonzero(identities == c) for c in np.unique(identities)}
    by_identity = {c: idx for c, idx in by_identity.items() if len(idx) >= 2}
    if len(by_identity) < p:
        raise ValueError(f"identities_per_batch={p} but only {len(by_identity)} identities have 2+ images")
    rng = np.random.default_rng(seed)
    keys = np.array(sorted(by_identity))

    def indices():
        while True:
            chosen = rng.choice(keys, p, replace=False)
            yield np.concatenate([rng.choice(by_identity[c], k, replace=len(by_identity[c]) < k) for c in chosen])

    x = tf.constant(as_unit_float(images))
    y = tf.constant(identities.astype("int32"))
    ds = tf.data.Dataset.from_generator(indices, output_signature=tf.TensorSpec([p * k], tf.int64))
    ds = ds.map(lambda idx: (tf.gather(x, idx), tf.gather(y, idx)))
    if apply is not None:
        ds = ds.map(lambda xb, yb: (apply(xb), yb), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
