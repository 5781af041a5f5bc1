"""The detection and verification homes: one-way imports (tasks → core, never core → task
at import time), old import paths that re-export the moved objects, unchanged registered
names, and the verification experiment flow that ``kerasdl.apps.verify`` and
``benchmarks/vision_tasks.py`` share."""

import ast
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set:
    """Every module named by an import statement in ``path`` (absolute names only)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_importing_models_loads_neither_detection_nor_verification():
    code = "import sys, kerasdl.models; print(sorted(m for m in sys.modules if m.startswith(('kerasdl.detection', 'kerasdl.verification'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_models_package_never_imports_detection():
    offenders = {
        str(p.relative_to(REPO)): sorted(m for m in _imported_modules(p) if m.startswith("kerasdl.detection"))
        for p in (REPO / "kerasdl" / "models").glob("*.py")
    }
    assert {p: m for p, m in offenders.items() if m} == {}


def test_models_package_imports_verification_only_in_the_compat_module():
    importers = sorted(
        str(p.relative_to(REPO))
        for p in (REPO / "kerasdl" / "models").glob("*.py")
        if any(m.startswith("kerasdl.verification") for m in _imported_modules(p))
    )
    assert importers == ["kerasdl/models/siamese.py"]


def test_detection_holds_its_model_and_losses():
    from kerasdl.detection import losses, yolo

    assert yolo.yolo_detector.__module__ == "kerasdl.detection.yolo"
    assert losses.YoloLoss.__module__ == "kerasdl.detection.losses"
    assert not (REPO / "kerasdl" / "models" / "yolo.py").exists()


def test_old_paths_re_export_the_moved_objects():
    import kerasdl.losses
    import kerasdl.training
    import kerasdl.verification as verification
    from kerasdl.data import faces as old_faces
    from kerasdl.detection import losses as detection_losses
    from kerasdl.losses import detection as old_detection_losses
    from kerasdl.losses import metric_learning as old_metric_learning
    from kerasdl.models import siamese as old_models_siamese
    from kerasdl.training import siamese as old_training_siamese
    from kerasdl.transfer import features as old_features
    from kerasdl.verification import embedding, faces, features, siamese
    from kerasdl.verification import losses as metric_losses

    assert old_models_siamese.embedding_network is embedding.embedding_network is verification.embedding_network
    assert old_training_siamese.SiameseModel is siamese.SiameseModel is kerasdl.training.SiameseModel
    assert verification.SiameseModel is siamese.SiameseModel
    assert old_metric_learning.TripletLoss is metric_losses.TripletLoss is kerasdl.losses.TripletLoss
    assert old_detection_losses.YoloLoss is detection_losses.YoloLoss is kerasdl.losses.YoloLoss
    assert old_faces.identity_batches is faces.identity_batches
    assert old_features.chosen_layer_features is features.chosen_layer_features


def test_registered_names_are_unchanged():
    from kerasdl.detection.losses import LocalizationLoss, YoloLoss
    from kerasdl.verification import ContrastiveLoss, SiameseModel, TripletLoss

    for cls in (SiameseModel, TripletLoss, ContrastiveLoss, YoloLoss, LocalizationLoss):
        assert keras.saving.get_registered_name(cls) == f"kerasdl>{cls.__name__}"


def test_verification_experiment_trains_and_evaluates():
    from kerasdl.verification import SiameseModel, build_embedding, evaluate_verifier, load_identities, train_verifier

    keras.utils.set_random_seed(0)
    data = load_identities("digits", seed=0)
    embedding, layers, scores = build_embedding(data, 8, filters=(8, 16))
    assert layers is None and scores is None and embedding.output_shape == (None, 8)
    model = SiameseModel(embedding, mining="batch_all")
    model.compile("adam", 1e-3, jit_compile=False)
    history = train_verifier(
        model, data, epochs=1, steps_per_epoch=2, identities_per_batch=4, validation_steps=1, verbose=0
    )
    assert set(history.history) == {"loss", "triplet_accuracy", "val_loss", "val_triplet_accuracy"}
    result = evaluate_verifier(embedding, data, num_pairs=40, seed=0)
    assert result.verifier.threshold == result.choice.threshold
    assert result.test_distances.shape == result.test_same.shape == (40,)
    assert 0.0 <= result.test_roc_auc <= 1.0 and 0.0 <= result.test_accuracy <= 1.0
    assert result.one_shot["enrolled_people"] == 1 and np.isfinite(result.one_shot["top1_accuracy"])
