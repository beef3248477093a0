#!/usr/bin/env python
"""Pretrain the toy world's base CLIP: a tiny `CLIPModel` trained from scratch with the plain CLIP loss on web-style
(frame, caption) pairs — the stand-in for `openai/clip-vit-base-patch32` in the CPU demonstration of FiGCLIP.

    python recipes/toy/pretrain_base_clip.py --config recipes/toy/pretrain_base_clip.yaml [--max_steps 400 ...]

1. Builds the toy world in `world_dir` (or reuses it: see `dataset_scripts.toy_world.build_world`).
2. Trains on `world_dir/pretrain_web` (bag-of-words captions), holding out every `heldout_every`-th clip.
3. Saves an ordinary checkpoint to `output_dir`: `CLIPModel.from_pretrained`, `AutoTokenizer.from_pretrained`,
   `AutoProcessor.from_pretrained` / `CLIPImageProcessor.from_pretrained` all work on it (safetensors, no pickle).
4. Writes `pretrain_report.json` (held-out web-caption retrieval, timings) next to it.

Caching: the checkpoint's `cache_key.json` holds a digest of the web corpus, the tokenizer vocabulary and every
argument that changes the weights; a rerun with the same key reuses the checkpoint instead of training again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, get_cosine_schedule_with_warmup
from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

from dataset_scripts.toy_world import WorldConfig, build_world, world_vocabulary
from dataset_scripts.toy_world.world import PRETRAIN_DIRNAME
from modeling_figclip.tokenization_utils import build_word_level_clip_tokenizer
from modeling_figclip.utils import l2_normalize, to_embedding_tensor

CACHE_KEY_FILE = "cache_key.json"
REPORT_FILE = "pretrain_report.json"


@dataclass
class BaseClipArguments:
    """The base CLIP's architecture, training and output. (The world's own fields come from `WorldConfig`.)"""

    world_dir: str = field(default="outputs/toy_world", metadata={"help": "Where the toy world is (built if absent)."})
    output_dir: str = field(default="outputs/toy_world/base_clip", metadata={"help": "Checkpoint folder."})
    reuse_cached: bool = field(default=True, metadata={"help": "Reuse a checkpoint whose cache key matches."})
    # Architecture: a ViT over 16×16 patches of the 64×64 frames and a causal text transformer, CLIP-style.
    image_size: int = field(default=64, metadata={"help": "Input resolution (frames are 64×64)."})
    patch_size: int = field(default=16, metadata={"help": "16: 4×4 patches — each sees a body with its streak, and training is 2.5× cheaper than 8."})
    vision_width: int = field(default=128)
    vision_layers: int = field(default=4)
    text_width: int = field(default=128)
    text_layers: int = field(default=4)
    attention_heads: int = field(default=4)
    projection_dim: int = field(default=128, metadata={"help": "Joint embedding size (FiGCLIP's VC works at it)."})
    max_text_length: int = field(default=77, metadata={"help": "Tokenizer/position limit (CLIP's 77; SRL prompts need up to ~70)."})
    # Optimisation.
    train_seed: int = field(default=0)
    max_steps: int = field(default=480)
    batch_size: int = field(default=256)
    learning_rate: float = field(default=1e-3)
    weight_decay: float = field(default=0.1)
    warmup_steps: int = field(default=30)
    heldout_every: int = field(default=10, metadata={"help": "Every n-th web-corpus clip is held out for eval."})
    num_threads: int = field(default=2, metadata={"help": "torch CPU threads."})
    log_every: int = field(default=25)

    def weight_relevant(self) -> dict:
        """Arguments that change the trained weights (the cache key); paths and logging do not."""
        data = asdict(self)
        for name in ("world_dir", "output_dir", "reuse_cached", "num_threads", "log_every"):
            data.pop(name)
        return data


# ---------------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------------
def read_web_corpus(world_dir: str) -> list[dict]:
    """The web corpus records (``file_name``, ``text``, ``clip_id``, ``frame``) in file order."""
    with open(os.path.join(world_dir, PRETRAIN_DIRNAME, "metadata.jsonl"), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def split_heldout(records: list[dict], heldout_every: int) -> tuple[list[dict], list[dict]]:
    """Train on most clips; evaluate on one frame (the first listed) of every `heldout_every`-th clip."""
    clip_order = list(dict.fromkeys(record["clip_id"] for record in records))
    heldout_clips = set(clip_order[::heldout_every])
    train = [r for r in records if r["clip_id"] not in heldout_clips]
    seen, heldout = set(), []
    for record in records:
        if record["clip_id"] in heldout_clips and record["clip_id"] not in seen:
            seen.add(record["clip_id"])
            heldout.append(record)
    return train, heldout


def load_images(world_dir: str, records: list[dict]) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` tensor of the records' frames."""
    root = os.path.join(world_dir, PRETRAIN_DIRNAME)
    arrays = []
    for record in records:
        with Image.open(os.path.join(root, record["file_name"])) as image:
            arrays.append(np.asarray(image.convert("RGB")))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def build_processor(args: BaseClipArguments) -> CLIPProcessor:
    """The world tokenizer + a CLIP image processor at the model's resolution (OpenAI CLIP normalisation)."""
    tokenizer = build_word_level_clip_tokenizer(world_vocabulary(), model_max_length=args.max_text_length)
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": args.image_size}, crop_size={"height": args.image_size, "width": args.image_size},
        image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD,
    )
    return CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)


