"""The generative home (:mod:`kerasdl.generative`): the core packages re-export its names,
the old module paths still import, and the import direction stays one way (core ←
generative ← apps: no core module imports it except the compatibility re-exports)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import kerasdl  # noqa: F401  (sets the TensorFlow backend before keras is imported)

REPO = Path(__file__).resolve().parents[1]

# (old module, new module, names): the modules the generative pieces left, kept as re-exports.
OLD_PATHS = [
    ("kerasdl.models.gan", "kerasdl.generative.gan_networks", ["dcgan", "gan_mlp"]),
    ("kerasdl.models.vae", "kerasdl.generative.vae_networks", ["vae_encoder", "vae_decoder"]),
    (
        "kerasdl.models.autoencoder",
        "kerasdl.generative.autoencoder_networks",
        ["AutoencoderParts", "autoencoder", "conv_autoencoder", "dense_autoencoder"],
    ),
    ("kerasdl.training.gan", "kerasdl.generative.gan", ["GAN", "ConditionalGAN"]),
    ("kerasdl.training.vae", "kerasdl.generative.vae", ["VAE", "latent_manifold"]),
    ("kerasdl.training.autoencoder", "kerasdl.generative.autoencoder", ["DenoisingAutoencoder", "corrupt"]),
    (
        "kerasdl.training.generative_callbacks",
        "kerasdl.generative.callbacks",
        ["SampleGrid", "save_image_grid", "tile_images", "to_uint8"],
    ),
    ("kerasdl.training.generative_callbacks", "kerasdl.training.resumable", ["TrainingCheckpoint"]),
    ("kerasdl.training.generative_export", "kerasdl.generative.export", ["export_image_generator", "verify_export"]),
    (
        "kerasdl.losses.generative",
        "kerasdl.generative.losses",
        ["bernoulli_reconstruction", "discriminator_loss", "gaussian_kl", "generator_loss", "mean_pixel_crossentropy"],
    ),
    (
        "kerasdl.evaluation.generative",
        "kerasdl.generative.evaluation",
        ["GenerativeEvaluator", "frechet_distance_from_stats", "inception_score_from_probs", "inception_score_parts"],
    ),
]
COMPAT_MODULES = sorted({old for old, _, _ in OLD_PATHS})
CORE = ("models", "layers", "losses", "training", "data", "evaluation")


def _imported_modules(path: Path) -> set:
    """Every module named by an absolute import statement in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_generative_names_stay_importable_from_the_core_packages():
    """kerasdl.generative is the home; kerasdl.models/training/losses/evaluation re-export the same objects."""
    import kerasdl.evaluation
    import kerasdl.generative as home
    import kerasdl.losses
    import kerasdl.models
    import kerasdl.training

    assert kerasdl.models.dcgan is home.dcgan and kerasdl.models.vae_encoder is home.vae_encoder
    assert kerasdl.models.dense_autoencoder is home.dense_autoencoder and "dcgan" not in kerasdl.models.BUILDERS
    assert kerasdl.training.GAN is home.GAN and kerasdl.training.VAE is home.VAE
    assert kerasdl.training.DenoisingAutoencoder is home.DenoisingAutoencoder
    assert kerasdl.training.SampleGrid is home.SampleGrid and kerasdl.training.verify_export is home.verify_export
    assert kerasdl.losses.generator_loss is home.generator_loss
    assert kerasdl.evaluation.GenerativeEvaluator is home.GenerativeEvaluator
    assert all(getattr(home, name).__name__ == name for name in home.__all__)  # each name resolves to itself
    with pytest.raises(AttributeError):
        home.no_such_name


@pytest.mark.parametrize("old, new, names", OLD_PATHS, ids=[f"{o}:{n[0]}" for o, _, n in OLD_PATHS])
def test_old_module_paths_re_export_the_moved_objects(old, new, names):
    import importlib

    old_module, new_module = importlib.import_module(old), importlib.import_module(new)
    assert all(getattr(old_module, name) is getattr(new_module, name) for name in names)


def test_the_moved_code_is_defined_once_in_the_home():
    """The old paths hold imports only: every class and function is defined under kerasdl/generative."""
    for old in COMPAT_MODULES:
        tree = ast.parse((REPO / (old.replace(".", "/") + ".py")).read_text())
        assert not [
            n
            for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Assign))
            and not (isinstance(n, ast.Assign) and n.targets[0].id == "__all__")
        ], old


def test_core_modules_do_not_import_the_generative_home():
    """Import direction core ← generative: outside the compatibility re-exports (the packages'
    ``__init__`` and the old module paths) no core module imports kerasdl.generative."""
    allowed = {f"kerasdl/{package}/__init__.py" for package in CORE}
    allowed |= {old.replace(".", "/") + ".py" for old in COMPAT_MODULES}
    offenders = {}
    for package in CORE:
        for path in sorted((REPO / "kerasdl" / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            bad = sorted(m for m in _imported_modules(path) if m.startswith("kerasdl.generative"))
            if bad and relative not in allowed:
                offenders[relative] = bad
    assert offenders == {}


def test_importing_models_loads_no_generative_training_code():
    """``import kerasdl.models`` loads the generative builders only, not the train_step models
    (which need kerasdl.training and TensorFlow)."""
    code = "import sys, kerasdl.models; print(sorted(m for m in sys.modules if m.startswith('kerasdl.generative')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(
        [
            "kerasdl.generative",
            "kerasdl.generative.autoencoder_networks",
            "kerasdl.generative.gan_networks",
            "kerasdl.generative.vae_networks",
        ]
    )
