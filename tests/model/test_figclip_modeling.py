"""FigClipModel: shapes, masks, CLIP behaviour kept, Auto classes, loading plain CLIP checkpoints, bad input."""

import pytest
import torch
from transformers import AutoConfig, AutoModel, CLIPConfig, CLIPImageProcessor, CLIPModel, pipeline

from figclip_test_utils import make_batch, make_config, make_model
from modeling_figclip import FigClipConfig, FigClipModel, FigClipOutput
from modeling_figclip.testing_utils import tiny_clip_config_dict


def test_video_feature_shapes_and_normalisation(model, tokenizer):
    pixels = make_batch(tokenizer, batch=2, events=3, frames=2)["pixel_values_videos"]
    with torch.no_grad():
        video = model.get_video_features(pixels)
    dim = model.config.projection_dim
    assert video.frame_embeds.shape == (2, 3, 2, dim)
    assert video.clip_event_embeds.shape == video.vc_event_embeds.shape == (2, 3, dim)
    assert video.clip_video_embeds.shape == video.vc_video_embeds.shape == (2, dim)
    for tensor in (video.frame_embeds, video.clip_event_embeds, video.vc_event_embeds, video.clip_video_embeds, video.vc_video_embeds):
        torch.testing.assert_close(tensor.norm(dim=-1), torch.ones(tensor.shape[:-1]))
    without = model.get_video_features(pixels, use_contextualizer=False)
    assert without.vc_event_embeds is None and without.vc_video_embeds is None
    torch.testing.assert_close(without.clip_video_embeds, video.clip_video_embeds)


def test_forward_output_shapes(model, tokenizer):
    inputs = make_batch(tokenizer)
    out = model(**inputs)
    assert isinstance(out, FigClipOutput)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert out.logits_clip_event.shape == out.logits_vc_event.shape == (15, 15)
    assert out.negative_logits_clip_event.shape == (15, 2)
    assert out.logits_clip_video.shape == (3, 3)
    assert out.text_event_embeds.shape == (3, 5, 32) and out.negative_text_embeds.shape == (3, 5, 2, 32)
    assert out.text_video_embeds.shape == (3, 32)


def test_each_frame_is_encoded_once_and_absent_frames_never(model, tokenizer):
    pixels = make_batch(tokenizer, batch=2, events=3, frames=4)["pixel_values_videos"]
    event_mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    frame_mask = torch.ones(2, 3, 4, dtype=torch.bool)
    frame_mask[1, 2, 2:] = False
    seen = []
    handle = model.vision_model.register_forward_hook(
        lambda module, args, kwargs, output: seen.append(kwargs["pixel_values"].shape[0]), with_kwargs=True
    )
    with torch.no_grad():
        model.get_video_features(pixels, event_mask=event_mask, frame_mask=frame_mask)
    handle.remove()
    assert seen == [2 * 4 + 3 * 4 - 2]  # one vision pass over exactly the present frames


