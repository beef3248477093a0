"""Training FiGCLIP adapters with Accelerate (used by `recipes/train_figclip.py`)."""

from .arguments import DataArguments, FigClipTrainingArguments, ModelArguments
from .text_cache import TextEmbeddingCache, cached_text_inputs
from .trainer import FigClipTrainer, TrainingSetupError, TrainResult, train_figclip

__all__ = [
    "DataArguments",
    "FigClipTrainer",
    "FigClipTrainingArguments",
    "ModelArguments",
    "TextEmbeddingCache",
    "TrainResult",
    "TrainingSetupError",
    "cached_text_inputs",
    "train_figclip",
]
