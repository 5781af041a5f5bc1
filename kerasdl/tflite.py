"""TensorFlow Lite export: a float32 model and an int8 post-training-quantised one, checked on held-out data.

The seeds motivate MobileNet by phones; a phone runs a ``.tflite`` file. :func:`export_tflite`
converts a single-input, single-output Keras model twice with TensorFlow's own converter
(``tf.lite.TFLiteConverter``) and writes, atomically, into a folder (the SavedModel's, when
the command line exports one):

* ``model.tflite``: float32 weights and arithmetic, the same graph as the Keras model;
* ``model_int8.tflite``: full-integer post-training quantisation (Jacob et al., "Quantization
  and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference", CVPR
  2018): weights int8 per output channel, activations int8 per tensor with ranges measured
  by running a *representative data set* drawn from the training data through the float
  model. Every operator is integer (``TFLITE_BUILTINS_INT8``; conversion fails rather than
  silently leaving a float op); the input and output stay float32, the interpreter
  quantises them at the edges, so the file is a drop-in replacement for the float one. A
  real value ``r`` is stored as ``q = round(r / scale) + zero_point``.

The conversion path is the one Keras 3 itself uses for LiteRT export: the model is written
as a SavedModel through ``keras.export.ExportArchive`` (inference call, ``training=False``)
and converted with ``TFLiteConverter.from_saved_model``.

Both files are then run on the held-out examples: the report gives file sizes, the Keras,
float and int8 accuracies, the share of examples where int8 and float pick the same class,
and the largest absolute output difference (int8 vs float; float vs Keras, which must agree
to float rounding).

Running ``.tflite`` files: TensorFlow 2.21's ``tf.lite.Interpreter`` still works but warns on
every construction that it is deprecated in favour of the LiteRT package ``ai-edge-litert``.
:class:`TFLiteModel` uses ``ai_edge_litert.interpreter.Interpreter`` when that package is
installed, and otherwise ``tf.lite.Interpreter`` with that one warning silenced.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kerasdl._validation import check_float, check_int

__all__ = [
    "FLOAT_FILE",
    "INT8_FILE",
    "TFLiteModel",
    "TFLiteReport",
    "convert_to_tflite",
    "export_tflite",
    "dataset_arrays",
    "image_folder_arrays",
]

FLOAT_FILE = "model.tflite"
INT8_FILE = "model_int8.tflite"
# Float TFLite vs Keras on the same inputs: the same float32 graph, but TFLite's kernels (XNNPACK) sum
# in another order; beyond this the conversion is wrong.
FLOAT_TOLERANCE = 1e-3


def _single_input_output(model):
    import keras

    if not isinstance(model, keras.Model) or len(getattr(model, "inputs", None) or []) != 1:
        raise ValueError("model must be a functional or Sequential keras.Model with exactly one input")
    if len(model.outputs) != 1:
        raise ValueError(f"model must have exactly one output for TFLite export, got {len(model.outputs)}")
    return model.inputs[0]


def _check_examples(name, x, model_input):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of examples, got {type(x).__name__}")
    expected = tuple(model_input.shape[1:])
    if x.ndim != len(expected) + 1 or any(e is not None and e != s for e, s in zip(expected, x.shape[1:])):
        raise ValueError(f"{name} must have shape (N, *{expected}) to match the model input, got {x.shape}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty")
    return x.astype(model_input.dtype, copy=False)


def convert_to_tflite(
    model, *, quantization: str | None = None, representative_data=None, per_channel: bool = True
) -> bytes:
    """Convert ``model`` to a TFLite flatbuffer (the bytes of a ``.tflite`` file).

    Args:
        model: a functional or Sequential ``keras.Model`` with one input and one output.
        quantization: ``None`` (float32) or ``"int8"`` (full-integer post-training
            quantisation; the input and output stay float32).
        representative_data: for ``"int8"``: a numpy array of examples shaped like the model
            input (a few hundred training examples suffice), run through the model one at a
            time to measure every activation's range.
        per_channel: for ``"int8"``: one weight scale per output channel (TFLite's default).
            ``False`` gives one scale per tensor, which some integer-only accelerators need; it
            drops the per-channel scales and zero points from the file but can cost much
            accuracy where channels' ranges differ, as in MobileNetV2's depthwise convolutions
            with batch norm folded in (``benchmarks/tflite.py`` measures both).

    Returns:
        The ``.tflite`` file's bytes.

    Raises:
        ValueError: a bad argument, or an operator with no int8 kernel (``"int8"``).
    """
    from kerasdl._backend import require_tensorflow

    require_tensorflow("TFLite export")
    import keras
    import tensorflow as tf

    model_input = _single_input_output(model)
    if quantization not in (None, "int8"):
        raise ValueError(f"quantization must be None or 'int8', got {quantization!r}")
    if not per_channel and quantization != "int8":
        raise ValueError("per_channel=False applies to quantization='int8' only")
    if quantization == "int8":
        if representative_data is None:
            raise ValueError("quantization='int8' needs representative_data (examples from the training data)")
        representative_data = _check_examples("representative_data", representative_data, model_input)

    spec = tf.TensorSpec((None, *model_input.shape[1:]), model_input.dtype, name="inputs")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=[spec])
    with tempfile.TemporaryDirectory() as folder:
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=["serve"])
        if quantization == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]

            def representative_dataset():
                for example in representative_data:
                    yield [example[None]]

            converter.representative_dataset = representative_dataset
            # The converter's only switch for per-tensor weights is this private attribute
            # (TensorFlow 2.8+); the public API has none.
            converter._experimental_disable_per_channel = not per_channel
        return converter.convert()


def _interpreter_class():
    try:  # the LiteRT runtime, where installed (the successor of tf.lite.Interpreter)
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter


class TFLiteModel:
    """A ``.tflite`` model (a file path or its bytes) that predicts on numpy batches.

    Quantised inputs/outputs (an integer tensor with a scale) are (de)quantised here with
    ``q = round(r / scale) + zero_point``; float ones pass through.
    """

    def __init__(self, model):
        interpreter = _interpreter_class()
        source = (
            {"model_content": bytes(model)} if isinstance(model, (bytes, bytearray)) else {"model_path": str(model)}
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\s*Warning: tf\.lite\.Interpreter is deprecated")
            self._interpreter = interpreter(**source)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._batch = None

    @property
    def input_dtype(self):
        """The dtype of the file's input tensor."""
        return self._input["dtype"]

    def predict(self, x, batch_size: int = 32) -> np.ndarray:
        """Outputs for ``x`` (examples along the first axis), computed ``batch_size`` at a time."""
        batch_size = check_int("batch_size", batch_size, minimum=1)
        x = np.asarray(x)
        outputs = []
        for start in range(0, len(x), batch_size):
            outputs.append(self._run(x[start : start + batch_size]))
        if not outputs:
            return np.zeros((0, *self._output["shape"][1:]), np.float32)
        return np.concatenate(outputs)

    def _run(self, batch):
        details, interp = self._input, self._interpreter
        if self._batch != len(batch):
            interp.resize_tensor_input(details["index"], [len(batch), *batch.shape[1:]])
            interp.allocate_tensors()
            self._batch = len(batch)
        scale, zero_point = details["quantization"]
        if np.issubdtype(details["dtype"], np.integer) and scale and np.issubdtype(batch.dtype, np.floating):
            info = np.iinfo(details["dtype"])
            batch = np.clip(np.round(batch / scale) + zero_point, info.min, info.max)
        interp.set_tensor(details["index"], batch.astype(details["dtype"]))
        interp.invoke()
        out = interp.get_tensor(self._output["index"])
        scale, zero_point = self._output["quantization"]
        if np.issubdtype(out.dtype, np.integer) and scale:
            out = (out.astype(np.float32) - zero_point) * scale
        return out.astype(np.float32, copy=False)


@dataclass
class TFLiteReport:
    """What :func:`export_tflite` wrote and measured (``asdict`` gives the JSON form).

    Accuracies are on the held-out examples (``None`` without labels); ``accuracy_drop_points``
    is ``100 * (float_accuracy - int8_accuracy)``; ``int8_agreement`` the share of examples
    where the int8 model's top class equals the float model's; ``max_abs_diff_int8`` the
    largest ``|int8 output - float output|`` over every example and output unit.
    """

    float_path: str
    int8_path: str
    float_bytes: int
    int8_bytes: int
    int8_size_ratio: float
    calibration_examples: int
    held_out_examples: int
    keras_accuracy: float | None
    float_accuracy: float | None
    int8_accuracy: float | None
    accuracy_drop_points: float | None
    int8_agreement: float
    max_abs_diff_int8: float
    max_abs_diff_float_vs_keras: float
    seconds: float
    int8_per_channel: bool = True
    int8_quantization_parameter_bytes: int | None = None

    def to_dict(self) -> dict:
        """The report as a plain dict (for ``summary.json``)."""
        return asdict(self)

    def lines(self) -> list[str]:
        """Human-readable lines for a command's output."""

        def acc(value):
            return "n/a" if value is None else f"{value:.4f}"

        lines = [
            f"TFLite float32  {self.float_path} ({self.float_bytes:,} bytes)",
            f"TFLite int8     {self.int8_path} ({self.int8_bytes:,} bytes, {100 * self.int8_size_ratio:.1f}% "
            f"of float; {'per-channel' if self.int8_per_channel else 'per-tensor'} weight scales; calibrated on "
            f"{self.calibration_examples} training examples)",
            f"held-out        {self.held_out_examples} examples: accuracy Keras {acc(self.keras_accuracy)}, "
            f"float {acc(self.float_accuracy)}, int8 {acc(self.int8_accuracy)}",
            f"int8 vs float   same top class on {100 * self.int8_agreement:.1f}%, largest output difference "
            f"{self.max_abs_diff_int8:.4g} (float vs Keras {self.max_abs_diff_float_vs_keras:.2g})",
        ]
        if self.accuracy_drop_points is not None:
            lines[2] += f" (int8 - float: {0.0 - self.accuracy_drop_points:+.2f} points)"
        if self.int8_quantization_parameter_bytes is not None:
            lines[1] += f"; {self.int8_quantization_parameter_bytes:,} bytes of it are scales and zero points"
        return lines


def quantization_parameter_bytes(tflite_model: bytes) -> int | None:
    """Bytes a ``.tflite`` file spends on quantisation scales and zero points.

    The schema stores each tensor's scales as float32 and its zero points as int64, one pair
    per channel for per-channel weights and biases; this counts ``4 + 8`` bytes per pair (plus
    any min/max ranges). ``None`` if this TensorFlow does not ship the flatbuffer schema module.
    """
    try:
        from tensorflow.lite.python import schema_py_generated as schema
    except ImportError:  # pragma: no cover - the module has shipped with every TF 2.x wheel
        return None
    model = schema.ModelT.InitFromPackedBuf(bytes(tflite_model), 0)
    total = 0
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            params = tensor.quantization
            if params is None:
                continue
            for field, width in (("scale", 4), ("zeroPoint", 8), ("min", 4), ("max", 4)):
                values = getattr(params, field)
                total += 0 if values is None else len(values) * width
    return total


def _accuracy(outputs, labels):
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim == 2:  # one-hot
        labels = labels.argmax(-1)
    if outputs.shape[-1] == 1:  # one sigmoid unit
        predicted = (outputs[:, 0] > 0.5).astype(int)
    else:
        predicted = outputs.argmax(-1)
    return float(np.mean(predicted == labels.reshape(-1)))


def export_tflite(
    model,
    folder,
    *,
    representative_data,
    x_held_out,
    y_held_out=None,
    calibration_examples: int = 200,
    seed: int = 0,
    batch_size: int = 32,
    per_channel: bool = True,
) -> TFLiteReport:
    """Write ``model.tflite`` (float32) and ``model_int8.tflite`` (int8) into ``folder`` and check them.

    Both files are converted and evaluated before either is written, then each is written
    atomically (:func:`kerasdl.export.atomic_file`), replacing an older one.

    Args:
        model: a functional or Sequential ``keras.Model``, one input and one output.
        folder: where to write (e.g. the SavedModel folder of the same model); created if
            missing.
        representative_data: training examples shaped like the model input, in the units the
            model takes; ``calibration_examples`` of them (drawn at random with ``seed``)
            calibrate the int8 ranges.
        x_held_out: held-out examples to compare the models on.
        y_held_out: their labels (class ids or one-hot), for accuracies; ``None`` skips them.
        calibration_examples: how many training examples calibrate (>= 1; all if fewer).
        seed: picks the calibration examples.
        batch_size: examples per interpreter call.
        per_channel: per-channel int8 weight scales (the default) or one per tensor
            (:func:`convert_to_tflite`).

    Returns:
        A :class:`TFLiteReport`.

    Raises:
        RuntimeError: the float TFLite model disagrees with the Keras model by more than
            1e-3 (a broken conversion).
    """
    import time

    from kerasdl.export import atomic_file, check_export_agrees

    started = time.perf_counter()
    model_input = _single_input_output(model)
    calibration_examples = check_int("calibration_examples", calibration_examples, minimum=1)
    representative_data = _check_examples("representative_data", representative_data, model_input)
    x_held_out = _check_examples("x_held_out", x_held_out, model_input)
    if y_held_out is not None and len(y_held_out) != len(x_held_out):
        raise ValueError(f"y_held_out has {len(y_held_out)} labels for {len(x_held_out)} examples in x_held_out")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(representative_data), min(calibration_examples, len(representative_data)), replace=False)
    calibration = representative_data[np.sort(chosen)]

    float_bytes = convert_to_tflite(model)
    int8_bytes = convert_to_tflite(model, quantization="int8", representative_data=calibration, per_channel=per_channel)

    keras_out = np.asarray(model.predict(x_held_out, batch_size=batch_size, verbose=0), np.float32)
    float_out = TFLiteModel(float_bytes).predict(x_held_out, batch_size)
    int8_out = TFLiteModel(int8_bytes).predict(x_held_out, batch_size)
    float_vs_keras = check_export_agrees(float_out, keras_out, tolerance=FLOAT_TOLERANCE, what="float TFLite outputs")
    if float_out.shape[-1] == 1:
        agreement = float(np.mean((float_out[:, 0] > 0.5) == (int8_out[:, 0] > 0.5)))
    else:
        agreement = float(np.mean(float_out.argmax(-1) == int8_out.argmax(-1)))

    folder = Path(folder)
    float_path, int8_path = folder / FLOAT_FILE, folder / INT8_FILE
    for path, content in ((float_path, float_bytes), (int8_path, int8_bytes)):
        with atomic_file(path) as tmp:
            tmp.write_bytes(content)

    float_accuracy = _accuracy(float_out, y_held_out)
    int8_accuracy = _accuracy(int8_out, y_held_out)
    return TFLiteReport(
        float_path=str(float_path),
        int8_path=str(int8_path),
        float_bytes=len(float_bytes),
        int8_bytes=len(int8_bytes),
        int8_size_ratio=len(int8_bytes) / len(float_bytes),
        calibration_examples=len(calibration),
        held_out_examples=len(x_held_out),
        keras_accuracy=_accuracy(keras_out, y_held_out),
        float_accuracy=float_accuracy,
        int8_accuracy=int8_accuracy,
        accuracy_drop_points=None if y_held_out is None else round(100 * (float_accuracy - int8_accuracy), 4),
        int8_agreement=agreement,
        max_abs_diff_int8=float(np.max(np.abs(int8_out - float_out))),
        max_abs_diff_float_vs_keras=float_vs_keras,
        seconds=round(time.perf_counter() - started, 1),
        int8_per_channel=per_channel,
        int8_quantization_parameter_bytes=quantization_parameter_bytes(int8_bytes),
    )


