#!/usr/bin/env python
"""Evaluate any CLIP-family checkpoint (base CLIP, FiGCLIP, merged FiGCLIP, FiGCLIP adapter) on the paper's tasks.

One task:
    python recipes/evaluate_figclip.py --model openai/clip-vit-base-patch32 --task sugarcrepe \
        --data_dir sugar-crepe/data --image_dir coco/val2017 --output results/clip_sugarcrepe.json
    python recipes/evaluate_figclip.py --config recipes/eval/msrvtt.yaml --model outputs/figclip-b32

Several models x tasks, with a markdown table and a bar chart (base CLIP vs FiGCLIP side by side):
    python recipes/evaluate_figclip.py --suite recipes/eval/suite.yaml

The retention trade-off of a FiGCLIP adapter (every adapter scale α and feature-ensemble weight λ in one run, frames
encoded once per read-out, texts once; tradeoff.{json,md,png} in --output_dir):
    python recipes/evaluate_figclip.py --config recipes/eval/msrvtt.yaml --model outputs/figclip-b32 \
        --adapter_scales 0,0.25,0.5,0.75,1 --feature_ensembles 0.25,0.5 --output_dir results/msrvtt_tradeoff

Tasks: sugarcrepe, aro_vg_relation, aro_vg_attribution, aro_coco_order, aro_flickr_order, msrvtt, video_retrieval,
ucf101, hmdb51, k600, vidsitu_verbs, extract_features. `--help` lists every option; `recipes/eval/*.yaml` has
one example per task. Every metric comes with a 95 % bootstrap confidence interval (`--bootstrap_resamples`, 0 to
skip); `--ties` chooses how exactly equal scores count (default `expected`; `official` reproduces each benchmark's
own code).

Before any model is loaded the run checks what would otherwise fail late: the device (`--device cuda` without CUDA),
the output paths (`--output`, `--predictions_file`, `--output_dir` must be writable), and, offline, that a Hub
`--model` is in the local cache. A problem with the arguments, the data or the machine is one line `error: …` on
stderr and exit status 2.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence

from modeling_figclip.cli_utils import error_line
from modeling_figclip.evaluation.cli import parse_args
from modeling_figclip.evaluation.runner import evaluate
from modeling_figclip.evaluation.suite import run_suite
from modeling_figclip.evaluation.tradeoff import evaluate_tradeoff


def main(argv: Sequence[str] | None = None) -> dict:
    """Run one task (`--task`) or a suite (`--suite`); returns the results dict (or the suite summary)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if not args.suite:
        args.validate_single_run()
    args.check_machine()  # before any model is loaded: a late failure would lose the evaluation
    if args.suite and (args.adapter_scales or args.feature_ensembles):
        raise ValueError("--adapter_scales / --feature_ensembles evaluate one adapter on one --task, not a --suite.")
    if args.suite:
        summary = run_suite(args.suite, args)
        print(summary["markdown"])
        return summary
    if args.adapter_scales or args.feature_ensembles:
        summary = evaluate_tradeoff(args)
        print(summary["markdown"])
        return summary
    result = evaluate(args).to_dict()
    shown = ("task", "model", "metrics", "confidence_intervals", "num_items", "num_skipped")
    print(json.dumps({k: result[k] for k in shown}, indent=2))
    return result


def cli(argv: Sequence[str] | None = None) -> int:
    """`main` for the console: a problem with the arguments, the data or the machine is one `error: …` line on
    stderr and exit status 2, without a traceback."""
    try:
        main(argv)
    except (ValueError, OSError, ImportError) as error:
        print(error_line(error), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())
