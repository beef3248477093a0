"""Training throughput of FiGCLIP fed from the frame cache: frames/s, input wait vs compute, peak memory, MFU.

For each run (a backbone plus options), the paper's step — random-init ViT-B/32, B/16 or L/14, a batch of 20 videos
x 5 events x 4 frames, LoRA r=64 on the vision q/k/v + the Video Contextualizer, the four losses with 4 cached
verb-role negatives per event, bf16 autocast, SDPA attention, fused AdamW — is fed by a `torch.utils.data.DataLoader`
over a frame cache (`FrameCacheLoader`, seeded jitter), exactly as ``--frame_cache`` feeds the trainer. Reported:

- training frames/s (frames of the batch / mean step time) and the step split into *input wait* (blocked on the
  dataloader, host-to-device copy, and GPU JPEG decoding with ``gpu_decode``) and *compute* (forward, backward,
  optimizer step; the device is synchronised at both ends of each part);
- peak device memory (CUDA) or peak RSS (CPU);
- MFU = model FLOPs per step (counted once with `torch.utils.flop_counter.FlopCounterMode` on an eager step without
  checkpointing: forward + the backward the frozen backbone really needs) / step time / the device's dense bf16 peak;
- the input pipeline alone (the same dataloader, no model): the frames/s the CPU side can deliver.

Run options (``--runs``, comma-separated ``backbone[:option+option]``): ``compile`` (``torch.compile`` of the vision
tower), ``ckpt`` (gradient checkpointing of the vision tower), ``gpu_decode`` (workers hand over JPEG bytes; nvJPEG
decodes and normalises on the device), ``fp32`` (no autocast), and the retention options (not in the paper):
``distill`` (feature distillation, β = 1: every step also embeds the batch's frames with the adapters disabled,
without gradient) and ``replay`` (γ = 0.5: `batch` generic image–caption pairs per step through both towers — synthetic
pixels and 77-token captions already on the device, so the row prices the compute, not the loading of the pairs).
The default list is the whole GPU table in one go (a few minutes on an H100/H200, most of it compiling)::

    python benchmarks/bench_gpu_training.py                          # builds a synthetic cache, runs the table
    python benchmarks/bench_gpu_training.py --frame_cache /data/vidsitu/frame_cache --runs b32,b32:gpu_decode
    python benchmarks/bench_gpu_training.py --tiny                   # CPU, tiny sizes: checks that it all works

Without a GPU the same code runs on the CPU (``--tiny`` shrinks everything so a test can run it in seconds).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

#: Vision towers of the paper's backbones (OpenAI CLIP shapes) and their text towers (frozen; not run — prompt and
#: negative embeddings come from the text-embedding cache — but resident in memory as in a real run).
BACKBONES = {
    "b32": dict(vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                            patch_size=32, image_size=224),
                text=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8),
                projection_dim=512),
    "b16": dict(vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                            patch_size=16, image_size=224),
                text=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8),
                projection_dim=512),
    "l14": dict(vision=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                            patch_size=14, image_size=224),
                text=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12),
                projection_dim=768),
    "tiny": dict(vision=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                             patch_size=8, image_size=32),
                 text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4),
                 projection_dim=32),
}  # fmt: skip
OPTIONS = ("compile", "ckpt", "gpu_decode", "fp32", "distill", "replay")
DEFAULT_RUNS = ("b32,b32:distill,b32:distill+replay,b32:gpu_decode,b32:compile,b32:compile+gpu_decode,b16,b16:compile,"
                "l14,l14:ckpt")
#: Dense bf16 tensor-core peaks (TFLOP/s) by device name, most specific first.
PEAK_BF16_TFLOPS = (("H100 PCIe", 756.0), ("H100", 989.4), ("H200", 989.4), ("H800", 989.4), ("A100", 312.0),
                    ("L40S", 362.1), ("L4", 121.0), ("A10G", 70.0), ("A10", 125.0))  # fmt: skip
NUM_NEGATIVES = 4


@dataclass
class RunResult:
    run: str
    frames_per_step: int
    steps: int
    step_ms: float
    input_ms: float
    compute_ms: float
    frames_per_s: float
    peak_memory_gib: float
    tflop_per_step: float
    mfu: float | None
    warmup_s: float


def parse_run(spec: str) -> tuple[str, set[str]]:
    backbone, _, options = spec.partition(":")
    chosen = {option for option in options.split("+") if option}
    if backbone not in BACKBONES or not chosen <= set(OPTIONS):
        raise SystemExit(f"bad run {spec!r}: backbone in {sorted(BACKBONES)}, options in {OPTIONS}")
    return backbone, chosen


def peak_tflops(device: torch.device, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_BF16_TFLOPS if key in name), None)


# ------------------------------------------------------------------------------------------------------- data
def make_frame_cache(work: str, clips: int, size: int, num_proc: int) -> str:
    """A synthetic cache: textured H.264 clips (as the real release), built with the shipped builder."""
    from bench_vidsitu import OFFICIAL_X264, textured_frames

    from dataset_scripts.vidsitu import write_synthetic_release
    from dataset_scripts.vidsitu.frame_cache import build_frame_cache, load_image_processor

    source = (max(64, size * 8 // 7) // 2 * 2, max(96, size * 2) // 2 * 2)  # a little larger than the crop
    release = write_synthetic_release(os.path.join(work, "release"), num_train=clips, num_valid=0, num_test=0,
                                      seed=0, video="mp4", size=source, frames_fn=textured_frames,
                                      codec_options=OFFICIAL_X264)  # fmt: skip
    cache_dir = os.path.join(work, "frame_cache")
    build_frame_cache(cache_dir, release.split_ids["train"], video_dir=release.video_dir,
                      processor=load_image_processor(size=size), num_proc=num_proc, progress=False)  # fmt: skip
    return cache_dir


def make_loader(cache_dir: str, batch: int, gpu_decode: bool, args) -> torch.utils.data.DataLoader:
    import datasets

    from dataset_scripts.vidsitu.frame_cache import FrameCache, FrameCacheLoader

    cache = FrameCache(cache_dir)
    settings = cache.settings
    transform = FrameCacheLoader(cache, jitter=True, seed=0, image_mean=settings.image_mean,
                                 image_std=settings.image_std, decode=not gpu_decode)  # fmt: skip
    clip_ids = sorted(cache.index)
    # Enough rows for a few epochs of batches without the sampler running dry (repeats of the cached clips).
    repeats = max(1, (batch * (args.steps + args.warmup + 2)) // len(clip_ids) + 1)
    rows = datasets.Dataset.from_dict({"clip_id": clip_ids * repeats}).with_transform(transform)

    def collate(items):
        masks = torch.stack([item["event_mask"] for item in items])
        if gpu_decode:
            return {"jpeg_frames": [item["jpeg_frames"] for item in items], "event_mask": masks}
        pixels = torch.stack([item["pixel_values_videos"] for item in items])
        return {"pixel_values_videos": pixels, "event_mask": masks}

    workers = args.num_workers
    return torch.utils.data.DataLoader(
        rows, batch_size=batch, shuffle=True, drop_last=True, collate_fn=collate, num_workers=workers,
        pin_memory=args.device.type == "cuda" and not gpu_decode, persistent_workers=workers > 0,
        prefetch_factor=args.prefetch_factor if workers > 0 else None,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip


def forever(loader):
    while True:
        yield from loader


# ------------------------------------------------------------------------------------------------------- model
def build_model(backbone: str, args, options: set[str]):
    from modeling_figclip import FigClipConfig, FigClipModel, add_figclip_adapters

    shapes = BACKBONES[backbone]
    config = FigClipConfig(
        text_config={**shapes["text"], "vocab_size": 49408, "max_position_embeddings": 77, "bos_token_id": 49406,
                     "eos_token_id": 49407, "pad_token_id": 49407},
        vision_config=shapes["vision"], projection_dim=shapes["projection_dim"], num_hard_negatives=NUM_NEGATIVES,
        distillation_weight=1.0 if "distill" in options else 0.0, replay_loss_weight=0.5 if "replay" in options else 0.0,
    )  # fmt: skip
    with args.device:  # initialise on the device: seconds instead of minutes for L/14
        model = FigClipModel._from_config(config, attn_implementation=args.attention)
    model = add_figclip_adapters(model, r=args.lora_r).to(args.device)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    try:
        optimizer = torch.optim.AdamW(trainable, lr=1e-6, betas=(0.9, 0.98), eps=1e-6, fused=True)
    except (RuntimeError, ValueError) as error:  # fused needs a device/dtype it supports
        warnings.warn(f"fused AdamW unavailable ({error}); using foreach")
        optimizer = torch.optim.AdamW(trainable, lr=1e-6, betas=(0.9, 0.98), eps=1e-6, foreach=True)
    return model, optimizer


def text_inputs(batch: int, dim: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Cached-embedding text inputs (what `cached_text_inputs` gives the model): unit vectors, distinct keys."""
    generator = torch.Generator().manual_seed(1)
    prompts = torch.nn.functional.normalize(torch.randn(batch, 5, dim, generator=generator), dim=-1)
    negatives = torch.nn.functional.normalize(torch.randn(batch, 5, NUM_NEGATIVES, dim, generator=generator), dim=-1)
    keys = torch.arange(batch * 5 * (1 + NUM_NEGATIVES))
    return {
        "text_embeds": prompts.to(device), "text_keys": keys[: batch * 5].view(batch, 5).to(device),
        "negative_text_embeds": negatives.to(device),
        "negative_text_keys": keys[batch * 5 :].view(batch, 5, NUM_NEGATIVES).to(device),
        "negative_mask": torch.ones(batch, 5, NUM_NEGATIVES, dtype=torch.bool, device=device),
    }  # fmt: skip


