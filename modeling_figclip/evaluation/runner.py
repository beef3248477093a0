"""Load a model once and run any task on it: the single entry point the CLI and the suite use."""

from __future__ import annotations

import logging
from typing import Any

import torch

from .arguments import TASKS, EvaluationArguments
from .bootstrap import DEFAULT_LEVEL, confidence_intervals
from .encoders import ClipEncoder
from .metrics import NonFiniteScoresError
from .results import EvalResult

logger = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def load_encoder(model_name_or_path: str, args: EvaluationArguments, adapter_scale: float | None = None,
                 feature_ensemble: float | None = None) -> ClipEncoder:
    """Load a CLIP / FiGCLIP / merged / adapter checkpoint through `load_model_for_inference` and wrap it;
    `adapter_scale=α` interpolates an adapter toward its base (`modeling_figclip.set_adapter_scale`),
    `feature_ensemble=λ` reads its images out as the ensemble with its base (`modeling_figclip.set_feature_ensemble`)."""
    from ..loading import load_model_for_inference  # one loading path for every checkpoint kind

    device = resolve_device(args.device)
    loaded = load_model_for_inference(model_name_or_path, device=device, dtype=DTYPES[args.dtype],
                                      adapter_scale=adapter_scale, feature_ensemble=feature_ensemble)
    logger.info("Loaded %s (%s) on %s", model_name_or_path, type(loaded.model).__name__, device)
    return encoder_for(loaded, args, device)


def encoder_for(loaded, args: EvaluationArguments, device: str) -> ClipEncoder:
    """A `ClipEncoder` around a `LoadedModel` with the batching, workers, progress and skipping that `args` set."""
    return ClipEncoder(
        loaded.model,
        loaded.tokenizer,
        loaded.image_processor,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        device=device,
        show_progress=args.show_progress,
        skip_failures=args.skip_missing,
    )


def run_task(
    task: str, encoder: ClipEncoder, args: EvaluationArguments, model_name: str, **injected: Any
) -> EvalResult:
    """Run `task` with an already-loaded encoder and bootstrap its confidence intervals. `injected` passes test
    doubles (e.g. `tagger=` for ARO Order). Non-finite scores raise `NonFiniteScoresError` naming task and model."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {list(TASKS)}.")
    if args.bootstrap_resamples < 0:
        raise ValueError(f"--bootstrap_resamples must be >= 0, got {args.bootstrap_resamples}.")
    encoder.skip_failures = args.skip_missing
    encoder.batch_size = args.batch_size
    try:
        result = _dispatch(task, encoder, args, model_name, injected)
    except NonFiniteScoresError as error:
        raise NonFiniteScoresError(f"{task}, model {model_name}: {error}") from error
    result.settings.setdefault("model_class", type(encoder.model).__name__)
    result.settings.setdefault("device", str(encoder.device))
    add_confidence_intervals(result, args)
    return result


def add_confidence_intervals(result: EvalResult, args: EvaluationArguments) -> EvalResult:
    """Fill `result.confidence_intervals` (every headline metric) by bootstrapping its item tables."""
    if not args.bootstrap_resamples or not result.item_tables:
        return result
    intervals = confidence_intervals(result.item_tables, args.bootstrap_resamples, args.bootstrap_seed)
    result.confidence_intervals = {name: intervals[name] for name in result.metrics if name in intervals}
    result.settings["confidence_intervals"] = {
        "method": "percentile bootstrap over the benchmark's items",
        "level": DEFAULT_LEVEL,
        "resamples": args.bootstrap_resamples,
        "seed": args.bootstrap_seed,
        "resampled_within": {t.name: t.strata or "all items" for t in result.item_tables},
    }
    return result


def _dispatch(
    task: str, encoder: ClipEncoder, args: EvaluationArguments, model_name: str, injected: dict
) -> EvalResult:
    from . import action_recognition, compositional, retrieval

    if task == "sugarcrepe":
        return compositional.evaluate_sugarcrepe(encoder, args, model_name)
    if task in ("aro_vg_relation", "aro_vg_attribution"):
        return compositional.evaluate_aro_vg(encoder, args, model_name, task.rsplit("_", 1)[1])
    if task in ("aro_coco_order", "aro_flickr_order"):
        return compositional.evaluate_aro_order(
            encoder, args, model_name, task.split("_")[1], tagger=injected.get("tagger")
        )
    if task in ("msrvtt", "video_retrieval"):
        return retrieval.evaluate_retrieval(encoder, args, model_name, task)
    if task in ("ucf101", "hmdb51", "k600"):
        return action_recognition.evaluate_action_recognition(encoder, args, model_name, task)
    if task == "vidsitu_verbs":
        from . import vidsitu

        return vidsitu.evaluate_vidsitu_verbs(encoder, args, model_name)
    from . import features  # extract_features

    return features.extract_features(encoder, args, model_name)


def evaluate(args: EvaluationArguments, **injected: Any) -> EvalResult:
    """Validate `args`, load the model, run the task, write `args.output` if given."""
    args.validate_single_run()
    encoder = load_encoder(args.model, args)
    result = run_task(args.task, encoder, args, args.model, **injected)
    if args.output:
        result.save(args.output)
    return result
