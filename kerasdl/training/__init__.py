"""Training utilities: compile helper, schedules, callbacks, seeds, XLA, mixed precision, strategy."""

from kerasdl.training.callbacks import EpochTimer, make_callbacks
from kerasdl.training.compile import OPTIMIZERS, compile_model, make_optimizer
from kerasdl.training.runtime import (
    gpu_available,
    resolve_jit_compile,
    set_mixed_precision,
    set_seed,
    strategy,
)
from kerasdl.training.schedules import SCHEDULES, OneCycle, make_schedule

__all__ = [
    "EpochTimer", "OPTIMIZERS", "SCHEDULES", "OneCycle", "compile_model", "gpu_available", "make_callbacks",
    "make_optimizer", "make_schedule", "resolve_jit_compile", "set_mixed_precision", "set_seed", "strategy",
]
