"""Text models beyond the builders: sentence encoders in TF Hub format, and character-level
text generation.

- :mod:`kerasdl.text.encoders`: export a text encoder as a TF Hub-format SavedModel (a small
  self-made one, or a KerasHub BERT preset such as all-MiniLM-L6-v2) and load any TF Hub
  handle, SavedModel or KerasHub preset as a Keras 3 layer (raw strings → sentence
  embeddings), frozen or fine-tuned (:class:`kerasdl.layers.hub.HubLayer`).
- :mod:`kerasdl.text.generation`: character vocabulary, next-character training windows,
  and sampling (temperature, top-k) that carries the recurrent state from step to step.
- :mod:`kerasdl.text.export`: a text classifier as a SavedModel that takes raw strings.
- :mod:`kerasdl.text.classifier`: the text-classification flow (data → vectoriser →
  recurrent classifier or pretrained encoder → evaluation → export), ``kerasdl sentiment``'s.
- :mod:`kerasdl.text.char_lm`: the character language model's training flow (train →
  evaluate → sample → export the generator), ``kerasdl textgen``'s.
"""

from kerasdl.text.char_lm import CharLanguageModelResult, train_char_language_model
from kerasdl.text.classifier import TextClassifierResult, train_text_classifier
from kerasdl.text.encoders import (
    export_keras_hub_encoder,
    export_small_text_encoder,
    is_keras_hub_preset,
    minilm_preset_dir,
    text_encoder_layer,
)
from kerasdl.text.export import export_text_classifier, reload_and_predict
from kerasdl.text.generation import (
    CharVocabulary,
    char_windows,
    generate_text,
    load_text_file,
    sample_next,
)

__all__ = [
    "CharLanguageModelResult",
    "CharVocabulary",
    "TextClassifierResult",
    "char_windows",
    "export_keras_hub_encoder",
    "export_small_text_encoder",
    "export_text_classifier",
    "generate_text",
    "is_keras_hub_preset",
    "load_text_file",
    "minilm_preset_dir",
    "reload_and_predict",
    "sample_next",
    "text_encoder_layer",
    "train_char_language_model",
    "train_text_classifier",
]
