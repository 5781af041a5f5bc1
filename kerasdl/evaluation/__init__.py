"""Evaluation: classification reports (scikit-learn metrics) and task-specific scores."""

from kerasdl.evaluation.classification import classification_summary

__all__ = ["classification_summary"]
