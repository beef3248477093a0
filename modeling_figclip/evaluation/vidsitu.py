"""VidSitu verb prediction with the official metrics (Acc@1, Acc@5, Rec@5) and leaderboard-format predictions.

Each clip gives 5 event embeddings (5 events x `frames_per_event` frames, sampled by `dataset_scripts.vidsitu`'s
frame loader; CLIP-level means, or the contextualised event tokens with `--use_contextualizer`). Two predictors:

- zero-shot (`--probe none`): cosine similarity with one verb-only prompt per VerbID ("In this photo, the action is
  {lemma}"); senses of one lemma share a prompt and so tie. The leaderboard predictions (and `--ties official`) keep
  the more frequent VerbID first; the default `--ties expected` scores a tie as a uniformly random order;
- a head trained on frozen train-split event embeddings (`--probe linear` or `--probe mlp`).

The verb vocabulary is the train split's VerbIDs ordered by frequency (as VidSitu's `verb_id_vocab`); without a train
split it falls back to the VerbIDs seen in the evaluated split's annotations (recorded in `settings`).
`--vidsitu_split testvb` writes leaderboard predictions only (test annotations are withheld).
"""

from __future__ import annotations

import json
import os
import pickle
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from dataset_scripts.benchmarks.common import BenchmarkDataError, SkipLog

from . import metrics as M
from .arguments import EvaluationArguments
from .common import base_settings, skip_details
from .encoders import ClipEncoder, VideoEmbeddings
from .results import EvalResult

NUM_EVENTS = 5


class ClipFrames:
    """`clip_id -> (5 * frames_per_event, H, W, 3)` uint8 frames from mp4s, frame folders or a frame cache (the
    same segment-centre frames up to JPEG error; picklable for workers)."""

    def __init__(
        self, video_dir: str | None, frames_dir: str | None, frames_per_event: int, frame_cache: str | None = None
    ):
        if frame_cache is not None:
            from dataset_scripts.vidsitu.frame_cache import FrameCacheLoader

            self.loader = FrameCacheLoader(frame_cache, frames_per_event=frames_per_event, strict=True)
            return
        from dataset_scripts.vidsitu import VidSituFrameLoader

        self.loader = VidSituFrameLoader(
            video_dir=video_dir, frames_dir=frames_dir, frames_per_event=frames_per_event, strict=True
        )

    def __call__(self, clip_id: str) -> np.ndarray:
        frames, _ = self.loader.load(clip_id)
        return frames.reshape(-1, *frames.shape[2:])


def resolve_video_source(args: EvaluationArguments) -> tuple[str | None, str | None]:
    """`(video_dir, frames_dir)`: `--video_dir` holds `{clip_id}.mp4` files or `{clip_id}/` frame folders."""
    candidates = (
        [args.video_dir]
        if args.video_dir
        else [os.path.join(args.data_dir, name) for name in ("vsitu_video_trimmed_dir", "videos", "frames")]
    )
    for folder in candidates:
        if folder and os.path.isdir(folder):
            entries = os.listdir(folder)
            if any(entry.endswith(".mp4") for entry in entries):
                return folder, None
            if any(os.path.isdir(os.path.join(folder, entry)) for entry in entries):
                return None, folder
    raise BenchmarkDataError(
        f"no VidSitu clips found in {candidates}: pass --video_dir with {{clip_id}}.mp4 files or "
        "{clip_id}/{clip_id}_%06d.jpg frame folders."
    )


def annotation_index(data_dir: str, split: str) -> tuple[str, dict[str, int]]:
    """The annotations folder and `clip_id -> ann_idx` (its index in the official split file)."""
    from dataset_scripts.vidsitu.reader import read_json_list, resolve_annotations_dir
    from dataset_scripts.vidsitu.schema import split_file

    annotations_dir = resolve_annotations_dir(data_dir)
    index: dict[str, int] = {}
    for position, clip_id in enumerate(read_json_list(os.path.join(annotations_dir, split_file(split)))):
        if isinstance(clip_id, str):
            index.setdefault(clip_id, position)
    return annotations_dir, index


