"""LoRA adapters for FiGCLIP, built on peft (paper §3.2: LoRA r=64 on the image encoder's q/k/v only).

The adapter holds the LoRA matrices of the vision tower and — as a peft `modules_to_save` entry — the whole Video
Contextualizer, so `save_pretrained` writes everything a FiGCLIP checkpoint adds to CLIP into
`adapter_config.json` + `adapter_model.safetensors`. Loading works three ways:

- `FigClipModel.from_pretrained(adapter_dir_or_repo)` (transformers reads `base_model_name_or_path`, loads the base,
  then the adapter),
- `PeftModel.from_pretrained(FigClipModel.from_pretrained(base), adapter_dir)`,
- `load_figclip_adapters(base_model, adapter_dir)` below.

`merge_figclip_adapters` folds LoRA into the weights; `to_clip_model` then drops the contextualiser and returns a
plain `CLIPModel` for consumers that know nothing of FiGCLIP (its image embeddings equal the adapted model's).

`set_adapter_scale(model, α)` interpolates between the base model (α = 0) and the adapter as trained (α = 1), in the
spirit of WiSE-FT's weight-space ensembling: every LoRA delta is scaled by α (peft's adapter scaling; for LoRA this is
exactly the linear interpolation of the adapted weights toward the base weights), and the contextualiser, which has no
pre-trained counterpart, gets weight α in the VC-level embeddings (`FigClipConfig.vc_interpolation`). Loading
(`FigClipModel.from_pretrained(..., adapter_scale=α)`, `load_model_for_inference(..., adapter_scale=α)`) and merging
(`merge_figclip_adapters` / `to_clip_model(..., adapter_scale=α)`) take the same α.

`set_feature_ensemble(model, λ)` is the other ensemble of WiSE-FT, in output space: every image embedding becomes
`normalize((1 − λ) · base + λ · adapted)`, the same pixels encoded with the vision LoRA deltas off and on (two passes of
the vision tower, one model in memory). The text tower is frozen, so this mixes the two models' image→text similarities.
Measured on the toy world it keeps more of the role gain per retrieval point lost than `set_adapter_scale`
(`recipes/toy/README.md`). Loading takes it as `FigClipModel.from_pretrained(..., feature_ensemble=λ)` or
`load_model_for_inference(..., feature_ensemble=λ)`; it needs the adapter unmerged, so a merged checkpoint cannot hold it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer
from transformers import CLIPConfig, CLIPModel

from .modeling_figclip import FIGCLIP_ADAPTER_CONFIG_NAME, FigClipModel, read_figclip_adapter_config

CONTEXTUALIZER_MODULE = "video_contextualizer"

# peft matches a string `target_modules` as a full-name regex. The tower prefix keeps the text tower (whose layers
# use the same `q_proj`/`k_proj`/`v_proj` names) and the contextualiser (whose layers do too) out of the adapter.
LORA_TARGETS: dict[str, str] = {
    # the paper's choice
    "vision_qkv": r".*vision_model\.encoder\.layers\.\d+\.self_attn\.(q_proj|k_proj|v_proj)",
    # ablation: every linear layer of the vision tower's blocks (q/k/v + out/fc1/fc2)
    "vision_all_linear": r".*vision_model\.encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2))",
    # ablation "tuned text encoder": q/k/v of both towers
    "vision_and_text_qkv": r".*(vision_model|text_model)\.encoder\.layers\.\d+\.self_attn\.(q_proj|k_proj|v_proj)",
}


def figclip_lora_config(
    r: int = 64,
    lora_alpha: int | None = None,
    lora_dropout: float = 0.0,
    targets: str = "vision_qkv",
    train_contextualizer: bool = True,
) -> LoraConfig:
    """The peft `LoraConfig` of a FiGCLIP adapter.

    Args:
        r: LoRA rank (paper: 64).
        lora_alpha: LoRA scaling numerator; defaults to `r` (scale 1). The paper does not report it.
        lora_dropout: dropout on the LoRA branch.
        targets: a key of `LORA_TARGETS` ("vision_qkv" is the paper's) or a custom full-name regex.
        train_contextualizer: put the Video Contextualizer in `modules_to_save` (trained and saved with the adapter).
    """
    target_modules = LORA_TARGETS.get(targets, targets)
    return LoraConfig(
        r=r,
        lora_alpha=lora_alpha if lora_alpha is not None else r,
        lora_dropout=lora_dropout,
        target_modules=target_modules,
        modules_to_save=[CONTEXTUALIZER_MODULE] if train_contextualizer else None,
        bias="none",
        # No task_type: peft's FEATURE_EXTRACTION wrapper would impose a text-only forward signature on CLIP.
    )


def add_figclip_adapters(
    model: FigClipModel,
    lora_config: LoraConfig | None = None,
    **lora_kwargs,
) -> PeftModel:
    """Freeze `model` and attach FiGCLIP's adapters; trainable = exactly LoRA + the Video Contextualizer.

    CLIP's temperature stays frozen (the paper keeps CLIP's scale; a bare parameter could not be saved in a peft
    adapter anyway).

    Args:
        model: a `FigClipModel` (e.g. `FigClipModel.from_pretrained("openai/clip-vit-base-patch32")`).
        lora_config: a peft `LoraConfig`; default `figclip_lora_config(**lora_kwargs)`.
    """
    if not isinstance(model, FigClipModel):
        raise TypeError(f"add_figclip_adapters expects a FigClipModel, got {type(model).__name__}.")
    enabled = model.config.enabled_losses
    contextualizer_trained = model.video_contextualizer is not None and (enabled["vc_event"] or enabled["vc_video"])
    if lora_config is None:
        lora_config = figclip_lora_config(train_contextualizer=contextualizer_trained, **lora_kwargs)
    elif lora_kwargs:
        raise ValueError(f"Pass either lora_config or LoRA keyword arguments, not both (got {sorted(lora_kwargs)}).")
    if not contextualizer_trained and lora_config.modules_to_save:
        lora_config.modules_to_save = [m for m in lora_config.modules_to_save if m != CONTEXTUALIZER_MODULE] or None
    model.requires_grad_(False)
    return get_peft_model(model, lora_config)


@dataclass
class TrainableParameterReport:
    """Parameter counts of a (possibly adapted) FiGCLIP model."""

    total: int
    trainable: int
    lora: int
    contextualizer: int
    other_trainable: list[str]

    @property
    def trainable_percent(self) -> float:
        return 100.0 * self.trainable / max(self.total, 1)

    def as_table(self) -> str:
        """A small markdown table for logs and model cards."""
        rows = [
            ("total parameters", f"{self.total:,}"),
            ("trainable parameters", f"{self.trainable:,} ({self.trainable_percent:.2f}%)"),
            ("  LoRA", f"{self.lora:,}"),
            ("  Video Contextualizer", f"{self.contextualizer:,}"),
            ("  other trainable", ", ".join(self.other_trainable) or "none"),
        ]
        return "| | count |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows)


def trainable_parameter_report(model: torch.nn.Module) -> TrainableParameterReport:
    """Count total/trainable parameters and split the trainable ones into LoRA, contextualiser and anything else.

    peft's `modules_to_save` keeps a frozen copy of the original contextualiser next to the trained one; only the
    trained copy is counted as trainable, and the frozen original is not counted in `total` twice.
    """
    total = trainable = lora = contextualizer = 0
    other: list[str] = []
    for name, parameter in model.named_parameters():
        if ".original_module." in name:
            continue
        count = parameter.numel()
        total += count
        if not parameter.requires_grad:
            continue
        trainable += count
        if "lora_" in name:
            lora += count
        elif CONTEXTUALIZER_MODULE in name:
            contextualizer += count
        else:
            other.append(name)
    return TrainableParameterReport(total, trainable, lora, contextualizer, other)


def save_figclip_adapters(model: PeftModel, save_directory: str, **kwargs) -> None:
    """`save_pretrained` (adapter_config.json + adapter_model.safetensors) plus `figclip_config.json`, the FiGCLIP
    settings needed to rebuild a matching contextualiser on the base model when loading."""
    import json
    import os

    model.save_pretrained(save_directory, **kwargs)
    with open(os.path.join(save_directory, FIGCLIP_ADAPTER_CONFIG_NAME), "w", encoding="utf-8") as handle:
        json.dump(model.get_base_model().config.figclip_fields(), handle, indent=2, sort_keys=True)


def load_figclip_adapters(base_model: FigClipModel, adapter_path: str, is_trainable: bool = False, **kwargs) -> PeftModel:
    """Load a saved FiGCLIP adapter (local directory or Hub repo id) onto `base_model`.

    Checks first that `base_model`'s contextualiser matches the one the adapter was trained with (its
    `figclip_config.json`): peft would otherwise fail deep inside with a missing-key error, or load partially.
    `is_trainable=True` to continue training (peft loads adapters in inference mode otherwise).
    """
    saved = read_figclip_adapter_config(adapter_path, **kwargs)
    if saved is not None:
        current = base_model.config.figclip_fields()
        shape_fields = ("vc_num_layers", "vc_num_attention_heads", "vc_intermediate_size", "max_events",
                        "max_frames_per_event", "use_contextualizer")
        differing = [f for f in shape_fields if f in saved and saved[f] != current[f]]
        if differing:
            details = ", ".join(f"{f}: adapter {saved[f]!r} vs base {current[f]!r}" for f in differing)
            raise ValueError(
                f"The adapter at {adapter_path} was trained with another contextualiser ({details}). Load the base with "
                f"FigClipModel.from_pretrained(base, **read_figclip_adapter_config({adapter_path!r})), or simply "
                f"FigClipModel.from_pretrained({adapter_path!r})."
            )
    return PeftModel.from_pretrained(base_model, adapter_path, is_trainable=is_trainable, **kwargs)


def _in_unit_interval(value: float, name: str, ends: str) -> float:
    """`value` as a float, or a `ValueError` naming `name` (and what its ends mean) when it is outside [0, 1]."""
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be in [0, 1] ({ends}); got {value}.")
    return number


def check_adapter_scale(adapter_scale: float) -> float:
    """`adapter_scale` as a float, or a `ValueError` when it is outside [0, 1]."""
    return _in_unit_interval(adapter_scale, "adapter_scale", "0: the base model, 1: the adapter as trained")


def _figclip_of(model: PeftModel | FigClipModel) -> FigClipModel:
    """The `FigClipModel` itself, whether `model` is it or the `PeftModel` wrapping it."""
    return model.get_base_model() if isinstance(model, PeftModel) else model


def _unmerged_lora_layers(model: torch.nn.Module, vision_only: bool, missing_hint: str, merged_hint: str) -> list[LoraLayer]:
    """The model's LoRA layers (with `vision_only`, those of the vision tower: the text tower's, in the tuned-text
    ablation, are left alone); a `ValueError` when there are none or they are merged, ending in the caller's hint."""
    layers = [module for name, module in model.named_modules()
              if isinstance(module, LoraLayer) and (not vision_only or "vision_model" in name)]
    if not layers:
        kind = "vision LoRA adapter" if vision_only else "LoRA adapter"
        raise ValueError(f"{type(model).__name__} holds no {kind}{missing_hint}")
    if any(layer.merged for layer in layers):
        raise ValueError(f"The adapter is merged into the weights; {merged_hint}")
    return layers


