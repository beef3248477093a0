#!/usr/bin/env python
"""Why does verb replacement not improve in the toy world? Three measurements on a built world, base and adapter.

    python recipes/toy/diagnose_verbs.py [--world_dir outputs/toy_world] [--base_dir outputs/toy_world/base_clip]
                                         [--adapter_dir outputs/figclip-toy-world]

1. **Text side**: cosine similarity, under the frozen text tower, between each benchmark event's SRL prompt and its
   verb-role swap (the ``verb_replace`` negative) — and, for comparison, its role swap. The closer to 1, the smaller
   the difference an image embedding must resolve.
2. **Fit**: ``verb_replace`` accuracy (%, SRL phrasing, per verb) on the *training* clips — items built exactly like
   the benchmark's, from the frames FiGCLIP adapted on — and on the benchmark clips. An adapter that cannot separate
   the verbs of its own training clips has not learnt them.
3. **Readout**: how well the verb (of 11) can be read out of a single benchmark frame by a linear classifier
   (trained on the training clips' frames, tested on the benchmark's), from the pixels and from each model's
   image embeddings. This bounds, roughly, what the image side offers the loss.

Prints each as a table; reads only files the world, base and FiGCLIP recipes write.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from dataset_scripts.toy_world import WorldConfig
from dataset_scripts.toy_world.benchmarks import benchmark_frame_indices, verb_replace_items
from dataset_scripts.toy_world.grammar import VERBS, ClipSpec
from dataset_scripts.toy_world.render import render_clip
from dataset_scripts.toy_world.text import role_swapped_srl_prompt, world_srl_prompt
from dataset_scripts.toy_world.world import load_manifest, split_clips
from modeling_figclip.evaluation.encoders import ClipEncoder
from modeling_figclip.evaluation.metrics import preference_correct
from modeling_figclip.loading import load_model_for_inference

VERB_IDS = sorted(VERBS)
PROBE_STEPS, PROBE_LR, PROBE_WEIGHT_DECAY = 300, 1e-3, 1e-3


def _frames(clips: list[ClipSpec]) -> np.ndarray:
    """The benchmark frame of every event, ``(clips × events, 64, 64, 3)``, rendered exactly as the benchmark's PNGs."""
    return np.concatenate([render_clip(clip, benchmark_frame_indices(len(clip.events))) for clip in clips])


def _verb_labels(clips: list[ClipSpec]) -> torch.Tensor:
    return torch.tensor([VERB_IDS.index(event.verb_id) for clip in clips for event in clip.events])


def _image_embeddings(encoder: ClipEncoder, frames: np.ndarray) -> torch.Tensor:
    return encoder.encode_images(list(range(len(frames))), lambda index: frames[index], desc="frames").embeddings


def text_similarity(encoder: ClipEncoder, clips: list[ClipSpec], seed: int) -> dict[str, float]:
    """Mean and minimum cosine between each event's prompt and its verb-role swap / role swap."""
    items = list(verb_replace_items(clips, seed)[0].values())
    pairs = {"verb-role swap": [(item["caption"], item["negative_caption"]) for item in items]}
    pairs["role swap"] = [(world_srl_prompt(clip, event), role_swapped_srl_prompt(clip, event))
                          for clip in clips for event in clip.events if len(event.participants) == 2]
    result = {}
    for name, texts in pairs.items():
        table = encoder.encode_texts([text for pair in texts for text in pair])
        cosine = (table.lookup([a for a, _ in texts]) * table.lookup([b for _, b in texts])).sum(dim=-1)
        result[f"{name} mean"] = round(cosine.mean().item(), 4)
        result[f"{name} min"] = round(cosine.min().item(), 4)
    return result


def verb_replace_fit(encoder: ClipEncoder, clips: list[ClipSpec], images: torch.Tensor, seed: int) -> dict[str, float]:
    """``verb_replace`` accuracy (%) over all items and per true verb, on `clips`; `images` are the embeddings of
    their benchmark frames (`_image_embeddings` of `_frames(clips)`, one row per event).

    `seed` draws the replacement verbs; with the world seed and the benchmark clips these are exactly the
    benchmark's items (`write_benchmark_files` passes the world seed too).
    """
    items = list(verb_replace_items(clips, seed)[0].values())  # one item per event, in the rows' order
    table = encoder.encode_texts([text for item in items for text in (item["caption"], item["negative_caption"])])
    true = (images * table.lookup([item["caption"] for item in items])).sum(dim=-1)
    false = (images * table.lookup([item["negative_caption"] for item in items])).sum(dim=-1)
    # The evaluator's rule (`preference_correct`, default tie rule), so this reproduces the benchmark's number.
    correct = torch.as_tensor(preference_correct(true, false))
    per_verb = collections.defaultdict(list)
    for item, hit in zip(items, correct.tolist()):
        per_verb[item["verb_id"]].append(hit)
    result = {"all": round(100.0 * correct.mean().item(), 2)}
    result.update({verb: round(100.0 * float(np.mean(hits)), 1) for verb, hits in sorted(per_verb.items())})
    return result


