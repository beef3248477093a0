"""LoRA adapters: what is trainable, where gradient flows, and save/load/merge round-trips."""

import json

import pytest
import torch
from peft import PeftModel
from transformers import AutoModel, CLIPModel

from figclip_test_utils import make_batch, make_model
from modeling_figclip import (
    FigClipModel,
    add_figclip_adapters,
    load_figclip_adapters,
    merge_figclip_adapters,
    to_clip_model,
    trainable_parameter_report,
)
from modeling_figclip.loading import load_model_for_inference


def perturb_trainable(peft_model, seed=0):
    """LoRA B starts at zero; make the adapter non-trivial so round-trips compare something real."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in peft_model.parameters():
            if parameter.requires_grad:
                parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))


def test_trainable_parameters_are_exactly_lora_and_contextualizer():
    peft_model = add_figclip_adapters(make_model(), r=8)
    report = trainable_parameter_report(peft_model)
    names = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert names and all(("lora_" in n and "vision_model" in n) or "video_contextualizer" in n for n in names)
    assert not any("text_model" in n or "logit_scale" in n or "original_module" in n for n in names)
    lora_names = [n for n in names if "lora_" in n]
    assert {n.split(".self_attn.")[1].split(".")[0] for n in lora_names} == {"q_proj", "k_proj", "v_proj"}
    # 2 layers × 3 projections × (A: 8×64 + B: 64×8)
    assert report.lora == 2 * 3 * (8 * 64 + 64 * 8)
    assert report.contextualizer == sum(p.numel() for p in make_model().video_contextualizer.parameters())
    assert report.trainable == report.lora + report.contextualizer and report.other_trainable == []


def test_gradient_reaches_only_lora_and_contextualizer(tokenizer):
    peft_model = add_figclip_adapters(make_model(), r=4)
    perturb_trainable(peft_model)
    peft_model.train()
    out = peft_model(**make_batch(tokenizer))
    out.loss.backward()
    for name, parameter in peft_model.named_parameters():
        if parameter.requires_grad:
            assert parameter.grad is not None, name
        else:
            assert parameter.grad is None, name
    lora_grads = [p.grad.abs().sum() for n, p in peft_model.named_parameters() if "lora_A" in n]
    assert all(g > 0 for g in lora_grads)


def test_save_load_round_trip_and_merge(tmp_path, tokenizer):
    base_dir = tmp_path / "base"
    make_model(seed=1).save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    peft_model = add_figclip_adapters(FigClipModel.from_pretrained(base_dir), r=4)
    perturb_trainable(peft_model)
    peft_model.eval()
    peft_model.save_pretrained(tmp_path / "adapter")
    files = sorted(p.name for p in (tmp_path / "adapter").iterdir())
    assert "adapter_config.json" in files and "adapter_model.safetensors" in files
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    saved = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert saved["r"] == 4 and saved["modules_to_save"] == ["video_contextualizer"]
    assert saved["base_model_name_or_path"] == str(base_dir)

    pixels = make_batch(tokenizer)["pixel_values_videos"]
    with torch.no_grad():
        reference = peft_model.get_video_features(pixels)
        reference_image = peft_model.get_image_features(pixel_values=pixels[0, 0]).pooler_output

    fresh = load_figclip_adapters(FigClipModel.from_pretrained(base_dir), str(tmp_path / "adapter")).eval()
    via_transformers = FigClipModel.from_pretrained(tmp_path / "adapter").eval()
    via_auto = AutoModel.from_pretrained(tmp_path / "adapter").eval()
    assert isinstance(fresh, PeftModel) and type(via_transformers) is FigClipModel and type(via_auto) is FigClipModel
    for loaded in (fresh, via_transformers, via_auto):
        with torch.no_grad():
            video = loaded.get_video_features(pixels)
        for field in ("frame_embeds", "clip_event_embeds", "vc_event_embeds", "vc_video_embeds"):
            torch.testing.assert_close(getattr(video, field), getattr(reference, field), atol=1e-6, rtol=0)

    merged = merge_figclip_adapters(fresh)
    assert type(merged) is FigClipModel and not any("lora_" in n for n, _ in merged.named_parameters())
    with torch.no_grad():
        video = merged.get_video_features(pixels)
    torch.testing.assert_close(video.vc_event_embeds, reference.vc_event_embeds, atol=1e-5, rtol=1e-5)

    clip = to_clip_model(merged)
    assert type(clip) is CLIPModel
    with torch.no_grad():
        torch.testing.assert_close(clip.get_image_features(pixel_values=pixels[0, 0]).pooler_output, reference_image, atol=1e-5, rtol=1e-5)
    clip.save_pretrained(tmp_path / "merged_clip")
    assert json.loads((tmp_path / "merged_clip" / "config.json").read_text())["model_type"] == "clip"
    reloaded = CLIPModel.from_pretrained(tmp_path / "merged_clip")
    with torch.no_grad():
        torch.testing.assert_close(reloaded.get_image_features(pixel_values=pixels[0, 0]).pooler_output, reference_image, atol=1e-5, rtol=1e-5)


def test_merging_transformers_loaded_adapters(tmp_path, tokenizer):
    base_dir = tmp_path / "base"
    make_model(seed=2).save_pretrained(base_dir)
    peft_model = add_figclip_adapters(FigClipModel.from_pretrained(base_dir), r=4)
    perturb_trainable(peft_model)
    peft_model.eval().save_pretrained(tmp_path / "adapter")
    pixels = make_batch(tokenizer)["pixel_values_videos"]
    with torch.no_grad():
        reference = peft_model.get_video_features(pixels)
    loaded = FigClipModel.from_pretrained(tmp_path / "adapter").eval()
    merged = merge_figclip_adapters(loaded)
    assert not any("lora_" in n or "modules_to_save" in n for n, _ in merged.named_parameters())
    with torch.no_grad():
        video = merged.get_video_features(pixels)
    torch.testing.assert_close(video.vc_video_embeds, reference.vc_video_embeds, atol=1e-5, rtol=1e-5)


def test_load_model_for_inference_handles_clip_figclip_and_adapters(tmp_path, tokenizer, processor):
    from transformers import CLIPConfig

    from modeling_figclip.testing_utils import tiny_clip_config_dict

    clip_dir, adapter_dir = tmp_path / "clip", tmp_path / "adapter"
    CLIPModel(CLIPConfig(**tiny_clip_config_dict(tokenizer))).save_pretrained(clip_dir)
    processor.save_pretrained(clip_dir)
    processor.image_processor.save_pretrained(clip_dir)
    loaded = load_model_for_inference(str(clip_dir))
    assert loaded.kind == "clip" and type(loaded.model) is CLIPModel and len(loaded.tokenizer) == len(tokenizer)

    peft_model = add_figclip_adapters(FigClipModel.from_pretrained(clip_dir), r=4)
    perturb_trainable(peft_model)
    peft_model.save_pretrained(adapter_dir)
    adapted = load_model_for_inference(str(adapter_dir))
    assert adapted.kind == "figclip-adapter" and type(adapted.model) is FigClipModel
    assert adapted.base_model_name_or_path == str(clip_dir)
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            adapted.model.get_image_features(pixel_values=pixels).pooler_output,
            peft_model.eval().get_image_features(pixel_values=pixels).pooler_output,
            atol=1e-5, rtol=1e-5,
        )
    with pytest.raises(OSError, match="does not exist"):
        load_model_for_inference(str(tmp_path / "missing"))


def test_adapter_trained_on_plain_clip_with_custom_contextualizer_round_trips(tmp_path, tokenizer):
    """The contextualiser shape travels with the adapter (figclip_config.json), so loading rebuilds it exactly."""
    from transformers import CLIPConfig

    from modeling_figclip import save_figclip_adapters
    from modeling_figclip.testing_utils import tiny_clip_config_dict

    clip_dir = tmp_path / "clip"
    CLIPModel(CLIPConfig(**tiny_clip_config_dict(tokenizer))).save_pretrained(clip_dir)
    peft_model = add_figclip_adapters(FigClipModel.from_pretrained(clip_dir, vc_num_layers=1, vc_num_attention_heads=2), r=4)
    perturb_trainable(peft_model)
    save_figclip_adapters(peft_model.eval(), tmp_path / "adapter")
    assert json.loads((tmp_path / "adapter" / "figclip_config.json").read_text())["vc_num_layers"] == 1
    pixels = make_batch(tokenizer)["pixel_values_videos"]
    with torch.no_grad():
        reference = peft_model.get_video_features(pixels).vc_video_embeds
        loaded = FigClipModel.from_pretrained(tmp_path / "adapter").eval()
        torch.testing.assert_close(loaded.get_video_features(pixels).vc_video_embeds, reference, atol=1e-6, rtol=0)
    assert loaded.config.vc_num_layers == 1
    with pytest.raises(ValueError, match=r"another contextualiser \(vc_num_layers: adapter 1 vs base 6"):
        load_figclip_adapters(FigClipModel.from_pretrained(clip_dir), str(tmp_path / "adapter"))