def set_adapter_scale(model: PeftModel | FigClipModel, adapter_scale: float) -> None:
    """Scale the adapter's learned change by α = `adapter_scale` ∈ [0, 1], in place (see the module docstring).

    - LoRA: every LoRA layer's scaling becomes α × `lora_alpha / r` (peft's `LoraLayer.set_scale`), so each adapted
      weight is `W + α ΔW`. α = 0 gives the base model's weights exactly, α = 1 the adapter as trained.
    - Contextualiser: `config.vc_interpolation = α`, so VC-level embeddings are `normalize((1 − α) CLIP-level +
      α contextualised)`: at α = 0 the CLIP-level means of the base model, at α = 1 the trained contextualiser's.

    Works on a `PeftModel` and on a `FigClipModel` holding adapters through transformers' integration. Raises
    `ValueError` for a model without (unmerged) LoRA layers: a merged model's deltas are already fixed.
    """
    adapter_scale = check_adapter_scale(adapter_scale)
    layers = _unmerged_lora_layers(
        model, vision_only=False,
        missing_hint=" to scale; load the adapter (not a merged checkpoint) with "
                     "FigClipModel.from_pretrained(adapter_dir, adapter_scale=...).",
        merged_hint="set its scale before merging (merge_figclip_adapters).",
    )  # fmt: skip
    for layer in layers:
        for adapter in layer.active_adapters:
            layer.set_scale(adapter, adapter_scale)
    _figclip_of(model).config.vc_interpolation = adapter_scale


