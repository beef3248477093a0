"""Arguments of `recipes/train_figclip.py`, as dataclasses for `HfArgumentParser` (YAML recipe + command line).

Defaults are the paper's settings (arXiv 2401.07669 §6.1): LoRA r=64 on the vision q/k/v, frozen text encoder,
5 events × 4 frames, 20 videos per batch, AdamW with learning rate 1e-6, 40 epochs, λ = 0.25, 4 verb-role negatives.
Fields the paper does not report (weight decay, schedule, warm-up, LoRA alpha) are marked *(not in the paper)*.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from accelerate.tracking import LOGGER_TYPE_TO_CLASS
from accelerate.utils import LoggerType
from transformers import SchedulerType

from dataset_scripts.vidsitu import NEGATIVE_SAMPLING
from dataset_scripts.vidsitu.negatives import PROMPT_STYLES
from dataset_scripts.vidsitu.schema import ANNOTATED_SPLITS, SPLIT_ALIASES

from ..adapters import LORA_TARGETS
from ..configuration_figclip import DISTILLATION_TARGETS, FigClipConfig

# Splits with events and roles, the only ones a run can train or be evaluated on, with their accepted spellings.
ANNOTATED_SPLIT_NAMES = (
    *ANNOTATED_SPLITS, *(alias for alias, name in SPLIT_ALIASES.items() if name in ANNOTATED_SPLITS)
)
# transformers' schedulers that this loop cannot drive: they need inputs it does not pass.
SCHEDULERS_NEEDING_MORE = {
    "reduce_lr_on_plateau": "an evaluation metric at every step",
    "greedy": "an evaluation metric at every step",
    "cosine_with_min_lr": "lr_scheduler_kwargs (min_lr)",
    "cosine_warmup_with_min_lr": "lr_scheduler_kwargs (min_lr)",
    "warmup_stable_decay": "lr_scheduler_kwargs (num_decay_steps)",
}
LR_SCHEDULERS = tuple(kind.value for kind in SchedulerType if kind.value not in SCHEDULERS_NEEDING_MORE)
# Accelerate's tracker names (plus custom registered ones), and "none".
TRACKERS = ("none", *LoggerType.list(), *(name for name in LOGGER_TYPE_TO_CLASS if name not in LoggerType.list()))


def check_choice(flag: str, value: Any, allowed: Collection[Any]) -> None:
    """Raise `ValueError` naming `--flag` and the allowed values when `value` is not one of them."""
    if value not in allowed:
        raise ValueError(f"--{flag} must be one of {', '.join(map(str, allowed))}; got {value!r}.")


def check_at_least(flag: str, value: float | int | None, minimum: float | int) -> None:
    """Raise `ValueError` naming `--flag` when `value` (if set) is below `minimum`."""
    if value is not None and value < minimum:
        raise ValueError(f"--{flag} must be >= {minimum}; got {value}.")


def check_lora_targets(value: str) -> None:
    """A preset of `LORA_TARGETS`, or a custom regex that peft matches against whole module names (such as
    `vision_model.encoder.layers.0.self_attn.q_proj`); a bare word that is no preset is taken for a misspelt preset."""
    if value in LORA_TARGETS:
        return
    presets = ", ".join(LORA_TARGETS)
    if re.fullmatch(r"\w+", value):
        raise ValueError(
            f"--lora_targets must be one of {presets}, or a regex over full module names (e.g. "
            f"'.*vision_model.*self_attn\\.(q_proj|v_proj)'); got {value!r}."
        )
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(
            f"--lora_targets {value!r} is neither a preset ({presets}) nor a valid regex: {error}."
        ) from error


def check_lr_scheduler(value: str) -> None:
    """A transformers scheduler this loop can drive (see `SCHEDULERS_NEEDING_MORE` for the others)."""
    if value in SCHEDULERS_NEEDING_MORE:
        raise ValueError(
            f"--lr_scheduler_type {value} needs {SCHEDULERS_NEEDING_MORE[value]}, which this recipe does not pass; "
            f"choose one of {', '.join(LR_SCHEDULERS)}."
        )
    check_choice("lr_scheduler_type", value, LR_SCHEDULERS)


def report_to_trackers(report_to: str) -> list[str]:
    """The tracker names of a comma-separated `report_to` ("none" and empty entries dropped)."""
    return [name.strip() for name in report_to.split(",") if name.strip() and name.strip() != "none"]


@dataclass
class ModelArguments:
    """Which CLIP to adapt and how (LoRA, contextualiser, losses)."""

    model_name_or_path: str = field(
        default="openai/clip-vit-base-patch32",
        metadata={"help": "Base CLIP: Hub id or local directory (a plain CLIP or a FiGCLIP checkpoint)."},
    )
    lora_r: int = field(default=64, metadata={"help": "LoRA rank (paper: 64)."})
    lora_alpha: int | None = field(default=None, metadata={"help": "LoRA alpha; default = lora_r (not in the paper)."})
    lora_dropout: float = field(default=0.0, metadata={"help": "Dropout on the LoRA branch (not in the paper)."})
    lora_targets: str = field(
        default="vision_qkv",
        metadata={"help": f"A preset: {' | '.join(LORA_TARGETS)} (vision_qkv: the paper; vision_and_text_qkv: tuned "
                          "text encoder), or a regex over full module names (e.g. '.*vision_model.*q_proj')."},
    )
    use_contextualizer: bool = field(default=True, metadata={"help": "Build and train the Video Contextualizer."})
    vc_num_layers: int = field(default=6, metadata={"help": "Video Contextualizer depth (paper: 6)."})
    vc_num_attention_heads: int = field(default=8, metadata={"help": "Video Contextualizer heads (not in the paper)."})
    vc_readout: str = field(
        default="token",
        metadata={"help": "token: VC-level embeddings are the contextualised tokens (paper) | residual: CLIP-level mean "
                          "+ zero-initialised projection (ablation)."},
    )
    use_clip_event_loss: bool = field(default=True, metadata={"help": "L_clip_event on/off."})
    use_vc_event_loss: bool = field(default=True, metadata={"help": "L_vc_event on/off."})
    use_clip_video_loss: bool = field(default=True, metadata={"help": "L_clip_video on/off."})
    use_vc_video_loss: bool = field(default=True, metadata={"help": "L_vc_video on/off."})
    video_loss_weight: float = field(default=0.25, metadata={"help": "λ for the video-level losses (paper: 0.25)."})
    freeze_text_encoder: bool = field(
        default=True,
        metadata={"help": "Frozen text tower (paper). False requires lora_targets=vision_and_text_qkv (or a text regex)."},
    )
    attn_implementation: str | None = field(default=None, metadata={"help": "sdpa | eager | flash_attention_2."})
    distillation_weight: float = field(
        default=0.0,
        metadata={"help": "β: weight of distillation to the frozen base (the same model with its adapters disabled), "
                          "computed on every training batch; 0: off, the paper's objective (retention option, not in "
                          "the paper)."},
    )
    distillation_target: str = field(
        default="features",
        metadata={"help": "features: keep each training frame's embedding near the base's (½‖f − f_base‖²) | "
                          "similarities: keep its image→text distribution over --distillation_captions generic captions "
                          "of --generic_dataset near the base's (KL)."},
    )
    replay_loss_weight: float = field(
        default=0.0,
        metadata={"help": "γ: weight of CLIP's loss on --replay_batch_size generic image–caption pairs of "
                          "--generic_dataset mixed into every step; 0: off (retention option, not in the paper)."},
    )

    def __post_init__(self) -> None:
        check_at_least("lora_r", self.lora_r, 1)
        check_at_least("lora_alpha", self.lora_alpha, 1)
        check_at_least("distillation_weight", self.distillation_weight, 0.0)
        check_at_least("replay_loss_weight", self.replay_loss_weight, 0.0)
        check_choice("distillation_target", self.distillation_target, DISTILLATION_TARGETS)
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(f"--lora_dropout must be in [0, 1); got {self.lora_dropout}.")
        check_lora_targets(self.lora_targets)

    def figclip_config_overrides(self, num_hard_negatives: int) -> dict[str, Any]:
        """The `FigClipConfig` fields these arguments set: every field of this class that `FigClipConfig` declares
        (`FigClipConfig.FIGCLIP_FIELDS`), plus the data's number of hard negatives."""
        overrides = {item.name: getattr(self, item.name) for item in fields(self) if item.name in FigClipConfig.FIGCLIP_FIELDS}
        overrides["num_hard_negatives"] = max(num_hard_negatives, 0)
        return overrides


