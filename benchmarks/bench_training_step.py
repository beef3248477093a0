"""Training-step cost of FiGCLIP at ViT-B/32 size (random weights, CPU), side by side in one run.

Configurations, all on the same frames (videos × 5 events × 4 frames at 224², LoRA r=64 on the vision q/k/v):

- `clip_lora`: plain CLIP-LoRA contrastive step — mean-pooled event embedding vs its prompt, CLIP's symmetric loss,
  cached prompt embeddings (the baseline FiGCLIP's overhead is measured against).
- `figclip_cached`: the FiGCLIP step — contextualiser, four losses, 4 verb-role negatives per event, text-embedding
  cache (what `recipes/train_figclip.py` runs).
- `figclip_uncached`: the same FiGCLIP step encoding prompts and negatives with the frozen text tower every step.

Each configuration runs in its own subprocess (so peak RSS is its own); the order is interleaved over `--rounds`
to spread machine drift over all of them, and the table reports medians.

    python benchmarks/bench_training_step.py [--videos 2] [--steps 4] [--rounds 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings

CONFIGS = ("clip_lora", "figclip_cached", "figclip_uncached")


def _prompts(videos: int, negatives: int) -> tuple[list[list[str]], list[list[list[str]]]]:
    base = "in this photo, the action is {verb} where, the {agent} is man with short hair wearing collared shirt, " \
           "the {patient} is red ball near the door, manner is slowly, and scene of the event is apartment."
    verbs = [("walk", "walker", "thing walked"), ("jog", "jogger", "thing jogged"), ("push", "pusher", "thing pushed"),
             ("pull", "puller", "thing pulled"), ("kick", "kicker", "thing kicked"), ("throw", "thrower", "thing thrown")]
    prompts, negative_prompts = [], []
    for v in range(videos):
        clip_prompts, clip_negatives = [], []
        for e in range(5):
            verb, agent, patient = verbs[(v + e) % len(verbs)]
            clip_prompts.append(base.format(verb=verb, agent=agent, patient=patient) + f" (video {v}, event {e})")
            clip_negatives.append([
                base.format(verb=o[0], agent=o[1], patient=o[2]) + f" (video {v}, event {e})"
                for o in verbs if o[0] != verb
            ][:negatives])
        prompts.append(clip_prompts)
        negative_prompts.append(clip_negatives)
    return prompts, negative_prompts


def run_single(config: str, videos: int, steps: int, threads: int) -> dict:
    """Time `steps` optimizer steps of one configuration (after 2 warm-up steps) in this process."""
    warnings.filterwarnings("ignore")
    import torch
    import torch.nn.functional as F
    from transformers import CLIPImageProcessor

    from modeling_figclip import FigClipConfig, FigClipModel, FigClipProcessor, add_figclip_adapters
    from modeling_figclip.testing_utils import tiny_tokenizer
    from modeling_figclip.training.text_cache import TextEmbeddingCache, cached_text_inputs

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tokenizer = tiny_tokenizer(extra_words=tuple(
        "collared ball near door push pusher pushed pull puller pulled kick kicker kicked throw thrower thrown walked "
        "jogged video".split()))
    # ViT-B/32 shapes (CLIPConfig defaults); the vocabulary is ours, which changes only the embedding table size.
    config_kwargs = dict(text_config={"vocab_size": len(tokenizer), "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1})
    if config == "clip_lora":
        config_kwargs.update(use_contextualizer=False, use_clip_video_loss=False)
    model = add_figclip_adapters(FigClipModel(FigClipConfig(**config_kwargs)), r=64)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    prompts, negatives = _prompts(videos, 4)
    pixels = torch.randn(videos, 5, 4, 3, 224, 224)
    cache = TextEmbeddingCache(tokenizer)
    processor = FigClipProcessor(image_processor=CLIPImageProcessor(), tokenizer=tokenizer)
    base = model.get_base_model()

    def step() -> None:
        if config == "clip_lora":
            inputs = cached_text_inputs(cache, base, prompts, None, 0)
            video = model.get_video_features(pixels, use_contextualizer=False)
            logits = base.logit_scale.exp() * video.clip_event_embeds.flatten(0, 1) @ inputs["text_embeds"].flatten(0, 1).t()
            targets = torch.arange(logits.shape[0])
            loss = (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)) / 2
        elif config == "figclip_cached":
            loss = model(pixel_values_videos=pixels, **cached_text_inputs(cache, base, prompts, negatives, 4)).loss
        else:
            text = processor(text=prompts, negative_text=negatives, num_negatives=4)
            loss = model(pixel_values_videos=pixels, **{k: v for k, v in text.items() if k != "event_mask"}).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    for _ in range(2):  # warm-up; also fills the text cache, as the first epoch of a real run does
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"config": config, "times": times, "peak_rss_mib": peak_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--single", choices=CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        print(json.dumps(run_single(args.single, args.videos, args.steps, args.threads)))
        return

    results: dict[str, dict] = {c: {"times": [], "peak_rss_mib": 0.0} for c in CONFIGS}
    for round_index in range(args.rounds):
        order = CONFIGS if round_index % 2 == 0 else tuple(reversed(CONFIGS))
        for config in order:
            out = subprocess.run(
                [sys.executable, __file__, "--single", config, "--videos", str(args.videos), "--steps", str(args.steps),
                 "--threads", str(args.threads)],
                check=True, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
            )
            record = json.loads(out.stdout.strip().splitlines()[-1])
            results[config]["times"] += record["times"]
            results[config]["peak_rss_mib"] = max(results[config]["peak_rss_mib"], record["peak_rss_mib"])

    median = {c: statistics.median(r["times"]) for c, r in results.items()}
    frames = args.videos * 20
    print(f"ViT-B/32 (random init), CPU, {args.threads} threads, {args.videos} videos × 5 events × 4 frames = {frames} "
          f"frames at 224², LoRA r=64 (vision q/k/v); median of {args.steps} steps × {args.rounds} rounds\n")
    print("| configuration | step time (s) | vs clip_lora | peak RSS (MiB) |")
    print("|---|---|---|---|")
    for config in CONFIGS:
        print(f"| {config} | {median[config]:.3f} | {median[config] / median['clip_lora']:.3f}× | "
              f"{results[config]['peak_rss_mib']:.0f} |")
    print(f"\nFiGCLIP overhead over plain CLIP-LoRA: {median['figclip_cached'] / median['clip_lora']:.3f}× (goal ≤ 1.10×)")
    print(f"Text-embedding cache speed-up: {median['figclip_uncached'] / median['figclip_cached']:.3f}× (goal ≥ 1.5×)")


if __name__ == "__main__":
    main()
