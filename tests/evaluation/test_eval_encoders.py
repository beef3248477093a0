"""ClipEncoder: each unique item encoded once, batching-invariant, video embeddings for CLIP and FiGCLIP models."""

import numpy as np
import pytest
import torch
from figclip_eval_helpers import save_tiny_model, synthetic_frames

from dataset_scripts.benchmarks import BenchmarkDataError
from modeling_figclip.evaluation import ClipEncoder
from modeling_figclip.evaluation.encoders import group_frames_into_events
from modeling_figclip.loading import load_model_for_inference
from modeling_figclip.utils import l2_normalize, to_embedding_tensor


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return save_tiny_model(str(tmp_path_factory.mktemp("clip")), seed=0)


@pytest.fixture(scope="module")
def figclip_dir(tmp_path_factory):
    return save_tiny_model(str(tmp_path_factory.mktemp("figclip")), seed=0, figclip=True)


def make_encoder(path, **kwargs):
    model, tokenizer, processor = load_model_for_inference(path)
    return ClipEncoder(model, tokenizer, processor, show_progress=False, **kwargs)


class CountingCalls:
    """Wraps a model method and records how many rows each call received."""

    def __init__(self, method):
        self.method, self.rows = method, []

    def __call__(self, *args, **kwargs):
        tensor = kwargs.get("input_ids", kwargs.get("pixel_values", args[0] if args else None))
        self.rows.append(int(tensor.shape[0]))
        return self.method(*args, **kwargs)


def test_texts_are_encoded_once_each_and_independently_of_batching(clip_dir):
    encoder = make_encoder(clip_dir, batch_size=2)
    counter = CountingCalls(encoder.model.get_text_features)
    encoder.model.get_text_features = counter
    texts = ["a man walks", "a dog runs", "a man walks", "the red dog", "a dog runs"]
    table = encoder.encode_texts(texts)
    assert sum(counter.rows) == 3 and max(counter.rows) <= 2
    embeddings = table.lookup(texts)
    assert torch.equal(embeddings[0], embeddings[2])
    assert torch.allclose(embeddings.norm(dim=-1), torch.ones(5), atol=1e-5)
    big_batch = make_encoder(clip_dir, batch_size=64).encode_texts(texts).lookup(texts)
    assert torch.allclose(embeddings, big_batch, atol=1e-5)


def test_images_are_loaded_and_encoded_once_per_key(clip_dir):
    encoder = make_encoder(clip_dir, batch_size=2)
    loads = []

    def load(key):
        loads.append(key)
        return synthetic_frames(key, num_frames=1)[0]

    table = encoder.encode_images([3, 1, 3, 2, 1], load)
    assert sorted(loads) == [1, 2, 3]
    assert table.embeddings.shape == (3, 32)
    reference = make_encoder(clip_dir, batch_size=64).encode_images([1, 2, 3], load)
    assert torch.allclose(table.lookup([1, 2, 3]), reference.lookup([1, 2, 3]), atol=1e-5)


def test_load_failures_raise_with_the_key_or_are_recorded(clip_dir):
    def load(key):
        if key == "bad.jpg":
            raise OSError("cannot identify image file")
        return synthetic_frames(0, num_frames=1)[0]

    with pytest.raises(BenchmarkDataError, match=r"bad\.jpg: could not be loaded \(OSError: cannot identify"):
        make_encoder(clip_dir).encode_images(["ok.jpg", "bad.jpg"], load)
    table = make_encoder(clip_dir, skip_failures=True).encode_images(["ok.jpg", "bad.jpg"], load)
    assert "ok.jpg" in table and "bad.jpg" not in table and "bad.jpg" in table.failures