def linear_readout(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor, test_labels: torch.Tensor,
                   seed: int = 0) -> tuple[float, float]:
    """Train/test accuracy (%) of a softmax classifier on standardised features (full-batch Adam, fixed steps).

    Written out rather than taken from scikit-learn, which is not a dependency; a few hundred full-batch steps on a
    few thousand rows is all this needs.
    """
    generator = torch.Generator().manual_seed(seed)
    mean, std = train.mean(dim=0), train.std(dim=0) + 1e-5
    train, test = (train - mean) / std, (test - mean) / std
    weight = (0.01 * torch.randn(train.shape[1], len(VERB_IDS), generator=generator)).requires_grad_()
    bias = torch.zeros(len(VERB_IDS), requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=PROBE_LR)
    for _ in range(PROBE_STEPS):
        optimizer.zero_grad()
        loss = F.cross_entropy(train @ weight + bias, train_labels) + PROBE_WEIGHT_DECAY * weight.square().sum()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = [100.0 * ((x @ weight + bias).argmax(dim=1) == y).float().mean().item()
                    for x, y in ((train, train_labels), (test, test_labels))]
    return round(accuracy[0], 1), round(accuracy[1], 1)


def _encoder(path: str) -> ClipEncoder:
    loaded = load_model_for_inference(path)
    return ClipEncoder(loaded.model, loaded.tokenizer, loaded.image_processor, batch_size=256, show_progress=False)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world_dir", default="outputs/toy_world")
    parser.add_argument("--base_dir", default="outputs/toy_world/base_clip")
    parser.add_argument("--adapter_dir", default="outputs/figclip-toy-world",
                        help="A FiGCLIP adapter of this base; skipped (with a note) when the folder does not exist.")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    manifest = load_manifest(args.world_dir)
    if manifest is None or not os.path.isfile(os.path.join(args.base_dir, "config.json")):
        sys.exit(f"error: no world in {args.world_dir} or no base CLIP in {args.base_dir}; "
                 "build them first (python recipes/train_figclip.py)")
    config = WorldConfig(**manifest["config"])
    models = {"base CLIP": _encoder(args.base_dir)}
    if os.path.isdir(args.adapter_dir):
        models["FiGCLIP"] = _encoder(args.adapter_dir)
    else:
        print(f"(no adapter in {args.adapter_dir}: base CLIP only)\n")
    splits = {"train": split_clips(config, "train", config.num_train_clips),
              "benchmark": split_clips(config, "benchmark", config.num_benchmark_clips)}
    frames = {split: _frames(clips) for split, clips in splits.items()}
    labels = {split: _verb_labels(clips) for split, clips in splits.items()}

    similarity = text_similarity(models["base CLIP"], splits["benchmark"], config.seed)
    print("| frozen text tower: cos(prompt, negative) | mean | min |\n|---|---|---|")
    for name in ("verb-role swap", "role swap"):
        print(f"| {name} | {similarity[f'{name} mean']:.4f} | {similarity[f'{name} min']:.4f} |")

    # Each model embeds each split's frames once; the fit and the readout below both use these.
    images = {(model, split): _image_embeddings(encoder, frames[split]) for model, encoder in models.items()
              for split in splits}
    fit = {f"{model} / {split}": verb_replace_fit(encoder, splits[split], images[model, split], config.seed)
           for model, encoder in models.items() for split in splits}
    verbs = [verb for verb in VERB_IDS if verb in next(iter(fit.values()))]
    print("\n| verb_replace (%) | all | " + " | ".join(v.split(".")[0] for v in verbs) + " |")
    print("|---" * (len(verbs) + 2) + "|")
    for name, row in fit.items():
        print(f"| {name} | {row['all']:.2f} | " + " | ".join(f"{row[v]:.0f}" for v in verbs) + " |")

    features = {"pixels": {split: torch.from_numpy(frames[split].reshape(len(frames[split]), -1)).float() / 255.0
                           for split in splits}}
    for model in models:
        features[f"{model} image embedding"] = {split: images[model, split] for split in splits}
    readout = {name: linear_readout(f["train"], labels["train"], f["benchmark"], labels["benchmark"])
               for name, f in features.items()}
    majority = 100.0 * torch.bincount(labels["benchmark"]).max().item() / len(labels["benchmark"])
    print(f"\n| linear verb readout from one frame (11 verbs; majority class {majority:.1f} %) | train | test |")
    print("|---|---|---|")
    for name, (train_accuracy, test_accuracy) in readout.items():
        print(f"| {name} | {train_accuracy:.1f} | {test_accuracy:.1f} |")
    return {"text_similarity": similarity, "verb_replace_fit": fit, "linear_readout": readout,
            "majority_class": round(majority, 1)}


if __name__ == "__main__":
    main()
