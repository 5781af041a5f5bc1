"""Training utilities (compile helper, schedules, callbacks, seeds, XLA, mixed precision, strategy),
the run-safety callbacks (finite-only atomic checkpoints, NaN stops that raise ``TrainingDiverged``)
and the ``keras.Model`` subclasses with custom ``train_step``: adversarial training, and
``SiameseModel`` (home: :mod:`kerasdl.verification`, re-exported here on first access); ``fit`` that a run folder resumes
(:mod:`kerasdl.training.resumable`). The generative models and their helpers (``GAN``,
``ConditionalGAN``, ``VAE``, ``DenoisingAutoencoder``, ``SampleGrid``, image-generator export)
live in :mod:`kerasdl.generative` and are re-exported here on first access."""

from kerasdl.training.adversarial import AdversarialModel
from kerasdl.training.callbacks import (
    BestCheckpoint,
    EpochTimer,
    HistoryCSV,
    StopOnNonFinite,
    TimeBudget,
    TrainingDiverged,
    make_callbacks,
)
from kerasdl.training.compile import OPTIMIZERS, compile_model, loss_scaled, make_optimizer
from kerasdl.training.resumable import TrainingCheckpoint, fit_resumable, read_history
from kerasdl.training.runtime import (
    gpu_available,
    resolve_jit_compile,
    set_mixed_precision,
    set_seed,
    strategy,
)
from kerasdl.training.schedules import SCHEDULES, LinearCooldown, OneCycle, make_schedule


# Re-exported from kerasdl.generative on first access (PEP 562): the generative models
# subclass kerasdl.training.compile.CustomModelCompile, so importing them here eagerly would
# make the two packages import each other.
_GENERATIVE = {
    "GAN": "gan",
    "ConditionalGAN": "gan",
    "VAE": "vae",
    "latent_manifold": "vae",
    "DenoisingAutoencoder": "autoencoder",
    "corrupt": "autoencoder",
    "SampleGrid": "callbacks",
    "save_image_grid": "callbacks",
    "tile_images": "callbacks",
    "export_image_generator": "export",
    "verify_export": "export",
}


def __getattr__(name):
    """The generative names above and ``SiameseModel`` (home: :mod:`kerasdl.verification.siamese`) on first access (PEP 562):
    importing it here eagerly would make ``kerasdl.training`` and ``kerasdl.verification``
    import each other (the model subclasses ``kerasdl.training.compile.CustomModelCompile``)."""
    if name in _GENERATIVE:
        import importlib

        return getattr(importlib.import_module(f"kerasdl.generative.{_GENERATIVE[name]}"), name)
    if name == "SiameseModel":
        from kerasdl.verification.siamese import SiameseModel

        return SiameseModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AdversarialModel",
    "GAN",
    "VAE",
    "SiameseModel",
    "ConditionalGAN",
    "DenoisingAutoencoder",
    "SampleGrid",
    "TrainingCheckpoint",
    "corrupt",
    "latent_manifold",
    "save_image_grid",
    "tile_images",
    "export_image_generator",
    "verify_export",
    "fit_resumable",
    "read_history",
    "BestCheckpoint",
    "EpochTimer",
    "HistoryCSV",
    "StopOnNonFinite",
    "TimeBudget",
    "TrainingDiverged",
    "OPTIMIZERS",
    "SCHEDULES",
    "LinearCooldown",
    "OneCycle",
    "compile_model",
    "gpu_available",
    "make_callbacks",
    "loss_scaled",
    "make_optimizer",
    "make_schedule",
    "resolve_jit_compile",
    "set_mixed_precision",
    "set_seed",
    "strategy",
]