class PixelNormalizer:
    """Turns uint8 ``(N, 3, 64, 64)`` frames into pixel values exactly as the saved `CLIPImageProcessor` does for
    frames that are already at the model resolution (rescale 1/255, then OpenAI mean/std), without PIL round-trips."""

    def __init__(self, image_size: int):
        self.image_size = image_size
        self.mean = torch.tensor(OPENAI_CLIP_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(OPENAI_CLIP_STD).view(1, 3, 1, 1)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        pixels = frames.float() / 255.0
        if pixels.shape[-1] != self.image_size:
            pixels = F.interpolate(pixels, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False)
        return (pixels - self.mean) / self.std


def tokenize(tokenizer, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
    return tokenizer(texts, padding="longest", truncation=True, max_length=max_length, return_tensors="pt")


def length_grouped_batches(lengths: torch.Tensor, batch_size: int, generator: torch.Generator,
                           group: int = 16) -> list[torch.Tensor]:
    """One epoch of batches in which captions have similar lengths (like transformers' `LengthGroupedSampler`):
    shuffle, sort within mega-batches of `group` batches, shuffle the batches. Padding each batch only to its own
    longest caption then cuts the text cost about threefold (web captions vary from ~10 to 77 tokens)."""
    order = torch.randperm(len(lengths), generator=generator)
    batches = []
    for start in range(0, len(order) - batch_size + 1, batch_size * group):
        mega = order[start:start + batch_size * group]
        mega = mega[torch.argsort(lengths[mega], descending=True, stable=True)]
        batches += [mega[i:i + batch_size] for i in range(0, len(mega) - batch_size + 1, batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def text_batch(text: dict[str, torch.Tensor], index: torch.Tensor) -> dict[str, torch.Tensor]:
    """The rows `index`, trimmed to the longest of them (CLIP pools at the first EOS, so trailing padding is inert)."""
    length = int(text["attention_mask"][index].sum(dim=1).max())
    return {key: value[index, :length] for key, value in text.items()}


# ---------------------------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------------------------
def build_config(args: BaseClipArguments, tokenizer) -> CLIPConfig:
    """A small CLIP configuration; the tokenizer's special ids go into `text_config` (CLIP pools at the first EOS)."""
    text_config = dict(
        vocab_size=len(tokenizer), hidden_size=args.text_width, intermediate_size=4 * args.text_width,
        num_hidden_layers=args.text_layers, num_attention_heads=args.attention_heads,
        max_position_embeddings=args.max_text_length, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    vision_config = dict(
        image_size=args.image_size, patch_size=args.patch_size, hidden_size=args.vision_width,
        intermediate_size=4 * args.vision_width, num_hidden_layers=args.vision_layers,
        num_attention_heads=args.attention_heads,
    )
    return CLIPConfig(text_config=text_config, vision_config=vision_config, projection_dim=args.projection_dim)


def clip_loss(model: CLIPModel, pixel_values: torch.Tensor, text: dict[str, torch.Tensor]) -> torch.Tensor:
    """The plain symmetric InfoNCE of CLIP over the batch."""
    image = l2_normalize(to_embedding_tensor(model.get_image_features(pixel_values=pixel_values)))
    texts = l2_normalize(to_embedding_tensor(model.get_text_features(**text)))
    logits = model.logit_scale.exp() * image @ texts.T
    labels = torch.arange(logits.shape[0])
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


@torch.no_grad()
def retrieval_at_1(model: CLIPModel, pixel_values: torch.Tensor, text: dict[str, torch.Tensor],
                   batch_size: int = 256) -> dict[str, float]:
    """Text→image and image→text R@1 (%) of paired rows (row i of each is a positive pair)."""
    model.eval()
    images, texts = [], []
    for start in range(0, pixel_values.shape[0], batch_size):
        images.append(to_embedding_tensor(model.get_image_features(pixel_values=pixel_values[start:start + batch_size])))
        texts.append(to_embedding_tensor(model.get_text_features(**{k: v[start:start + batch_size] for k, v in text.items()})))
    similarity = l2_normalize(torch.cat(texts)) @ l2_normalize(torch.cat(images)).T
    target = torch.arange(similarity.shape[0])
    return {
        "t2i_R@1": round(100.0 * (similarity.argmax(dim=1) == target).float().mean().item(), 2),
        "i2t_R@1": round(100.0 * (similarity.argmax(dim=0) == target).float().mean().item(), 2),
        "num_pairs": int(similarity.shape[0]),
    }


# ---------------------------------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------------------------------
def cache_key(args: BaseClipArguments, manifest: dict) -> str:
    payload = {"web_corpus": manifest["digests"]["pretrain_web"], "vocabulary": world_vocabulary(),
               "args": args.weight_relevant(), "format": 1}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def cached_checkpoint(output_dir: str, key: str) -> bool:
    path = os.path.join(output_dir, CACHE_KEY_FILE)
    if not os.path.isfile(path) or not os.path.isfile(os.path.join(output_dir, "config.json")):
        return False
    with open(path, encoding="utf-8") as handle:
        return json.load(handle).get("key") == key


# ---------------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------------
def pretrain_base_clip(args: BaseClipArguments, world_config: Optional[WorldConfig] = None, log=print) -> dict:
    """Build/reuse the world, train/reuse the base CLIP, and return the report (also saved as `pretrain_report.json`)."""
    manifest = build_world(args.world_dir, world_config or WorldConfig(), log=log)
    key = cache_key(args, manifest)
    if args.reuse_cached and cached_checkpoint(args.output_dir, key):
        log(f"[base_clip] reusing cached checkpoint {args.output_dir} (key {key})")
        with open(os.path.join(args.output_dir, REPORT_FILE), encoding="utf-8") as handle:
            return {**json.load(handle), "cached": True}

    torch.set_num_threads(max(1, args.num_threads))
    torch.manual_seed(args.train_seed)
    start = time.perf_counter()
    processor = build_processor(args)
    tokenizer = processor.tokenizer
    records = read_web_corpus(args.world_dir)
    train_records, heldout_records = split_heldout(records, args.heldout_every)
    train_frames = load_images(args.world_dir, train_records)
    heldout_frames = load_images(args.world_dir, heldout_records)
    train_text = tokenize(tokenizer, [r["text"] for r in train_records], args.max_text_length)
    heldout_text = tokenize(tokenizer, [r["text"] for r in heldout_records], args.max_text_length)
    normalize = PixelNormalizer(args.image_size)
    data_seconds = time.perf_counter() - start
    log(f"[base_clip] {len(train_records)} training pairs, {len(heldout_records)} held-out pairs "
        f"(loaded in {data_seconds:.1f} s)")

    model = CLIPModel(build_config(args, tokenizer))
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.learning_rate)
    scheduler = get_cosine_schedule_with_warmup(optimizer, args.warmup_steps, args.max_steps)
    generator = torch.Generator().manual_seed(args.train_seed)
    lengths = train_text["attention_mask"].sum(dim=1)
    batches: list[torch.Tensor] = []
    losses = []
    train_start = time.perf_counter()
    model.train()
    for step in tqdm(range(args.max_steps), desc="base CLIP", mininterval=5, file=sys.stdout):
        if not batches:
            batches = length_grouped_batches(lengths, args.batch_size, generator)
        batch = batches.pop()
        loss = clip_loss(model, normalize(train_frames[batch]), text_batch(train_text, batch))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        with torch.no_grad():  # CLIP clamps the temperature at 100
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(loss.item())
        if (step + 1) % args.log_every == 0:
            log(f"[base_clip] step {step + 1}/{args.max_steps} loss {np.mean(losses[-args.log_every:]):.3f}")
    train_seconds = time.perf_counter() - train_start

    heldout = retrieval_at_1(model, normalize(heldout_frames), heldout_text)
    os.makedirs(args.output_dir, exist_ok=True)
    model.save_pretrained(args.output_dir)
    processor.save_pretrained(args.output_dir)
    report = {
        "heldout_web": heldout,
        "train_pairs": len(train_records),
        "epochs": round(args.max_steps * args.batch_size / len(train_records), 2),
        "final_loss": round(float(np.mean(losses[-args.log_every:])), 4),
        "parameters": sum(p.numel() for p in model.parameters()),
        "seconds": {"data": round(data_seconds, 1), "train": round(train_seconds, 1),
                    "total": round(time.perf_counter() - start, 1)},
        "args": asdict(args),
        "world_fingerprint": manifest["fingerprint"],
        "cache_key": key,
        "cached": False,
    }
    with open(os.path.join(args.output_dir, REPORT_FILE), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
    with open(os.path.join(args.output_dir, CACHE_KEY_FILE), "w", encoding="utf-8") as handle:
        json.dump({"key": key, "world_fingerprint": manifest["fingerprint"]}, handle, indent=1)
    log(f"[base_clip] held-out web retrieval R@1: t2i {heldout['t2i_R@1']} / i2t {heldout['i2t_R@1']} "
        f"(chance {100 / heldout['num_pairs']:.2f}); trained in {train_seconds:.0f} s -> {args.output_dir}")
    return report


def main(argv: Optional[list[str]] = None) -> dict:
    from modeling_figclip.cli_utils import RecipeError, parse_recipe_args

    try:
        args, world_config, _ = parse_recipe_args((BaseClipArguments, WorldConfig), argv)
    except RecipeError as error:
        sys.exit(f"error: {error}")
    return pretrain_base_clip(args, world_config)


if __name__ == "__main__":
    main()
