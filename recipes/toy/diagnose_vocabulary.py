#!/usr/bin/env python
"""Does the toy base CLIP know the language of the SRL prompts? Two measurements on a built world and base.

    python recipes/toy/diagnose_vocabulary.py [--world_dir outputs/toy_world] [--base_dir outputs/toy_world/base_clip]

1. **Vocabulary**: every token of the training split's SRL prompts, with how often it occurs in the base's web corpus.
   A token that never occurs there reaches the frozen text tower with its random initial embedding; real CLIP has
   seen every English word of the template.
2. **Text geometry**: web-caption retrieval (R@1, %) over the benchmark clips when a clip's embedding is the mean
   text embedding of five texts about its events instead of its frames: the training prompts in each
   ``prompt_style`` (``srl``, the paper's; ``no_template``; ``verb_only``), natural captions, the bare role values,
   and — the reference — fresh web-style captions of the events, the register the base was trained on (naming
   everything in view, or only the event's participants, as the annotation does). FiGCLIP
   pulls the frame embeddings towards its prompts through a frozen text tower, so the prompt rows bound, roughly,
   how much web retrieval an adapter that matches its prompts perfectly can keep; the reference row shows how much
   the tower's own register would allow.

Prints both as tables; reads only files the world and base recipes write.
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import json
import os
import sys
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoTokenizer, CLIPModel

from dataset_scripts.toy_world import WorldConfig
from dataset_scripts.toy_world.grammar import ClipSpec
from dataset_scripts.toy_world.text import event_args, natural_caption, world_srl_prompt, vidsitu_event, web_caption
from dataset_scripts.toy_world.world import PRETRAIN_DIRNAME, split_clips
from dataset_scripts.vidsitu.prompts import no_template_prompt, verb_only_prompt
from modeling_figclip.utils import to_embedding_tensor


def world_config(world_dir: str) -> WorldConfig:
    with open(os.path.join(world_dir, "world_manifest.json"), encoding="utf-8") as handle:
        return WorldConfig(**json.load(handle)["config"])


def vocabulary_table(tokenizer, world_dir: str, config: WorldConfig) -> list[tuple[str, int, int]]:
    """``(token, occurrences in the train split's prompts, occurrences in the web corpus)``, rarest in the web first."""
    with open(os.path.join(world_dir, PRETRAIN_DIRNAME, "metadata.jsonl"), encoding="utf-8") as handle:
        web = collections.Counter(t for line in handle if line.strip() for t in tokenizer.tokenize(json.loads(line)["text"]))
    clips = split_clips(config, "train", config.num_train_clips)
    prompts = collections.Counter(t for clip in clips for event in clip.events for t in tokenizer.tokenize(world_srl_prompt(clip, event)))
    rows = [(token.removesuffix("</w>"), count, web.get(token, 0)) for token, count in prompts.items()]
    return sorted(rows, key=lambda row: (row[2], -row[1]))


#: `text_geometry`'s text forms: result key -> table label.
TEXT_FORMS = {
    "web_captions": "fresh web-style captions (the base's own register)",
    "web_captions_participants": "fresh web-style captions naming only the event's participants",
    "srl_prompts": "SRL prompts (prompt_style srl, the paper's)",
    "no_template_prompts": "no-template prompts (prompt_style no_template)",
    "verb_only_prompts": "verb-only prompts (prompt_style verb_only)",
    "natural_captions": "natural captions",
    "role_values": "role values only (no verb, no template)",
}


def event_texts(config: WorldConfig) -> dict[str, Callable[[ClipSpec, int], str]]:
    """The texts `text_geometry` compares (keys of `TEXT_FORMS`), each ``(clip, event index) -> str``: the training
    prompt of each ``prompt_style``, made by the VidSitu builder's own functions from the event's official record;
    natural captions; the bare role values; and fresh web-style captions of the event (seeded apart from the
    benchmark's queries), naming everything in view or, like the annotation, only the event's participants."""
    rng = np.random.default_rng([config.seed, 1])

    def record(clip: ClipSpec, index: int) -> dict:
        return vidsitu_event(clip, index, clip.clip_id)

    return {
        "web_captions": lambda clip, i: web_caption(clip, rng, clip.events[i]),
        "web_captions_participants": lambda clip, i: web_caption(
            dataclasses.replace(clip, cast=clip.participants(clip.events[i])), rng, clip.events[i]),
        "srl_prompts": lambda clip, i: world_srl_prompt(clip, clip.events[i]),
        "no_template_prompts": lambda clip, i: no_template_prompt(record(clip, i)),
        "verb_only_prompts": lambda clip, i: verb_only_prompt(record(clip, i)),
        "natural_captions": lambda clip, i: natural_caption(clip, clip.events[i]),
        "role_values": lambda clip, i: ", ".join(value for _, value in event_args(clip, clip.events[i])),
    }


@torch.no_grad()
def text_geometry(model, tokenizer, world_dir: str, config: WorldConfig, batch_size: int = 256) -> dict[str, float]:
    """Web-caption R@1 (%) when a benchmark clip is represented by the mean embedding of one text per event, for
    each text form of `event_texts`."""

    def encode(texts: list[str]) -> torch.Tensor:
        chunks = []
        for start in range(0, len(texts), batch_size):
            encoded = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, return_tensors="pt")
            chunks.append(to_embedding_tensor(model.get_text_features(**encoded)))
        return F.normalize(torch.cat(chunks), dim=-1)

    clips = split_clips(config, "benchmark", config.num_benchmark_clips)
    path = os.path.join(world_dir, "benchmarks", "web_retrieval", "MSRVTT_JSFUSION_test.csv")
    with open(path, encoding="utf-8", newline="") as handle:
        queries = {row["video_id"]: row["sentence"] for row in csv.DictReader(handle)}
    queries = encode([queries[f"video{i}"] for i in range(len(clips))])
    results = {}
    for name, describe in event_texts(config).items():
        texts = [describe(clip, index) for clip in clips for index in range(len(clip.events))]
        clip_embeds = F.normalize(encode(texts).view(len(clips), len(clips[0].events), -1).mean(dim=1), dim=-1)
        hits = (queries @ clip_embeds.T).argmax(dim=1) == torch.arange(len(clips))
        results[name] = round(100.0 * hits.float().mean().item(), 2)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world_dir", default="outputs/toy_world")
    parser.add_argument("--base_dir", default="outputs/toy_world/base_clip")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for path in (os.path.join(args.world_dir, "world_manifest.json"), os.path.join(args.base_dir, "config.json")):
        if not os.path.isfile(path):
            sys.exit(f"error: {path} not found; build the world and base first (python recipes/train_figclip.py)")
    config = world_config(args.world_dir)
    tokenizer = AutoTokenizer.from_pretrained(args.base_dir)
    model = CLIPModel.from_pretrained(args.base_dir).eval()
    vocabulary = vocabulary_table(tokenizer, args.world_dir, config)
    unseen = [row for row in vocabulary if row[2] == 0]
    print("| prompt token | in train prompts | in web corpus |\n|---|---|---|")
    for token, in_prompts, in_web in vocabulary[: max(10, len(unseen))]:
        print(f"| {token} | {in_prompts} | {in_web} |")
    print(f"\n{len(unseen)} of {len(vocabulary)} prompt tokens never occur in the web corpus.\n")
    geometry = text_geometry(model, tokenizer, args.world_dir, config)
    print("| clip embedding = mean text embedding of its events' | web-caption R@1 (%) |\n|---|---|")
    for name, value in geometry.items():
        print(f"| {TEXT_FORMS[name]} | {value:.2f} |")
    return {"unseen_prompt_tokens": [row[0] for row in unseen], "num_prompt_tokens": len(vocabulary), "geometry": geometry}


if __name__ == "__main__":
    main()