def test_absent_events_and_frames_do_not_change_anything(model, tokenizer):
    inputs = make_batch(tokenizer)
    event_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    frame_mask = torch.ones(3, 5, 4, dtype=torch.bool)
    frame_mask[2, 1, 3] = False
    with torch.no_grad():
        reference = model(**inputs, event_mask=event_mask, frame_mask=frame_mask)
        changed = dict(inputs)
        changed["pixel_values_videos"] = inputs["pixel_values_videos"].clone()
        changed["pixel_values_videos"][1, 3:] = torch.randn_like(changed["pixel_values_videos"][1, 3:])
        changed["pixel_values_videos"][2, 1, 3] = 7.0
        changed["input_ids"] = inputs["input_ids"].clone()
        changed["input_ids"][1, 3:] = 5  # garbage prompts for absent events
        changed["negative_input_ids"] = inputs["negative_input_ids"].clone()
        changed["negative_input_ids"][1, 4] = 9
        other = model(**changed, event_mask=event_mask, frame_mask=frame_mask)
    for name in ("loss", "loss_clip_event", "loss_vc_event", "loss_clip_video", "loss_vc_video"):
        assert getattr(other, name).item() == pytest.approx(getattr(reference, name).item(), abs=1e-6)
    assert reference.logits_clip_event.shape == (13, 13)
    assert torch.all(reference.video_embeds.vc_event_embeds[1, 3:] == 0)
    # Fewer events/frames as a smaller tensor instead of masks gives the same CLIP-level embedding of video 1.
    with torch.no_grad():
        short = model.get_video_features(inputs["pixel_values_videos"][1:2, :3])
    torch.testing.assert_close(short.clip_video_embeds[0], reference.video_embeds.clip_video_embeds[1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(short.vc_video_embeds[0], reference.video_embeds.vc_video_embeds[1], atol=1e-5, rtol=1e-5)


def test_masked_negatives_are_ignored(model, tokenizer):
    inputs = make_batch(tokenizer)
    negative_mask = torch.ones(3, 5, 2, dtype=torch.bool)
    negative_mask[:, :, 1] = False
    with torch.no_grad():
        masked = model(**inputs, negative_mask=negative_mask)
        inputs_one = dict(inputs)
        inputs_one["negative_input_ids"] = inputs["negative_input_ids"][:, :, :1]
        inputs_one["negative_attention_mask"] = inputs["negative_attention_mask"][:, :, :1]
        single = model(**inputs_one)
    assert masked.loss.item() == pytest.approx(single.loss.item(), rel=1e-6)


def test_clip_behaviour_is_unchanged(tokenizer):
    config = make_config()
    torch.manual_seed(3)
    clip = CLIPModel(CLIPConfig(**tiny_clip_config_dict(tokenizer))).eval()
    figclip = FigClipModel(config).eval()
    missing, unexpected = figclip.load_state_dict(clip.state_dict(), strict=False)
    assert not unexpected and all(key.startswith("video_contextualizer.") for key in missing)

    pixel_values = torch.randn(2, 3, 32, 32)
    text = tokenizer(["a red dog", "a blue man walk"], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = clip(input_ids=text.input_ids, attention_mask=text.attention_mask, pixel_values=pixel_values, return_loss=True)
        actual = figclip(input_ids=text.input_ids, attention_mask=text.attention_mask, pixel_values=pixel_values, return_loss=True)
        torch.testing.assert_close(actual.logits_per_image, expected.logits_per_image)
        torch.testing.assert_close(actual.loss, expected.loss)
        torch.testing.assert_close(
            figclip.get_image_features(pixel_values=pixel_values).pooler_output,
            clip.get_image_features(pixel_values=pixel_values).pooler_output,
        )
        torch.testing.assert_close(
            figclip.get_text_features(**text).pooler_output, clip.get_text_features(**text).pooler_output
        )


def test_zero_shot_image_classification_pipeline(tokenizer, tmp_path):
    model = make_model()
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    classifier = pipeline(
        "zero-shot-image-classification", model=model, tokenizer=tokenizer, image_processor=image_processor, device="cpu"
    )
    from PIL import Image
    import numpy as np

    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8))
    labels = ["red dog", "blue man", "man walk"]
    result = classifier(image, candidate_labels=labels, hypothesis_template="a {}")
    # The pipeline's scores are the model's own softmax over logit_scale * cosine(image, "a {label}") ...
    with torch.no_grad():
        text = tokenizer([f"a {label}" for label in labels], padding=True, return_tensors="pt")
        logits = model(input_ids=text.input_ids, attention_mask=text.attention_mask,
                       pixel_values=image_processor(images=image, return_tensors="pt").pixel_values).logits_per_image
    expected = dict(zip(labels, logits.softmax(dim=-1)[0].tolist()))
    assert {r["label"]: r["score"] for r in result} == pytest.approx(expected, abs=1e-5)
    # ... and a plain CLIPModel with the same weights gives the same answer through the same pipeline.
    clip = CLIPModel(CLIPConfig(**model.config.to_dict())).eval()
    clip.load_state_dict(model.state_dict(), strict=False)
    as_clip = pipeline("zero-shot-image-classification", model=clip, tokenizer=tokenizer,
                       image_processor=image_processor, device="cpu")
    again = as_clip(image, candidate_labels=labels, hypothesis_template="a {}")
    assert {r["label"]: r["score"] for r in again} == pytest.approx(expected, abs=1e-5)


def test_auto_classes_resolve_figclip(tmp_path):
    model = make_model()
    model.save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), FigClipConfig)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert type(loaded) is FigClipModel
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, msg=name)


