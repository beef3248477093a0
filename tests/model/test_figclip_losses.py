"""Each loss term against a reference written out with explicit sums, and the behaviour of negatives and duplicates."""

import math

import pytest
import torch
import torch.nn.functional as F

from figclip_test_utils import NEGATIVES, make_batch, make_model
from modeling_figclip.loss_figclip import info_nce_with_hard_negatives, text_identity_keys


def reference_info_nce(visual, text, scale, keys=None, negatives=None, negative_valid=None, negative_keys=None):
    """Symmetric InfoNCE written with Python loops: -log(exp(s_ii) / sum_j exp(s_ij)), averaged both ways."""
    m = visual.shape[0]
    sim = [[scale * float(visual[i] @ text[j]) for j in range(m)] for i in range(m)]

    def is_duplicate(i, j):
        return keys is not None and i != j and int(keys[i]) == int(keys[j])

    v2t = 0.0
    for i in range(m):
        terms = [math.exp(sim[i][j]) for j in range(m) if not is_duplicate(i, j)]
        if negatives is not None:
            for n in range(negatives.shape[1]):
                if negative_valid is not None and not bool(negative_valid[i, n]):
                    continue
                if negative_keys is not None and keys is not None and int(negative_keys[i, n]) == int(keys[i]):
                    continue
                terms.append(math.exp(scale * float(visual[i] @ negatives[i, n])))
        v2t += -(sim[i][i] - math.log(sum(terms)))
    t2v = 0.0
    for j in range(m):
        terms = [math.exp(sim[i][j]) for i in range(m) if not is_duplicate(i, j)]
        t2v += -(sim[j][j] - math.log(sum(terms)))
    return (v2t / m + t2v / m) / 2


def unit(*shape, seed):
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_info_nce_matches_hand_computed_reference_with_negatives_and_duplicates():
    visual, text, negatives = unit(4, 8, seed=0), unit(4, 8, seed=1), unit(4, 3, 8, seed=2)
    keys = torch.tensor([10, 11, 10, 12])  # rows 0 and 2 share a text
    negative_valid = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0], [1, 1, 1]], dtype=torch.bool)
    negative_keys = torch.tensor([[20, 21, 22], [11, 23, 24], [25, 26, 27], [28, 29, 30]])  # row 1's first = positive
    scale = torch.tensor(7.5)
    loss, logits, negative_logits = info_nce_with_hard_negatives(
        visual, text, scale, keys, negatives, negative_valid, negative_keys
    )
    expected = reference_info_nce(visual, text, 7.5, keys, negatives, negative_valid, negative_keys)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert logits.shape == (4, 4) and negative_logits.shape == (4, 3)
    assert torch.isinf(logits[0, 2]) and torch.isinf(logits[2, 0]) and torch.isinf(negative_logits[1, 0])
    plain, _, _ = info_nce_with_hard_negatives(visual, text, scale)
    assert plain.item() == pytest.approx(reference_info_nce(visual, text, 7.5), rel=1e-5)


def test_each_model_loss_term_matches_reference(tokenizer):
    model = make_model()
    inputs = make_batch(tokenizer)
    inputs["event_mask"] = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], dtype=torch.bool)
    with torch.no_grad():
        out = model(**inputs)
    video = out.video_embeds
    present = video.event_mask
    scale = model.logit_scale.exp().item()
    keys = text_identity_keys(inputs["input_ids"], inputs["attention_mask"])
    negative_keys = text_identity_keys(inputs["negative_input_ids"], inputs["negative_attention_mask"])

    for level in ("clip", "vc"):
        expected_event = reference_info_nce(
            getattr(video, f"{level}_event_embeds")[present], out.text_event_embeds[present], scale, keys[present],
            out.negative_text_embeds[present], None, negative_keys[present],
        )
        assert getattr(out, f"loss_{level}_event").item() == pytest.approx(expected_event, rel=1e-5)
        # Video-level text = normalised mean of the present events' prompt embeddings.
        weights = present.unsqueeze(-1).float()
        video_text = F.normalize((out.text_event_embeds * weights).sum(1) / weights.sum(1), dim=-1)
        expected_video = reference_info_nce(getattr(video, f"{level}_video_embeds"), video_text, scale)
        assert getattr(out, f"loss_{level}_video").item() == pytest.approx(expected_video, rel=1e-5)

    total = out.loss_clip_event + out.loss_vc_event + 0.25 * (out.loss_clip_video + out.loss_vc_video)
    assert out.loss.item() == pytest.approx(total.item(), rel=1e-6)