def _vision_lora_layers(model: torch.nn.Module) -> list[LoraLayer]:
    """The unmerged LoRA layers of the vision tower, which the feature ensemble switches off for the base's pass."""
    return _unmerged_lora_layers(
        model, vision_only=True,
        missing_hint="; load the adapter (not a merged checkpoint), e.g. "
                     "FigClipModel.from_pretrained(adapter_dir, feature_ensemble=...).",
        merged_hint="the base's features need it unmerged.",
    )  # fmt: skip


@contextmanager
def vision_adapters_off(model: torch.nn.Module) -> Iterator[None]:
    """Inside the block the vision tower computes the base model exactly: every vision LoRA layer's scaling is 0
    (its delta adds zeros), restored on exit. Unlike peft's `disable_adapter()` it works on a `FigClipModel` holding
    adapters and leaves `requires_grad` untouched."""
    saved = [(layer, dict(layer.scaling)) for layer in _vision_lora_layers(model)]
    try:
        for layer, scaling in saved:
            for adapter in scaling:
                layer.scaling[adapter] = 0.0
        yield
    finally:
        for layer, scaling in saved:
            layer.scaling.update(scaling)


def set_feature_ensemble(model: PeftModel | FigClipModel, weight: float) -> None:
    """Read images out as the output-space ensemble of the base and the adapted model, in place: each image embedding
    is `normalize((1 − λ) · base + λ · adapted)` with λ = `weight` ∈ [0, 1] (`FigClipConfig.feature_ensemble`; see
    the module docstring). λ = 1 is the adapted model, λ = 0 the base model exactly. VC-level embeddings are computed
    from the ensembled frame embeddings. Inference only (a model in training mode refuses it). Raises `ValueError` for
    a model without unmerged vision LoRA layers."""
    value = _in_unit_interval(weight, "feature_ensemble", "0: the base model, 1: the adapted model")
    _vision_lora_layers(model)
    _figclip_of(model).config.feature_ensemble = value


