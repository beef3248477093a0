"""Model tests in the spirit of transformers' tester classes (`ModelTesterMixin` is not shipped with the library, so
the properties that matter for FiGCLIP are checked here): the `get_*_features` output convention, save/load round
trip, gradient checkpointing, SDPA vs eager attention, bf16, and initialisation that tolerates unusual layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from figclip_test_utils import make_batch, make_config
from modeling_figclip import FigClipModel
from modeling_figclip.contextualizer import VideoContextualizer


class FigClipModelTester:
    """Builds a tiny config and inputs, like transformers' `*ModelTester` helpers."""

    def __init__(self, tokenizer, batch: int = 2, events: int = 3, frames: int = 2):
        self.tokenizer, self.batch, self.events, self.frames = tokenizer, batch, events, frames

    def config(self, **overrides):
        return make_config(**overrides)

    def model(self, seed: int = 0, **overrides) -> FigClipModel:
        torch.manual_seed(seed)
        return FigClipModel(self.config(**overrides)).eval()

    def inputs(self, seed: int = 0) -> dict:
        return make_batch(self.tokenizer, batch=self.batch, events=self.events, frames=self.frames, seed=seed)


@pytest.fixture
def tester(tokenizer):
    return FigClipModelTester(tokenizer)


def _loss_and_grads(model, inputs):
    model.zero_grad()
    out = model(**inputs)
    out.loss.backward()
    return out.loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_get_video_features_follows_the_get_features_convention(tester):
    model, inputs = tester.model(attn_implementation="eager"), tester.inputs()  # SDPA returns no attention maps
    pixels = inputs["pixel_values_videos"]
    vision = model.config.vision_config
    seq = (vision.image_size // vision.patch_size) ** 2 + 1
    with torch.no_grad():
        out = model.get_video_features(pixels, output_hidden_states=True, output_attentions=True)
        as_tuple = model.get_video_features(pixels, return_dict=False)
        image = model.get_image_features(pixel_values=pixels[1, 2, 0:1])
    shape = (tester.batch, tester.events, tester.frames)
    assert out.last_hidden_state.shape == (*shape, seq, vision.hidden_size)
    assert len(out.hidden_states) == vision.num_hidden_layers + 1
    assert out.hidden_states[-1].shape == out.last_hidden_state.shape
    assert len(out.attentions) == vision.num_hidden_layers
    assert out.attentions[0].shape == (*shape, vision.num_attention_heads, seq, seq)
    torch.testing.assert_close(out.pooler_output, out.clip_video_embeds)
    torch.testing.assert_close(out.last_hidden_state[1, 2, 0], image.last_hidden_state[0])  # the tower's own states
    assert isinstance(as_tuple, tuple)
    torch.testing.assert_close(as_tuple[0], out.last_hidden_state)
    torch.testing.assert_close(as_tuple[1], out.pooler_output)


def test_absent_frames_have_zero_states(tester):
    model, inputs = tester.model(), tester.inputs()
    frame_mask = torch.ones(tester.batch, tester.events, tester.frames, dtype=torch.bool)
    frame_mask[0, 1, 1] = False
    with torch.no_grad():
        out = model.get_video_features(inputs["pixel_values_videos"], frame_mask=frame_mask)
    assert torch.all(out.last_hidden_state[0, 1, 1] == 0) and out.last_hidden_state[0, 1, 0].abs().sum() > 0
    assert torch.all(out.frame_embeds[0, 1, 1] == 0)


def test_save_load_round_trip_gives_the_same_outputs(tester, tmp_path):
    model, inputs = tester.model(), tester.inputs()
    model.save_pretrained(tmp_path)
    loaded = FigClipModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        before, after = model(**inputs), loaded(**inputs)
    assert after.loss.item() == pytest.approx(before.loss.item(), rel=1e-6)
    torch.testing.assert_close(after.video_embeds.vc_event_embeds, before.video_embeds.vc_event_embeds)


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(tester):
    inputs = tester.inputs()
    plain = tester.model().train()
    checkpointed = tester.model().train()
    checkpointed.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    assert checkpointed.video_contextualizer.encoder.gradient_checkpointing
    loss_a, grads_a = _loss_and_grads(plain, inputs)
    loss_b, grads_b = _loss_and_grads(checkpointed, inputs)
    assert loss_b.item() == pytest.approx(loss_a.item(), rel=1e-6)
    assert grads_a.keys() == grads_b.keys()
    for name, grad in grads_a.items():
        torch.testing.assert_close(grads_b[name], grad, atol=1e-6, rtol=1e-4, msg=name)


def test_sdpa_and_eager_attention_agree(tester):
    inputs = tester.inputs()
    inputs["event_mask"] = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)  # masked tokens in the contextualiser
    sdpa = tester.model(attn_implementation="sdpa")
    eager = tester.model(attn_implementation="eager")
    assert sdpa.video_contextualizer.config._attn_implementation == "sdpa"
    assert eager.video_contextualizer.config._attn_implementation == "eager"
    with torch.no_grad():
        a, b = sdpa(**inputs), eager(**inputs)
    torch.testing.assert_close(a.video_embeds.vc_event_embeds, b.video_embeds.vc_event_embeds, atol=1e-5, rtol=1e-4)
    assert a.loss.item() == pytest.approx(b.loss.item(), rel=1e-5)


def test_bf16_forward_runs_and_stays_close_to_fp32(tester):
    inputs = tester.inputs()
    model = tester.model()
    with torch.no_grad():
        reference = model(**inputs)
        low = model.to(torch.bfloat16)(**{k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in inputs.items()})
    assert low.video_embeds.vc_event_embeds.dtype == torch.bfloat16
    assert torch.isfinite(low.loss) and low.loss.item() == pytest.approx(reference.loss.item(), rel=0.05)


class _WeightlessLinear(nn.Linear):
    """A linear layer whose weight lives elsewhere, as some quantized layers do (`weight` is None)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.weight
        self.weight = None


def test_contextualizer_initialisation_tolerates_linear_layers_without_a_weight():
    contextualizer = VideoContextualizer(embed_dim=16, num_layers=1, num_attention_heads=2)
    contextualizer.encoder.layers[0].self_attn.q_proj = _WeightlessLinear(16, 16)
    contextualizer.reset_parameters()  # must not raise
    assert contextualizer.encoder.layers[0].self_attn.q_proj.weight is None
    assert torch.all(contextualizer.encoder.layers[0].self_attn.q_proj.bias == 0)