def test_clip_level_embeddings_are_means_of_frame_embeddings(tokenizer):
    model = make_model()
    inputs = make_batch(tokenizer)
    with torch.no_grad():
        video = model.get_video_features(inputs["pixel_values_videos"])
        frame = model.get_image_features(pixel_values=inputs["pixel_values_videos"][1, 2, 3:4]).pooler_output
    torch.testing.assert_close(video.frame_embeds[1, 2, 3], F.normalize(frame[0], dim=-1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(video.clip_event_embeds, F.normalize(video.frame_embeds.mean(2), dim=-1))
    torch.testing.assert_close(video.clip_video_embeds, F.normalize(video.frame_embeds.mean((1, 2)), dim=-1))


def test_negatives_raise_event_loss_when_made_similar_to_the_positive(tokenizer):
    model = make_model()
    with torch.no_grad():
        model.logit_scale.fill_(math.log(100.0))
    pixels = make_batch(tokenizer, negatives=False)["pixel_values_videos"]
    with torch.no_grad():
        video = model.get_video_features(pixels)
    # Texts aligned with the CLIP-level event embeddings, so "similar to the positive" is well defined.
    noise = torch.Generator().manual_seed(1)
    text = F.normalize(video.clip_event_embeds + 0.01 * torch.randn(video.clip_event_embeds.shape, generator=noise), dim=-1)
    far = F.normalize(torch.randn(*text.shape[:2], 2, text.shape[-1], generator=noise), dim=-1)
    near = F.normalize(text.unsqueeze(2) + 0.02 * torch.randn(*text.shape[:2], 2, text.shape[-1], generator=noise), dim=-1)
    losses, video_losses = {}, {}
    for name, negatives in {"none": None, "far": far, "near": near}.items():
        with torch.no_grad():
            result = model(pixel_values_videos=pixels, text_embeds=text, negative_text_embeds=negatives)
        losses[name] = result.loss_clip_event.item()
        video_losses[name] = (result.loss_clip_video.item(), result.loss_vc_video.item())
    assert losses["far"] >= losses["none"]  # a negative can only add to the denominator
    assert losses["near"] > losses["far"] + 0.05
    # Hard negatives enter only the event-level losses.
    assert video_losses["near"] == pytest.approx(video_losses["none"])


def test_identical_event_prompts_are_not_negatives_of_each_other(tokenizer):
    """Video 1 has two identically annotated events: neither may push the other away."""
    model = make_model()
    inputs = make_batch(tokenizer, negatives=False)
    with torch.no_grad():
        out = model(**inputs)
    logits = out.logits_clip_event  # rows/cols follow the present events in (video, event) order
    assert torch.isinf(logits[5, 6]) and torch.isinf(logits[6, 5])
    assert torch.isfinite(logits[5, 5]) and torch.isfinite(logits[5, 7])
    # Precomputed embeddings without keys: exact equality identifies the duplicate as well.
    with torch.no_grad():
        cached = model(pixel_values_videos=inputs["pixel_values_videos"], text_embeds=out.text_event_embeds)
    assert cached.loss.item() == pytest.approx(out.loss.item(), rel=1e-6)
    assert torch.isinf(cached.logits_clip_event[5, 6])


def test_duplicate_masking_can_be_switched_off(tokenizer):
    """mask_duplicate_texts=False: the identical events of video 1 are ordinary negatives of each other (plain CLIP
    InfoNCE), and the loss is the reference computed without keys."""
    inputs = make_batch(tokenizer)
    masked, plain = make_model(), make_model(mask_duplicate_texts=False)
    with torch.no_grad():
        masked_out, plain_out = masked(**inputs), plain(**inputs)
    assert torch.isinf(masked_out.logits_clip_event[5, 6])
    assert torch.isfinite(plain_out.logits_clip_event).all()
    assert masked_out.loss.item() != pytest.approx(plain_out.loss.item(), rel=1e-4)
    video, scale = plain_out.video_embeds, plain.logit_scale.exp().item()
    present = video.event_mask
    expected = reference_info_nce(
        video.clip_event_embeds[present], plain_out.text_event_embeds[present], scale, None,
        plain_out.negative_text_embeds[present],
    )  # fmt: skip
    assert plain_out.loss_clip_event.item() == pytest.approx(expected, rel=1e-5)


def test_text_identity_ignores_padding_and_follows_the_tokens_the_tower_sees(tokenizer):
    texts = ["in this photo the action is walk where the walker is man", "in this photo the action is run"]
    short = tokenizer(texts, padding=True, return_tensors="pt")
    long = tokenizer(texts, padding="max_length", max_length=30, return_tensors="pt")
    keys_short = text_identity_keys(short.input_ids, short.attention_mask)
    keys_long = text_identity_keys(long.input_ids, long.attention_mask)
    assert keys_short.tolist() == keys_long.tolist() and keys_short[0] != keys_short[1]
    # Without a mask, tokens after the first EOS cannot reach CLIP's (causal) pooled output: they do not count.
    eos = tokenizer.eos_token_id
    without_mask = text_identity_keys(long.input_ids, eos_token_id=eos)
    assert without_mask.tolist() == keys_short.tolist()
    # Left padding gives the same key too.
    left = torch.full_like(long.input_ids, tokenizer.pad_token_id)
    left_mask = torch.zeros_like(long.attention_mask)
    for row in range(2):
        n = int(short.attention_mask[row].sum())
        left[row, -n:], left_mask[row, -n:] = short.input_ids[row, :n], 1
    assert text_identity_keys(left, left_mask).tolist() == keys_short.tolist()
    # A text the tokenizer truncates has the key of the tokens that remain.
    truncated = tokenizer(texts[:1], truncation=True, max_length=6, return_tensors="pt")
    prefix = tokenizer(texts[:1], return_tensors="pt")
    assert text_identity_keys(truncated.input_ids, truncated.attention_mask) != keys_short[:1]
    assert truncated.input_ids.shape[1] == 6 and prefix.input_ids.shape[1] > 6


def test_a_negative_equal_to_its_positive_is_dropped_whatever_the_padding(tokenizer):
    model = make_model()
    inputs = make_batch(tokenizer)
    # The first negative of video 0, event 0 becomes its positive, tokenized with much more padding.
    positive = tokenizer.decode(inputs["input_ids"][0, 0][inputs["attention_mask"][0, 0].bool()], skip_special_tokens=True)
    flat = [n for clip in NEGATIVES[:3] for event in clip for n in event]
    flat[0] = positive
    encoded = tokenizer(flat, padding="max_length", max_length=inputs["negative_input_ids"].shape[-1] + 7, return_tensors="pt")
    inputs["negative_input_ids"] = encoded.input_ids.view(3, 5, 2, -1)
    inputs["negative_attention_mask"] = encoded.attention_mask.view(3, 5, 2, -1)
    with torch.no_grad():
        out = model(**inputs)
    assert torch.isinf(out.negative_logits_clip_event[0, 0]) and torch.isfinite(out.negative_logits_clip_event[0, 1])


def test_precomputed_text_embeddings_give_the_same_loss_as_token_ids(tokenizer):
    model = make_model()
    inputs = make_batch(tokenizer)
    with torch.no_grad():
        from_ids = model(**inputs)
        from_cache = model(
            pixel_values_videos=inputs["pixel_values_videos"],
            text_embeds=model.encode_prompts(inputs["input_ids"], inputs["attention_mask"]),
            negative_text_embeds=model.encode_prompts(inputs["negative_input_ids"], inputs["negative_attention_mask"]),
        )
    assert from_cache.loss.item() == pytest.approx(from_ids.loss.item(), rel=1e-5)


@pytest.mark.parametrize(
    "switch, zero_terms",
    [
        ({"use_clip_event_loss": False}, ["loss_clip_event"]),
        ({"use_vc_video_loss": False, "use_clip_video_loss": False}, ["loss_clip_video", "loss_vc_video"]),
        ({"use_contextualizer": False}, ["loss_vc_event", "loss_vc_video"]),
    ],
)
def test_loss_switches(tokenizer, switch, zero_terms):
    model = make_model(**switch)
    with torch.no_grad():
        out = model(**make_batch(tokenizer))
    for name in zero_terms:
        assert getattr(out, name) is None
    enabled = [getattr(out, n) for n in ("loss_clip_event", "loss_vc_event") if getattr(out, n) is not None]
    video = [getattr(out, n) for n in ("loss_clip_video", "loss_vc_video") if getattr(out, n) is not None]
    assert out.loss.item() == pytest.approx((sum(enabled) + 0.25 * sum(video) if video else sum(enabled)).item(), rel=1e-6)


def test_the_objective_is_one_module_combining_the_terms_with_their_weights():
    """FigClipLoss on hand-made embeddings: the total is the event terms plus λ times the video terms, each the
    reference InfoNCE; switching terms off in the config removes them."""
    from modeling_figclip.loss_figclip import FigClipLoss, FigClipLossInputs

    from figclip_test_utils import make_config

    present = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    inputs = FigClipLossInputs(
        event_mask=present, clip_event=unit(2, 3, 8, seed=0), clip_video=unit(2, 8, seed=1),
        vc_event=unit(2, 3, 8, seed=2), vc_video=unit(2, 8, seed=3), text_event=unit(2, 3, 8, seed=4),
    )  # fmt: skip
    config = make_config(video_loss_weight=0.5)
    result = FigClipLoss(config)(inputs, torch.tensor(10.0))
    video_text = F.normalize((inputs.text_event * present.unsqueeze(-1)).sum(1), dim=-1)
    expected = {
        "clip_event": reference_info_nce(inputs.clip_event[present], inputs.text_event[present], 10.0),
        "vc_event": reference_info_nce(inputs.vc_event[present], inputs.text_event[present], 10.0),
        "clip_video": reference_info_nce(inputs.clip_video, video_text, 10.0),
        "vc_video": reference_info_nce(inputs.vc_video, video_text, 10.0),
    }
    for name, value in expected.items():
        assert result.terms[f"loss_{name}"].item() == pytest.approx(value, rel=1e-5), name
    total = expected["clip_event"] + expected["vc_event"] + 0.5 * (expected["clip_video"] + expected["vc_video"])
    assert result.loss.item() == pytest.approx(total, rel=1e-5)
    only_events = FigClipLoss(make_config(use_clip_video_loss=False, use_vc_video_loss=False))(inputs, torch.tensor(10.0))
    assert "loss_clip_video" not in only_events.terms
    assert only_events.loss.item() == pytest.approx(expected["clip_event"] + expected["vc_event"], rel=1e-5)
