"""The FiGCLIP training loop on `accelerate`: LoRA adapters + Video Contextualizer on VidSitu (paper §6.1).

One process or many (DDP/FSDP via Accelerate configs; `torchrun` on CPU with gloo), mixed precision, gradient
accumulation, clipping, warm-up + schedule, a frozen-text-encoder embedding cache, evaluation every N steps,
TensorBoard/W&B trackers plus a JSONL log, atomic checkpoints with exact resume, and the final adapter (+ optional
merged CLIP) with a model card, optionally pushed to the Hub.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from peft import set_peft_model_state_dict
from peft.utils import get_peft_model_state_dict
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import AutoImageProcessor, AutoTokenizer, get_scheduler

from ..adapters import (
    add_figclip_adapters,
    base_frame_embeddings,
    save_figclip_adapters,
    to_clip_model,
    trainable_parameter_report,
)
from ..modeling_figclip import FigClipModel
from ..preflight import (
    hub_push_problem,
    input_dir_problem,
    is_hub_id,
    missing_trackers_problem,
    offline_hub_model_problem,
    output_dir_problem,
)
from ..processing_figclip import FigClipProcessor
from ..tokenization_utils import check_tokenizer
from .arguments import DataArguments, FigClipTrainingArguments, ModelArguments, retention_settings, run_identity
from .data import VidSituSplit, collate_clips, load_split
from .replay import GenericDatasetError, GenericPairs
from .skips import TrainingSkips, format_preparation_summary, format_training_skips, no_events_anywhere
from .text_cache import TextEmbeddingCache, cached_text_inputs

logger = logging.getLogger(__name__)

RUN_CONFIG_FILE = "run_config.json"
TRAINER_STATE_FILE = "trainer_state.json"
ADAPTER_STATE_FILE = "adapter_state.safetensors"
METRICS_LOG_FILE = "metrics.jsonl"


class TrainingSetupError(ValueError):
    """A problem found before training starts (paths, output folder, checkpoint); the message says what to fix."""


@dataclass
class TrainResult:
    """What a training run produced."""

    output_dir: str
    global_step: int
    final_metrics: dict[str, float] = field(default_factory=dict)
    adapter_dir: str | None = None
    merged_dir: str | None = None
    loss_curve: str | None = None
    stopped_early: bool = False


# ---------------------------------------------------------------------------------------------------------- checks
def check_base_model_path(name_or_path: str) -> None:
    """Fail fast on a base model that cannot be loaded (offline a Hub id not in the cache fails in transformers
    immediately; a missing local folder is reported here with its path)."""
    if not is_hub_id(name_or_path) and not os.path.isdir(name_or_path):
        raise TrainingSetupError(f"Base model folder {name_or_path!r} does not exist (model_name_or_path).")
    if os.path.isdir(name_or_path) and not os.path.isfile(os.path.join(name_or_path, "config.json")):
        raise TrainingSetupError(f"Base model folder {name_or_path!r} has no config.json: not a saved CLIP checkpoint.")


def check_output_dir(output_dir: str, identity: dict[str, Any], overwrite: bool, resuming: bool) -> None:
    """Refuse an output folder that holds a different run (unless `overwrite_output_dir`)."""
    path = os.path.join(output_dir, RUN_CONFIG_FILE)
    if not os.path.isfile(path) or overwrite:
        return
    with open(path, encoding="utf-8") as handle:
        previous = json.load(handle).get("identity", {})
    differing = sorted(k for k in set(previous) | set(identity) if previous.get(k) != identity.get(k))
    if differing:
        details = ", ".join(f"{k}: {previous.get(k)!r} -> {identity.get(k)!r}" for k in differing)
        raise TrainingSetupError(
            f"Output folder {output_dir} holds a different run ({details}). Choose another output_dir or pass "
            "--overwrite_output_dir."
        )
    if not resuming and any(name.startswith("checkpoint-") for name in os.listdir(output_dir)):
        raise TrainingSetupError(
            f"Output folder {output_dir} already holds checkpoints of this run; pass --resume_from_checkpoint latest to "
            "continue it or --overwrite_output_dir to start again."
        )


def check_checkpoint(checkpoint_dir: str, identity: dict[str, Any]) -> None:
    """Refuse a checkpoint written by a run with another configuration."""
    path = os.path.join(checkpoint_dir, RUN_CONFIG_FILE)
    if not os.path.isfile(path):
        raise TrainingSetupError(f"{checkpoint_dir} is not a FiGCLIP checkpoint (no {RUN_CONFIG_FILE}).")
    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle).get("identity", {})
    differing = sorted(k for k in set(saved) | set(identity) if saved.get(k) != identity.get(k))
    if differing:
        details = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs now {identity.get(k)!r}" for k in differing)
        raise TrainingSetupError(f"Checkpoint {checkpoint_dir} comes from another configuration ({details}).")


def check_split_has_clips(split: VidSituSplit, flag: str) -> None:
    """Refuse a split with no clip left (every clip skipped in lenient mode, or none selected), which would otherwise
    fail deep inside the DataLoader."""
    if len(split.dataset):
        return
    name = split.skipped.get("split", "?")
    skipped = split.skipped.get("skipped_clips") or {}
    if skipped:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
        raise TrainingSetupError(
            f"{flag} {name}: --strict false skipped every clip ({reasons}), so nothing is left to train on; check "
            "--video_dir / --frames_dir / --frame_cache (python -m dataset_scripts.vidsitu shows each clip)."
        )
    raise TrainingSetupError(f"{flag} {name}: the split of --vidsitu_dir has no clips.")


def resolve_checkpoint(output_dir: str, resume_from_checkpoint: str | None) -> str | None:
    """`latest` → the newest complete `checkpoint-N` in `output_dir`; a path → itself (must exist)."""
    if resume_from_checkpoint is None:
        return None
    if resume_from_checkpoint == "latest":
        checkpoints = _list_checkpoints(output_dir)
        return checkpoints[-1] if checkpoints else None
    if not os.path.isdir(resume_from_checkpoint):
        raise TrainingSetupError(f"Checkpoint folder {resume_from_checkpoint} does not exist (resume_from_checkpoint).")
    return resume_from_checkpoint


def _list_checkpoints(output_dir: str) -> list[str]:
    if not os.path.isdir(output_dir):
        return []
    found = []
    for name in os.listdir(output_dir):
        prefix, _, step = name.partition("-")
        if prefix == "checkpoint" and step.isdigit() and os.path.isfile(os.path.join(output_dir, name, TRAINER_STATE_FILE)):
            found.append((int(step), os.path.join(output_dir, name)))
    return [path for _, path in sorted(found)]


@dataclass
class _LoopState:
    """Where the training loop is: steps, epoch, position in the epoch, running loss sums, the last evaluation."""

    global_step: int = 0
    epoch: int = 0
    skip_batches: int = 0  # batches of `epoch` already consumed before a resume
    batches_in_epoch: int = 0
    running: dict[str, float] = field(default_factory=dict)
    running_count: int = 0
    last_eval: dict[str, float] = field(default_factory=dict)
    last_eval_step: int = -1
    stopped_early: bool = False
    micro_in_step: int = 0  # micro-batches of the optimizer step in progress (gradient accumulation)

    LOSS_NAMES = ("loss", "loss_clip_event", "loss_vc_event", "loss_clip_video", "loss_vc_video", "loss_distillation",
                  "loss_replay")

    def add_running(self, out) -> None:
        """Add one batch's loss terms to the sums logged every `logging_steps`."""
        for name in self.LOSS_NAMES:
            value = getattr(out, name)
            if value is not None:
                self.running[name] = self.running.get(name, 0.0) + float(value.detach())
        self.running_count += 1


