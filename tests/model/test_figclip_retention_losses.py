"""Retention terms of the objective: distillation to the frozen base (adapters disabled) and replay of generic pairs."""

import pytest
import torch

from figclip_test_utils import make_batch, make_model
from modeling_figclip import add_figclip_adapters, base_frame_embeddings
from modeling_figclip.loss_figclip import distillation_loss

CAPTIONS = ["a man walks", "a dog runs", "a woman talks", "a boy jogs", "a girl hits", "the man with short hair"]


def _adapter(**config):
    model = make_model(seed=5, **config)
    return add_figclip_adapters(model, r=4).train()


def _move_lora(peft_model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_" in name:
                parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))


def _generic_text(peft_model, tokenizer):
    encoded = tokenizer(CAPTIONS, padding=True, return_tensors="pt")
    with torch.no_grad():
        return peft_model.get_base_model().encode_prompts(encoded.input_ids, encoded.attention_mask)


def _lora_gradient(peft_model) -> float:
    return sum(float(p.grad.abs().sum()) for n, p in peft_model.named_parameters() if "lora_" in n and p.grad is not None)


@pytest.mark.parametrize("target", ["features", "similarities"])
def test_distillation_is_zero_at_initialisation_and_pulls_a_moved_adapter_back(tokenizer, target):
    peft_model = _adapter(distillation_weight=2.0, distillation_target=target)
    batch = make_batch(tokenizer)
    generic = _generic_text(peft_model, tokenizer) if target == "similarities" else None
    base = base_frame_embeddings(peft_model, batch["pixel_values_videos"])
    assert not base.requires_grad
    plain = peft_model(**batch)
    out = peft_model(**batch, base_frame_embeds=base, generic_text_embeds=generic)
    # LoRA's B is zero at initialisation: the adapted frames are the base's, bit for bit.
    assert out.loss_distillation.item() == 0.0 and torch.equal(out.loss, plain.loss)
    assert plain.loss_distillation is None

    _move_lora(peft_model)
    base = base_frame_embeddings(peft_model, batch["pixel_values_videos"])  # adapters disabled: still the base
    torch.testing.assert_close(base, base_frame_embeddings(_adapter(), batch["pixel_values_videos"]), atol=0, rtol=0)
    out = peft_model(**batch, base_frame_embeds=base, generic_text_embeds=generic)
    assert out.loss_distillation.item() > 0.0
    torch.testing.assert_close(out.loss, peft_model(**batch).loss + 2.0 * out.loss_distillation)
    out.loss_distillation.backward()
    assert _lora_gradient(peft_model) > 0.0


def test_feature_distillation_is_half_the_squared_distance():
    frames = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    base = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    expected = (1 - (frames * base).sum(-1)).mean()  # ½‖a − b‖² = 1 − cos for unit vectors
    torch.testing.assert_close(distillation_loss(frames, base, "features"), expected)
    with pytest.raises(ValueError, match="needs generic caption embeddings"):
        distillation_loss(frames, base, "similarities")


def test_replay_batches_reach_the_loss_with_their_weight(tokenizer):
    batch = make_batch(tokenizer)
    replay_pixels = torch.randn(len(CAPTIONS), 3, 32, 32, generator=torch.Generator().manual_seed(1))
    captions = tokenizer(CAPTIONS, padding=True, return_tensors="pt")
    totals = {}
    for weight in (0.5, 1.0):
        peft_model = _adapter(replay_loss_weight=weight)
        _move_lora(peft_model)
        paper = peft_model(**batch).loss
        out = peft_model(**batch, replay_pixel_values=replay_pixels, replay_input_ids=captions.input_ids,
                         replay_attention_mask=captions.attention_mask)
        assert torch.isfinite(out.loss_replay) and out.loss_replay.item() > 0.0
        assert out.logits_replay.shape == (len(CAPTIONS), len(CAPTIONS))
        torch.testing.assert_close(out.loss, paper + weight * out.loss_replay)
        totals[weight] = out.loss.item()
        # The same captions given as (frozen-text) embeddings give the same term.
        embeds = peft_model.get_base_model().encode_prompts(captions.input_ids, captions.attention_mask)
        again = peft_model(**batch, replay_pixel_values=replay_pixels, replay_text_embeds=embeds)
        torch.testing.assert_close(again.loss_replay, out.loss_replay)
        peft_model.zero_grad()
        out.loss_replay.backward()
        assert _lora_gradient(peft_model) > 0.0
    assert totals[1.0] > totals[0.5]


def test_retention_inputs_are_checked(tokenizer):
    peft_model = _adapter(distillation_weight=1.0)
    batch = make_batch(tokenizer)
    with pytest.raises(ValueError, match="base_frame_embeds must have the shape"):
        peft_model(**batch, base_frame_embeds=torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="exactly one of replay_input_ids or replay_text_embeds"):
        peft_model(**batch, replay_pixel_values=torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="distillation_target must be one of"):
        make_model(distillation_target="logits")
    with pytest.raises(ValueError, match="replay_loss_weight must be >= 0"):
        make_model(replay_loss_weight=-1.0)
