"""Cost of the bootstrap confidence intervals next to the evaluation they belong to, measured side by side.

For each benchmark, synthetic data is written at the official size in the official format (MSR-VTT 1k-A: 1,000
videos and 1,000 captions, a 1k x 1k similarity matrix; SugarCrepe: the 7 subsets at their published sizes, 7,512
items), then in the same process, per round:

- `evaluation`: `run_task` with the bootstrap switched off (read files, decode, encode, score);
- `bootstrap`: `add_confidence_intervals` on that result: 1,000 stratified resamples of its per-item tables, every
  metric (the same call `run_task` makes when the bootstrap is on).

The table reports medians over `--rounds`, after one untimed warm-up round (the first pass pays for thread pools,
allocator growth and cold files, which belong to neither side), in wall-clock seconds and in CPU seconds of this
process (all its threads); on a shared machine the CPU-time ratio is the steadier of the two. The default model is the tiny random CLIP of the tests (32-px images), so
the evaluation is about as cheap as it can be and the ratio is an upper bound for real checkpoints; `--model vitb32`
uses a random CLIP at ViT-B/32 size (224 px), and `--model PATH` any local checkpoint.

    python benchmarks/bench_bootstrap.py [--tasks msrvtt,sugarcrepe] [--rounds 3] [--model tiny] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import warnings

import numpy as np

# SugarCrepe's published subset sizes (the JSON files of RAIVNLab/sugar-crepe).
SUGARCREPE_SIZES = {
    "replace_obj": 1652, "replace_att": 788, "replace_rel": 1406, "swap_obj": 246, "swap_att": 666,
    "add_obj": 2062, "add_att": 692,
}
WORDS = ("man", "woman", "dog", "red", "blue", "street", "walks", "runs", "table", "small", "big", "green")


def _caption(rng: np.random.Generator, index: int) -> str:
    return " ".join(rng.choice(WORDS, 6)) + f" {index}"


def write_msrvtt(root: str, num_videos: int, num_frames: int = 12, size: int = 32) -> str:
    """`MSRVTT_JSFUSION_test.csv` with one caption per video and `videos/{video_id}.mp4`."""
    from dataset_scripts.benchmarks.video_io import write_test_video

    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(root, "videos"), exist_ok=True)
    lines = ["key,vid_key,video_id,sentence"]
    for i in range(num_videos):
        base = rng.integers(0, 200, (size, size, 3))
        frames = np.stack([np.clip(base + 3 * t, 0, 255).astype(np.uint8) for t in range(num_frames)])
        write_test_video(os.path.join(root, "videos", f"video{i}.mp4"), frames)
        lines.append(f"ret{i},msr{i},video{i},{_caption(rng, i)}")
    with open(os.path.join(root, "MSRVTT_JSFUSION_test.csv"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return root


def write_sugarcrepe(root: str, num_images: int = 1000, size: int = 64) -> str:
    """The 7 SugarCrepe JSON files at their published sizes over `num_images` COCO-named images."""
    from PIL import Image

    rng = np.random.default_rng(1)
    image_dir = os.path.join(root, "val2017")
    os.makedirs(image_dir, exist_ok=True)
    names = [f"{i:012d}.jpg" for i in range(1, num_images + 1)]
    for name in names:
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(os.path.join(image_dir, name))
    index = 0
    for subset, count in SUGARCREPE_SIZES.items():
        records = {}
        for key in range(count):
            caption = _caption(rng, index)
            records[str(key)] = {"filename": names[index % num_images], "caption": caption,
                                 "negative_caption": " ".join(reversed(caption.split()))}
            index += 1
        with open(os.path.join(root, f"{subset}.json"), "w", encoding="utf-8") as handle:
            json.dump(records, handle)
    return root


def save_model(path: str, kind: str) -> str:
    """A random CLIP (`tiny`: the tests' 32-px model; `vitb32`: ViT-B/32 sizes at 224 px) with its processor."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from modeling_figclip.testing_utils import tiny_clip_config, tiny_tokenizer

    tokenizer = tiny_tokenizer(WORDS)
    torch.manual_seed(0)
    if kind == "tiny":
        model, pixels = CLIPModel(tiny_clip_config(tokenizer)), 32
    else:
        text = dict(vocab_size=len(tokenizer), max_position_embeddings=tokenizer.model_max_length,
                    bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=tokenizer.pad_token_id)
        model, pixels = CLIPModel(CLIPConfig(text_config=text)), 224  # CLIPConfig's defaults are ViT-B/32
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": pixels}, crop_size={"height": pixels, "width": pixels}).save_pretrained(path)
    return path


def measure(task: str, data_dir: str, model: str, device: str, batch_size: int, num_workers: int, rounds: int,
            warmup: int = 1) -> dict:
    """Median seconds of the evaluation (bootstrap off) and of the bootstrap on its result, over `rounds` after
    `warmup` untimed rounds."""
    from modeling_figclip.evaluation import EvaluationArguments, load_encoder, run_task
    from modeling_figclip.evaluation.runner import add_confidence_intervals

    args = EvaluationArguments(model=model, task=task, data_dir=data_dir, device=device, batch_size=batch_size,
                               num_workers=num_workers, show_progress=False, bootstrap_resamples=0)
    encoder = load_encoder(model, args)
    times: dict[str, list[float]] = {name: [] for name in ("evaluation_s", "bootstrap_s", "evaluation_cpu_s",
                                                             "bootstrap_cpu_s")}
    for round_index in range(warmup + rounds):
        encoder.text_cache = None  # every round encodes its captions again
        wall, cpu = time.perf_counter(), time.process_time()
        result = run_task(task, encoder, args, model)
        middle_wall, middle_cpu = time.perf_counter(), time.process_time()
        add_confidence_intervals(result, EvaluationArguments(bootstrap_resamples=1000))
        if round_index >= warmup:
            times["evaluation_s"].append(middle_wall - wall)
            times["evaluation_cpu_s"].append(middle_cpu - cpu)
            times["bootstrap_s"].append(time.perf_counter() - middle_wall)
            times["bootstrap_cpu_s"].append(time.process_time() - middle_cpu)
    return {
        "task": task,
        "items": result.num_items,
        "metrics": len(result.confidence_intervals),
        **{name: statistics.median(values) for name, values in times.items()},
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="msrvtt,sugarcrepe")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds before the timed ones")
    parser.add_argument("--model", default="tiny", help="tiny, vitb32 (random weights) or a checkpoint path")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--num_workers", type=int, default=0)
    parser.add_argument("--msrvtt_videos", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--work_dir", default=None, help="where the synthetic data is written (default: a temp dir)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="bench_bootstrap_")
    model = args.model
    if model in ("tiny", "vitb32"):
        model = save_model(os.path.join(work_dir, f"model_{model}"), model)
    writers = {"msrvtt": lambda d: write_msrvtt(d, args.msrvtt_videos), "sugarcrepe": write_sugarcrepe}
    rows = []
    for task in [t.strip() for t in args.tasks.split(",") if t.strip()]:
        data_dir = os.path.join(work_dir, task)
        if not os.path.isdir(data_dir):
            writers[task](data_dir)
        rows.append(measure(task, data_dir, model, args.device, args.batch_size, args.num_workers, args.rounds,
                            args.warmup))
    print(f"\nmodel {args.model}, device {args.device}, torch threads {torch.get_num_threads()}, "
          f"median of {args.rounds} rounds after {args.warmup} warm-up, 1000 resamples\n")
    print("| task | items | metrics | evaluation: wall / CPU (s) | bootstrap: wall / CPU (s) | bootstrap / evaluation: "
          "wall, CPU |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['task']} | {row['items']} | {row['metrics']} | {row['evaluation_s']:.2f} / "
              f"{row['evaluation_cpu_s']:.2f} | {row['bootstrap_s']:.3f} / {row['bootstrap_cpu_s']:.3f} | "
              f"{100 * row['bootstrap_s'] / row['evaluation_s']:.1f} %, "
              f"{100 * row['bootstrap_cpu_s'] / row['evaluation_cpu_s']:.1f} % |")
    return rows


if __name__ == "__main__":
    main()
