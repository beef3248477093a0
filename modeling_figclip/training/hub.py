"""Model cards and Hub upload for trained FiGCLIP adapters (via `huggingface_hub`)."""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData

from model_cards import template_path

from .arguments import retention_settings
from .skips import format_training_skips

# Files of a run folder that belong on the Hub (checkpoints, logs and merged weights stay local unless asked).
UPLOAD_PATTERNS = [
    "adapter_config.json", "adapter_model.safetensors", "figclip_config.json", "README.md", "tokenizer*", "vocab.json", "merges.txt",
    "special_tokens_map.json", "preprocessor_config.json", "processor_config.json", "train_results.json",
    "loss_curve.png",
]

HYPERPARAMETER_FIELDS = (
    "lora_r", "lora_alpha", "lora_targets", "vc_num_layers", "vc_readout", "video_loss_weight", "num_hard_negatives",
    "negative_sampling", "prompt_style", "strict", "frames_per_event", "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate",
    "weight_decay", "lr_scheduler_type", "num_train_epochs", "max_steps", "mixed_precision", "seed",
)


def render_model_card(model_args, data_args, training_args, metrics: dict[str, float], parameter_report,
                      repo_id: str | None = None, skipped: dict[str, Any] | None = None) -> ModelCard:
    """Render `model_cards/figclip_adapter.md` with the run's settings and results (results also as `model-index`)."""
    merged = {**asdict(model_args), **asdict(data_args), **asdict(training_args)}
    base = model_args.model_name_or_path
    repo_id = repo_id or training_args.hub_model_id or os.path.basename(os.path.abspath(training_args.output_dir))
    dataset_name = data_args.dataset_name
    eval_results = [
        EvalResult(task_type="video-text-retrieval", dataset_type="vidsitu", dataset_name=dataset_name,
                   dataset_split=data_args.eval_split or "valid", metric_type=name, metric_name=name,
                   metric_value=round(float(value), 4))
        for name, value in sorted(metrics.items())
        if name.startswith("eval_") and isinstance(value, (int, float))
    ]
    card_data = ModelCardData(
        library_name="peft",
        base_model=base if not os.path.isdir(base) else None,
        license="apache-2.0",
        tags=["figclip", "clip", "video", "lora", "semantic-role-labeling", "peft"],
        datasets=["vidsitu"] if data_args.dataset_name == "VidSitu" else None,
        model_name=repo_id,
        eval_results=eval_results or None,
        pipeline_tag="zero-shot-image-classification",
    )
    return ModelCard.from_template(
        card_data,
        template_path=template_path(),
        model_name=repo_id,
        repo_id=repo_id,
        base_model=base,
        base_model_url=base if os.path.isdir(base) else f"https://huggingface.co/{base}",
        lora_r=model_args.lora_r,
        lora_targets=model_args.lora_targets,
        vc_num_layers=model_args.vc_num_layers,
        num_hard_negatives=data_args.num_hard_negatives,
        freeze_text_encoder=model_args.freeze_text_encoder,
        dataset_description=dataset_name,
        hyperparameters=[(name, merged[name]) for name in HYPERPARAMETER_FIELDS],
        parameter_table=parameter_report.as_table(),
        recipe=getattr(training_args, "recipe_path", None) or "recipes/train_figclip.py",
        results=[(name, f"{value:.2f}") for name, value in sorted(metrics.items()) if isinstance(value, (int, float))],
        data_notes=_data_notes(skipped),
        retention=_retention_rows(model_args, data_args),
    )


def _retention_rows(model_args, data_args) -> list[tuple[str, Any]]:
    """The retention options of the run as card rows (empty when both are off: the paper's objective)."""
    settings = retention_settings(model_args, data_args)
    if not (settings["distillation_weight"] > 0 or settings["replay_loss_weight"] > 0):
        return []
    return [(name, value) for name, value in settings.items() if value is not None]


def _data_notes(skipped: dict[str, Any] | None) -> list[str]:
    """Model-card lines saying what preparation and lenient-mode training left out (empty: nothing was)."""
    if not skipped:
        return []
    notes = []
    for split, summary in sorted(skipped.get("preparation", {}).items()):
        clips = summary.get("skipped_clips") or {}
        copies = summary.get("dropped_annotations") or {}
        empty = summary.get("empty_values") or {}
        notes.append(
            f"{split}: {summary.get('clips_kept', '?')} of {summary.get('clips_in_split', '?')} clips kept; skipped "
            f"{sum(clips.values())} {clips or ''}; dropped {sum(copies.values())} annotator copies {copies or ''}; "
            f"{sum(empty.values())} empty role values (\"-\") treated as absent roles"
        )
    training = skipped.get("training") or {}
    if training.get("videos_without_frames") or training.get("videos_with_missing_events") or training.get("batches_skipped"):
        notes.append(format_training_skips(training))
    return notes


def write_model_card(output_dir: str, model_args, data_args, training_args, metrics: dict[str, Any], parameter_report,
                     skipped: dict[str, Any] | None = None) -> str:
    """Write `README.md` (the model card) into `output_dir` and return its path."""
    card = render_model_card(model_args, data_args, training_args, metrics, parameter_report, skipped=skipped)
    path = os.path.join(output_dir, "README.md")
    card.save(path)
    return path


def files_to_upload(output_dir: str) -> list[str]:
    """The files of `output_dir` that `push_run_to_hub` uploads (relative paths, sorted)."""
    import fnmatch

    names = sorted(os.listdir(output_dir))
    return [n for n in names if os.path.isfile(os.path.join(output_dir, n)) and any(fnmatch.fnmatch(n, p) for p in UPLOAD_PATTERNS)]


def push_run_to_hub(output_dir: str, repo_id: str, private: bool = False, api: HfApi | None = None) -> str:
    """Create `repo_id` (if needed) and upload the adapter, processor files and model card of `output_dir`."""
    api = api or HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    commit = api.upload_folder(
        repo_id=repo_id, folder_path=output_dir, allow_patterns=files_to_upload(output_dir),
        commit_message="Upload FiGCLIP adapter",
    )
    return getattr(commit, "commit_url", str(commit))
