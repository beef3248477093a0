"""Tiny, deterministic CLIP/FiGCLIP building blocks for tests, examples and benchmarks (no download needed)."""

from __future__ import annotations

from typing import Any

from transformers import CLIPConfig, CLIPTokenizer

from .tokenization_utils import build_word_level_clip_tokenizer

TINY_WORDS = (
    "in this photo the action is where and scene of event a an with man woman boy girl dog red blue green "
    "walk walker jog jogger run runner talk talker hearer hit hitter thing direction manner location purpose goal "
    "slowly quickly forward backward left right apartment lake street home short hair shirt"
).split()


def tiny_tokenizer(extra_words: tuple[str, ...] = ()) -> CLIPTokenizer:
    """A deterministic word-level CLIP tokenizer over a small English vocabulary (plus `extra_words`)."""
    return build_word_level_clip_tokenizer([*TINY_WORDS, *extra_words], model_max_length=32)


def tiny_clip_config_dict(tokenizer: CLIPTokenizer | None = None, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for a tiny `CLIPConfig` (2 layers, width 64, 32×32 images, projection 32).

    The tokenizer's special-token ids are copied into `text_config` because CLIP's text pooler reads the first
    `eos_token_id` (and `eos_token_id == 2` would switch it to the legacy argmax pooling).
    """
    tokenizer = tokenizer or tiny_tokenizer()
    text_config = dict(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=tokenizer.model_max_length, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    vision_config = dict(image_size=32, patch_size=8, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4)
    text_config.update(overrides.pop("text_config", {}))
    vision_config.update(overrides.pop("vision_config", {}))
    return dict(text_config=text_config, vision_config=vision_config, projection_dim=32, **overrides)


def tiny_clip_config(tokenizer: CLIPTokenizer | None = None, **overrides: Any) -> CLIPConfig:
    """A tiny random-init `CLIPConfig`; see `tiny_clip_config_dict`."""
    return CLIPConfig(**tiny_clip_config_dict(tokenizer, **overrides))
