#!/usr/bin/env python
"""Evaluate any CLIP-family checkpoint (base CLIP, FiGCLIP, merged FiGCLIP, FiGCLIP adapter) on the paper's tasks.

One task:
    python recipes/evaluate_figclip.py --model openai/clip-vit-base-patch32 --task sugarcrepe \
        --data_dir sugar-crepe/data --image_dir coco/val2017 --output results/clip_sugarcrepe.json
    python recipes/evaluate_figclip.py --config recipes/eval/msrvtt.yaml --model outputs/figclip-b32

Several models x tasks, with a markdown table and a bar chart (base CLIP vs FiGCLIP side by side):
    python recipes/evaluate_figclip.py --suite recipes/eval/suite.yaml

Tasks: sugarcrepe, aro_vg_relation, aro_vg_attribution, aro_coco_order, aro_flickr_order, msrvtt, video_retrieval,
ucf101, hmdb51, k600, vidsitu_verbs, extract_features. `--help` lists every option; `recipes/eval/*.yaml` has
one example per task. Every metric comes with a 95 % bootstrap confidence interval (`--bootstrap_resamples`, 0 to
skip); `--ties` chooses how exactly equal scores count (default `expected`; `official` reproduces each benchmark's
own code).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence

from modeling_figclip.evaluation.cli import parse_args
from modeling_figclip.evaluation.runner import evaluate
from modeling_figclip.evaluation.suite import run_suite


def main(argv: Sequence[str] | None = None) -> dict:
    """Run one task (`--task`) or a suite (`--suite`); returns the results dict (or the suite summary)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.suite:
        summary = run_suite(args.suite, args)
        print(summary["markdown"])
        return summary
    result = evaluate(args).to_dict()
    shown = ("task", "model", "metrics", "confidence_intervals", "num_items", "num_skipped")
    print(json.dumps({k: result[k] for k in shown}, indent=2))
    return result


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError, ImportError) as error:  # data/config problems: one clear line, no traceback
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