# ---------------------------------------------------------------------------------------------------------- trainer
class FigClipTrainer:
    """Train FiGCLIP adapters; see the module docstring. Call `train()`."""

    def __init__(self, model_args: ModelArguments, data_args: DataArguments, args: FigClipTrainingArguments,
                 vidsitu_dir: str | None = None) -> None:
        self.model_args, self.data_args, self.args = model_args, data_args, args
        self.vidsitu_dir = vidsitu_dir or data_args.vidsitu_dir
        if self.vidsitu_dir is None:
            raise TrainingSetupError("vidsitu_dir is not set: point it at the folder holding vidsitu_annotations/.")
        if data_args.video_dir is None and data_args.frames_dir is None and data_args.frame_cache is None:
            raise TrainingSetupError(
                "Set video_dir ({clip_id}.mp4 clips), frames_dir (JPEG frame folders) or frame_cache (a frame cache)."
            )
        if not model_args.freeze_text_encoder and "text" not in model_args.lora_targets:
            raise TrainingSetupError(
                "freeze_text_encoder=False needs LoRA on the text tower too: set lora_targets=vision_and_text_qkv."
            )
        self._check_retention_options()
        self.identity = run_identity(model_args, data_args, args)
        self.use_text_cache = args.text_embedding_cache and model_args.freeze_text_encoder
        self.log_history: list[dict[str, Any]] = []
        self.skips = TrainingSkips()

        trackers = [t for t in args.report_to.split(",") if t and t != "none"]
        self._check_machine(trackers)
        self.accelerator = Accelerator(
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            mixed_precision=args.mixed_precision,
            log_with=trackers or None,
            project_config=ProjectConfiguration(project_dir=args.output_dir, logging_dir=os.path.join(args.output_dir, "logs")),
            # A seedable sampler shuffles from (seed, epoch): the same order on resume and for any process count.
            dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
        )
        self.checkpoint = resolve_checkpoint(args.output_dir, args.resume_from_checkpoint)
        if args.resume_from_checkpoint == "latest" and self.checkpoint is None:
            # An error, as transformers' Trainer gives: a run meant to continue must not silently start again.
            raise TrainingSetupError(
                f"--resume_from_checkpoint latest: {args.output_dir} holds no checkpoint-N folder to resume from; "
                "drop the flag to start a new run."
            )
        if self.accelerator.is_main_process:
            check_base_model_path(model_args.model_name_or_path)
            if args.push_to_hub and (problem := hub_push_problem(args.hub_model_id)):
                raise TrainingSetupError(problem)
            if os.path.isdir(args.output_dir):
                check_output_dir(args.output_dir, self.identity, args.overwrite_output_dir, self.checkpoint is not None)
            if self.checkpoint is not None:
                check_checkpoint(self.checkpoint, self.identity)
        self.accelerator.wait_for_everyone()
        set_seed(args.seed)

    def _check_retention_options(self) -> None:
        """Replay and similarity distillation read generic image–caption pairs: `--generic_dataset` must be set."""
        model_args, data_args = self.model_args, self.data_args
        if data_args.generic_dataset:
            return
        if model_args.replay_loss_weight > 0:
            raise TrainingSetupError(
                "--replay_loss_weight > 0 replays generic image–caption pairs: set --generic_dataset (a datasets "
                "dataset with --generic_image_column and --generic_caption_column)."
            )
        if model_args.distillation_weight > 0 and model_args.distillation_target == "similarities":
            raise TrainingSetupError(
                "--distillation_target similarities compares image→text distributions over generic captions: set "
                "--generic_dataset (or use --distillation_target features)."
            )

    def _check_machine(self, trackers: list[str]) -> None:
        """Before anything is loaded: the input folders exist, the output folder can be written, an offline machine has
        the base model in its cache, and the requested trackers are installed (Accelerate would drop them silently)."""
        data_args = self.data_args
        problems = [
            input_dir_problem(self.vidsitu_dir, "--vidsitu_dir", "vidsitu_annotations/"),
            input_dir_problem(data_args.video_dir, "--video_dir", "the {clip_id}.mp4 clips"),
            input_dir_problem(data_args.frames_dir, "--frames_dir", "the {clip_id}/ frame folders"),
            input_dir_problem(data_args.frame_cache, "--frame_cache", "a frame cache"),
            output_dir_problem(self.args.output_dir, "--output_dir"),
            offline_hub_model_problem(self.model_args.model_name_or_path, "--model_name_or_path"),
            missing_trackers_problem(trackers),
        ]
        problems = [problem for problem in problems if problem]
        if problems:
            raise TrainingSetupError(" ".join(problems))

    # ------------------------------------------------------------------ setup
    def _load_model_and_processors(self):
        model_args, data_args = self.model_args, self.data_args
        source = model_args.model_name_or_path
        tokenizer = check_tokenizer(AutoTokenizer.from_pretrained(source), source)
        image_processor = AutoImageProcessor.from_pretrained(source)
        kwargs = {"attn_implementation": model_args.attn_implementation} if model_args.attn_implementation else {}
        model = FigClipModel.from_pretrained(
            source, **model_args.figclip_config_overrides(data_args.num_hard_negatives), **kwargs
        )
        model = add_figclip_adapters(
            model, r=model_args.lora_r, lora_alpha=model_args.lora_alpha, lora_dropout=model_args.lora_dropout,
            targets=model_args.lora_targets,
        )
        if self.args.gradient_checkpointing:
            model.get_base_model().vision_model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False}
            )
        return model, tokenizer, image_processor

    def _dataloaders(self, image_processor):
        data_args, args = self.data_args, self.args
        self.train_split = load_split(
            data_args, self.vidsitu_dir, data_args.train_split, image_processor, True, args.seed, data_args.max_train_clips
        )
        check_split_has_clips(self.train_split, "--train_split")
        train_loader = self._loader(self.train_split, args.per_device_train_batch_size, shuffle=True)
        eval_loader = None
        self.eval_split = None
        if data_args.eval_split:
            self.eval_split = load_split(
                data_args, self.vidsitu_dir, data_args.eval_split, image_processor, False, args.seed, data_args.max_eval_clips
            )
            check_split_has_clips(self.eval_split, "--eval_split")
            eval_loader = self._loader(self.eval_split, args.per_device_eval_batch_size, shuffle=False)
        self._report_preparation()
        return train_loader, eval_loader

    def _loader(self, split: VidSituSplit, batch_size: int, shuffle: bool) -> DataLoader:
        """A DataLoader over a split. Workers are never persistent: the epoch's jitter times and fresh negatives live
        in the split's transform, which a persistent worker would keep from its first epoch."""
        data_args = self.data_args
        workers = data_args.dataloader_num_workers
        return DataLoader(
            split.dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_clips, num_workers=workers,
            drop_last=False, generator=torch.Generator().manual_seed(self.args.seed) if shuffle else None,
            pin_memory=data_args.dataloader_pin_memory and torch.cuda.is_available(),
            prefetch_factor=data_args.dataloader_prefetch_factor if workers > 0 else None, persistent_workers=False,
        )  # fmt: skip

    def _report_preparation(self) -> None:
        """Print what preparing the splits left out (lenient mode, empty role values), at every run: the summary is
        read back with the split also when the rows come from the datasets cache."""
        if not self.accelerator.is_main_process:
            return
        for split in (self.train_split, self.eval_split):
            if split is None:
                continue
            summary = split.skipped
            dropped = summary.get("skipped_clips") or summary.get("dropped_annotations") or summary.get("empty_values")
            if not self.data_args.strict or dropped:
                print(format_preparation_summary(summary))

    def _usable(self, batch) -> bool:
        """Lenient mode: count the videos that lost frames, and tell whether the batch has anything to train on
        (decided jointly by all processes). Strict mode never gets here with a masked video: the loader raises."""
        if self.data_args.strict:
            return True
        self.skips.count(batch)
        return not no_events_anywhere(batch["event_mask"], self.accelerator)

    def _register_adapter_checkpoint_hooks(self) -> None:
        """Checkpoints hold the adapter state (LoRA + contextualiser) instead of the full frozen backbone."""
        accelerator = self.accelerator

        def save_hook(models, weights, output_dir):
            for index, model in enumerate(models):
                peft_model = accelerator.unwrap_model(model)
                state = {k: v.detach().contiguous().cpu() for k, v in get_peft_model_state_dict(peft_model).items()}
                save_file(state, os.path.join(output_dir, ADAPTER_STATE_FILE))
            weights.clear()

        def load_hook(models, input_dir):
            while models:
                peft_model = accelerator.unwrap_model(models.pop())
                set_peft_model_state_dict(peft_model, load_file(os.path.join(input_dir, ADAPTER_STATE_FILE)))

        accelerator.register_save_state_pre_hook(save_hook)
        accelerator.register_load_state_pre_hook(load_hook)

    # ------------------------------------------------------------------ steps
    def _text_inputs(self, model, batch) -> dict[str, torch.Tensor]:
        negatives = batch["negatives"] if self.data_args.num_hard_negatives > 0 else None
        if self.use_text_cache:
            inputs = cached_text_inputs(
                self.text_cache, self.accelerator.unwrap_model(model), batch["prompts"], negatives,
                self.data_args.num_hard_negatives,
            )
        else:  # the text tower trains: tokens every step (the processor pads prompts and negatives)
            inputs = dict(self.processor(text=batch["prompts"], negative_text=negatives,
                                         num_negatives=self.data_args.num_hard_negatives))
            inputs.pop("event_mask")  # the frames' event mask (lenient mode) is the one that counts
        return {k: v.to(self.accelerator.device) for k, v in inputs.items()}

    def _forward(self, model, batch, inputs: dict[str, torch.Tensor] | None = None,
                 retention: dict[str, torch.Tensor] | None = None) -> Any:
        inputs = inputs if inputs is not None else self._text_inputs(model, batch)
        with self.accelerator.autocast():
            return model(pixel_values_videos=batch["pixel_values_videos"], event_mask=batch["event_mask"], **inputs,
                         **(retention or {}))

    def _retention_inputs(self, model, batch, draw: int) -> dict[str, torch.Tensor]:
        """The retention terms' inputs for one training micro-batch (none when both options are off):

        - distillation (β > 0): the frozen base's embeddings of the batch's frames — the same model with its adapters
          disabled, without gradient (no second copy) — and, for target similarities, the generic captions'
          embeddings (computed once);
        - replay (γ > 0): this process's share of replay draw `draw` from the generic dataset.
        """
        accelerator, model_args = self.accelerator, self.model_args
        inputs: dict[str, torch.Tensor] = {}
        if model_args.distillation_weight > 0:
            peft_model = accelerator.unwrap_model(model)
            with accelerator.autocast():
                inputs["base_frame_embeds"] = base_frame_embeddings(
                    peft_model, batch["pixel_values_videos"], event_mask=batch["event_mask"]
                )
            if model_args.distillation_target == "similarities":
                inputs["generic_text_embeds"] = self._generic_text_embeddings(peft_model)
        if model_args.replay_loss_weight > 0:
            replay = self.generic_pairs.replay_inputs(draw, self.data_args.replay_batch_size,
                                                      accelerator.process_index, accelerator.num_processes)
            inputs.update({k: v.to(accelerator.device) for k, v in replay.items()})
        return inputs

    @torch.no_grad()
    def _generic_text_embeddings(self, peft_model) -> torch.Tensor:
        """`(K, dim)` embeddings of the fixed generic captions by the base's text tower (adapters disabled), computed
        at the first step and kept."""
        if self.generic_text_embeds is None:
            captions = self.generic_pairs.distillation_captions(self.data_args.distillation_captions)
            tokens = {k: v.to(self.accelerator.device) for k, v in self.generic_pairs.tokenize(captions).items()}
            was_training = peft_model.training
            peft_model.eval()
            try:
                with peft_model.disable_adapter():
                    self.generic_text_embeds = peft_model.get_base_model().encode_prompts(
                        tokens["input_ids"], tokens["attention_mask"]
                    ).float()
            finally:
                peft_model.train(was_training)
        return self.generic_text_embeds

    @torch.no_grad()
    def evaluate(self, model, eval_loader) -> dict[str, float]:
        """Loss terms and event→prompt retrieval on the evaluation split, at CLIP and VC level.

        - `eval_{clip,vc}_event_R@1`: the positive prompt ranks first among all distinct prompts of the split.
        - `eval_{clip,vc}_hard_negative_acc`: the positive scores strictly above every verb-role negative.
        """
        accelerator = self.accelerator
        unwrapped = accelerator.unwrap_model(model)
        was_training = model.training
        model.eval()
        prompts = sorted({e["prompt"] for row in self.eval_split.dataset["events"] for e in row})  # decodes nothing
        prompt_index = {p: i for i, p in enumerate(prompts)}
        if self.use_text_cache:
            self.text_cache.fill(unwrapped, prompts, count=False)
            prompt_matrix = self.text_cache.lookup(prompts).to(accelerator.device)
        else:
            prompt_matrix = torch.cat(
                [unwrapped.encode_prompts(**self.tokenizer(prompts[i:i + 256], padding=True, truncation=True,
                                                            max_length=77, return_tensors="pt").to(accelerator.device))
                 for i in range(0, len(prompts), 256)]
            ).float()
        sums: dict[str, float] = {}
        batches = 0
        hits: dict[str, list[torch.Tensor]] = {}
        for batch in eval_loader:
            if not self.data_args.strict and no_events_anywhere(batch["event_mask"], accelerator):
                continue
            inputs = self._text_inputs(model, batch)
            out = self._forward(model, batch, inputs)
            batches += 1
            for name in _LoopState.LOSS_NAMES:
                value = getattr(out, name)
                if value is not None:
                    sums[name] = sums.get(name, 0.0) + float(value)
            present = out.video_embeds.event_mask
            targets = torch.tensor([prompt_index[p] for video in batch["prompts"] for p in video], device=accelerator.device)
            targets = targets.view(present.shape)[present]
            for level in ("clip", "vc"):
                embeds = getattr(out.video_embeds, f"{level}_event_embeds")
                if embeds is None:
                    continue
                rows = embeds[present].float()
                scores = rows @ prompt_matrix.t()
                positive = scores.gather(1, targets[:, None])
                rank_hit = (scores > positive).sum(1) == 0
                hits.setdefault(f"{level}_event_R@1", []).append(accelerator.gather_for_metrics(rank_hit))
                if out.negative_text_embeds is not None:
                    negatives = out.negative_text_embeds[present].float()
                    negative_scores = torch.einsum("md,mnd->mn", rows, negatives)
                    valid = inputs["negative_mask"][present]
                    negative_scores = negative_scores.masked_fill(~valid, float("-inf"))
                    beats = (positive > negative_scores).all(1)
                    hits.setdefault(f"{level}_hard_negative_acc", []).append(accelerator.gather_for_metrics(beats))
        model.train(was_training)
        metrics = {f"eval_{k}": v / max(batches, 1) for k, v in sums.items()}
        totals = torch.tensor([sums.get("loss", 0.0), batches], device=accelerator.device, dtype=torch.float64)
        totals = accelerator.reduce(totals, reduction="sum")
        metrics["eval_loss"] = float(totals[0] / totals[1].clamp_min(1))
        for name, values in hits.items():
            metrics[f"eval_{name}"] = 100.0 * torch.cat(values).float().mean().item()
        return metrics

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self, step: int, epoch: int, batches_in_epoch: int) -> None:
        """`accelerator.save_state` into a temporary folder, renamed atomically to `checkpoint-{step}`: a crash while
        saving leaves the previous checkpoints intact and never a half-written `checkpoint-N`."""
        accelerator, args = self.accelerator, self.args
        final = os.path.join(args.output_dir, f"checkpoint-{step}")
        temporary = final + ".tmp"
        if accelerator.is_main_process and os.path.isdir(temporary):
            shutil.rmtree(temporary)
        accelerator.wait_for_everyone()
        accelerator.save_state(temporary)
        if accelerator.is_main_process:
            state = {"global_step": step, "epoch": epoch, "batches_in_epoch": batches_in_epoch,
                     "log_history": self.log_history}
            with open(os.path.join(temporary, TRAINER_STATE_FILE), "w", encoding="utf-8") as handle:
                json.dump(state, handle, indent=2)
            self._write_run_config(temporary)
            if os.path.isdir(final):
                shutil.rmtree(final)
            os.replace(temporary, final)
            self._rotate_checkpoints()
        accelerator.wait_for_everyone()

    def _rotate_checkpoints(self) -> None:
        limit = self.args.save_total_limit
        if not limit:
            return
        for stale in _list_checkpoints(self.args.output_dir)[:-limit]:
            shutil.rmtree(stale, ignore_errors=True)

    def _write_run_config(self, folder: str) -> None:
        payload = {
            "identity": self.identity,
            "model_args": asdict(self.model_args),
            "data_args": asdict(self.data_args),
            "training_args": asdict(self.args),
        }
        with open(os.path.join(folder, RUN_CONFIG_FILE), "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, default=str)

    # ------------------------------------------------------------------ logging
    def _log(self, metrics: dict[str, float], step: int) -> None:
        record = {"step": step, **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()}}
        self.log_history.append(record)
        self.accelerator.log(metrics, step=step)
        if self.accelerator.is_main_process:
            with open(os.path.join(self.args.output_dir, METRICS_LOG_FILE), "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def _log_text_cache_epoch(self, epoch: int, start_counts: tuple[int, int], step: int) -> None:
        """The text cache's hit rate over one epoch: with fresh negatives every epoch, the share of the epoch's texts
        the frozen tower did not have to embed again."""
        hits = self.text_cache.hits - start_counts[0]
        misses = self.text_cache.misses - start_counts[1]
        if hits + misses:
            self._log({"epoch_text_cache_hit_rate": 100.0 * hits / (hits + misses), "epoch_new_texts": misses,
                       "epoch_index": epoch}, step)

    # ------------------------------------------------------------------ main loop
    def train(self) -> TrainResult:
        """Set up, (resume,) run the epochs, evaluate and save; see the module docstring."""
        accelerator = self.accelerator
        model, train_loader, eval_loader = self._set_up()
        model, optimizer, scheduler, train_loader, eval_loader, total_steps = self._prepare_optimisation(
            model, train_loader, eval_loader
        )
        loop = self._restore_loop_state()
        started = time.perf_counter()
        progress = tqdm(total=total_steps, initial=loop.global_step, disable=not accelerator.is_local_main_process,
                        desc="train")
        model.train()
        while loop.global_step < total_steps and not loop.stopped_early:
            self._run_epoch(loop, model, optimizer, scheduler, train_loader, eval_loader, total_steps, progress)
            if not loop.stopped_early:
                loop.epoch += 1
        progress.close()
        accelerator.wait_for_everyone()
        return self._finish(loop, model, eval_loader, started)

    def _set_up(self):
        """Model, processors, text cache and data loaders; the run configuration is written for the record."""
        accelerator, args = self.accelerator, self.args
        os.makedirs(args.output_dir, exist_ok=True)
        model, self.tokenizer, self.image_processor = self._load_model_and_processors()
        self.processor = FigClipProcessor(image_processor=self.image_processor, tokenizer=self.tokenizer)
        self.text_cache = TextEmbeddingCache(self.tokenizer)
        train_loader, eval_loader = self._dataloaders(self.image_processor)
        self.generic_pairs = self._generic_pairs()
        self.generic_text_embeds = None  # similarity distillation: computed once, at the first step
        if accelerator.is_main_process:
            self._write_run_config(args.output_dir)
            logger.info("Trainable parameters:\n%s", trainable_parameter_report(model).as_table())
        return model, train_loader, eval_loader

    def _generic_pairs(self) -> GenericPairs | None:
        """The generic image–caption pairs, when replay or similarity distillation reads them."""
        settings = retention_settings(self.model_args, self.data_args)
        if settings["generic_dataset"] is None:
            return None
        try:
            with self.accelerator.main_process_first():  # datasets builds its cache once
                pairs = GenericPairs.from_arguments(self.data_args, self.image_processor, self.tokenizer, self.args.seed)
        except GenericDatasetError as error:
            raise TrainingSetupError(str(error)) from error
        if self.accelerator.is_main_process:
            logger.info("Generic image–caption pairs: %d from %s (retention options %s).", len(pairs),
                        self.data_args.generic_dataset, settings)
        return pairs

    def _prepare_optimisation(self, model, train_loader, eval_loader):
        """AdamW over the trainable parameters, the schedule, the checkpoint hooks and `accelerator.prepare`."""
        accelerator, args = self.accelerator, self.args
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            self.trainable, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon,
            weight_decay=args.weight_decay,
        )
        steps_per_epoch = math.ceil(
            math.ceil(len(train_loader) / accelerator.num_processes) / args.gradient_accumulation_steps
        )
        total_steps = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * steps_per_epoch)
        warmup = args.warmup_steps or int(args.warmup_ratio * total_steps)
        # Schedulers prepared by accelerate step once per process-step; give them process-step counts.
        scheduler = get_scheduler(
            args.lr_scheduler_type, optimizer, num_warmup_steps=warmup * accelerator.num_processes,
            num_training_steps=total_steps * accelerator.num_processes,
        )
        self._register_adapter_checkpoint_hooks()
        if eval_loader is not None:
            model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
                model, optimizer, train_loader, eval_loader, scheduler
            )
        else:
            model, optimizer, train_loader, scheduler = accelerator.prepare(model, optimizer, train_loader, scheduler)
        if accelerator.is_main_process and accelerator.log_with:
            accelerator.init_trackers(args.run_name or "figclip", config={k: str(v) for k, v in self.identity.items()})
        return model, optimizer, scheduler, train_loader, eval_loader, total_steps

    def _restore_loop_state(self) -> _LoopState:
        """A fresh loop, or the one saved in the checkpoint being resumed (weights, optimizer, RNG and position)."""
        loop = _LoopState()
        if self.checkpoint is not None:
            self.accelerator.load_state(self.checkpoint)
            with open(os.path.join(self.checkpoint, TRAINER_STATE_FILE), encoding="utf-8") as handle:
                state = json.load(handle)
            loop.global_step, loop.epoch, loop.skip_batches = state["global_step"], state["epoch"], state["batches_in_epoch"]
            self.log_history = state.get("log_history", [])
            logger.info("Resumed from %s at step %d (epoch %d, batch %d).", self.checkpoint, loop.global_step,
                        loop.epoch, loop.skip_batches)
        return loop

    def _run_epoch(self, loop, model, optimizer, scheduler, train_loader, eval_loader, total_steps, progress) -> None:
        """One pass over the training loader (from the resumed position), stepping, logging, evaluating and
        checkpointing as configured; stops early at `total_steps` or `stop_after_steps`."""
        accelerator, args = self.accelerator, self.args
        train_loader.set_epoch(loop.epoch)
        self.train_split.transform.set_epoch(loop.epoch)  # new jitter times and, per_epoch, new negatives
        cache_counts = (self.text_cache.hits, self.text_cache.misses)
        loader = accelerator.skip_first_batches(train_loader, loop.skip_batches) if loop.skip_batches else train_loader
        loop.batches_in_epoch, loop.skip_batches = loop.skip_batches, 0
        trained_batches = 0
        for batch in loader:
            loop.batches_in_epoch += 1
            if not self._usable(batch):
                self.skips.batches_skipped += 1
                continue
            trained_batches += 1
            # The replay draw of this micro-batch: a function of the step, so a resumed run draws the same pairs.
            draw = loop.global_step * args.gradient_accumulation_steps + loop.micro_in_step
            out = self._training_step(model, optimizer, scheduler, batch, draw)
            loop.add_running(out)
            loop.micro_in_step += 1
            if not accelerator.sync_gradients:
                continue
            loop.micro_in_step = 0
            loop.global_step += 1
            progress.update(1)
            self._after_step(loop, model, scheduler, train_loader, eval_loader, total_steps, progress)
            if args.stop_after_steps is not None and loop.global_step >= args.stop_after_steps:
                loop.stopped_early = True
                break
            if loop.global_step >= total_steps:
                break
        if self.use_text_cache:
            self._log_text_cache_epoch(loop.epoch, cache_counts, loop.global_step)
        if not loop.stopped_early and trained_batches == 0 and self.skips.batches_skipped:
            raise TrainingSetupError(
                f"Every batch of epoch {loop.epoch} was skipped: no clip of the training split could be decoded in "
                f"lenient mode ({format_training_skips(self.skips.as_dict())}). Check video_dir / frames_dir."
            )

    def _training_step(self, model, optimizer, scheduler, batch, draw: int = 0):
        """Forward (with the retention terms' inputs, if on), backward, clipping and the optimizer/scheduler step
        (under gradient accumulation)."""
        accelerator, args = self.accelerator, self.args
        with accelerator.accumulate(model):
            out = self._forward(model, batch, retention=self._retention_inputs(model, batch, draw))
            accelerator.backward(out.loss)
            if accelerator.sync_gradients and args.max_grad_norm > 0:
                accelerator.clip_grad_norm_(self.trainable, args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        return out

    def _after_step(self, loop, model, scheduler, train_loader, eval_loader, total_steps, progress) -> None:
        """Logging, evaluation and checkpoints due after optimizer step `loop.global_step`."""
        args = self.args
        if loop.global_step % args.logging_steps == 0 or loop.global_step == total_steps:
            metrics = {f"train_{k}": v / loop.running_count for k, v in loop.running.items()}
            metrics.update(learning_rate=scheduler.get_last_lr()[0],
                           epoch=loop.epoch + loop.batches_in_epoch / len(train_loader))
            if self.use_text_cache:
                metrics["text_cache_size"] = len(self.text_cache)
            self._log(metrics, loop.global_step)
            progress.set_postfix(loss=f"{metrics['train_loss']:.4f}")
            loop.running, loop.running_count = {}, 0
        if eval_loader is not None and args.eval_steps > 0 and loop.global_step % args.eval_steps == 0:
            loop.last_eval = self.evaluate(model, eval_loader)
            loop.last_eval_step = loop.global_step
            self._log(loop.last_eval, loop.global_step)
        if args.save_steps > 0 and loop.global_step % args.save_steps == 0:
            self._save_checkpoint(loop.global_step, loop.epoch, loop.batches_in_epoch)

    def _finish(self, loop, model, eval_loader, started: float) -> TrainResult:
        """Final evaluation (unless the last step just evaluated), adapter, card and results; nothing is saved
        after `stop_after_steps`."""
        accelerator, args = self.accelerator, self.args
        result = TrainResult(output_dir=args.output_dir, global_step=loop.global_step, stopped_early=loop.stopped_early)
        self.lenient_report = self._lenient_report()
        if loop.stopped_early:
            accelerator.end_training()
            return result
        if eval_loader is not None:
            if loop.last_eval_step != loop.global_step:
                loop.last_eval = self.evaluate(model, eval_loader)
                self._log(loop.last_eval, loop.global_step)
            result.final_metrics = dict(loop.last_eval)
        result.final_metrics["train_runtime_s"] = round(time.perf_counter() - started, 2)
        self._save_final(model, result)
        accelerator.end_training()
        return result

    # ------------------------------------------------------------------ end of training
    def _lenient_report(self) -> dict[str, Any]:
        """What was left out, from preparation to training (summed over processes; printed on the main process)."""
        report: dict[str, Any] = {"strict": self.data_args.strict, "preparation": {}}
        for split in (self.train_split, self.eval_split):
            if split is not None and split.skipped:
                report["preparation"][split.skipped.get("split", "?")] = split.skipped
        report["training"] = self.skips.merged(self.accelerator)
        if self.accelerator.is_main_process and not self.data_args.strict:
            print(format_training_skips(report["training"]))
        return report

    def _save_final(self, model, result: TrainResult) -> None:
        from .hub import push_run_to_hub, write_model_card
        from .plots import plot_loss_curve

        accelerator, args = self.accelerator, self.args
        accelerator.wait_for_everyone()
        if not accelerator.is_main_process:
            return
        peft_model = accelerator.unwrap_model(model)
        save_figclip_adapters(peft_model, args.output_dir)
        processor = self.processor
        processor.save_pretrained(args.output_dir)
        self.image_processor.save_pretrained(args.output_dir)
        result.adapter_dir = args.output_dir
        if args.save_merged_model:
            merged_dir = os.path.join(args.output_dir, "merged_clip")
            # Merge a copy: the adapted model stays usable (and unmerged) after saving.
            import copy

            clip = to_clip_model(copy.deepcopy(peft_model))
            clip.save_pretrained(merged_dir)
            processor.save_pretrained(merged_dir)
            self.image_processor.save_pretrained(merged_dir)
            result.merged_dir = merged_dir
        result.loss_curve = plot_loss_curve(self.log_history, os.path.join(args.output_dir, "loss_curve.png"))
        with open(os.path.join(args.output_dir, "train_results.json"), "w", encoding="utf-8") as handle:
            json.dump({"global_step": result.global_step, **result.final_metrics, "skipped": self.lenient_report,
                       "retention": retention_settings(self.model_args, self.data_args)}, handle, indent=2)
        write_model_card(args.output_dir, self.model_args, self.data_args, args, result.final_metrics,
                         trainable_parameter_report(peft_model), skipped=self.lenient_report)
        if args.push_to_hub:
            push_run_to_hub(args.output_dir, args.hub_model_id, private=args.hub_private_repo)


def train_figclip(model_args: ModelArguments, data_args: DataArguments, args: FigClipTrainingArguments,
                  vidsitu_dir: str | None = None) -> TrainResult:
    """Train FiGCLIP adapters with the given arguments (the body of `recipes/train_figclip.py`)."""
    return FigClipTrainer(model_args, data_args, args, vidsitu_dir=vidsitu_dir).train()
