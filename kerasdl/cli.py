"""The ``kerasdl`` command: ``kerasdl list``, ``kerasdl export``, ``kerasdl summary`` and one sub-command per app.

Exit status: 0 on success, 1 when the work fails (missing data, a failed check, training
that diverged to NaN/inf), 2 for a usage error (unknown builder or data set, bad flag or
value), as argparse does, and 130 when interrupted (Ctrl-C, SIGINT).

Interrupts: an app that trains tells the CLI about its run with :func:`record_run` (the
run folder, how to find its last checkpoint, and whether ``--resume RUN_DIR`` continues
it). On Ctrl-C the command then stops without a traceback, names the last checkpoint and
prints the command that resumes the run. An interrupt that lands where Python or a library
loses it (an object's ``__del__``, a weakref callback, a generator's clean-up, a bare
``except``: TensorFlow frees its iterators and functions that way, every epoch) would leave
the run going: :func:`interrupts_are_never_lost` raises it again every 50 ms until it stops
the command.

TensorFlow's C++ start-up notices (oneDNN, CUDA probing, CPU features) are quiet by
default: ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3 and the lines TensorFlow logs while it is
imported are dropped. A ``TF_CPP_MIN_LOG_LEVEL`` the user set is left alone (``0`` shows
everything).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import os
import re
import shlex
import sys
from pathlib import Path

from kerasdl._interrupts import interrupts_are_never_lost

# record_run lives in kerasdl._runs (library flows call it too); re-exported here for apps and users.
from kerasdl._runs import RunRecord, clear_run, current_run, record_run  # noqa: F401


class UsageError(Exception):
    """A bad command-line value; reported as ``kerasdl CMD: error: ...`` with exit status 2."""


# ------------------------------------------------------------------ the running command's run folder


def _resume_command(prog: str, argv, run_dir: Path) -> str:
    """``prog`` + ``argv`` with any ``--resume`` replaced by ``--resume run_dir``, shell-quoted."""
    kept, tokens = [], list(argv)
    while tokens:
        token = tokens.pop(0)
        if token == "--resume":
            tokens = tokens[1:]
        elif not token.startswith("--resume="):
            kept.append(token)
    return " ".join([prog, *map(shlex.quote, kept), "--resume", shlex.quote(str(run_dir))])


def _interrupted_message(prog: str, argv) -> str:
    record = current_run()
    if record is None:
        return f"{prog}: interrupted"
    checkpoint = record.checkpoint() if record.checkpoint is not None else None
    if checkpoint is None:
        return (
            f"{prog}: interrupted before the first checkpoint was written; nothing to resume "
            f"(run folder {record.run_dir})"
        )
    if record.resumable:
        return (
            f"{prog}: interrupted; last checkpoint: {checkpoint}. "
            f"Resume with: {_resume_command(prog, argv, record.run_dir)}"
        )
    return (
        f"{prog}: interrupted; the best model so far is {checkpoint} "
        "(this command has no --resume; run it again to retrain)"
    )


# ------------------------------------------------------------------ TensorFlow's start-up lines

# What TensorFlow (2.17+) logs through absl before absl::InitializeLog, which TF_CPP_MIN_LOG_LEVEL
# does not filter: the banner, and INFO/WARNING lines such as "I0000 00:00:1.2  123 port.cc:153] oneDNN".
_STARTUP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)|[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\] "
)


def _quiet_tensorflow_logs() -> bool:
    """Default ``TF_CPP_MIN_LOG_LEVEL`` to 3 unless the user set it; True when it was ours to set.

    Must run before TensorFlow is imported (it reads the variable once): nothing on the way
    from ``kerasdl.cli`` through the apps' modules to argument parsing imports it.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return False
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return True


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 captured, then replay all but its start-up notices.

    Only Python-level and error lines survive, so nothing useful is lost; warnings that
    Python prints during the import are replayed too.
    """
    if "tensorflow" in sys.modules:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines(keepends=True):
                if not _STARTUP_NOISE.match(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


# ------------------------------------------------------------------ running one command


def _run(parser: argparse.ArgumentParser, run, args, argv=(), *, quiet_tensorflow: bool = False) -> int:
    """Run one command and map its outcome to an exit status (see the module docstring)."""
    from kerasdl.data import DatasetNotFoundError

    clear_run()
    try:
        if quiet_tensorflow:
            _import_tensorflow_quietly()
        with _restoring_dtype_policy(), interrupts_are_never_lost():  # --mixed-precision must not outlive it
            return run(args) or 0
    except (UsageError, ValueError) as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except (DatasetNotFoundError, FileNotFoundError, FileExistsError, FloatingPointError) as error:
        # FloatingPointError: kerasdl.training.callbacks.TrainingDiverged and other NaN/inf stops
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{_interrupted_message(parser.prog, argv)}", file=sys.stderr)
        return 130
    finally:
        clear_run()


@contextlib.contextmanager
def _restoring_dtype_policy():
    import keras

    policy = keras.mixed_precision.global_policy()
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(policy)


def parse_builder_options(tokens) -> dict:
    """``["--depth", "20", "--alpha=0.5"]`` → ``{"depth": 20, "alpha": 0.5}``.

    Values are Python literals when they parse as one (numbers, True/False/None, tuples),
    else strings. Used for builder-specific flags such as ``kerasdl train resnet_cifar --depth 20``.
    """
    options, tokens = {}, list(tokens)
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("--") or len(token) < 3:
            raise UsageError(f"unexpected argument {token!r}")
        name, _, value = token[2:].partition("=")
        if not value:
            if not tokens or tokens[0].startswith("--"):
                raise UsageError(f"option --{name} needs a value")
            value = tokens.pop(0)
        try:
            options[name.replace("-", "_")] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[name.replace("-", "_")] = value
    return options


def check_builder_options(builder: str, options: dict, *, reserved=("input_shape", "num_classes", "input_tensor")):
    """Refuse a builder flag the builder ``builder`` (a name in ``kerasdl.models.BUILDERS``) does not take.

    ``options`` come from :func:`parse_builder_options`; ``reserved`` names the builder
    arguments the command sets itself (``kerasdl train`` sets ``input_shape`` and
    ``num_classes`` from the data set). Raises :class:`UsageError` for an unknown builder,
    listing the builders, or an unknown option, listing the builder's options as flags.
    """
    import inspect

    from kerasdl.models import BUILDERS

    if builder not in BUILDERS:
        raise UsageError(f"unknown builder {builder!r}; choose one of: {', '.join(BUILDERS)}")
    accepted = inspect.signature(BUILDERS[builder]).parameters
    for option in options:
        if option in reserved or option not in accepted:
            allowed = [f"--{p.replace('_', '-')}" for p in accepted if p not in reserved]
            raise UsageError(
                f"builder {builder!r} has no option --{option.replace('_', '-')}; "
                f"its options: {', '.join(allowed) or 'none'}"
            )


def _parse(parser, module, argv):
    """Parse ``argv``; apps with ``BUILDER_OPTIONS = True`` get unknown ``--flags`` as builder options."""
    if not getattr(module, "BUILDER_OPTIONS", False):
        return parser.parse_args(argv)
    args, extra = parser.parse_known_args(argv)
    try:
        args.builder_options = parse_builder_options(extra)
    except UsageError as error:
        parser.error(str(error))
    return args


def _program_name(module_name: str) -> str:
    """``python -m X`` as the user typed it, for usage lines and the resume command.

    ``module_name`` is the app's module (``kerasdl.apps.NAME``). When the process was started
    as ``python -m apps.NAME`` (the repository shim, which calls the app's ``main``), that is
    the name to show, so the printed ``--resume`` command runs the way the user ran it.
    """
    started_as = getattr(getattr(sys.modules.get("__main__"), "__spec__", None), "name", None)
    if started_as is not None and started_as == f"apps.{module_name.rpartition('.')[2]}":
        return f"python -m {started_as}"
    return f"python -m {module_name}"


def app_main(module_name: str, argv=None) -> int:
    """Entry point shared by every app's ``main`` (``python -m kerasdl.apps.NAME`` / ``apps.NAME``)."""
    module = sys.modules["__main__"] if module_name == "__main__" else importlib.import_module(module_name)
    if module_name == "__main__":  # run as `python -m kerasdl.apps.NAME`: name the app, not __main__
        module_name = getattr(module.__spec__, "name", None) or module_name
    parser = argparse.ArgumentParser(
        prog=_program_name(module_name),
        description=module.DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    module.add_arguments(parser)
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet = _quiet_tensorflow_logs()
    return _run(parser, module.run, _parse(parser, module, argv), argv, quiet_tensorflow=quiet)


# ------------------------------------------------------------------ built-in sub-commands


def _list(args) -> int:
    from kerasdl.apps import APPS
    from kerasdl.data import DATASETS
    from kerasdl.models import BUILDERS

    print("Builders (kerasdl.models, usable with `kerasdl train BUILDER`):")
    for name, builder in BUILDERS.items():
        summary = (builder.__doc__ or "").strip().splitlines()[0] if builder.__doc__ else ""
        print(f"  {name:22s} {summary}")
    print("\nData sets (--dataset):")
    print("  " + ", ".join(DATASETS))
    print("\nApps (`kerasdl APP` or `python -m kerasdl.apps.APP`):")
    for name, module_name in APPS.items():
        print(f"  {name:22s} {importlib.import_module(module_name).DESCRIPTION}")
    return 0


def _add_export_arguments(parser):
    parser.add_argument("model", help="a .keras file to export")
    parser.add_argument("output", help="folder to write the SavedModel to (must not exist unless --overwrite)")
    parser.add_argument(
        "--uint8-images", action="store_true", help="serve uint8 images: add Rescaling(1/255) in front of the model"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing export")
    tflite = parser.add_argument_group("TFLite (kerasdl.tflite)")
    tflite.add_argument(
        "--tflite",
        action="store_true",
        help="also write model.tflite (float32) and model_int8.tflite (int8, calibrated on training data) into "
        "the SavedModel folder, and compare them on held-out data (needs --tflite-data)",
    )
    tflite.add_argument(
        "--tflite-data",
        metavar="DATA",
        help="a kerasdl data set name (pixels in [0, 1], as `kerasdl train`; held-out = its test split) or an "
        "image folder with one sub-folder per class (pixels in [0, 255], as `kerasdl finetune`; held-out = the "
        "stratified validation split); with --uint8-images, uint8 pixels either way",
    )
    tflite.add_argument("--calibration-examples", type=int, default=200, help="training examples calibrating int8")
    tflite.add_argument(
        "--validation-fraction", type=float, default=0.2, help="held-out fraction of an image folder (as finetune)"
    )
    tflite.add_argument("--seed", type=int, default=0, help="split and calibration sample seed (as finetune)")
    tflite.add_argument(
        "--per-tensor",
        action="store_true",
        help="one int8 weight scale per tensor instead of per channel (for accelerators that need it; "
        "can cost much accuracy, as the report shows)",
    )


def _export(args) -> int:
    import keras

    from kerasdl.export import export_saved_model, load_keras, with_preprocessing

    if args.tflite and not args.tflite_data:
        raise UsageError("--tflite needs --tflite-data (training examples calibrate the int8 model)")
    if args.tflite_data and not args.tflite:
        raise UsageError("--tflite-data is only used with --tflite")
    if args.per_tensor and not args.tflite:
        raise UsageError("--per-tensor is only used with --tflite")
    model = load_keras(args.model, compile=False)
    if args.uint8_images:
        model = with_preprocessing(model, keras.layers.Rescaling(1 / 255))
    path = export_saved_model(model, args.output, overwrite=args.overwrite)
    print(f"SavedModel written to {path} (endpoint 'serve')")
    if args.tflite:
        from kerasdl.data import DATASETS
        from kerasdl.tflite import dataset_arrays, export_tflite, image_folder_arrays

        if args.tflite_data in DATASETS:
            x_train, x_held_out, y_held_out = dataset_arrays(args.tflite_data, uint8=args.uint8_images)
        elif Path(args.tflite_data).is_dir():
            x_train, x_held_out, y_held_out = image_folder_arrays(
                args.tflite_data,
                image_size=model.input_shape[1:3],
                validation_fraction=args.validation_fraction,
                seed=args.seed,
                uint8=args.uint8_images,
            )
        else:
            raise UsageError(
                f"--tflite-data {args.tflite_data!r} is neither a data set ({', '.join(DATASETS)}) nor a folder"
            )
        report = export_tflite(
            model,
            path,
            representative_data=x_train,
            x_held_out=x_held_out,
            y_held_out=y_held_out,
            calibration_examples=args.calibration_examples,
            seed=args.seed,
            per_channel=not args.per_tensor,
        )
        for line in report.lines():
            print(line)
    return 0


def _add_summary_arguments(parser):
    parser.add_argument("model", metavar="BUILDER", help="a builder name (see `kerasdl list`) or a .keras file")
    parser.add_argument(
        "--input-shape",
        nargs="+",
        type=int,
        metavar="N",
        help="input shape without the batch axis, e.g. --input-shape 32 32 3 (default: the builder's or file's)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--expand-nested", action="store_true", help="one row per layer of a nested model (named outer/inner)"
    )
    parser.epilog = (
        "Other --flags go to the builder, as with `kerasdl train` (e.g. `kerasdl summary resnet_cifar --depth 56`, "
        "`--num-classes 10`). Weights are never initialised: the summary of a large builder costs only its graph."
    )


def _summary(args) -> int:
    from kerasdl.analysis.summary import format_summary, summarize, summarize_builder

    options = getattr(args, "builder_options", {})
    if args.model.endswith(".keras") or Path(args.model).is_file():
        if options:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in options)
            raise UsageError(f"builder flags ({flags}) apply to a builder, not to a .keras file")
        from kerasdl.export import load_keras

        model = load_keras(args.model, compile=False)
        summary = summarize(model, input_shape=args.input_shape, expand_nested=args.expand_nested)
    else:
        check_builder_options(args.model, options, reserved=("input_shape", "input_tensor", "weights"))
        summary = summarize_builder(
            args.model, input_shape=args.input_shape, expand_nested=args.expand_nested, **options
        )
    print(summary.to_json() if args.json else format_summary(summary))
    return 0


_BUILTINS = {
    "list": ("list builders, data sets and apps", lambda p: None, _list),
    "export": ("export a .keras model as a SavedModel (and TFLite with --tflite)", _add_export_arguments, _export),
    "summary": (
        "per-layer output shape, parameters, MACs and receptive field of a builder or .keras file",
        _add_summary_arguments,
        _summary,
    ),
}
# Built-ins whose unknown --flags are builder options (as apps with BUILDER_OPTIONS = True).
_BUILDER_OPTION_BUILTINS = frozenset({"summary"})


def build_parser():
    from kerasdl.apps import APPS

    parser = argparse.ArgumentParser(prog="kerasdl", description="kerasdl: Keras builders, training loops and apps.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    handlers = {}
    for name, (help_text, add_arguments, run) in _BUILTINS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        add_arguments(sub)
        handlers[name] = (sub, run)
    for name, module_name in APPS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(
            name,
            help=module.DESCRIPTION,
            description=module.DESCRIPTION,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        module.add_arguments(sub)
        handlers[name] = (sub, module)
    return parser, handlers


def main(argv=None) -> int:
    quiet = _quiet_tensorflow_logs()  # before anything imports TensorFlow
    parser, handlers = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    command = parser.parse_known_args(argv)[0].command
    sub, handler = handlers[command]
    if callable(handler):  # a built-in sub-command
        if command in _BUILDER_OPTION_BUILTINS:
            args, extra = sub.parse_known_args(argv[argv.index(command) + 1 :])
            try:
                args.builder_options = parse_builder_options(extra)
            except UsageError as error:
                sub.error(str(error))
            return _run(sub, handler, args, quiet_tensorflow=quiet)
        return _run(sub, handler, parser.parse_args(argv), quiet_tensorflow=quiet)
    rest = argv[argv.index(command) + 1 :]
    return _run(sub, handler.run, _parse(sub, handler, rest), rest, quiet_tensorflow=quiet)


if __name__ == "__main__":
    sys.exit(main())
