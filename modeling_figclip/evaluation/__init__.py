"""Evaluation suite for the paper's tasks on any CLIP-family checkpoint (base CLIP, FiGCLIP, merged, adapters).

Entry points:

- `evaluate(EvaluationArguments(...))` — load a model, run one task, write `results.json`;
- `run_suite("suite.yaml")` — several models × tasks → per-run JSON, `report.md`, `report.png`;
- `ClipEncoder` — batched, de-duplicated text/image/video embedding for any CLIP-family model;
- the task functions in `compositional`, `retrieval`, `action_recognition`, `vidsitu`, `features`;
- `metrics`: each benchmark's scoring rule and the tie rules (`retrieval_metrics_from_similarity`,
  `classification_metrics`, ...); `bootstrap`: confidence intervals and paired differences over per-item tables.

The readers of the official files are in `dataset_scripts.benchmarks`. The command line is
`recipes/evaluate_figclip.py`.
"""

from .arguments import TASKS, EvaluationArguments
from .bootstrap import ItemTable, confidence_intervals, difference_intervals, mean_intervals
from .encoders import ClipEncoder, EmbeddingTable, VideoEmbeddings
from .metrics import TIE_RULES, NonFiniteScoresError, classification_metrics, retrieval_metrics_from_similarity
from .results import EvalResult
from .runner import evaluate, load_encoder, run_task
from .suite import render_markdown, run_suite, write_report

__all__ = [
    "TASKS",
    "TIE_RULES",
    "ClipEncoder",
    "EmbeddingTable",
    "EvalResult",
    "EvaluationArguments",
    "ItemTable",
    "NonFiniteScoresError",
    "VideoEmbeddings",
    "classification_metrics",
    "confidence_intervals",
    "difference_intervals",
    "evaluate",
    "load_encoder",
    "mean_intervals",
    "render_markdown",
    "retrieval_metrics_from_similarity",
    "run_suite",
    "run_task",
    "write_report",
]
