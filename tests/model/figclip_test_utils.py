"""Tiny random FiGCLIP models and inputs shared by the model tests."""

import torch

from modeling_figclip import FigClipConfig, FigClipModel
from modeling_figclip.testing_utils import tiny_clip_config_dict, tiny_tokenizer


def make_config(**overrides) -> FigClipConfig:
    kwargs = dict(vc_num_layers=2, vc_num_attention_heads=4)
    kwargs.update(overrides)
    return FigClipConfig(**tiny_clip_config_dict(tiny_tokenizer(), **kwargs))


def make_model(seed: int = 0, **overrides) -> FigClipModel:
    torch.manual_seed(seed)
    model = FigClipModel(make_config(**overrides))
    # A trained-looking residual read-out: at zero it would make VC-level embeddings equal the CLIP-level ones.
    if model.video_contextualizer is not None and model.video_contextualizer.output_projection is not None:
        with torch.no_grad():
            model.video_contextualizer.output_projection.weight.normal_(std=0.2)
    return model.eval()


PROMPTS = [
    ["in this photo the action is walk where the walker is man", "in this photo the action is talk where the talker is woman",
     "in this photo the action is run where the runner is dog", "in this photo the action is jog where the jogger is boy",
     "in this photo the action is hit where the hitter is girl"],
    ["in this photo the action is walk where the walker is dog", "in this photo the action is walk where the walker is dog",
     "in this photo the action is run where the runner is red dog", "in this photo the action is talk where the talker is boy",
     "in this photo the action is jog where the jogger is woman"],
    ["in this photo the action is hit where the hitter is man", "in this photo the action is jog where the jogger is man",
     "in this photo the action is walk where the walker is girl", "in this photo the action is run where the runner is blue dog",
     "in this photo the action is talk where the talker is man with short hair"],
]
NEGATIVES = [
    [[p.replace("walk", "jog").replace("walker", "jogger"), p.replace("walk", "run").replace("walker", "runner")] for p in clip]
    for clip in PROMPTS
]


def make_batch(tokenizer, batch: int = 3, events: int = 5, frames: int = 4, seed: int = 0, negatives: bool = True):
    generator = torch.Generator().manual_seed(seed)
    pixel_values_videos = torch.randn(batch, events, frames, 3, 32, 32, generator=generator)
    prompts = [clip[:events] for clip in PROMPTS[:batch]]
    encoded = tokenizer([p for clip in prompts for p in clip], padding=True, return_tensors="pt")
    inputs = dict(
        pixel_values_videos=pixel_values_videos,
        input_ids=encoded.input_ids.view(batch, events, -1),
        attention_mask=encoded.attention_mask.view(batch, events, -1),
    )
    if negatives:
        flat = [n for clip in NEGATIVES[:batch] for event in clip[:events] for n in event]
        encoded_negatives = tokenizer(flat, padding=True, return_tensors="pt")
        inputs["negative_input_ids"] = encoded_negatives.input_ids.view(batch, events, 2, -1)
        inputs["negative_attention_mask"] = encoded_negatives.attention_mask.view(batch, events, 2, -1)
    return inputs


def moved_adapter(base: FigClipModel, seed: int = 0):
    """Adapters (r=4) on a copy of `base` whose LoRA and contextualiser moved away from their initialisation, in eval
    mode: a stand-in for a trained FiGCLIP adapter."""
    import copy

    from modeling_figclip import add_figclip_adapters

    peft_model = add_figclip_adapters(copy.deepcopy(base), r=4)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in peft_model.parameters():
            if parameter.requires_grad:
                parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    return peft_model.eval()


def saved_clip_and_adapter(root, tokenizer):
    """A tiny CLIP checkpoint (`root/clip`: weights, tokenizer, 32-px image processor) and a `moved_adapter` on it
    saved as a FiGCLIP adapter (`root/adapter`); returns `(clip_dir, adapter_dir, base, adapted)`."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from modeling_figclip import save_figclip_adapters

    clip_dir, adapter_dir = root / "clip", root / "adapter"
    CLIPModel(CLIPConfig(**tiny_clip_config_dict(tokenizer))).save_pretrained(clip_dir)
    tokenizer.save_pretrained(clip_dir)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(clip_dir)
    base = FigClipModel.from_pretrained(clip_dir).eval()
    adapted = moved_adapter(base)
    save_figclip_adapters(adapted, str(adapter_dir))
    return clip_dir, adapter_dir, base, adapted