def replay_inputs(batch: int, image_size: int, device: torch.device) -> dict[str, torch.Tensor]:
    """`batch` generic pairs as the trainer feeds them: pixels and captions padded to 77 tokens (ending in EOS)."""
    generator = torch.Generator().manual_seed(2)
    ids = torch.randint(0, 49406, (batch, 77), generator=generator)
    ids[:, -1] = 49407
    return {"replay_pixel_values": torch.randn(batch, 3, image_size, image_size, generator=generator).to(device),
            "replay_input_ids": ids.to(device), "replay_attention_mask": torch.ones_like(ids).to(device)}


def train_step(model, optimizer, pixels, event_mask, text, amp: bool, device: torch.device) -> None:
    from modeling_figclip import base_frame_embeddings

    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        extra = {}
        if model.get_base_model().config.distillation_weight > 0:  # the trainer's distillation target, every step
            extra["base_frame_embeds"] = base_frame_embeddings(model, pixels, event_mask=event_mask)
        out = model(pixel_values_videos=pixels, event_mask=event_mask, **text, **extra)
    out.loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def count_flops(model, optimizer, pixels, event_mask, text, amp, device) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        train_step(model, optimizer, pixels, event_mask, text, amp, device)
    return float(counter.get_total_flops())


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------------------------------------------- runs
def run_one(spec: str, cache_dir: str, args) -> RunResult:
    from dataset_scripts.vidsitu.frame_cache import FrameCache, JpegDecoder, Normalizer, decode_on_device

    backbone, options = parse_run(spec)
    device = args.device
    amp = "fp32" not in options and (device.type == "cuda" or args.amp_on_cpu)
    gpu_decode = "gpu_decode" in options
    settings = FrameCache(cache_dir).settings
    if settings.crop_size[0] != BACKBONES[backbone]["vision"]["image_size"]:
        wanted = BACKBONES[backbone]["vision"]["image_size"]
        raise SystemExit(f"cache frames are {settings.crop_size}, {backbone} wants {wanted}")
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    model, optimizer = build_model(backbone, args, options)
    text = text_inputs(args.batch, BACKBONES[backbone]["projection_dim"], device)
    if "replay" in options:
        text.update(replay_inputs(args.batch, BACKBONES[backbone]["vision"]["image_size"], device))
    decoder = JpegDecoder(device) if gpu_decode else None
    normalizer = Normalizer(settings.image_mean, settings.image_std) if gpu_decode else None
    batches = forever(make_loader(cache_dir, args.batch, gpu_decode, args))

    def next_inputs():
        batch = next(batches)
        mask = batch["event_mask"].to(device, non_blocking=True)
        if gpu_decode:
            return decode_on_device(batch["jpeg_frames"], settings.frames_per_event, decoder, normalizer), mask
        return batch["pixel_values_videos"].to(device, non_blocking=True), mask

    started = time.perf_counter()
    pixels, mask = next_inputs()
    flops = count_flops(model, optimizer, pixels, mask, text, amp, device)
    vision = model.get_base_model().vision_model
    if "ckpt" in options:
        vision.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if "compile" in options:
        vision.compile()
    for _ in range(args.warmup):
        pixels, mask = next_inputs()
        train_step(model, optimizer, pixels, mask, text, amp, device)
    synchronize(device)
    warmup_s = time.perf_counter() - started

    waits, computes = [], []
    for _ in range(args.steps):
        start = time.perf_counter()
        pixels, mask = next_inputs()
        synchronize(device)
        loaded = time.perf_counter()
        train_step(model, optimizer, pixels, mask, text, amp, device)
        synchronize(device)
        waits.append(loaded - start)
        computes.append(time.perf_counter() - loaded)
    step = statistics.mean(w + c for w, c in zip(waits, computes))
    frames = int(pixels.shape[0] * pixels.shape[1] * pixels.shape[2])
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    peak_flops = peak_tflops(device, args.peak_tflops)
    del model, optimizer, pixels, mask
    batches = None  # (not del: next_inputs closes over it)
    gc.collect()  # frees the device memory and stops the persistent dataloader workers before the next run
    return RunResult(
        run=spec, frames_per_step=frames, steps=args.steps, step_ms=1e3 * step, input_ms=1e3 * statistics.mean(waits),
        compute_ms=1e3 * statistics.mean(computes), frames_per_s=frames / step, peak_memory_gib=peak,
        tflop_per_step=flops / 1e12, mfu=(flops / step / (peak_flops * 1e12)) if peak_flops else None,
        warmup_s=warmup_s,
    )  # fmt: skip


