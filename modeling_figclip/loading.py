"""One loading path for every CLIP-family checkpoint the evaluators and the training recipe accept.

`load_model_for_inference(name_or_path)` accepts, from a local directory or a Hub repo id (offline: from the cache):

- a plain CLIP checkpoint (`model_type="clip"`, e.g. `openai/clip-vit-base-patch32`) → `CLIPModel`;
- a FiGCLIP checkpoint (`model_type="figclip"`, e.g. a merged and saved model) → `FigClipModel`;
- a FiGCLIP adapter (`adapter_config.json` + `adapter_model.safetensors`) → the base model from the adapter's
  `base_model_name_or_path` as a `FigClipModel`, the adapter attached and merged (merging makes inference as fast
  as plain CLIP and is exact up to float rounding); `adapter_scale=α` interpolates it toward its base first
  (`adapters.set_adapter_scale`); `feature_ensemble=λ < 1` keeps it unmerged and reads images out as the ensemble
  of base and adapted features (`adapters.set_feature_ensemble`).

The tokenizer and image processor come from the same place, falling back to the adapter's base model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import torch
from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer, CLIPModel, PreTrainedModel
from transformers.utils.peft_utils import find_adapter_config_file

from .adapters import load_figclip_adapters, merge_figclip_adapters, set_adapter_scale, set_feature_ensemble
from .modeling_figclip import FigClipModel, read_figclip_adapter_config
from .preflight import is_hub_id
from .tokenization_utils import check_tokenizer


@dataclass
class LoadedModel:
    """A model ready for inference with its tokenizer and image processor.

    Attributes:
        model: `CLIPModel` or `FigClipModel`, in eval mode.
        tokenizer: the CLIP tokenizer (checked to be non-empty).
        image_processor: the CLIP image processor.
        kind: "clip", "figclip" or "figclip-adapter".
        base_model_name_or_path: for adapters, the base the adapter was loaded onto.
    """

    model: PreTrainedModel
    tokenizer: object
    image_processor: object
    kind: str
    base_model_name_or_path: str | None = None

    def __iter__(self):
        # Allows `model, tokenizer, image_processor = load_model_for_inference(...)`.
        return iter((self.model, self.tokenizer, self.image_processor))


def _adapter_config(name_or_path: str, cache_dir: str | None) -> dict | None:
    path = find_adapter_config_file(
        name_or_path, cache_dir=cache_dir, local_files_only=os.environ.get("HF_HUB_OFFLINE") == "1"
    )
    if path is None:
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _load_preprocessors(primary: str, fallback: str | None, cache_dir: str | None):
    errors = []
    for source in (primary, fallback):
        if source is None:
            continue
        try:
            tokenizer = check_tokenizer(AutoTokenizer.from_pretrained(source, cache_dir=cache_dir), source)
            image_processor = AutoImageProcessor.from_pretrained(source, cache_dir=cache_dir)
            return tokenizer, image_processor
        except (OSError, ValueError) as error:  # missing files here; try the base model
            errors.append(f"{source}: {error}")
    raise OSError("Could not load a tokenizer and image processor from " + " or ".join(errors))


def load_model_for_inference(
    name_or_path: str,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    merge_adapters: bool = True,
    cache_dir: str | None = None,
    adapter_scale: float | None = None,
    feature_ensemble: float | None = None,
) -> LoadedModel:
    """Load a CLIP, FiGCLIP or FiGCLIP-adapter checkpoint for evaluation (see the module docstring).

    Args:
        name_or_path: local directory or Hub repo id.
        device: where to put the model (default: CPU).
        dtype: parameter dtype (default: as saved).
        merge_adapters: fold LoRA into the weights (exact up to rounding, and as fast as plain CLIP).
        cache_dir: Hugging Face cache folder (default: the standard cache).
        adapter_scale: for a FiGCLIP adapter, scale its learned change by α ∈ [0, 1] (0: the base model exactly, 1:
            the adapter as trained; `set_adapter_scale`). An error for other checkpoints (they hold no adapter).
        feature_ensemble: for a FiGCLIP adapter, read images out as `normalize((1 − λ) · base + λ · adapted)`
            (`set_feature_ensemble`); below 1 the adapter stays unmerged (the base's pass needs it). An error for
            other checkpoints.
    """
    if not is_hub_id(name_or_path) and not os.path.isdir(name_or_path):
        raise OSError(f"Model directory {name_or_path!r} does not exist.")
    adapter = _adapter_config(name_or_path, cache_dir)
    kwargs = {"dtype": dtype} if dtype is not None else {}
    kwargs["cache_dir"] = cache_dir
    if adapter is not None:
        base_path = adapter.get("base_model_name_or_path")
        if not base_path:
            raise OSError(
                f"{name_or_path} holds an adapter whose adapter_config.json has no base_model_name_or_path; load the "
                "base model yourself and call modeling_figclip.load_figclip_adapters(base, path)."
            )
        saved = read_figclip_adapter_config(name_or_path, cache_dir=cache_dir) or {}
        base = FigClipModel.from_pretrained(base_path, **{**saved, **kwargs})
        model = load_figclip_adapters(base, name_or_path, cache_dir=cache_dir)
        if adapter_scale is not None:
            set_adapter_scale(model, adapter_scale)
        if feature_ensemble is not None:
            set_feature_ensemble(model, feature_ensemble)
        if merge_adapters and (feature_ensemble is None or float(feature_ensemble) == 1.0):
            model = merge_figclip_adapters(model)
        tokenizer, image_processor = _load_preprocessors(name_or_path, base_path, cache_dir)
        kind = "figclip-adapter"
    else:
        for name, value in (("adapter_scale", adapter_scale), ("feature_ensemble", feature_ensemble)):
            if value is not None:
                raise ValueError(f"{name} needs a FiGCLIP adapter; {name_or_path} holds none (adapter_config.json).")
        config = AutoConfig.from_pretrained(name_or_path, cache_dir=cache_dir)
        if config.model_type == "figclip":
            model, kind = FigClipModel.from_pretrained(name_or_path, **kwargs), "figclip"
        elif config.model_type == "clip":
            model, kind = CLIPModel.from_pretrained(name_or_path, **kwargs), "clip"
        else:
            raise ValueError(
                f"{name_or_path} is a {config.model_type!r} checkpoint; expected a CLIP or FiGCLIP checkpoint or adapter."
            )
        tokenizer, image_processor = _load_preprocessors(name_or_path, None, cache_dir)
        base_path = None
    model.eval()
    if device is not None:
        model.to(device)
    return LoadedModel(model, tokenizer, image_processor, kind, base_path)