def test_plain_clip_checkpoint_loads_with_new_contextualizer(tmp_path, tokenizer, caplog):
    torch.manual_seed(0)
    clip = CLIPModel(CLIPConfig(**tiny_clip_config_dict(tokenizer)))
    clip.save_pretrained(tmp_path)
    model, info = FigClipModel.from_pretrained(tmp_path, output_loading_info=True)
    assert model.config.model_type == "figclip" and model.config.vc_num_layers == 6
    assert info["missing_keys"] and all(k.startswith("video_contextualizer.") for k in info["missing_keys"])
    assert not info["unexpected_keys"]
    for name, tensor in clip.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], tensor, msg=name)
    vc = model.video_contextualizer
    assert model.config.vc_readout == "token" and vc.output_projection is None
    assert 0.01 < vc.encoder.layers[0].self_attn.q_proj.weight.std().item() < 0.03
    # The residual read-out (ablation) starts with VC-level embeddings equal to the CLIP-level ones.
    residual = FigClipModel.from_pretrained(tmp_path, vc_readout="residual")
    assert torch.all(residual.video_contextualizer.output_projection.weight == 0)
    pixels = torch.randn(1, 5, 4, 3, 32, 32)
    with torch.no_grad():
        video = residual.get_video_features(pixels)
    torch.testing.assert_close(video.vc_event_embeds, video.clip_event_embeds, atol=1e-5, rtol=1e-5)
    # Saved again, it is a FiGCLIP checkpoint.
    model.save_pretrained(tmp_path / "figclip")
    assert type(AutoModel.from_pretrained(tmp_path / "figclip")) is FigClipModel


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda i: i.update(pixel_values_videos=i["pixel_values_videos"][0]), r"\(batch, events, frames, channels, height, width\)"),
        (lambda i: i.update(pixel_values_videos=torch.zeros(3, 6, 4, 3, 32, 32)), r"6 events .*max_events=5"),
        (lambda i: i.update(pixel_values_videos=torch.zeros(3, 5, 5, 3, 32, 32)), r"5 frames per event .*max_frames_per_event=4"),
        (lambda i: i.update(pixel_values_videos=torch.zeros(3, 5, 4, 4, 32, 32)), r"4 channels"),
        (lambda i: i.update(event_mask=torch.zeros(3, 5, dtype=torch.bool)), r"No video of the batch has a present event"),
        (lambda i: i.update(event_mask=torch.ones(3, 4, dtype=torch.bool)), r"event_mask must have shape \(batch, events\) = \(3, 5\)"),
        (lambda i: i.update(input_ids=i["input_ids"][:, :4]), r"input_ids must have shape \(batch, events, seq\)"),
        (lambda i: i.update(negative_input_ids=torch.ones(3, 5, 5, 4, dtype=torch.long), negative_attention_mask=None), r"5 negatives per event .*num_hard_negatives=4"),
        (lambda i: i.update(negative_input_ids=torch.ones(3, 5, 4, dtype=torch.long), negative_attention_mask=None), r"negative_input_ids must have shape"),
        (lambda i: i.update(text_embeds=torch.zeros(3, 5, 32)), r"exactly one of input_ids"),
    ],
)
def test_bad_input_raises_clear_value_error(model, tokenizer, mutate, message):
    inputs = make_batch(tokenizer)
    mutate(inputs)
    with pytest.raises(ValueError, match=message):
        model(**inputs)


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="vc_num_attention_heads"):
        make_config(vc_num_attention_heads=5)
    with pytest.raises(ValueError, match="At least one loss term"):
        make_config(use_clip_event_loss=False, use_vc_event_loss=False, use_clip_video_loss=False, use_vc_video_loss=False)
    assert FigClipConfig().vc_num_layers == 6 and FigClipConfig().video_loss_weight == 0.25