@torch.no_grad()
def base_frame_embeddings(
    model: PeftModel, pixel_values_videos: torch.Tensor, event_mask: torch.Tensor | None = None,
    frame_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """`(batch, events, frames, dim)` frame embeddings of the frozen base model: the same model with its adapters
    disabled (peft's `disable_adapter()`), without gradient — the distillation target; no second copy is loaded."""
    if not isinstance(model, PeftModel):
        raise TypeError(f"base_frame_embeddings needs the PeftModel that holds the adapters, got {type(model).__name__}.")
    with model.disable_adapter():
        video = model.get_video_features(pixel_values_videos, event_mask=event_mask, frame_mask=frame_mask,
                                         use_contextualizer=False)
    return video.frame_embeds


def merge_figclip_adapters(model: PeftModel | FigClipModel, adapter_scale: float | None = None) -> FigClipModel:
    """Fold LoRA weights into the base weights and unwrap the contextualiser; returns a plain `FigClipModel`.

    A `FigClipModel` that carries adapters through transformers' integration (`from_pretrained(adapter_dir)`) is
    merged the same way. `adapter_scale=α` first scales the learned change (`set_adapter_scale`); the merged model
    keeps `config.vc_interpolation = α`, so it saves and reloads as the interpolated model.
    """
    figclip = _figclip_of(model)
    if getattr(figclip.config, "feature_ensemble", 1.0) != 1.0:
        raise ValueError(
            f"feature_ensemble={figclip.config.feature_ensemble} needs the base's features, which merging loses; "
            "keep the adapter unmerged (or set_feature_ensemble(model, 1.0) first)."
        )
    if adapter_scale is not None:
        set_adapter_scale(model, adapter_scale)
    if isinstance(model, PeftModel):
        return model.merge_and_unload()
    if getattr(model, "_hf_peft_config_loaded", False):
        # transformers' PeftAdapterMixin: wrap the injected layers in a PeftModel view to merge them.
        from peft.tuners.tuners_utils import BaseTunerLayer

        for module in model.modules():
            if isinstance(module, BaseTunerLayer):
                module.merge()
        _unwrap_injected_layers(model)
        model._hf_peft_config_loaded = False
        return model
    return model


def _unwrap_injected_layers(model: torch.nn.Module) -> None:
    """Replace merged peft layers by their base layers and `modules_to_save` wrappers by the trained module."""
    from peft.tuners.tuners_utils import BaseTunerLayer
    from peft.utils import ModulesToSaveWrapper

    for name, module in list(model.named_modules()):
        if isinstance(module, (BaseTunerLayer, ModulesToSaveWrapper)):
            parent_name, _, child_name = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            if isinstance(module, ModulesToSaveWrapper):
                replacement = module.modules_to_save[module.active_adapter] if module.active_adapter else module.original_module
            else:
                replacement = module.get_base_layer()
            setattr(parent, child_name, replacement)


def to_clip_model(model: FigClipModel | PeftModel, adapter_scale: float | None = None) -> CLIPModel:
    """A plain `CLIPModel` with the (merged) CLIP weights of `model`; the Video Contextualizer is dropped.

    Any CLIP consumer (pipelines, CLIP_benchmark adapters, MTEB) can use the result; its image and text embeddings
    equal those of the adapted FiGCLIP model (with `adapter_scale=α`: of the model interpolated by α, see
    `set_adapter_scale`; α = 0 gives the base CLIP's weights).
    """
    merged = merge_figclip_adapters(model, adapter_scale)
    clip_config = CLIPConfig(
        text_config=merged.config.text_config.to_dict(),
        vision_config=merged.config.vision_config.to_dict(),
        projection_dim=merged.config.projection_dim,
        logit_scale_init_value=merged.config.logit_scale_init_value,
    )
    clip = CLIPModel(clip_config)
    state = {k: v for k, v in merged.state_dict().items() if not k.startswith(CONTEXTUALIZER_MODULE + ".")}
    missing, unexpected = clip.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"Converting to CLIPModel left missing={missing} unexpected={unexpected} weights.")
    return clip.to(dtype=next(merged.parameters()).dtype)