def input_only(cache_dir: str, gpu_decode: bool, args) -> float:
    """Frames/s the dataloader alone delivers: decoded, normalised frames (CPU decoding in the workers), or the
    sampled JPEG bytes that ``gpu_decode`` hands to the device."""
    from dataset_scripts.vidsitu.frame_cache import FrameCache

    per_event = FrameCache(cache_dir).settings.frames_per_event
    batches = forever(make_loader(cache_dir, args.batch, gpu_decode, args))
    next(batches)  # workers started
    start, frames = time.perf_counter(), 0
    for _ in range(args.steps):
        batch = next(batches)
        frames += int(batch["event_mask"].numel()) * per_event
    rate = frames / (time.perf_counter() - start)
    del batches
    gc.collect()
    return rate


def main(argv: list[str] | None = None) -> list[RunResult]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=None, help=f"comma-separated backbone[:opt+opt] (default {DEFAULT_RUNS})")
    parser.add_argument("--tiny", action="store_true", help="tiny model, 32² frames, 2 videos, CPU-sized: a smoke run")
    parser.add_argument("--frame_cache", default=None, help="an existing cache (default: build a synthetic one)")
    parser.add_argument("--cache_clips", type=int, default=None, help="clips in the synthetic cache (default 48)")
    parser.add_argument("--batch", type=int, default=None, help="videos per step (paper: 20)")
    parser.add_argument("--steps", type=int, default=None, help="measured steps per run (default 10)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up steps per run (default 3)")
    parser.add_argument("--lora_r", type=int, default=64)
    parser.add_argument("--attention", default="sdpa", choices=["sdpa", "eager", "flash_attention_2"])
    parser.add_argument("--num_workers", type=int, default=None, help="dataloader workers (default: cores - 2)")
    parser.add_argument("--prefetch_factor", type=int, default=4)
    parser.add_argument("--device", default=None, help="cuda | cpu (default: cuda if available)")
    parser.add_argument("--peak_tflops", type=float, default=None, help="device bf16 peak for MFU (default: by name)")
    parser.add_argument("--amp_on_cpu", action="store_true", help="bf16 autocast on the CPU too")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--work_dir", default=None)
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    args.device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    tiny = args.tiny
    args.runs = args.runs or ("tiny,tiny:ckpt,tiny:gpu_decode,tiny:distill+replay" if tiny else DEFAULT_RUNS)
    args.batch = args.batch or (2 if tiny else 20)
    args.steps = args.steps or (2 if tiny else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if tiny else 3)
    args.lora_r = 4 if tiny and args.lora_r == 64 else args.lora_r
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    args.num_workers = args.num_workers if args.num_workers is not None else (0 if tiny else max(1, cores - 2))
    specs = [spec.strip() for spec in args.runs.split(",") if spec.strip()]
    for spec in specs:
        parse_run(spec)
    size = BACKBONES[parse_run(specs[0])[0]]["vision"]["image_size"]
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True

    work = args.work_dir or tempfile.mkdtemp(prefix="bench_gpu_training_")
    started = time.perf_counter()
    cache_dir = args.frame_cache or make_frame_cache(work, args.cache_clips or (4 if tiny else 48), size,
                                                     num_proc=1 if tiny else max(1, cores - 1))  # fmt: skip
    print(f"frame cache ready in {time.perf_counter() - started:.1f} s: {cache_dir}", flush=True)
    results = []
    for spec in specs:
        result = run_one(spec, cache_dir, args)
        results.append(result)
        print(json.dumps(asdict(result)), flush=True)
    pipeline = {mode: input_only(cache_dir, mode == "gpu_decode", args) for mode in ("cpu_decode", "gpu_decode")}

    device_name = torch.cuda.get_device_name(args.device) if args.device.type == "cuda" else "CPU"
    peak = peak_tflops(args.device, args.peak_tflops)
    print()
    precision = "bf16 autocast" if args.device.type == "cuda" or args.amp_on_cpu else "fp32"
    print(f"FiGCLIP training from the frame cache on {device_name} ({args.batch} videos x 5 events x 4 frames per "
          f"step, LoRA r={args.lora_r}, {args.attention}, fused AdamW, {precision}; "
          f"{args.num_workers} dataloader workers, prefetch {args.prefetch_factor}; mean of {args.steps} steps after "
          f"{args.warmup} warm-up; MFU against {f'{peak:g} TFLOP/s' if peak else 'n/a (unknown peak)'})")
    print()
    print("| run | frames/s | step (ms) | input wait (ms) | input wait (%) | compute (ms) | peak memory (GiB) | "
          "TFLOP/step | MFU | warm-up (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        mfu = f"{100 * r.mfu:.1f}%" if r.mfu is not None else "n/a"
        print(f"| {r.run} | {r.frames_per_s:,.0f} | {r.step_ms:.1f} | {r.input_ms:.1f} | "
              f"{100 * r.input_ms / r.step_ms:.1f}% | {r.compute_ms:.1f} | {r.peak_memory_gib:.2f} | "
              f"{r.tflop_per_step:.3g} | {mfu} | {r.warmup_s:.1f} |")
    print()
    print(f"input pipeline alone, {args.num_workers} workers: {pipeline['cpu_decode']:,.0f} frames/s decoded and "
          f"normalised on the CPU; {pipeline['gpu_decode']:,.0f} frames/s as JPEG bytes for GPU decoding")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"device": device_name, "results": [asdict(r) for r in results], "input_only": pipeline}, handle,
                      indent=1)
    return results


if __name__ == "__main__":
    main()
