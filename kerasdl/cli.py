"""The ``kerasdl`` command: ``kerasdl list``, ``kerasdl export`` and one sub-command per app.

Exit status: 0 on success, 1 when the work fails (missing data, a failed check), 2 for a
usage error (unknown builder or data set, bad flag or value), as argparse does.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import sys


class UsageError(Exception):
    """A bad command-line value; reported as ``kerasdl CMD: error: ...`` with exit status 2."""


def _run(parser: argparse.ArgumentParser, run, args) -> int:
    from kerasdl.data import DatasetNotFoundError

    try:
        with _restoring_dtype_policy():  # --mixed-precision must not outlive the command
            return run(args) or 0
    except (UsageError, ValueError) as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except (DatasetNotFoundError, FileNotFoundError, FileExistsError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 1


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


def app_main(module_name: str, argv=None) -> int:
    """Entry point shared by every ``python -m apps.NAME``."""
    module = sys.modules["__main__"] if module_name == "__main__" else importlib.import_module(module_name)
    if module_name == "__main__":  # run as `python -m apps.NAME`: name the app, not __main__
        module_name = getattr(module.__spec__, "name", None) or module_name
    parser = argparse.ArgumentParser(
        prog=f"python -m {module_name}", description=module.DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    module.add_arguments(parser)
    return _run(parser, module.run, _parse(parser, module, argv))


# ------------------------------------------------------------------ built-in sub-commands


def _list(args) -> int:
    from apps import APPS
    from kerasdl.data import DATASETS
    from kerasdl.models import BUILDERS

    print("Builders (kerasdl.models, usable with `kerasdl train BUILDER`):")
    for name, builder in BUILDERS.items():
        summary = (builder.__doc__ or "").strip().splitlines()[0] if builder.__doc__ else ""
        print(f"  {name:22s} {summary}")
    print("\nData sets (--dataset):")
    print("  " + ", ".join(DATASETS))
    print("\nApps (`kerasdl APP` or `python -m apps.APP`):")
    for name, module_name in APPS.items():
        print(f"  {name:22s} {importlib.import_module(module_name).DESCRIPTION}")
    return 0


def _add_export_arguments(parser):
    parser.add_argument("model", help="a .keras file to export")
    parser.add_argument("output", help="folder to write the SavedModel to (must not exist unless --overwrite)")
    parser.add_argument("--uint8-images", action="store_true",
                        help="serve uint8 images: add Rescaling(1/255) in front of the model")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing export")


def _export(args) -> int:
    import keras

    from kerasdl.export import export_saved_model, load_keras, with_preprocessing

    model = load_keras(args.model, compile=False)
    if args.uint8_images:
        model = with_preprocessing(model, keras.layers.Rescaling(1 / 255))
    path = export_saved_model(model, args.output, overwrite=args.overwrite)
    print(f"SavedModel written to {path} (endpoint 'serve')")
    return 0


_BUILTINS = {
    "list": ("list builders, data sets and apps", lambda p: None, _list),
    "export": ("export a .keras model as a SavedModel", _add_export_arguments, _export),
}


def build_parser():
    from apps import APPS

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
            name, help=module.DESCRIPTION, description=module.DESCRIPTION,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        module.add_arguments(sub)
        handlers[name] = (sub, module)
    return parser, handlers


def main(argv=None) -> int:
    parser, handlers = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    command = parser.parse_known_args(argv)[0].command
    sub, handler = handlers[command]
    if callable(handler):  # a built-in sub-command
        return _run(sub, handler, parser.parse_args(argv))
    rest = argv[argv.index(command) + 1:]
    return _run(sub, handler.run, _parse(sub, handler, rest))


if __name__ == "__main__":
    sys.exit(main())
