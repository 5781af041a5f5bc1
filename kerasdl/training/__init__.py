"""Training utilities (compile helper, schedules, callbacks, seeds, XLA, mixed precision, strategy),
the run-safety callbacks (finite-only atomic checkpoints, NaN stops that raise ``TrainingDiverged``)
and the ``keras.Model`` subclasses with custom ``train_step``: VAE, GAN, denoising autoencoder,
adversarial training, and
``SiameseModel`` (home: :mod:`kerasdl.verification`, re-exported here on first access); ``fit`` that a run folder resumes
(:mod:`kerasdl.training.resumable`) and image generators as SavedModels
(:mod:`kerasdl.training.generative_export`)."""

from kerasdl.training.adversarial import AdversarialModel
from kerasdl.training.autoencoder import DenoisingAutoencoder, corrupt
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
from kerasdl.training.gan import GAN, ConditionalGAN
from kerasdl.training.generative_callbacks import SampleGrid, TrainingCheckpoint, save_image_grid, tile_images
from kerasdl.training.generative_export import export_image_generator, verify_export
from kerasdl.training.resumable import fit_resumable, read_history
from kerasdl.training.runtime import (
    gpu_available,
    resolve_jit_compile,
    set_mixed_precision,
    set_seed,
    strategy,
)
from kerasdl.training.schedules import SCHEDULES, OneCycle, make_schedule
from kerasdl.training.vae import VAE, latent_manifold


def __getattr__(name):
    """``SiameseModel`` (home: :mod:`kerasdl.verification.siamese`) on first access (PEP 562):
    importing it here eagerly would make ``kerasdl.training`` and ``kerasdl.verification``
    import each other (the model subclasses ``kerasdl.training.compile.CustomModelCompile``)."""
    if name == "SiameseModel":
        from kerasdl.verification.siamese import SiameseModel

        return SiameseModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AdversarialModel", "GAN", "VAE", "SiameseModel", "ConditionalGAN", "DenoisingAutoencoder", "SampleGrid", "TrainingCheckpoint", "corrupt",
    "latent_manifold", "save_image_grid", "tile_images", "export_image_generator", "verify_export",
    "fit_resumable", "read_history",
    "BestCheckpoint", "EpochTimer", "HistoryCSV", "StopOnNonFinite", "TimeBudget", "TrainingDiverged", "OPTIMIZERS", "SCHEDULES", "OneCycle", "compile_model", "gpu_available", "make_callbacks",
    "loss_scaled", "make_optimizer", "make_schedule", "resolve_jit_compile", "set_mixed_precision", "set_seed", "strategy",
]