def test_token_readout_is_the_contextualised_tokens():
    """The paper's read-out: VC-level embeddings are the contextualised video/event tokens (after the final layer
    norm), and an event's VC embedding depends on the other events' frames while its CLIP-level mean does not."""
    model = make_model()
    vc = model.video_contextualizer
    captured = {}
    handle = vc.final_layer_norm.register_forward_hook(lambda module, args, output: captured.update(hidden=output))
    pixels = torch.randn(2, 5, 4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        video = model.get_video_features(pixels)
    handle.remove()
    hidden = captured["hidden"]  # (batch, 1 + 5 * (1 + 4), dim)
    event_tokens = hidden[:, 1:].reshape(2, 5, 5, -1)[:, :, 0]
    torch.testing.assert_close(video.vc_video_embeds, torch.nn.functional.normalize(hidden[:, 0], dim=-1))
    torch.testing.assert_close(video.vc_event_embeds, torch.nn.functional.normalize(event_tokens, dim=-1))
    changed = pixels.clone()
    changed[:, 4] = torch.randn_like(changed[:, 4])  # other frames for the last event only
    with torch.no_grad():
        other = model.get_video_features(changed)
    torch.testing.assert_close(other.clip_event_embeds[:, 0], video.clip_event_embeds[:, 0])
    assert (other.vc_event_embeds[:, 0] - video.vc_event_embeds[:, 0]).abs().max() > 1e-4


def test_vc_readout_is_validated():
    with pytest.raises(ValueError, match="vc_readout"):
        make_config(vc_readout="mean")


def test_a_video_without_present_events_leaves_the_loss(model, tokenizer):
    """Lenient mode can mask every event of an unreadable video: it must enter no loss term, whatever its pixels."""
    inputs = make_batch(tokenizer)
    inputs["event_mask"] = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 0, 1, 1]], dtype=torch.bool)
    kept = {k: v[[0, 2]] for k, v in inputs.items()}
    with torch.no_grad():
        out = model(**inputs)
        reference = model(**kept)
        inputs["pixel_values_videos"][1] = torch.randn_like(inputs["pixel_values_videos"][1])
        changed = model(**inputs)
    for name in ("loss", "loss_clip_event", "loss_vc_event", "loss_clip_video", "loss_vc_video"):
        assert getattr(out, name).item() == pytest.approx(getattr(reference, name).item(), rel=1e-5), name
        assert getattr(changed, name).item() == pytest.approx(getattr(out, name).item(), rel=1e-6), name
    assert out.logits_clip_video.shape == (2, 2)
    assert torch.all(out.video_embeds.clip_video_embeds[1] == 0) and torch.all(out.video_embeds.vc_video_embeds[1] == 0)


def test_projections_missing_from_a_checkpoint_get_clips_scaled_init(tmp_path, tokenizer):
    """transformers skips parameter-less containers of models defined outside the library; FiGCLIP must still give
    CLIP's scaled initialisation to attention/MLP projections a checkpoint lacks, and leave loaded weights alone."""
    from safetensors.torch import load_file, save_file

    config = CLIPConfig(**tiny_clip_config_dict(tokenizer))
    CLIPModel(config).save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    kept = {k: v for k, v in weights.items() if "vision_model.encoder.layers.0." not in k}
    save_file(kept, tmp_path / "model.safetensors", metadata={"format": "pt"})
    torch.manual_seed(0)
    model = FigClipModel.from_pretrained(tmp_path)
    reference = CLIPModel.from_pretrained(tmp_path)  # the library model: the behaviour to match
    hidden, layers = config.vision_config.hidden_size, config.vision_config.num_hidden_layers
    expected = {"self_attn.q_proj": hidden**-0.5 * (2 * layers) ** -0.5, "self_attn.out_proj": hidden**-0.5,
                "mlp.fc1": (2 * hidden) ** -0.5, "mlp.fc2": hidden**-0.5 * (2 * layers) ** -0.5}
    for name, std in expected.items():
        ours = model.get_submodule(f"vision_model.encoder.layers.0.{name}").weight.detach().std().item()
        theirs = reference.get_submodule(f"vision_model.encoder.layers.0.{name}").weight.detach().std().item()
        assert ours == pytest.approx(std, rel=0.25) and theirs == pytest.approx(std, rel=0.25), name
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in kept.items())


def test_figclip_fields_come_from_the_config_class_and_reach_the_training_overrides():
    from dataclasses import fields

    from modeling_figclip.training import ModelArguments

    own = set(FigClipConfig().to_dict()) - set(CLIPConfig().to_dict())
    # every FiGCLIP field but the read-out setting feature_ensemble, which adapters never carry
    assert set(FigClipConfig.FIGCLIP_FIELDS) == own - {"model_type", "architectures", "transformers_version",
                                                       "feature_ensemble"}
    shared = {f.name for f in fields(ModelArguments)} & set(FigClipConfig.FIGCLIP_FIELDS)
    overrides = ModelArguments(vc_readout="residual").figclip_config_overrides(3)
    assert set(overrides) == shared | {"num_hard_negatives"} and overrides["vc_readout"] == "residual"
    assert FigClipConfig(**overrides).num_hard_negatives == 3
