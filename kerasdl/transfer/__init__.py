"""Transfer learning: pretrained backbones, checked image folders, two-phase fine-tuning, a
serving export that takes uint8 images or encoded image bytes, and the whole flow from an
image folder to a checked export (:func:`fine_tune_image_classifier`, ``kerasdl finetune``'s)."""

from kerasdl.transfer.backbones import KERAS_BACKBONES, LoadedBackbone, backbone_names, load_backbone
from kerasdl.transfer.data import ImageFolder, image_folder_datasets, scan_image_folder
from kerasdl.transfer.finetune import FineTuneResult, build_transfer_model, fine_tune, set_trainable_top
from kerasdl.transfer.image_classifier import ImageClassifierResult, fine_tune_image_classifier
from kerasdl.transfer.serving import export_image_classifier

__all__ = [
    "KERAS_BACKBONES",
    "FineTuneResult",
    "ImageClassifierResult",
    "ImageFolder",
    "LoadedBackbone",
    "backbone_names",
    "build_transfer_model",
    "export_image_classifier",
    "fine_tune",
    "fine_tune_image_classifier",
    "image_folder_datasets",
    "load_backbone",
    "scan_image_folder",
    "set_trainable_top",
]