@dataclass
class DataArguments:
    """Where VidSitu is and how clips become training examples."""

    vidsitu_dir: str | None = field(
        default=None,
        metadata={"help": "Folder holding vidsitu_annotations/ (the official zip, unzipped). Required, except that "
                          "with neither --config nor --vidsitu_dir recipes/train_figclip.py runs the embedded toy-world "
                          "demo."},
    )
    video_dir: str | None = field(default=None, metadata={"help": "Folder of trimmed {clip_id}.mp4 clips."})
    frames_dir: str | None = field(default=None, metadata={"help": "Folder of {clip_id}/{clip_id}_%06d.jpg frames."})
    frame_cache: str | None = field(
        default=None,
        metadata={"help": "A frame cache (python -m dataset_scripts.vidsitu.frame_cache) to read frames from instead "
                          "of decoding video_dir / frames_dir: same sampling, JPEG frames at the model's input size."},
    )
    train_split: str = field(
        default="train", metadata={"help": f"Annotated split: {' | '.join(ANNOTATED_SPLIT_NAMES)}."}
    )
    eval_split: str | None = field(
        default="valid",
        metadata={"help": "Split evaluated every eval_steps (same choices as train_split; 'none': no eval)."},
    )
    frames_per_event: int = field(default=4, metadata={"help": "Frames per 2 s event (paper: 4)."})
    num_hard_negatives: int = field(default=4, metadata={"help": "Verb-role-swapped negatives per event (paper: 4)."})
    negatives_seed: int = field(default=0, metadata={"help": "Seed of the (deterministic) negative sampling."})
    negative_sampling: str = field(
        default="per_epoch",
        metadata={"help": "per_epoch: fresh verb-role negatives every epoch (paper), a function of (seed, epoch, clip, "
                          "event) | fixed: the same draw every epoch (ablation)."},
    )
    negative_pool_size: int = field(
        default=0,
        metadata={"help": "per_epoch only: pick each epoch's negatives from a fixed pool of this many per event, so a "
                          "warm text cache embeds nothing new (0: unrestricted, the paper's draw; not in the paper)."},
    )
    prompt_style: str = field(default="srl", metadata={"help": "srl (paper) | verb_only | no_template (ablations)."})
    temporal_jitter: bool = field(default=True, metadata={"help": "Random sampling times inside events for training."})
    strict: bool = field(default=True, metadata={"help": "Bad annotation/video: error (True) or skip and count (False)."})
    max_train_clips: int | None = field(default=None, metadata={"help": "Use only the first N training clips."})
    max_eval_clips: int | None = field(default=None, metadata={"help": "Use only the first N evaluation clips."})
    dataloader_num_workers: int = field(default=0, metadata={"help": "Decoding workers per process."})
    dataloader_pin_memory: bool = field(
        default=True, metadata={"help": "Page-locked batches, for faster host-to-GPU copies (ignored without CUDA)."}
    )
    dataloader_prefetch_factor: int | None = field(
        default=None, metadata={"help": "Batches each worker prepares ahead (torch's default, 2, when unset)."}
    )
    decode_clip_threads: int = field(
        default=1, metadata={"help": "Threads decoding a batch's clips in the loading process (PyAV releases the GIL): "
                                     "uses idle cores when dataloader_num_workers is 0. Same frames as 1."}
    )
    dataset_cache_dir: str | None = field(default=None, metadata={"help": "datasets cache (default: HF cache)."})
    dataset_name: str = field(default="VidSitu", metadata={"help": "Dataset name shown in the model card."})
    generic_dataset: str | None = field(
        default=None,
        metadata={"help": "Generic image–caption pairs for the retention options (replay, similarity distillation): "
                          "a folder written by datasets' save_to_disk, or a local folder / Hub id that "
                          "datasets.load_dataset reads (e.g. an imagefolder with metadata.jsonl)."},
    )
    generic_split: str = field(default="train", metadata={"help": "Split of --generic_dataset to use."})
    generic_image_column: str = field(default="image", metadata={"help": "Image column of --generic_dataset."})
    generic_caption_column: str = field(default="text", metadata={"help": "Caption column of --generic_dataset."})
    replay_batch_size: int = field(
        default=20,
        metadata={"help": "Generic pairs per process and step with --replay_loss_weight > 0 (drawn from a shuffle "
                          "seeded by --seed; each process takes its own share)."},
    )
    distillation_captions: int = field(
        default=256,
        metadata={"help": "distillation_target similarities: how many captions of --generic_dataset (evenly spaced "
                          "rows, fixed for the run) the image→text distributions are taken over."},
    )

    def __post_init__(self) -> None:
        # The command line can only spell "no evaluation" as a string.
        if isinstance(self.eval_split, str) and self.eval_split.lower() in {"", "none", "null"}:
            self.eval_split = None
        check_choice("negative_sampling", self.negative_sampling, NEGATIVE_SAMPLING)
        check_choice("prompt_style", self.prompt_style, PROMPT_STYLES)
        check_choice("train_split", self.train_split, ANNOTATED_SPLIT_NAMES)
        if self.eval_split is not None:
            check_choice("eval_split", self.eval_split, (*ANNOTATED_SPLIT_NAMES, "none"))
        if self.negative_pool_size and self.negative_pool_size < self.num_hard_negatives:
            raise ValueError(
                f"--negative_pool_size must be 0 or >= --num_hard_negatives ({self.num_hard_negatives}); got "
                f"{self.negative_pool_size}."
            )
        check_at_least("num_hard_negatives", self.num_hard_negatives, 0)
        check_at_least("frames_per_event", self.frames_per_event, 1)
        check_at_least("max_train_clips", self.max_train_clips, 1)
        check_at_least("max_eval_clips", self.max_eval_clips, 1)
        check_at_least("dataloader_prefetch_factor", self.dataloader_prefetch_factor, 1)
        check_at_least("replay_batch_size", self.replay_batch_size, 1)
        check_at_least("distillation_captions", self.distillation_captions, 1)


