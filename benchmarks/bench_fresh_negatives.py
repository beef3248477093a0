"""What drawing fresh verb-role negatives every epoch costs, at VidSitu's size, side by side in one run.

A synthetic release with VidSitu's training size (~23.6k clips x 5 events) and a VidSitu-sized verb vocabulary
(~1.3k lemmas, ~1.56k senses, PropBank-style frames) is prepared once. Then, epoch by epoch:

- **draw**: `EpochNegatives` redraws all 4 x 118k negatives (CPU, one process) — the cost the paper's "randomly
  replaces" adds to every epoch;
- **new texts**: how many of the epoch's prompts and negatives a warm text-embedding cache has not seen yet (the
  trainer's ``epoch_text_cache_hit_rate``);
- **text tower**: the frozen text tower's time for those new texts and for all of the epoch's texts (the cost of an
  epoch without a cache), from the measured throughput of a ViT-B/32-size CLIP text tower (random weights) on this
  machine at the cache's shape (256 strings x 77 tokens).

With ``fixed`` negatives a warm cache embeds nothing new after epoch 0, so *draw + new-text embedding* is the
per-epoch cost of fresh negatives; ``--pool-sizes`` compares the paper's unrestricted draw (0) with per-event pools
(``negative_pool_size``), whose strings a warm cache holds after the first epochs.

    python benchmarks/bench_fresh_negatives.py [--num-train 23600] [--epochs 3] [--tower-batches 2]

Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets  # noqa: E402
import torch  # noqa: E402

from dataset_scripts.vidsitu import EpochNegatives, NegativeSampler, prepare_vidsitu, write_release  # noqa: E402
from dataset_scripts.vidsitu.synthetic import make_synthetic_annotations  # noqa: E402


def vidsitu_sized_verbs(num_lemmas: int, num_senses: int, seed: int = 0) -> list[tuple[str, str, tuple[str, ...]]]:
    """A PropBank-style vocabulary of VidSitu's size: ``num_lemmas`` lemmas, ``num_senses`` senses in all, each sense
    describing Arg0..Arg4 subsets with its own descriptions (the shape `make_synthetic_annotations` takes)."""
    rng = random.Random(seed)
    senses_per_lemma = [1] * num_lemmas
    for _ in range(num_senses - num_lemmas):
        senses_per_lemma[rng.randrange(num_lemmas)] += 1
    verbs = []
    for lemma_index, count in enumerate(senses_per_lemma):
        lemma = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8))) + f"{lemma_index}"
        for sense in range(1, count + 1):
            numbered = ["Arg0"] + [f"Arg{k}" for k in range(1, 5) if rng.random() < (0.8, 0.4, 0.15, 0.05)[k - 1]]
            keys = tuple(f"{arg} ({lemma}er role {arg[-1]})" for arg in numbered)
            verbs.append((f"{lemma}.{sense:02d}", f"{lemma} (gloss {sense})", keys))
    return verbs


def text_tower_rate(batches: int) -> float:
    """Strings per second of a ViT-B/32-size CLIP text tower (random weights) at the cache's call shape."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    model = CLIPTextModelWithProjection(CLIPTextConfig()).eval()  # 12 layers, width 512, 77 positions
    ids = torch.randint(0, 49000, (256, 77))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        model(input_ids=ids[:8], attention_mask=mask[:8])  # warm-up
        start = time.perf_counter()
        for _ in range(batches):
            model(input_ids=ids, attention_mask=mask)
    return 256 * batches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-train", type=int, default=23600)
    parser.add_argument("--num-lemmas", type=int, default=1300)
    parser.add_argument("--num-senses", type=int, default=1560)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pool-sizes", type=lambda text: [int(x) for x in text.split(",")], default=[0, 16],
                        help="negative_pool_size values to compare (0: the paper's unrestricted draw)")
    parser.add_argument("--tower-batches", type=int, default=2, help="256-string batches timed on the text tower")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for the text tower (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    datasets.disable_progress_bars()

    work = tempfile.mkdtemp(prefix="bench_fresh_negatives_")
    try:
        verbs = vidsitu_sized_verbs(args.num_lemmas, args.num_senses)
        records = make_synthetic_annotations(num_train=args.num_train, num_valid=0, num_test=0, seed=0, verbs=verbs)
        root = write_release(os.path.join(work, "release"), **records).root
        start = time.perf_counter()
        prepared = prepare_vidsitu(root, "train", num_negatives=4, cache_dir=os.path.join(work, "cache"))
        prepare_s = time.perf_counter() - start
        rows = prepared.dataset.to_dict()  # plain lists: the timing below is the draw, not Arrow decoding
        batch = {"clip_id": rows["clip_id"], "events": rows["events"]}
        lexicon = prepared.negative_sampler.lexicon
        prompts = [event["prompt"] for clip in rows["events"] for event in clip]

        sampler = prepared.negative_sampler
        epochs = []
        for pool_size in args.pool_sizes:
            resampler = EpochNegatives(
                NegativeSampler(lexicon, sampler.num_negatives, sampler.seed, sampler.prompt_style, pool_size)
            )
            seen: set[str] = set(prompts)  # a warm cache already holds every prompt
            for epoch in range(args.epochs):
                resampler.set_epoch(epoch)
                start = time.perf_counter()
                drawn = resampler(batch)
                draw_s = time.perf_counter() - start
                negatives = [n for clip in drawn["events"] for event in clip for n in event["negative_prompts"]]
                new = {n for n in negatives if n not in seen}
                seen |= new
                epochs.append({"pool": pool_size, "epoch": epoch, "draw_s": draw_s,
                               "texts": len(prompts) + len(negatives), "new": len(new)})
        fixed_new = len({n for clip in rows["events"] for event in clip for n in event["negative_prompts"]})
        rate = text_tower_rate(args.tower_batches)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"Fresh negatives at VidSitu's size: {args.num_train:,} clips, {len(prompts):,} events, "
          f"{lexicon.num_lemmas:,} lemmas / {len(lexicon):,} senses; prepare (fixed draw) {prepare_s:.1f} s")
    print(f"ViT-B/32-size text tower on this machine: {rate:,.0f} strings/s (256 x 77 tokens per call, "
          f"{torch.get_num_threads()} threads)")
    print()
    print("| negatives | epoch | draw (CPU) | texts in the epoch | new to the cache | cache hit rate | tower: new texts | "
          "tower: whole epoch (no cache) | draw / whole epoch | (draw + new) / whole epoch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in epochs:
        whole = row["texts"] / rate
        new_s = row["new"] / rate
        label = "per_epoch, no pool (paper)" if row["pool"] == 0 else f"per_epoch, pool {row['pool']}"
        print(f"| {label} | {row['epoch']} | {row['draw_s']:.2f} s | {row['texts']:,} | {row['new']:,} | "
              f"{100 * (1 - row['new'] / row['texts']):.1f} % | {new_s:,.0f} s | {whole:,.0f} s | "
              f"{100 * row['draw_s'] / whole:.2f} % | {100 * (row['draw_s'] + new_s) / whole:.1f} % |")
    print(f"| fixed | any after the first | 0 s | {epochs[0]['texts']:,} | 0 | 100.0 % | 0 s | "
          f"{epochs[0]['texts'] / rate:,.0f} s | 0 % | 0 % (epoch 0 embeds {fixed_new:,} negatives once) |")


if __name__ == "__main__":
    main()