def read_split(annotations_dir: str, split: str, skip_log: SkipLog) -> list:
    """Parsed clips of train/valid (`ParsedClip`), or bare clip ids of a test split; lenient skips are logged."""
    from dataset_scripts.vidsitu.reader import IssueLog, ReadSummary, read_annotated_split, read_split_ids
    from dataset_scripts.vidsitu.schema import ANNOTATED_SPLITS

    if split in ANNOTATED_SPLITS:
        clips, summary = read_annotated_split(annotations_dir, split, strict=not skip_log.skip_missing)
    else:
        summary = ReadSummary(split)
        clips = read_split_ids(annotations_dir, split, IssueLog(not skip_log.skip_missing, summary))
    # One skip entry per skipped clip (exact count); the reader's first messages stand in for the first entries.
    generic = [
        f"VidSitu {split}: clip skipped ({reason})"
        for reason, count in summary.skipped_clips.items()
        for _ in range(count)
    ]
    examples = list(summary.examples)[: len(generic)]
    skip_log.reasons.extend(examples + generic[len(examples) :])
    return clips


def clip_id_of(clip: Any) -> str:
    return clip if isinstance(clip, str) else clip.clip_id


def encode_clips(
    encoder: ClipEncoder,
    clips: Sequence[Any],
    frames: ClipFrames,
    args: EvaluationArguments,
    skip_log: SkipLog,
    desc: str,
) -> tuple[list, VideoEmbeddings]:
    """Event embeddings of every clip (5 events x frames_per_event frames); clips that fail to decode are dropped."""
    ids = [clip_id_of(c) for c in clips]
    videos = encoder.encode_videos(
        ids,
        frames,
        NUM_EVENTS * args.frames_per_event,
        use_contextualizer=args.use_contextualizer,
        events=NUM_EVENTS,
        desc=desc,
    )
    kept = []
    for clip in clips:
        if clip_id_of(clip) in videos.failures:
            skip_log.reasons.append(f"clip {clip_id_of(clip)}: {videos.failures[clip_id_of(clip)]}")
        else:
            kept.append(clip)
    return kept, videos


def verb_vocabulary(train_clips: Sequence[Any], eval_clips: Sequence[Any]) -> tuple[list[str], list[str], str]:
    """`(verb_ids, lemmas, source)`: train VerbIDs by frequency (ties by id), else the evaluated split's VerbIDs."""
    counts: Counter = Counter()
    lemmas: dict[str, str] = {}
    for clip in train_clips:
        for event in clip.events:
            counts[event["verb_id"]] += 1
            lemmas.setdefault(event["verb_id"], event["verb_lemma"])
    source = "train split VerbIDs"
    if not counts:
        source = "evaluated split's annotated VerbIDs (no train split available)"
        for clip in eval_clips:
            for event_index, event in enumerate(getattr(clip, "events", [])):
                counts[event["verb_id"]] += 1
                lemmas.setdefault(event["verb_id"], event["verb_lemma"])
                for verb_id in (clip.verb_ids_10 or [[]] * NUM_EVENTS)[event_index]:
                    counts[verb_id] += 1
    if not counts:
        raise BenchmarkDataError("VidSitu: no VerbID found to build the verb vocabulary (no annotated train clips).")
    verb_ids = sorted(counts, key=lambda v: (-counts[v], v))
    return verb_ids, [lemmas.get(v, v.rsplit(".", 1)[0]) for v in verb_ids], source


class VerbProbe(nn.Module):
    """Linear (or one-hidden-layer MLP) classifier over frozen event embeddings."""

    def __init__(self, dim: int, num_classes: int, kind: str = "linear", hidden_size: int = 512):
        super().__init__()
        if kind == "linear":
            self.net = nn.Linear(dim, num_classes)
        elif kind == "mlp":
            self.net = nn.Sequential(nn.Linear(dim, hidden_size), nn.GELU(), nn.Linear(hidden_size, num_classes))
        else:
            raise ValueError(f"probe must be 'linear' or 'mlp', got {kind!r}.")

    def forward(self, embeds: torch.Tensor) -> torch.Tensor:
        return self.net(embeds)


def train_probe(
    embeds: torch.Tensor, labels: torch.Tensor, num_classes: int, args: EvaluationArguments, device: torch.device
) -> tuple[VerbProbe, list[float]]:
    """Cross-entropy training with AdamW on shuffled mini-batches; returns the probe and the per-epoch losses."""
    torch.manual_seed(args.seed)
    probe = VerbProbe(embeds.shape[1], num_classes, args.probe, args.probe_hidden_size).to(device)
    optimizer = torch.optim.AdamW(probe.parameters(), lr=args.probe_lr, weight_decay=args.probe_weight_decay)
    generator = torch.Generator().manual_seed(args.seed)
    losses = []
    for _ in range(args.probe_epochs):
        order = torch.randperm(len(labels), generator=generator)
        total = 0.0
        for start in range(0, len(order), args.probe_batch_size):
            batch = order[start : start + args.probe_batch_size]
            loss = nn.functional.cross_entropy(probe(embeds[batch].to(device)), labels[batch].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(order))
    return probe.eval(), losses