@dataclass
class FigClipTrainingArguments:
    """Optimisation, logging, checkpointing and Hub upload."""

    output_dir: str = field(default="outputs/figclip")
    overwrite_output_dir: bool = field(default=False, metadata={"help": "Allow an output_dir that holds another run."})
    seed: int = field(default=42)
    per_device_train_batch_size: int = field(default=20, metadata={"help": "Videos per process and step (paper: 20)."})
    per_device_eval_batch_size: int = field(default=20)
    gradient_accumulation_steps: int = field(default=1)
    learning_rate: float = field(default=1e-6, metadata={"help": "AdamW learning rate (paper: 1e-6)."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay (not in the paper)."})
    adam_beta1: float = field(default=0.9)
    adam_beta2: float = field(default=0.98, metadata={"help": "CLIP's β2 (not in the paper)."})
    adam_epsilon: float = field(default=1e-6)
    num_train_epochs: float = field(default=40, metadata={"help": "Epochs (paper: 40)."})
    max_steps: int = field(default=-1, metadata={"help": "If > 0: total optimizer steps (overrides epochs)."})
    lr_scheduler_type: str = field(
        default="cosine",
        metadata={"help": f"{' | '.join(LR_SCHEDULERS)} (transformers' schedulers; not in the paper)."},
    )
    warmup_ratio: float = field(default=0.0)
    warmup_steps: int = field(default=0)
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping (0 disables)."})
    mixed_precision: str = field(default="no", metadata={"help": "no | bf16 | fp16 (Accelerate)."})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Recompute vision activations in backward."})
    text_embedding_cache: bool = field(
        default=True, metadata={"help": "Cache prompt/negative embeddings of the frozen text encoder (off if tuned)."}
    )
    logging_steps: int = field(default=10)
    eval_steps: int = field(default=0, metadata={"help": "Evaluate every N optimizer steps (0: at the end only)."})
    save_steps: int = field(default=0, metadata={"help": "Checkpoint every N optimizer steps (0: no checkpoints)."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Keep at most N checkpoints."})
    resume_from_checkpoint: str | None = field(
        default=None,
        metadata={"help": "A checkpoint-N folder, or 'latest': the newest in output_dir (an error when it holds none, "
                          "so that a run meant to continue never silently starts again)."},
    )
    report_to: str = field(
        default="tensorboard",
        metadata={"help": f"Accelerate trackers, comma-separated: {' | '.join(TRACKERS)} (each must be installed)."},
    )
    run_name: str | None = field(default=None)
    save_merged_model: bool = field(default=False, metadata={"help": "Also save a merged plain-CLIP checkpoint."})
    push_to_hub: bool = field(default=False)
    hub_model_id: str | None = field(default=None, metadata={"help": "user/repo for push_to_hub."})
    hub_private_repo: bool = field(default=False)
    stop_after_steps: int | None = field(
        default=None, metadata={"help": "Stop (as if interrupted) after N optimizer steps; for resume testing."}
    )

    def __post_init__(self) -> None:
        check_choice("mixed_precision", self.mixed_precision, ("no", "bf16", "fp16"))
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("--push_to_hub needs --hub_model_id (user/repo).")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                     "logging_steps"):
            check_at_least(name, getattr(self, name), 1)
        check_lr_scheduler(self.lr_scheduler_type)
        for tracker in report_to_trackers(self.report_to):
            check_choice("report_to", tracker, TRACKERS)


# Fields that define *what* is trained; a checkpoint or output folder whose run differs in one of them is another run.
RUN_IDENTITY_FIELDS = (
    "model_name_or_path", "lora_r", "lora_alpha", "lora_targets", "use_contextualizer", "vc_num_layers",
    "vc_num_attention_heads", "vc_readout", "use_clip_event_loss", "use_vc_event_loss", "use_clip_video_loss", "use_vc_video_loss",
    "video_loss_weight", "freeze_text_encoder", "vidsitu_dir", "train_split", "frames_per_event", "num_hard_negatives",
    "negatives_seed", "negative_sampling", "negative_pool_size", "prompt_style", "max_train_clips", "seed", "per_device_train_batch_size",
    "gradient_accumulation_steps", "learning_rate", "weight_decay", "lr_scheduler_type", "num_train_epochs", "max_steps",
)


# Identity fields recorded only when they differ from their default, so that runs and checkpoints written before these
# options existed (and every run that leaves them off) keep the identity they had.
OPTIONAL_IDENTITY_FIELDS = (
    "distillation_weight", "distillation_target", "replay_loss_weight", "generic_dataset", "generic_split",
    "generic_image_column", "generic_caption_column", "replay_batch_size", "distillation_captions",
)


def run_identity(*argument_objects: Any) -> dict[str, Any]:
    """The values of `RUN_IDENTITY_FIELDS` across the argument dataclasses, plus those of `OPTIONAL_IDENTITY_FIELDS`
    that differ from their defaults."""
    merged: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for arguments in argument_objects:
        merged.update(asdict(arguments))
        defaults.update({item.name: item.default for item in fields(arguments)})
    identity = {name: merged[name] for name in RUN_IDENTITY_FIELDS if name in merged}
    identity.update({name: merged[name] for name in OPTIONAL_IDENTITY_FIELDS
                     if name in merged and merged[name] != defaults.get(name)})
    return identity


def retention_settings(model_args: ModelArguments, data_args: DataArguments) -> dict[str, Any]:
    """The retention options of a run (not in the paper; all off by default), as recorded in `train_results.json`
    and the model card: β and its target, γ, and the generic image–caption dataset with what is read from it."""
    distilling, replaying = model_args.distillation_weight > 0, model_args.replay_loss_weight > 0
    uses_generic = replaying or (distilling and model_args.distillation_target == "similarities")
    return {
        "distillation_weight": model_args.distillation_weight,
        "distillation_target": model_args.distillation_target if distilling else None,
        "distillation_captions": data_args.distillation_captions
        if distilling and model_args.distillation_target == "similarities" else None,
        "replay_loss_weight": model_args.replay_loss_weight,
        "replay_batch_size": data_args.replay_batch_size if replaying else None,
        "generic_dataset": data_args.generic_dataset if uses_generic else None,
        "generic_split": data_args.generic_split if uses_generic else None,
        "generic_columns": [data_args.generic_image_column, data_args.generic_caption_column] if uses_generic else None,
    }
