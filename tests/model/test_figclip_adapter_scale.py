"""Adapter interpolation (`set_adapter_scale`, `adapter_scale=`): α = 0 is the base model exactly, α = 1 the adapter
as trained, and every way of loading or merging gives the same interpolated model."""

import copy

import pytest
import torch

from figclip_test_utils import make_batch, make_model, moved_adapter, saved_clip_and_adapter
from modeling_figclip import (
    FigClipModel,
    merge_figclip_adapters,
    set_adapter_scale,
    to_clip_model,
)
from modeling_figclip.loading import load_model_for_inference

VIDEO_FIELDS = ("frame_embeds", "clip_event_embeds", "clip_video_embeds", "vc_event_embeds", "vc_video_embeds")


@torch.no_grad()
def _video(model, pixels):
    return model.get_video_features(pixels)


@pytest.fixture()
def base_adapter_pixels(tokenizer):
    base = make_model(seed=3)
    return base, moved_adapter(base), make_batch(tokenizer)["pixel_values_videos"]


def test_scale_zero_is_the_base_model_exactly(base_adapter_pixels):
    base, adapted, pixels = base_adapter_pixels
    expected = _video(base, pixels)
    set_adapter_scale(adapted, 0.0)
    got = _video(adapted, pixels)
    for name in ("frame_embeds", "clip_event_embeds", "clip_video_embeds"):
        assert torch.equal(getattr(got, name), getattr(expected, name)), name
    # The base has no trained contextualiser: its VC level is its CLIP-level means.
    assert torch.equal(got.vc_event_embeds, expected.clip_event_embeds)
    assert torch.equal(got.vc_video_embeds, expected.clip_video_embeds)


def test_scale_one_is_the_adapter_as_trained(base_adapter_pixels):
    _, adapted, pixels = base_adapter_pixels
    trained = _video(adapted, pixels)
    set_adapter_scale(adapted, 0.3)
    moved = _video(adapted, pixels)
    assert not torch.equal(moved.frame_embeds, trained.frame_embeds)
    set_adapter_scale(adapted, 1.0)  # the scale is absolute, not multiplied onto the previous one
    again = _video(adapted, pixels)
    for name in VIDEO_FIELDS:
        assert torch.equal(getattr(again, name), getattr(trained, name)), name


def test_intermediate_scale_interpolates_lora_weights_and_vc_outputs(base_adapter_pixels):
    base, adapted, pixels = base_adapter_pixels
    full = merge_figclip_adapters(copy.deepcopy(adapted))
    half = merge_figclip_adapters(copy.deepcopy(adapted), adapter_scale=0.5)
    name = "vision_model.encoder.layers.0.self_attn.q_proj.weight"
    base_weight, full_weight = base.state_dict()[name], full.state_dict()[name]
    torch.testing.assert_close(half.state_dict()[name], (base_weight + full_weight) / 2, atol=1e-6, rtol=0)
    assert half.config.vc_interpolation == 0.5
    video = _video(half, pixels)
    half.config.vc_interpolation = 1.0  # the same weights, read out with the contextualised tokens alone
    tokens = _video(half, pixels)
    expected = torch.nn.functional.normalize(torch.lerp(video.clip_event_embeds, tokens.vc_event_embeds, 0.5), dim=-1)
    torch.testing.assert_close(video.vc_event_embeds, expected, atol=1e-6, rtol=0)


def test_loading_and_merging_take_the_scale(tmp_path, tokenizer):
    clip_dir, adapter_dir, base, adapted = saved_clip_and_adapter(tmp_path, tokenizer)
    pixels = make_batch(tokenizer)["pixel_values_videos"]
    base_video, trained_video = _video(base, pixels), _video(adapted, pixels)

    loaded = FigClipModel.from_pretrained(adapter_dir, adapter_scale=0.0).eval()
    assert torch.equal(_video(loaded, pixels).frame_embeds, base_video.frame_embeds)
    loaded_one = FigClipModel.from_pretrained(adapter_dir, adapter_scale=1.0).eval()
    torch.testing.assert_close(_video(loaded_one, pixels).vc_video_embeds, trained_video.vc_video_embeds, atol=1e-6, rtol=0)

    merged = load_model_for_inference(str(adapter_dir), adapter_scale=0.0).model
    for name, tensor in base.state_dict().items():
        if not name.startswith("video_contextualizer."):
            assert torch.equal(merged.state_dict()[name], tensor), name
    clip = to_clip_model(FigClipModel.from_pretrained(adapter_dir), adapter_scale=0.0)
    with torch.no_grad():
        assert torch.equal(clip.get_image_features(pixel_values=pixels[0, 0]).pooler_output,
                           base.get_image_features(pixel_values=pixels[0, 0]).pooler_output)

    # A merged interpolated model saves and reloads as itself (its config keeps the contextualiser's share).
    half = load_model_for_inference(str(adapter_dir), adapter_scale=0.5).model
    half.save_pretrained(tmp_path / "half")
    reloaded = FigClipModel.from_pretrained(tmp_path / "half").eval()
    assert reloaded.config.vc_interpolation == 0.5
    torch.testing.assert_close(_video(reloaded, pixels).vc_event_embeds, _video(half, pixels).vc_event_embeds,
                               atol=1e-6, rtol=0)

    with pytest.raises(ValueError, match="needs a FiGCLIP adapter"):
        load_model_for_inference(str(clip_dir), adapter_scale=0.5)


def test_scale_errors_name_the_problem(base_adapter_pixels):
    base, adapted, _ = base_adapter_pixels
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        set_adapter_scale(adapted, 1.5)
    with pytest.raises(ValueError, match="holds no LoRA adapter"):
        set_adapter_scale(base, 0.5)
    with pytest.raises(ValueError, match="vc_interpolation must be in"):
        base.config.__class__(vc_interpolation=-0.1)
