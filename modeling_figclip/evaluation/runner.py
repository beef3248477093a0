"""Load a model once and run any task on it: the single entry point the CLI and the suite use."""

from __future__ import annotations

import logging
from typing import Any

import torch

from .arguments import TASKS, EvaluationArguments
from .encoders import ClipEncoder
from .results import EvalResult

logger = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def load_encoder(model_name_or_path: str, args: EvaluationArguments) -> ClipEncoder:
    """Load a CLIP / FiGCLIP / merged / adapter checkpoint through `load_model_for_inference` and wrap it."""
    from ..loading import load_model_for_inference  # one loading path for every checkpoint kind

    device = resolve_device(args.device)
    loaded = load_model_for_inference(model_name_or_path, device=device, dtype=DTYPES[args.dtype])
    model, tokenizer, image_processor = loaded
    logger.info("Loaded %s (%s) on %s", model_name_or_path, type(model).__name__, device)
    return ClipEncoder(
        model,
        tokenizer,
        image_processor,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        device=device,
        show_progress=args.show_progress,
        skip_failures=args.skip_missing,
    )


def run_task(
    task: str, encoder: ClipEncoder, args: EvaluationArguments, model_name: str, **injected: Any
) -> EvalResult:
    """Run `task` with an already-loaded encoder. `injected` passes test doubles (e.g. `tagger=` for ARO Order)."""
    from . import action_recognition, compositional, retrieval

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {list(TASKS)}.")
    encoder.skip_failures = args.skip_missing
    encoder.batch_size = args.batch_size
    if task == "sugarcrepe":
        result = compositional.evaluate_sugarcrepe(encoder, args, model_name)
    elif task in ("aro_vg_relation", "aro_vg_attribution"):
        result = compositional.evaluate_aro_vg(encoder, args, model_name, task.rsplit("_", 1)[1])
    elif task in ("aro_coco_order", "aro_flickr_order"):
        result = compositional.evaluate_aro_order(
            encoder, args, model_name, task.split("_")[1], tagger=injected.get("tagger")
        )
    elif task in ("msrvtt", "video_retrieval"):
        result = retrieval.evaluate_retrieval(encoder, args, model_name, task)
    elif task in ("ucf101", "hmdb51", "k600"):
        result = action_recognition.evaluate_action_recognition(encoder, args, model_name, task)
    elif task == "vidsitu_verbs":
        from . import vidsitu

        result = vidsitu.evaluate_vidsitu_verbs(encoder, args, model_name)
    else:  # extract_features
        from . import features

        result = features.extract_features(encoder, args, model_name)
    result.settings.setdefault("model_class", type(encoder.model).__name__)
    result.settings.setdefault("device", str(encoder.device))
    return result


def evaluate(args: EvaluationArguments, **injected: Any) -> EvalResult:
    """Validate `args`, load the model, run the task, write `args.output` if given."""
    args.validate_single_run()
    encoder = load_encoder(args.model, args)
    result = run_task(args.task, encoder, args, args.model, **injected)
    if args.output:
        result.save(args.output)
    return result