def _manual_clip_video_embedding(encoder, frames):
    pixels = encoder.image_processor(images=list(frames), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        frame_embeds = l2_normalize(to_embedding_tensor(encoder.model.get_image_features(pixel_values=pixels)))
    return l2_normalize(frame_embeds.mean(dim=0))


def test_clip_video_embedding_is_the_normalised_mean_of_frame_embeddings(clip_dir):
    encoder = make_encoder(clip_dir, batch_size=8)
    clips = {i: synthetic_frames(i, num_frames=4) for i in range(3)}
    videos = encoder.encode_videos(list(clips), clips.__getitem__, num_frames=4)
    assert videos.frames.shape == (3, 1, 4, 32) and videos.videos.shape == (3, 32)
    for key, frames in clips.items():
        assert torch.allclose(videos.videos[videos.rows[key]], _manual_clip_video_embedding(encoder, frames), atol=1e-5)


def test_figclip_uses_get_video_features_and_matches_the_clip_level_definition(figclip_dir):
    encoder = make_encoder(figclip_dir, batch_size=16)
    assert encoder.has_video_features
    clips = {i: synthetic_frames(i, num_frames=6) for i in range(2)}
    via_model = encoder.encode_videos(list(clips), clips.__getitem__, num_frames=6)
    for key, frames in clips.items():
        assert torch.allclose(
            via_model.videos[via_model.rows[key]], _manual_clip_video_embedding(encoder, frames), atol=1e-5
        )


def test_contextualizer_groups_frames_into_events(figclip_dir, clip_dir):
    encoder = make_encoder(figclip_dir, batch_size=32)
    assert encoder.model.config.vc_readout == "token"  # the contextualised tokens differ from the frame means
    clips = {i: synthetic_frames(i, num_frames=10) for i in range(2)}
    contextual = encoder.encode_videos(list(clips), clips.__getitem__, num_frames=10, use_contextualizer=True)
    assert contextual.frame_mask.shape == (2, 3, 4)  # 10 frames -> events of 4, 3, 3 frames
    assert contextual.frame_mask.sum(dim=-1)[0].tolist() == [4, 3, 3]
    clip_level = encoder.encode_videos(list(clips), clips.__getitem__, num_frames=10)
    assert not torch.allclose(contextual.videos, clip_level.videos)
    assert contextual.contextualized and torch.allclose(contextual.clip_videos, clip_level.videos, atol=1e-5)
    assert torch.allclose(contextual.videos.norm(dim=-1), torch.ones(2), atol=1e-5)
    with pytest.raises(ValueError, match="needs a FigClipModel"):
        make_encoder(clip_dir).encode_videos([0], clips.__getitem__, num_frames=10, use_contextualizer=True)


def test_event_layout_for_vidsitu_style_clips(clip_dir):
    encoder = make_encoder(clip_dir, batch_size=40)
    clips = {0: synthetic_frames(0, num_frames=20)}
    videos = encoder.encode_videos([0], clips.__getitem__, num_frames=20, events=5)
    assert videos.events.shape == (1, 5, 32) and videos.frames.shape == (1, 5, 4, 32)
    manual = _manual_clip_video_embedding(encoder, clips[0][4:8])
    assert torch.allclose(videos.events[0, 1], manual, atol=1e-5)


def test_group_frames_into_events():
    assert group_frames_into_events(12, 5, 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert group_frames_into_events(3, 5, 4) == [[0, 1, 2]]
    with pytest.raises(ValueError, match="--num_frames <= 20"):
        group_frames_into_events(21, 5, 4)


def test_wrong_frame_count_is_a_load_failure(clip_dir):
    encoder = make_encoder(clip_dir, skip_failures=True)
    videos = encoder.encode_videos(["short"], lambda key: np.zeros((2, 32, 32, 3), np.uint8), num_frames=4)
    assert videos.videos.shape == (0, 32) and "expected 4 frames" in videos.failures["short"]


def test_unmerged_peft_model_embeds_like_the_merged_model(figclip_dir):
    from modeling_figclip import FigClipModel, add_figclip_adapters, merge_figclip_adapters

    peft_model = add_figclip_adapters(FigClipModel.from_pretrained(figclip_dir), r=4)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    _, tokenizer, processor = load_model_for_inference(figclip_dir)
    clips = {0: synthetic_frames(0, num_frames=4), 1: synthetic_frames(1, num_frames=4)}
    unmerged = ClipEncoder(peft_model.eval(), tokenizer, processor, show_progress=False)
    videos = unmerged.encode_videos(list(clips), clips.__getitem__, num_frames=4)
    merged = ClipEncoder(merge_figclip_adapters(peft_model), tokenizer, processor, show_progress=False)
    assert torch.allclose(
        videos.videos, merged.encode_videos(list(clips), clips.__getitem__, num_frames=4).videos, atol=1e-4
    )


def test_encoders_with_the_same_text_tower_share_text_embeddings(figclip_dir, tmp_path):
    """A vision-only LoRA adapter keeps the text tower: same fingerprint as its base, so a shared cache encodes each
    caption once between them and returns exactly what each would have computed alone. A tuned text tower or
    another checkpoint gets another fingerprint."""
    from modeling_figclip import FigClipModel, add_figclip_adapters

    _, tokenizer, processor = load_model_for_inference(figclip_dir)
    base = make_encoder(figclip_dir)
    adapted = add_figclip_adapters(FigClipModel.from_pretrained(figclip_dir), r=4)
    with torch.no_grad():
        for name, parameter in adapted.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    adapter = ClipEncoder(adapted.eval(), tokenizer, processor, show_progress=False)
    assert adapter.text_tower_fingerprint() == base.text_tower_fingerprint()
    other_weights = save_tiny_model(str(tmp_path / "other"), seed=1, figclip=True)
    assert make_encoder(other_weights).text_tower_fingerprint() != base.text_tower_fingerprint()
    text_tuned = add_figclip_adapters(FigClipModel.from_pretrained(figclip_dir), r=4, targets="vision_and_text_qkv")
    assert ClipEncoder(text_tuned, tokenizer, processor, show_progress=False).text_tower_fingerprint() != (
        base.text_tower_fingerprint())

    texts = ["a man walks", "a dog runs", "the red dog"]
    alone = make_encoder(figclip_dir).encode_texts(texts).lookup(texts)
    shared: dict = {}
    base.text_cache = adapter.text_cache = shared
    counter = CountingCalls(adapter.model.get_text_features)
    adapter.model.get_text_features = counter
    first = base.encode_texts(texts).lookup(texts)
    second = adapter.encode_texts([*texts, "a new caption"]).lookup(texts)
    assert counter.rows == [1] and len(shared) == 4  # only the new caption was encoded by the adapter
    assert torch.equal(first, second) and torch.allclose(first, alone, atol=1e-6)
