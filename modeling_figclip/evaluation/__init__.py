"""Evaluation suite for the paper's tasks on any CLIP-family checkpoint (base CLIP, FiGCLIP, merged, adapters).

Entry points:

- `evaluate(EvaluationArguments(...))` — load a model, run one task, write `results.json`;
- `run_suite("suite.yaml")` — several models × tasks → per-run JSON, `report.md`, `report.png`;
- `ClipEncoder` — batched, de-duplicated text/image/video embedding for any CLIP-family model;
- the task functions in `compositional`, `retrieval`, `action_recognition`, `vidsitu`, `features`.

Metric functions live in `modeling_figclip.metrics`; the readers of the official files in
`dataset_scripts.benchmarks`. The command line is `recipes/evaluate_figclip.py`.
"""

from .arguments import TASKS, EvaluationArguments
from .encoders import ClipEncoder, EmbeddingTable, VideoEmbeddings
from .results import EvalResult
from .runner import evaluate, load_encoder, run_task
from .suite import render_markdown, run_suite, write_report

__all__ = [
    "TASKS",
    "ClipEncoder",
    "EmbeddingTable",
    "EvalResult",
    "EvaluationArguments",
    "VideoEmbeddings",
    "evaluate",
    "load_encoder",
    "render_markdown",
    "run_suite",
    "run_task",
    "write_report",
]
