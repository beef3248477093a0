"""Zero-shot text-video retrieval (MSR-VTT 1k-A and any `video_id,sentence` CSV), both directions.

Text->video ranks each caption's video among all videos; video->text ranks, for each video, every video by that
video's best caption (CLIP4Clip's protocol; with one caption per video, as MSR-VTT 1k-A, it is plain video->caption
ranking). Ties follow `--ties` (`metrics` module).

Videos: `num_frames` frames sampled uniformly over the clip, each through the image encoder once, mean-pooled into
the CLIP-level video embedding (the paper's protocol, no Video Contextualizer); `--use_contextualizer` uses the
contextualised video token instead. Similarities are computed in blocks of `--similarity_chunk_size` queries.
"""

from __future__ import annotations

import os
from functools import partial

from dataset_scripts.benchmarks.common import SkipLog
from dataset_scripts.benchmarks.retrieval_csv import RetrievalData, find_retrieval_csv, load_retrieval_csv
from dataset_scripts.benchmarks.video_io import read_video_frames

from . import metrics as M
from .arguments import EvaluationArguments
from .common import base_settings, skip_details
from .encoders import ClipEncoder
from .results import EvalResult


def _keep_sentences(data: RetrievalData, keep: list[int]) -> RetrievalData:
    """The sub-problem of the captions `keep` and the videos they use (indices re-numbered)."""
    used = sorted({data.sentence_video_index[i] for i in keep})
    remap = {old: new for new, old in enumerate(used)}
    return RetrievalData(
        [data.video_ids[v] for v in used],
        [data.video_paths[v] for v in used],
        [data.sentences[i] for i in keep],
        [remap[data.sentence_video_index[i]] for i in keep],
    )


def evaluate_retrieval(
    encoder: ClipEncoder, args: EvaluationArguments, model_name: str, task: str = "msrvtt"
) -> EvalResult:
    """Text->video and video->text R@1/5/10, MedR, MnR (`t2v_*`, `v2t_*`)."""
    skip_log = SkipLog(args.skip_missing)
    csv_path = find_retrieval_csv(args.data_dir, args.csv_file)
    video_dir = args.video_dir or os.path.join(args.data_dir, "videos")
    data = load_retrieval_csv(csv_path, video_dir, skip_log)
    if args.max_items:
        data = _keep_sentences(data, list(range(min(args.max_items, len(data.sentences)))))
    num_frames = args.frames_for(task)
    videos = encoder.encode_videos(
        data.video_paths,
        partial(read_video_frames, num_frames=num_frames),
        num_frames,
        use_contextualizer=args.use_contextualizer,
        desc=f"{task} videos",
    )
    if videos.failures:
        failed = {i for i, path in enumerate(data.video_paths) if path in videos.failures}
        for i, video_index in enumerate(data.sentence_video_index):
            if video_index in failed:
                skip_log.reasons.append(
                    f"caption {i} ({data.video_ids[video_index]}): {videos.failures[data.video_paths[video_index]]}"
                )
        data = _keep_sentences(data, [i for i, v in enumerate(data.sentence_video_index) if v not in failed])
    video_embeds = videos.table().lookup(data.video_paths)
    text_embeds = encoder.encode_texts(data.sentences, f"{task} captions").lookup(data.sentences)

    outcome = M.text_video_retrieval(
        text_embeds,
        video_embeds,
        data.sentence_video_index,
        args.ties,
        chunk_size=args.similarity_chunk_size,
        caption_keys=[(data.video_ids[v], s) for v, s in zip(data.sentence_video_index, data.sentences)],
    )
    return EvalResult(
        task=task,
        model=model_name,
        metrics=outcome.metrics(),
        num_items=len(data.sentences),
        settings=base_settings(
            args,
            csv_file=csv_path,
            video_dir=video_dir,
            num_frames=num_frames,
            frame_sampling="uniform segment centres",
            video_embedding="contextualizer video token"
            if args.use_contextualizer
            else "mean of frame embeddings (CLIP-level)",
            ties=args.ties,
            tie_rule=M.describe_ties("retrieval", args.ties),
            video_to_text="each video ranks every video by that video's best caption (CLIP4Clip)",
        ),
        num_skipped=skip_log.count,
        details={
            "num_videos": len(data.video_ids),
            "num_captions": len(data.sentences),
            "t2v_num_tied": outcome.num_tied["t2v"],
            "v2t_num_tied": outcome.num_tied["v2t"],
            **skip_details(skip_log),
        },
        item_tables=outcome.tables,
    )