# --------------------------------------------------------------------------- where the examples come from


def dataset_arrays(name: str, *, uint8: bool = False):
    """A kerasdl data set (``kerasdl list``) as ``(x_train, x_test, y_test)`` for :func:`export_tflite`.

    Pixels are float32 in [0, 1], as ``kerasdl train`` feeds them, or uint8 in [0, 255] with
    ``uint8=True`` (a model exported with ``--uint8-images``).
    """
    from kerasdl.data import load_image_classification

    data = load_image_classification(name)
    if uint8:
        return _to_uint8(data.x_train), _to_uint8(data.x_test), data.y_test
    return data.x_train, data.x_test, data.y_test


def _to_uint8(x):
    return np.round(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8)


def image_folder_arrays(
    directory,
    *,
    image_size,
    validation_fraction: float = 0.2,
    seed: int = 0,
    max_train: int = 500,
    uint8: bool = False,
):
    """An image folder (one sub-folder per class) as ``(x_train, x_val, y_val)`` for :func:`export_tflite`.

    The split is :func:`kerasdl.transfer.data.image_folder_datasets`' stratified one, so with
    the same ``validation_fraction`` and ``seed`` the held-out images are exactly the
    validation images of the ``kerasdl finetune`` run. Pixels are float32 in [0, 255] at
    ``image_size`` (as the fine-tuned models take them), or uint8 with ``uint8=True``; only
    the first ``max_train`` training images (after the split's shuffle) are decoded.
    """
    import tensorflow as tf

    from kerasdl.transfer.data import image_folder_datasets, scan_image_folder

    check_float("validation_fraction", validation_fraction, minimum=0.0, maximum=0.9, min_inclusive=False)
    max_train = check_int("max_train", max_train, minimum=1)
    folder = scan_image_folder(directory)
    train_ds, val_ds, val_labels = image_folder_datasets(
        folder,
        image_size=tuple(image_size),
        batch_size=64,
        validation_fraction=validation_fraction,
        seed=seed,
        cache=False,
    )
    x_train = np.concatenate([x.numpy() for x, _ in train_ds.unbatch().take(max_train).batch(64)])
    x_val = np.concatenate([x.numpy() for x, _ in val_ds])
    if uint8:
        x_train, x_val = (
            np.asarray(tf.cast(tf.clip_by_value(tf.round(a), 0, 255), tf.uint8)) for a in (x_train, x_val)
        )
    return x_train, x_val, val_labels