def leaderboard_predictions(
    ann_indices: Sequence[int],
    top_verbs: Sequence[Sequence[Sequence[str]]],
    top_scores: Sequence[Sequence[Sequence[float]]],
) -> list[dict]:
    """The official verb prediction format: `[{"ann_idx", "pred_vbs_ev": 5x5, "pred_scores_ev": 5x5}, ...]`."""
    return [
        {"ann_idx": int(index), "pred_vbs_ev": [list(v) for v in verbs], "pred_scores_ev": [list(s) for s in scores]}
        for index, verbs, scores in zip(ann_indices, top_verbs, top_scores)
    ]


def write_predictions(path: str, predictions: list[dict]) -> str:
    """JSON, or a pickle when `path` ends in `.pkl` (what `vidsitu_code/evl_vsitu.py` reads)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if path.endswith(".pkl"):
        with open(path, "wb") as handle:
            pickle.dump(predictions, handle)
    else:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(predictions, handle)
    return path


def _predictions_path(args: EvaluationArguments) -> str | None:
    if args.predictions_file:
        return args.predictions_file
    if args.output:
        stem, _ = os.path.splitext(args.output)
        return f"{stem}_vb_predictions.json"
    return None


def evaluate_vidsitu_verbs(encoder: ClipEncoder, args: EvaluationArguments, model_name: str) -> EvalResult:
    """Verb prediction on `--vidsitu_split` (default valid): `Acc@1`, `Acc@5`, `Rec@5` + leaderboard predictions."""
    from dataset_scripts.vidsitu.schema import ANNOTATED_SPLITS, canonical_split

    skip_log = SkipLog(args.skip_missing)
    split = canonical_split(args.vidsitu_split)
    annotations_dir, ann_index = annotation_index(args.data_dir, split)
    video_dir, frames_dir = resolve_video_source(args) if args.frame_cache is None else (None, None)
    frames = ClipFrames(video_dir, frames_dir, args.frames_per_event, args.frame_cache)
    if args.frame_cache is not None:
        frames.loader.check_processor(encoder.image_processor)  # cached frames are already at the model's size
    eval_clips = read_split(annotations_dir, split, skip_log)
    eval_clips = eval_clips[: args.max_items] if args.max_items else eval_clips
    eval_clips, eval_videos = encode_clips(encoder, eval_clips, frames, args, skip_log, f"VidSitu {split} clips")
    if not eval_clips:
        raise BenchmarkDataError(f"VidSitu {split}: no clip left to evaluate.")

    train_clips: list = []
    train_log = SkipLog(args.skip_missing)
    if split != "train" and os.path.isfile(os.path.join(annotations_dir, "vseg_ann_files", "vsann_train_lb.json")):
        train_clips = read_split(annotations_dir, "train", train_log)
    verb_ids, lemmas, vocab_source = verb_vocabulary(train_clips, eval_clips)
    event_embeds = eval_videos.events[[eval_videos.rows[clip_id_of(c)] for c in eval_clips]]  # (n, 5, D)
    flat = event_embeds.reshape(-1, event_embeds.shape[-1])

    if args.probe == "none":
        scores, method, probe_info = _zero_shot_verb_scores(encoder, flat, lemmas), ZERO_SHOT_METHOD, {}
    else:
        scores, probe_info = _probe_verb_scores(
            encoder, flat, verb_ids, train_clips, frames, args, train_log, annotations_dir
        )
        method = f"{args.probe} probe on frozen event embeddings, trained on train"

    predictions_path = _write_leaderboard_file(args, scores, verb_ids, [ann_index[clip_id_of(c)] for c in eval_clips])
    metrics: dict[str, Any] = {}
    details: dict[str, Any] = {}
    tables: list = []
    if split in ANNOTATED_SPLITS and split != "train":
        ground_truth = [[list(ids)[:10] for ids in clip.verb_ids_10] for clip in eval_clips]
        full, tables = M.vidsitu_verb_evaluation(
            scores, verb_ids, ground_truth, args.ties, clip_keys=[clip_id_of(c) for c in eval_clips]
        )
        metrics = {key: full[key] for key in ("Acc@1", "Acc@5", "Rec@5")}
        details = {k: v for k, v in full.items() if k not in metrics}
    return EvalResult(
        task="vidsitu_verbs",
        model=model_name,
        metrics=metrics,
        num_items=len(eval_clips),
        settings=base_settings(
            args,
            split=split,
            annotations_dir=annotations_dir,
            video_dir=video_dir,
            frames_dir=frames_dir,
            frame_cache=args.frame_cache,
            frames_per_event=args.frames_per_event,
            events=NUM_EVENTS,
            method=method,
            event_embedding="contextualizer event tokens" if args.use_contextualizer else "mean of the event's frames",
            verb_vocabulary=vocab_source,
            num_verbs=len(verb_ids),
            predictions_file=predictions_path,
            metric_definitions="Acc@k = Per_Ev_Top_k, Rec@5 = recall_macro_1_th_9 (vidsitu_code/evl_fns.py)",
            ties=args.ties,
            tie_rule=M.describe_ties("vidsitu", args.ties),
            **({"probe": probe_info} if probe_info else {}),
        ),
        num_skipped=skip_log.count,
        details={**details, "num_events": len(eval_clips) * NUM_EVENTS, **skip_details(skip_log)},
        item_tables=tables,
    )


ZERO_SHOT_METHOD = "zero-shot: cosine(event embedding, 'In this photo, the action is {lemma}') per VerbID"


def _zero_shot_verb_scores(encoder: ClipEncoder, event_embeds: torch.Tensor, lemmas: list[str]) -> torch.Tensor:
    """Softmax over the verb vocabulary of logit_scale x cosine(event, verb-only prompt of each VerbID's lemma)."""
    from dataset_scripts.vidsitu.prompts import verb_only_prompt

    prompts = [verb_only_prompt(lemma) for lemma in lemmas]
    text = encoder.encode_texts(prompts, "verb prompts").lookup(prompts)
    logit_scale = float(getattr(encoder.model, "logit_scale", torch.tensor(np.log(100.0))).detach().exp())
    return torch.softmax(logit_scale * event_embeds @ text.T, dim=-1)


def _probe_verb_scores(
    encoder: ClipEncoder, event_embeds: torch.Tensor, verb_ids: list[str], train_clips: list, frames: ClipFrames,
    args: EvaluationArguments, train_log: SkipLog, annotations_dir: str,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Train the probe on the train split's frozen event embeddings; its softmax scores on `event_embeds` and the
    probe's record (sizes, losses, hyper-parameters)."""
    if not train_clips:
        raise BenchmarkDataError(f"--probe {args.probe} needs the train split (vsann_train_lb.json) in {annotations_dir}.")
    train_clips, train_videos = encode_clips(encoder, train_clips, frames, args, train_log, "VidSitu train clips")
    class_of = {v: i for i, v in enumerate(verb_ids)}
    train_embeds = train_videos.events[[train_videos.rows[c.clip_id] for c in train_clips]]
    labels = torch.tensor([class_of[e["verb_id"]] for c in train_clips for e in c.events])
    probe, losses = train_probe(train_embeds.reshape(-1, train_embeds.shape[-1]), labels, len(verb_ids), args,
                                encoder.device)
    with torch.no_grad():
        scores = torch.softmax(probe(event_embeds.to(encoder.device)).float().cpu(), dim=-1)
    return scores, {
        "train_clips": len(train_clips),
        "train_events": len(labels),
        "first_epoch_loss": losses[0],
        "final_loss": losses[-1],
        "epochs": args.probe_epochs,
        "lr": args.probe_lr,
        "weight_decay": args.probe_weight_decay,
        "train_skipped": train_log.count,
    }


def _write_leaderboard_file(
    args: EvaluationArguments, scores: torch.Tensor, verb_ids: list[str], ann_indices: list[int]
) -> str | None:
    """Each event's top-5 VerbIDs in the leaderboard format, written where `--predictions_file` says (or None)."""
    top_verbs, top_scores = M.topk_labels(scores, verb_ids, k=5)
    per_clip_verbs = [top_verbs[i * NUM_EVENTS : (i + 1) * NUM_EVENTS] for i in range(len(ann_indices))]
    per_clip_scores = [top_scores[i * NUM_EVENTS : (i + 1) * NUM_EVENTS] for i in range(len(ann_indices))]
    path = _predictions_path(args)
    if path:
        write_predictions(path, leaderboard_predictions(ann_indices, per_clip_verbs, per_clip_scores))
    return path
