"""Output-space ensembling with the base (`set_feature_ensemble`, `feature_ensemble=`): λ = 1 is the adapted model,
λ = 0 the base model exactly, and in between every image embedding is the normalised mix of the two models'
normalised embeddings; inference only, and impossible on merged weights."""

import pytest
import torch
import torch.nn.functional as F

from figclip_test_utils import make_batch, make_model, moved_adapter, saved_clip_and_adapter
from modeling_figclip import (
    FigClipModel,
    merge_figclip_adapters,
    set_feature_ensemble,
    vision_adapters_off,
)
from modeling_figclip.loading import load_model_for_inference
from modeling_figclip.utils import to_embedding_tensor


@torch.no_grad()
def _image_embeds(model, pixels) -> torch.Tensor:
    return to_embedding_tensor(model.get_image_features(pixel_values=pixels))


@pytest.fixture()
def base_adapter_pixels(tokenizer):
    base = make_model(seed=3).eval()
    frames = make_batch(tokenizer)["pixel_values_videos"]
    return base, moved_adapter(base), frames.flatten(0, 2)


def test_weight_one_is_the_adapted_model_and_zero_the_base_exactly(base_adapter_pixels):
    base, adapted, pixels = base_adapter_pixels
    trained = _image_embeds(adapted, pixels)
    base_embeds = _image_embeds(base, pixels)
    assert not torch.allclose(trained, base_embeds, atol=1e-3)  # the adapter moved

    set_feature_ensemble(adapted, 0.0)
    assert torch.equal(_image_embeds(adapted, pixels), base_embeds)
    set_feature_ensemble(adapted, 1.0)
    assert torch.equal(_image_embeds(adapted, pixels), trained)


def test_intermediate_weight_mixes_the_normalised_embeddings(base_adapter_pixels):
    base, adapted, pixels = base_adapter_pixels
    trained = F.normalize(_image_embeds(adapted, pixels), dim=-1)
    base_embeds = F.normalize(_image_embeds(base, pixels), dim=-1)
    set_feature_ensemble(adapted, 0.25)
    got = _image_embeds(adapted, pixels)
    expected = F.normalize(0.75 * base_embeds + 0.25 * trained, dim=-1)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    # The adapter's own scaling is untouched afterwards: switching back gives the adapted model again.
    set_feature_ensemble(adapted, 1.0)
    torch.testing.assert_close(F.normalize(_image_embeds(adapted, pixels), dim=-1), trained, atol=0, rtol=0)


def test_videos_are_read_out_from_the_ensembled_frames(base_adapter_pixels, tokenizer):
    _, adapted, _ = base_adapter_pixels
    videos = make_batch(tokenizer)["pixel_values_videos"]
    set_feature_ensemble(adapted, 0.5)
    with torch.no_grad():
        video = adapted.get_video_features(videos)
    frames = F.normalize(_image_embeds(adapted, videos.flatten(0, 2)), dim=-1)
    torch.testing.assert_close(video.frame_embeds.flatten(0, 2), frames, atol=1e-6, rtol=0)
    torch.testing.assert_close(video.clip_video_embeds, F.normalize(video.frame_embeds.sum(dim=(1, 2)), dim=-1),
                               atol=1e-6, rtol=0)


def test_adapters_off_restores_every_scaling_and_keeps_gradients(base_adapter_pixels):
    base, adapted, pixels = base_adapter_pixels
    trainable = {name for name, p in adapted.named_parameters() if p.requires_grad}
    trained = _image_embeds(adapted, pixels)
    with vision_adapters_off(adapted):
        assert torch.equal(_image_embeds(adapted, pixels), _image_embeds(base, pixels))
    assert {name for name, p in adapted.named_parameters() if p.requires_grad} == trainable
    assert torch.equal(_image_embeds(adapted, pixels), trained)


def test_loading_takes_the_weight_and_keeps_the_adapter_unmerged(tmp_path, tokenizer):
    clip_dir, adapter_dir, base, adapted = saved_clip_and_adapter(tmp_path, tokenizer)
    pixels = make_batch(tokenizer)["pixel_values_videos"].flatten(0, 2)
    expected = F.normalize(0.5 * F.normalize(_image_embeds(base, pixels), dim=-1)
                           + 0.5 * F.normalize(_image_embeds(adapted, pixels), dim=-1), dim=-1)

    loaded = FigClipModel.from_pretrained(adapter_dir, feature_ensemble=0.5).eval()
    torch.testing.assert_close(_image_embeds(loaded, pixels), expected, atol=1e-6, rtol=0)
    for_inference = load_model_for_inference(str(adapter_dir), feature_ensemble=0.5).model
    torch.testing.assert_close(_image_embeds(for_inference, pixels), expected, atol=1e-6, rtol=0)

    with pytest.raises(ValueError, match="needs a FiGCLIP adapter"):
        load_model_for_inference(str(clip_dir), feature_ensemble=0.5)


def test_errors_name_the_problem(base_adapter_pixels):
    base, adapted, pixels = base_adapter_pixels
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        set_feature_ensemble(adapted, 1.5)
    with pytest.raises(ValueError, match="holds no vision LoRA adapter"):
        set_feature_ensemble(base, 0.5)
    with pytest.raises(ValueError, match="feature_ensemble must be in"):
        base.config.__class__(feature_ensemble=-0.1)
    set_feature_ensemble(adapted, 0.5)
    with pytest.raises(ValueError, match="merging loses"):
        merge_figclip_adapters(adapted)
    adapted.train()
    with pytest.raises(ValueError, match="inference setting"):
        adapted.get_image_features(pixel_values=pixels)
    with pytest.raises(ValueError, match="not a merged checkpoint"):
        set_feature_ensemble(merge_figclip_adapters(moved_adapter(base)), 0.5)
